package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func evalWriteTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	return p
}

func TestEvalCommandRegistered(t *testing.T) {
	c, _, err := rootCmd.Find([]string{"eval"})
	require.NoError(t, err)
	assert.Equal(t, "eval", c.Name())
}

type evalJSON struct {
	Micro struct {
		Precision, Recall, F1 float64
		Support               int
	} `json:"micro"`
	PerType       map[string]struct{ F1 float64 } `json:"per_type"`
	TokenAccuracy float64                         `json:"token_accuracy"`
	Against       *struct {
		F1   float64 `json:"f1"`
		Test struct {
			PValue float64 `json:"p_value"`
			Diff   float64 `json:"diff"`
			F1A    float64 `json:"f1_a"`
		} `json:"test"`
		CIDiff struct{ Lower, Upper float64 } `json:"ci_diff"`
	} `json:"against"`
}

func TestEvalNCBIGoldAgainstItself(t *testing.T) {
	test := sharedPath(t, "data", "NCBI-Disease", "test.tsv")
	out, err := execCmd(newEvalCmd(), "--gold", test, "--pred", test, "--format", "json")
	require.NoError(t, err)
	var got evalJSON
	require.NoError(t, json.Unmarshal([]byte(out), &got), out)
	assert.Equal(t, 1.0, got.Micro.F1)
	assert.Equal(t, 960, got.Micro.Support)
	assert.Equal(t, 1.0, got.PerType["Disease"].F1)
	assert.Equal(t, 1.0, got.TokenAccuracy)

	text, err := execCmd(newEvalCmd(), "--gold", test, "--pred", test)
	require.NoError(t, err)
	assert.Regexp(t, `(?m)^   micro avg     1\.0000    1\.0000    1\.0000       960$`, text)
	assert.Regexp(t, `(?m)^     Disease     1\.0000    1\.0000    1\.0000       960$`, text)
}

func TestEvalModesAndReport(t *testing.T) {
	gold := evalWriteTemp(t, "gold.tsv", "a\tB-NP\nb\tI-NP\nc\tO\n\nd\tB-X\n")
	pred := evalWriteTemp(t, "pred.tsv", "a\tI-NP\nb\tI-NP\nc\tO\n\nd\tO\n")
	out, err := execCmd(newEvalCmd(), "--gold", gold, "--pred", pred, "--digits", "2")
	require.NoError(t, err)
	assert.Contains(t, out, "          NP       1.00      1.00      1.00         1\n")
	assert.Contains(t, out, "   micro avg       1.00      0.50      0.67         2\n")
	assert.Contains(t, out, "token acc")

	out, err = execCmd(newEvalCmd(), "--gold", gold, "--pred", pred, "--mode", "strict", "--scheme", "IOB2", "--digits", "2")
	require.NoError(t, err)
	assert.Contains(t, out, "          NP       0.00      0.00      0.00         1\n")
	assert.Contains(t, out, "mode strict IOB2")

	iobes := evalWriteTemp(t, "iobes.tsv", "a\tB-X\nb\tE-X\nc\tO\nd\tS-Y\n")
	iobesPred := evalWriteTemp(t, "iobes_pred.tsv", "a\tB-X\nb\tI-X\nc\tO\nd\tS-Y\n")
	out, err = execCmd(newEvalCmd(), "--gold", iobes, "--pred", iobesPred, "--mode", "strict", "--scheme", "auto", "--digits", "2")
	require.NoError(t, err)
	assert.Contains(t, out, "mode strict IOBES")
	assert.Contains(t, out, "   micro avg       1.00      0.50      0.67         2\n")
	onlyIO := evalWriteTemp(t, "io.tsv", "a\tI-X\nb\tO\n")
	_, err = execCmd(newEvalCmd(), "--gold", onlyIO, "--pred", onlyIO, "--mode", "strict", "--scheme", "auto")
	assert.ErrorContains(t, err, "--scheme auto") // {I, O} is ambiguous for seqeval's auto_detect

	_, err = execCmd(newEvalCmd(), "--gold", gold, "--pred", pred, "--mode", "loose")
	assert.ErrorContains(t, err, "--mode")
	_, err = execCmd(newEvalCmd(), "--gold", gold, "--pred", pred, "--format", "xml")
	assert.ErrorContains(t, err, "--format")
	_, err = execCmd(newEvalCmd(), "--gold", gold)
	assert.Error(t, err)
}

func TestEvalTokenMismatchNamesLine(t *testing.T) {
	gold := evalWriteTemp(t, "gold.tsv", "a\tO\nb\tO\n\nc\tO\nd\tB-X\n")
	pred := evalWriteTemp(t, "pred.tsv", "a\tO\nb\tO\n\nc\tO\nD\tB-X\n")
	_, err := execCmd(newEvalCmd(), "--gold", gold, "--pred", pred)
	require.Error(t, err)
	assert.Contains(t, err.Error(), pred+":5 has \"D\"")
	assert.Contains(t, err.Error(), gold+":5")

	fewer := evalWriteTemp(t, "fewer.tsv", "a\tO\nb\tO\n")
	_, err = execCmd(newEvalCmd(), "--gold", gold, "--pred", fewer)
	assert.ErrorContains(t, err, gold+":4: sentence 2 has no counterpart in "+fewer)

	badTag := evalWriteTemp(t, "bad.tsv", "a\tO\nb\tB_X\n")
	_, err = execCmd(newEvalCmd(), "--gold", gold, "--pred", badTag)
	assert.ErrorContains(t, err, badTag+":2: invalid tag \"B_X\"")
}

func TestEvalAgainst(t *testing.T) {
	test := sharedPath(t, "data", "NCBI-Disease", "test.tsv")
	raw, err := os.ReadFile(test)
	require.NoError(t, err)
	// A degraded system: every third B-Disease (and its I- tokens) becomes O.
	var b strings.Builder
	n, dropping := 0, false
	for _, line := range strings.SplitAfter(string(raw), "\n") {
		tok, tag, ok := strings.Cut(strings.TrimRight(line, "\n"), "\t")
		switch {
		case ok && tag == "B-Disease":
			n++
			dropping = n%3 == 0
		case ok && tag == "I-Disease":
		default:
			dropping = false
		}
		if ok && dropping {
			b.WriteString(tok + "\tO\n")
			continue
		}
		b.WriteString(line)
	}
	degraded := evalWriteTemp(t, "degraded.tsv", b.String())

	out, err := execCmd(newEvalCmd(), "--gold", test, "--pred", test, "--against", degraded,
		"--format", "json", "--shuffles", "2000", "--resamples", "500")
	require.NoError(t, err)
	var got evalJSON
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	require.NotNil(t, got.Against)
	assert.Equal(t, 1.0, got.Against.Test.F1A)
	// 320 of 960 entities dropped: recall 2/3, precision 1, F1 0.8.
	assert.InDelta(t, 0.8, got.Against.F1, 1e-9)
	assert.InDelta(t, 0.2, got.Against.Test.Diff, 1e-9)
	assert.Less(t, got.Against.Test.PValue, 0.01)
	assert.Greater(t, got.Against.CIDiff.Lower, 0.0)

	text, err := execCmd(newEvalCmd(), "--gold", test, "--pred", degraded, "--against", degraded, "--shuffles", "100", "--resamples", "100")
	require.NoError(t, err)
	assert.Contains(t, text, "p-value     1.0000  (100 of 100 shuffles")
}
