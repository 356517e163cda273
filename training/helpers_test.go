package training

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/corpus"
	"github.com/openmed/openmed/core/model"
	"github.com/openmed/openmed/core/tensor"
	"github.com/openmed/openmed/core/tokenize"
)

// tinyBase writes a small BERT base folder (HF init, no token-classification
// head) whose vocabulary matches the PubMedBERT tokenizer, so end-to-end
// tests run in seconds.
var initRange, baseDropout = 0.02, 0.0

func tinyBase(t testing.TB, layers, hidden int) string {
	t.Helper()
	tok, tokDir := pubmedTokenizer(t)
	cfg, err := checkpoint.ParseConfig([]byte(fmt.Sprintf(`{"architectures":["BertForMaskedLM"],"model_type":"bert",
	"vocab_size":%d,"hidden_size":%d,"num_hidden_layers":%d,"num_attention_heads":4,"intermediate_size":%d,
	"hidden_act":"gelu","hidden_dropout_prob":%g,"attention_probs_dropout_prob":%g,"max_position_embeddings":512,
	"type_vocab_size":2,"layer_norm_eps":1e-12,"initializer_range":%g,"pad_token_id":0}`, tok.VocabSize(), hidden, layers, 2*hidden, initRange, baseDropout, baseDropout)))
	require.NoError(t, err)
	m, err := model.New(cfg, model.MaskedLM, 11)
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, cfg.Save(filepath.Join(dir, "config.json")))
	require.NoError(t, checkpoint.WriteSafetensors(filepath.Join(dir, "model.safetensors"), m.StateDict(), map[string]string{"format": "pt"}))
	_, err = tokenize.CopyFiles(tokDir, dir)
	require.NoError(t, err)
	return dir
}

// ncbiSubset writes the first n sentences of an NCBI-Disease split.
func ncbiSubset(t testing.TB, split string, n int) string {
	t.Helper()
	c, err := corpus.ReadFile(filepath.Join(sharedDir(t), "data", "NCBI-Disease", split+".tsv"))
	require.NoError(t, err)
	s := c.Sentences
	if len(s) > n {
		s = s[:n]
	}
	p := filepath.Join(t.TempDir(), split+".tsv")
	require.NoError(t, corpus.WriteFile(p, s))
	return p
}

type modelT = model.Model
type tensorT = tensor.Tensor
