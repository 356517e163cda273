// Package deberta_test proves the DeBERTa-v3 encoder goes through the whole
// stack a BERT does: LoRA training, adapter merge, ONNX export, tagging with
// ONNX Runtime and with the Go engine, and LoRA domain-adaptive pre-training.
package deberta_test

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/corpus"
	"github.com/openmed/openmed/core/lora"
	"github.com/openmed/openmed/core/model"
	"github.com/openmed/openmed/core/onnx"
	"github.com/openmed/openmed/core/tagger"
	"github.com/openmed/openmed/core/tokenize"
	"github.com/openmed/openmed/internal/testutil"
	"github.com/openmed/openmed/internal/testutil/tinymodel"
	"github.com/openmed/openmed/training"
	"github.com/openmed/openmed/training/dapt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tinyDeBERTaBase writes a DeBERTa-v3-shaped masked-LM base (the fields of
// ../shared/fixtures/deberta_v3/config.json, 1 layer, hidden 32, vocab = the
// real deberta-v3 tokenizer's size) with the tokenizer files into dir.
func tinyDeBERTaBase(t *testing.T, shared, dir string) (string, *tokenize.Tokenizer) {
	t.Helper()
	tok, err := tinymodel.DeBERTaV3Base(dir, filepath.Join(shared, "tokenizers", "deberta-v3"))
	require.NoError(t, err)
	return dir, tok
}

