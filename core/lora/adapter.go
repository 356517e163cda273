package lora

import (
	"fmt"
	"sort"
	"strings"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/model"
	"github.com/openmed/openmed/core/tensor"
)

// Config holds the LoRA hyper-parameters (PEFT LoraConfig field names).
type Config struct {
	// R is the rank (PEFT r).
	R int
	// Alpha is lora_alpha; the update is scaled by Alpha/R (Alpha/√R with UseRslora).
	Alpha float64
	// Dropout is lora_dropout on the LoRA branch input.
	Dropout float32
	// TargetModules are module-name suffixes matched with PEFT's rule
	// key == target or key.endswith("." + target).
	TargetModules []string
	// ModulesToSave stay fully trainable (PEFT modules_to_save; for
	// TOKEN_CLS PEFT uses ["classifier", "score"]).
	ModulesToSave []string
	// UseRslora selects rank-stabilised scaling α/√r.
	UseRslora bool
	// Seed drives A's initialisation and the LoRA dropout masks.
	Seed uint64
}

// Option adjusts a Config.
type Option func(*Config)

// WithRank sets r.
func WithRank(r int) Option { return func(c *Config) { c.R = r } }

// WithAlpha sets lora_alpha.
func WithAlpha(a float64) Option { return func(c *Config) { c.Alpha = a } }

// WithDropout sets lora_dropout.
func WithDropout(p float32) Option { return func(c *Config) { c.Dropout = p } }

// WithTargets sets target_modules.
func WithTargets(t ...string) Option { return func(c *Config) { c.TargetModules = t } }

// WithRslora turns on rsLoRA scaling (α/√r).
func WithRslora(on bool) Option { return func(c *Config) { c.UseRslora = on } }

// WithSeed sets the initialisation / dropout seed.
func WithSeed(s uint64) Option { return func(c *Config) { c.Seed = s } }

