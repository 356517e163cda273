package metrics

import (
	"sort"

	"github.com/openmed/openmed/core/scheme"
)

// Scores are precision, recall and F1 with the support (number of gold
// entities), as one row of seqeval's classification_report. Predicted and
// Correct are the predicted and exactly matched entity counts (summed over
// types for the averages).
type Scores struct {
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	Support   int     `json:"support"`
	Predicted int     `json:"predicted"`
	Correct   int     `json:"correct"`
}

// Report is the result of Evaluate.
type Report struct {
	// Mode and Scheme are the decoding settings used (Scheme matters in
	// strict mode only).
	Mode   scheme.Mode   `json:"mode"`
	Scheme scheme.Scheme `json:"scheme"`
	// Micro pools all entities (seqeval average='micro'); it is the number
	// the paper reports.
	Micro Scores `json:"micro"`
	// Macro is the unweighted mean of the per-type scores
	// (average='macro').
	Macro Scores `json:"macro"`
	// Weighted is the support-weighted mean of the per-type scores
	// (average='weighted').
	Weighted Scores `json:"weighted"`
	// PerType has one row per entity type found in gold or predictions.
	PerType map[string]Scores `json:"per_type"`
	// Types lists PerType's keys sorted, the report's row order.
	Types []string `json:"-"`
	// TokenAccuracy is the fraction of tokens whose tag is exactly right
	// (seqeval accuracy_score); 0 when there are no tokens.
	TokenAccuracy float64 `json:"token_accuracy"`
	// Sentences and Tokens count the evaluated input.
	Sentences int `json:"sentences"`
	Tokens    int `json:"tokens"`
}

// Evaluate scores pred against gold (one tag slice per sentence), entity by
// entity with exact match of type, start and end, as seqeval does:
// per-type precision = correct/predicted and recall = correct/support, each
// 0 when its denominator is 0 (seqeval's zero_division="warn" value), F1 =
// 2PR/(P+R) or 0; micro pools the counts; macro averages the per-type scores
// over every type present in gold or predictions; weighted averages them by
// support (all 0 when there is no gold entity). With no entity types at all
// macro is 0 (seqeval would divide by zero).
//
// Gold and pred must have the same shape. Malformed tags are an error; in
// strict mode so are prefixes the scheme does not allow.
func Evaluate(gold, pred [][]string, opts ...Option) (*Report, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	if err := checkShapes(gold, pred, "pred"); err != nil {
		return nil, err
	}
	goldSpans, err := decodeAll(gold, "gold", cfg)
	if err != nil {
		return nil, err
	}
	predSpans, err := decodeAll(pred, "pred", cfg)
	if err != nil {
		return nil, err
	}

	type typeCounts struct{ tp, pred, gold int }
	per := map[string]*typeCounts{}
	get := func(t string) *typeCounts {
		name := typeName(t)
		c := per[name]
		if c == nil {
			c = &typeCounts{}
			per[name] = c
		}
		return c
	}
	rep := &Report{Mode: cfg.mode, Scheme: cfg.scheme, Sentences: len(gold), PerType: map[string]Scores{}}
	correctTokens := 0
	for k := range gold {
		for _, sp := range goldSpans[k] {
			get(sp.Type).gold++
		}
		for _, sp := range predSpans[k] {
			get(sp.Type).pred++
		}
		matchSpans(goldSpans[k], predSpans[k], func(sp scheme.Span) { get(sp.Type).tp++ })
		for i := range gold[k] {
			if gold[k][i] == pred[k][i] {
				correctTokens++
			}
		}
		rep.Tokens += len(gold[k])
	}
	if rep.Tokens > 0 {
		rep.TokenAccuracy = float64(correctTokens) / float64(rep.Tokens)
	}

	for name := range per {
		rep.Types = append(rep.Types, name)
	}
	sort.Strings(rep.Types)
	var micro typeCounts
	var sumP, sumR, sumF, wP, wR, wF float64
	for _, name := range rep.Types {
		c := per[name]
		s := scores(c.tp, c.pred, c.gold)
		rep.PerType[name] = s
		micro.tp += c.tp
		micro.pred += c.pred
		micro.gold += c.gold
		sumP += s.Precision
		sumR += s.Recall
		sumF += s.F1
		w := float64(c.gold)
		wP += w * s.Precision
		wR += w * s.Recall
		wF += w * s.F1
	}
	rep.Micro = scores(micro.tp, micro.pred, micro.gold)
	rep.Macro = Scores{Support: micro.gold, Predicted: micro.pred, Correct: micro.tp}
	rep.Weighted = rep.Macro
	if n := float64(len(rep.Types)); n > 0 {
		rep.Macro.Precision, rep.Macro.Recall, rep.Macro.F1 = sumP/n, sumR/n, sumF/n
	}
	if micro.gold > 0 {
		g := float64(micro.gold)
		rep.Weighted.Precision, rep.Weighted.Recall, rep.Weighted.F1 = wP/g, wR/g, wF/g
	}
	return rep, nil
}

// scores computes one row the way seqeval's _prf_divide and F-score do.
func scores(tp, pred, gold int) Scores {
	s := Scores{Support: gold, Predicted: pred, Correct: tp}
	if pred > 0 {
		s.Precision = float64(tp) / float64(pred)
	}
	if gold > 0 {
		s.Recall = float64(tp) / float64(gold)
	}
	if d := s.Precision + s.Recall; d > 0 {
		s.F1 = 2 * s.Precision * s.Recall / d
	}
	return s
}
