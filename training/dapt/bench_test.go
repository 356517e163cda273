package dapt

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/model"
)

// BenchmarkMLMStep compares one masked-LM training step (forward + backward)
// of a 4-layer, 256-hidden BERT with a 28,895-entry vocabulary on a 16×256
// batch with 15% masked positions, computing the decoder on every position
// ("full") or on the masked positions only ("gathered"):
//
//	go test ./training/dapt -run '^$' -bench MLMStep -benchtime 3x
func BenchmarkMLMStep(b *testing.B) {
	cfg, err := checkpoint.ParseConfig([]byte(`{"model_type":"bert","vocab_size":28895,"hidden_size":256,
	"num_hidden_layers":4,"num_attention_heads":4,"intermediate_size":1024,"hidden_act":"gelu",
	"max_position_embeddings":512,"type_vocab_size":2,"layer_norm_eps":1e-12,"initializer_range":0.02}`))
	require.NoError(b, err)
	const B, L = 16, 256
	r := rand.New(rand.NewPCG(1, 1))
	batch := &model.Batch{Batch: B, SeqLen: L, InputIDs: make([]int32, B*L)}
	var pos []int
	for i := range batch.InputIDs {
		batch.InputIDs[i] = int32(r.IntN(28895))
		if r.Float64() < 0.15 {
			pos = append(pos, i)
		}
	}
	for _, gathered := range []bool{false, true} {
		name := map[bool]string{false: "full", true: "gathered"}[gathered]
		b.Run(name, func(b *testing.B) {
			m, err := model.New(cfg, model.MaskedLM, 1)
			require.NoError(b, err)
			m.SetTraining(true)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if gathered {
					lg, err := m.ForwardMasked(batch, pos)
					require.NoError(b, err)
					require.NoError(b, m.BackwardMasked(lg.Data))
				} else {
					lg, err := m.Forward(batch)
					require.NoError(b, err)
					require.NoError(b, m.Backward(lg.Data))
				}
			}
			b.ReportMetric(float64(B*L*b.N)/b.Elapsed().Seconds(), "tokens/s")
			b.ReportMetric(float64(len(pos)), fmt.Sprintf("masked/%d", B*L))
		})
	}
}
