package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/openmed/openmed/training/hpo"
	"github.com/openmed/openmed/training/search"
)

func init() { rootCmd.AddCommand(newStudyCmd()) }

func newStudyCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "study DIR",
		Short: "Print a search's trials as a Markdown table, best first (read-only; safe while the search runs)",
		Long: `Study reads the hyper-parameter study of an 'openmed search' output folder
(DIR/study) or a study folder itself and prints one Markdown row per trial:
state, dev micro-F1 (a pruned trial's last epoch), epochs reported, wall time
and its parameters, complete trials best first, then pruned, running and failed
ones. It only reads the append-only trial log, so it can run beside the
search's workers.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			if _, err := os.Stat(filepath.Join(dir, search.StudyDir, hpo.ConfigFile)); err == nil {
				dir = filepath.Join(dir, search.StudyDir)
			}
			st, err := hpo.Open(dir)
			if err != nil {
				return fmt.Errorf("study: %w", err)
			}
			md, err := st.Markdown()
			if err != nil {
				return fmt.Errorf("study: %w", err)
			}
			_, err = fmt.Fprint(cmd.OutOrStdout(), md)
			return err
		},
	}
}
