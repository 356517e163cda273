package tagger

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/lora"
	"github.com/openmed/openmed/core/model"
	"github.com/openmed/openmed/core/onnx"
	"github.com/openmed/openmed/core/tensor"
)

// namedAdapter is one adapter folder of a manifest and its name.
type namedAdapter struct{ name, dir string }

// errSharedUnsupported: the adapters cannot share one graph (an encoder
// family or an adapter layout BuildShared does not take); the tagger falls
// back to one merged session per adapter.
var errSharedUnsupported = errors.New("no shared-base graph")

// SharedMaxLoRACost is the largest share of the encoder's Linear
// multiply-adds that unmerged LoRA updates may add before a manifest's
// shared ORT session stops adding them at run time over one copy of the
// weights (onnx.BuildShared's tiled form) and runs each adapter's own
// merged copies of the weights it touches instead (the per-branch form,
// sharing the embeddings and the untouched weights): low-rank GEMMs run far
// below peak. Measured on the small default tagger (2026-12-06,
// onnxruntime 1.31, 8×256 windows, 1 thread): r 32 on query/key/value/dense
// at hidden 256 adds 18.8 % of the multiply-adds and made the shared session
// 1.29× slower than three merged ones (1.07× with the updates left out: the
// tiling alone); r 16 on query/value of BERT-base adds 0.7 %.
const SharedMaxLoRACost = 0.10

// sharedHead is one adapter's output of a shared-base ORT session
// (onnx.BuildShared). predictHeads runs the session once per batch for all
// its heads; Logits alone (outside a grouped prediction) runs every branch.
type sharedHead struct {
	be  *ORTBackend
	out int
}

// Logits runs the shared session and returns this adapter's logits.
func (h *sharedHead) Logits(ids, mask, types [][]int64) (*tensor.Tensor, error) {
	all, err := h.be.LogitsAll(ids, mask, types)
	if err != nil {
		return nil, err
	}
	return all[h.out], nil
}

// Close does nothing: the tagger closes the shared session once.
func (h *sharedHead) Close() error { return nil }

// openShared opens a manifest's adapters on ORT as one session over one base
// (the paper's swappable adapters, onnx.BuildShared): in the tiled form
// memory ≈ base + Σ adapters instead of #adapters × base; in the per-branch
// form (SharedMaxLoRACost) the embeddings and untouched weights are held
// once; either way one run per batch computes every adapter's logits (so
// tagging with one adapter of the manifest, WithAdapter, costs the run of
// all). It returns the heads in the manifest's order, or
// errSharedUnsupported (wrapped) when the adapters cannot share a graph.
func (t *Tagger) openShared(adapters []namedAdapter) ([]*head, error) {
	exp, tiled, err := cachedSharedExport(t.opts, t.baseDir, adapters)
	if err != nil {
		return nil, err
	}
	if tiled {
		t.tiledRows = len(adapters)
	}
	be, err := t.openORT(exp)
	if err != nil {
		return nil, err
	}
	if got := be.Heads(); len(got) != len(adapters) {
		be.Close()
		return nil, fmt.Errorf("tagger: shared-base export %s has outputs for %v, want %d adapters", exp, got, len(adapters))
	}
	heads := make([]*head, len(adapters))
	for i, a := range adapters {
		cfg, err := checkpoint.LoadConfig(a.dir)
		if err != nil {
			be.Close()
			return nil, fmt.Errorf("tagger: adapter %q: %w", a.name, err)
		}
		labels := cfg.Labels()
		if n := be.HeadLabels()[i]; n != len(labels) {
			be.Close()
			return nil, fmt.Errorf("tagger: adapter %q: %s: classifier has %d outputs, id2label %d labels", a.name, a.dir, n, len(labels))
		}
		heads[i] = &head{name: a.name, labels: labels, be: &sharedHead{be: be, out: i}}
	}
	t.closers = append(t.closers, be.Close)
	return heads, nil
}

