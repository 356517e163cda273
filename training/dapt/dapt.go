package dapt

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/encoder"
	"github.com/openmed/openmed/core/lora"
	"github.com/openmed/openmed/core/model"
	"github.com/openmed/openmed/core/tensor"
	"github.com/openmed/openmed/core/tokenize"
	"github.com/openmed/openmed/training"
	"github.com/openmed/openmed/training/loop"
)

// Result is a finished DAPT run.
type Result struct {
	// Model is the trained masked-LM model (LoRA merged into the weights).
	Model *model.Model
	// Before and After are the held-out evaluations of the initial and final
	// (best held-out) weights.
	Before, After HeldOut
	// Loop summarises optimisation.
	Loop *loop.Result
	// TrainBlocks and HeldOutBlocks count the packed sequences.
	TrainBlocks, HeldOutBlocks int
	Out                        string
	// NewHead names the MLM-head parameters the base lacked; they were
	// initialised as HF does and trained (with LoRA too).
	NewHead []string
	// Text describes the corpus text used (nil without Config.Corpora).
	Text *TextStats
}

const beforeFile = "heldout_before.json"

// AdapterDir is the folder inside a LoRA DAPT run's output holding the DAPT
// LoRA matrices alone (PEFT layout, task_type FEATURE_EXTRACTION).
const AdapterDir = "dapt_adapter"

