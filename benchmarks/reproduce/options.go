package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/openmed/openmed/training/dapt"
)

// Corpora are the ten corpora of ../shared/data in the order of the results
// table (the OpenMed NER paper's public benchmarks, BC4CHEMD excepted).
var Corpora = []string{"AnatEM", "BC2GM", "BC5CDR-Chem", "BC5CDR-Disease", "BioNLP13CG",
	"CLL", "JNLPBA", "Linnaeus", "NCBI-Disease", "S800"}

// Init says where a fine-tuning run starts from.
type Init int

const (
	// InitPretrained starts from the encoder pre-trained by the pipeline.
	InitPretrained Init = iota
	// InitRandom starts from the saved random initialisation of the same
	// architecture (the pre-training's step-0 weights).
	InitRandom
)

// String returns "pretrained" or "random".
func (i Init) String() string {
	if i == InitRandom {
		return "random"
	}
	return "pretrained"
}

// Recipe is the from-scratch pre-training recipe (see README.md, "Recipe").
type Recipe struct {
	// Scratch is the encoder shape (BertConfig fields).
	Scratch dapt.Scratch
	// BlockLen is the packed sequence length (max_seq_length).
	BlockLen int
	// BatchSize is blocks per optimiser step.
	BatchSize int
	// LR is the peak learning rate; WarmupRatio the linear warm-up share.
	LR, WarmupRatio float64
	// MLMProb is the masking rate (BERT: 0.15, 80/10/10).
	MLMProb float64
	// HeldOut is the share of blocks kept for the MLM curve.
	HeldOut float64
	// MaxEpochs bounds the passes over the text; Minutes and TokensPerSec
	// turn the time budget into an epoch count (see epochCap).
	MaxEpochs    int
	Minutes      float64
	TokensPerSec float64
	// EvalEvery evaluates held-out loss/accuracy every N steps (the curve).
	EvalEvery int
	// SaveEvery checkpoints every N steps (resumability of a 90-minute job).
	SaveEvery int
}

// FineTune is the fine-tuning recipe shared by every corpus.
type FineTune struct {
	// MaxEpochs is num_train_epochs before the per-job cap (paper: 10).
	MaxEpochs int
	// LRLoRA and LRFull are the peak learning rates per method.
	LRLoRA, LRFull float64
	// BatchSize, MaxLen and Stride are the batch and window settings.
	BatchSize, MaxLen, Stride int
	// Patience is early stopping on dev micro-F1 (paper: 3).
	Patience int
	// MaxMinutesPerJob caps a job's estimated training time: the epoch
	// count becomes min(MaxEpochs, ⌊minutes·60·rate / train tokens⌋) ≥ 1
	// (training.Config has no step cap; see README.md).
	MaxMinutesPerJob float64
	// TokensPerSecLoRA and TokensPerSecFull are the throughput estimates
	// used by the cap (measured rates on this machine, quiet).
	TokensPerSecLoRA, TokensPerSecFull float64
	// SaveEvery checkpoints every N optimiser steps (0: per epoch).
	SaveEvery int
	// Dropout overrides the base's hidden/attention dropout when fine-tuning
	// (nil: the base config's). The pre-trained encoder is trained without
	// dropout and the random init carries BERT's 0.1: both fine-tune with 0.1.
	Dropout *float64
	// Ship is the recipe of the shipped taggers' own runs
	// (<corpus>/lora-ship, ShippedTaggers only).
	Ship ShipTune
}

// ShipTune is the LoRA recipe of the taggers shipped in models/: the grid's
// LoRA rows keep the paper's r 16 on query/value (§3.3), which on a
// 4-layer, 256-wide encoder pre-trained for 90 CPU minutes adapts too little
// to make a useful default tagger; these runs adapt every linear layer of
// the encoder (PEFT target_modules query, key, value, dense) at a higher
// rank and learning rate, and train longer. Still an adapter (≈2.4 MB,
// ~5% of the parameters) over the shared base, so the default tagger keeps
// one base and swappable adapters (§3.5). Ship takes whichever of
// lora-ship and lora-pretrained has the higher dev F1.
type ShipTune struct {
	// Enabled adds the lora-ship jobs to the graph (default on; --no-ship-jobs).
	Enabled bool
	// R, Alpha and Targets are the LoRA rank, alpha and target_modules.
	R       int
	Alpha   float64
	Targets []string
	// LR is the peak learning rate; MaxEpochs and MaxMinutes the epoch cap.
	LR         float64
	MaxEpochs  int
	MaxMinutes float64
}

// Options configure a pipeline invocation.
type Options struct {
	// Data is the folder with <corpus>/{train,devel,test}.tsv.
	Data string
	// Tokenizer is the PubMedBERT tokenizer folder.
	Tokenizer string
	// Work is the durable work dir (job states, runs, checkpoints).
	Work string
	// Out is where RESULTS.md is written.
	Out string
	// Corpora filters the corpora (--only); Jobs filters job names by
	// glob (--jobs); Methods and Inits restrict the grid.
	Corpora []string
	Jobs    []string
	Methods []string
	Inits   []Init
	// Budget stops the invocation cleanly after this long (0: none).
	Budget time.Duration
	// Seed is the seed of pre-training, random init and fine-tuning.
	Seed uint64
	// Threads is the engine worker count (0: all cores).
	Threads  int
	Pretrain Recipe
	FT       FineTune
	// DeBERTa is the optional DeBERTa-v3-shaped second encoder (--deberta).
	DeBERTa DeBERTa
	// Command is the invocation recorded in the results.
	Command string
}

