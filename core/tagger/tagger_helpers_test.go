package tagger

import (
	"fmt"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/corpus"
	"github.com/openmed/openmed/core/tensor"
	"github.com/openmed/openmed/core/tokenize"
	"github.com/openmed/openmed/internal/testutil"
	"github.com/openmed/openmed/internal/testutil/tinymodel"
)

// tinyLabels are the label set of the test taggers: two entity types.
var tinyLabels = []string{"O", "B-Disease", "I-Disease", "B-Chemical", "I-Chemical"}

// pubmedVocab is the size of the real PubMedBERT vocabulary.
const pubmedVocab = 28895

// tinyBERT writes a random-init 2-layer BERT token classifier whose
// vocabulary is the real PubMedBERT tokenizer (copied beside it) — no
// pretrained weights exist here. The classifier is scaled up (std 3) so that
// predictions vary across labels instead of being near-uniform.
func tinyBERT(t testing.TB, labels []string, seed int64) string {
	t.Helper()
	shared := ortSharedDir(t)
	dir := filepath.Join(t.TempDir(), "tiny")
	w, err := tinymodel.Write(dir, tinymodel.Options{
		Arch: checkpoint.ModelBERT, Vocab: pubmedVocab, TokenizerDir: filepath.Join(shared, "tokenizers", "pubmedbert-abstract"),
		Labels: labels, Seed: seed, LayerNormGamma: 1, ClassifierStd: 3, ClassifierBiasStd: 0.5,
	})
	require.NoError(t, err)
	centreClassifier(t, dir, w)
	return dir
}

// centreClassifier removes the component every token's hidden state shares
// in a random-init encoder (which would make one label win everywhere): it
// runs the model on NCBI sentences and sets classifier.bias = −W·mean(h) +
// the random bias, then rewrites the weights.
func centreClassifier(t testing.TB, dir string, w map[string]*tensor.Tensor) {
	t.Helper()
	e, err := NewEngine(dir)
	require.NoError(t, err)
	tok, err := tokenize.Load(dir)
	require.NoError(t, err)
	mean := make([]float64, 32)
	n := 0
	for _, s := range ncbiSentences(t, 40) {
		enc, err := tok.Encode(s)
		require.NoError(t, err)
		ids, mask := make([]int64, enc.Len()), make([]int64, enc.Len())
		for i, id := range enc.IDs {
			ids[i], mask[i] = int64(id), 1
		}
		_, err = e.baseHead(nil).Logits([][]int64{ids}, [][]int64{mask}, nil)
		require.NoError(t, err)
		h := e.m.LastHidden()
		for i := 0; i < enc.Len(); i++ {
			for k := 0; k < 32; k++ {
				mean[k] += float64(h[i*32+k])
			}
			n++
		}
	}
	cw, cb := w["classifier.weight"], w["classifier.bias"]
	for c := range cb.Data {
		dot := 0.0
		for k := 0; k < 32; k++ {
			dot += float64(cw.Data[c*32+k]) * mean[k] / float64(n)
		}
		cb.Data[c] -= float32(dot)
	}
	require.NoError(t, checkpoint.WriteSafetensors(filepath.Join(dir, "model.safetensors"), w, map[string]string{"format": "pt"}))
}

// tinyAdapter writes a PEFT LoRA adapter for tinyBERT (r=4 on query/value,
// non-zero B so it changes the encoder) with its own classifier and
// config.json id2label, as openmed train writes adapter folders.
func tinyAdapter(t testing.TB, base string, labels []string, seed int64) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), fmt.Sprintf("adapter%d", seed))
	require.NoError(t, os.MkdirAll(dir, 0o755))
	rng := rand.New(rand.NewSource(seed))
	w := map[string]*tensor.Tensor{}
	add := func(name string, scale float64, shape ...int) {
		x := tensor.New(shape...)
		for i := range x.Data {
			x.Data[i] = float32(rng.NormFloat64() * scale)
		}
		w[checkpoint.AdapterPrefix+name] = x
	}
	for l := 0; l < 2; l++ {
		for _, m := range []string{"query", "value"} {
			p := fmt.Sprintf("bert.encoder.layer.%d.attention.self.%s", l, m)
			add(p+".lora_A.weight", 0.3, tinyAdapterRank, 32)
			add(p+".lora_B.weight", 0.3, 32, tinyAdapterRank)
		}
	}
	add("classifier.weight", 3, len(labels), 32)
	add("classifier.bias", 0.5, len(labels))
	pc := checkpoint.DefaultLoRAConfig(checkpoint.ModelBERT, tinyAdapterRank, 8)
	pc.BaseModelNameOrPath = base
	require.NoError(t, checkpoint.SaveAdapter(dir, pc, w))
	cfg, err := checkpoint.LoadConfig(base)
	require.NoError(t, err)
	cfg.ID2Label, cfg.Label2ID = map[int]string{}, map[string]int{}
	for i, l := range labels {
		cfg.ID2Label[i], cfg.Label2ID[l] = l, i
	}
	require.NoError(t, cfg.Save(filepath.Join(dir, "config.json")))
	for _, f := range []string{"tokenizer.json", "tokenizer_config.json", "vocab.txt"} {
		data, err := os.ReadFile(filepath.Join(base, f))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), data, 0o644))
	}
	return dir
}

