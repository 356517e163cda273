package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"strconv"

	"github.com/openmed/openmed/core/corpus"
	"github.com/openmed/openmed/core/tagger"
	"github.com/openmed/openmed/core/tensor"
	"github.com/spf13/cobra"
)

func init() { rootCmd.AddCommand(newEvalTextCmd()) }

func newEvalTextCmd() *cobra.Command {
	var model, gold, use, backend, format string
	var paragraphs []int
	var threads int
	var precision tensor.Precision
	cmd := &cobra.Command{
		Use:   "eval-text --gold TEST.tsv [--model DIR] [--use ADAPTER] [--paragraph 1,10]",
		Short: "Score a tagger as a user meets it: raw text in (sentences or paragraphs), default settings, exact character spans",
		Long: `Eval-text rebuilds raw text from a CoNLL file — each sentence's words joined
by single spaces, and with --paragraph N, N consecutive sentences of a
document (never across -DOCSTART-) joined by single spaces into one text —
tags it with the tagger's default settings (as 'openmed tag' does) and scores
entity-level exact match: a prediction counts when its type and character
span equal a gold entity's. It prints micro precision, recall and F1 for each
--paragraph value, and how many predicted entities start or end inside a
word. --model defaults to the default tagger; --use picks one of its
adapters (the default tagger tags with all).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			be, err := tagger.ParseBackend(backend)
			if err != nil {
				return err
			}
			c, err := corpus.ReadFile(gold)
			if err != nil {
				return err
			}
			openOpts := []tagger.Option{tagger.WithBackend(be), tagger.WithThreads(threads), tagger.WithPrecision(precision)}
			if use != "" {
				openOpts = append(openOpts, tagger.WithUse(use)) // a manifest opens that adapter alone
			}
			tg, err := tagger.Open(model, openOpts...)
			if err != nil {
				return err
			}
			defer tg.Close()
			opts := tg.DefaultTagOptions()
			if use != "" {
				opts = []tagger.TagOption{tagger.WithAdapter(use)}
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
			defer stop()
			out := map[string]*tagger.RawTextResult{}
			for _, p := range paragraphs {
				r, err := tagger.EvaluateRawText(ctx, tg, c, tagger.RawTextOptions{Paragraph: p}, opts...)
				if err != nil {
					return fmt.Errorf("eval-text: %w", err)
				}
				out[strconv.Itoa(p)] = r
				if format != "json" {
					fmt.Fprintf(cmd.OutOrStdout(), "paragraph %2d: %5d texts  P %.4f  R %.4f  F1 %.4f  (gold %d, predicted %d, correct %d; %d inside a word)\n",
						p, r.Texts, r.Precision, r.Recall, r.F1, r.Gold, r.Predicted, r.Correct, r.InsideWord)
				}
			}
			if format == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(map[string]any{"gold": gold, "model": tg.Source().Dir, "paragraph": out})
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&gold, "gold", "", "gold CoNLL file")
	fl.StringVar(&model, "model", "", "model, adapter or manifest folder (default: the default tagger)")
	fl.StringVar(&use, "use", "", "tag with this adapter of the model")
	fl.IntSliceVar(&paragraphs, "paragraph", []int{1, 10}, "sentences per text (repeat or comma-separate)")
	fl.StringVar(&backend, "backend", "auto", "auto, ort or go")
	fl.Var(textFlag{&precision}, "precision", tagPrecisionUsage)
	fl.IntVar(&threads, "threads", 0, "threads: ONNX Runtime intra-op threads, or the Go engine's (0 = one per core)")
	fl.StringVar(&format, "format", "text", "text or json")
	_ = cmd.MarkFlagRequired("gold")
	return cmd
}
