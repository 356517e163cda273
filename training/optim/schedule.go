package optim

import "math"

// ScheduleKind selects a learning-rate schedule (transformers'
// SchedulerType names).
type ScheduleKind int

// Schedules from transformers.optimization.
const (
	// ScheduleCosine is get_cosine_schedule_with_warmup, the paper's schedule.
	ScheduleCosine ScheduleKind = iota
	// ScheduleLinear is get_linear_schedule_with_warmup.
	ScheduleLinear
	// ScheduleConstant is get_constant_schedule_with_warmup (constant when WarmupSteps is 0).
	ScheduleConstant
)

// String returns transformers' SchedulerType value.
func (k ScheduleKind) String() string {
	switch k {
	case ScheduleCosine:
		return "cosine"
	case ScheduleLinear:
		return "linear"
	case ScheduleConstant:
		return "constant_with_warmup"
	}
	return "unknown"
}

// Schedule is a LambdaLR multiplier: the learning rate used after `step`
// scheduler steps is base_lr·Factor(step). As with torch's LambdaLR, the
// first optimiser step uses Factor(0), the next Factor(1), and so on.
type Schedule struct {
	Kind        ScheduleKind
	WarmupSteps int
	TotalSteps  int
	// NumCycles is the cosine's number of waves (HF default 0.5: one half-cosine to 0).
	NumCycles float64
}

// CosineWithWarmup is transformers' get_cosine_schedule_with_warmup with num_cycles 0.5.
func CosineWithWarmup(warmup, total int) Schedule {
	return Schedule{Kind: ScheduleCosine, WarmupSteps: warmup, TotalSteps: total, NumCycles: 0.5}
}

// LinearWithWarmup is transformers' get_linear_schedule_with_warmup.
func LinearWithWarmup(warmup, total int) Schedule {
	return Schedule{Kind: ScheduleLinear, WarmupSteps: warmup, TotalSteps: total}
}

// ConstantWithWarmup is transformers' get_constant_schedule_with_warmup
// (get_constant_schedule when warmup is 0).
func ConstantWithWarmup(warmup int) Schedule {
	return Schedule{Kind: ScheduleConstant, WarmupSteps: warmup}
}

// WarmupFromRatio is TrainingArguments.get_warmup_steps: ceil(total·ratio).
func WarmupFromRatio(ratio float64, total int) int {
	return int(math.Ceil(float64(total) * ratio))
}

// Factor is the multiplier after `step` scheduler steps, exactly the
// lr_lambda of transformers.optimization (v4.36).
func (s Schedule) Factor(step int) float64 {
	cur, warm, total := float64(step), float64(s.WarmupSteps), float64(s.TotalSteps)
	if step < s.WarmupSteps {
		return cur / math.Max(1, warm)
	}
	switch s.Kind {
	case ScheduleLinear:
		return math.Max(0, (total-cur)/math.Max(1, total-warm))
	case ScheduleCosine:
		progress := (cur - warm) / math.Max(1, total-warm)
		return math.Max(0, 0.5*(1+math.Cos(math.Pi*s.NumCycles*2*progress)))
	}
	return 1
}

// LR is base·Factor(step).
func (s Schedule) LR(base float64, step int) float64 { return base * s.Factor(step) }
