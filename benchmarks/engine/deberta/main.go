// Command deberta benchmarks openmed's training engine on the
// deberta-v3-base shape (DebertaV2ForTokenClassification: 12 layers, 768
// hidden, 12 heads, 3072 FFN, vocab 128100, disentangled c2p+p2c attention
// over 256 log buckets, share_att_key) with PEFT LoRA on query_proj and
// value_proj. It loads the folder written by `peer_deberta.py prepare` —
// model/ (config.json, model.safetensors), adapter/ (PEFT adapter) and
// batch.json — so the PyTorch peer starts from the very same numbers.
//
// Before timing it does one check step with dropout off (HF model.eval()):
// the loss at the loaded weights (check_loss0) and, after that AdamW step,
// the loss again (check_loss1). deberta.sh compares both with the peer's.
// Then dropout is switched on and one training step — forward,
// label-smoothed cross-entropy (0.1), backward, AdamW (lr 5e-5, wd 0.01) —
// is timed; the median of --steps is reported with the peak RSS (VmHWM).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/openmed/openmed/benchmarks/internal/benchutil"
	"github.com/openmed/openmed/core/lora"
	"github.com/openmed/openmed/core/model"
	"github.com/openmed/openmed/core/tensor"
	"github.com/openmed/openmed/training/loss"
	"github.com/openmed/openmed/training/optim"
)

// Result is what one run reports (one JSON line with --json).
type Result struct {
	Threads int `json:"threads"`
	// Precision is the arithmetic of the Linear products (tensor.Precision).
	Precision string    `json:"precision"`
	Batch     int       `json:"batch"`
	Seq       int       `json:"seq"`
	MedianS   float64   `json:"median_s"`
	Steps     []float64 `json:"steps"`
	// CPUSPerStep is the process CPU time (user+system) per timed step.
	CPUSPerStep float64 `json:"cpu_s_per_step"`
	// PeakRSSMB is VmHWM (loading included); RSSEndMB is VmRSS after the steps.
	PeakRSSMB float64 `json:"peak_rss_mb"`
	RSSEndMB  float64 `json:"rss_end_mb"`
	LoadS     float64 `json:"load_s"`
	// CheckLoss0 and CheckLoss1 are the dropout-free losses before and after
	// the check step's AdamW update.
	CheckLoss0 float32 `json:"check_loss0"`
	CheckLoss1 float32 `json:"check_loss1"`
	LastLoss   float32 `json:"last_loss"`
	Trainable  int     `json:"trainable_params"`
	Total      int     `json:"total_params"`
	Go         string  `json:"go"`
	// BLASCore is the OpenBLAS kernel set in use (tensor.BLASCore).
	BLASCore string `json:"blas_core"`
}

// batchFile is peer_deberta.py's batch.json.
type batchFile struct {
	Batch         int     `json:"batch"`
	Seq           int     `json:"seq"`
	InputIDs      []int32 `json:"input_ids"`
	AttentionMask []int32 `json:"attention_mask"`
	Labels        []int32 `json:"labels"`
}

func main() {
	dir := flag.String("dir", "", "folder written by `peer_deberta.py prepare` (model/, adapter/, batch.json)")
	steps := flag.Int("steps", 5, "timed steps (median reported)")
	warmup := flag.Int("warmup", 1, "untimed training steps after the check step")
	threads := flag.Int("threads", 0, "threads for OpenBLAS and Go kernels (0 = OPENMED_THREADS or all cores)")
	jsonOut := flag.Bool("json", false, "print one JSON line")
	prec := tensor.FP32
	flag.TextVar(&prec, "precision", tensor.FP32, "arithmetic of the Linear products: fp32 or bf16 (the check losses are then bf16's)")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "deberta: --dir is required (run `peer_deberta.py prepare --out DIR` first)")
		os.Exit(2)
	}
	if err := tensor.SetPrecision(prec); err != nil {
		fmt.Fprintln(os.Stderr, "deberta:", err)
		os.Exit(1)
	}
	res, err := run(*dir, *steps, *warmup, *threads)
	if err != nil {
		fmt.Fprintln(os.Stderr, "deberta:", err)
		os.Exit(1)
	}
	if *jsonOut {
		b, _ := json.Marshal(res)
		fmt.Println(string(b))
		return
	}
	fmt.Printf("openmed engine: deberta-v2 LoRA step, batch %dx%d, %d threads (%s kernels)\n", res.Batch, res.Seq, res.Threads, res.BLASCore)
	fmt.Printf("  check loss      %.6f -> %.6f (dropout off)\n", res.CheckLoss0, res.CheckLoss1)
	fmt.Printf("  median step     %.3f s  (steps %v)\n", res.MedianS, res.Steps)
	fmt.Printf("  CPU per step    %.3f s\n", res.CPUSPerStep)
	fmt.Printf("  peak RSS        %.0f MB (%.0f MB at the end)\n", res.PeakRSSMB, res.RSSEndMB)
	fmt.Printf("  trainable       %d / %d\n", res.Trainable, res.Total)
}

