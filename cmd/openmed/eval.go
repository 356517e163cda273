package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/openmed/openmed/core/corpus"
	"github.com/openmed/openmed/core/metrics"
	"github.com/openmed/openmed/core/scheme"
)

// evalFlags are the options of `openmed eval`.
type evalFlags struct {
	gold, pred, against string
	mode, scheme        string
	format              string
	digits              int
	tagColumn           int
	shuffles, resamples int
	confidence          float64
	seed                uint64
}

// evalFormat is the output format of `openmed eval`.
type evalFormat int

const (
	formatText evalFormat = iota // seqeval classification_report table
	formatJSON                   // one JSON object
)

func parseEvalFormat(s string) (evalFormat, error) {
	switch s {
	case "text", "":
		return formatText, nil
	case "json":
		return formatJSON, nil
	}
	return 0, fmt.Errorf("eval: unknown --format %q (want text or json)", s)
}

func newEvalCmd() *cobra.Command {
	var f evalFlags
	cmd := &cobra.Command{
		Use:   "eval --gold GOLD.tsv --pred PRED.tsv",
		Short: "Score predicted tags against gold: entity-level P/R/F1 as seqeval, significance tests",
		Long: `Eval reads two CoNLL files with the same tokens (token<TAB>tag, blank line
between sentences) and prints entity-level exact-match precision, recall and F1
per type with micro, macro and weighted averages, as seqeval's
classification_report does, plus token accuracy.

--mode default is seqeval's default (conlleval-style: an I-X after O starts an
entity); --mode strict with --scheme (IOB1, IOB2, IOE1, IOE2, IOBES, BILOU) is
seqeval's mode='strict'. --against Q.tsv compares PRED with a second system Q
on the same gold: paired approximate-randomization test on the micro-F1
difference (two-sided, p = (r+1)/(n+1)) and sentence-bootstrap confidence
intervals for each F1 and for the difference.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runEval(cmd.OutOrStdout(), f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.gold, "gold", "", "gold CoNLL file")
	fl.StringVar(&f.pred, "pred", "", "predicted CoNLL file (same tokens as --gold)")
	fl.StringVar(&f.against, "against", "", "second predicted file: test PRED against it")
	fl.StringVar(&f.mode, "mode", "default", "entity decoding: default (seqeval/conlleval lenient) or strict")
	fl.StringVar(&f.scheme, "scheme", "IOB2", "tag scheme for --mode strict: IOB1, IOB2, IOE1, IOE2, IOBES, BILOU, or auto (seqeval's auto_detect on the gold file)")
	fl.StringVar(&f.format, "format", "text", "output: text (classification report) or json")
	fl.IntVar(&f.digits, "digits", 4, "digits in the text report")
	fl.IntVar(&f.tagColumn, "tag-column", 1, "0-based column of the tag (negative counts from the end)")
	fl.IntVar(&f.shuffles, "shuffles", metrics.DefaultShuffles, "approximate-randomization shuffles (--against)")
	fl.IntVar(&f.resamples, "resamples", metrics.DefaultResamples, "bootstrap resamples (--against)")
	fl.Float64Var(&f.confidence, "confidence", metrics.DefaultConfidence, "bootstrap confidence level (--against)")
	fl.Uint64Var(&f.seed, "seed", metrics.DefaultSeed, "random seed of shuffles and resamples")
	_ = cmd.MarkFlagRequired("gold")
	_ = cmd.MarkFlagRequired("pred")
	return cmd
}

func init() { rootCmd.AddCommand(newEvalCmd()) }

// evalOutput is the JSON document of `openmed eval --format json`.
type evalOutput struct {
	Gold string `json:"gold"`
	Pred string `json:"pred"`
	*metrics.Report
	Against *againstOutput `json:"against,omitempty"`
}

// againstOutput is the --against part of the JSON document.
type againstOutput struct {
	File    string                     `json:"file"`
	F1      float64                    `json:"f1"`
	Test    metrics.SignificanceResult `json:"test"`
	CIPred  metrics.Interval           `json:"ci_pred"`
	CIOther metrics.Interval           `json:"ci_against"`
	CIDiff  metrics.Interval           `json:"ci_diff"`
}

func runEval(w io.Writer, f evalFlags) error {
	mode, err := scheme.ParseMode(f.mode)
	if err != nil {
		return fmt.Errorf("eval: --mode: %w", err)
	}
	autoScheme := strings.EqualFold(f.scheme, "auto")
	var sch scheme.Scheme
	if !autoScheme {
		if sch, err = scheme.ParseScheme(f.scheme); err != nil {
			return fmt.Errorf("eval: --scheme: %w", err)
		}
	}
	format, err := parseEvalFormat(f.format)
	if err != nil {
		return err
	}
	read := func(path string) (*corpus.Corpus, error) {
		return corpus.ReadFile(path, corpus.WithTagColumn(f.tagColumn))
	}
	gold, err := read(f.gold)
	if err != nil {
		return err
	}
	if autoScheme {
		if sch, err = scheme.Detect(gold.Tags()); err != nil {
			return fmt.Errorf("eval: --scheme auto: %s: %w", f.gold, err)
		}
	}
	opts := []metrics.Option{
		metrics.WithMode(mode), metrics.WithScheme(sch),
		metrics.WithShuffles(f.shuffles), metrics.WithResamples(f.resamples),
		metrics.WithConfidence(f.confidence), metrics.WithSeed(f.seed),
	}
	pred, err := read(f.pred)
	if err != nil {
		return err
	}
	if err := corpus.CheckAligned(gold, pred); err != nil {
		return err
	}
	goldTags, predTags := gold.Tags(), pred.Tags()
	rep, err := metrics.Evaluate(goldTags, predTags, opts...)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	out := evalOutput{Gold: f.gold, Pred: f.pred, Report: rep}
	if f.against != "" {
		other, err := read(f.against)
		if err != nil {
			return err
		}
		if err := corpus.CheckAligned(gold, other); err != nil {
			return err
		}
		cmp, err := metrics.Compare(goldTags, predTags, other.Tags(), opts...)
		if err != nil {
			return fmt.Errorf("eval: %w", err)
		}
		out.Against = &againstOutput{File: f.against, F1: cmp.B.Micro.F1, Test: cmp.Test,
			CIPred: cmp.CIA, CIOther: cmp.CIB, CIDiff: cmp.CIDiff}
	}
	if format == formatJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	return writeEvalText(w, out, f.digits)
}

func writeEvalText(w io.Writer, out evalOutput, digits int) error {
	r := out.Report
	modeDesc := r.Mode.String()
	if r.Mode == scheme.Strict {
		modeDesc += " " + r.Scheme.String()
	}
	if _, err := fmt.Fprintf(w, "gold %s, pred %s: %d sentences, %d tokens, mode %s\n\n",
		out.Gold, out.Pred, r.Sentences, r.Tokens, modeDesc); err != nil {
		return err
	}
	fmt.Fprint(w, r.Text(digits))
	fmt.Fprintf(w, "\n%12s  %9.*f\n", "token acc", digits, r.TokenAccuracy)
	a := out.Against
	if a == nil {
		return nil
	}
	pct := a.CIDiff.Level * 100
	fmt.Fprintf(w, "\nsignificance: %s versus %s (paired approximate randomization, %d shuffles, seed %d, two-sided)\n",
		out.Pred, a.File, a.Test.Shuffles, a.Test.Seed)
	fmt.Fprintf(w, "  F1 pred     %.*f  %g%% CI [%.*f, %.*f]\n", digits, a.Test.F1A, pct, digits, a.CIPred.Lower, digits, a.CIPred.Upper)
	fmt.Fprintf(w, "  F1 against  %.*f  %g%% CI [%.*f, %.*f]\n", digits, a.Test.F1B, pct, digits, a.CIOther.Lower, digits, a.CIOther.Upper)
	fmt.Fprintf(w, "  difference  %+.*f  %g%% CI [%+.*f, %+.*f] (paired bootstrap, %d resamples)\n",
		digits, a.Test.Diff, pct, digits, a.CIDiff.Lower, digits, a.CIDiff.Upper, a.CIDiff.Resamples)
	_, err := fmt.Fprintf(w, "  p-value     %.*f  (%d of %d shuffles at least as different)\n",
		max(digits, 4), a.Test.PValue, a.Test.Exceed, a.Test.Shuffles)
	return err
}
