package search

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/corpus"
	"github.com/openmed/openmed/core/model"
	"github.com/openmed/openmed/core/tokenize"
	"github.com/openmed/openmed/internal/testutil"
	"github.com/stretchr/testify/require"
)

// sharedDir returns ../shared beside the repository root (the dir holding go.mod),
// skipping when it is absent.
func sharedDir(t *testing.T) string {
	return testutil.SharedDir(t)
}

// tinyBase writes a 1-layer, 32-hidden BERT base folder (model.New, seed 1) with the
// real PubMedBERT tokenizer into dir.
func tinyBase(t *testing.T, dir string) string {
	t.Helper()
	tokDir := filepath.Join(sharedDir(t), "tokenizers", "pubmedbert-abstract")
	tok, err := tokenize.Load(tokDir)
	require.NoError(t, err)
	cfg, err := checkpoint.ParseConfig([]byte(fmt.Sprintf(`{"architectures":["BertForMaskedLM"],"model_type":"bert",
	"vocab_size":%d,"hidden_size":32,"num_hidden_layers":1,"num_attention_heads":2,"intermediate_size":64,
	"hidden_act":"gelu","hidden_dropout_prob":0.1,"attention_probs_dropout_prob":0.1,"max_position_embeddings":512,
	"type_vocab_size":2,"layer_norm_eps":1e-12,"initializer_range":0.02,"pad_token_id":0}`, tok.VocabSize())))
	require.NoError(t, err)
	m, err := model.New(cfg, model.MaskedLM, 1)
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, cfg.Save(filepath.Join(dir, "config.json")))
	require.NoError(t, checkpoint.WriteSafetensors(filepath.Join(dir, "model.safetensors"), m.StateDict(), nil))
	_, err = tokenize.CopyFiles(tokDir, dir)
	require.NoError(t, err)
	return dir
}

// subset writes the first n sentences of an NCBI-Disease split into dir.
func subset(t *testing.T, dir, split string, n int) string {
	t.Helper()
	c, err := corpus.ReadFile(filepath.Join(sharedDir(t), "data", "NCBI-Disease", split+".tsv"))
	require.NoError(t, err)
	p := filepath.Join(dir, split+".tsv")
	require.NoError(t, corpus.WriteFile(p, c.Sentences[:min(n, len(c.Sentences))]))
	return p
}

// tinySetup writes the tiny base and 100/40/40-sentence NCBI subsets into dir and
// returns the search options (2 epochs, 1 thread, seed 7).
func tinySetup(t *testing.T, dir string, trials int) Options {
	t.Helper()
	o := DefaultOptions()
	o.Train.Base = tinyBase(t, filepath.Join(dir, "base"))
	o.Train.Train = subset(t, dir, "train", 100)
	o.Train.Dev = subset(t, dir, "devel", 40)
	o.Train.Test = subset(t, dir, "test", 40)
	o.Train.Epochs, o.Train.Threads, o.Train.Seed = 2, 1, 7
	o.Dir = filepath.Join(dir, "search")
	o.Trials = trials
	o.Study.Sampler.Seed = 7
	return o
}