// ncbi returns the first n sentences of an NCBI-Disease split.
func ncbi(t *testing.T, shared, split string, n int) []corpus.Sentence {
	t.Helper()
	c, err := corpus.ReadFile(filepath.Join(shared, "data", "NCBI-Disease", split+".tsv"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(c.Sentences), n)
	return c.Sentences[:n]
}

// readJSON decodes a JSON file into a map.
func readJSON(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var v map[string]any
	require.NoError(t, json.Unmarshal(b, &v), path)
	return v
}

// openTagger opens the exported folder with one backend; ORT being absent
// skips (fails under CI=true, where make setup installs it).
func openTagger(t *testing.T, dir string, b tagger.BackendKind, cache string) *tagger.Tagger {
	t.Helper()
	tg, err := tagger.Open(dir, tagger.WithBackend(b), tagger.WithThreads(1), tagger.WithCacheDir(cache))
	if err != nil && b == tagger.BackendORT && strings.Contains(strings.ToLower(err.Error()), "onnxruntime") {
		testutil.Missing(t, "ONNX Runtime unavailable (run `make setup`): "+err.Error())
	}
	require.NoError(t, err, "tagger.Open backend %v", b)
	t.Cleanup(func() { _ = tg.Close() })
	require.Equal(t, b, tg.Backend())
	return tg
}

// scoreTol is the tolerance for word and entity scores of the token
// classifier in dir computed by two float32 paths whose sums run in
// different orders: the reordering bound of the DeBERTa encoder's path at
// the longest of texts (with each layer's relative-position projection,
// c2p and p2c scores and the relative embeddings' LayerNorm; with
// loraRank > 0, each layer's unmerged LoRA down- and up-projection and
// scale-and-add), relative to the largest |logit| (softmax's Jacobian is at
// most 1 in the max norm and scores average probabilities).
func scoreTol(t *testing.T, dir string, tok *tokenize.Tokenizer, texts []string, loraRank int) float64 {
	t.Helper()
	m, err := model.Load(dir, model.TokenClassification)
	require.NoError(t, err)
	m.SetTraining(false)
	scale, seq := 1.0, 0
	for _, s := range texts {
		enc, err := tok.Encode(s)
		require.NoError(t, err)
		mask := make([]float32, enc.Len())
		for i := range mask {
			mask[i] = 1
		}
		lg, err := m.Forward(&model.Batch{Batch: 1, SeqLen: enc.Len(), InputIDs: enc.IDs, AttentionMask: mask})
		require.NoError(t, err)
		for _, v := range lg.Data {
			scale = math.Max(scale, math.Abs(float64(v)))
		}
		seq = max(seq, enc.Len())
	}
	c := m.Config
	H, heads := c.HiddenSize, c.NumAttentionHeads
	red := append(testutil.EncoderReductions(c.NumHiddenLayers, H, heads, c.IntermediateSize, seq), H)
	for range c.NumHiddenLayers {
		red = append(red, H, H/heads, H/heads)
		if loraRank > 0 {
			red = append(red, H, loraRank, 2)
		}
	}
	tol := testutil.ReorderTol(red...) * scale
	t.Logf("score tolerance %.3g (max |logit| %.2f, longest text %d tokens, LoRA rank %d)", tol, scale, seq, loraRank)
	return tol
}

func TestDeBERTaV3EndToEnd(t *testing.T) {
	shared := testutil.SharedDir(t, "tokenizers", "deberta-v3")
	testutil.SharedDir(t, "data", "NCBI-Disease")
	tmp := t.TempDir()
	base, _ := tinyDeBERTaBase(t, shared, filepath.Join(tmp, "base"))
	ctx := context.Background()

	// 1. LoRA training with the paper's default targets.
	trainPath := filepath.Join(tmp, "train.tsv")
	require.NoError(t, corpus.WriteFile(trainPath, ncbi(t, shared, "train", 100)))
	cfg := training.DefaultConfig()
	cfg.Base, cfg.Train, cfg.Out = base, trainPath, filepath.Join(tmp, "adapter")
	cfg.Epochs, cfg.Threads, cfg.LR, cfg.Seed = 1, 1, 5e-3, 3
	res, err := training.Train(ctx, cfg)
	require.NoError(t, err)
	require.NotNil(t, res.Adapter)
	assert.ElementsMatch(t, []string{"query_proj", "value_proj"}, res.Adapter.Config.TargetModules)
	assert.Len(t, res.Adapter.Names, 2, "one query_proj and one value_proj in the single layer: %v", res.Adapter.Names)
	assert.Greater(t, res.Loop.Steps, 0)

	ac := readJSON(t, filepath.Join(cfg.Out, "adapter_config.json"))
	assert.Equal(t, "TOKEN_CLS", ac["task_type"])
	assert.ElementsMatch(t, []any{"query_proj", "value_proj"}, ac["target_modules"])
	ta := readJSON(t, filepath.Join(cfg.Out, "training_args.json"))
	require.IsType(t, map[string]any{}, ta["lora"])
	assert.ElementsMatch(t, []any{"query_proj", "value_proj"}, ta["lora"].(map[string]any)["target_modules"], "training_args.json records the adapted modules")
	cj := readJSON(t, filepath.Join(cfg.Out, checkpoint.ConfigFile))
	assert.Equal(t, []any{"DebertaV2ForTokenClassification"}, cj["architectures"])
	assert.Equal(t, "deberta-v2", cj["model_type"])

	// 2. Merge the adapter, export the merged folder to ONNX.
	merged := filepath.Join(tmp, "merged")
	_, err = lora.MergeAdapter(base, cfg.Out, merged, lora.Merge)
	require.NoError(t, err)
	mj := readJSON(t, filepath.Join(merged, checkpoint.ConfigFile))
	assert.Equal(t, []any{"DebertaV2ForTokenClassification"}, mj["architectures"])
	exported := filepath.Join(tmp, "onnx-model")
	_, err = onnx.Export(merged, exported, onnx.ExportOptions{})
	require.NoError(t, err)
	require.FileExists(t, filepath.Join(exported, "onnx", "model.onnx"))

	// 3. ORT and the Go engine agree on 20 test sentences.
	var texts []string
	for _, s := range ncbi(t, shared, "test", 20) {
		texts = append(texts, strings.Join(s.Words(), " "))
	}
	cache := filepath.Join(tmp, "cache")
	ort := openTagger(t, exported, tagger.BackendORT, cache)
	eng := openTagger(t, merged, tagger.BackendEngine, cache)
	assert.Equal(t, ort.Labels(), eng.Labels())
	oe, err := ort.TagBatch(ctx, texts)
	require.NoError(t, err)
	ee, err := eng.TagBatch(ctx, texts)
	require.NoError(t, err)
	// ONNX Runtime's kernels and ours sum in different orders: the
	// reordering bound of the encoder, relative to the logits.
	tol := scoreTol(t, merged, eng.Tokenizer(), texts, 0)
	require.Len(t, oe, len(texts))
	require.Len(t, ee, len(texts))
	nTok, nEnt := 0, 0
	for i, text := range texts {
		require.Len(t, ee[i], len(oe[i]), "sentence %d entities: ort %v engine %v", i, oe[i], ee[i])
		for j := range oe[i] {
			o, e := oe[i][j], ee[i][j]
			assert.Equal(t, o.Label, e.Label, "sentence %d entity %d", i, j)
			assert.Equal(t, [2]int{o.Start, o.End}, [2]int{e.Start, e.End}, "sentence %d entity %d", i, j)
			assert.InDelta(t, o.Score, e.Score, tol, "sentence %d entity %d", i, j)
		}
		nEnt += len(oe[i])
		// Word-level tags and scores compare the logits even where no entity is predicted.
		ot, err := ort.TagTokens(ctx, text)
		require.NoError(t, err)
		et, err := eng.TagTokens(ctx, text)
		require.NoError(t, err)
		require.Len(t, et, len(ot))
		for j := range ot {
			assert.Equal(t, ot[j].Tag, et[j].Tag, "sentence %d word %d %q", i, j, ot[j].Text)
			assert.InDelta(t, ot[j].Score, et[j].Score, tol, "sentence %d word %d", i, j)
		}
		nTok += len(ot)
	}
	require.Greater(t, nTok, 100)

	// The adapter folder itself (merged on the fly for ORT, attached to the
	// base for the engine) tags like the merged model: ORT's kernels or the
	// unmerged LoRA path, so the reordering bound with the LoRA path.
	atol := scoreTol(t, merged, eng.Tokenizer(), texts, res.Adapter.Config.R)
	for _, b := range []tagger.BackendKind{tagger.BackendORT, tagger.BackendEngine} {
		tg, err := tagger.Open(cfg.Out, tagger.WithBaseDir(base), tagger.WithBackend(b), tagger.WithThreads(1), tagger.WithCacheDir(cache))
		require.NoError(t, err, "adapter folder, backend %v", b)
		ae, err := tg.TagBatch(ctx, texts)
		require.NoError(t, tg.Close())
		require.NoError(t, err)
		for i := range texts {
			require.Len(t, ae[i], len(ee[i]), "backend %v sentence %d", b, i)
			for j := range ae[i] {
				assert.Equal(t, ee[i][j].Label, ae[i][j].Label)
				assert.Equal(t, [2]int{ee[i][j].Start, ee[i][j].End}, [2]int{ae[i][j].Start, ae[i][j].End})
				assert.InDelta(t, ee[i][j].Score, ae[i][j].Score, atol)
			}
		}
	}
	t.Logf("20 sentences: %d words, %d entities, ORT and engine agree", nTok, nEnt)

	// 4. DAPT with LoRA on the base: runs and reports held-out loss.
	var lines []string
	for _, s := range ncbi(t, shared, "train", 200) {
		lines = append(lines, strings.Join(s.Words(), " "))
	}
	textPath := filepath.Join(tmp, "text.txt")
	require.NoError(t, os.WriteFile(textPath, []byte(strings.Join(lines, "\n")+"\n"), 0o644))
	dc := dapt.DefaultConfig()
	dc.Text, dc.Base, dc.Out = []string{textPath}, base, filepath.Join(tmp, "dapt")
	dc.Method, dc.LR, dc.BatchSize, dc.BlockLen, dc.HeldOut, dc.Threads = training.MethodLoRA, 5e-3, 4, 64, 0.1, 1
	dr, err := dapt.Run(ctx, dc)
	require.NoError(t, err)
	assert.Greater(t, dr.Before.Masked, 0)
	assert.Equal(t, dr.Before.Masked, dr.After.Masked, "held-out masks are fixed")
	require.False(t, math.IsNaN(dr.After.Loss) || math.IsInf(dr.After.Loss, 0))
	assert.LessOrEqual(t, dr.After.Loss, dr.Before.Loss, "held-out loss must not rise (best weights kept)")
	t.Logf("DAPT LoRA: %d train / %d held-out blocks, held-out loss %.4f → %.4f", dr.TrainBlocks, dr.HeldOutBlocks, dr.Before.Loss, dr.After.Loss)
	da := readJSON(t, filepath.Join(dc.Out, "training_args.json"))
	require.IsType(t, map[string]any{}, da["lora"])
	assert.ElementsMatch(t, []any{"query_proj", "value_proj"}, da["lora"].(map[string]any)["target_modules"])
	dcj := readJSON(t, filepath.Join(dc.Out, checkpoint.ConfigFile))
	assert.Equal(t, "deberta-v2", dcj["model_type"])
	assert.Equal(t, []any{"DebertaV2ForMaskedLM"}, dcj["architectures"])
}
