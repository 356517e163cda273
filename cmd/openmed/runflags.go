package main

import (
	"context"
	"encoding"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/openmed/openmed/training"
	"github.com/openmed/openmed/training/loop"
)

// methodFlags are the --lora and --full flags of the training commands
// (train, search, dapt): LoRA adapters (Hu et al. 2021) or every parameter.
type methodFlags struct {
	lora, full bool
}

// add registers --lora and --full on cmd with each command's help text (the
// commands differ in their default).
func (m *methodFlags) add(cmd *cobra.Command, loraUsage, fullUsage string) {
	fl := cmd.Flags()
	fl.BoolVar(&m.lora, "lora", false, loraUsage)
	fl.BoolVar(&m.full, "full", false, fullUsage)
}

// apply sets *method from the flags, leaving it as it is when neither is
// given; both at once is an error naming command.
func (m methodFlags) apply(command string, method *training.Method) error {
	switch {
	case m.lora && m.full:
		return fmt.Errorf("%s: --lora and --full exclude each other", command)
	case m.lora:
		*method = training.MethodLoRA
	case m.full:
		*method = training.MethodFull
	}
	return nil
}

// addLoRAFlags registers the LoRA options of train and dapt on cmd (--r,
// --alpha, --lora-dropout, --targets), defaulting to lo; --targets is
// comma-separated and lands in *targets, for splitList.
func addLoRAFlags(cmd *cobra.Command, lo *training.LoRAOptions, targets *string) {
	fl := cmd.Flags()
	fl.IntVar(&lo.R, "r", lo.R, "LoRA rank")
	fl.Float64Var(&lo.Alpha, "alpha", lo.Alpha, "LoRA alpha (scaling alpha/r)")
	fl.Float32Var(&lo.Dropout, "lora-dropout", lo.Dropout, "LoRA dropout")
	fl.StringVar(targets, "targets", strings.Join(lo.Targets, ","), "LoRA target modules, comma-separated (query,value becomes query_proj,value_proj on DeBERTa)")
}

// interruptContext is cmd's context, cancelled on Ctrl-C or SIGTERM so that a
// training run checkpoints and stops; call stop when the run is over.
func interruptContext(cmd *cobra.Command) (ctx context.Context, stop context.CancelFunc) {
	return signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
}

// runError is the error of a failed training run of command: an interrupted
// run says how to resume it.
func runError(command string, err error) error {
	if errors.Is(err, loop.ErrInterrupted) {
		return fmt.Errorf("%s: %w (rerun with --resume)", command, err)
	}
	var fe *training.FieldError
	if names, ok := flagOf[command]; ok && errors.As(err, &fe) {
		msg := fe.Translate(func(field string) (string, bool) {
			f, ok := names[field]
			return "--" + f, ok
		})
		return &translatedError{msg: command + ": " + msg, err: err}
	}
	return fmt.Errorf("%s: %w", command, err)
}

// flagOf maps, per command, the JSON names a training.FieldError can name
// to the command's flags, so the CLI speaks of --epochs where the C ABI and
// Python say num_train_epochs.
var flagOf = map[string]map[string]string{
	"train": {"base": "base", "train": "train", "output_dir": "out", "num_train_epochs": "epochs", "min_train_steps": "min-steps",
		"per_device_train_batch_size": "batch-size", "max_length": "max-len", "stride": "stride",
		"label_smoothing_factor": "label-smoothing", "dropout": "dropout", "lora.r": "r", "lora.lora_alpha": "alpha",
		"tokenizer": "tokenizer", "overwrite_output_dir": "overwrite", "resume": "resume"},
	"search": {"base": "base", "train": "train", "dev": "dev", "output_dir": "out", "num_train_epochs": "epochs",
		"early_stopping_patience": "patience", "tokenizer": "tokenizer"},
	"dapt": {"text": "text", "corpora": "corpora", "output_dir": "out", "base": "base", "from_scratch": "from-scratch",
		"scratch": "layers/--hidden/--heads/--ffn", "scratch.position_init": "position-init", "scratch.embedding_init": "embedding-init",
		"scratch.dropout": "dropout", "tokenizer": "vocab", "per_device_train_batch_size": "batch-size", "held_out": "held-out",
		"masking": "mlm-probability"},
}

// translatedError is a library error reworded with the CLI's names; it
// still unwraps to the original (errors.Is(err, training.ErrConfig)).
type translatedError struct {
	msg string
	err error
}

func (e *translatedError) Error() string { return e.msg }
func (e *translatedError) Unwrap() error { return e.err }

// textFlag is a pflag.Value over a library enum that marshals as text
// (encoding.TextMarshaler / TextUnmarshaler), so a flag takes exactly the
// spellings the JSON configuration does.
type textFlag struct {
	v interface {
		encoding.TextMarshaler
		encoding.TextUnmarshaler
	}
}

func (f textFlag) String() string {
	if f.v == nil {
		return ""
	}
	b, _ := f.v.MarshalText()
	return string(b)
}

func (f textFlag) Set(s string) error { return f.v.UnmarshalText([]byte(s)) }

func (f textFlag) Type() string { return "string" }

// precisionUsage is the --precision help of train and dapt.
const precisionUsage = "arithmetic of the large matrix products: fp32, or bf16 (CPUs with AVX512-BF16/AMX; oneDNN; fp32 master weights and optimizer state)"

// tagPrecisionUsage is the --precision help of tag and eval-text.
const tagPrecisionUsage = "Go engine arithmetic: fp32, or bf16 (CPUs with AVX512-BF16/AMX; picks the Go engine under --backend auto)"
