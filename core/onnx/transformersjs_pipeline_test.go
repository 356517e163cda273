package onnx_test

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/onnx"
	"github.com/openmed/openmed/core/tagger"
	"github.com/openmed/openmed/core/tensor"
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
	require.NoError(t, os.MkdirAll(dir, 0o755))
	labels := []string{"O", "B-Disease", "I-Disease"}
	f := false
	cfg := &checkpoint.Config{
		ModelType: arch, VocabSize: vocab, HiddenSize: 32, NumHiddenLayers: 2, NumAttentionHeads: 4, IntermediateSize: 64,
		HiddenAct: checkpoint.ActGELU, MaxPositionEmbeddings: 512, TypeVocabSize: 2, LayerNormEps: 1e-12,
		ID2Label: map[int]string{}, Label2ID: map[string]int{},
	}
	prefix := "bert"
	if arch == checkpoint.ModelDebertaV2 {
		prefix = "deberta"
		cfg.TypeVocabSize, cfg.LayerNormEps = 0, 1e-7
		cfg.RelativeAttention, cfg.PositionBuckets, cfg.MaxRelativePositions = true, 8, -1
		cfg.NormRelEbd, cfg.ShareAttKey, cfg.PosAttType, cfg.PositionBiasedInput = "layer_norm", true, []string{"p2c", "c2p"}, &f
	}
	for i, l := range labels {
		cfg.ID2Label[i], cfg.Label2ID[l] = l, i
	}
	require.NoError(t, cfg.Save(dir))
	rng := rand.New(rand.NewSource(7))
	w := map[string]*tensor.Tensor{}
	add := func(name string, scale float64, shape ...int) {
		x := tensor.New(shape...)
		for i := range x.Data {
			x.Data[i] = float32(rng.NormFloat64() * scale)
		}
		w[name] = x
	}
	ln := func(p string) { add(p+".weight", 0.1, 32); add(p+".bias", 0.1, 32) }
	add(prefix+".embeddings.word_embeddings.weight", 0.5, vocab, 32)
	ln(prefix + ".embeddings.LayerNorm")
	qkv := []string{"attention.self.query", "attention.self.key", "attention.self.value"}
	if arch == checkpoint.ModelDebertaV2 {
		qkv = []string{"attention.self.query_proj", "attention.self.key_proj", "attention.self.value_proj"}
		add("deberta.encoder.rel_embeddings.weight", 0.5, 16, 32)
		ln("deberta.encoder.LayerNorm")
	} else {
		add("bert.embeddings.position_embeddings.weight", 0.5, 512, 32)
		add("bert.embeddings.token_type_embeddings.weight", 0.5, 2, 32)
	}
	for l := 0; l < 2; l++ {
		p := fmt.Sprintf("%s.encoder.layer.%d.", prefix, l)
		for _, m := range append(qkv, "attention.output.dense") {
			add(p+m+".weight", 0.2, 32, 32)
			add(p+m+".bias", 0.1, 32)
		}
		ln(p + "attention.output.LayerNorm")
		add(p+"intermediate.dense.weight", 0.2, 64, 32)
		add(p+"intermediate.dense.bias", 0.1, 64)
		add(p+"output.dense.weight", 0.2, 32, 64)
		add(p+"output.dense.bias", 0.1, 32)
		ln(p + "output.LayerNorm")
	}
	add("classifier.weight", 1, len(labels), 32)
	add("classifier.bias", 0.1, len(labels))
	require.NoError(t, checkpoint.WriteSafetensors(filepath.Join(dir, "model.safetensors"), w, map[string]string{"format": "pt"}))
	entries, err := os.ReadDir(tokDir)
	require.NoError(t, err)
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(tokDir, e.Name()))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, e.Name()), data, 0o644))
	}
	return dir
}

// TestTransformersJSPipelineAgreesWithORT exports models that carry the real
// PubMedBERT (WordPiece) and DeBERTa-v3 (Unigram) tokenizers, runs transformers.js's token-classification
// pipeline on it (tokenizer.json + config.json id2label + onnx/model.onnx),
// and checks that its logits for the ids its tokenizer produced equal those
// of openmed's ORT backend within 1e-4.
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
			checkPipeline(t, node, script, out, tc.cls, tc.sep)
		})
	}
}

// checkPipeline runs pipeline_check.mjs on an export and compares its logits
// with openmed's ORT backend on the ids transformers.js's tokenizer produced.
func checkPipeline(t *testing.T, node, script, out string, cls, sep int64) {
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
	maxDiff := 0.0
	for i, v := range js.Logits {
		maxDiff = math.Max(maxDiff, math.Abs(v-float64(got.Data[i])))
	}
	t.Logf("%d tokens; transformers.js vs openmed ORT max |Δlogits| = %.3g", n, maxDiff)
	assert.LessOrEqual(t, maxDiff, 1e-4)
}
