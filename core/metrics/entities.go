package metrics

import (
	"fmt"

	"github.com/openmed/openmed/core/scheme"
)

// UntypedName is the type name under which untyped entities (tags "B"/"I",
// as in S800) are reported; seqeval spells the missing type "_".
const UntypedName = "_"

// decodeAll decodes every sentence, checking tags: a malformed tag is an
// error in both modes, and in strict mode so is a prefix the scheme does not
// allow (seqeval raises "Invalid token is found").
func decodeAll(seqs [][]string, what string, cfg config) ([][]scheme.Span, error) {
	out := make([][]scheme.Span, len(seqs))
	for k, tags := range seqs {
		for i, t := range tags {
			p, _, ok := scheme.ParseTag(t)
			if !ok {
				return nil, fmt.Errorf("metrics: %s sentence %d token %d: invalid tag %q", what, k+1, i+1, t)
			}
			if cfg.mode == scheme.Strict && !cfg.scheme.Allowed(p) {
				return nil, fmt.Errorf("metrics: %s sentence %d token %d: tag %q is not allowed in strict %s", what, k+1, i+1, t, cfg.scheme)
			}
		}
		out[k] = scheme.Decode(tags, cfg.mode, cfg.scheme)
	}
	return out, nil
}

// checkShapes requires the same number of sentences and of tokens per
// sentence (seqeval's check_consistent_length).
func checkShapes(gold, pred [][]string, what string) error {
	if len(gold) != len(pred) {
		return fmt.Errorf("metrics: gold has %d sentences but %s has %d", len(gold), what, len(pred))
	}
	for k := range gold {
		if len(gold[k]) != len(pred[k]) {
			return fmt.Errorf("metrics: sentence %d: gold has %d tokens but %s has %d", k+1, len(gold[k]), what, len(pred[k]))
		}
	}
	return nil
}

// typeName maps a span type to its report name.
func typeName(t string) string {
	if t == "" {
		return UntypedName
	}
	return t
}

// matchSpans counts spans present in both ordered, disjoint lists, calling
// hit for each (exact match of type, start and end).
func matchSpans(gold, pred []scheme.Span, hit func(scheme.Span)) int {
	n, i, j := 0, 0, 0
	for i < len(gold) && j < len(pred) {
		g, p := gold[i], pred[j]
		switch {
		case g.Start < p.Start:
			i++
		case p.Start < g.Start:
			j++
		default:
			if g == p {
				n++
				if hit != nil {
					hit(g)
				}
			}
			i++
			j++
		}
	}
	return n
}

// counts are the micro sufficient statistics of one sentence or a corpus.
type counts struct {
	tp, pred, gold int
}

func (c *counts) add(o counts) { c.tp += o.tp; c.pred += o.pred; c.gold += o.gold }

// f1 is micro F1 from counts: 2TP/(pred+gold), which equals seqeval's
// 2PR/(P+R) and is 0 when there is nothing to score.
func (c counts) f1() float64 {
	if c.tp == 0 {
		return 0
	}
	return 2 * float64(c.tp) / float64(c.pred+c.gold)
}

// sentenceCounts returns per-sentence micro counts of pred against the
// decoded gold spans.
func sentenceCounts(goldSpans [][]scheme.Span, predSpans [][]scheme.Span) []counts {
	out := make([]counts, len(goldSpans))
	for k := range goldSpans {
		out[k] = counts{
			tp:   matchSpans(goldSpans[k], predSpans[k], nil),
			pred: len(predSpans[k]),
			gold: len(goldSpans[k]),
		}
	}
	return out
}
