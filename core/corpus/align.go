package corpus

import "fmt"

// CheckAligned verifies that pred has the same sentences and tokens as gold
// (tags may differ), as an evaluation requires. The error names the first
// differing line of each file as file:line.
func CheckAligned(gold, pred *Corpus) error {
	n := min(len(gold.Sentences), len(pred.Sentences))
	for k := 0; k < n; k++ {
		g, p := gold.Sentences[k], pred.Sentences[k]
		m := min(len(g.Tokens), len(p.Tokens))
		for i := 0; i < m; i++ {
			if g.Tokens[i].Text != p.Tokens[i].Text {
				return fmt.Errorf("corpus: token mismatch in sentence %d: %s:%d has %q but %s:%d has %q",
					k+1, pred.Name, p.Line+i, p.Tokens[i].Text, gold.Name, g.Line+i, g.Tokens[i].Text)
			}
		}
		if len(g.Tokens) != len(p.Tokens) {
			return fmt.Errorf("corpus: sentence %d length mismatch: %s:%d has %d tokens (ends at line %d) but %s:%d has %d (ends at line %d)",
				k+1, pred.Name, p.Line, len(p.Tokens), p.Line+m, gold.Name, g.Line, len(g.Tokens), g.Line+m)
		}
	}
	if len(gold.Sentences) != len(pred.Sentences) {
		if len(pred.Sentences) > n {
			return fmt.Errorf("corpus: %s:%d: sentence %d has no counterpart in %s (%d sentences)",
				pred.Name, pred.Sentences[n].Line, n+1, gold.Name, len(gold.Sentences))
		}
		return fmt.Errorf("corpus: %s:%d: sentence %d has no counterpart in %s (%d sentences)",
			gold.Name, gold.Sentences[n].Line, n+1, pred.Name, len(pred.Sentences))
	}
	return nil
}
