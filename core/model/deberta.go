package model

import (
	"fmt"
	"strings"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/tensor"
)

// buildDeberta allocates DebertaV2ForTokenClassification (transformers
// modeling_deberta_v2.py; fixtures README §3, §7) with zero weights:
// embeddings LN(word[ids]) · mask (absolute positions only when
// position_biased_input, token types only when type_vocab_size > 0), the
// shared relative state (rel_embeddings + encoder.LayerNorm), post-LN layers
// whose attention is DisentangledAttention, and the linear classifier.
func buildDeberta(cfg *checkpoint.Config, task Task, act tensor.Activation) (*Model, error) {
	if !cfg.ShareAttKey {
		return nil, fmt.Errorf("model: config share_att_key=false is not supported for deberta-v2 (DeBERTa-v3 uses true)")
	}
	if raw := cfg.Raw("conv_kernel_size"); raw != nil && strings.TrimSpace(string(raw)) != "0" && string(raw) != "null" {
		return nil, fmt.Errorf("model: config conv_kernel_size %s: DeBERTa's ConvLayer is not supported", raw)
	}
	H, E := cfg.HiddenSize, cfg.EmbeddingDim()
	if E != H {
		return nil, fmt.Errorf("model: deberta-v2 embedding_size %d != hidden_size %d (embed_proj) is not supported", E, H)
	}
	if raw := cfg.Raw("attention_head_size"); raw != nil && strings.TrimSpace(string(raw)) != fmt.Sprint(H/cfg.NumAttentionHeads) {
		return nil, fmt.Errorf("model: config attention_head_size %s != hidden_size/num_attention_heads is not supported", raw)
	}
	var c2p, p2c bool
	for _, t := range cfg.PosAttType {
		switch t {
		case "c2p":
			c2p = true
		case "p2c":
			p2c = true
		default:
			return nil, fmt.Errorf("model: config pos_att_type %q: only c2p and p2c are supported", t)
		}
	}
	eps := float32(cfg.LayerNormEps)
	if eps == 0 {
		eps = 1e-7
	}
	hd := float32(cfg.HiddenDropoutProb)
	const p = "deberta"
	emb := &Embeddings{
		Word:       newParam(p+".embeddings.word_embeddings.weight", false, cfg.VocabSize, H),
		LN:         NewLayerNorm(p+".embeddings.LayerNorm", H, eps),
		PadID:      int32(cfg.PadTokenID),
		MaskOutput: true,
		dim:        H,
	}
	emb.Dropout.P = hd
	if cfg.UsesPositionBiasedInput() {
		emb.Position = newParam(p+".embeddings.position_embeddings.weight", false, cfg.MaxPositionEmbeddings, H)
	}
	if cfg.TypeVocabSize > 0 {
		emb.TokenType = newParam(p+".embeddings.token_type_embeddings.weight", false, cfg.TypeVocabSize, H)
	}
	rel, err := newRelEmbeddings(p+".encoder", cfg, eps)
	if err != nil {
		return nil, err
	}
	enc := &Encoder{Embeddings: emb, Rel: rel, hidden: H}
	enc.Layers = newLayers(cfg, p, "_proj", eps, act, func(q, k, v Projection) Attention {
		return &DisentangledAttention{Query: q, Key: k, Value: v, NumHeads: cfg.NumAttentionHeads,
			ProbsDropout: float32(cfg.AttentionProbsDropoutProb), PosDropout: hd, Rel: rel, C2P: c2p, P2C: p2c}
	})
	return newModel(cfg, DeBERTaV2, task, enc, eps, act)
}

// debertaMLMAlias maps DeBERTa-v3's lm_predictions.lm_head.* names to the
// cls.predictions.* names transformers' DebertaV2ForMaskedLM (v4.36, legacy
// head) saves, so either checkpoint layout loads; "" when name has none.
func debertaMLMAlias(name string) string {
	const p = "lm_predictions.lm_head."
	if !strings.HasPrefix(name, p) {
		return ""
	}
	switch rest := strings.TrimPrefix(name, p); {
	case rest == "bias":
		return "cls.predictions.bias"
	default:
		return "cls.predictions.transform." + rest
	}
}
