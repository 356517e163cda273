package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/openmed/openmed/training/dapt"
)

func init() { rootCmd.AddCommand(newDaptCmd()) }

func newDaptCmd() *cobra.Command {
	cfg := dapt.DefaultConfig()
	var scratch dapt.Scratch
	var scratchDropout float64
	var method methodFlags
	var quiet bool
	var targets, config string
	cmd := &cobra.Command{
		Use:   "dapt (--text F... | --corpora DIR) --out DIR (--base DIR | --from-scratch --layers L --hidden H --heads A --ffn F --vocab TOKENIZER)",
		Short: "Domain-adaptive masked-LM pre-training (or pre-training from scratch) on raw text",
		Long: `Dapt continues masked-language-model training of an encoder (BERT, ELECTRA,
DeBERTa-v3) on raw text
files (one document or sentence per line): 15% dynamic masking (80% [MASK],
10% random, 10% kept; specials never masked), sequences packed to 256-token
[CLS] … [SEP] blocks, full training or LoRA (--lora; merged on save). The
held-out perplexity (fixed split and masks) is reported before and after.
--from-scratch initialises a new encoder with HF's init instead of --base:
a BertForMaskedLM, or with --arch deberta-v3 a DebertaV2ForMaskedLM with
deberta-v3-base's conventions at the given size (relative attention with
256 log buckets, no absolute positions, so no --position-init sinusoidal).
--embedding-init ppmi-svd (from scratch only) starts word_embeddings, and so
the tied MLM decoder, from a distributional embedding of the training blocks
(held-out blocks excluded): positive PMI over a ±4-token window weighted
1/distance with context smoothing 0.75, truncated by randomized SVD to the
hidden size, U·S^½, scaled to std 0.02 (Levy, Goldberg & Dagan 2015; Halko,
Martinsson & Tropp 2011); unseen tokens keep HF's init. The neighbours of a
few probe words and the timing go to embedding_init.json in --out.

--out receives an HF XxxForMaskedLM folder of the base's family
(BertForMaskedLM, ElectraForMaskedLM, DebertaV2ForMaskedLM; config.json, model.safetensors,
tokenizer files) that 'openmed train --base' accepts, plus metrics.json,
metrics.jsonl and mlm_curve.jsonl. Ctrl-C checkpoints; --resume continues.
--config FILE starts from a JSON configuration (a run's training_args.json
repeats it) instead of the defaults; flags given override it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if config != "" {
				file, err := dapt.ReadConfig(config)
				if err != nil {
					return err
				}
				err = overlayConfig(cmd.Flags(), func() {
					cfg = file
					if file.Scratch != nil {
						scratch = *file.Scratch
					}
				})
				if err != nil {
					return err
				}
			}
			if cfg.Out == "" {
				return fmt.Errorf("dapt: --out is required (or \"output_dir\" in --config)")
			}
			if err := method.apply("dapt", &cfg.Method); err != nil {
				return err
			}
			if cfg.FromScratch {
				cfg.Scratch = &scratch
				if cmd.Flags().Changed("dropout") {
					scratch.Dropout = &scratchDropout
				}
				if scratch.Layers <= 0 || scratch.Hidden <= 0 || scratch.Heads <= 0 || scratch.FFN <= 0 {
					return fmt.Errorf("dapt: --from-scratch needs positive --layers, --hidden, --heads and --ffn")
				}
			} else if cmd.Flags().Changed("layers") || cmd.Flags().Changed("hidden") {
				return fmt.Errorf("dapt: --layers/--hidden/--heads/--ffn only apply with --from-scratch")
			} else if cmd.Flags().Changed("arch") {
				return fmt.Errorf("dapt: --arch only applies with --from-scratch (--base brings its own architecture)")
			} else if cmd.Flags().Changed("embedding-init") {
				return fmt.Errorf("dapt: --embedding-init only applies with --from-scratch")
			}
			if cmd.Flags().Changed("targets") {
				cfg.LoRA.Targets = splitList(targets)
			}
			ctx, stop := interruptContext(cmd)
			defer stop()
			return runDapt(ctx, cmd.OutOrStdout(), cmd.ErrOrStderr(), cfg, quiet)
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&cfg.Text, "text", nil, "raw text files, one document or sentence per line (repeat or comma-separate)")
	fl.IntVar(&cfg.MaxTrainBlocks, "max-train-blocks", 0, "train on at most N blocks (a random, seeded subset; 0: all) — a CPU budget for large encoders")
	fl.StringVar(&cfg.Corpora, "corpora", "", "also the train splits of every corpus under this folder (<name>/train.tsv; sentences also in any devel/test split dropped)")
	fl.StringVar(&cfg.Out, "out", "", "output folder")
	fl.StringVar(&cfg.Base, "base", "", "Hugging Face encoder folder to adapt (BERT, ELECTRA or DeBERTa-v3)")
	fl.BoolVar(&cfg.FromScratch, "from-scratch", false, "initialise a new encoder instead of --base")
	fl.StringVar((*string)(&scratch.Arch), "arch", string(dapt.ArchBERT), "from scratch: encoder family, bert (BertForMaskedLM) or deberta-v3 (DebertaV2ForMaskedLM)")
	fl.IntVar(&scratch.Layers, "layers", 0, "from scratch: number of layers")
	fl.IntVar(&scratch.Hidden, "hidden", 0, "from scratch: hidden size")
	fl.IntVar(&scratch.Heads, "heads", 0, "from scratch: attention heads")
	fl.IntVar(&scratch.FFN, "ffn", 0, "from scratch: intermediate (FFN) size")
	fl.IntVar(&scratch.MaxPositions, "max-positions", 512, "from scratch: max_position_embeddings")
	fl.Float64Var(&scratchDropout, "dropout", 0.1, "from scratch: hidden and attention dropout written to config.json")
	fl.StringVar((*string)(&scratch.PositionInit), "position-init", string(dapt.PositionNormal), "from scratch: position table init, normal (HF) or sinusoidal")
	fl.StringVar((*string)(&scratch.EmbeddingInit), "embedding-init", string(dapt.EmbeddingNormal), "from scratch: word embedding (and tied decoder) init, normal (HF) or ppmi-svd (PPMI + randomized SVD of the training blocks)")
	fl.StringVar(&cfg.Tokenizer, "vocab", "", "tokenizer folder or file (required with --from-scratch; default --base)")
	method.add(cmd, "train LoRA adapters only (merged into the saved weights)", "train every parameter (default)")
	addLoRAFlags(cmd, &cfg.LoRA, &targets)
	fl.IntVar(&cfg.Epochs, "epochs", cfg.Epochs, "passes over the text")
	fl.Float64Var(&cfg.LR, "lr", cfg.LR, "peak learning rate")
	fl.IntVar(&cfg.BatchSize, "batch-size", cfg.BatchSize, "blocks per batch")
	fl.IntVar(&cfg.BlockLen, "max-len", cfg.BlockLen, "packed block length in tokens ([CLS] and [SEP] included)")
	fl.Float64Var(&cfg.Mask.Prob, "mlm-probability", cfg.Mask.Prob, "share of tokens masked")
	fl.Float64Var(&cfg.HeldOut, "held-out", cfg.HeldOut, "share of blocks held out for perplexity")
	fl.Float64Var(&cfg.WarmupRatio, "warmup-ratio", cfg.WarmupRatio, "fraction of steps of warm-up")
	fl.Float64Var(&cfg.WeightDecay, "weight-decay", cfg.WeightDecay, "AdamW weight decay")
	fl.Float64Var(&cfg.MaxGradNorm, "max-grad-norm", cfg.MaxGradNorm, "gradient clipping norm (0: none)")
	fl.IntVar(&cfg.GradAccum, "grad-accum", cfg.GradAccum, "gradient accumulation steps")
	fl.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "random seed (split, masks, order, init)")
	fl.IntVar(&cfg.Threads, "threads", 0, "worker threads (0: OPENMED_THREADS or all cores)")
	fl.Var(textFlag{&cfg.Precision}, "precision", precisionUsage)
	fl.IntVar(&cfg.EvalEvery, "eval-steps", 0, "evaluate held-out loss every N steps (0: per epoch)")
	fl.IntVar(&cfg.CheckpointEvery, "save-steps", 0, "also checkpoint every N steps")
	fl.IntVar(&cfg.LogEvery, "logging-steps", cfg.LogEvery, "log to metrics.jsonl every N steps")
	fl.BoolVar(&cfg.Resume, "resume", false, "continue the interrupted run in --out")
	fl.BoolVar(&quiet, "quiet", false, "no progress bar")
	fl.StringVar(&config, configFlag, "", "JSON configuration: an earlier run's training_args.json or dapt.Config's JSON names; flags given override it")
	return cmd
}

func runDapt(ctx context.Context, stdout, stderr io.Writer, cfg dapt.Config, quiet bool) error {
	bar := newProgressBar(stderr, quiet, "dapt")
	cfg.Progress = bar.update
	res, err := dapt.Run(ctx, cfg)
	bar.finish()
	if err != nil {
		return runError("dapt", err)
	}
	fmt.Fprintf(stdout, "blocks %d train / %d held out; epochs %d, steps %d, %.0f train tokens/s\n",
		res.TrainBlocks, res.HeldOutBlocks, res.Loop.Epochs, res.Loop.Steps, res.Loop.TokensPerSec)
	fmt.Fprintf(stdout, "held-out perplexity %.2f -> %.2f (loss %.4f -> %.4f, masked-token accuracy %.4f -> %.4f)\n",
		res.Before.Perplexity, res.After.Perplexity, res.Before.Loss, res.After.Loss, res.Before.Accuracy, res.After.Accuracy)
	fmt.Fprintf(stdout, "wrote %s\n", res.Out)
	return nil
}
