package tagger

import (
	"math"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/openmed/openmed/core/scheme"
	"github.com/openmed/openmed/core/tokenize"
)

// docScores is one document after the model: its encoding, each token's
// softmax scores (nil for special tokens) and the head's labels.
type docScores struct {
	text   string
	enc    *tokenize.Encoding
	scores [][]float32
	labels []string
	unkID  int32
}

// softmax is HF's postprocess: exp(logits − max) / sum, per token.
func softmax(logits []float32) []float32 {
	m := float64(logits[0])
	for _, v := range logits {
		m = math.Max(m, float64(v))
	}
	out := make([]float32, len(logits))
	sum := 0.0
	for _, v := range logits {
		sum += math.Exp(float64(v) - m)
	}
	for i, v := range logits {
		out[i] = float32(math.Exp(float64(v)-m) / sum)
	}
	return out
}

// argmax returns the first index of the largest value (numpy argmax).
func argmax(s []float32) int {
	best := 0
	for i, v := range s {
		if v > s[best] {
			best = i
		}
	}
	return best
}

// preEntity is HF's gather_pre_entities item: one non-special token.
type preEntity struct {
	index  int
	scores []float32
	word   int // word id; -1 when none
	sb, eb int // byte offsets
	sc, ec int // code-point offsets
	unk    bool
}

// tokEntity is a token- or word-level prediction before grouping.
type tokEntity struct {
	label  string
	score  float32
	index  int
	sb, eb int
	sc, ec int
}

func (d *docScores) preEntities() []preEntity {
	var out []preEntity
	for i, s := range d.scores {
		if s == nil {
			continue
		}
		out = append(out, preEntity{index: i, scores: s, word: d.enc.WordIDs[i],
			sb: d.enc.Offsets[i].Start, eb: d.enc.Offsets[i].End,
			sc: d.enc.CharOffsets[i].Start, ec: d.enc.CharOffsets[i].End, unk: d.enc.IDs[i] == d.unkID})
	}
	return out
}

// aggregate turns a document's scores into entities with HF's
// TokenClassificationPipeline.aggregate / group_entities, then drops
// ignored labels and scores below threshold.
func (d *docScores) aggregate(a Aggregation, ignore []string, threshold float32) []Entity {
	pre := d.preEntities()
	var toks []tokEntity
	switch a {
	case AggregationNone, AggregationSimple:
		for _, p := range pre {
			k := argmax(p.scores)
			toks = append(toks, tokEntity{label: d.labels[k], score: p.scores[k], index: p.index, sb: p.sb, eb: p.eb, sc: p.sc, ec: p.ec})
		}
	default:
		toks = d.aggregateWords(pre, a)
	}
	var ents []Entity
	if a == AggregationNone {
		for _, t := range toks {
			ents = append(ents, Entity{Label: t.label, Score: t.score, Index: t.index, Text: d.text[t.sb:t.eb], Start: t.sc, End: t.ec, StartByte: t.sb, EndByte: t.eb})
		}
	} else {
		ents = d.group(toks)
	}
	out := ents[:0]
	for _, e := range ents {
		if contains(ignore, e.Label) || e.Score < threshold {
			continue
		}
		out = append(out, e)
	}
	return out
}

// aggregateWords is HF aggregate_words: a word is the run of consecutive
// tokens sharing a word id (WordPiece "##" continuations, Metaspace pieces
// without "▁"); [UNK] tokens start their own word as HF does.
func (d *docScores) aggregateWords(pre []preEntity, a Aggregation) []tokEntity {
	var out []tokEntity
	for i := 0; i < len(pre); {
		j := i + 1
		for j < len(pre) && pre[j].word >= 0 && pre[j].word == pre[j-1].word && pre[j].index == pre[j-1].index+1 && !pre[j].unk {
			j++
		}
		out = append(out, d.aggregateWord(pre[i:j], a))
		i = j
	}
	return out
}

