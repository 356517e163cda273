package dapt

import (
	"fmt"

	"github.com/openmed/openmed/core/jsonconf"
	"github.com/openmed/openmed/core/tensor"
	"github.com/openmed/openmed/core/tokenize"
	"github.com/openmed/openmed/training"
	"github.com/openmed/openmed/training/loop"
)

// Scratch describes a new encoder for pre-training from scratch (BertConfig
// fields); the vocabulary comes from the tokenizer.
type Scratch struct {
	Layers int `json:"num_hidden_layers"`
	Hidden int `json:"hidden_size"`
	Heads  int `json:"num_attention_heads"`
	FFN    int `json:"intermediate_size"`
	// MaxPositions is max_position_embeddings (default 512).
	MaxPositions int `json:"max_position_embeddings"`
	// Dropout is hidden_dropout_prob and attention_probs_dropout_prob
	// (nil: BERT's 0.1). Small encoders pre-trained on little text for a
	// short budget learn faster without it (Geiping & Goldstein 2023,
	// "Cramming", §4.3); fine-tuning still reads the value from config.json.
	Dropout *float64 `json:"dropout,omitempty"`
	// PositionInit chooses how the learned absolute position table starts.
	PositionInit PositionInit `json:"position_init,omitempty"`
	// EmbeddingInit chooses how word_embeddings (and the tied MLM decoder)
	// start: HF's normal init or a PPMI-SVD warm start from the training
	// blocks.
	EmbeddingInit EmbeddingInit `json:"embedding_init,omitempty"`
	// Arch is the encoder family ("": BERT; ArchDeBERTaV3 builds a
	// DebertaV2ForMaskedLM, see ScratchConfig).
	Arch ScratchArch `json:"arch,omitempty"`
}

// PositionInit is the initial value of a from-scratch encoder's learned
// position_embeddings table. The table stays a plain learned parameter
// (HF-loadable); only its starting point differs.
type PositionInit string

const (
	// PositionNormal is HF's init, normal(0, initializer_range) like every
	// other embedding table.
	PositionNormal PositionInit = "normal"
	// PositionSinusoidal starts from the fixed encoding of Vaswani et al.
	// 2017 §3.5 (sin on even, cos on odd dimensions) scaled to the
	// initializer range, so relative offsets are linearly readable from the
	// first step instead of being discovered from noise.
	PositionSinusoidal PositionInit = "sinusoidal"
)

// Valid reports whether p is a known PositionInit ("" means normal).
func (p PositionInit) Valid() bool {
	return p == "" || p == PositionNormal || p == PositionSinusoidal
}

// Config is a DAPT (or from-scratch pre-training) run.
type Config struct {
	// Text lists raw text files, one document or sentence per line.
	Text []string `json:"text"`
	// Corpora is a folder of labelled corpora (<name>/train.tsv, devel.tsv,
	// test.tsv) whose train splits are added to Text (CorpusText: never
	// devel or test text).
	Corpora string `json:"corpora,omitempty"`
	// Out is the output folder (HF BertForMaskedLM layout + logs).
	Out string `json:"output_dir"`
	// Base is the HF encoder folder to adapt; ignored with FromScratch.
	Base string `json:"base,omitempty"`
	// FromScratch builds a new encoder from Scratch with HF's init.
	FromScratch bool     `json:"from_scratch"`
	Scratch     *Scratch `json:"scratch,omitempty"`
	// Tokenizer is the tokenizer folder/file (default: Base).
	Tokenizer string `json:"tokenizer"`

	Method training.Method      `json:"method"`
	LoRA   training.LoRAOptions `json:"lora"`

	Epochs    int     `json:"num_train_epochs"`
	LR        float64 `json:"learning_rate"`
	BatchSize int     `json:"per_device_train_batch_size"`
	// BlockLen is the packed sequence length (256).
	BlockLen int         `json:"max_seq_length"`
	Mask     MaskOptions `json:"masking"`
	// HeldOut is the share of blocks kept for perplexity (0.05, at least 1).
	HeldOut float64 `json:"held_out"`
	// MaxTrainBlocks keeps only the first N training blocks of the seeded
	// shuffle (0: all): a compute budget for large encoders on CPUs; the
	// held-out blocks are the same whatever N is.
	MaxTrainBlocks int     `json:"max_train_blocks,omitempty"`
	WarmupRatio    float64 `json:"warmup_ratio"`
	WeightDecay    float64 `json:"weight_decay"`
	MaxGradNorm    float64 `json:"max_grad_norm"`
	GradAccum      int     `json:"gradient_accumulation_steps"`
	Seed           uint64  `json:"seed"`
	Threads        int     `json:"threads"`
	// Precision is the arithmetic of the large products (see
	// training.Config.Precision).
	Precision tensor.Precision `json:"precision"`
	// EvalEvery evaluates held-out loss every N steps (0: per epoch).
	EvalEvery       int  `json:"eval_steps"`
	CheckpointEvery int  `json:"save_steps"`
	LogEvery        int  `json:"logging_steps"`
	Resume          bool `json:"resume"`

	Progress func(loop.Progress) `json:"-"`
}

