package tagger

import (
	"fmt"
	"strings"
	"sync"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/lora"
	"github.com/openmed/openmed/core/model"
	"github.com/openmed/openmed/core/tensor"
)

// Engine is the pure-Go backend: one core/model forward pass shared by every
// head. Adapters attach to the same base weights — an adapter is its LoRA
// matrices (wrapping the base Linear layers, which are not copied) plus its
// classifier — and activating one swaps projection slots, so memory is
// about base + Σ adapters. Calls are serialised by a mutex (core/model
// reuses its buffers); the BLAS kernels inside use the cores.
type Engine struct {
	mu     sync.Mutex
	m      *model.Model
	base   map[string]model.Projection // slot name → base projection
	active *engineHead
	closed bool
}

// engineHead is one selectable head of an Engine.
type engineHead struct {
	eng    *Engine
	name   string
	loras  map[string]*lora.Linear
	cls    model.Projection // nil: the base classifier
	labels []string
}

// NewEngine loads an HF token-classification folder into the Go engine.
func NewEngine(dir string) (*Engine, error) {
	m, err := model.Load(dir, model.TokenClassification)
	if err != nil {
		return nil, fmt.Errorf("tagger: engine: %w", err)
	}
	return newEngine(m), nil
}

// newEngineForAdapter loads the base of an adapter folder. A base without
// id2label (a pre-trained encoder or a masked-LM checkpoint, the usual LoRA
// base) gets a token-classification head sized by the adapter's labels, as
// from_pretrained(base, num_labels=len(labels)) does before PEFT loads the
// adapter; the adapter's modules_to_save classifier then replaces that head
// (any classifier.* tensors in the base are not loaded).
func newEngineForAdapter(baseDir string, labels []string) (*Engine, error) {
	cfg, err := checkpoint.LoadConfig(baseDir)
	if err != nil {
		return nil, fmt.Errorf("tagger: engine: %w", err)
	}
	if cfg.NumLabels() > 0 || len(labels) == 0 {
		return NewEngine(baseDir)
	}
	cfg.ID2Label = make(map[int]string, len(labels))
	cfg.Label2ID = make(map[string]int, len(labels))
	for i, l := range labels {
		cfg.ID2Label[i], cfg.Label2ID[l] = l, i
	}
	m, err := model.New(cfg, model.TokenClassification, 0)
	if err != nil {
		return nil, fmt.Errorf("tagger: engine: %s: %w", baseDir, err)
	}
	sd, err := checkpoint.LoadWeights(baseDir)
	if err != nil {
		return nil, fmt.Errorf("tagger: engine: %w", err)
	}
	for k := range sd {
		// A head of another size is not ours to load (ignore_mismatched_sizes).
		if strings.HasPrefix(k, "classifier.") {
			delete(sd, k)
		}
	}
	if _, _, err := m.LoadStateDict(sd); err != nil {
		return nil, fmt.Errorf("tagger: engine: %s: %w", baseDir, err)
	}
	return newEngine(m), nil
}

func newEngine(m *model.Model) *Engine {
	m.SetTraining(false)
	m.FreezeAll()           // inference: no gradient buffers (one model's worth of memory)
	m.SetShareScratch(true) // inference only: one layer's activations at a time
	if tensor.CurrentPrecision() == tensor.BF16 {
		m.CacheBF16Weights() // the weights never change here: convert them once
	}
	e := &Engine{m: m, base: map[string]model.Projection{}}
	for _, s := range m.Projections() {
		e.base[s.Name] = *s.Slot
	}
	return e
}

// Model is the engine's model (with the base projections in place when no
// adapter is active).
func (e *Engine) Model() *model.Model { return e.m }

// baseHead is the model's own classifier without LoRA.
func (e *Engine) baseHead(labels []string) *engineHead {
	return &engineHead{eng: e, name: "", labels: labels}
}