// aggregateWord is HF aggregate_word for first / max / average.
func (d *docScores) aggregateWord(w []preEntity, a Aggregation) tokEntity {
	var scores []float32
	switch a {
	case AggregationFirst:
		scores = w[0].scores
	case AggregationMax:
		best := 0
		for i, p := range w {
			if p.scores[argmax(p.scores)] > w[best].scores[argmax(w[best].scores)] {
				best = i
			}
		}
		scores = w[best].scores
	default: // average (np.nanmean over the word's tokens)
		scores = make([]float32, len(w[0].scores))
		for k := range scores {
			s := 0.0
			for _, p := range w {
				s += float64(p.scores[k])
			}
			scores[k] = float32(s / float64(len(w)))
		}
	}
	k := argmax(scores)
	last := w[len(w)-1]
	return tokEntity{label: d.labels[k], score: scores[k], index: -1, sb: w[0].sb, eb: last.eb, sc: w[0].sc, ec: last.ec}
}

// bioTag is HF get_tag: "B-X" → (B, X), "I-X" → (I, X), anything else →
// (I, itself), so consecutive "O" tokens form one "O" group.
func bioTag(label string) (bi byte, typ string) {
	switch {
	case strings.HasPrefix(label, "B-"):
		return 'B', label[2:]
	case strings.HasPrefix(label, "I-"):
		return 'I', label[2:]
	}
	return 'I', label
}

// group is HF group_entities + group_sub_entities: a token joins the current
// group when it has the group's type and is not B-; the group's score is the
// mean of its members' scores.
func (d *docScores) group(toks []tokEntity) []Entity {
	var out []Entity
	flush := func(g []tokEntity) {
		if len(g) == 0 {
			return
		}
		_, typ := bioTag(g[0].label)
		s := 0.0
		for _, t := range g {
			s += float64(t.score)
		}
		last := g[len(g)-1]
		sb, eb, sc, ec := trimSpace(d.text, g[0].sb, last.eb, g[0].sc, last.ec)
		out = append(out, Entity{Label: typ, Score: float32(s / float64(len(g))), Index: -1,
			Text: d.text[sb:eb], Start: sc, End: ec, StartByte: sb, EndByte: eb})
	}
	var g []tokEntity
	for _, t := range toks {
		if len(g) > 0 {
			bi, typ := bioTag(t.label)
			_, lastTyp := bioTag(g[len(g)-1].label)
			if typ == lastTyp && bi != 'B' {
				g = append(g, t)
				continue
			}
			flush(g)
		}
		g = []tokEntity{t}
	}
	flush(g)
	return out
}

// words returns the document's words (runs of tokens sharing a word id) with
// the first sub-token's tag, repaired to IOB2 (scheme.RepairIOB2).
func (d *docScores) words() []Token {
	pre := d.preEntities()
	var out []Token
	var tags []string
	for i := 0; i < len(pre); {
		j := i + 1
		for j < len(pre) && pre[j].word >= 0 && pre[j].word == pre[j-1].word && pre[j].index == pre[j-1].index+1 {
			j++
		}
		k := argmax(pre[i].scores)
		last := pre[j-1]
		out = append(out, Token{Text: d.text[pre[i].sb:last.eb], Score: pre[i].scores[k], Start: pre[i].sc, End: last.ec, StartByte: pre[i].sb, EndByte: last.eb})
		tags = append(tags, d.labels[k])
		i = j
	}
	for i, t := range scheme.RepairIOB2(tags) {
		out[i].Tag = t
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// trimSpace narrows the span text[sb:eb] (code points [sc,ec)) past leading
// and trailing white space. SentencePiece (Metaspace) tokenizers such as
// DeBERTa-v3's give a word's first piece an offset that starts at the space
// before it ("▁polyp" → " polyp"); an entity group should cover the words
// only, as HF's pipeline "word" does, so brat/CoNLL spans stay exact.
func trimSpace(text string, sb, eb, sc, ec int) (int, int, int, int) {
	for sb < eb {
		r, n := utf8.DecodeRuneInString(text[sb:eb])
		if !unicode.IsSpace(r) {
			break
		}
		sb, sc = sb+n, sc+1
	}
	for eb > sb {
		r, n := utf8.DecodeLastRuneInString(text[sb:eb])
		if !unicode.IsSpace(r) {
			break
		}
		eb, ec = eb-n, ec-1
	}
	return sb, eb, sc, ec
}