// Run pre-trains (or domain-adapts) an encoder (BERT, ELECTRA, DeBERTa-v2/v3) with masked-LM on cfg.Text
// and writes an HF XxxForMaskedLM folder (BertForMaskedLM, ElectraForMaskedLM or
// DebertaV2ForMaskedLM, after the base; config.json, model.safetensors,
// tokenizer files) that `openmed train --base` accepts, plus metrics.json,
// metrics.jsonl and mlm_curve.jsonl.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if !cfg.FromScratch {
		base, err := encoder.Resolve(cfg.Base)
		if err != nil {
			return nil, err
		}
		cfg.Base = base
	}
	if cfg.Threads > 0 {
		tensor.SetThreads(cfg.Threads)
	}
	restore, err := tensor.UsePrecision(cfg.Precision)
	if err != nil {
		return nil, err
	}
	defer restore()
	tokPath := cfg.Tokenizer
	if tokPath == "" {
		tokPath = cfg.Base
	}
	tok, err := tokenize.Load(tokPath)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	sp := tok.Special()
	if sp.MASK < 0 {
		return nil, fmt.Errorf("dapt: tokenizer %s has no [MASK] token", tokPath)
	}
	m, freshHead, err := buildModel(cfg, tok)
	if err != nil {
		return nil, err
	}
	if tv, mv := tok.VocabSize(), m.Config.VocabSize; tv > mv {
		return nil, fmt.Errorf("dapt: tokenizer/model mismatch: the tokenizer has %d tokens but the model's vocab_size is %d", tv, mv)
	}
	if cfg.BlockLen > m.Config.MaxPositionEmbeddings {
		return nil, fmt.Errorf("dapt: block length %d exceeds max_position_embeddings %d", cfg.BlockLen, m.Config.MaxPositionEmbeddings)
	}
	var lines []string
	if len(cfg.Text) > 0 {
		if lines, err = ReadLines(cfg.Text); err != nil {
			return nil, err
		}
	}
	var textStats *TextStats
	if cfg.Corpora != "" {
		more, st, err := CorpusText(cfg.Corpora, nil)
		if err != nil {
			return nil, err
		}
		lines, textStats = append(lines, more...), st
	}
	blocks, err := Pack(tok, lines, cfg.BlockLen, tensor.Threads())
	if err != nil {
		return nil, err
	}
	if len(blocks) < 2 {
		return nil, fmt.Errorf("dapt: the text (%v %s) packs into %d block(s) of %d tokens; need at least 2 (one held out)", cfg.Text, cfg.Corpora, len(blocks), cfg.BlockLen)
	}
	r := rand.New(rand.NewPCG(cfg.Seed, 0x68656c64))
	perm := r.Perm(len(blocks))
	nHeld := max(1, int(math.Round(cfg.HeldOut*float64(len(blocks)))))
	nHeld = min(nHeld, len(blocks)-1)
	pad := sp.PAD
	if pad < 0 {
		pad = 0
	}
	masker := &Masker{Opts: cfg.Mask, MaskID: sp.MASK, VocabSize: tok.VocabSize(), Special: map[int32]bool{}}
	for _, id := range []int32{sp.CLS, sp.SEP, sp.PAD} {
		if id >= 0 {
			masker.Special[id] = true
		}
	}
	obj := &mlmObjective{m: m, masker: masker, batchSize: cfg.BatchSize, pad: pad, seed: cfg.Seed, epoch: -1}
	for i, k := range perm {
		if i < nHeld {
			in, lab := masker.Mask(blocks[k], r)
			obj.held = append(obj.held, maskedBlock{in, lab})
		} else if cfg.MaxTrainBlocks <= 0 || len(obj.train) < cfg.MaxTrainBlocks {
			obj.train = append(obj.train, blocks[k])
		}
	}
	resuming := false
	if cfg.Resume {
		_, err := loop.LatestCheckpoint(cfg.Out)
		resuming = err == nil
	}
	// A resumed run's weights come from its checkpoint: the warm start would
	// be computed only to be overwritten.
	if cfg.FromScratch && cfg.Scratch.EmbeddingInit == EmbeddingPPMISVD && !resuming {
		if _, err := initPPMIEmbeddings(m, tok, lines, blocks, perm[nHeld:], cfg.BlockLen, cfg.Seed, cfg.Out); err != nil {
			return nil, err
		}
	}
	var ad *lora.Adapter
	if cfg.Method == training.MethodLoRA {
		// training_args.json records the modules actually adapted.
		cfg.LoRA.Targets = training.ResolveLoRATargets(m.Arch, cfg.LoRA.Targets)
		lc := lora.NewConfig(lora.WithRank(cfg.LoRA.R), lora.WithAlpha(cfg.LoRA.Alpha), lora.WithDropout(cfg.LoRA.Dropout),
			lora.WithTargets(cfg.LoRA.Targets...), lora.WithSeed(cfg.Seed))
		lc.ModulesToSave = nil
		if ad, err = lora.Apply(m, lc); err != nil {
			return nil, err
		}
		// A release without an MLM head (sentence-transformers, ONNX
		// embedders) gets a new one, trained with the LoRA matrices
		// (issue 18): frozen at its random init it would teach nothing.
		unfreeze(m, freshHead)
	}
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return nil, err
	}
	res := &Result{Model: m, TrainBlocks: len(obj.train), HeldOutBlocks: len(obj.held), Out: cfg.Out, NewHead: freshHead, Text: textStats}
	beforePath := filepath.Join(cfg.Out, beforeFile)
	if cfg.Resume {
		b, err := os.ReadFile(beforePath)
		if err != nil {
			return nil, fmt.Errorf("dapt: resume: %w", err)
		}
		if err := json.Unmarshal(b, &res.Before); err != nil {
			return nil, fmt.Errorf("%s: %w", beforePath, err)
		}
	} else {
		if res.Before, err = obj.heldOut(); err != nil {
			return nil, err
		}
		if err := training.WriteJSON(beforePath, res.Before); err != nil {
			return nil, err
		}
	}
	lr, err := loop.Run(ctx, loop.Config{Model: m, Adapter: ad, Epochs: cfg.Epochs, GradAccum: cfg.GradAccum,
		LR: cfg.LR, WarmupRatio: cfg.WarmupRatio, WeightDecay: cfg.WeightDecay, MaxGradNorm: cfg.MaxGradNorm, Seed: cfg.Seed,
		Dir: cfg.Out, EvalEvery: cfg.EvalEvery, CheckpointEvery: cfg.CheckpointEvery, LogEvery: cfg.LogEvery, Resume: cfg.Resume,
		Progress: cfg.Progress}, obj)
	if err != nil {
		return nil, err
	}
	res.Loop = lr
	if res.After, err = obj.heldOut(); err != nil {
		return nil, err
	}
	if ad != nil {
		// The DAPT delta on its own (PEFT folder, the MLM head left out):
		// the released encoder plus this adapter is the adapted encoder, so
		// a tagger can ship the adapter and take the base from the cache.
		pc := ad.PeftConfig(cfg.Base)
		pc.TaskType = checkpoint.TaskFeatureExtraction
		sd := ad.StateDict()
		for k := range sd {
			if !strings.Contains(k, ".lora_") {
				delete(sd, k)
			}
		}
		if err := checkpoint.SaveAdapter(filepath.Join(cfg.Out, AdapterDir), pc, sd); err != nil {
			return nil, err
		}
		ad.Merge()
	}
	if err := writeOutputs(cfg, tokPath, res); err != nil {
		return nil, err
	}
	return res, nil
}

