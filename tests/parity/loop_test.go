package parity

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openmed/openmed/benchmarks/training/features"
	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/corpus"
	"github.com/openmed/openmed/core/lora"
	"github.com/openmed/openmed/core/model"
	"github.com/openmed/openmed/core/tensor"
	"github.com/openmed/openmed/core/tokenize"
	"github.com/openmed/openmed/training"
	"github.com/openmed/openmed/training/loop"
	"github.com/openmed/openmed/training/loss"
	"github.com/openmed/openmed/training/optim"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// loopRecipe is the recipe of the loop-parity case (issue #5 item 5): the
// paper's optimiser settings at a tiny scale.
type loopRecipe struct {
	Steps          int     `json:"steps"`
	LR             float64 `json:"lr"`
	WeightDecay    float64 `json:"weight_decay"`
	Warmup         int     `json:"warmup"`
	LabelSmoothing float32 `json:"label_smoothing"`
	MaxGradNorm    float64 `json:"max_grad_norm"`
}

var recipe = loopRecipe{Steps: 50, LR: 1e-3, WeightDecay: 0.01, Warmup: 5, LabelSmoothing: 0.1, MaxGradNorm: 1.0}

const (
	loopSentences = 64
	loopBatch     = 8
	// loopLossTol is the per-step loss tolerance of the issue: the two
	// float32 sum orders (our kernels vs torch's) drift ~1e-6 over 50 steps
	// here, so it leaves room for AdamW amplifying tiny gradients' noise.
	loopLossTol = 1e-3
)

// peerBatch is one padded batch as the peer reads it.
type peerBatch struct {
	IDs    [][]int32   `json:"ids"`
	Mask   [][]float32 `json:"mask"`
	Labels [][]int32   `json:"labels"`
}

// loopCase is the file peer_loop.py reads.
type loopCase struct {
	loopRecipe
	Mode        string         `json:"mode"`
	Config      string         `json:"config"`
	BaseWeights string         `json:"base_weights"`
	AdapterInit string         `json:"adapter_init,omitempty"`
	Lora        map[string]any `json:"lora,omitempty"`
	NoDecay     []string       `json:"no_decay"`
	Batches     []peerBatch    `json:"batches"`
	Result      string         `json:"result"`
	Final       string         `json:"final"`
}

// peerResult is what peer_loop.py writes.
type peerResult struct {
	Losses    []float64 `json:"losses"`
	GradNorms []float64 `json:"grad_norms"`
	LRs       []float64 `json:"lrs"`
	Torch     string    `json:"torch"`
}

// loopBatches encodes the first 64 NCBI-Disease training sentences with the
// trainer's feature builder (training.BuildDataset: first-sub-token labels,
// word-aligned windows, here 64 tokens — the fixture's max_position_embeddings
// — with 16 overlap) and the PubMedBERT vocabulary, then folds the ids into
// the fixture's 128-word vocabulary: specials 0–4 ([PAD] [UNK] [CLS] [SEP]
// [MASK]) stay, every other id becomes id % 123 + 5. 8 padded batches of 8.
func loopBatches(t *testing.T, shared string, cfg *checkpoint.Config) []features.Padded {
	tok, err := tokenize.Load(filepath.Join(shared, "tokenizers", "pubmedbert-abstract"))
	require.NoError(t, err)
	c, err := corpus.ReadFile(filepath.Join(shared, "data", "NCBI-Disease", "train.tsv"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(c.Sentences), loopSentences)
	c.Sentences = c.Sentences[:loopSentences]
	labels, err := training.NewLabelSet(cfg.Labels())
	require.NoError(t, err)
	d, err := training.BuildDataset(c, tok, labels, training.DataOptions{MaxLen: cfg.MaxPositionEmbeddings, Stride: 16, Packing: training.PackSentences})
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(d.Examples), loopSentences)
	exs := d.Examples[:loopSentences]
	for i := range exs {
		ids := make([]int32, len(exs[i].IDs))
		for j, id := range exs[i].IDs {
			if id >= 5 {
				id = id%123 + 5
			}
			ids[j] = id
		}
		exs[i].IDs = ids
	}
	var out []features.Padded
	for i := 0; i < len(exs); i += loopBatch {
		out = append(out, features.Pad(exs[i:i+loopBatch], int32(cfg.PadTokenID)))
	}
	return out
}