func readBatch(path string) (*model.Batch, []int32, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	var bf batchFile
	if err := json.Unmarshal(data, &bf); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	n := bf.Batch * bf.Seq
	if n <= 0 || len(bf.InputIDs) != n || len(bf.AttentionMask) != n || len(bf.Labels) != n {
		return nil, nil, fmt.Errorf("%s: want %d×%d input_ids, attention_mask and labels, got %d, %d, %d",
			path, bf.Batch, bf.Seq, len(bf.InputIDs), len(bf.AttentionMask), len(bf.Labels))
	}
	b := &model.Batch{Batch: bf.Batch, SeqLen: bf.Seq, InputIDs: bf.InputIDs, AttentionMask: make([]float32, n)}
	for i, m := range bf.AttentionMask {
		b.AttentionMask[i] = float32(m)
	}
	return b, bf.Labels, b.Validate()
}

func run(dir string, steps, warmup, threads int) (*Result, error) {
	if threads > 0 {
		tensor.SetThreads(threads)
	}
	res := &Result{Threads: tensor.Threads(), Precision: tensor.CurrentPrecision().String(), Go: runtime.Version(), BLASCore: tensor.BLASCore()}
	t0 := time.Now()
	m, err := model.Load(filepath.Join(dir, "model"), model.TokenClassification)
	if err != nil {
		return nil, err
	}
	if m.Arch != model.DeBERTaV2 {
		return nil, fmt.Errorf("%s: model is %s, not deberta-v2", dir, m.Arch.Prefix())
	}
	if _, err := lora.Load(m, filepath.Join(dir, "adapter")); err != nil {
		return nil, err
	}
	b, labels, err := readBatch(filepath.Join(dir, "batch.json"))
	if err != nil {
		return nil, err
	}
	res.LoadS = time.Since(t0).Seconds()
	res.Batch, res.Seq = b.Batch, b.SeqLen
	res.Total, res.Trainable = m.NumParams()
	opt, err := optim.NewAdamW(m.TrainableParams(), optim.WithLR(5e-5), optim.WithWeightDecay(0.01))
	if err != nil {
		return nil, err
	}
	n, c := b.Tokens(), m.Config.NumLabels()
	dl := make([]float32, n*c)
	forwardLoss := func(grad bool) (float32, error) {
		logits, err := m.Forward(b)
		if err != nil {
			return 0, err
		}
		var d []float32
		if grad {
			d = dl
		}
		l, _, err := loss.CrossEntropyChecked(logits.Data, n, c, labels, 0.1, d)
		return l, err
	}
	step := func() (float32, error) {
		l, err := forwardLoss(true)
		if err != nil {
			return 0, err
		}
		opt.ZeroGrad()
		if err := m.Backward(dl); err != nil {
			return 0, err
		}
		opt.Step()
		return l, nil
	}
	m.SetTraining(false) // check step: dropout off on both sides
	if res.CheckLoss0, err = step(); err != nil {
		return nil, err
	}
	if res.CheckLoss1, err = forwardLoss(false); err != nil {
		return nil, err
	}
	m.SetTraining(true)
	for i := 0; i < warmup; i++ {
		if res.LastLoss, err = step(); err != nil {
			return nil, err
		}
	}
	cpu0 := benchutil.CPUSeconds()
	for i := 0; i < steps; i++ {
		t := time.Now()
		if res.LastLoss, err = step(); err != nil {
			return nil, err
		}
		res.Steps = append(res.Steps, time.Since(t).Seconds())
	}
	if steps > 0 {
		res.CPUSPerStep = (benchutil.CPUSeconds() - cpu0) / float64(steps)
		res.MedianS = benchutil.Median(res.Steps)
	}
	res.PeakRSSMB = benchutil.ProcStatusMB("VmHWM")
	res.RSSEndMB = benchutil.ProcStatusMB("VmRSS")
	return res, nil
}