// ncbiSentences returns up to n NCBI-Disease test sentences as text (words
// joined by spaces).
func ncbiSentences(t testing.TB, n int) []string {
	t.Helper()
	c, err := corpus.ReadFile(filepath.Join(ortSharedDir(t), "data", "NCBI-Disease", "test.tsv"))
	require.NoError(t, err)
	var out []string
	for _, s := range c.Sentences {
		if len(out) == n {
			break
		}
		out = append(out, strings.Join(s.Words(), " "))
	}
	require.NotEmpty(t, out)
	return out
}

// logitScale runs every labelled head of tg (the default one and each
// adapter) on every window of texts alone and returns max(1, the largest
// |logit|) and the longest window: the magnitude and the sequence length
// that the tolerance of a path comparison scales with (see pathTol).
func logitScale(t testing.TB, tg *Tagger, texts []string) (scale float64, seq int) {
	t.Helper()
	heads := []*head{tg.def}
	for _, h := range tg.heads {
		heads = append(heads, h)
	}
	scale = 1
	for _, h := range heads {
		if h == nil || len(h.labels) == 0 {
			continue
		}
		for _, text := range texts {
			enc, err := tg.tok.Encode(text)
			require.NoError(t, err)
			ws, err := tokenize.WordAlignedWindows(enc, tg.opts.WindowLen, tg.opts.Stride)
			require.NoError(t, err)
			for _, w := range ws {
				ids, mask, types := make([]int64, w.Len()), make([]int64, w.Len()), make([]int64, w.Len())
				for j := range ids {
					ids[j], mask[j], types[j] = int64(w.IDs[j]), 1, int64(w.TypeIDs[j])
				}
				lg, err := h.be.Logits([][]int64{ids}, [][]int64{mask}, [][]int64{types})
				require.NoError(t, err)
				for _, v := range lg.Data {
					scale = math.Max(scale, math.Abs(float64(v)))
				}
				seq = max(seq, w.Len())
			}
		}
	}
	require.Positive(t, seq, "no labelled head ran")
	return scale, seq
}

// pathTol is the tolerance for scores of a tinyBERT tagger computed by two
// float32 paths whose sums may run in different orders (another backend,
// another batch shape or GEMM blocking, another OpenBLAS kernel set or
// thread split): the reordering bound of the tiny encoder's path at seq
// tokens — plus, when loraRank > 0 because a LoRA adapter is merged on one
// side only, each layer's down-projection (K = hidden), up-projection
// (K = rank) and scale-and-add — relative to scale, the largest |logit|
// (softmax's Jacobian is at most 1 in the max norm and entity scores average
// probabilities).
func pathTol(scale float64, seq, loraRank int) float64 {
	r := testutil.EncoderReductions(tinymodel.Layers, tinymodel.Hidden, tinymodel.Heads, tinymodel.Intermediate, seq)
	if loraRank > 0 {
		for range tinymodel.Layers {
			r = append(r, tinymodel.Hidden, loraRank, 2)
		}
	}
	return testutil.ReorderTol(r...) * scale
}

// scoreTol is pathTol for tg's heads over texts (see logitScale), logged.
func scoreTol(t testing.TB, tg *Tagger, texts []string, loraRank int) float64 {
	t.Helper()
	scale, seq := logitScale(t, tg, texts)
	tol := pathTol(scale, seq, loraRank)
	t.Logf("score tolerance %.3g (max |logit| %.1f, longest window %d, LoRA rank %d)", tol, scale, seq, loraRank)
	return tol
}

// tinyAdapterRank is the LoRA rank of tinyAdapter.
const tinyAdapterRank = 4

// ncbiCorpus is the first n sentences of NCBI-Disease's test split.
func ncbiCorpus(t testing.TB, n int) *corpus.Corpus {
	t.Helper()
	c, err := corpus.ReadFile(filepath.Join(ortSharedDir(t), "data", "NCBI-Disease", "test.tsv"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(c.Sentences), n)
	c.Sentences = c.Sentences[:n]
	return c
}
