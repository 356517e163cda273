package optim

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/tensor"
	"github.com/openmed/openmed/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func sharedDir(t testing.TB) string {
	return testutil.SharedDir(t)
}

type jt struct {
	Shape []int     `json:"shape"`
	Data  []float32 `json:"data"`
}

func maxAbsDiff(a, b []float32) float64 {
	var d float64
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d
}

func TestAdamWOneStepMatchesLoraFixture(t *testing.T) {
	for _, arch := range []string{"bert", "electra", "deberta_v3"} {
		t.Run(arch, func(t *testing.T) {
			dir := filepath.Join(sharedDir(t), "fixtures", arch)
			b, err := os.ReadFile(filepath.Join(dir, "lora.json"))
			require.NoError(t, err)
			var l struct {
				Keys      []string      `json:"trainable_parameter_keys"`
				Initial   map[string]jt `json:"initial_params"`
				Grads     map[string]jt `json:"grads"`
				Updated   map[string]jt `json:"updated_params"`
				Optimizer struct {
					LR          float64    `json:"lr"`
					Betas       [2]float64 `json:"betas"`
					Eps         float64    `json:"eps"`
					WeightDecay float64    `json:"weight_decay"`
					Amsgrad     bool       `json:"amsgrad"`
				} `json:"optimizer"`
			}
			require.NoError(t, json.Unmarshal(b, &l))
			require.False(t, l.Optimizer.Amsgrad)
			require.Len(t, l.Keys, 10)
			var params []*tensor.Param
			for _, k := range l.Keys {
				v, err := tensor.FromData(append([]float32(nil), l.Initial[k].Data...), l.Initial[k].Shape...)
				require.NoError(t, err)
				g, err := tensor.FromData(append([]float32(nil), l.Grads[k].Data...), l.Grads[k].Shape...)
				require.NoError(t, err)
				params = append(params, &tensor.Param{Name: k, Value: v, Grad: g})
			}
			o, err := NewAdamW(params, WithLR(l.Optimizer.LR), WithBetas(l.Optimizer.Betas[0], l.Optimizer.Betas[1]),
				WithEps(l.Optimizer.Eps), WithWeightDecay(l.Optimizer.WeightDecay))
			require.NoError(t, err)
			o.Step()
			_, step1, err := checkpoint.LoadAdapter(filepath.Join(dir, "adapter_step1"))
			require.NoError(t, err)
			// Same float32 elementwise operations as torch's loop on the same
			// inputs (no sums): only fused vs separate roundings of |p| ≲ 1 differ.
			worst := 0.0
			for _, p := range params {
				worst = math.Max(worst, maxAbsDiff(p.Value.Data, l.Updated[p.Name].Data))
				assert.LessOrEqual(t, maxAbsDiff(p.Value.Data, l.Updated[p.Name].Data), 1e-6, p.Name)
				assert.LessOrEqual(t, maxAbsDiff(p.Value.Data, step1[p.Name].Data), 1e-6, p.Name)
				assert.Greater(t, maxAbsDiff(p.Value.Data, l.Initial[p.Name].Data), 1e-5, "%s moved", p.Name)
			}
			t.Logf("max |go-HF| over updated_params = %.3g", worst)
			assert.EqualValues(t, 1, o.StepCount())
		})
	}
}

// trainRun is a deterministic multi-step problem shared with the torch script.
type trainRun struct {
	Steps       int           `json:"steps"`
	LR          float64       `json:"lr"`
	WeightDecay float64       `json:"weight_decay"`
	MaxNorm     float64       `json:"max_norm"`
	Warmup      int           `json:"warmup"`
	Total       int           `json:"total"`
	Kind        string        `json:"kind"`
	Names       []string      `json:"names"`
	NoDecay     []bool        `json:"no_decay"`
	Shapes      [][]int       `json:"shapes"`
	Init        [][]float32   `json:"init"`
	Grads       [][][]float32 `json:"grads"` // [step][param][values]
}