// loadAdapter reads a PEFT adapter folder into a head that shares the base
// weights. labels are the adapter's id2label (config.json beside it) or nil
// to take the base's when the classifier sizes agree.
func (e *Engine) loadAdapter(name, dir string, labels []string) (*engineHead, error) {
	pc, tensors, err := checkpoint.LoadAdapter(dir)
	if err != nil {
		return nil, fmt.Errorf("tagger: adapter %q: %w", name, err)
	}
	if pc.FanInFanOut || pc.UseDora {
		return nil, fmt.Errorf("tagger: adapter %q (%s): fan_in_fan_out / DoRA are not supported", name, dir)
	}
	h := &engineHead{eng: e, name: name, loras: map[string]*lora.Linear{}, labels: labels}
	scaling := float32(pc.Scaling())
	used := map[string]bool{}
	for _, s := range e.m.Projections() {
		if !pc.Targets(s.Name) || s.Name == "classifier" {
			continue
		}
		a := tensors[checkpoint.AdapterPrefix+s.Name+".lora_A.weight"]
		b := tensors[checkpoint.AdapterPrefix+s.Name+".lora_B.weight"]
		if a == nil || b == nil {
			continue
		}
		base, ok := e.base[s.Name].(*model.Linear)
		if !ok {
			return nil, fmt.Errorf("tagger: adapter %q: %s is not a plain Linear", name, s.Name)
		}
		l := lora.NewLinear(s.Name, base, a.Shape[0], scaling, 0, 0)
		if err := fill(l.A, a); err != nil {
			return nil, fmt.Errorf("tagger: adapter %q (%s): %w", name, dir, err)
		}
		if err := fill(l.B, b); err != nil {
			return nil, fmt.Errorf("tagger: adapter %q (%s): %w", name, dir, err)
		}
		l.A.Grad, l.B.Grad = nil, nil
		h.loras[s.Name] = l
		used[checkpoint.AdapterPrefix+s.Name+".lora_A.weight"] = true
		used[checkpoint.AdapterPrefix+s.Name+".lora_B.weight"] = true
	}
	if w := tensors[checkpoint.AdapterPrefix+"classifier.weight"]; w != nil {
		if len(w.Shape) != 2 || w.Shape[1] != e.m.Config.HiddenSize {
			return nil, fmt.Errorf("tagger: adapter %q (%s): classifier.weight %v does not fit hidden size %d", name, dir, w.Shape, e.m.Config.HiddenSize)
		}
		c := model.NewLinear("classifier", w.Shape[1], w.Shape[0], true)
		copy(c.Weight.Value.Data, w.Data)
		if bias := tensors[checkpoint.AdapterPrefix+"classifier.bias"]; bias != nil {
			if err := fill(c.Bias, bias); err != nil {
				return nil, fmt.Errorf("tagger: adapter %q (%s): %w", name, dir, err)
			}
			used[checkpoint.AdapterPrefix+"classifier.bias"] = true
		}
		used[checkpoint.AdapterPrefix+"classifier.weight"] = true
		h.cls = c
	}
	for k := range tensors {
		if !used[k] {
			return nil, fmt.Errorf("tagger: adapter %q (%s): tensor %s matches no module of the base model", name, dir, strings.TrimPrefix(k, checkpoint.AdapterPrefix))
		}
	}
	if len(h.loras) == 0 {
		return nil, fmt.Errorf("tagger: adapter %q (%s): no LoRA module matches the base model", name, dir)
	}
	n := e.m.Classifier.OutFeatures()
	if h.cls != nil {
		n = h.cls.OutFeatures()
	}
	if h.labels == nil && n == len(e.m.Config.Labels()) {
		h.labels = e.m.Config.Labels()
	}
	if len(h.labels) != n {
		return nil, fmt.Errorf("tagger: adapter %q (%s): %d labels in config.json id2label, classifier has %d outputs", name, dir, len(h.labels), n)
	}
	return h, nil
}

func fill(p *tensor.Param, t *tensor.Tensor) error {
	if t.Numel() != p.Value.Numel() {
		return fmt.Errorf("%s has shape %v, the model needs %v", p.Name, t.Shape, p.Value.Shape)
	}
	copy(p.Value.Data, t.Data)
	return nil
}

// activate puts h's projections into the model's slots (caller holds mu).
func (e *Engine) activate(h *engineHead) {
	if e.active == h {
		return
	}
	for _, s := range e.m.Projections() {
		p := e.base[s.Name]
		if l, ok := h.loras[s.Name]; ok {
			p = l
		}
		if s.Name == "classifier" && h.cls != nil {
			p = h.cls
		}
		*s.Slot = p
	}
	e.active = h
}

// Logits runs the head; see Backend.
func (h *engineHead) Logits(inputIDs, attentionMask, tokenTypeIDs [][]int64) (*tensor.Tensor, error) {
	e := h.eng
	if len(inputIDs) == 0 {
		return nil, fmt.Errorf("tagger: engine: empty batch")
	}
	L := len(inputIDs[0])
	b := &model.Batch{Batch: len(inputIDs), SeqLen: L}
	for i, row := range inputIDs {
		if len(row) != L || len(attentionMask[i]) != L {
			return nil, fmt.Errorf("tagger: engine: row %d has %d ids / %d mask values, want %d", i, len(row), len(attentionMask[i]), L)
		}
		for j, id := range row {
			b.InputIDs = append(b.InputIDs, int32(id))
			b.AttentionMask = append(b.AttentionMask, float32(attentionMask[i][j]))
			tt := int32(0)
			if tokenTypeIDs != nil {
				tt = int32(tokenTypeIDs[i][j])
			}
			b.TokenTypeIDs = append(b.TokenTypeIDs, tt)
		}
	}
	if e.m.Config.TypeVocabSize == 0 {
		b.TokenTypeIDs = nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, ErrClosed
	}
	e.activate(h)
	out, err := e.m.Forward(b)
	if err != nil {
		return nil, fmt.Errorf("tagger: engine: %w", err)
	}
	res := tensor.New(out.Shape...)
	copy(res.Data, out.Data)
	return res, nil
}

// Close is a no-op for one head; Engine.Close releases the model.
func (h *engineHead) Close() error { return nil }

// Close drops the model; later Logits calls fail with ErrClosed.
func (e *Engine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed = true
	e.m = nil
	return nil
}
