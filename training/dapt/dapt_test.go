package dapt

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/corpus"
	"github.com/openmed/openmed/core/lora"
	"github.com/openmed/openmed/core/model"
	"github.com/openmed/openmed/core/tokenize"
	"github.com/openmed/openmed/internal/testutil"
	"github.com/openmed/openmed/training"
	"github.com/openmed/openmed/training/loop"
	"github.com/openmed/openmed/training/loss"
)

// sharedDir returns ../shared beside the repository root, skipping when absent.
func sharedDir(t testing.TB) string {
	return testutil.SharedDir(t)
}

func pubmed(t testing.TB) (*tokenize.Tokenizer, string) {
	t.Helper()
	dir := filepath.Join(sharedDir(t), "tokenizers", "pubmedbert-abstract")
	tok, err := tokenize.Load(dir)
	require.NoError(t, err)
	return tok, dir
}

// Over many tokens, 15% of non-special tokens are selected, of which 80%
// become [MASK], 10% a random token and 10% stay; specials never change.
func TestMaskingStatistics(t *testing.T) {
	const V = 30000
	m := &Masker{Opts: DefaultMaskOptions(), MaskID: 4, VocabSize: V, Special: map[int32]bool{2: true, 3: true, 0: true}}
	r := rand.New(rand.NewPCG(1, 2))
	var total, selected, masked, random, kept, specials int
	for s := 0; s < 400; s++ {
		ids := make([]int32, 256)
		ids[0], ids[255] = 2, 3
		for i := 1; i < 255; i++ {
			ids[i] = int32(100 + r.IntN(V-100))
		}
		if s%4 == 0 {
			for i := 200; i < 255; i++ {
				ids[i] = 0 // padding
			}
		}
		in, lab := m.Mask(ids, r)
		for i, id := range ids {
			if m.Special[id] {
				specials++
				require.Equal(t, int32(loss.IgnoreIndex), lab[i], "special at %d selected", i)
				require.Equal(t, id, in[i])
				continue
			}
			total++
			if lab[i] == loss.IgnoreIndex {
				require.Equal(t, id, in[i], "unselected token changed")
				continue
			}
			require.Equal(t, id, lab[i])
			selected++
			switch in[i] {
			case m.MaskID:
				masked++
			case id:
				kept++
			default:
				random++
			}
		}
	}
	require.Greater(t, total, 90000)
	require.Greater(t, specials, 5000)
	frac := float64(selected) / float64(total)
	assert.InDelta(t, 0.15, frac, 0.005, "selection rate")
	assert.InDelta(t, 0.8, float64(masked)/float64(selected), 0.015, "[MASK] share")
	assert.InDelta(t, 0.1, float64(random)/float64(selected), 0.012, "random share")
	assert.InDelta(t, 0.1, float64(kept)/float64(selected), 0.012, "kept share")
}

// Packing concatenates the lines' tokens and cuts [CLS] … [SEP] blocks.
func TestPack(t *testing.T) {
	tok, _ := pubmed(t)
	lines := []string{"BRCA1 mutations cause hereditary breast cancer.", "Adenomatous polyposis coli is a disease.", "short", strings.Repeat("tumour suppressor genes ", 30)}
	blocks, err := Pack(tok, lines, 16, 1)
	require.NoError(t, err)
	var want []int32
	for _, l := range lines {
		e, err := tok.Encode(l, tokenize.WithoutSpecialTokens())
		require.NoError(t, err)
		want = append(want, e.IDs...)
	}
	sp := tok.Special()
	var got []int32
	for i, b := range blocks {
		require.Equal(t, sp.CLS, b[0])
		require.Equal(t, sp.SEP, b[len(b)-1])
		if i < len(blocks)-1 {
			require.Len(t, b, 16)
		} else {
			require.LessOrEqual(t, len(b), 16)
		}
		got = append(got, b[1:len(b)-1]...)
	}
	require.Equal(t, want, got)
	require.Equal(t, (len(want)+13)/14, len(blocks))
	_, err = Pack(tok, lines, 2, 1)
	require.Error(t, err)
}

// ncbiText writes NCBI-Disease training sentences as raw text lines.
func ncbiText(t *testing.T, n int) string {
	t.Helper()
	c, err := corpus.ReadFile(filepath.Join(sharedDir(t), "data", "NCBI-Disease", "train.tsv"))
	require.NoError(t, err)
	var b strings.Builder
	for _, s := range c.Sentences[:n] {
		b.WriteString(strings.Join(s.Words(), " "))
		b.WriteByte('\n')
	}
	p := filepath.Join(t.TempDir(), "text.txt")
	require.NoError(t, os.WriteFile(p, []byte(b.String()), 0o644))
	return p
}

