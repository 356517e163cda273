// Command engine benchmarks openmed's training engine on a BERT-base shape
// (12 layers, 768 hidden, 12 heads, 3072 FFN, vocab 30522, random weights)
// with LoRA on query/value: one full training step is forward, label-smoothed
// cross-entropy, backward and AdamW. It also measures the machine's SGEMM
// peak (2048³ cblas_sgemm) in the same run, the step's GFLOP count from the
// shapes, the achieved GFLOP/s and the peak RSS (VmHWM). run.sh runs it next
// to the PyTorch peer (peer_torch.py) and prints the ratios.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"time"

	"github.com/openmed/openmed/benchmarks/internal/benchutil"
	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/lora"
	"github.com/openmed/openmed/core/model"
	"github.com/openmed/openmed/core/tensor"
	"github.com/openmed/openmed/training/loss"
	"github.com/openmed/openmed/training/optim"
)

type options struct {
	batch, seq, steps, warmup, threads int
	layers, hidden, heads, ffn, vocab  int
	labels, rank                       int
	alpha                              float64
	peakN                              int
	full                               bool
	jsonOut                            bool
	cpuProfile                         string
	precision                          tensor.Precision
}

// Result is what one benchmark run reports (JSON with --json).
type Result struct {
	Threads int    `json:"threads"`
	Batch   int    `json:"batch"`
	Seq     int    `json:"seq"`
	Mode    string `json:"mode"`
	// Precision is the arithmetic of the Linear products (tensor.Precision)
	// and Kernel oneDNN's kernel under bf16.
	Precision      string    `json:"precision"`
	Kernel         string    `json:"kernel,omitempty"`
	MedianS        float64   `json:"median_s"`
	Steps          []float64 `json:"steps"`
	StepGFLOP      float64   `json:"step_gflop"`
	AchievedGFLOPS float64   `json:"achieved_gflops"`
	SgemmN         int       `json:"sgemm_n,omitempty"`
	SgemmGFLOPS    float64   `json:"sgemm_peak_gflops,omitempty"`
	PctOfPeak      float64   `json:"pct_of_sgemm_peak,omitempty"`
	// ShapeGFLOPS is the throughput of one encoder layer's Linear products
	// at the step's own shapes (forward and input gradient, as the engine
	// calls them: tensor.GemmParallel), the ceiling a step made of them can
	// reach on this host; PctOfShapePeak is the step's share of it.
	ShapeGFLOPS    float64 `json:"shape_peak_gflops,omitempty"`
	PctOfShapePeak float64 `json:"pct_of_shape_peak,omitempty"`
	PeakRSSMB      float64 `json:"peak_rss_mb"`
	// CPUSPerStep is the process CPU time (user+system) per timed step: on a
	// shared machine it shows the work done independently of waiting.
	CPUSPerStep float64 `json:"cpu_s_per_step"`
	Trainable   int     `json:"trainable_params"`
	Total       int     `json:"total_params"`
	Loss        float32 `json:"last_loss"`
	Go          string  `json:"go"`
	// BLASCore is the OpenBLAS kernel set in use (see tensor.BLASCore).
	BLASCore string `json:"blas_core"`
}

