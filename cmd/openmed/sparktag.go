package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"

	"github.com/spf13/cobra"
)

// envPython names the Python interpreter spark-tag runs (one with the
// openmed package and pyspark installed); default python3.
const envPython = "OPENMED_PYTHON"

func init() { rootCmd.AddCommand(newSparkTagCmd()) }

// newSparkTagCmd runs the Python package's Spark job (python -m
// openmed.spark): Spark is driven from Python (PySpark), and the tagging in
// each worker is this library through the C ABI, so the CLI only hands its
// arguments over.
func newSparkTagCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "spark-tag --input IN.(parquet|jsonl) --output DIR [--model M] [--master local[2]] [flags]",
		Short: "Tag a Parquet or JSON-lines corpus on Apache Spark (openmed.spark.tag_dataframe; needs pyspark)",
		Long: `spark-tag runs "python -m openmed.spark" with the same arguments: it reads
the documents (Parquet, or JSON lines with a "text" field), tags them with
openmed.spark.tag_dataframe on the given Spark master (default local[*]),
one model load per Python worker, and writes a Spark output folder (Parquet,
or JSON lines for a .jsonl input) with an "entities" column. --help lists
every flag. The interpreter is $` + envPython + ` (default python3); it needs the
openmed Python package and pyspark, pyarrow and pandas.`,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			py := os.Getenv(envPython)
			if py == "" {
				py = "python3"
			}
			if out, err := exec.Command(py, "-c", "import openmed.spark, pyspark, pyarrow").CombinedOutput(); err != nil {
				return fmt.Errorf("spark-tag: %s cannot import openmed.spark, pyspark and pyarrow (%v): %s\n"+
					"install them into that interpreter (pip install openmed pyspark pyarrow pandas) or set %s",
					py, err, lastLine(out), envPython)
			}
			c := exec.Command(py, append([]string{"-m", "openmed.spark"}, args...)...)
			c.Stdin, c.Stdout, c.Stderr = cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr()
			err := c.Run()
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				cmd.SilenceErrors, cmd.SilenceUsage = true, true
				return fmt.Errorf("spark-tag: exited with status %d", ee.ExitCode())
			}
			return err
		},
	}
}

// lastLine is the last non-empty line of a command's output (an
// exception's message).
func lastLine(out []byte) string {
	end := len(out)
	for end > 0 && (out[end-1] == '\n' || out[end-1] == ' ') {
		end--
	}
	start := end
	for start > 0 && out[start-1] != '\n' {
		start--
	}
	return string(out[start:end])
}
