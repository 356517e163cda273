package training

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/model"
	"github.com/openmed/openmed/core/tokenize"
	"github.com/stretchr/testify/require"
)

// BenchmarkTrainThroughput measures LoRA training throughput (input tokens
// per second, evaluation excluded) of a 4-layer, 256-hidden BERT with the
// PubMedBERT vocabulary on the first 512 NCBI-Disease training sentences,
// one epoch of batch 16 per iteration:
//
//	go test ./training -run '^$' -bench TrainThroughput -benchtime 1x
func BenchmarkTrainThroughput(b *testing.B) {
	for _, method := range []Method{MethodLoRA, MethodFull} {
		b.Run(method.String(), func(b *testing.B) {
			base := benchBase(b, 4, 256, 4, 1024)
			train := ncbiSubset(b, "train", 512)
			for i := 0; i < b.N; i++ {
				cfg := DefaultConfig()
				cfg.Base, cfg.Train, cfg.Out = base, train, b.TempDir()
				cfg.Method = method
				cfg.Epochs = 1
				res, err := Train(context.Background(), cfg)
				require.NoError(b, err)
				b.ReportMetric(res.Loop.TokensPerSec, "tokens/s")
				b.ReportMetric(float64(res.Loop.Steps), "steps")
			}
		})
	}
}

func benchBase(b testing.TB, layers, hidden, heads, ffn int) string {
	tok, tokDir := pubmedTokenizer(b)
	cfg, err := checkpoint.ParseConfig([]byte(fmt.Sprintf(`{"architectures":["BertForMaskedLM"],"model_type":"bert",
	"vocab_size":%d,"hidden_size":%d,"num_hidden_layers":%d,"num_attention_heads":%d,"intermediate_size":%d,
	"hidden_act":"gelu","hidden_dropout_prob":0.1,"attention_probs_dropout_prob":0.1,"max_position_embeddings":512,
	"type_vocab_size":2,"layer_norm_eps":1e-12,"initializer_range":0.02,"pad_token_id":0}`, tok.VocabSize(), hidden, layers, heads, ffn)))
	require.NoError(b, err)
	m, err := model.New(cfg, model.MaskedLM, 3)
	require.NoError(b, err)
	dir := b.TempDir()
	require.NoError(b, cfg.Save(filepath.Join(dir, "config.json")))
	require.NoError(b, checkpoint.WriteSafetensors(filepath.Join(dir, "model.safetensors"), m.StateDict(), nil))
	_, err = tokenize.CopyFiles(tokDir, dir)
	require.NoError(b, err)
	return dir
}