func main() {
	var o options
	flag.IntVar(&o.batch, "batch", 8, "sequences per batch")
	flag.IntVar(&o.seq, "seq", 128, "tokens per sequence")
	flag.IntVar(&o.steps, "steps", 5, "timed steps (median reported)")
	flag.IntVar(&o.warmup, "warmup", 1, "untimed steps first")
	flag.IntVar(&o.threads, "threads", 0, "threads for OpenBLAS and Go kernels (0 = OPENMED_THREADS or all cores)")
	flag.IntVar(&o.layers, "layers", 12, "encoder layers")
	flag.IntVar(&o.hidden, "hidden", 768, "hidden size")
	flag.IntVar(&o.heads, "heads", 12, "attention heads")
	flag.IntVar(&o.ffn, "ffn", 3072, "intermediate size")
	flag.IntVar(&o.vocab, "vocab", 30522, "vocabulary size")
	flag.IntVar(&o.labels, "labels", 9, "BIO labels")
	flag.IntVar(&o.rank, "r", 16, "LoRA rank")
	flag.Float64Var(&o.alpha, "alpha", 32, "LoRA alpha")
	flag.IntVar(&o.peakN, "peak", 2048, "size n of the n³ SGEMM peak measurement (0 = skip)")
	flag.BoolVar(&o.full, "full", false, "full fine-tuning instead of LoRA")
	flag.BoolVar(&o.jsonOut, "json", false, "print one JSON line")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the timed steps to this file")
	flag.TextVar(&o.precision, "precision", tensor.FP32, "arithmetic of the Linear products: fp32 or bf16")
	flag.Parse()
	res, err := run(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "engine:", err)
		os.Exit(1)
	}
	if o.jsonOut {
		b, _ := json.Marshal(res)
		fmt.Println(string(b))
		return
	}
	fmt.Printf("openmed engine: %s step (%s %s), batch %dx%d, %d threads\n", res.Mode, res.Precision, res.Kernel, res.Batch, res.Seq, res.Threads)
	fmt.Printf("  median step     %.3f s  (steps %v)\n", res.MedianS, res.Steps)
	fmt.Printf("  step work       %.1f GFLOP -> %.1f GFLOP/s\n", res.StepGFLOP, res.AchievedGFLOPS)
	if res.SgemmN > 0 {
		fmt.Printf("  sgemm %d^3 peak %.1f GFLOP/s -> %.1f%% of peak\n", res.SgemmN, res.SgemmGFLOPS, res.PctOfPeak)
		fmt.Printf("  layer GEMMs     %.1f GFLOP/s at the step's shapes -> %.1f%% of that\n", res.ShapeGFLOPS, res.PctOfShapePeak)
	}
	fmt.Printf("  CPU per step    %.3f s (user+system)\n", res.CPUSPerStep)
	fmt.Printf("  peak RSS        %.0f MB\n", res.PeakRSSMB)
	fmt.Printf("  trainable       %d / %d\n", res.Trainable, res.Total)
}

