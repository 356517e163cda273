package hpo

import (
	"encoding/json"
	"fmt"
	"math"
)

// Param is one dimension of a search space, serialisable to JSON. It mirrors Optuna's
// distributions: Float (FloatDistribution: Low, High, optional Step or Log), Int
// (IntDistribution: Low, High, Step default 1, optional Log) and Categorical
// (CategoricalDistribution: Choices). Build it with [Float], [FloatLog], [Int], [IntLog] or
// [Categorical].
type Param struct {
	Name string    `json:"name"`
	Kind ParamKind `json:"kind"`
	// Low and High bound numeric parameters (inclusive).
	Low  float64 `json:"low"`
	High float64 `json:"high"`
	// Step discretises numeric parameters (0 = continuous floats; ints default to 1).
	Step float64 `json:"step,omitempty"`
	// Log samples numeric parameters uniformly (and models them) in log space.
	Log bool `json:"log,omitempty"`
	// Choices are a categorical parameter's values: float64, string or bool
	// (integers are stored as float64, as JSON does).
	Choices []any `json:"choices,omitempty"`
}

// Float is a continuous parameter uniform on [low, high].
func Float(name string, low, high float64) Param {
	return Param{Name: name, Kind: KindFloat, Low: low, High: high}
}

// FloatLog is a continuous parameter log-uniform on [low, high] (low > 0).
func FloatLog(name string, low, high float64) Param {
	return Param{Name: name, Kind: KindFloat, Low: low, High: high, Log: true}
}

// FloatStep is a float parameter on the grid low, low+step, …, high.
func FloatStep(name string, low, high, step float64) Param {
	return Param{Name: name, Kind: KindFloat, Low: low, High: high, Step: step}
}

// Int is an integer parameter on low, low+step, …, high (step ≥ 1).
func Int(name string, low, high, step int) Param {
	return Param{Name: name, Kind: KindInt, Low: float64(low), High: float64(high), Step: float64(step)}
}

// IntLog is an integer parameter log-uniform on [low, high] (low ≥ 1, step 1).
func IntLog(name string, low, high int) Param {
	return Param{Name: name, Kind: KindInt, Low: float64(low), High: float64(high), Step: 1, Log: true}
}

// Categorical is a parameter taking one of choices (ints, floats, strings or bools).
// Integer choices are stored as float64 so the space round-trips through JSON; read them
// back with [Trial.Int].
func Categorical(name string, choices ...any) Param {
	c := make([]any, len(choices))
	for i, v := range choices {
		c[i] = canonicalChoice(v)
	}
	return Param{Name: name, Kind: KindCategorical, Choices: c}
}

// Space is an ordered list of parameters (the order fixes the sampling order, which keeps
// seeded samplers reproducible). It marshals to a JSON array of [Param].
type Space []Param

// Paper parameter names (§3.4 of the OpenMed NER paper; the trainer's option names).
const (
	ParamLearningRate = "learning_rate"
	ParamBatchSize    = "batch_size"
	ParamWeightDecay  = "weight_decay"
	ParamWarmupRatio  = "warmup_ratio"
	ParamLoRARank     = "lora_r"
	ParamLoRADropout  = "lora_dropout"
)

// PaperSpace is the search space of the OpenMed NER paper (§3.4, §3.7): learning rate
// log-uniform on [1e-5, 5e-4], batch size in {8, 16, 32}, weight decay uniform on [0, 0.1],
// warm-up ratio uniform on [0, 0.2], LoRA rank in {4, 8, 16, 32} and LoRA dropout uniform
// on [0, 0.3].
func PaperSpace() Space {
	return Space{
		FloatLog(ParamLearningRate, 1e-5, 5e-4),
		Categorical(ParamBatchSize, 8, 16, 32),
		Float(ParamWeightDecay, 0, 0.1),
		Float(ParamWarmupRatio, 0, 0.2),
		Categorical(ParamLoRARank, 4, 8, 16, 32),
		Float(ParamLoRADropout, 0, 0.3),
	}
}

// Validate checks every parameter: unique non-empty names, low ≤ high, positive bounds for
// log scales, steps that divide the range, at least one categorical choice of a JSON
// scalar type. Errors name the parameter.
func (s Space) Validate() error {
	if len(s) == 0 {
		return fmt.Errorf("hpo: search space is empty")
	}
	seen := map[string]bool{}
	for i := range s {
		p := &s[i]
		if p.Name == "" {
			return fmt.Errorf("hpo: space[%d]: empty parameter name", i)
		}
		if seen[p.Name] {
			return fmt.Errorf("hpo: space[%d]: duplicate parameter %q", i, p.Name)
		}
		seen[p.Name] = true
		if err := p.validate(); err != nil {
			return fmt.Errorf("hpo: space[%d] %q: %w", i, p.Name, err)
		}
	}
	return nil
}