func makeRun(kind string) *trainRun {
	r := rand.New(rand.NewPCG(7, 11))
	run := &trainRun{Steps: 20, LR: 5e-3, WeightDecay: 0.05, MaxNorm: 1.0, Warmup: 4, Total: 20, Kind: kind,
		Names:   []string{"layer.weight", "layer.bias", "norm.weight", "head.weight"},
		NoDecay: []bool{false, true, true, false},
		Shapes:  [][]int{{6, 4}, {6}, {4}, {3, 6}}}
	for _, s := range run.Shapes {
		v := make([]float32, tensor.Numel(s))
		for i := range v {
			v[i] = float32(r.NormFloat64() * 0.5)
		}
		run.Init = append(run.Init, v)
	}
	for step := range run.Steps {
		scale := []float64{0.05, 3, 0.4, 1.5}[step%4] // clipping active on some steps only
		var gs [][]float32
		for _, s := range run.Shapes {
			g := make([]float32, tensor.Numel(s))
			for i := range g {
				g[i] = float32(r.NormFloat64() * scale)
			}
			gs = append(gs, g)
		}
		run.Grads = append(run.Grads, gs)
	}
	return run
}

func (run *trainRun) schedule() Schedule {
	if run.Kind == "linear" {
		return LinearWithWarmup(run.Warmup, run.Total)
	}
	return CosineWithWarmup(run.Warmup, run.Total)
}

// goTrain runs the problem; it returns final params, the lr of each step and the pre-clip norms.
func goTrain(t *testing.T, run *trainRun, resumeAt int) ([][]float32, []float64, []float64) {
	var params []*tensor.Param
	for i, name := range run.Names {
		v, err := tensor.FromData(append([]float32(nil), run.Init[i]...), run.Shapes[i]...)
		require.NoError(t, err)
		params = append(params, &tensor.Param{Name: name, Value: v, Grad: tensor.New(run.Shapes[i]...), NoDecay: run.NoDecay[i]})
	}
	// A frozen parameter must be ignored.
	params = append(params, &tensor.Param{Name: "frozen", Value: tensor.New(2)})
	o, err := NewAdamW(params, WithLR(run.LR), WithWeightDecay(run.WeightDecay))
	require.NoError(t, err)
	sched := run.schedule()
	var lrs, norms []float64
	for step := range run.Steps {
		if step == resumeAt {
			path := filepath.Join(t.TempDir(), "optim.safetensors")
			require.NoError(t, SaveState(path, o.State()))
			st, err := LoadStateFile(path)
			require.NoError(t, err)
			o, err = NewAdamW(params, WithLR(run.LR), WithWeightDecay(run.WeightDecay))
			require.NoError(t, err)
			require.NoError(t, o.LoadState(st))
		}
		for i, p := range params[:len(run.Names)] {
			copy(p.Grad.Data, run.Grads[step][i])
		}
		norms = append(norms, ClipGradNorm(params, run.MaxNorm))
		o.SetLR(sched.LR(run.LR, step))
		lrs = append(lrs, o.LR())
		o.Step()
	}
	var out [][]float32
	for _, p := range params[:len(run.Names)] {
		out = append(out, p.Value.Data)
	}
	return out, lrs, norms
}

const torchScript = `
import json, math, sys, torch
torch.set_num_threads(1)
def train(inp, outp):
    run = json.load(open(inp))
    params = [torch.nn.Parameter(torch.tensor(v, dtype=torch.float32).reshape(s)) for v, s in zip(run["init"], run["shapes"])]
    decay = [p for p, nd in zip(params, run["no_decay"]) if not nd]
    nodecay = [p for p, nd in zip(params, run["no_decay"]) if nd]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": run["weight_decay"]},
                             {"params": nodecay, "weight_decay": 0.0}], lr=run["lr"], betas=(0.9, 0.999), eps=1e-8)
    W, T = run["warmup"], run["total"]
    def cosine(step):  # transformers.optimization._get_cosine_schedule_with_warmup_lr_lambda
        if step < W:
            return float(step) / float(max(1, W))
        progress = float(step - W) / float(max(1, T - W))
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * 0.5 * 2.0 * progress)))
    def linear(step):  # _get_linear_schedule_with_warmup_lr_lambda
        if step < W:
            return float(step) / float(max(1, W))
        return max(0.0, float(T - step) / float(max(1, T - W)))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, cosine if run["kind"] == "cosine" else linear)
    lrs, norms = [], []
    for step in range(run["steps"]):
        for p, g, s in zip(params, run["grads"][step], run["shapes"]):
            p.grad = torch.tensor(g, dtype=torch.float32).reshape(s)
        norms.append(float(torch.nn.utils.clip_grad_norm_(params, run["max_norm"])))
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    json.dump({"params": [p.detach().reshape(-1).tolist() for p in params], "lrs": lrs, "norms": norms}, open(outp, "w"))
for i in range(1, len(sys.argv), 2):
    train(sys.argv[i], sys.argv[i + 1])
`

