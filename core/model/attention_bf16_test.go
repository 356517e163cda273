package model

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/tensor"
	"github.com/openmed/openmed/internal/testutil"
)

// TestBF16AttentionTracksFP32: a training step's logits and every
// parameter gradient under tensor.BF16 (Linear and attention products in
// bf16, batched over heads) stay within bf16 rounding of the fp32 step,
// for BERT and DeBERTa-v2 (c2p/p2c scores and their gradients), with
// dropout on and padded keys — and differ from it (bf16 is in use).
func TestBF16AttentionTracksFP32(t *testing.T) {
	testutil.RequireBF16(t, tensor.BF16CPU, tensor.BF16Available)
	defer tensor.SetThreads(tensor.Threads())
	tensor.SetThreads(2)
	for _, js := range []string{
		`{"model_type":"bert","vocab_size":60,"hidden_size":32,"num_hidden_layers":2,"num_attention_heads":4,
		"intermediate_size":64,"hidden_act":"gelu","max_position_embeddings":32,"type_vocab_size":2,
		"hidden_dropout_prob":0.1,"attention_probs_dropout_prob":0.1,
		"layer_norm_eps":1e-12,"initializer_range":0.2,"id2label":{"0":"O","1":"B-X","2":"I-X"}}`,
		`{"model_type":"deberta-v2","vocab_size":60,"hidden_size":32,"num_hidden_layers":2,"num_attention_heads":4,
		"intermediate_size":64,"hidden_act":"gelu","max_position_embeddings":32,"type_vocab_size":0,
		"hidden_dropout_prob":0.1,"attention_probs_dropout_prob":0.1,
		"layer_norm_eps":1e-7,"initializer_range":0.2,"relative_attention":true,"position_buckets":8,
		"norm_rel_ebd":"layer_norm","share_att_key":true,"pos_att_type":["p2c","c2p"],"position_biased_input":false,
		"max_relative_positions":-1,"id2label":{"0":"O","1":"B-X","2":"I-X"}}`,
	} {
		cfg, err := checkpoint.ParseConfig([]byte(js))
		require.NoError(t, err)
		B, L := 3, 12
		b := &Batch{Batch: B, SeqLen: L, InputIDs: make([]int32, B*L), AttentionMask: make([]float32, B*L)}
		for i := range b.InputIDs {
			b.InputIDs[i] = int32((i*11 + 5) % 60)
			b.AttentionMask[i] = 1
		}
		for i := 0; i < 4; i++ {
			b.AttentionMask[B*L-1-i] = 0 // the last sequence is padded
		}
		step := func(p tensor.Precision) ([]float32, []*tensor.Param) {
			restore, err := tensor.UsePrecision(p)
			require.NoError(t, err)
			defer restore()
			m, err := New(cfg, TokenClassification, 5)
			require.NoError(t, err)
			m.SetTraining(true)
			m.Seed(9)
			logits, err := m.Forward(b)
			require.NoError(t, err)
			out := append([]float32(nil), logits.Data...)
			dl := make([]float32, len(out))
			for i := range dl {
				dl[i] = float32(math.Sin(float64(i))) // an arbitrary loss gradient
			}
			require.NoError(t, m.Backward(dl))
			return out, m.Params()
		}
		l32, p32 := step(tensor.FP32)
		l16, p16 := step(tensor.BF16)
		var scale, diff float64
		for i := range l32 {
			scale = math.Max(scale, math.Abs(float64(l32[i])))
			diff = math.Max(diff, math.Abs(float64(l32[i]-l16[i])))
		}
		require.Greater(t, diff, 0.0, "%s: bf16 logits equal fp32's: bf16 not used", cfg.ModelType)
		require.Less(t, diff, 0.05*scale, "%s: logits", cfg.ModelType)
		// Relative to the gradient's own norm, with a floor at 1e-3 of the
		// largest: key.bias has an exactly-zero gradient in exact
		// arithmetic (softmax is shift-invariant), so fp32 gives rounding
		// noise there that no relative test can hold.
		norms := make([]float64, len(p32))
		var top float64
		for i := range p32 {
			if p32[i].Grad == nil {
				continue
			}
			for _, g := range p32[i].Grad.Data {
				norms[i] += float64(g) * float64(g)
			}
			norms[i] = math.Sqrt(norms[i])
			top = math.Max(top, norms[i])
		}
		for i := range p32 {
			if p32[i].Grad == nil {
				continue
			}
			var num float64
			for j, g := range p32[i].Grad.Data {
				d := float64(g - p16[i].Grad.Data[j])
				num += d * d
			}
			require.LessOrEqual(t, math.Sqrt(num), 0.08*norms[i]+1e-3*top, "%s: gradient of %s", cfg.ModelType, p32[i].Name)
		}
	}
}
