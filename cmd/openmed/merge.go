package main

import (
	"fmt"
	"strings"

	"github.com/openmed/openmed/core/lora"
	"github.com/spf13/cobra"
)

// mergeFlags are the options of `openmed merge`.
type mergeFlags struct {
	base, adapter, out string
	unmerge            bool
}

func newMergeCmd() *cobra.Command {
	var f mergeFlags
	cmd := &cobra.Command{
		Use:   "merge --base DIR --adapter DIR --out DIR",
		Short: "Fold a LoRA adapter into its base model (W' = W + B·A·α/r), or take it out again",
		Long: `Merge writes a Hugging Face token-classification folder (config.json with
architectures and id2label/label2id, model.safetensors, tokenizer files) in
which every LoRA target weight is W + B·A·(lora_alpha/r) and the adapter's
modules_to_save (the classifier) replace the base's — PEFT's merge_and_unload.
openmed's loader, "openmed export" and transformers' from_pretrained read it.

With --unmerge, --base is a merged folder and the update is subtracted,
writing the base encoder weights back (the classifier stays the adapter's).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir := lora.Merge
			verb := "merged"
			if f.unmerge {
				dir, verb = lora.Unmerge, "unmerged"
			}
			res, err := lora.MergeAdapter(f.base, f.adapter, f.out, dir)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "%s %d LoRA modules into %s\n", verb, len(res.Modules), res.Dir)
			if len(res.Replaced) > 0 {
				fmt.Fprintf(w, "replaced %s from the adapter\n", strings.Join(res.Replaced, ", "))
			}
			fmt.Fprintf(w, "labels: %s\n", strings.Join(res.Labels, " "))
			return nil
		},
	}
	cmd.Flags().StringVar(&f.base, "base", "", "base Hugging Face model folder or encoder cache name (or the merged folder with --unmerge)")
	cmd.Flags().StringVar(&f.adapter, "adapter", "", "PEFT LoRA adapter folder (adapter_config.json + adapter_model.safetensors)")
	cmd.Flags().StringVar(&f.out, "out", "", "output folder")
	cmd.Flags().BoolVar(&f.unmerge, "unmerge", false, "subtract the adapter's update instead of adding it")
	_ = cmd.MarkFlagRequired("base")
	_ = cmd.MarkFlagRequired("adapter")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

func init() { rootCmd.AddCommand(newMergeCmd()) }