// goLoop runs the recipe on m over params the way the trainer composes a step:
// zero grads, forward, label-smoothed CE, backward, clip, lr from the
// schedule (LambdaLR: step s uses Factor(s)), AdamW step.
func goLoop(t *testing.T, m *model.Model, params []*tensor.Param, batches []features.Padded) (losses, norms, lrs []float64) {
	opt, err := optim.NewAdamW(params, optim.WithLR(recipe.LR), optim.WithWeightDecay(recipe.WeightDecay))
	require.NoError(t, err)
	sched := optim.CosineWithWarmup(recipe.Warmup, recipe.Steps)
	c := m.Config.NumLabels()
	var dl []float32
	for step := 0; step < recipe.Steps; step++ {
		p := batches[step%len(batches)]
		b := &model.Batch{Batch: p.Batch, SeqLen: p.SeqLen, InputIDs: p.IDs, AttentionMask: p.Mask}
		opt.ZeroGrad()
		logits, err := m.Forward(b)
		require.NoError(t, err)
		n := b.Tokens()
		dl = append(dl[:0], make([]float32, n*c)...)
		l, count, err := loss.CrossEntropyChecked(logits.Data, n, c, p.Labels, recipe.LabelSmoothing, dl)
		require.NoError(t, err)
		require.Positive(t, count)
		require.NoError(t, m.Backward(dl))
		norms = append(norms, optim.ClipGradNorm(params, recipe.MaxGradNorm))
		lr := sched.LR(recipe.LR, step)
		opt.SetLR(lr)
		opt.Step()
		losses, lrs = append(losses, float64(l)), append(lrs, lr)
	}
	return losses, norms, lrs
}

func TestLoopParityWithPyTorch(t *testing.T) {
	shared := sharedDir(t)
	requireTorch(t)
	root := repoRoot(t)
	fixture := filepath.Join(shared, "fixtures", "bert")
	cfg, err := checkpoint.LoadConfig(filepath.Join(fixture, checkpoint.ConfigFile))
	require.NoError(t, err)
	batches := loopBatches(t, shared, cfg)

	for _, mode := range []string{"lora", "full"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			lc := loopCase{loopRecipe: recipe, Mode: mode, Config: filepath.Join(fixture, checkpoint.ConfigFile),
				BaseWeights: filepath.Join(fixture, checkpoint.SafeWeightsFile),
				Result:      filepath.Join(dir, "result.json"), Final: filepath.Join(dir, "final.safetensors")}
			composed := newLoopModel(t, fixture, mode)
			if composed.adapter != nil {
				// Both sides start from Go's LoRA init (A Kaiming-uniform, B zero).
				lc.AdapterInit = filepath.Join(dir, "adapter_init.safetensors")
				require.NoError(t, checkpoint.WriteSafetensors(lc.AdapterInit, composed.adapter.StateDict(), map[string]string{"format": "pt"}))
				lc.Lora = map[string]any{"r": 4, "alpha": 8, "targets": []string{"query", "value"}}
			}
			sd := composed.final()
			for _, p := range composed.params {
				_, ok := sd[composed.keyOf(p)]
				require.True(t, ok, "trainable %s has no state-dict key %s", p.Name, composed.keyOf(p))
				if p.NoDecay {
					lc.NoDecay = append(lc.NoDecay, composed.keyOf(p))
				}
			}
			require.NotEmpty(t, lc.NoDecay)
			for _, b := range batches {
				lc.Batches = append(lc.Batches, peerBatch{IDs: features.Rows(b.IDs, b.Batch, b.SeqLen),
					Mask: features.Rows(b.Mask, b.Batch, b.SeqLen), Labels: features.Rows(b.Labels, b.Batch, b.SeqLen)})
			}
			casePath := filepath.Join(dir, "case.json")
			require.NoError(t, features.WriteJSON(casePath, lc))

			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // generous: a loaded machine, not the peer, is slow
			defer cancel()
			start := time.Now()
			out, err := exec.CommandContext(ctx, python, filepath.Join(root, "benchmarks", "training", "peer_loop.py"), casePath).CombinedOutput()
			require.NoError(t, err, "peer_loop.py: %s", out)
			peerTime := time.Since(start)
			var pr peerResult
			require.NoError(t, features.ReadJSON(lc.Result, &pr))
			require.Len(t, pr.Losses, recipe.Steps)
			peerFinal, err := checkpoint.ReadSafetensors(lc.Final)
			require.NoError(t, err)

			// The step composed from core/model + training/loss + training/optim.
			start = time.Now()
			losses, norms, lrs := goLoop(t, composed.m, composed.params, batches)
			t.Logf("%s, composed step (%v; peer %v incl. start-up, torch %s):", mode, time.Since(start).Round(time.Millisecond), peerTime.Round(time.Millisecond), pr.Torch)
			compareLoop(t, pr, peerFinal, composed, losses, norms, lrs)

			// The trainer's own loop (loop.Run: AdamW groups, warm-up
			// ratio, cosine, clipping, zero-grad order) over the same batches.
			trainer := newLoopModel(t, fixture, mode)
			losses, norms, lrs = trainerLoop(t, trainer, batches, filepath.Join(dir, "runloop"))
			t.Logf("%s, loop.Run:", mode)
			compareLoop(t, pr, peerFinal, trainer, losses, norms, lrs)
		})
	}
}

