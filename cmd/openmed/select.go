package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/openmed/openmed/training/search"
)

func init() { rootCmd.AddCommand(newSelectCmd()) }

// selectFlags are the options of `openmed select`.
type selectFlags struct {
	runs   []string
	corpus string
	format string
	opt    search.SelectOptions
}

func newSelectCmd() *cobra.Command {
	f := selectFlags{opt: search.DefaultSelectOptions()}
	cmd := &cobra.Command{
		Use:   "select --runs DIR1,DIR2,... [--corpus NAME] [--gold test.tsv]",
		Short: "Best-of-breed: pick the run with the best dev F1 and test it against the runner-up",
		Long: `Select compares finished training runs of one corpus (output folders of
'openmed train' or a search's final/, each with metrics.json and
test_predictions.tsv) the way the OpenMed NER paper picks its best backbone per
corpus (§3.5): the highest dev micro-F1 wins. It then tests the winner against
the runner-up on test with paired approximate randomization (§4.1; --shuffles,
seeded) and reports bootstrap confidence intervals of both test F1 and of their
difference. --gold defaults to the winner's training_args.json test file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := parseEvalFormat(f.format)
			if err != nil {
				return fmt.Errorf("select: %w", err)
			}
			sel, err := search.Select(f.runs, f.opt)
			if err != nil {
				return err
			}
			sel.Corpus = f.corpus
			if format == formatJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(sel)
			}
			writeSelectText(cmd.OutOrStdout(), sel)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&f.runs, "runs", nil, "run folders, comma-separated (metrics.json + test_predictions.tsv)")
	fl.StringVar(&f.corpus, "corpus", "", "corpus name for the report")
	fl.StringVar(&f.opt.Gold, "gold", "", "gold test CoNLL file (default: the winner's training_args.json test)")
	fl.StringVar(&f.format, "format", "text", "output: text or json")
	fl.IntVar(&f.opt.Shuffles, "shuffles", f.opt.Shuffles, "approximate-randomization shuffles")
	fl.IntVar(&f.opt.Resamples, "resamples", f.opt.Resamples, "bootstrap resamples")
	fl.Float64Var(&f.opt.Confidence, "confidence", f.opt.Confidence, "bootstrap confidence level")
	fl.Uint64Var(&f.opt.Seed, "seed", f.opt.Seed, "seed of the shuffles and resamples")
	_ = cmd.MarkFlagRequired("runs")
	return cmd
}

func writeSelectText(w io.Writer, sel *search.Selection) {
	if sel.Corpus != "" {
		fmt.Fprintf(w, "corpus %s\n", sel.Corpus)
	}
	fmt.Fprintf(w, "%-4s %-8s %-8s %s\n", "rank", "dev F1", "test F1", "run")
	for i, r := range sel.Runs {
		test := "-"
		if r.TestF1 != nil {
			test = fmt.Sprintf("%.4f", *r.TestF1)
		}
		fmt.Fprintf(w, "%-4d %-8.4f %-8s %s\n", i+1, r.DevF1, test, r.Dir)
	}
	fmt.Fprintf(w, "winner: %s (dev F1 %.4f)\n", sel.Winner.Dir, sel.Winner.DevF1)
	if sel.Test == nil {
		return
	}
	t := sel.Test
	fmt.Fprintf(w, "test on %s: winner F1 %.4f [%.4f, %.4f], runner-up F1 %.4f [%.4f, %.4f] (%.0f%% bootstrap, %d resamples)\n",
		sel.Gold, t.F1A, sel.CIWinner.Lower, sel.CIWinner.Upper, t.F1B, sel.CIRunnerUp.Lower, sel.CIRunnerUp.Upper,
		100*sel.CIWinner.Level, sel.CIWinner.Resamples)
	fmt.Fprintf(w, "difference %+.4f [%.4f, %.4f], approximate randomization p = %.4g (%d shuffles, seed %d)\n",
		t.Diff, sel.CIDiff.Lower, sel.CIDiff.Upper, t.PValue, t.Shuffles, t.Seed)
}
