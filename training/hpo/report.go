package hpo

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Markdown renders the study's trials as a Markdown table, best value first
// (complete trials, then pruned ones by their last value, then running and
// failed ones by number): trial number, state, value, the number of reported
// steps (epochs for a training objective), wall time and one column per
// parameter in the space's order. A header line counts the trials by state.
// It is the report `openmed study` prints; the study is only read.
func (s *Study) Markdown() (string, error) {
	trials, err := s.Trials()
	if err != nil {
		return "", err
	}
	sum, err := s.summarize(trials)
	if err != nil {
		return "", err
	}
	rank := func(t FrozenTrial) int {
		switch t.State {
		case StateComplete:
			return 0
		case StatePruned:
			return 1
		case StateRunning:
			return 2
		}
		return 3
	}
	sign := 1.0
	if s.cfg.Direction == Minimize {
		sign = -1
	}
	sort.SliceStable(trials, func(a, b int) bool {
		ta, tb := trials[a], trials[b]
		if ra, rb := rank(ta), rank(tb); ra != rb {
			return ra < rb
		}
		if ta.Value != nil && tb.Value != nil && *ta.Value != *tb.Value {
			return sign**ta.Value > sign**tb.Value
		}
		return ta.Number < tb.Number
	})
	var b strings.Builder
	fmt.Fprintf(&b, "%d trials: %d complete, %d pruned, %d failed, %d running\n\n", sum.Trials, sum.Complete, sum.Pruned, sum.Failed, sum.Running)
	b.WriteString("| trial | state | value | steps | wall |")
	for _, p := range s.cfg.Space {
		b.WriteString(" " + p.Name + " |")
	}
	b.WriteString("\n|---|---|---|---|---|" + strings.Repeat("---|", len(s.cfg.Space)) + "\n")
	for _, t := range trials {
		val := ""
		if t.Value != nil {
			val = strconv.FormatFloat(*t.Value, 'f', 4, 64)
		}
		wall := ""
		if t.State.Finished() {
			wall = fmt.Sprintf("%.1f min", t.Duration().Minutes())
		}
		fmt.Fprintf(&b, "| %d | %s | %s | %d | %s |", t.Number, t.State, val, len(t.Intermediate), wall)
		for _, p := range s.cfg.Space {
			fmt.Fprintf(&b, " %s |", formatParam(p, t.Params[p.Name]))
		}
		b.WriteString("\n")
	}
	return b.String(), nil
}

// formatParam prints a parameter value compactly: integers and categorical
// numbers as they are, log-scaled floats with 3 significant digits, linear
// floats with 3 decimals.
func formatParam(p Param, v any) string {
	f, ok := v.(float64)
	switch {
	case v == nil:
		return ""
	case !ok:
		return fmt.Sprint(v)
	case f == float64(int64(f)) && (p.Kind != KindFloat || p.Step != 0):
		return strconv.FormatInt(int64(f), 10)
	case p.Log:
		return strconv.FormatFloat(f, 'g', 3, 64)
	}
	return strconv.FormatFloat(f, 'f', 3, 64)
}
