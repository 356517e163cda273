// Command openmed trains, evaluates and runs biomedical named-entity
// recognition models the way the OpenMed NER paper does: transformer encoders
// adapted with LoRA, a linear BIO token-classification head and entity-level
// exact-match evaluation.
//
// Each subcommand lives in its own file and registers itself on rootCmd from
// an init function, so stages of the paper can be added independently.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// version is the openmed release; overridden at link time with -ldflags.
var version = "0.1.0-dev"

var rootCmd = &cobra.Command{
	Use:           "openmed",
	Short:         "Biomedical NER: LoRA-adapted transformer encoders, training, evaluation and tagging",
	Version:       version,
	SilenceUsage:  true,
	SilenceErrors: true,
}

func main() {
	if err := rootCmd.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "openmed:", err)
		os.Exit(1)
	}
}