func (p *Param) validate() error {
	switch p.Kind {
	case KindFloat, KindInt:
		if !isFinite(p.Low) || !isFinite(p.High) || p.Low > p.High {
			return fmt.Errorf("need finite low ≤ high, got low=%v high=%v", p.Low, p.High)
		}
		if p.Step < 0 || !isFinite(p.Step) {
			return fmt.Errorf("step must be ≥ 0, got %v", p.Step)
		}
		if p.Kind == KindInt {
			if p.Step == 0 {
				return fmt.Errorf("int step must be ≥ 1 (use Int or IntLog)")
			}
			if p.Low != math.Trunc(p.Low) || p.High != math.Trunc(p.High) || p.Step != math.Trunc(p.Step) {
				return fmt.Errorf("int low/high/step must be integers, got %v/%v/%v", p.Low, p.High, p.Step)
			}
		}
		if p.Log {
			if p.Low <= 0 {
				return fmt.Errorf("log scale needs low > 0, got %v", p.Low)
			}
			if p.Kind == KindFloat && p.Step != 0 {
				return fmt.Errorf("log scale and step cannot be combined for floats")
			}
			if p.Kind == KindInt && p.Step != 1 {
				return fmt.Errorf("log-scaled ints need step 1, got %v", p.Step)
			}
		}
		if p.Step > 0 {
			k := (p.High - p.Low) / p.Step
			if math.Abs(k-math.Round(k)) > 1e-8*math.Max(1, k) {
				return fmt.Errorf("high-low=%v is not a multiple of step %v", p.High-p.Low, p.Step)
			}
		}
		if len(p.Choices) > 0 {
			return fmt.Errorf("choices given for a %s parameter", p.Kind)
		}
	case KindCategorical:
		if len(p.Choices) == 0 {
			return fmt.Errorf("categorical parameter has no choices")
		}
		for j, c := range p.Choices {
			cc := canonicalChoice(c)
			switch cc.(type) {
			case float64, string, bool:
			default:
				return fmt.Errorf("choice[%d] %v has type %T (want number, string or bool)", j, c, c)
			}
			if cc != c { // write only when canonicalising, so validating a shared space is race-free
				p.Choices[j] = cc
			}
			for k := 0; k < j; k++ {
				if p.Choices[k] == cc {
					return fmt.Errorf("duplicate choice %v", c)
				}
			}
		}
	default:
		return fmt.Errorf("unknown kind %d", p.Kind)
	}
	return nil
}

// Param returns the parameter called name.
func (s Space) Param(name string) (Param, bool) {
	for _, p := range s {
		if p.Name == name {
			return p, true
		}
	}
	return Param{}, false
}

// MarshalJSON writes the space as a JSON array (nil becomes []).
func (s Space) MarshalJSON() ([]byte, error) {
	if s == nil {
		return []byte("[]"), nil
	}
	return json.Marshal([]Param(s))
}

// canonicalChoice converts Go integer and float32 values to float64 so categorical values
// compare equal before and after a JSON round trip.
func canonicalChoice(v any) any {
	switch x := v.(type) {
	case int:
		return float64(x)
	case int8:
		return float64(x)
	case int16:
		return float64(x)
	case int32:
		return float64(x)
	case int64:
		return float64(x)
	case uint:
		return float64(x)
	case uint8:
		return float64(x)
	case uint16:
		return float64(x)
	case uint32:
		return float64(x)
	case uint64:
		return float64(x)
	case float32:
		return float64(x)
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return v
		}
		return f
	}
	return v
}

// internal maps an external value (as stored in a trial's params) to the sampler's
// internal float: the value itself for numeric parameters, the choice index for
// categorical ones (Optuna's to_internal_repr).
func (p Param) internal(v any) (float64, error) {
	v = canonicalChoice(v)
	switch p.Kind {
	case KindCategorical:
		for i, c := range p.Choices {
			if canonicalChoice(c) == v {
				return float64(i), nil
			}
		}
		return 0, fmt.Errorf("parameter %q: value %v is not one of %v", p.Name, v, p.Choices)
	default:
		f, ok := v.(float64)
		if !ok {
			return 0, fmt.Errorf("parameter %q: value %v (%T) is not a number", p.Name, v, v)
		}
		if f < p.Low || f > p.High || math.IsNaN(f) {
			return 0, fmt.Errorf("parameter %q: value %v outside [%v, %v]", p.Name, f, p.Low, p.High)
		}
		return f, nil
	}
}

// external maps an internal float to the value stored in a trial's params.
func (p Param) external(x float64) any {
	if p.Kind == KindCategorical {
		i := int(math.Round(x))
		i = max(0, min(len(p.Choices)-1, i))
		return canonicalChoice(p.Choices[i])
	}
	return p.snap(x)
}

// snap rounds a numeric value onto the parameter's grid (if stepped) and clips it to
// [Low, High].
func (p Param) snap(x float64) float64 {
	if p.Step > 0 {
		x = p.Low + math.Round((x-p.Low)/p.Step)*p.Step
		if p.Kind == KindInt {
			x = math.Round(x)
		}
	}
	return math.Max(p.Low, math.Min(p.High, x))
}

// internalParams converts a trial's external params to internal floats over the space.
func (s Space) internalParams(params map[string]any) (map[string]float64, error) {
	out := make(map[string]float64, len(s))
	for _, p := range s {
		v, ok := params[p.Name]
		if !ok {
			return nil, fmt.Errorf("parameter %q missing", p.Name)
		}
		x, err := p.internal(v)
		if err != nil {
			return nil, err
		}
		out[p.Name] = x
	}
	return out, nil
}
