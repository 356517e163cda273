package checkpoint

import (
	"bytes"

	"github.com/openmed/openmed/core/tensor"
)

// TieWeights restores the tensors Hugging Face drops from model.safetensors
// because they are tied (PreTrainedModel.tie_weights, _tied_weights_keys):
// the masked-LM decoder shares the word-embedding matrix
// ("cls.predictions.decoder.weight" for BERT/DeBERTa-v2,
// "generator_lm_head.weight" for ELECTRA) and the decoder bias shares
// "cls.predictions.bias". Missing tied keys are added as aliases of their
// source tensor (the same *tensor.Tensor). Nothing happens when the config
// sets "tie_word_embeddings": false. It returns the keys it added.
func TieWeights(m map[string]*tensor.Tensor, cfg *Config) []string {
	if raw := cfg.Raw("tie_word_embeddings"); raw != nil && bytes.Equal(bytes.TrimSpace(raw), []byte("false")) {
		return nil
	}
	emb := cfg.BasePrefix() + ".embeddings.word_embeddings.weight"
	pairs := [][2]string{
		{"cls.predictions.decoder.weight", emb},
		{"cls.predictions.decoder.bias", "cls.predictions.bias"},
		{"generator_lm_head.weight", emb},
		{"generator_lm_head.bias", "generator_predictions.bias"},
	}
	var added []string
	for _, p := range pairs {
		dst, src := p[0], p[1]
		if _, ok := m[dst]; ok {
			continue
		}
		// Only tie where the head exists (its other tensors are present).
		if !hasPrefix(m, headOf(dst)) {
			continue
		}
		if s, ok := m[src]; ok {
			m[dst] = s
			added = append(added, dst)
		}
	}
	return added
}

func headOf(key string) string {
	for i := 0; i < len(key); i++ {
		if key[i] == '.' {
			return key[:i+1]
		}
	}
	return key
}

func hasPrefix(m map[string]*tensor.Tensor, prefix string) bool {
	for k := range m {
		if len(k) >= len(prefix) && k[:len(prefix)] == prefix {
			return true
		}
	}
	return false
}