// scratchConfig is DefaultConfig for a single-threaded from-scratch run of
// the encoder s on text (a raw text file) with the tokenizer in tokDir,
// writing into a fresh temporary folder.
func scratchConfig(t *testing.T, text, tokDir string, s Scratch) Config {
	t.Helper()
	c := DefaultConfig()
	c.Text = []string{text}
	c.Out = t.TempDir()
	c.FromScratch = true
	c.Scratch = &s
	c.Tokenizer = tokDir
	c.Threads = 1
	return c
}

// A short from-scratch run lowers held-out MLM loss, writes the curve, and
// its folder is a base `openmed train` accepts.
func TestFromScratchLowersHeldOutLoss(t *testing.T) {
	_, tokDir := pubmed(t)
	cfg := scratchConfig(t, ncbiText(t, 400), tokDir, Scratch{Layers: 2, Hidden: 64, Heads: 4, FFN: 128, MaxPositions: 256})
	cfg.BlockLen = 128
	cfg.Epochs = 3
	cfg.LR = 2e-3
	cfg.EvalEvery = 8
	cfg.HeldOut = 0.1
	res, err := Run(context.Background(), cfg)
	require.NoError(t, err)
	t.Logf("held-out loss %.3f -> %.3f (ppl %.0f -> %.0f, acc %.3f -> %.3f), %d steps, %.0f tokens/s",
		res.Before.Loss, res.After.Loss, res.Before.Perplexity, res.After.Perplexity, res.Before.Accuracy, res.After.Accuracy, res.Loop.Steps, res.Loop.TokensPerSec)
	require.Greater(t, res.Before.Masked, 100)
	require.Less(t, res.After.Loss, res.Before.Loss-0.5, "held-out loss falls")
	curve, err := os.ReadFile(filepath.Join(cfg.Out, "mlm_curve.jsonl"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, strings.Count(string(curve), "\n"), 3)
	for _, f := range []string{"config.json", "model.safetensors", "vocab.txt", "tokenizer.json", "metrics.json", "metrics.jsonl", "training_args.json"} {
		require.FileExists(t, filepath.Join(cfg.Out, f))
	}
	labels, err := training.NewLabelSet([]string{"O", "B-Disease", "I-Disease"})
	require.NoError(t, err)
	m, fresh, err := training.LoadBase(cfg.Out, labels, 1)
	require.NoError(t, err)
	require.True(t, fresh)
	// The encoder weights are the trained ones.
	sd := res.Model.StateDict()
	for name, v := range m.StateDict() {
		if strings.HasPrefix(name, "bert.") {
			require.Equal(t, sd[name].Data, v.Data, name)
		}
	}
}

// LoRA DAPT from a base folder trains only the adapters, and the merged
// output differs from the base in the targeted projections only.
func TestLoRADAPTFromBase(t *testing.T) {
	_, tokDir := pubmed(t)
	base := scratchConfig(t, ncbiText(t, 200), tokDir, Scratch{Layers: 1, Hidden: 32, Heads: 2, FFN: 64, MaxPositions: 256})
	base.BlockLen = 128
	base.HeldOut = 0.2
	_, err := Run(context.Background(), base)
	require.NoError(t, err)

	cfg := base
	cfg.FromScratch, cfg.Scratch, cfg.Tokenizer = false, nil, ""
	cfg.Base = base.Out
	cfg.Out = t.TempDir()
	cfg.Method = training.MethodLoRA
	cfg.LR = 5e-3
	res, err := Run(context.Background(), cfg)
	require.NoError(t, err)
	require.Greater(t, res.Loop.Steps, 0)
	labels, _ := training.NewLabelSet([]string{"O", "B", "I"})
	a, _, err := training.LoadBase(base.Out, labels, 1)
	require.NoError(t, err)
	b, _, err := training.LoadBase(cfg.Out, labels, 1)
	require.NoError(t, err)
	as, bs := a.StateDict(), b.StateDict()
	changed := 0
	for k, v := range as {
		if strings.HasPrefix(k, "classifier") {
			continue
		}
		same := assert.ObjectsAreEqual(v.Data, bs[k].Data)
		target := strings.Contains(k, "attention.self.query.weight") || strings.Contains(k, "attention.self.value.weight")
		if target {
			require.False(t, same, "%s should carry the merged LoRA update", k)
			changed++
		} else {
			require.True(t, same, "%s is frozen under LoRA", k)
		}
	}
	require.Equal(t, 2, changed)

	// The DAPT adapter alone, applied to the released base and merged, gives
	// the adapted encoder (to the rounding of W + s·B·A in float32).
	c, err := checkpoint.LoadAdapterConfig(filepath.Join(cfg.Out, AdapterDir))
	require.NoError(t, err)
	assert.Equal(t, checkpoint.TaskFeatureExtraction, c.TaskType)
	m, err := model.Load(base.Out, model.MaskedLM)
	require.NoError(t, err)
	ad, err := lora.Load(m, filepath.Join(cfg.Out, AdapterDir))
	require.NoError(t, err)
	ad.Merge()
	ms := m.StateDict()
	for k, v := range bs {
		if strings.HasPrefix(k, "classifier") || ms[k] == nil {
			continue
		}
		for i := range v.Data {
			require.InDelta(t, v.Data[i], ms[k].Data[i], 1e-6, "%s[%d]", k, i)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	c := DefaultConfig()
	_, err := Run(context.Background(), c)
	require.ErrorContains(t, err, "dapt: text is required")
	require.ErrorIs(t, err, training.ErrConfig, "bindings report it as bad input")
	c.Text, c.Out = []string{"x"}, t.TempDir()
	_, err = Run(context.Background(), c)
	require.ErrorContains(t, err, "`from_scratch`")
	c.FromScratch = true
	_, err = Run(context.Background(), c)
	require.ErrorContains(t, err, "dapt: scratch is required")
	empty := filepath.Join(t.TempDir(), "empty.txt")
	require.NoError(t, os.WriteFile(empty, []byte("\n\n"), 0o644))
	_, tokDir := pubmed(t)
	c.Scratch = &Scratch{Layers: 1, Hidden: 32, Heads: 2, FFN: 64}
	c.Tokenizer = tokDir
	c.Text = []string{empty}
	_, err = Run(context.Background(), c)
	require.ErrorContains(t, err, "no text")
}

// An interrupted DAPT run resumes to the same weights as an uninterrupted one
// (the loop is shared with token classification; masks are re-derived).
func TestDAPTResumeIsBitIdentical(t *testing.T) {
	for _, ei := range []EmbeddingInit{EmbeddingNormal, EmbeddingPPMISVD} {
		t.Run(string(ei), func(t *testing.T) { testDAPTResume(t, ei) })
	}
}

// testDAPTResume interrupts a from-scratch run half-way and resumes it (with
// the PPMI-SVD warm start, the resumed run skips the init: its weights come
// from the checkpoint).
func testDAPTResume(t *testing.T, ei EmbeddingInit) {
	_, tokDir := pubmed(t)
	mk := func() Config {
		c := scratchConfig(t, ncbiText(t, 150), tokDir, Scratch{Layers: 1, Hidden: 32, Heads: 2, FFN: 64, MaxPositions: 128, EmbeddingInit: ei})
		c.BlockLen = 64
		c.BatchSize = 8
		c.Epochs = 2
		c.LR = 1e-3
		c.HeldOut = 0.1
		c.EvalEvery = 3
		c.LogEvery = 1
		return c
	}
	ref, err := Run(context.Background(), mk())
	require.NoError(t, err)
	cfg := mk()
	ctx, cancel := context.WithCancel(context.Background())
	cfg.Progress = func(p loop.Progress) {
		if p.Phase == loop.PhaseTrain && p.Step == ref.Loop.Steps/2+1 {
			cancel()
		}
	}
	_, err = Run(ctx, cfg)
	require.ErrorIs(t, err, loop.ErrInterrupted)
	cfg.Progress = nil
	cfg.Resume = true
	got, err := Run(context.Background(), cfg)
	require.NoError(t, err)
	// Same kernels, one thread (scratchConfig) and the same batches on both
	// runs: losses and weights must be bit-identical, not merely close.
	require.Equal(t, ref.Before, got.Before)
	require.Equal(t, ref.After, got.After)
	require.Equal(t, ref.Loop.History, got.Loop.History)
	rs, gs := ref.Model.StateDict(), got.Model.StateDict()
	for k, v := range rs {
		require.Equal(t, v.Data, gs[k].Data, k)
	}
	a, err := os.ReadFile(filepath.Join(ref.Out, "mlm_curve.jsonl"))
	require.NoError(t, err)
	b, err := os.ReadFile(filepath.Join(got.Out, "mlm_curve.jsonl"))
	require.NoError(t, err)
	require.Equal(t, string(a), string(b))
}

// MaxTrainBlocks caps the training blocks and leaves the held-out set (and
// so the before/after comparison) unchanged.
func TestMaxTrainBlocks(t *testing.T) {
	_, tokDir := pubmed(t)
	cfg := scratchConfig(t, ncbiText(t, 200), tokDir, Scratch{Layers: 1, Hidden: 32, Heads: 2, FFN: 64, MaxPositions: 256})
	cfg.BlockLen = 64
	cfg.HeldOut = 0.2
	full, err := Run(context.Background(), cfg)
	require.NoError(t, err)
	require.Greater(t, full.TrainBlocks, 5)
	capped := cfg
	capped.Out = t.TempDir()
	capped.MaxTrainBlocks = 5
	res, err := Run(context.Background(), capped)
	require.NoError(t, err)
	assert.Equal(t, 5, res.TrainBlocks)
	assert.Equal(t, full.HeldOutBlocks, res.HeldOutBlocks)
	assert.Equal(t, full.Before, res.Before, "same held-out blocks and masks")
}