func run(o options) (*Result, error) {
	if o.threads > 0 {
		tensor.SetThreads(o.threads)
	}
	if err := tensor.SetPrecision(o.precision); err != nil {
		return nil, err
	}
	res := &Result{Threads: tensor.Threads(), Batch: o.batch, Seq: o.seq, Mode: "lora", Precision: o.precision.String(), Go: runtime.Version(), BLASCore: tensor.BLASCore()}
	if o.full {
		res.Mode = "full"
	}
	if o.peakN > 0 {
		res.SgemmN = o.peakN
		res.SgemmGFLOPS = sgemmPeak(o.peakN)
		res.ShapeGFLOPS = shapePeak(o.batch*o.seq, o.hidden, o.ffn)
	}
	id2label := map[int]string{}
	for i := 0; i < o.labels; i++ {
		id2label[i] = "L" + strconv.Itoa(i)
	}
	cfg := &checkpoint.Config{ModelType: checkpoint.ModelBERT, VocabSize: o.vocab, HiddenSize: o.hidden,
		NumHiddenLayers: o.layers, NumAttentionHeads: o.heads, IntermediateSize: o.ffn, HiddenAct: checkpoint.ActGELU,
		HiddenDropoutProb: 0.1, AttentionProbsDropoutProb: 0.1, MaxPositionEmbeddings: max(512, o.seq),
		TypeVocabSize: 2, LayerNormEps: 1e-12, PadTokenID: 0, InitializerRange: 0.02, ID2Label: id2label}
	m, err := model.New(cfg, model.TokenClassification, 1)
	if err != nil {
		return nil, err
	}
	if !o.full {
		if _, err := lora.Apply(m, lora.NewConfig(lora.WithRank(o.rank), lora.WithAlpha(o.alpha), lora.WithDropout(0.1), lora.WithSeed(1))); err != nil {
			return nil, err
		}
	}
	res.Total, res.Trainable = m.NumParams()
	opt, err := optim.NewAdamW(m.TrainableParams(), optim.WithLR(5e-5), optim.WithWeightDecay(0.01))
	if err != nil {
		return nil, err
	}
	m.SetTraining(true)
	r := rand.New(rand.NewPCG(1, 2))
	n := o.batch * o.seq
	b := &model.Batch{Batch: o.batch, SeqLen: o.seq, InputIDs: make([]int32, n), TokenTypeIDs: make([]int32, n), AttentionMask: make([]float32, n)}
	labels := make([]int32, n)
	for i := range b.InputIDs {
		b.InputIDs[i] = int32(1 + r.IntN(o.vocab-1))
		b.AttentionMask[i] = 1
		labels[i] = int32(r.IntN(o.labels))
		if i%o.seq == 0 || r.Float64() < 0.3 {
			labels[i] = -100
		}
	}
	dl := make([]float32, n*o.labels)
	step := func() error {
		logits, err := m.Forward(b)
		if err != nil {
			return err
		}
		l, _, err := loss.CrossEntropyChecked(logits.Data, n, o.labels, labels, 0.1, dl)
		if err != nil {
			return err
		}
		res.Loss = l
		opt.ZeroGrad()
		if err := m.Backward(dl); err != nil {
			return err
		}
		opt.Step()
		return nil
	}
	for i := 0; i < o.warmup; i++ {
		if err := step(); err != nil {
			return nil, err
		}
	}
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, err
		}
		defer pprof.StopCPUProfile()
	}
	cpu0 := benchutil.CPUSeconds()
	for i := 0; i < o.steps; i++ {
		t0 := time.Now()
		if err := step(); err != nil {
			return nil, err
		}
		res.Steps = append(res.Steps, time.Since(t0).Seconds())
	}
	if o.steps > 0 {
		res.CPUSPerStep = (benchutil.CPUSeconds() - cpu0) / float64(o.steps)
	}
	res.MedianS = benchutil.Median(res.Steps)
	res.StepGFLOP = StepFLOPs(o) / 1e9
	if res.MedianS > 0 {
		res.AchievedGFLOPS = res.StepGFLOP / res.MedianS
	}
	if res.SgemmGFLOPS > 0 {
		res.PctOfPeak = 100 * res.AchievedGFLOPS / res.SgemmGFLOPS
	}
	if res.ShapeGFLOPS > 0 {
		res.PctOfShapePeak = 100 * res.AchievedGFLOPS / res.ShapeGFLOPS
	}
	res.PeakRSSMB = benchutil.ProcStatusMB("VmHWM")
	res.Kernel = tensor.BF16Kernel()
	return res, nil
}

// sgemmPeak times n×n×n products at the current precision
// (tensor.GemmParallel: OpenBLAS sgemm in fp32, oneDNN with its operand
// conversions in bf16) and returns the best GFLOP/s of 3 runs each with
// OpenBLAS's own threading and with openmed's Go-level split, so the
// reference is the best this machine does in either mode.
func sgemmPeak(n int) float64 {
	a := make([]float32, n*n)
	b := make([]float32, n*n)
	c := make([]float32, n*n)
	for i := range a {
		a[i] = float32(i%7) * 0.01
		b[i] = float32(i%5) * 0.01
	}
	best := 0.0
	for _, split := range []bool{false, true} {
		tensor.SetGoGemmSplit(split)
		tensor.GemmParallel(tensor.NoTrans, tensor.NoTrans, n, n, n, 1, a, n, b, n, 0, c, n)
		for i := 0; i < 3; i++ {
			t0 := time.Now()
			tensor.GemmParallel(tensor.NoTrans, tensor.NoTrans, n, n, n, 1, a, n, b, n, 0, c, n)
			g := 2 * float64(n) * float64(n) * float64(n) / time.Since(t0).Seconds() / 1e9
			best = max(best, g)
		}
	}
	tensor.SetGoGemmSplit(os.Getenv(tensor.GemmSplitEnv) != "openblas")
	return best
}