// NewConfig returns PEFT's LoraConfig defaults for token classification —
// r=8, lora_alpha=8, lora_dropout=0, target_modules query/value
// (TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING for bert/electra),
// modules_to_save classifier/score — adjusted by opts.
func NewConfig(opts ...Option) Config {
	c := Config{R: 8, Alpha: 8, TargetModules: []string{"query", "value"}, ModulesToSave: []string{"classifier", "score"}}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// Scaling is α/r, or α/√r with UseRslora (PEFT lora/layer.py update_layer).
func (c Config) Scaling() float32 {
	if c.UseRslora {
		return float32(c.Alpha / sqrt(float64(c.R)))
	}
	return float32(c.Alpha / float64(c.R))
}

// Targets reports whether the module path matches TargetModules.
func (c Config) Targets(path string) bool { return matches(path, c.TargetModules) }

func matches(path string, names []string) bool {
	for _, t := range names {
		if path == t || strings.HasSuffix(path, "."+t) {
			return true
		}
	}
	return false
}

// Adapter is a model with LoRA layers applied: the base is frozen, the LoRA
// matrices and modules_to_save are trainable.
type Adapter struct {
	Model  *model.Model
	Config Config
	// Layers maps HF module paths to their LoRA layers, in model order in Names.
	Layers map[string]*Linear
	Names  []string
	// Saved are the modules_to_save projections (e.g. "classifier").
	Saved map[string]model.Projection
}

// Apply wraps every Linear projection of m whose module path matches
// cfg.TargetModules, freezes everything else except cfg.ModulesToSave, and
// returns the adapter. It returns an error when no module matches or a
// matched module is not a plain Linear.
func Apply(m *model.Model, cfg Config) (*Adapter, error) {
	if cfg.R <= 0 {
		return nil, fmt.Errorf("lora: rank r must be positive, got %d", cfg.R)
	}
	if cfg.Dropout < 0 || cfg.Dropout >= 1 {
		return nil, fmt.Errorf("lora: lora_dropout must be in [0,1), got %g", cfg.Dropout)
	}
	m.FreezeAll()
	a := &Adapter{Model: m, Config: cfg, Layers: map[string]*Linear{}, Saved: map[string]model.Projection{}}
	for i, s := range m.Projections() {
		switch {
		case matches(s.Name, cfg.ModulesToSave):
			for _, p := range (*s.Slot).Params() {
				p.Grad = tensor.New(p.Value.Shape...)
			}
			a.Saved[s.Name] = *s.Slot
		case cfg.Targets(s.Name):
			base, ok := (*s.Slot).(*model.Linear)
			if !ok {
				return nil, fmt.Errorf("lora: target %s is a %T, not a plain Linear (already adapted?)", s.Name, *s.Slot)
			}
			l := NewLinear(s.Name, base, cfg.R, cfg.Scaling(), cfg.Dropout, cfg.Seed+uint64(i)*0x9e3779b97f4a7c15)
			*s.Slot = l
			a.Layers[s.Name] = l
			a.Names = append(a.Names, s.Name)
		}
	}
	if len(a.Layers) == 0 {
		return nil, fmt.Errorf("lora: target_modules %v match no module of this %s model", cfg.TargetModules, m.Arch.Prefix())
	}
	return a, nil
}

// TrainableParams lists the trainable parameters in PEFT's named_parameters
// order (LoRA A/B per module in model order, then modules_to_save).
func (a *Adapter) TrainableParams() []*tensor.Param { return a.Model.TrainableParams() }

// Count returns the total number of parameter values (base + adapter), the
// trainable ones, and their percentage (PEFT print_trainable_parameters; the
// paper reports ≈1.4% for its LoRA setting).
func (a *Adapter) Count() (total, trainable int, percent float64) {
	total, trainable = a.Model.NumParams()
	return total, trainable, 100 * float64(trainable) / float64(total)
}

// Merge folds every LoRA update into its base weight (inference / export).
func (a *Adapter) Merge() {
	for _, l := range a.Layers {
		l.Merge()
	}
}

// Unmerge undoes Merge.
func (a *Adapter) Unmerge() {
	for _, l := range a.Layers {
		l.Unmerge()
	}
}

// StateDict returns the adapter tensors keyed as PEFT saves them:
// "base_model.model.<module>.lora_A.weight" / ".lora_B.weight" and, for
// modules_to_save, the plain module name ("base_model.model.classifier.weight").
func (a *Adapter) StateDict() map[string]*tensor.Tensor {
	sd := map[string]*tensor.Tensor{}
	for _, l := range a.Layers {
		sd[checkpoint.AdapterPrefix+l.A.Name] = l.A.Value
		sd[checkpoint.AdapterPrefix+l.B.Name] = l.B.Value
	}
	for _, p := range a.Saved {
		for _, q := range p.Params() {
			sd[checkpoint.AdapterPrefix+q.Name] = q.Value
		}
	}
	return sd
}

// PeftConfig describes the adapter as PEFT's adapter_config.json
// (task_type TOKEN_CLS, bias "none", inference_mode true as PEFT writes on save).
func (a *Adapter) PeftConfig(baseModelNameOrPath string) *checkpoint.AdapterConfig {
	c := checkpoint.DefaultLoRAConfig(a.Model.Config.ModelType, a.Config.R, a.Config.Alpha)
	c.LoraDropout = float64(a.Config.Dropout)
	c.TargetModules = append([]string(nil), a.Config.TargetModules...)
	c.ModulesToSave = append([]string(nil), a.Config.ModulesToSave...)
	c.UseRslora = a.Config.UseRslora
	c.BaseModelNameOrPath = baseModelNameOrPath
	c.InferenceMode = true
	return c
}

// Save writes a PEFT adapter folder (adapter_config.json +
// adapter_model.safetensors) that PEFT's PeftModel.from_pretrained loads.
func (a *Adapter) Save(dir, baseModelNameOrPath string) error {
	return checkpoint.SaveAdapter(dir, a.PeftConfig(baseModelNameOrPath), a.StateDict())
}

// Load reads a PEFT adapter folder and applies it to m: the LoRA layers are
// created from adapter_config.json and filled from the adapter tensors, and
// modules_to_save weights (the classifier) replace the model's. Every
// adapter tensor must be used and every LoRA matrix present.
func Load(m *model.Model, dir string) (*Adapter, error) {
	pc, tensors, err := checkpoint.LoadAdapter(dir)
	if err != nil {
		return nil, err
	}
	if pc.UseDora {
		return nil, fmt.Errorf("%s: use_dora is not supported", dir)
	}
	if pc.FanInFanOut {
		return nil, fmt.Errorf("%s: fan_in_fan_out=true is not supported for BERT/ELECTRA Linear layers", dir)
	}
	if pc.Bias != "" && pc.Bias != checkpoint.BiasNone {
		return nil, fmt.Errorf("%s: field bias: %q is not supported (only \"none\")", dir, pc.Bias)
	}
	if pc.TargetModulesRegex != "" {
		return nil, fmt.Errorf("%s: target_modules given as a regex (%q) is not supported", dir, pc.TargetModulesRegex)
	}
	cfg := NewConfig(WithRank(pc.R), WithAlpha(pc.LoraAlpha), WithDropout(float32(pc.LoraDropout)), WithTargets(pc.TargetModules...), WithRslora(pc.UseRslora))
	if pc.ModulesToSave != nil {
		cfg.ModulesToSave = pc.ModulesToSave
	}
	a, err := Apply(m, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	params := map[string]*tensor.Param{}
	for _, l := range a.Layers {
		params[checkpoint.AdapterPrefix+l.A.Name] = l.A
		params[checkpoint.AdapterPrefix+l.B.Name] = l.B
	}
	for _, p := range a.Saved {
		for _, q := range p.Params() {
			params[checkpoint.AdapterPrefix+q.Name] = q
		}
	}
	keys := make([]string, 0, len(tensors))
	for k := range tensors {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	seen := map[string]bool{}
	for _, k := range keys {
		p := params[k]
		if p == nil {
			return nil, fmt.Errorf("%s: adapter tensor %q matches no LoRA or modules_to_save parameter of the model", dir, k)
		}
		t := tensors[k]
		if tensor.Numel(t.Shape) != p.Value.Numel() || len(t.Shape) != len(p.Value.Shape) {
			return nil, fmt.Errorf("%s: %s has shape %v, the model needs %v", dir, k, t.Shape, p.Value.Shape)
		}
		for i := range t.Shape {
			if t.Shape[i] != p.Value.Shape[i] {
				return nil, fmt.Errorf("%s: %s has shape %v, the model needs %v", dir, k, t.Shape, p.Value.Shape)
			}
		}
		copy(p.Value.Data, t.Data)
		seen[k] = true
	}
	for k := range params {
		if !seen[k] && strings.Contains(k, ".lora_") {
			return nil, fmt.Errorf("%s: adapter has no %q", dir, k)
		}
	}
	return a, nil
}
