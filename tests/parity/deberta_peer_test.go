package parity

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openmed/openmed/core/lora"
	"github.com/openmed/openmed/core/model"
	"github.com/openmed/openmed/internal/testutil"
	"github.com/openmed/openmed/training/loss"
	"github.com/openmed/openmed/training/optim"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// debertaPeerTol is the parity tolerance (logits, gradients, losses),
// the HF parity bar of DEVELOPERS.md: ~20× the √K·u·|x| drift of two float32
// sum orders through the fixture's 2-layer, 32-wide encoder.
const debertaPeerTol = 1e-4

// runPeerJSON runs /usr/bin/python3 with args from the repository root and
// returns the last stdout line decoded as JSON; a non-zero exit fails the
// test only after the JSON (the diffs) has been decoded and reported.
func runPeerJSON(t *testing.T, args ...string) (map[string]any, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, args...)
	cmd.Dir = repoRoot(t)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, runErr := cmd.Output()
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var res map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("%s %v: no JSON result (%v; run error %v)\nstdout: %s\nstderr: %s", python, args, err, runErr, out, stderr.String())
	}
	return res, runErr
}

// TestDebertaPeerMatchesHFFixture proves the PyTorch peer of the DeBERTa
// engine benchmark (benchmarks/engine/torchdeberta.py) is DebertaV2 as
// transformers v4.36.2 computes it: loading ../shared/fixtures/deberta_v3 it
// must reproduce the HF logits and loss, the relative-position buckets, and
// with the fixture's PEFT LoRA (query_proj/value_proj) the LoRA logits, loss,
// all 10 gradients, the AdamW update and the logits after it, each to 1e-4.
func TestDebertaPeerMatchesHFFixture(t *testing.T) {
	requireTorch(t)
	fixture := filepath.Join(testutil.SharedDir(t, "fixtures", "deberta_v3"), "fixtures", "deberta_v3")
	res, runErr := runPeerJSON(t, "benchmarks/engine/torchdeberta.py", "--check-fixture", fixture, "--tol", "1e-4")
	for _, k := range []string{"relative_position_buckets", "logits", "loss", "lora_logits", "lora_loss",
		"lora_grads", "lora_updated_params", "lora_logits_after_step", "lora_loss_after_step"} {
		v, ok := res[k].(float64)
		if assert.True(t, ok, "peer result lacks %q: %v", k, res) {
			assert.LessOrEqual(t, v, debertaPeerTol, "%s: max |peer − HF| = %g", k, v)
		}
	}
	require.NoError(t, runErr, "torchdeberta.py --check-fixture failed: %v", res)
}

// TestDebertaPeerSameLossAsEngine is the benchmark's same-maths check at a
// tiny shape (2 layers, hidden 64, 16 log buckets over max_relative_positions
// 64 with 32 tokens, so the log branch is used): peer_deberta.py prepare writes
// weights, adapter and batch; the peer's dropout-free check step and openmed's
// (model.Load + lora.Load, cross-entropy, Backward, AdamW) must give the same
// loss before and after the AdamW update (1e-4), and the update must move it.
func TestDebertaPeerSameLossAsEngine(t *testing.T) {
	requireTorch(t)
	dir := t.TempDir()
	_, err := runPeerJSON(t, "benchmarks/engine/peer_deberta.py", "prepare", "--out", dir, "--seed", "3",
		"--layers", "2", "--hidden", "64", "--heads", "4", "--ffn", "128", "--vocab", "500",
		"--buckets", "16", "--max-pos", "64", "--seq", "32", "--batch", "2")
	require.NoError(t, err)
	peer, err := runPeerJSON(t, "benchmarks/engine/peer_deberta.py", "run", "--dir", dir,
		"--threads", "1", "--steps", "1", "--warmup", "0")
	require.NoError(t, err)

	m, err := model.Load(filepath.Join(dir, "model"), model.TokenClassification)
	require.NoError(t, err)
	require.Equal(t, model.DeBERTaV2, m.Arch)
	_, err = lora.Load(m, filepath.Join(dir, "adapter"))
	require.NoError(t, err)
	b, labels := readPeerBatch(t, filepath.Join(dir, "batch.json"))
	opt, err := optim.NewAdamW(m.TrainableParams(), optim.WithLR(5e-5), optim.WithWeightDecay(0.01))
	require.NoError(t, err)
	m.SetTraining(false)
	n, c := b.Tokens(), m.Config.NumLabels()
	dl := make([]float32, n*c)
	logits, err := m.Forward(b)
	require.NoError(t, err)
	loss0, _, err := loss.CrossEntropyChecked(logits.Data, n, c, labels, 0.1, dl)
	require.NoError(t, err)
	opt.ZeroGrad()
	require.NoError(t, m.Backward(dl))
	opt.Step()
	logits, err = m.Forward(b)
	require.NoError(t, err)
	loss1, _, err := loss.CrossEntropyChecked(logits.Data, n, c, labels, 0.1, nil)
	require.NoError(t, err)

	p0, p1 := peer["check_loss0"].(float64), peer["check_loss1"].(float64)
	t.Logf("check losses: openmed %.7f -> %.7f, peer %.7f -> %.7f", loss0, loss1, p0, p1)
	assert.InDelta(t, p0, float64(loss0), debertaPeerTol, "loss at the loaded weights")
	assert.InDelta(t, p1, float64(loss1), debertaPeerTol, "loss after one AdamW step")
	assert.Greater(t, p0-p1, 2*debertaPeerTol, "the AdamW step must lower the peer's loss measurably, or the second check proves nothing")
}

// readPeerBatch reads peer_deberta.py's batch.json.
func readPeerBatch(t *testing.T, path string) (*model.Batch, []int32) {
	t.Helper()
	var bf struct {
		Batch         int     `json:"batch"`
		Seq           int     `json:"seq"`
		InputIDs      []int32 `json:"input_ids"`
		AttentionMask []int32 `json:"attention_mask"`
		Labels        []int32 `json:"labels"`
	}
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &bf))
	b := &model.Batch{Batch: bf.Batch, SeqLen: bf.Seq, InputIDs: bf.InputIDs, AttentionMask: make([]float32, len(bf.AttentionMask))}
	for i, v := range bf.AttentionMask {
		b.AttentionMask[i] = float32(v)
	}
	require.NoError(t, b.Validate())
	require.Len(t, bf.Labels, b.Tokens())
	return b, bf.Labels
}
