package metrics

import (
	"fmt"
	"strings"
)

// Text renders the report as seqeval's classification_report does
// (StringReporter): a header, one row per type, a blank line, the micro,
// macro and weighted averages and a final newline, numbers with the given
// number of digits (seqeval's default is 2).
func (r *Report) Text(digits int) string {
	if digits < 0 {
		digits = 0
	}
	width := len("weighted avg")
	for _, t := range r.Types {
		width = max(width, len(t))
	}
	width = max(width, digits)
	var b strings.Builder
	fmt.Fprintf(&b, "%*s  %9s %9s %9s %9s\n\n", width, "", "precision", "recall", "f1-score", "support")
	row := func(name string, s Scores) {
		fmt.Fprintf(&b, "%*s  %9.*f %9.*f %9.*f %9d\n", width, name, digits, s.Precision, digits, s.Recall, digits, s.F1, s.Support)
	}
	for _, t := range r.Types {
		row(t, r.PerType[t])
	}
	b.WriteString("\n")
	row("micro avg", r.Micro)
	row("macro avg", r.Macro)
	row("weighted avg", r.Weighted)
	return b.String()
}