// loopModel is one Go side of the loop case: the fixture BERT, with LoRA in
// mode "lora", and how its trainable tensors are named in the peer's files.
type loopModel struct {
	m       *model.Model
	adapter *lora.Adapter
	params  []*tensor.Param
	final   func() map[string]*tensor.Tensor
	keyOf   func(*tensor.Param) string
}

func newLoopModel(t *testing.T, fixture, mode string) *loopModel {
	// Dropout off on both sides (the peer runs model.eval()), even when a
	// loop switches to training mode: the fixture's config with p = 0.
	cfg, err := checkpoint.LoadConfig(filepath.Join(fixture, checkpoint.ConfigFile))
	require.NoError(t, err)
	cfg.HiddenDropoutProb, cfg.AttentionProbsDropoutProb = 0, 0
	m, err := model.New(cfg, model.TokenClassification, 0)
	require.NoError(t, err)
	sd, err := checkpoint.LoadWeights(fixture)
	require.NoError(t, err)
	missing, unused, err := m.LoadStateDict(sd)
	require.NoError(t, err)
	require.Empty(t, missing)
	require.Empty(t, unused)
	m.SetTraining(false)
	lm := &loopModel{m: m, params: m.TrainableParams(), final: m.StateDict, keyOf: func(p *tensor.Param) string { return p.Name }}
	if mode == "lora" {
		ad, err := lora.Apply(m, lora.NewConfig(lora.WithRank(4), lora.WithAlpha(8), lora.WithTargets("query", "value"), lora.WithSeed(11)))
		require.NoError(t, err)
		lm.adapter, lm.params, lm.final = ad, ad.TrainableParams(), ad.StateDict
		lm.keyOf = func(p *tensor.Param) string { return checkpoint.AdapterPrefix + p.Name }
	}
	return lm
}

// compareLoop asserts per-step losses (≤ 1e-3), learning rates and gradient
// norms, and final parameters against the peer, logging the largest differences.
func compareLoop(t *testing.T, pr peerResult, peerFinal map[string]*tensor.Tensor, lm *loopModel, losses, norms, lrs []float64) {
	t.Helper()
	require.Len(t, losses, recipe.Steps)
	require.Len(t, norms, recipe.Steps)
	require.Len(t, lrs, recipe.Steps)
	maxLoss, maxNorm := 0.0, 0.0
	for s := 0; s < recipe.Steps; s++ {
		assert.InDelta(t, pr.LRs[s], lrs[s], 1e-12, "step %d lr", s)
		assert.InDelta(t, pr.Losses[s], losses[s], loopLossTol, "step %d loss", s)
		assert.InDelta(t, pr.GradNorms[s], norms[s], 1e-3*max(1, pr.GradNorms[s]), "step %d grad norm", s) // relative, as loopLossTol
		maxLoss = max(maxLoss, math.Abs(pr.Losses[s]-losses[s]))
		maxNorm = max(maxNorm, math.Abs(pr.GradNorms[s]-norms[s]))
	}
	// Training must actually move the loss, or the comparison is empty.
	assert.Less(t, losses[recipe.Steps-1], losses[0]-0.1, "loss did not decrease")
	maxParam, worst := paramDiff(t, lm.final(), peerFinal, lm.params, lm.keyOf, false)
	assert.Less(t, maxParam, finalParamTol, "final parameter %s", worst)
	// Attention key biases have an exactly zero gradient (q·b_k is the
	// same for every key, and softmax ignores it), so AdamW normalises
	// pure rounding noise: bound them by the total learning rate instead.
	maxKey, worstKey := paramDiff(t, lm.final(), peerFinal, lm.params, lm.keyOf, true)
	sumLR := 0.0
	for _, lr := range lrs {
		sumLR += lr
	}
	assert.Less(t, maxKey, sumLR, "key bias %s", worstKey)
	t.Logf("  %d steps, loss %.4f → %.4f; max |Δloss| %.2e, max |Δgrad-norm| %.2e, max |Δparam| %.2e (%s), key biases %.2e",
		recipe.Steps, losses[0], losses[recipe.Steps-1], maxLoss, maxNorm, maxParam, worst, maxKey)
}

