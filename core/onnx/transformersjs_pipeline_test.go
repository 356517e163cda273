package onnx_test

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/onnx"
	"github.com/openmed/openmed/core/tagger"
	"github.com/openmed/openmed/internal/testutil"
	"github.com/openmed/openmed/internal/testutil/tinymodel"
)

// repoAndShared returns the repository root and ../shared, skipping when
// ../shared is absent.
func repoAndShared(t *testing.T) (repo, shared string) {
	t.Helper()
	wd, err := os.Getwd()
	require.NoError(t, err)
	repo = wd
	for {
		if _, err := os.Stat(filepath.Join(repo, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(repo)
		require.NotEqual(t, parent, repo, "go.mod not found above %s", wd)
		repo = parent
	}
	shared = filepath.Join(repo, "..", "shared")
	if _, err := os.Stat(filepath.Join(shared, "tokenizers")); err != nil {
		t.Skipf("../shared not found: %v", err)
	}
	return repo, shared
}

// tinyModelWithTokenizer writes a random 2-layer token-classification model
// (BERT, or DeBERTa-v3 with the fixture's relative-attention settings) whose
// vocabulary is the real tokenizer in tokDir, with that tokenizer's files
// beside it — a stand-in for a trained tagger (no pretrained weights exist
// here), so transformers.js can run its whole pipeline on the export.
func tinyModelWithTokenizer(t *testing.T, arch checkpoint.ModelType, tokDir string, vocab int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "model")
	_, err := tinymodel.Write(dir, tinymodel.Options{
		Arch: arch, Vocab: vocab, TokenizerDir: tokDir, Labels: []string{"O", "B-Disease", "I-Disease"},
		Seed: 7, ClassifierStd: 1, ClassifierBiasStd: 0.1,
	})
	require.NoError(t, err)
	return dir
}

// TestTransformersJSPipelineAgreesWithORT exports models that carry the real
// PubMedBERT (WordPiece) and DeBERTa-v3 (Unigram) tokenizers, runs transformers.js's token-classification
// pipeline on it (tokenizer.json + config.json id2label + onnx/model.onnx),
// and checks that its logits for the ids its tokenizer produced equal those
// of openmed's ORT backend within the float32 reordering bound of the model.
func TestTransformersJSPipelineAgreesWithORT(t *testing.T) {
	repo, shared := repoAndShared(t)
	script := filepath.Join(repo, "tests", "js", "pipeline_check.mjs")
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(repo, "tests", "js", "node_modules", "@huggingface", "transformers"))
	}
	if err == nil {
		_, err = tagger.InitORT("")
	}
	if err != nil {
		msg := "needs node, `npm ci --prefix tests/js` and ONNX Runtime (make setup): " + err.Error()
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	for _, tc := range []struct {
		name      string
		arch      checkpoint.ModelType
		tokenizer string
		vocab     int
		cls, sep  int64
	}{
		{"pubmedbert", checkpoint.ModelBERT, "pubmedbert-abstract", 28895, 2, 3},
		{"deberta-v3", checkpoint.ModelDebertaV2, "deberta-v3", 128100, 1, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			model := tinyModelWithTokenizer(t, tc.arch, filepath.Join(shared, "tokenizers", tc.tokenizer), tc.vocab)
			out := filepath.Join(t.TempDir(), "export")
			_, err := onnx.Export(model, out, onnx.ExportOptions{})
			require.NoError(t, err)
			cfg, err := checkpoint.LoadConfig(model)
			require.NoError(t, err)
			checkPipeline(t, node, script, out, tc.cls, tc.sep, cfg)
		})
	}
}

// checkPipeline runs pipeline_check.mjs on an export and compares its logits
// with openmed's ORT backend on the ids transformers.js's tokenizer produced.
func checkPipeline(t *testing.T, node, script, out string, cls, sep int64, cfg *checkpoint.Config) {
	text := "Famotidine-associated delirium in patients with renal failure."
	raw, err := exec.Command(node, script, out, text).Output()
	require.NoError(t, err, "pipeline_check.mjs: %s", raw)
	var js struct {
		InputIDs      []int64   `json:"input_ids"`
		AttentionMask []int64   `json:"attention_mask"`
		TokenTypeIDs  []int64   `json:"token_type_ids"`
		Dims          []int     `json:"dims"`
		Logits        []float64 `json:"logits"`
		Entities      []struct {
			Word   string `json:"word"`
			Entity string `json:"entity"`
			Index  int    `json:"index"`
		} `json:"entities"`
	}
	require.NoError(t, json.Unmarshal(raw, &js), "%s", raw)
	n := len(js.InputIDs)
	require.Greater(t, n, 5)
	assert.Equal(t, cls, js.InputIDs[0], "[CLS]")
	assert.Equal(t, sep, js.InputIDs[n-1], "[SEP]")
	require.Equal(t, []int{1, n, 3}, js.Dims)
	// The pipeline tags every token between [CLS] and [SEP] with one of
	// config.json's id2label labels.
	require.Len(t, js.Entities, n-2)
	for _, e := range js.Entities {
		assert.Contains(t, []string{"O", "B-Disease", "I-Disease"}, e.Entity, e.Word)
	}

	be, err := tagger.NewORT(out, tagger.ORTOptions{IntraOpThreads: 1})
	require.NoError(t, err)
	defer be.Close()
	var types [][]int64
	if js.TokenTypeIDs != nil {
		types = [][]int64{js.TokenTypeIDs}
	}
	got, err := be.Logits([][]int64{js.InputIDs}, [][]int64{js.AttentionMask}, types)
	require.NoError(t, err)
	maxDiff, scale := 0.0, 1.0
	for i, v := range js.Logits {
		maxDiff = math.Max(maxDiff, math.Abs(v-float64(got.Data[i])))
		scale = math.Max(scale, math.Abs(v))
	}
	// transformers.js runs the graph in its own session (its options and
	// thread split): the reordering bound of the encoder's path at n tokens,
	// relative to the logits.
	tol := testutil.ReorderTol(encoderReductions(cfg, n)...) * scale
	t.Logf("%d tokens; transformers.js vs openmed ORT max |Δlogits| = %.3g (tolerance %.3g)", n, maxDiff, tol)
	assert.LessOrEqual(t, maxDiff, tol)
}

// encoderReductions is testutil.EncoderReductions for cfg at seq tokens,
// plus, for DeBERTa-v2/v3, each layer's relative-position projection
// (K = hidden) and c2p and p2c scores (K = head size) and the relative
// embeddings' LayerNorm.
func encoderReductions(cfg *checkpoint.Config, seq int) []int {
	H, heads, L := cfg.HiddenSize, cfg.NumAttentionHeads, cfg.NumHiddenLayers
	r := testutil.EncoderReductions(L, H, heads, cfg.IntermediateSize, seq)
	if cfg.ModelType == checkpoint.ModelDebertaV2 {
		r = append(r, H)
		for range L {
			r = append(r, H, H/heads, H/heads)
		}
	}
	return r
}
