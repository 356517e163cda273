package hpo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The report lists every trial once, complete ones first by value (best
// first for the study's direction), then pruned, then failed, with one column
// per parameter and counts that match the summary.
func TestMarkdownReport(t *testing.T) {
	cfg := testConfig() // Minimize
	s, err := Create(t.TempDir(), cfg)
	require.NoError(t, err)
	obj := func(ctx context.Context, tr *Trial) (float64, error) {
		switch tr.Number() {
		case 2:
			return 0, errors.New("simulated failure")
		case 3:
			require.NoError(t, tr.Report(0, 9))
			return 0, fmt.Errorf("stop: %w", ErrPruned)
		}
		require.NoError(t, tr.Report(0, float64(10-tr.Number())))
		return float64(10 - tr.Number()), nil // trial 4 is the best (6)
	}
	require.NoError(t, s.Optimize(context.Background(), obj, RunOptions{NTrials: 5}))
	md, err := s.Markdown()
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(md), "\n")
	require.Equal(t, "5 trials: 3 complete, 1 pruned, 1 failed, 0 running", lines[0])
	require.Equal(t, "| trial | state | value | steps | wall | lr | y | c | k |", lines[2])
	require.Len(t, lines, 4+5)
	var order []string
	for _, l := range lines[4:] {
		c := strings.Split(strings.Trim(l, "|"), "|")
		require.Len(t, c, 9, l)
		order = append(order, strings.TrimSpace(c[0])+" "+strings.TrimSpace(c[1])+" "+strings.TrimSpace(c[2]))
		assert.Contains(t, []string{"a", "b", "c"}, strings.TrimSpace(c[7]), "categorical choice")
		k := strings.TrimSpace(c[8])
		assert.Contains(t, []string{"1", "3", "5", "7", "9"}, k, "int printed as an integer")
	}
	assert.Equal(t, []string{"4 complete 6.0000", "1 complete 9.0000", "0 complete 10.0000", "3 pruned 9.0000", "2 failed "}, order)
}

func TestFormatParam(t *testing.T) {
	assert.Equal(t, "0.000241", formatParam(FloatLog("lr", 1e-5, 1e-3), 2.4083451287415047e-04))
	assert.Equal(t, "0.130", formatParam(Float("w", 0, 1), 0.1295952467182737))
	assert.Equal(t, "16", formatParam(Categorical("bs", 8, 16, 32), 16.0))
	assert.Equal(t, "7", formatParam(Int("k", 1, 9, 2), 7.0))
	assert.Equal(t, "x", formatParam(Categorical("s", "x", "y"), "x"))
	assert.Equal(t, "", formatParam(Float("w", 0, 1), nil))
}