// buildModel creates the masked-LM model: from scratch with HF's init, or
// from the base folder (a missing MLM head is initialised as HF does and its
// parameter names are returned).
func buildModel(cfg Config, tok *tokenize.Tokenizer) (*model.Model, []string, error) {
	if cfg.FromScratch {
		s := cfg.Scratch
		if s.MaxPositions == 0 {
			s.MaxPositions = 512
		}
		c, err := ScratchConfig(*s, tok)
		if err != nil {
			return nil, nil, err
		}
		m, err := model.New(c, model.MaskedLM, cfg.Seed)
		if err != nil {
			return nil, nil, fmt.Errorf("dapt: from scratch: %w", err)
		}
		if s.PositionInit == PositionSinusoidal {
			sinusoidalInit(m.Encoder.Embeddings.Position.Value.Data, s.MaxPositions, s.Hidden, 0.02)
		}
		return m, nil, nil
	}
	c, err := checkpoint.LoadConfig(cfg.Base)
	if err != nil {
		return nil, nil, err
	}
	m, err := model.New(c, model.MaskedLM, cfg.Seed)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", cfg.Base, err)
	}
	sd, err := checkpoint.LoadWeights(cfg.Base)
	if err != nil {
		return nil, nil, err
	}
	for k := range sd {
		if strings.HasPrefix(k, "classifier.") {
			delete(sd, k)
		}
	}
	missing, _, err := m.LoadStateDict(sd)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", cfg.Base, err)
	}
	return m, missing, nil
}

// unfreeze makes the named parameters of m trainable.
func unfreeze(m *model.Model, names []string) {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	for _, p := range m.Params() {
		if want[p.Name] && p.Grad == nil {
			p.Grad = tensor.New(p.Value.Shape...)
		}
	}
}

// writeOutputs writes the XxxForMaskedLM folder (maskedLMClass) and the run's logs.
func writeOutputs(cfg Config, tokPath string, res *Result) error {
	out := cfg.Out
	m := res.Model
	m.Config.Architectures = []string{maskedLMClass(m.Arch)}
	if err := checkpoint.WriteSafetensors(filepath.Join(out, checkpoint.SafeWeightsFile), m.StateDict(), map[string]string{"format": "pt"}); err != nil {
		return err
	}
	if err := m.Config.Save(filepath.Join(out, checkpoint.ConfigFile)); err != nil {
		return err
	}
	if _, err := tokenize.CopyFiles(tokPath, out); err != nil {
		return err
	}
	if err := training.WriteJSON(filepath.Join(out, "training_args.json"), cfg); err != nil {
		return err
	}
	total, trainable := m.NumParams()
	if err := training.WriteJSON(filepath.Join(out, "metrics.json"), map[string]any{
		"heldout_before": res.Before, "heldout_after": res.After, "epochs": res.Loop.Epochs, "steps": res.Loop.Steps,
		"train_blocks": res.TrainBlocks, "heldout_blocks": res.HeldOutBlocks, "train_tokens": res.Loop.Tokens,
		"train_tokens_per_s": res.Loop.TokensPerSec, "wall_time_s": res.Loop.Wall.Seconds(),
		"total_params": total, "trainable_params_after_merge": trainable, "method": cfg.Method,
		"new_mlm_head": res.NewHead, "corpus_text": res.Text,
	}); err != nil {
		return err
	}
	return writeCurve(out, res.Before)
}

// writeCurve derives mlm_curve.jsonl (step, train loss since the previous
// evaluation, held-out loss and accuracy) from metrics.jsonl, which the loop
// keeps consistent across resumes; step 0 is the initial evaluation.
func writeCurve(out string, before HeldOut) error {
	f, err := os.Open(filepath.Join(out, "metrics.jsonl"))
	if err != nil {
		return err
	}
	defer f.Close()
	var b strings.Builder
	line := func(v map[string]any) {
		j, _ := json.Marshal(v)
		b.Write(j)
		b.WriteByte('\n')
	}
	line(map[string]any{"step": 0, "heldout_loss": before.Loss, "heldout_accuracy": before.Accuracy})
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<24)
	for sc.Scan() {
		var v map[string]any
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			return fmt.Errorf("metrics.jsonl: %w", err)
		}
		if _, ok := v["heldout_loss"]; !ok {
			continue
		}
		c := map[string]any{"step": v["step"], "heldout_loss": v["heldout_loss"], "heldout_accuracy": v["heldout_accuracy"]}
		if tl, ok := v["train_loss_since_eval"]; ok {
			c["train_loss"] = tl
		}
		line(c)
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return checkpoint.WriteFileAtomic(filepath.Join(out, "mlm_curve.jsonl"), []byte(b.String()))
}
