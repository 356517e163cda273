package scheme

import "fmt"

// Span is one entity: its type and the half-open token range [Start, End).
// Untyped entities (tags "B"/"I") have Type "". seqeval's get_entities
// reports inclusive ends; Span.End is that end plus one.
type Span struct {
	Type  string `json:"type"`
	Start int    `json:"start"`
	End   int    `json:"end"`
}

// String renders the span as "Type[start,end)".
func (s Span) String() string { return fmt.Sprintf("%s[%d,%d)", s.Type, s.Start, s.End) }

// Len is the number of tokens the span covers.
func (s Span) Len() int { return s.End - s.Start }

// checkSpans verifies that spans are ordered, non-overlapping, non-empty and
// inside [0, n).
func checkSpans(spans []Span, n int) error {
	prevEnd := 0
	for k, sp := range spans {
		switch {
		case sp.Start < 0 || sp.End > n:
			return fmt.Errorf("scheme: span %d %v outside [0,%d)", k, sp, n)
		case sp.End <= sp.Start:
			return fmt.Errorf("scheme: span %d %v is empty", k, sp)
		case sp.Start < prevEnd:
			return fmt.Errorf("scheme: span %d %v overlaps or precedes the previous span (ends at %d)", k, sp, prevEnd)
		}
		prevEnd = sp.End
	}
	return nil
}