func TestAdamWMultiStepMatchesTorch(t *testing.T) {
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import torch").Run(); err != nil {
		t.Skipf("torch cross-check needs %s with torch (Debian python3-torch): %v", py, err)
	}
	kinds := []string{"cosine", "linear"}
	dir := t.TempDir()
	args := []string{"-c", torchScript}
	for _, kind := range kinds {
		b, err := json.Marshal(makeRun(kind))
		require.NoError(t, err)
		in := filepath.Join(dir, kind+".in.json")
		require.NoError(t, os.WriteFile(in, b, 0o644))
		args = append(args, in, filepath.Join(dir, kind+".out.json"))
	}
	msg, err := exec.Command(py, args...).CombinedOutput() // one interpreter: torch imports once
	require.NoError(t, err, string(msg))
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			run := makeRun(kind)
			out := filepath.Join(dir, kind+".out.json")
			var ref struct {
				Params [][]float32 `json:"params"`
				LRs    []float64   `json:"lrs"`
				Norms  []float64   `json:"norms"`
			}
			b, err := os.ReadFile(out)
			require.NoError(t, err)
			require.NoError(t, json.Unmarshal(b, &ref))

			got, lrs, norms := goTrain(t, run, -1)
			clipped := 0
			for i := range lrs {
				assert.InDelta(t, ref.LRs[i], lrs[i], 1e-12, "lr at step %d", i)
				assert.InEpsilon(t, ref.Norms[i], norms[i], 1e-6, "grad norm at step %d", i) // both accumulate in double, rounded to float32 (u ≈ 6e-8)
				if norms[i] > run.MaxNorm {
					clipped++
				}
			}
			assert.Greater(t, clipped, 3, "clipping is exercised")
			assert.Less(t, clipped, run.Steps, "some steps are not clipped")
			for i := range got {
				t.Logf("%s: max |go-torch| = %.3g after %d steps", run.Names[i], maxAbsDiff(got[i], ref.Params[i]), run.Steps)
				assert.LessOrEqual(t, maxAbsDiff(got[i], ref.Params[i]), 1e-6, run.Names[i]) // torch's elementwise float32 ops, 20 steps of |p| ≲ 2: a few u each
				assert.Greater(t, maxAbsDiff(got[i], run.Init[i]), 1e-3, "%s moved", run.Names[i])
			}
		})
	}
}

func TestAdamWResumeFromSavedStateIsExact(t *testing.T) {
	run := makeRun("cosine")
	whole, _, _ := goTrain(t, run, -1)
	resumed, _, _ := goTrain(t, run, 9)
	for i := range whole {
		assert.Equal(t, whole[i], resumed[i], run.Names[i])
	}
}

func TestAdamWNoDecayAndFormula(t *testing.T) {
	// Two identical params, one excluded from decay, zero gradient: only decay moves the first.
	a := &tensor.Param{Name: "a", Value: mustT(t, 2, -4), Grad: mustT(t, 0, 0)}
	b := &tensor.Param{Name: "b", Value: mustT(t, 2, -4), Grad: mustT(t, 0, 0), NoDecay: true}
	o, err := NewAdamW([]*tensor.Param{a, b}, WithLR(0.1), WithWeightDecay(0.5))
	require.NoError(t, err)
	o.Step()
	assert.InDeltaSlice(t, []float32{2 * 0.95, -4 * 0.95}, a.Value.Data, 1e-7)
	assert.Equal(t, []float32{2, -4}, b.Value.Data)
	// First step with gradient g: p − lr·sign(g) (up to eps) after decay.
	c := &tensor.Param{Name: "c", Value: mustT(t, 1), Grad: mustT(t, 3)}
	o, err = NewAdamW([]*tensor.Param{c}, WithLR(0.01), WithWeightDecay(0))
	require.NoError(t, err)
	o.Step()
	assert.InDelta(t, 1-0.01*3/(3+1e-8), c.Value.Data[0], 1e-7)
	_, err = NewAdamW(nil, WithBetas(1, 0.9))
	assert.ErrorContains(t, err, "beta1")
	_, err = NewAdamW([]*tensor.Param{c, c})
	assert.ErrorContains(t, err, "twice")
	st := o.State()
	delete(st.ExpAvg, "c")
	o2, _ := NewAdamW([]*tensor.Param{c})
	assert.ErrorContains(t, o2.LoadState(st), `"c"`)
}

