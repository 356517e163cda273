package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/model"
	"github.com/openmed/openmed/core/tokenize"
	"github.com/openmed/openmed/training"
	"github.com/openmed/openmed/training/dapt"
)

// scratchConfig is the BertConfig dapt.Run builds for a from-scratch run
// (same fields and values), so model.New with the same seed gives the
// pre-training's step-0 weights.
func scratchConfig(s dapt.Scratch, tok *tokenize.Tokenizer) (*checkpoint.Config, error) {
	maxPos := s.MaxPositions
	if maxPos == 0 {
		maxPos = 512
	}
	pad := tok.Special().PAD
	if pad < 0 {
		pad = 0
	}
	return checkpoint.ParseConfig([]byte(fmt.Sprintf(`{"architectures":["BertForMaskedLM"],"model_type":"bert",
"vocab_size":%d,"hidden_size":%d,"num_hidden_layers":%d,"num_attention_heads":%d,"intermediate_size":%d,
"hidden_act":"gelu","hidden_dropout_prob":0.1,"attention_probs_dropout_prob":0.1,"max_position_embeddings":%d,
"type_vocab_size":2,"layer_norm_eps":1e-12,"initializer_range":0.02,"pad_token_id":%d,"position_embedding_type":"absolute"}`,
		tok.VocabSize(), s.Hidden, s.Layers, s.Heads, s.FFN, maxPos, pad)))
}

// SaveRandomInit writes an HF BertForMaskedLM folder (config.json,
// model.safetensors, tokenizer files) holding HF's from-scratch
// initialisation (model.New, seed) of the recipe's encoder: the "random
// init" side of the comparison, the same architecture and tokenizer as the
// pre-trained encoder.
func SaveRandomInit(out, tokDir string, s dapt.Scratch, seed uint64) error {
	tok, err := tokenize.Load(tokDir)
	if err != nil {
		return fmt.Errorf("tokenizer: %w", err)
	}
	c, err := scratchConfig(s, tok)
	if err != nil {
		return err
	}
	m, err := model.New(c, model.MaskedLM, seed)
	if err != nil {
		return fmt.Errorf("randinit: %w", err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	if err := checkpoint.WriteSafetensors(filepath.Join(out, checkpoint.SafeWeightsFile), m.StateDict(), map[string]string{"format": "pt"}); err != nil {
		return err
	}
	if err := m.Config.Save(filepath.Join(out, checkpoint.ConfigFile)); err != nil {
		return err
	}
	return training.CopyTokenizer(tokDir, out)
}
