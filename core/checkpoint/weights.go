package checkpoint

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/openmed/openmed/core/tensor"
)

// File names of a Hugging Face model folder (transformers.utils constants
// SAFE_WEIGHTS_NAME, SAFE_WEIGHTS_INDEX_NAME, WEIGHTS_NAME).
const (
	SafeWeightsFile      = "model.safetensors"
	SafeWeightsIndexFile = "model.safetensors.index.json"
	WeightsFile          = "pytorch_model.bin"
)

// LoadWeights loads the weights of a Hugging Face model folder, preferring
// model.safetensors, then the sharded model.safetensors.index.json, then the
// legacy pytorch_model.bin. Keys are normalised with NormalizeKeys.
func LoadWeights(dir string) (map[string]*tensor.Tensor, error) {
	var (
		m   map[string]*tensor.Tensor
		err error
	)
	switch {
	case exists(filepath.Join(dir, SafeWeightsFile)):
		m, err = ReadSafetensors(filepath.Join(dir, SafeWeightsFile))
	case exists(filepath.Join(dir, SafeWeightsIndexFile)):
		m, err = readShardedSafetensors(dir, filepath.Join(dir, SafeWeightsIndexFile))
	case exists(filepath.Join(dir, WeightsFile)):
		m, err = ReadPytorchBin(filepath.Join(dir, WeightsFile))
	default:
		return nil, fmt.Errorf("%s: no %s, %s or %s", dir, SafeWeightsFile, SafeWeightsIndexFile, WeightsFile)
	}
	if err != nil {
		return nil, err
	}
	return NormalizeKeys(m), nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// readShardedSafetensors reads every shard named in an index's weight_map.
func readShardedSafetensors(dir, index string) (map[string]*tensor.Tensor, error) {
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := readJSON(index, &idx); err != nil {
		return nil, err
	}
	if len(idx.WeightMap) == 0 {
		return nil, fmt.Errorf("%s: field weight_map is empty", index)
	}
	shards := map[string]bool{}
	for _, s := range idx.WeightMap {
		if s == "" || filepath.Base(s) != s {
			return nil, fmt.Errorf("%s: field weight_map: invalid shard name %q", index, s)
		}
		shards[s] = true
	}
	out := map[string]*tensor.Tensor{}
	for _, s := range sortedKeys(shards) {
		m, err := ReadSafetensors(filepath.Join(dir, s))
		if err != nil {
			return nil, err
		}
		for k, v := range m {
			if _, dup := out[k]; dup {
				return nil, fmt.Errorf("%s: tensor %q appears in more than one shard", index, k)
			}
			out[k] = v
		}
	}
	for k, s := range idx.WeightMap {
		if _, ok := out[k]; !ok {
			return nil, fmt.Errorf("%s: tensor %q listed in weight_map is missing from shard %s", index, k, s)
		}
	}
	return out, nil
}

// NormalizeKeys applies Hugging Face's legacy renames to state_dict keys
// (PreTrainedModel._fix_key in transformers 4.36: "LayerNorm.gamma" →
// "LayerNorm.weight", "LayerNorm.beta" → "LayerNorm.bias") and drops
// non-persistent buffers old checkpoints still carry ("….position_ids",
// "embeddings.token_type_ids"). The map is modified in place and returned.
func NormalizeKeys(m map[string]*tensor.Tensor) map[string]*tensor.Tensor {
	for k, v := range m {
		nk := k
		switch {
		case strings.HasSuffix(k, "position_ids") || strings.HasSuffix(k, "embeddings.token_type_ids"):
			delete(m, k)
			continue
		case strings.HasSuffix(k, ".gamma"):
			nk = strings.TrimSuffix(k, "gamma") + "weight"
		case strings.HasSuffix(k, ".beta"):
			nk = strings.TrimSuffix(k, "beta") + "bias"
		}
		if nk != k {
			if _, clash := m[nk]; !clash {
				m[nk] = v
			}
			delete(m, k)
		}
	}
	return m
}

// headPrefixes are the task-head modules that sit beside the base model in
// Hugging Face's *For* classes and never carry the base-model prefix.
var headPrefixes = []string{"classifier.", "cls.", "lm_predictions.", "mask_predictions.", "generator_predictions.", "generator_lm_head.", "discriminator_predictions.", "qa_outputs.", "pooler."}

// ErrNoBaseModel reports that a weights map has no tensor under the expected
// base-model prefix, even after adding it.
var ErrNoBaseModel = errors.New("no base-model tensors")

// WithBasePrefix makes keys follow the *For*-class naming ("bert.embeddings…")
// when a checkpoint was saved from the bare base model ("embeddings…"), as
// transformers' from_pretrained does when loading a base checkpoint into a
// model with a head (base_model_prefix handling). Keys already prefixed and
// head keys are left alone. prefix is "bert", "electra" or "deberta".
func WithBasePrefix(m map[string]*tensor.Tensor, prefix string) (map[string]*tensor.Tensor, error) {
	p := prefix + "."
	for k := range m {
		if strings.HasPrefix(k, p) {
			return m, nil
		}
	}
	out := make(map[string]*tensor.Tensor, len(m))
	found := false
	for k, v := range m {
		if isHeadKey(k) && !strings.HasPrefix(k, "pooler.") {
			out[k] = v
			continue
		}
		out[p+k] = v
		found = true
	}
	if !found {
		return nil, fmt.Errorf("prefix %q: %w", prefix, ErrNoBaseModel)
	}
	return out, nil
}

func isHeadKey(k string) bool {
	for _, h := range headPrefixes {
		if strings.HasPrefix(k, h) {
			return true
		}
	}
	return false
}