// DefaultRecipe is the pre-training recipe for the 90-minute run on the
// 2-core machine (reasoning in README.md): 4 layers × 256 hidden, 4 heads,
// FFN 1024, 128-token blocks, batch 16 (2,048 tokens a step: more updates
// for the same tokens), peak lr 1e-3 with 10% warm-up and cosine decay,
// BERT masking, 2% held out, at most 90 minutes at a planned 4,000
// tokens/s (measured: 4,300 on two threads of the quiet machine with this
// recipe; 1,750–2,400 on one thread or under load) — 11 epochs of the
// 1.81M-token text, ≈9,700 steps. Three choices get a CPU-sized
// budget off the unigram plateau (measured in README.md): word embeddings
// (and the tied decoder) start from a PPMI-SVD of the same train text
// (Levy et al. 2015), positions from the sinusoidal table, and no dropout
// during pre-training (Geiping & Goldstein 2023); fine-tuning puts BERT's
// 0.1 back (FineTune.Dropout).
func DefaultRecipe() Recipe {
	noDropout := 0.0
	return Recipe{
		Scratch: dapt.Scratch{Layers: 4, Hidden: 256, Heads: 4, FFN: 1024, MaxPositions: 512,
			Dropout: &noDropout, PositionInit: dapt.PositionSinusoidal, EmbeddingInit: dapt.EmbeddingPPMISVD},
		BlockLen:  128,
		BatchSize: 16, LR: 1e-3, WarmupRatio: 0.1, MLMProb: 0.15, HeldOut: 0.02,
		MaxEpochs: 40, Minutes: 90, TokensPerSec: 4000,
		EvalEvery: 100, SaveEvery: 100,
	}
}

// DefaultFineTune is the paper's recipe (§3.3–3.4: 10 epochs, batch 16,
// patience 3, LoRA lr 5e-4) with full fine-tuning at 3e-4 (small encoders
// tolerate more than BERT-base's 5e-5), 128/32 windows (the pre-training's
// block length: positions past 128 were never trained) and a 20-minute cap
// per job.
func DefaultFineTune() FineTune {
	bertDropout := 0.1
	return FineTune{MaxEpochs: 10, LRLoRA: 5e-4, LRFull: 3e-4, BatchSize: 16, MaxLen: 128, Stride: 32, Patience: 3,
		MaxMinutesPerJob: 20, TokensPerSecLoRA: 3000, TokensPerSecFull: 1800, SaveEvery: 100, Dropout: &bertDropout,
		Ship: ShipTune{Enabled: true, R: 32, Alpha: 64, Targets: []string{"query", "key", "value", "dense"}, LR: 1e-3,
			MaxEpochs: 20, MaxMinutes: 40}}
}

// DefaultOptions returns the full reproduction grid with the work dir from
// $OPENMED_REPRO_DIR or ~/.cache/openmed/reproduce.
func DefaultOptions() Options {
	return Options{Work: DefaultWorkDir(), Methods: []string{"lora", "full"}, Inits: []Init{InitPretrained, InitRandom},
		Seed: 42, Pretrain: DefaultRecipe(), FT: DefaultFineTune(), DeBERTa: DefaultDeBERTa()}
}

// DefaultWorkDir is $OPENMED_REPRO_DIR, else ~/.cache/openmed/reproduce: the
// work tree is re-created between sessions, the home directory persists.
func DefaultWorkDir() string {
	if d := os.Getenv("OPENMED_REPRO_DIR"); d != "" {
		return d
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".cache", "openmed", "reproduce")
	}
	return filepath.Join(os.TempDir(), "openmed-reproduce")
}

// validate checks the options, naming the flag.
func (o *Options) validate() error {
	switch {
	case o.Data == "":
		return fmt.Errorf("reproduce: --data is required")
	case o.Tokenizer == "":
		return fmt.Errorf("reproduce: --tokenizer is required")
	case o.Work == "":
		return fmt.Errorf("reproduce: --work is required")
	case o.Pretrain.Scratch.Layers <= 0 || o.Pretrain.Scratch.Hidden <= 0 || o.Pretrain.Scratch.Heads <= 0:
		return fmt.Errorf("reproduce: --layers/--hidden/--heads must be positive (got %+v)", o.Pretrain.Scratch)
	case o.Pretrain.Scratch.Hidden%o.Pretrain.Scratch.Heads != 0:
		return fmt.Errorf("reproduce: --hidden %d is not a multiple of --heads %d", o.Pretrain.Scratch.Hidden, o.Pretrain.Scratch.Heads)
	case o.FT.MaxLen > o.Pretrain.Scratch.MaxPositions:
		return fmt.Errorf("reproduce: --ft-max-len %d exceeds --max-positions %d", o.FT.MaxLen, o.Pretrain.Scratch.MaxPositions)
	}
	for _, m := range o.Methods {
		if m != "lora" && m != "full" {
			return fmt.Errorf("reproduce: --methods: unknown method %q (lora, full)", m)
		}
	}
	for _, c := range o.Corpora {
		if !contains(Corpora, c) {
			return fmt.Errorf("reproduce: --only: unknown corpus %q (one of %v)", c, Corpora)
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
