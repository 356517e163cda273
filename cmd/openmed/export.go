package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/openmed/openmed/core/onnx"
	"github.com/openmed/openmed/core/tagger"
)

// exportFlags are the options of `openmed export`.
type exportFlags struct {
	model, out string
	verify     bool
	device     string
	threads    int
}

func newExportCmd() *cobra.Command {
	var f exportFlags
	cmd := &cobra.Command{
		Use:   "export --model DIR --out DIR",
		Short: "Export a (merged) BERT/ELECTRA/DeBERTa-v3 token-classification model to ONNX",
		Long: `Export writes DIR/onnx/model.onnx (opset 17; int64 inputs input_ids,
attention_mask and token_type_ids (when type_vocab_size > 0) with dynamic
batch_size and sequence_length axes;
float32 output logits [batch_size, sequence_length, num_labels]) and copies
config.json and the tokenizer files next to it: the layout Hugging Face Optimum
and transformers.js load. The model folder needs config.json and
model.safetensors (or pytorch_model.bin), e.g. the output of "openmed merge".

With --verify the exported graph is opened with ONNX Runtime and run once.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runExport(cmd, f) },
	}
	cmd.Flags().StringVar(&f.model, "model", "", "Hugging Face model folder (config.json + weights)")
	cmd.Flags().StringVar(&f.out, "out", "", "output folder (gets onnx/model.onnx, config.json, tokenizer files)")
	cmd.Flags().BoolVar(&f.verify, "verify", false, "load the export with ONNX Runtime and run one batch")
	cmd.Flags().StringVar(&f.device, "device", "cpu", "ONNX Runtime device for --verify: cpu or cuda")
	cmd.Flags().IntVar(&f.threads, "threads", 0, "ONNX Runtime intra-op threads for --verify (0 = one per core)")
	_ = cmd.MarkFlagRequired("model")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

func init() { rootCmd.AddCommand(newExportCmd()) }

func runExport(cmd *cobra.Command, f exportFlags) error {
	device, err := tagger.ParseDevice(f.device)
	if err != nil {
		return err
	}
	start := time.Now()
	res, err := onnx.Export(f.model, f.out, onnx.ExportOptions{ProducerVersion: version, Aggregation: tagger.DefaultOptions().Aggregation.String()})
	if err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "wrote %s (%d bytes, %d nodes, %d initializers) in %s\n",
		res.ModelFile, res.Bytes, res.Nodes, res.Initializers, time.Since(start).Round(time.Millisecond))
	for _, c := range res.Copied {
		fmt.Fprintf(w, "copied %s\n", c)
	}
	if !f.verify {
		return nil
	}
	be, err := tagger.NewORT(res.ModelFile, tagger.ORTOptions{IntraOpThreads: f.threads, Device: device})
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	defer be.Close()
	// One [1, 4] window: ids 0..3 are valid in any vocabulary.
	ids := [][]int64{{0, 1, 2, 3}}
	mask := [][]int64{{1, 1, 1, 1}}
	t0 := time.Now()
	logits, err := be.Logits(ids, mask, nil)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	fmt.Fprintf(w, "verified with ONNX Runtime %s on %s: logits %v in %s\n",
		tagger.ORTVersion(), device, logits.Shape, time.Since(t0).Round(time.Microsecond))
	return nil
}
