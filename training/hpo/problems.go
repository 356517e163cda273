package hpo

import "math"

// Problem is a sampler test problem: a search space, an objective over a
// trial's parameters (as [Sampler.Sample] returns them) and its direction.
// [BenchmarkProblems] are what the package's tests and benchmarks/hpo/peer
// (this TPE against Optuna's TPESampler) optimise.
type Problem struct {
	// Name identifies the problem in tests and benchmark tables.
	Name string
	// Space is the search space.
	Space Space
	// F is the objective.
	F func(params map[string]any) float64
	// Direction says whether F is minimised or maximised.
	Direction Direction
}

// BenchmarkProblems are the standard problems samplers are compared on: a
// shifted quadratic with a log-scaled axis whose optimum a categorical moves
// (minimised, and negated and maximised), Hartmann-6, Branin–Hoo, and a
// smooth stand-in for dev F1 over [PaperSpace]. The first is the
// quadratic.
func BenchmarkProblems() []Problem {
	qs, qf := quadSpace()
	return []Problem{
		{"quadratic-log-categorical", qs, qf, Minimize},
		{"neg-quadratic-maximize", qs, func(p map[string]any) float64 { return -qf(p) }, Maximize},
		{"hartmann6", hartmann6Space(), hartmann6, Minimize},
		{"branin", Space{Float("x1", -5, 10), Float("x2", 0, 15)}, branin, Minimize},
		{"paper-space-surrogate", PaperSpace(), paperSurrogate, Maximize},
	}
}

// quadSpace is a shifted 2-D quadratic with a log-scaled axis; the categorical moves the
// optimum and adds an offset, so the best region is one choice × a small box.
func quadSpace() (Space, func(map[string]any) float64) {
	space := Space{FloatLog("lr", 1e-6, 1e-1), Float("y", -5, 5), Categorical("c", "a", "b", "c")}
	shift := map[string]float64{"a": 0, "b": 1.5, "c": -2}
	offset := map[string]float64{"a": 0.5, "b": 0, "c": 1}
	f := func(p map[string]any) float64 {
		c := p["c"].(string)
		u := math.Log10(p["lr"].(float64)) - (-3.5 + 0.5*shift[c])
		v := p["y"].(float64) - shift[c]
		return u*u + v*v + offset[c]
	}
	return space, f
}

// branin is the Branin–Hoo function on x1 ∈ [−5, 10], x2 ∈ [0, 15] (minimum 0.397887).
func branin(p map[string]any) float64 {
	x1, x2 := p["x1"].(float64), p["x2"].(float64)
	b, c := 5.1/(4*math.Pi*math.Pi), 5/math.Pi
	return math.Pow(x2-b*x1*x1+c*x1-6, 2) + 10*(1-1/(8*math.Pi))*math.Cos(x1) + 10
}

var hartmann6Names = []string{"x0", "x1", "x2", "x3", "x4", "x5"}

func hartmann6Space() Space {
	var space Space
	for _, n := range hartmann6Names {
		space = append(space, Float(n, 0, 1))
	}
	return space
}

// hartmann6 is the 6-D Hartmann function on [0, 1]^6, shifted so its minimum
// (−3.32237) becomes ~0.
func hartmann6(x map[string]any) float64 {
	a := [4][6]float64{{10, 3, 17, 3.5, 1.7, 8}, {0.05, 10, 17, 0.1, 8, 14}, {3, 3.5, 1.7, 10, 17, 8}, {17, 8, 0.05, 10, 0.1, 14}}
	p := [4][6]float64{{0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886}, {0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991},
		{0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650}, {0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381}}
	alpha := [4]float64{1, 1.2, 3, 3.2}
	s := 0.0
	for i := range 4 {
		e := 0.0
		for j, n := range hartmann6Names {
			d := x[n].(float64) - p[i][j]
			e += a[i][j] * d * d
		}
		s += alpha[i] * math.Exp(-e)
	}
	return 3.32237 - s
}

// paperSurrogate is a smooth stand-in for dev F1 over [PaperSpace]: best near
// lr=2e-4, batch 16, LoRA rank 16, small weight decay, warm-up and dropout.
func paperSurrogate(p map[string]any) float64 {
	u := (math.Log10(p[ParamLearningRate].(float64)) + 3.7) / 0.3
	b := map[float64]float64{8: 0.02, 16: 0, 32: 0.03}[p[ParamBatchSize].(float64)]
	r := map[float64]float64{4: 0.03, 8: 0.01, 16: 0, 32: 0.01}[p[ParamLoRARank].(float64)]
	wd := (p[ParamWeightDecay].(float64) - 0.02) / 0.05
	wr := (p[ParamWarmupRatio].(float64) - 0.06) / 0.1
	dr := (p[ParamLoRADropout].(float64) - 0.1) / 0.15
	return 0.9 - 0.05*u*u - b - r - 0.01*(wd*wd+wr*wr+dr*dr)
}
