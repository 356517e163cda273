package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/lora"
	"github.com/openmed/openmed/core/model"
	"github.com/openmed/openmed/training/loss"
)

// fwdArray is the fixtures' JSON array encoding: dtype, shape and flat
// row-major data.
type fwdArray struct {
	DType string    `json:"dtype"`
	Shape []int     `json:"shape"`
	Data  []float64 `json:"data"`
}

// fwdInputs are HF model inputs as stored in the fixtures' case files.
type fwdInputs struct {
	InputIDs      *fwdArray `json:"input_ids"`
	AttentionMask *fwdArray `json:"attention_mask"`
	TokenTypeIDs  *fwdArray `json:"token_type_ids"`
	Labels        *fwdArray `json:"labels"`
}

type fwdFlags struct {
	modelDir, input, adapter string
	smoothing                float64
	hidden                   bool
}

func newForwardCmd() *cobra.Command {
	var f fwdFlags
	cmd := &cobra.Command{
		Use:   "forward",
		Short: "Run the training engine's forward pass on a JSON input and print logits (and loss) as JSON",
		Long: `forward loads a Hugging Face model folder (config.json + model.safetensors or
pytorch_model.bin; BERT or ELECTRA, token classification or masked LM by its
architectures field), optionally applies a PEFT LoRA adapter folder, runs the
engine in eval mode on the inputs of a case file ({"inputs": {"input_ids":
{"dtype","shape","data"}, "attention_mask", "token_type_ids", "labels"}} or the
same object at top level) and prints {"logits": {...}, "loss": ...} in the
fixtures' layout. The loss is torch's CrossEntropyLoss (ignore_index -100),
printed only when labels are given.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runForward(cmd.OutOrStdout(), f) },
	}
	cmd.Flags().StringVar(&f.modelDir, "model", "", "Hugging Face model folder (required)")
	cmd.Flags().StringVar(&f.input, "input", "", "case JSON file with inputs (required; - for stdin)")
	cmd.Flags().StringVar(&f.adapter, "adapter", "", "PEFT LoRA adapter folder to apply")
	cmd.Flags().Float64Var(&f.smoothing, "label-smoothing", 0, "label smoothing of the reported loss")
	cmd.Flags().BoolVar(&f.hidden, "hidden", false, "also print last_hidden_state")
	_ = cmd.MarkFlagRequired("model")
	_ = cmd.MarkFlagRequired("input")
	return cmd
}

func init() { rootCmd.AddCommand(newForwardCmd()) }

func readForwardInputs(path string) (*model.Batch, []int32, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, nil, err
	}
	var wrapper struct {
		Inputs *fwdInputs `json:"inputs"`
	}
	if err := json.Unmarshal(data, &wrapper); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	in := wrapper.Inputs
	if in == nil {
		in = &fwdInputs{}
		if err := json.Unmarshal(data, in); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	if in.InputIDs == nil {
		return nil, nil, fmt.Errorf("%s: no input_ids (expected {\"inputs\": {\"input_ids\": {\"shape\": [B, L], \"data\": [...]}}})", path)
	}
	if len(in.InputIDs.Shape) != 2 {
		return nil, nil, fmt.Errorf("%s: input_ids shape %v: want [batch, seq]", path, in.InputIDs.Shape)
	}
	b := &model.Batch{Batch: in.InputIDs.Shape[0], SeqLen: in.InputIDs.Shape[1], InputIDs: toInt32(in.InputIDs.Data)}
	n := b.Tokens()
	check := func(name string, a *fwdArray) error {
		if a != nil && len(a.Data) != n {
			return fmt.Errorf("%s: %s has %d values, input_ids has %d", path, name, len(a.Data), n)
		}
		return nil
	}
	for name, a := range map[string]*fwdArray{"attention_mask": in.AttentionMask, "token_type_ids": in.TokenTypeIDs, "labels": in.Labels} {
		if err := check(name, a); err != nil {
			return nil, nil, err
		}
	}
	if len(b.InputIDs) != n {
		return nil, nil, fmt.Errorf("%s: input_ids has %d values, shape %v needs %d", path, len(b.InputIDs), in.InputIDs.Shape, n)
	}
	if in.AttentionMask != nil {
		b.AttentionMask = make([]float32, n)
		for i, v := range in.AttentionMask.Data {
			b.AttentionMask[i] = float32(v)
		}
	}
	if in.TokenTypeIDs != nil {
		b.TokenTypeIDs = toInt32(in.TokenTypeIDs.Data)
	}
	var labels []int32
	if in.Labels != nil {
		labels = toInt32(in.Labels.Data)
	}
	return b, labels, nil
}

func toInt32(v []float64) []int32 {
	out := make([]int32, len(v))
	for i, x := range v {
		out[i] = int32(x)
	}
	return out
}

func runForward(w io.Writer, f fwdFlags) error {
	b, labels, err := readForwardInputs(f.input)
	if err != nil {
		return err
	}
	cfg, err := checkpoint.LoadConfig(f.modelDir)
	if err != nil {
		return err
	}
	task := model.TokenClassification
	for _, a := range cfg.Architectures {
		if strings.HasSuffix(a, "ForMaskedLM") {
			task = model.MaskedLM
		}
	}
	m, err := model.Load(f.modelDir, task)
	if err != nil {
		return err
	}
	if f.adapter != "" {
		if _, err := lora.Load(m, f.adapter); err != nil {
			return err
		}
	}
	logits, err := m.Forward(b)
	if err != nil {
		return fmt.Errorf("%s: %w", f.input, err)
	}
	out := map[string]any{"logits": toFwdArray(logits.Data, logits.Shape)}
	if labels != nil {
		c := logits.Shape[len(logits.Shape)-1]
		l, cnt, err := loss.CrossEntropyChecked(logits.Data, b.Tokens(), c, labels, float32(f.smoothing), nil)
		if err != nil {
			return fmt.Errorf("%s: labels: %w", f.input, err)
		}
		if cnt > 0 {
			out["loss"] = float64(l)
		}
	}
	if f.hidden {
		out["last_hidden_state"] = toFwdArray(m.LastHidden(), []int{b.Batch, b.SeqLen, cfg.HiddenSize})
	}
	enc := json.NewEncoder(w)
	return enc.Encode(out)
}

func toFwdArray(data []float32, shape []int) fwdArray {
	a := fwdArray{DType: "float32", Shape: append([]int(nil), shape...), Data: make([]float64, len(data))}
	for i, v := range data {
		a.Data[i] = float64(v)
	}
	return a
}
