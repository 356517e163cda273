package optim

import (
	"fmt"
	"strconv"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/tensor"
)

// AdamWState is the resumable optimiser state (torch's optimizer.state_dict():
// step, exp_avg and exp_avg_sq per parameter), keyed by Param.Name.
type AdamWState struct {
	Step     int64
	LR       float64
	ExpAvg   map[string]*tensor.Tensor
	ExpAvgSq map[string]*tensor.Tensor
}

// State returns a deep copy of the optimiser state.
func (o *AdamW) State() *AdamWState {
	s := &AdamWState{Step: o.step, LR: o.lr, ExpAvg: map[string]*tensor.Tensor{}, ExpAvgSq: map[string]*tensor.Tensor{}}
	for i, p := range o.params {
		s.ExpAvg[p.Name] = &tensor.Tensor{Shape: append([]int(nil), p.Value.Shape...), Data: append([]float32(nil), o.m[i]...)}
		s.ExpAvgSq[p.Name] = &tensor.Tensor{Shape: append([]int(nil), p.Value.Shape...), Data: append([]float32(nil), o.v[i]...)}
	}
	return s
}

// LoadState restores a state taken by State, checking that every parameter
// has moments of the right size.
func (o *AdamW) LoadState(s *AdamWState) error {
	if s.Step < 0 {
		return fmt.Errorf("adamw state: negative step %d", s.Step)
	}
	for i, p := range o.params {
		m, v := s.ExpAvg[p.Name], s.ExpAvgSq[p.Name]
		if m == nil || v == nil {
			return fmt.Errorf("adamw state: no moments for parameter %q", p.Name)
		}
		if len(m.Data) != len(o.m[i]) || len(v.Data) != len(o.v[i]) {
			return fmt.Errorf("adamw state: parameter %q has %d values, state has %d/%d", p.Name, len(o.m[i]), len(m.Data), len(v.Data))
		}
	}
	if len(s.ExpAvg) != len(o.params) {
		return fmt.Errorf("adamw state: %d parameters in the state, optimiser has %d", len(s.ExpAvg), len(o.params))
	}
	for i, p := range o.params {
		copy(o.m[i], s.ExpAvg[p.Name].Data)
		copy(o.v[i], s.ExpAvgSq[p.Name].Data)
	}
	o.step = s.Step
	if s.LR != 0 {
		o.lr = s.LR
	}
	return nil
}

// State file layout: tensors "exp_avg.<name>" and "exp_avg_sq.<name>",
// metadata {"format":"openmed-adamw","step":"N","lr":"x"}.
const stateFormat = "openmed-adamw"

// SaveState writes s as a safetensors file, atomically.
func SaveState(path string, s *AdamWState) error {
	m := make(map[string]*tensor.Tensor, 2*len(s.ExpAvg))
	for k, v := range s.ExpAvg {
		m["exp_avg."+k] = v
	}
	for k, v := range s.ExpAvgSq {
		m["exp_avg_sq."+k] = v
	}
	meta := map[string]string{
		"format": stateFormat,
		"step":   strconv.FormatInt(s.Step, 10),
		"lr":     strconv.FormatFloat(s.LR, 'g', -1, 64),
	}
	return checkpoint.WriteSafetensors(path, m, meta)
}

// LoadStateFile reads a state written by SaveState.
func LoadStateFile(path string) (*AdamWState, error) {
	m, meta, err := checkpoint.ReadSafetensorsWithMetadata(path)
	if err != nil {
		return nil, err
	}
	if meta["format"] != stateFormat {
		return nil, fmt.Errorf("%s: metadata format %q, want %q", path, meta["format"], stateFormat)
	}
	s := &AdamWState{ExpAvg: map[string]*tensor.Tensor{}, ExpAvgSq: map[string]*tensor.Tensor{}}
	if s.Step, err = strconv.ParseInt(meta["step"], 10, 64); err != nil {
		return nil, fmt.Errorf("%s: metadata step: %w", path, err)
	}
	if s.LR, err = strconv.ParseFloat(meta["lr"], 64); err != nil {
		return nil, fmt.Errorf("%s: metadata lr: %w", path, err)
	}
	for k, v := range m {
		switch {
		case len(k) > len("exp_avg_sq.") && k[:len("exp_avg_sq.")] == "exp_avg_sq.":
			s.ExpAvgSq[k[len("exp_avg_sq."):]] = v
		case len(k) > len("exp_avg.") && k[:len("exp_avg.")] == "exp_avg.":
			s.ExpAvg[k[len("exp_avg."):]] = v
		default:
			return nil, fmt.Errorf("%s: unexpected tensor %q", path, k)
		}
	}
	return s, nil
}
