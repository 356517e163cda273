package tagger

import (
	"fmt"
	"math/rand"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/onnx"
	"github.com/openmed/openmed/core/tensor"
)

// BenchmarkORTFixture is the latency of one Logits call on each shared
// fixture's [2,12] batch (1 intra-op thread).
func BenchmarkORTFixture(b *testing.B) {
	ortRequire(b)
	for _, arch := range []string{"bert", "electra", "deberta_v3"} {
		b.Run(arch, func(b *testing.B) {
			fx := filepath.Join(ortSharedDir(b), "fixtures", arch)
			out := b.TempDir()
			_, err := onnx.Export(fx, out, onnx.ExportOptions{})
			require.NoError(b, err)
			c := ortLoadCase(b, filepath.Join(fx, "case.json"))
			be, err := NewORT(out, ORTOptions{IntraOpThreads: 1})
			require.NoError(b, err)
			defer be.Close()
			ids, mask, types := c.Inputs.InputIDs.rows(b), c.Inputs.AttentionMask.rows(b), c.Inputs.TokenTypeIDs.rows(b)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := be.Logits(ids, mask, types); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// ortSyntheticBERT writes a random BertForTokenClassification with the given
// sizes (weights N(0, 0.02²)) as an HF folder and returns it.
func ortSyntheticBERT(b *testing.B, hidden, layers, heads, inter, vocab, labels int) string {
	dir := b.TempDir()
	cfg := &checkpoint.Config{
		ModelType: checkpoint.ModelBERT, VocabSize: vocab, HiddenSize: hidden, NumHiddenLayers: layers,
		NumAttentionHeads: heads, IntermediateSize: inter, HiddenAct: checkpoint.ActGELU,
		MaxPositionEmbeddings: 512, TypeVocabSize: 2, LayerNormEps: 1e-12, ID2Label: map[int]string{},
		Label2ID: map[string]int{},
	}
	for i := 0; i < labels; i++ {
		cfg.ID2Label[i] = fmt.Sprintf("L%d", i)
		cfg.Label2ID[fmt.Sprintf("L%d", i)] = i
	}
	rng := rand.New(rand.NewSource(1))
	w := map[string]*tensor.Tensor{}
	add := func(name string, shape ...int) {
		t := tensor.New(shape...)
		for i := range t.Data {
			t.Data[i] = float32(rng.NormFloat64() * 0.02)
		}
		w[name] = t
	}
	add("bert.embeddings.word_embeddings.weight", vocab, hidden)
	add("bert.embeddings.position_embeddings.weight", 512, hidden)
	add("bert.embeddings.token_type_embeddings.weight", 2, hidden)
	ln := func(p string) { add(p+".weight", hidden); add(p+".bias", hidden) }
	ln("bert.embeddings.LayerNorm")
	for l := 0; l < layers; l++ {
		p := fmt.Sprintf("bert.encoder.layer.%d.", l)
		for _, m := range []string{"attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"} {
			add(p+m+".weight", hidden, hidden)
			add(p+m+".bias", hidden)
		}
		ln(p + "attention.output.LayerNorm")
		add(p+"intermediate.dense.weight", inter, hidden)
		add(p+"intermediate.dense.bias", inter)
		add(p+"output.dense.weight", hidden, inter)
		add(p+"output.dense.bias", hidden)
		ln(p + "output.LayerNorm")
	}
	add("classifier.weight", labels, hidden)
	add("classifier.bias", labels)
	require.NoError(b, cfg.Save(dir))
	require.NoError(b, checkpoint.WriteSafetensors(filepath.Join(dir, "model.safetensors"), w, map[string]string{"format": "pt"}))
	out := filepath.Join(dir, "export")
	_, err := onnx.Export(dir, out, onnx.ExportOptions{})
	require.NoError(b, err)
	return out
}

// BenchmarkORTBertBase is one 256-token window (the paper's window size)
// through a BERT-base-shaped model (768 hidden, 12 layers, 12 heads, 3072 FFN,
// 30522 vocab, 5 labels) at batch 1 and 8, with 1 and 2 intra-op threads.
// Random weights: only speed is measured here. The model is built once
// (about 20 s: random weights, safetensors, export).
func BenchmarkORTBertBase(b *testing.B) {
	ortRequire(b)
	dir := ortSyntheticBERT(b, 768, 12, 12, 3072, 30522, 5)
	const seq = 256
	for _, batch := range []int{1, 8} {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("batch=%d/threads=%d", batch, threads), func(b *testing.B) {
				be, err := NewORT(dir, ORTOptions{IntraOpThreads: threads})
				require.NoError(b, err)
				defer be.Close()
				ids, mask := make([][]int64, batch), make([][]int64, batch)
				for i := range ids {
					ids[i], mask[i] = make([]int64, seq), make([]int64, seq)
					for j := range ids[i] {
						ids[i][j], mask[i][j] = int64((i*seq+j)%30000+100), 1
					}
				}
				_, err = be.Logits(ids, mask, nil) // warm-up
				require.NoError(b, err)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, err := be.Logits(ids, mask, nil); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N*batch), "ms/window")
			})
		}
	}
}
