package lora

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/encoder"
	"github.com/openmed/openmed/core/model"
	"github.com/openmed/openmed/core/tensor"
	"github.com/openmed/openmed/core/tokenize"
)

// MergeDirection says whether MergeAdapter adds or subtracts the LoRA update.
type MergeDirection int

const (
	// Merge folds the update in: W' = W + B·A·scaling (PEFT merge_and_unload,
	// get_delta_weight = transpose(B @ A, fan_in_fan_out) * scaling).
	Merge MergeDirection = iota
	// Unmerge takes it out again: W = W' − B·A·scaling (PEFT unmerge).
	Unmerge
)

// MergeResult describes what MergeAdapter wrote.
type MergeResult struct {
	// Dir is the output folder.
	Dir string
	// Modules lists the HF module paths whose weight changed, sorted.
	Modules []string
	// Replaced lists the modules_to_save tensors copied from the adapter
	// (e.g. classifier.weight), sorted; empty for Unmerge.
	Replaced []string
	// Labels is the output's id2label in index order.
	Labels []string
}

// MergeAdapter applies the PEFT LoRA adapter in adapterDir to the Hugging Face
// checkpoint in baseDir and writes a complete HF token-classification folder
// to outDir: config.json (the adapter folder's config.json when it has one —
// openmed's trainer writes id2label/label2id there — else the base's, with
// architectures set to XxxForTokenClassification), model.safetensors with HF
// state_dict key names, and the tokenizer files (from the adapter folder, else
// the base). Both our model.Load and transformers' from_pretrained read it.
//
// With Merge every LoRA target gets W += B·A·(α/r) (α/√r with rsLoRA) and the
// adapter's modules_to_save tensors (the classifier) replace the base's. With
// Unmerge baseDir is a merged folder and the update is subtracted; the
// classifier stays the adapter's (PEFT's unmerge does not restore
// modules_to_save either: the base's original head is not in the adapter).
// The update is accumulated in float64 and rounded once.
func MergeAdapter(baseDir, adapterDir, outDir string, dir MergeDirection) (*MergeResult, error) {
	u, err := ReadUpdates(adapterDir)
	if err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	if baseDir, err = encoder.Resolve(baseDir); err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	cfgDir := baseDir
	if _, err := os.Stat(filepath.Join(adapterDir, checkpoint.ConfigFile)); err == nil {
		cfgDir = adapterDir
	}
	cfg, err := checkpoint.LoadConfig(cfgDir)
	if err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	sd, err := checkpoint.LoadWeights(baseDir)
	if err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	res := &MergeResult{Dir: outDir, Labels: cfg.Labels()}
	prefix := cfg.BasePrefix() + "."
	lookup := func(name string) (string, *tensor.Tensor) {
		if t := sd[name]; t != nil {
			return name, t
		}
		short := strings.TrimPrefix(name, prefix)
		return short, sd[short]
	}
	sign := 1.0
	if dir == Unmerge {
		sign = -1
	}
	for _, up := range u.LoRA {
		key, w := lookup(up.Module + ".weight")
		if w == nil {
			return nil, fmt.Errorf("merge: %s: base %s has no %s.weight for adapter module %s", adapterDir, baseDir, up.Module, up.Module)
		}
		if err := AddDelta(w, up.B, up.A, sign*up.Scaling); err != nil {
			return nil, fmt.Errorf("merge: %s: module %s: %w", adapterDir, up.Module, err)
		}
		sd[key] = w
		res.Modules = append(res.Modules, up.Module)
	}
	if dir == Merge {
		for _, name := range u.SavedNames() {
			key, _ := lookup(name)
			if key == "" || sd[key] == nil {
				key = name
			}
			sd[key] = u.Saved[name]
			res.Replaced = append(res.Replaced, name)
		}
	}
	// Build the model to check that the folder loads with the output config,
	// and to write canonical HF state_dict names.
	m, err := model.New(cfg, model.TokenClassification, 0)
	if err != nil {
		return nil, fmt.Errorf("merge: %s: %w", cfgDir, err)
	}
	missing, _, err := m.LoadStateDict(sd)
	if err != nil {
		return nil, fmt.Errorf("merge: %s + %s: %w", baseDir, adapterDir, err)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("merge: %s + %s: no weights for %v (the base has no head and the adapter saves none)", baseDir, adapterDir, missing)
	}
	cfg.Architectures = []string{ArchitectureName(m.Arch)}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	if err := checkpoint.WriteSafetensors(filepath.Join(outDir, checkpoint.SafeWeightsFile), m.StateDict(), map[string]string{"format": "pt"}); err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	if err := cfg.Save(filepath.Join(outDir, checkpoint.ConfigFile)); err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	tokSrc := adapterDir
	if !tokenize.HasFiles(adapterDir) {
		tokSrc = baseDir
	}
	if _, err := tokenize.CopyFiles(tokSrc, outDir); err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	return res, nil
}

// ArchitectureName is the transformers class a token-classification
// checkpoint of this family is saved as (config.json "architectures").
func ArchitectureName(a model.Arch) string { return a.TokenClassificationClass() }

// AddDelta does w += s·(b @ a) with b [out, r], a [r, in], w [out, in]
// (PEFT's get_delta_weight, W + s·B·A), summing each element in float64 and
// rounding once: the one implementation of the update, used by Linear.Merge
// and Unmerge and by the folder merges.
func AddDelta(w, b, a *tensor.Tensor, s float64) error {
	if len(a.Shape) != 2 || len(b.Shape) != 2 || len(w.Shape) != 2 {
		return fmt.Errorf("lora_A %v, lora_B %v and weight %v must be matrices", a.Shape, b.Shape, w.Shape)
	}
	out, r, in := b.Shape[0], b.Shape[1], a.Shape[1]
	if a.Shape[0] != r || w.Shape[0] != out || w.Shape[1] != in {
		return fmt.Errorf("shapes lora_B %v · lora_A %v do not fit weight %v", b.Shape, a.Shape, w.Shape)
	}
	nw := tensor.New(out, in)
	for i := 0; i < out; i++ {
		for j := 0; j < in; j++ {
			acc := 0.0
			for k := 0; k < r; k++ {
				acc += float64(b.Data[i*r+k]) * float64(a.Data[k*in+j])
			}
			nw.Data[i*in+j] = float32(float64(w.Data[i*in+j]) + s*acc)
		}
	}
	copy(w.Data, nw.Data)
	return nil
}
