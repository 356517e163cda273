package training

import (
	"errors"
	"fmt"
	"strings"

	"github.com/openmed/openmed/core/jsonconf"
	"github.com/openmed/openmed/core/tensor"
	"github.com/openmed/openmed/core/tokenize"
	"github.com/openmed/openmed/training/loop"
	"github.com/openmed/openmed/training/optim"
)

// Method selects what is trained.
type Method int

const (
	// MethodLoRA trains LoRA adapters plus the classifier (modules_to_save),
	// the paper's setting (§3.3).
	MethodLoRA Method = iota
	// MethodFull fine-tunes every parameter.
	MethodFull
)

// String returns "lora" or "full".
func (m Method) String() string {
	if m == MethodFull {
		return "full"
	}
	return "lora"
}

// MarshalText implements encoding.TextMarshaler.
func (m Method) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler ("lora" / "full").
func (m *Method) UnmarshalText(b []byte) error {
	v, err := ParseMethod(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// ParseMethod parses "lora" or "full".
func ParseMethod(s string) (Method, error) {
	switch strings.ToLower(s) {
	case "lora":
		return MethodLoRA, nil
	case "full":
		return MethodFull, nil
	}
	return 0, fmt.Errorf("training: unknown method %q (lora or full)", s)
}

// LoRAOptions are the adapter hyper-parameters (PEFT LoraConfig names).
type LoRAOptions struct {
	// R is the rank r (paper: 16).
	R int `json:"r"`
	// Alpha is lora_alpha (paper: 32).
	Alpha float64 `json:"lora_alpha"`
	// Dropout is lora_dropout (paper: 0.05).
	Dropout float32 `json:"lora_dropout"`
	// Targets are target_modules (paper: query, value). Empty or the default
	// query/value resolve per architecture (ResolveLoRATargets): query_proj,
	// value_proj on DeBERTa-v2/v3.
	Targets []string `json:"target_modules"`
}

// Config is a token-classification training run (HF TrainingArguments field
// names in the JSON written to training_args.json).
type Config struct {
	// Base is the HF folder of the encoder (config.json + weights); a base
	// without a token-classification head gets a fresh classifier (HF init).
	Base string `json:"base"`
	// Tokenizer is the tokenizer folder or file; empty means Base.
	Tokenizer string `json:"tokenizer"`
	// Train, Dev and Test are CoNLL files (Dev and Test optional).
	Train string `json:"train"`
	Dev   string `json:"dev,omitempty"`
	Test  string `json:"test,omitempty"`
	// Out is the output folder (adapter or checkpoint, metrics, checkpoints/).
	Out string `json:"output_dir"`

	Method Method      `json:"method"`
	LoRA   LoRAOptions `json:"lora"`
	// Dropout, when set, overrides the base's hidden_dropout_prob and
	// attention_probs_dropout_prob (nil: the base config's values), e.g. to
	// fine-tune with BERT's 0.1 an encoder pre-trained without dropout.
	Dropout *float64 `json:"dropout,omitempty"`

	// Epochs is num_train_epochs; 0 (the default) means DefaultEpochs, or
	// more for a corpus too small to give MinSteps optimiser steps in them.
	// A positive value is trained exactly (early stopping aside).
	Epochs int `json:"num_train_epochs"`
	// LR is learning_rate (paper's LoRA runs: 5e-4 before tuning).
	LR        float64 `json:"learning_rate"`
	BatchSize int     `json:"per_device_train_batch_size"`
	// EvalBatchSize is the evaluation batch (default 32).
	EvalBatchSize int `json:"per_device_eval_batch_size"`
	// MaxLen and Stride are the 256/50 windows.
	MaxLen int `json:"max_length"`
	Stride int `json:"stride"`
	// WarmupRatio (0.1), WeightDecay (0.01), LabelSmoothing (0.1), MaxGradNorm (1.0).
	WarmupRatio    float64            `json:"warmup_ratio"`
	Schedule       optim.ScheduleKind `json:"-"`
	WeightDecay    float64            `json:"weight_decay"`
	LabelSmoothing float64            `json:"label_smoothing_factor"`
	MaxGradNorm    float64            `json:"max_grad_norm"`
	// Patience is early_stopping_patience on dev micro-F1 (3; 0 disables).
	Patience int `json:"early_stopping_patience"`
	// MinSteps is the fewest optimiser steps a run with automatic epochs
	// (Epochs 0) takes (300; 0: none): a corpus too small for DefaultEpochs
	// to give that many steps trains for more epochs, and early stopping
	// cannot end the run before it. With 256-token
	// document windows a small corpus gives few batches (CLL: 8 per epoch),
	// and 10 epochs end before the model leaves the all-O plateau (measured:
	// dev F1 0 for 13 epochs, then 0.69 by epoch 29). Not in HF, which leaves
	// this to max_steps.
	MinSteps  int    `json:"min_train_steps"`
	GradAccum int    `json:"gradient_accumulation_steps"`
	Seed      uint64 `json:"seed"`
	// Threads sets the engine's worker count (0: OPENMED_THREADS or all cores).
	Threads int `json:"threads"`
	// Precision is the arithmetic of the large matrix products during the
	// run (tensor.Precision: "fp32", the default, or "bf16" on CPUs with
	// AVX512-BF16 or AMX — the split torch's bf16 autocast makes; master
	// weights, gradients and AdamW state stay fp32). Restored when Train
	// returns.
	Precision tensor.Precision `json:"precision"`
	// CheckpointEvery writes a checkpoint every N optimiser steps (0: per epoch only).
	CheckpointEvery int `json:"save_steps"`
	// LogEvery is logging_steps.
	LogEvery int `json:"logging_steps"`
	// Resume continues the run in Out from its last checkpoint.
	Resume bool `json:"resume"`
	// Overwrite lets a new run replace a finished or interrupted run in Out
	// (HF overwrite_output_dir); without it, or Resume, such an Out is
	// refused so a good model is never silently replaced.
	Overwrite bool `json:"overwrite_output_dir"`
	// Packing, LabelAllSubtokens and AllowUnknownTags: see DataOptions.
	Packing           Packing `json:"packing"`
	LabelAllSubtokens bool    `json:"label_all_tokens"`
	AllowUnknownTags  bool    `json:"allow_unknown_tags"`

	// Progress receives progress snapshots (CLI bar, C ABI, Python).
	Progress func(loop.Progress) `json:"-"`
	// Warn receives warnings (unknown tags, newly initialised head).
	Warn func(string) `json:"-"`
}

// DefaultEpochs is the epoch count of a run with automatic epochs.
const DefaultEpochs = 10

// DefaultConfig returns the paper's recipe (OpenMed NER §3.3–3.4): LoRA r=16,
// α=32, dropout 0.05 on query/value, AdamW lr 5e-4 with weight decay 0.01,
// 10% linear warm-up then cosine decay, label smoothing 0.1, gradient
// clipping 1.0, batch 16, 10 epochs (more for a small corpus, to reach 300
// steps) with early stopping (patience 3) on dev micro-F1, mixed packing
// (document windows and every sentence alone), 256-token windows with 50 overlap, seed 42.
func DefaultConfig() Config {
	return Config{
		Method:         MethodLoRA,
		LoRA:           LoRAOptions{R: 16, Alpha: 32, Dropout: 0.05, Targets: []string{"query", "value"}},
		Epochs:         0,
		LR:             5e-4,
		BatchSize:      16,
		EvalBatchSize:  32,
		MaxLen:         tokenize.DefaultWindowLen,
		Stride:         tokenize.DefaultStride,
		WarmupRatio:    0.1,
		Schedule:       optim.ScheduleCosine,
		WeightDecay:    0.01,
		LabelSmoothing: 0.1,
		MaxGradNorm:    1.0,
		Patience:       3,
		MinSteps:       300,
		Packing:        PackMixed,
		GradAccum:      1,
		Seed:           42,
		LogEvery:       10,
	}
}

// ReadConfig reads a JSON configuration (training_args.json of an earlier
// run, or one written by hand) over DefaultConfig: fields left out keep their
// defaults, unknown fields are errors naming the valid ones. The CLI's
// --config, the C ABI and Python share these names.
func ReadConfig(path string) (Config, error) {
	c := DefaultConfig()
	if err := jsonconf.ReadFile(path, &c); err != nil {
		return c, configErrorf("training: %v", err)
	}
	return c, nil
}

// ParseConfig decodes a JSON configuration over DefaultConfig (the names
// of Config's JSON tags; unknown fields are errors naming the valid ones):
// ReadConfig's rule for bytes, the C ABI's config_json.
func ParseConfig(data []byte) (Config, error) {
	c := DefaultConfig()
	if err := jsonconf.Decode(data, &c); err != nil {
		return c, configErrorf("training: %v", err)
	}
	return c, nil
}

// CheckRequired reports the first of base, train and output_dir that is
// empty, as a FieldError: the one rule for a configuration's required
// inputs (Train, the C ABI's config_json, search.ParseOptions).
func (c *Config) CheckRequired() error {
	switch {
	case c.Base == "":
		return FieldErrorf("training", "base", "is required")
	case c.Train == "":
		return FieldErrorf("training", "train", "is required")
	case c.Out == "":
		return FieldErrorf("training", "output_dir", "is required")
	}
	return nil
}

// validate checks the fields Train needs, naming the field.
func (c *Config) validate() error {
	if err := c.CheckRequired(); err != nil {
		return err
	}
	switch {
	case c.Epochs < 0:
		return FieldErrorf("training", "num_train_epochs", "must be positive (or 0: automatic), got %d", c.Epochs)
	case c.MinSteps < 0:
		return FieldErrorf("training", "min_train_steps", "must be ≥ 0, got %d", c.MinSteps)
	case c.BatchSize <= 0:
		return FieldErrorf("training", "per_device_train_batch_size", "must be positive, got %d", c.BatchSize)
	case c.MaxLen <= 2 || c.Stride < 0 || c.Stride >= c.MaxLen-2:
		return FieldErrorf("training", "max_length", "%d with `stride` %d: need max length > stride + 2", c.MaxLen, c.Stride)
	case c.LabelSmoothing < 0 || c.LabelSmoothing >= 1:
		return FieldErrorf("training", "label_smoothing_factor", "must be in [0,1), got %g", c.LabelSmoothing)
	case c.Dropout != nil && (*c.Dropout < 0 || *c.Dropout >= 1):
		return FieldErrorf("training", "dropout", "must be in [0,1), got %g", *c.Dropout)
	case c.Method == MethodLoRA && c.LoRA.R <= 0:
		return FieldErrorf("training", "lora.r", "must be positive for LoRA, got %d", c.LoRA.R)
	case c.Method == MethodLoRA && c.LoRA.Alpha <= 0:
		return FieldErrorf("training", "lora.lora_alpha", "must be positive for LoRA, got %g", c.LoRA.Alpha)
	}
	return nil
}

// ErrConfig marks a configuration that cannot run (a missing or
// out-of-range field, an output folder in the way, a base without a
// tokenizer): errors.Is(err, ErrConfig). The CLI, the C ABI and Python
// report it as bad input.
var ErrConfig = errors.New("invalid training configuration")

// configError is an ErrConfig with its own message.
type configError struct{ msg string }

func (e configError) Error() string        { return e.msg }
func (e configError) Is(target error) bool { return target == ErrConfig }

func configErrorf(format string, args ...any) error {
	return configError{fmt.Sprintf(format, args...)}
}