// cachedSharedExport writes (once) the shared-base ONNX graph of base and the
// adapters into the cache, keyed by the folders' content and the names, and
// says whether it is the tiled form (each batch row runs once per adapter).
func cachedSharedExport(o Options, base string, adapters []namedAdapter) (dir string, tiled bool, err error) {
	cfg, err := checkpoint.LoadConfig(base)
	if err != nil {
		return "", false, fmt.Errorf("tagger: %w", err)
	}
	if cfg.ModelType != checkpoint.ModelBERT && cfg.ModelType != checkpoint.ModelElectra {
		return "", false, fmt.Errorf("tagger: %s is %s: %w", base, cfg.ModelType, errSharedUnsupported)
	}
	// The cost rule first (the adapters are small; the base is not read):
	// a cached export is used only while the rule allows it.
	updates := make([]*lora.Updates, len(adapters))
	for k, a := range adapters {
		u, err := lora.ReadUpdates(a.dir)
		if err != nil {
			return "", false, fmt.Errorf("tagger: adapter %q: %w", a.name, err)
		}
		updates[k] = u
	}
	merge := loraCost(cfg, updates) > SharedMaxLoRACost
	root, err := cacheRoot(o)
	if err != nil {
		return "", false, err
	}
	dirs := []string{base}
	var names []string
	for _, a := range adapters {
		dirs = append(dirs, a.dir)
		names = append(names, a.name)
	}
	key, err := hashFolders(dirs...)
	if err != nil {
		return "", false, err
	}
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%s\x00merged=%v", key, strings.Join(names, "\x00"), merge)))
	key = hex.EncodeToString(sum[:])[:24]
	out := filepath.Join(root, "onnx-shared-"+key)
	file := filepath.Join(out, filepath.FromSlash(checkpoint.ONNXModelPath))
	if exists(file) {
		return out, !merge, nil
	}
	branches, state, err := sharedBranches(cfg, base, adapters, updates, merge)
	if err != nil {
		return "", false, err
	}
	b, err := onnx.BuildShared(cfg, state, branches)
	if err != nil {
		return "", false, fmt.Errorf("tagger: shared-base export of %s: %w", base, err)
	}
	m, err := b.Model("openmed", "dev", onnx.KeyValue{Key: "model_type", Value: string(cfg.ModelType)},
		onnx.KeyValue{Key: "openmed_adapters", Value: strings.Join(names, ",")})
	if err != nil {
		return "", false, fmt.Errorf("tagger: shared-base export of %s: %w", base, err)
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", false, fmt.Errorf("tagger: cache: %w", err)
	}
	if err := onnx.WriteModel(file, m); err != nil { // atomic: a partial file is never seen
		return "", false, fmt.Errorf("tagger: cache: %w", err)
	}
	return out, !merge, nil
}

// sharedBranches reads the base's canonical state_dict (through the model, as
// MergeAdapter writes merged folders) and each adapter's LoRA updates and
// classifier.
func sharedBranches(cfg *checkpoint.Config, base string, adapters []namedAdapter, updates []*lora.Updates, merge bool) ([]onnx.Branch, map[string]*tensor.Tensor, error) {
	sd, err := checkpoint.LoadWeights(base)
	if err != nil {
		return nil, nil, fmt.Errorf("tagger: %w", err)
	}
	for _, k := range []string{"classifier.weight", "classifier.bias"} {
		delete(sd, k) // a base with a head of its own: the heads come from the adapters
	}
	c := *cfg
	c.ID2Label = map[int]string{0: "O"}
	m, err := model.New(&c, model.TokenClassification, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("tagger: %s: %w", base, err)
	}
	if _, _, err := m.LoadStateDict(sd); err != nil {
		return nil, nil, fmt.Errorf("tagger: %s: %w", base, err)
	}
	state := m.StateDict()
	prefix := cfg.BasePrefix() + "."
	var branches []onnx.Branch
	for k, a := range adapters {
		u := updates[k]
		br := onnx.Branch{Name: a.name, LoRA: map[string]onnx.LoRAUpdate{}, Weights: map[string]*tensor.Tensor{}}
		for _, up := range u.LoRA {
			module := up.Module
			if state[module+".weight"] == nil && state[prefix+module+".weight"] != nil {
				module = prefix + module
			}
			if !merge {
				br.LoRA[module] = onnx.LoRAUpdate{A: up.A, B: up.B, Scaling: up.Scaling}
				continue
			}
			w := state[module+".weight"]
			if w == nil {
				return nil, nil, fmt.Errorf("tagger: adapter %q: the base has no %s.weight", a.name, module)
			}
			merged := w.Clone()
			if err := lora.AddDelta(merged, up.B, up.A, up.Scaling); err != nil {
				return nil, nil, fmt.Errorf("tagger: adapter %q: module %s: %w", a.name, module, err)
			}
			br.Weights[module+".weight"] = merged
		}
		for _, n := range u.SavedNames() {
			switch strings.TrimPrefix(n, prefix) {
			case "classifier.weight":
				br.Classifier = u.Saved[n]
			case "classifier.bias":
				br.ClassifierBias = u.Saved[n]
			default:
				return nil, nil, fmt.Errorf("tagger: adapter %q saves %s besides its LoRA and classifier: %w", a.name, n, errSharedUnsupported)
			}
		}
		if br.Classifier == nil || br.ClassifierBias == nil {
			return nil, nil, fmt.Errorf("tagger: adapter %q has no classifier (modules_to_save): %w", a.name, errSharedUnsupported)
		}
		branches = append(branches, br)
	}
	return branches, state, nil
}

// loraCost is the multiply-adds the adapters' unmerged updates add per
// token, r·(in+out) each, over those of the K encoders' Linear layers
// (attention q, k, v, output: hidden² each; feed-forward: 2·hidden·intermediate).
func loraCost(cfg *checkpoint.Config, adapters []*lora.Updates) float64 {
	h, i := float64(cfg.HiddenSize), float64(cfg.IntermediateSize)
	base := float64(len(adapters)*cfg.NumHiddenLayers) * (4*h*h + 2*h*i)
	added := 0.0
	for _, a := range adapters {
		for _, u := range a.LoRA {
			added += float64(u.A.Shape[0] * (u.A.Shape[1] + u.B.Shape[0]))
		}
	}
	if base == 0 {
		return 0
	}
	return added / base
}