func mustT(t *testing.T, v ...float32) *tensor.Tensor {
	x, err := tensor.FromData(v, len(v))
	require.NoError(t, err)
	return x
}

func TestSchedulesFollowHFFormulas(t *testing.T) {
	warm, total := 10, 110
	cos := CosineWithWarmup(warm, total)
	lin := LinearWithWarmup(warm, total)
	for step := 0; step <= total+5; step++ {
		var wantCos, wantLin float64
		if step < warm {
			wantCos = float64(step) / float64(warm)
			wantLin = wantCos
		} else {
			p := float64(step-warm) / float64(total-warm)
			wantCos = math.Max(0, 0.5*(1+math.Cos(math.Pi*p)))
			wantLin = math.Max(0, 1-p)
		}
		assert.InDelta(t, wantCos, cos.Factor(step), 1e-15, "cosine %d", step)
		assert.InDelta(t, wantLin, lin.Factor(step), 1e-15, "linear %d", step)
	}
	// Landmarks: half-way through warm-up, peak, mid-decay, end.
	assert.InDelta(t, 0.5, cos.Factor(5), 1e-15)
	assert.InDelta(t, 1.0, cos.Factor(10), 1e-15)
	assert.InDelta(t, 0.5, cos.Factor(60), 1e-12)
	assert.InDelta(t, 0.0, cos.Factor(110), 1e-15)
	assert.InDelta(t, 2e-5*0.5, cos.LR(2e-5, 60), 1e-17)
	c := ConstantWithWarmup(4)
	assert.Equal(t, []float64{0, 0.25, 0.5, 0.75, 1, 1}, []float64{c.Factor(0), c.Factor(1), c.Factor(2), c.Factor(3), c.Factor(4), c.Factor(1000)})
	assert.Equal(t, 1.0, ConstantWithWarmup(0).Factor(0))
	assert.Equal(t, 11, WarmupFromRatio(0.1, 101))
	assert.Equal(t, "cosine", ScheduleCosine.String())
}

func TestClipGradNorm(t *testing.T) {
	a := &tensor.Param{Name: "a", Value: tensor.New(2), Grad: mustT(t, 3, 4)}
	b := &tensor.Param{Name: "b", Value: tensor.New(1), Grad: mustT(t, 12)}
	frozen := &tensor.Param{Name: "f", Value: tensor.New(1)}
	ps := []*tensor.Param{a, b, frozen}
	n := ClipGradNorm(ps, 100)
	assert.InDelta(t, 13, n, 1e-6)
	assert.Equal(t, []float32{3, 4}, a.Grad.Data, "no clipping below max norm")
	n = ClipGradNorm(ps, 1.3)
	assert.InDelta(t, 13, n, 1e-6)
	coef := 1.3 / (13 + 1e-6)
	assert.InDeltaSlice(t, []float32{float32(3 * coef), float32(4 * coef)}, a.Grad.Data, 1e-7)
	assert.InDelta(t, 12*coef, b.Grad.Data[0], 1e-6)
	assert.InDelta(t, 1.3, ClipGradNorm(ps, 0), 1e-6)
}

func TestGradientAccumulation(t *testing.T) {
	p := &tensor.Param{Name: "p", Value: tensor.New(2), Grad: tensor.New(2)}
	acc := Accumulator{Steps: 3}
	micro := [][]float32{{1, 2}, {3, 4}, {5, 9}}
	var stepped []bool
	for _, g := range micro {
		for i := range g {
			p.Grad.Data[i] += g[i]
		}
		stepped = append(stepped, acc.Add())
	}
	assert.Equal(t, []bool{false, false, true}, stepped)
	acc.Finish([]*tensor.Param{p})
	assert.InDeltaSlice(t, []float32{3, 5}, p.Grad.Data, 1e-6)
	assert.Zero(t, acc.Pending())
	ZeroGrads([]*tensor.Param{p})
	assert.Equal(t, []float32{0, 0}, p.Grad.Data)
}
