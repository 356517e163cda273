package checkpoint

import (
	"fmt"
	"os"
	"path/filepath"
)

// ONNXModelPath is where an ONNX export keeps its graph inside a model
// folder (Optimum's layout: onnx/model.onnx beside config.json).
const ONNXModelPath = "onnx/model.onnx"

// FolderKind is what a model folder holds, as openmed's loaders read it.
type FolderKind int

const (
	// FolderHF is a Hugging Face model folder: config.json + weights
	// (model.safetensors, its sharded index, or pytorch_model.bin).
	FolderHF FolderKind = iota + 1
	// FolderONNX is an ONNX export: config.json + onnx/model.onnx, maybe no
	// weights.
	FolderONNX
	// FolderAdapter is a PEFT adapter folder: adapter_config.json + weights.
	FolderAdapter
)

// String names the kind.
func (k FolderKind) String() string {
	switch k {
	case FolderHF:
		return "hf"
	case FolderONNX:
		return "onnx"
	case FolderAdapter:
		return "adapter"
	}
	return fmt.Sprintf("FolderKind(%d)", int(k))
}

// HasWeights reports whether dir holds HF weights (LoadWeights' files).
func HasWeights(dir string) bool {
	return exists(filepath.Join(dir, SafeWeightsFile)) || exists(filepath.Join(dir, SafeWeightsIndexFile)) || exists(filepath.Join(dir, WeightsFile))
}

// ClassifyFolder says what dir holds: a PEFT adapter (adapter_config.json
// wins, as PEFT's from_pretrained checks it first), an HF model folder, or
// an ONNX export. Anything else is an error naming dir and what was looked
// for — the one rule every loader (tagger, merge, export) applies.
func ClassifyFolder(dir string) (FolderKind, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return 0, fmt.Errorf("model %w", err)
	}
	if !fi.IsDir() {
		return 0, fmt.Errorf("model %s is not a folder", dir)
	}
	config := exists(filepath.Join(dir, ConfigFile))
	switch {
	case exists(filepath.Join(dir, AdapterConfigFile)):
		return FolderAdapter, nil
	case config && HasWeights(dir):
		return FolderHF, nil
	case config && exists(filepath.Join(dir, filepath.FromSlash(ONNXModelPath))):
		return FolderONNX, nil
	}
	return 0, fmt.Errorf("%s is neither an HF model folder (config.json + model.safetensors / pytorch_model.bin), an ONNX export (config.json + onnx/model.onnx) nor a PEFT adapter folder (adapter_config.json)", dir)
}
