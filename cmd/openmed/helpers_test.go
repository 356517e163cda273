package main

import (
	"bytes"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/internal/testutil"
	"github.com/openmed/openmed/internal/testutil/tinymodel"
)

// sharedPath returns ../shared/<sub...> beside the repository root; when it
// is missing the test skips (fails under CI=true), as testutil.SharedDir.
func sharedPath(t *testing.T, sub ...string) string {
	t.Helper()
	return filepath.Join(append([]string{testutil.SharedDir(t, sub...)}, sub...)...)
}

// execute runs a freshly built subcommand in-process with args, stdin as
// its input and its output streams sent to stdout and stderr.
func execute(cmd *cobra.Command, stdin string, stdout, stderr io.Writer, args ...string) error {
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetArgs(args)
	return cmd.Execute()
}

// runCmd runs cmd with args and stdin and returns what it wrote to stdout
// and to stderr, separately.
func runCmd(cmd *cobra.Command, stdin string, args ...string) (stdout, stderr string, err error) {
	var out, errb bytes.Buffer
	err = execute(cmd, stdin, &out, &errb, args...)
	return out.String(), errb.String(), err
}

// runStdout runs cmd with args and no input and returns its stdout (stderr
// is dropped).
func runStdout(cmd *cobra.Command, args ...string) (string, error) {
	out, _, err := runCmd(cmd, "", args...)
	return out, err
}

// execCmdIn runs cmd with args and stdin and returns stdout and stderr
// interleaved as written.
func execCmdIn(cmd *cobra.Command, stdin string, args ...string) (string, error) {
	var out bytes.Buffer
	err := execute(cmd, stdin, &out, &out, args...)
	return out.String(), err
}

// execCmd is execCmdIn with no input.
func execCmd(cmd *cobra.Command, args ...string) (string, error) {
	return execCmdIn(cmd, "", args...)
}

// writeTinyBase writes a randomly initialised masked-LM base folder
// (config.json, model.safetensors and the tokenizer files) with the real
// ../shared/tokenizers/<tokenizer>; configFormat is the config.json text
// with one %d for the tokenizer's vocabulary size.
func writeTinyBase(t *testing.T, tokenizer, configFormat string) string {
	t.Helper()
	dir := t.TempDir()
	_, _, err := tinymodel.MLMBase(dir, sharedPath(t, "tokenizers", tokenizer), configFormat)
	require.NoError(t, err)
	return dir
}