// shapePeak times one encoder layer's Linear products at the step's shapes
// — for N tokens, hidden H and FFN F: the four H→H projections, H→F and
// F→H, forward (Y = X·Wᵀ) and input gradient (dX = dY·W) — through
// tensor.GemmParallel as the engine runs them, and returns the best of three
// rounds in GFLOP/s.
func shapePeak(n, h, f int) float64 {
	type shape struct{ in, out int }
	shapes := []shape{{h, h}, {h, h}, {h, h}, {h, h}, {h, f}, {f, h}}
	x := make([]float32, n*max(h, f))
	y := make([]float32, n*max(h, f))
	w := make([]float32, h*f)
	for i := range x {
		x[i] = float32(i%7) * 0.01
	}
	for i := range w {
		w[i] = float32(i%5) * 0.01
	}
	round := func() float64 {
		flops := 0.0
		t0 := time.Now()
		for _, sh := range shapes {
			tensor.GemmParallel(tensor.NoTrans, tensor.Trans, n, sh.out, sh.in, 1, x, sh.in, w, sh.in, 0, y, sh.out)
			tensor.GemmParallel(tensor.NoTrans, tensor.NoTrans, n, sh.in, sh.out, 1, y, sh.out, w, sh.in, 0, x, sh.in)
			flops += 4 * float64(n) * float64(sh.in) * float64(sh.out)
		}
		return flops / time.Since(t0).Seconds() / 1e9
	}
	round() // warm-up
	best := 0.0
	for i := 0; i < 3; i++ {
		best = max(best, round())
	}
	return best
}

// StepFLOPs counts the multiply-adds (×2) of the GEMMs one training step
// runs, from the shapes: forward projections, attention scores and context,
// LoRA branches, classifier; backward input gradients (none for layer 0's
// frozen q/k/v inputs), attention gradients (no dK in layer 0, whose key is
// frozen and whose input needs no gradient), LoRA and classifier weight
// gradients. Element-wise work (softmax, LayerNorm, GELU) is not counted.
func StepFLOPs(o options) float64 {
	N := float64(o.batch * o.seq)
	H, F := float64(o.hidden), float64(o.ffn)
	L := float64(o.seq)
	BH := float64(o.batch * o.heads)
	d := H / float64(o.heads)
	r := float64(o.rank)
	C := float64(o.labels)
	attn := 2 * BH * L * L * d // one of the four L×L×d products
	lin := func(in, out float64) float64 { return 2 * N * in * out }
	var total float64
	for i := 0; i < o.layers; i++ {
		// Forward.
		total += 4*lin(H, H) + lin(H, F) + lin(F, H) + 2*attn
		if o.full {
			// Backward: dx and dW for every Linear; dP, dV, dQ, dK.
			total += 2 * (4*lin(H, H) + lin(H, F) + lin(F, H))
			total += 4 * attn
			continue
		}
		total += 2 * (lin(H, r) + lin(r, H)) // LoRA forward on q, v
		// Backward input gradients of O, FFN1, FFN2.
		total += lin(H, H) + lin(H, F) + lin(F, H)
		// Attention: dP and dV always, dQ always (LoRA on q), dK unless layer 0.
		total += 3 * attn
		if i > 0 {
			total += attn
			total += 3 * lin(H, H) // q/k/v input gradients
			total += 2 * lin(r, H) // LoRA dx (du·A) for q, v
		}
		total += 2 * (lin(H, r) + lin(H, r) + lin(r, H)) // dB, du, dA for q and v
	}
	total += 3 * lin(H, C) // classifier forward, dW, dx
	if o.full {
		total += 0 // embedding gradients are scatter-adds, not GEMMs
	}
	return total
}
