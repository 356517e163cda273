package tagger

import (
	"fmt"
	"path/filepath"
	"slices"

	"github.com/openmed/openmed/core/checkpoint"
)

// AddAdapter attaches a PEFT LoRA adapter folder (as openmed train writes it:
// adapter_config.json, adapter_model.safetensors, config.json with id2label)
// to the tagger's base model under name; tag with it through
// WithAdapter(name), or with all adapters through WithAllAdapters().
//
// Memory trade-off: on the Go engine an adapter is only its LoRA matrices
// and classifier — the base weights are shared and swapping is a pointer
// change per projection, so memory ≈ base + Σ adapters (a few MB each for
// BERT-base at r=8). With ORT each adapter is merged into its own full
// model and session (memory ≈ (1 + #adapters) × base), in exchange for
// ORT's speed. Pick WithBackend(BackendEngine) when many adapters must fit,
// or open them as a manifest (a folder with default.json): on ORT a
// manifest's adapters over a BERT or ELECTRA base share one session and one
// copy of the base (onnx.BuildShared), one run per batch serving them all.
//
// The tagger must have been opened on a model with weights (an HF folder or
// an adapter folder), not a bare ONNX export.
func (t *Tagger) AddAdapter(name, dir string) error {
	if name == "" {
		return fmt.Errorf("tagger: AddAdapter: empty adapter name")
	}
	if t.baseDir == "" {
		return fmt.Errorf("tagger: AddAdapter(%q): the tagger was opened on a bare ONNX export; open it on the base model folder", name)
	}
	if !exists(filepath.Join(dir, checkpoint.AdapterConfigFile)) {
		return fmt.Errorf("tagger: AddAdapter(%q): %s has no %s", name, dir, checkpoint.AdapterConfigFile)
	}
	var labels []string
	if exists(filepath.Join(dir, checkpoint.ConfigFile)) {
		cfg, err := checkpoint.LoadConfig(dir)
		if err != nil {
			return fmt.Errorf("tagger: AddAdapter(%q): %w", name, err)
		}
		labels = cfg.Labels()
	}
	t.mu.RLock()
	_, dup := t.heads[name]
	t.mu.RUnlock()
	if dup {
		return fmt.Errorf("tagger: AddAdapter: adapter %q already added", name)
	}
	h := &head{name: name}
	switch t.kind {
	case BackendEngine:
		eh, err := t.engine.loadAdapter(name, dir, labels)
		if err != nil {
			return err
		}
		h.labels, h.be = eh.labels, eh
	default:
		if labels == nil {
			cfg, err := checkpoint.LoadConfig(t.baseDir)
			if err != nil {
				return fmt.Errorf("tagger: AddAdapter(%q): %w", name, err)
			}
			labels = cfg.Labels()
		}
		exp, err := cachedExport(t.opts, t.baseDir, dir)
		if err != nil {
			return fmt.Errorf("tagger: AddAdapter(%q): %w", name, err)
		}
		be, err := NewORT(exp, ORTOptions{LibraryPath: t.opts.ORTLibrary, IntraOpThreads: t.opts.Threads, Device: t.opts.Device})
		if err != nil {
			return fmt.Errorf("tagger: AddAdapter(%q): %w", name, err)
		}
		if n := be.NumLabels(); n > 0 && n != len(labels) {
			be.Close()
			return fmt.Errorf("tagger: AddAdapter(%q): %s: classifier has %d outputs, id2label %d labels", name, dir, n, len(labels))
		}
		h.labels, h.be = labels, be
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closers == nil {
		h.be.Close()
		return ErrClosed
	}
	if _, dup := t.heads[name]; dup {
		h.be.Close()
		return fmt.Errorf("tagger: AddAdapter: adapter %q already added", name)
	}
	if t.kind != BackendEngine {
		t.closers = append(t.closers, h.be.Close)
	}
	t.heads[name] = h
	t.order = append(t.order, name)
	return nil
}

// Adapters lists the added adapters' names in the order they were added.
func (t *Tagger) Adapters() []string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return append([]string(nil), t.order...)
}

// AdapterLabels returns an added adapter's labels.
func (t *Tagger) AdapterLabels(name string) ([]string, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	h := t.heads[name]
	if h == nil {
		return nil, fmt.Errorf("tagger: no adapter named %q", name)
	}
	return append([]string(nil), h.labels...), nil
}

// AdapterName is the name an adapter folder gets when the caller gives
// none: its folder's base name, with "#2", "#3", … appended while taken
// holds it. The CLI's --adapter DIR, the C ABI's "adapters" and Python's
// adapters= all name adapters this way.
func AdapterName(dir string, taken []string) string {
	base := filepath.Base(filepath.Clean(dir))
	name := base
	for i := 2; slices.Contains(taken, name); i++ {
		name = fmt.Sprintf("%s#%d", base, i)
	}
	return name
}