// DefaultConfig returns BERT-style DAPT defaults: full training, 1 epoch,
// lr 1e-4 (LoRA runs usually want 5e-4), batch 16, 256-token blocks, 15%
// masking, 5% held out, 10% warm-up + cosine, weight decay 0.01, clipping
// 1.0, seed 42. LoRA options are the paper's (r 16, α 32, dropout 0.05,
// query/value).
func DefaultConfig() Config {
	return Config{
		Method:      training.MethodFull,
		LoRA:        training.LoRAOptions{R: 16, Alpha: 32, Dropout: 0.05, Targets: []string{"query", "value"}},
		Epochs:      1,
		LR:          1e-4,
		BatchSize:   16,
		BlockLen:    tokenize.DefaultWindowLen,
		Mask:        DefaultMaskOptions(),
		HeldOut:     0.05,
		WarmupRatio: 0.1,
		WeightDecay: 0.01,
		MaxGradNorm: 1,
		GradAccum:   1,
		Seed:        42,
		LogEvery:    10,
	}
}

// ReadConfig reads a JSON configuration (an earlier run's
// training_args.json, or one written by hand) over DefaultConfig: fields
// left out keep their defaults, unknown fields are errors naming the valid
// ones (the CLI's --config; the C ABI and Python use the same names).
func ReadConfig(path string) (Config, error) {
	c := DefaultConfig()
	if err := jsonconf.ReadFile(path, &c); err != nil {
		return c, fmt.Errorf("dapt: %w", err)
	}
	return c, nil
}

// ParseConfig decodes a JSON configuration over DefaultConfig (ReadConfig's
// rule for bytes; the C ABI's config_json).
func ParseConfig(data []byte) (Config, error) {
	c := DefaultConfig()
	if err := jsonconf.Decode(data, &c); err != nil {
		return c, fmt.Errorf("dapt: %w", err)
	}
	return c, nil
}

// CheckRequired reports the first missing input — text (or corpora),
// output_dir, base (or from_scratch) — as a training.FieldError: the rule
// Run and the C ABI's config_json share.
func (c *Config) CheckRequired() error {
	switch {
	case len(c.Text) == 0 && c.Corpora == "":
		return training.FieldErrorf("dapt", "text", "is required: give text files, or a corpora folder in `corpora`")
	case c.Out == "":
		return training.FieldErrorf("dapt", "output_dir", "is required")
	case !c.FromScratch && c.Base == "":
		return training.FieldErrorf("dapt", "base", "is required (or `from_scratch`)")
	}
	return nil
}

func (c *Config) validate() error {
	if err := c.CheckRequired(); err != nil {
		return err
	}
	switch {
	case c.FromScratch && c.Scratch == nil:
		return training.FieldErrorf("dapt", "scratch", "is required with `from_scratch` (num_hidden_layers, hidden_size, num_attention_heads, intermediate_size)")
	case c.FromScratch && c.Scratch.validateArch() != nil:
		return c.Scratch.validateArch()
	case c.FromScratch && !c.Scratch.PositionInit.Valid():
		return training.FieldErrorf("dapt", "scratch.position_init", "%q is unknown (want normal or sinusoidal)", c.Scratch.PositionInit)
	case c.FromScratch && !c.Scratch.EmbeddingInit.Valid():
		return training.FieldErrorf("dapt", "scratch.embedding_init", "%q is unknown (want normal or ppmi-svd)", c.Scratch.EmbeddingInit)
	case c.FromScratch && c.Scratch.Dropout != nil && (*c.Scratch.Dropout < 0 || *c.Scratch.Dropout >= 1):
		return training.FieldErrorf("dapt", "scratch.dropout", "%g is outside [0, 1)", *c.Scratch.Dropout)
	case c.FromScratch && c.Tokenizer == "":
		return training.FieldErrorf("dapt", "tokenizer", "is required with `from_scratch`")
	case c.BatchSize <= 0:
		return training.FieldErrorf("dapt", "per_device_train_batch_size", "must be positive, got %d", c.BatchSize)
	case c.HeldOut <= 0 || c.HeldOut >= 1:
		return training.FieldErrorf("dapt", "held_out", "must be in (0,1), got %g", c.HeldOut)
	case c.Mask.Prob <= 0 || c.Mask.Prob >= 1 || c.Mask.MaskFrac < 0 || c.Mask.RandomFrac < 0 || c.Mask.MaskFrac+c.Mask.RandomFrac > 1:
		return training.FieldErrorf("dapt", "masking", "rates %+v out of range", c.Mask)
	}
	return nil
}

// String renders s as the `openmed dapt --from-scratch` flags that build the
// same encoder (used in logs and the reproduction table's command list).
func (s Scratch) String() string {
	out := fmt.Sprintf("--layers %d --hidden %d --heads %d --ffn %d", s.Layers, s.Hidden, s.Heads, s.FFN)
	if s.MaxPositions != 0 {
		out += fmt.Sprintf(" --max-positions %d", s.MaxPositions)
	}
	if s.Dropout != nil {
		out += fmt.Sprintf(" --dropout %g", *s.Dropout)
	}
	if s.PositionInit != "" {
		out += " --position-init " + string(s.PositionInit)
	}
	if s.EmbeddingInit != "" {
		out += " --embedding-init " + string(s.EmbeddingInit)
	}
	if s.Arch != "" {
		out += " --arch " + string(s.Arch)
	}
	return out
}