// fixedBatches is a loop.Objective that replays the loop case's batches
// (step s uses batch s mod 8) over epochs of 10 steps, recording each loss.
type fixedBatches struct {
	t       *testing.T
	m       *model.Model
	batches []features.Padded
	perEp   int
	losses  []float64
	dl      []float32
}

func (o *fixedBatches) Batches(int) int { return o.perEp }

func (o *fixedBatches) Step(epoch, i int) (loop.StepStats, error) {
	p := o.batches[(epoch*o.perEp+i)%len(o.batches)]
	b := &model.Batch{Batch: p.Batch, SeqLen: p.SeqLen, InputIDs: p.IDs, AttentionMask: p.Mask}
	logits, err := o.m.Forward(b)
	if err != nil {
		return loop.StepStats{}, err
	}
	c := o.m.Config.NumLabels()
	o.dl = append(o.dl[:0], make([]float32, b.Tokens()*c)...)
	l, _, err := loss.CrossEntropyChecked(logits.Data, b.Tokens(), c, p.Labels, recipe.LabelSmoothing, o.dl)
	if err != nil {
		return loop.StepStats{}, err
	}
	o.losses = append(o.losses, float64(l))
	return loop.StepStats{Loss: float64(l), Tokens: b.Tokens()}, o.m.Backward(o.dl)
}

func (o *fixedBatches) Evaluate() (*loop.EvalStats, error) { return nil, nil }

// trainerLoop runs the recipe through loop.Run (5 epochs × 10
// steps, warm-up ratio 0.1 → 5 steps) and reads each step's learning rate
// and gradient norm back from its metrics.jsonl.
func trainerLoop(t *testing.T, lm *loopModel, batches []features.Padded, dir string) (losses, norms, lrs []float64) {
	obj := &fixedBatches{t: t, m: lm.m, batches: batches, perEp: 10}
	res, err := loop.Run(context.Background(), loop.Config{Model: lm.m, Adapter: lm.adapter,
		Epochs: recipe.Steps / obj.perEp, LR: recipe.LR, WarmupRatio: float64(recipe.Warmup) / float64(recipe.Steps),
		Schedule: optim.ScheduleCosine, WeightDecay: recipe.WeightDecay, MaxGradNorm: recipe.MaxGradNorm,
		Seed: 1, Dir: dir, LogEvery: 1}, obj)
	require.NoError(t, err)
	require.Equal(t, recipe.Steps, res.Steps)
	f, err := os.Open(filepath.Join(dir, "metrics.jsonl"))
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var line struct {
			Type     string  `json:"type"`
			LR       float64 `json:"lr"`
			GradNorm float64 `json:"grad_norm"`
		}
		require.NoError(t, json.Unmarshal(sc.Bytes(), &line), "metrics.jsonl: %s", sc.Text())
		if line.Type == "step" {
			lrs, norms = append(lrs, line.LR), append(norms, line.GradNorm)
		}
	}
	require.NoError(t, sc.Err())
	return obj.losses, norms, lrs
}

// finalParamTol bounds the final-parameter difference after 50 AdamW steps
// (attention key biases excepted, see the test): each step moves a value by
// ≤ lr = 1e-3, so 1e-4 is a tenth of one step, and ~200× the float32 drift
// between the two sum orders seen here.
const finalParamTol = 1e-4

// paramDiff compares the trainable tensors of two state dicts and returns the
// largest absolute difference and where it is: over the attention key biases
// when keyBias, over every other parameter otherwise.
func paramDiff(t *testing.T, ours, peer map[string]*tensor.Tensor, params []*tensor.Param, keyOf func(*tensor.Param) string, keyBias bool) (float64, string) {
	t.Helper()
	worst, where := 0.0, ""
	for _, p := range params {
		k := keyOf(p)
		if strings.HasSuffix(k, "attention.self.key.bias") != keyBias {
			continue
		}
		a, b := ours[k], peer[k]
		require.NotNil(t, b, "peer final state lacks %s", k)
		require.Equal(t, a.Shape, b.Shape, k)
		for i := range a.Data {
			if d := math.Abs(float64(a.Data[i] - b.Data[i])); d > worst {
				worst, where = d, fmt.Sprintf("%s[%d]", k, i)
			}
		}
	}
	return worst, where
}
