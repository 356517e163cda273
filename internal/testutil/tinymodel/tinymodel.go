// Package tinymodel writes small random-init Hugging Face token classifiers
// (2 layers, hidden 32, 4 heads, FFN 64) whose vocabulary is a real
// tokenizer, with that tokenizer's files beside them: stand-ins for trained
// taggers in tests, since no pretrained weights exist here.
//
// It is separate from testutil because it imports core/checkpoint, whose own
// tests import testutil.
package tinymodel

import (
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/tensor"
)

// Sizes of every tiny model.
const (
	Hidden       = 32
	Layers       = 2
	Heads        = 4
	Intermediate = 64
)

// Options describe a tiny model.
type Options struct {
	// Arch is checkpoint.ModelBERT (BertForTokenClassification) or
	// checkpoint.ModelDebertaV2 (DebertaV2ForTokenClassification with
	// DeBERTa-v3's relative attention: 8 position buckets, layer-normed
	// shared relative embeddings, p2c|c2p, no absolute positions).
	Arch checkpoint.ModelType
	// Vocab is the vocabulary size of the tokenizer in TokenizerDir.
	Vocab int
	// TokenizerDir holds the tokenizer files (tokenizer.json, vocab.txt,
	// spm.model, tokenizer_config.json …); every file in it is copied.
	TokenizerDir string
	// Labels are the BIO labels, by class index (config.json id2label).
	Labels []string
	// Seed seeds the weights (math/rand, normal draws in a fixed order).
	Seed int64
	// LayerNormGamma is the mean of the LayerNorm weights, drawn as
	// LayerNormGamma + N(0, 0.1²).
	LayerNormGamma float32
	// ClassifierStd and ClassifierBiasStd are the standard deviations of
	// classifier.weight and classifier.bias (larger ones make predictions
	// vary across labels instead of being near uniform).
	ClassifierStd, ClassifierBiasStd float64
}

// Write writes config.json, model.safetensors (float32, metadata
// {"format":"pt"}) and the tokenizer's files into dir, creating it, and
// returns the weights it wrote.
func Write(dir string, o Options) (map[string]*tensor.Tensor, error) {
	if o.Arch != checkpoint.ModelBERT && o.Arch != checkpoint.ModelDebertaV2 {
		return nil, fmt.Errorf("tinymodel: arch %q: want %q or %q", o.Arch, checkpoint.ModelBERT, checkpoint.ModelDebertaV2)
	}
	if o.Vocab <= 0 || len(o.Labels) == 0 {
		return nil, errors.New("tinymodel: Vocab and Labels are required")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := config(o).Save(dir); err != nil {
		return nil, err
	}
	w := weights(o)
	if err := checkpoint.WriteSafetensors(filepath.Join(dir, "model.safetensors"), w, map[string]string{"format": "pt"}); err != nil {
		return nil, err
	}
	if err := copyFiles(o.TokenizerDir, dir); err != nil {
		return nil, err
	}
	return w, nil
}

// config is the model's config.json.
func config(o Options) *checkpoint.Config {
	cfg := &checkpoint.Config{
		ModelType: o.Arch, Architectures: []string{"BertForTokenClassification"}, VocabSize: o.Vocab, HiddenSize: Hidden,
		NumHiddenLayers: Layers, NumAttentionHeads: Heads, IntermediateSize: Intermediate, HiddenAct: checkpoint.ActGELU,
		MaxPositionEmbeddings: 512, TypeVocabSize: 2, LayerNormEps: 1e-12, InitializerRange: 0.02,
		ID2Label: map[int]string{}, Label2ID: map[string]int{},
	}
	if o.Arch == checkpoint.ModelDebertaV2 {
		f := false
		cfg.Architectures = []string{"DebertaV2ForTokenClassification"}
		cfg.TypeVocabSize, cfg.LayerNormEps = 0, 1e-7
		cfg.RelativeAttention, cfg.PositionBuckets, cfg.MaxRelativePositions = true, 8, -1
		cfg.NormRelEbd, cfg.ShareAttKey, cfg.PosAttType, cfg.PositionBiasedInput = "layer_norm", true, []string{"p2c", "c2p"}, &f
	}
	for i, l := range o.Labels {
		cfg.ID2Label[i], cfg.Label2ID[l] = l, i
	}
	return cfg
}

// weights draws the model's tensors under their Hugging Face names.
func weights(o Options) map[string]*tensor.Tensor {
	rng := rand.New(rand.NewSource(o.Seed))
	w := map[string]*tensor.Tensor{}
	add := func(name string, scale float64, shape ...int) {
		x := tensor.New(shape...)
		for i := range x.Data {
			x.Data[i] = float32(rng.NormFloat64() * scale)
		}
		w[name] = x
	}
	ln := func(p string) {
		add(p+".weight", 0.1, Hidden)
		for i := range w[p+".weight"].Data {
			w[p+".weight"].Data[i] += o.LayerNormGamma
		}
		add(p+".bias", 0.1, Hidden)
	}
	prefix := "bert"
	qkv := []string{"attention.self.query", "attention.self.key", "attention.self.value"}
	if o.Arch == checkpoint.ModelDebertaV2 {
		prefix = "deberta"
		qkv = []string{"attention.self.query_proj", "attention.self.key_proj", "attention.self.value_proj"}
	}
	add(prefix+".embeddings.word_embeddings.weight", 0.5, o.Vocab, Hidden)
	if o.Arch == checkpoint.ModelDebertaV2 {
		ln("deberta.embeddings.LayerNorm")
		add("deberta.encoder.rel_embeddings.weight", 0.5, 16, Hidden)
		ln("deberta.encoder.LayerNorm")
	} else {
		add("bert.embeddings.position_embeddings.weight", 0.5, 512, Hidden)
		add("bert.embeddings.token_type_embeddings.weight", 0.5, 2, Hidden)
		ln("bert.embeddings.LayerNorm")
	}
	for l := 0; l < Layers; l++ {
		p := fmt.Sprintf("%s.encoder.layer.%d.", prefix, l)
		for _, m := range append(qkv, "attention.output.dense") {
			add(p+m+".weight", 0.2, Hidden, Hidden)
			add(p+m+".bias", 0.1, Hidden)
		}
		ln(p + "attention.output.LayerNorm")
		add(p+"intermediate.dense.weight", 0.2, Intermediate, Hidden)
		add(p+"intermediate.dense.bias", 0.1, Intermediate)
		add(p+"output.dense.weight", 0.2, Hidden, Intermediate)
		add(p+"output.dense.bias", 0.1, Hidden)
		ln(p + "output.LayerNorm")
	}
	add("classifier.weight", o.ClassifierStd, len(o.Labels), Hidden)
	add("classifier.bias", o.ClassifierBiasStd, len(o.Labels))
	return w
}

// copyFiles copies every regular file of src into dst.
func copyFiles(src, dst string) error {
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
