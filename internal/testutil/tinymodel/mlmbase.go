package tinymodel

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/model"
	"github.com/openmed/openmed/core/tokenize"
)

// DeBERTaV3Config is the config.json of a 1-layer, 32-wide DeBERTa-v3
// masked-LM base: the fields of ../shared/fixtures/deberta_v3/config.json
// (deberta-v3-base's conventions: 256 log position buckets, shared
// layer-normed relative embeddings, p2c|c2p, no absolute positions), with one
// %d for the tokenizer's vocabulary size.
const DeBERTaV3Config = `{"architectures":["DebertaV2ForMaskedLM"],
	"model_type":"deberta-v2","vocab_size":%d,"hidden_size":32,"num_hidden_layers":1,"num_attention_heads":4,
	"intermediate_size":64,"hidden_act":"gelu","hidden_dropout_prob":0.1,"attention_probs_dropout_prob":0.1,
	"initializer_range":0.02,"layer_norm_eps":1e-7,"max_position_embeddings":512,"max_relative_positions":-1,
	"norm_rel_ebd":"layer_norm","pad_token_id":0,"pooler_dropout":0,"pooler_hidden_act":"gelu",
	"pooler_hidden_size":32,"pos_att_type":["p2c","c2p"],"position_biased_input":false,"position_buckets":256,
	"relative_attention":true,"share_att_key":true,"type_vocab_size":0}`

// MLMBase writes a masked-LM base folder into dir (creating it): config.json
// from configFormat (config.json text with one %d for the vocabulary size of
// the tokenizer in tokDir), model.safetensors initialised by model.New with
// seed 1 (Hugging Face's from-scratch init), and the tokenizer's files. It
// returns the tokenizer and the model.
func MLMBase(dir, tokDir, configFormat string) (*tokenize.Tokenizer, *model.Model, error) {
	tok, err := tokenize.Load(tokDir)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := checkpoint.ParseConfig([]byte(fmt.Sprintf(configFormat, tok.VocabSize())))
	if err != nil {
		return nil, nil, fmt.Errorf("tinymodel: config: %w", err)
	}
	m, err := model.New(cfg, model.MaskedLM, 1)
	if err != nil {
		return nil, nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, err
	}
	if err := cfg.Save(filepath.Join(dir, checkpoint.ConfigFile)); err != nil {
		return nil, nil, err
	}
	if err := checkpoint.WriteSafetensors(filepath.Join(dir, checkpoint.SafeWeightsFile), m.StateDict(), map[string]string{"format": "pt"}); err != nil {
		return nil, nil, err
	}
	if err := copyFiles(tokDir, dir); err != nil {
		return nil, nil, err
	}
	return tok, m, nil
}

// DeBERTaV3Base is MLMBase with DeBERTaV3Config; tokDir is normally
// ../shared/tokenizers/deberta-v3 (128,001 pieces). It is an error when the
// model built is not a DeBERTa-v2/v3.
func DeBERTaV3Base(dir, tokDir string) (*tokenize.Tokenizer, error) {
	tok, m, err := MLMBase(dir, tokDir, DeBERTaV3Config)
	if err != nil {
		return nil, err
	}
	if m.Arch != model.DeBERTaV2 {
		return nil, fmt.Errorf("tinymodel: DeBERTaV3Config built a %v model, want DeBERTa-v2", m.Arch)
	}
	return tok, nil
}
