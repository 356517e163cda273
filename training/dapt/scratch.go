package dapt

import (
	"encoding/json"
	"fmt"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/model"
	"github.com/openmed/openmed/core/tokenize"
)

// ScratchArch is the family of a from-scratch encoder (Scratch.Arch). The
// zero value is BERT, so existing recipes and training_args.json files keep
// their meaning.
type ScratchArch string

const (
	// ArchBERT is BertForMaskedLM (model_type "bert"): learned absolute
	// positions, token types, post-LN layers (Devlin et al. 2019).
	ArchBERT ScratchArch = "bert"
	// ArchDeBERTaV3 is DebertaV2ForMaskedLM (model_type "deberta-v2") with
	// microsoft/deberta-v3-base's conventions scaled down (He et al. 2021,
	// DeBERTa §3; DeBERTaV3 §4): disentangled relative attention (c2p and
	// p2c, shared keys, log buckets), no absolute position input, no token
	// types. See ScratchConfig for the exact fields.
	ArchDeBERTaV3 ScratchArch = "deberta-v3"
)

// Valid reports whether a is a known ScratchArch ("" means BERT).
func (a ScratchArch) Valid() bool { return a == "" || a == ArchBERT || a == ArchDeBERTaV3 }

// Model is the engine family the architecture builds.
func (a ScratchArch) Model() model.Arch {
	if a == ArchDeBERTaV3 {
		return model.DeBERTaV2
	}
	return model.BERT
}

// String returns the flag value ("bert" for the zero value).
func (a ScratchArch) String() string {
	if a == "" {
		return string(ArchBERT)
	}
	return string(a)
}

// DeBERTaPositionBuckets is position_buckets of the from-scratch DeBERTa-v3
// (deberta-v3-base/-small/-xsmall all use 256): relative distances below
// 128 keep their own embedding, longer ones share log-spaced buckets.
const DeBERTaPositionBuckets = 256

// validateArch checks the architecture and the options that depend on it.
func (s *Scratch) validateArch() error {
	switch {
	case !s.Arch.Valid():
		return fmt.Errorf("dapt: unknown from-scratch architecture %q (want %s or %s)", s.Arch, ArchBERT, ArchDeBERTaV3)
	case s.Arch == ArchDeBERTaV3 && s.PositionInit == PositionSinusoidal:
		return fmt.Errorf("dapt: --position-init %s does not apply to --arch %s: DeBERTa-v3 has no absolute position table "+
			"(position_biased_input false); positions enter through the relative embeddings (rel_embeddings)", PositionSinusoidal, ArchDeBERTaV3)
	}
	return nil
}

// ScratchConfig is the config.json of a from-scratch encoder with the
// tokenizer's vocabulary and padding id: BertForMaskedLM with BertConfig's
// defaults (type_vocab_size 2, layer_norm_eps 1e-12, absolute positions), or
// DebertaV2ForMaskedLM with deberta-v3-base's config.json conventions
// (relative_attention true, position_biased_input false, pos_att_type
// ["p2c","c2p"], max_relative_positions -1, position_buckets 256,
// norm_rel_ebd "layer_norm", share_att_key true, hidden_act gelu,
// layer_norm_eps 1e-7, type_vocab_size 0, pooler fields as
// DebertaV2Config.to_json writes them). Both use initializer_range 0.02 and
// hidden/attention dropout s.Dropout (nil: 0.1).
func ScratchConfig(s Scratch, tok *tokenize.Tokenizer) (*checkpoint.Config, error) {
	maxPos := s.MaxPositions
	if maxPos == 0 {
		maxPos = 512
	}
	pad := tok.Special().PAD
	if pad < 0 {
		pad = 0
	}
	drop := 0.1
	if s.Dropout != nil {
		drop = *s.Dropout
	}
	if s.Arch != ArchDeBERTaV3 {
		return checkpoint.ParseConfig([]byte(fmt.Sprintf(`{"architectures":["BertForMaskedLM"],"model_type":"bert",
"vocab_size":%d,"hidden_size":%d,"num_hidden_layers":%d,"num_attention_heads":%d,"intermediate_size":%d,
"hidden_act":"gelu","hidden_dropout_prob":%g,"attention_probs_dropout_prob":%g,"max_position_embeddings":%d,
"type_vocab_size":2,"layer_norm_eps":1e-12,"initializer_range":0.02,"pad_token_id":%d,"position_embedding_type":"absolute"}`,
			tok.VocabSize(), s.Hidden, s.Layers, s.Heads, s.FFN, drop, drop, maxPos, pad)))
	}
	b, err := json.Marshal(map[string]any{
		"architectures":                []string{maskedLMClass(model.DeBERTaV2)},
		"model_type":                   string(checkpoint.ModelDebertaV2),
		"vocab_size":                   tok.VocabSize(),
		"hidden_size":                  s.Hidden,
		"num_hidden_layers":            s.Layers,
		"num_attention_heads":          s.Heads,
		"intermediate_size":            s.FFN,
		"hidden_act":                   "gelu",
		"hidden_dropout_prob":          drop,
		"attention_probs_dropout_prob": drop,
		"max_position_embeddings":      maxPos,
		"type_vocab_size":              0,
		"layer_norm_eps":               1e-7,
		"initializer_range":            0.02,
		"pad_token_id":                 pad,
		"relative_attention":           true,
		"position_biased_input":        false,
		"pos_att_type":                 []string{"p2c", "c2p"},
		"max_relative_positions":       -1,
		"position_buckets":             DeBERTaPositionBuckets,
		"norm_rel_ebd":                 "layer_norm",
		"share_att_key":                true,
		"pooler_dropout":               0,
		"pooler_hidden_act":            "gelu",
		"pooler_hidden_size":           s.Hidden,
	})
	if err != nil {
		return nil, err
	}
	return checkpoint.ParseConfig(b)
}
