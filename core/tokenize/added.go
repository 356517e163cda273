package tokenize

import (
	"sort"
	"unicode"
	"unicode/utf8"
)

// AddedToken is one entry of tokenizer.json's added_tokens (HF AddedToken):
// matched as a whole before the model runs, on the raw text when
// Normalized is false, on the normalized text otherwise.
type AddedToken struct {
	ID         int32  `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	LStrip     bool   `json:"lstrip"`
	RStrip     bool   `json:"rstrip"`
	Normalized bool   `json:"normalized"`
	Special    bool   `json:"special"`
}

// matcher finds added tokens with leftmost-longest semantics (HF builds an
// Aho-Corasick automaton with MatchKind::LeftmostLongest).
type matcher struct {
	byFirst  [256][]int // pattern indices by first byte, longest first
	patterns []string
	tokens   []AddedToken
}

func newMatcher(tokens []AddedToken, patterns []string) *matcher {
	m := &matcher{patterns: patterns, tokens: tokens}
	for i, p := range patterns {
		if p == "" {
			continue
		}
		m.byFirst[p[0]] = append(m.byFirst[p[0]], i)
	}
	for b := range m.byFirst {
		l := m.byFirst[b]
		sort.SliceStable(l, func(i, j int) bool { return len(patterns[l[i]]) > len(patterns[l[j]]) })
	}
	if len(tokens) == 0 {
		return nil
	}
	return m
}

// segment is a piece of the input: an added token (tok >= 0) or text.
type segment struct {
	s, e int
	tok  int // index into matcher.tokens, or -1
}

// find splits s into text and added-token segments covering all of s
// (HF AddedVocabulary::find_matches).
func (m *matcher) find(s string, out []segment) []segment {
	if m == nil || len(s) == 0 {
		if len(s) > 0 {
			out = append(out, segment{0, len(s), -1})
		}
		return out
	}
	startOffset := 0
	for i := 0; i < len(s); {
		cands := m.byFirst[s[i]]
		hit := -1
		for _, k := range cands {
			p := m.patterns[k]
			if len(p) <= len(s)-i && s[i:i+len(p)] == p {
				hit = k
				break
			}
		}
		if hit < 0 {
			i++
			continue
		}
		start, stop := i, i+len(m.patterns[hit])
		tok := m.tokens[hit]
		if tok.SingleWord {
			startSpace := start == 0 || !endsWithWord(s[:start])
			stopSpace := stop == len(s) || !startsWithWord(s[stop:])
			if !startSpace || !stopSpace {
				i++
				continue
			}
		}
		if tok.LStrip {
			ns := start
			for ns > 0 {
				r, sz := utf8.DecodeLastRuneInString(s[:ns])
				if !unicode.IsSpace(r) {
					break
				}
				ns -= sz
			}
			if ns < startOffset {
				ns = startOffset
			}
			start = ns
		}
		if tok.RStrip {
			for stop < len(s) {
				r, sz := utf8.DecodeRuneInString(s[stop:])
				if !unicode.IsSpace(r) {
					break
				}
				stop += sz
			}
		}
		if startOffset < start {
			out = append(out, segment{startOffset, start, -1})
		}
		out = append(out, segment{start, stop, hit})
		startOffset = stop
		i = stop
	}
	if startOffset != len(s) {
		out = append(out, segment{startOffset, len(s), -1})
	}
	return out
}

func isWordRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) || unicode.Is(unicode.Pc, r) || unicode.Is(unicode.Nd, r)
}

func endsWithWord(s string) bool {
	r, _ := utf8.DecodeLastRuneInString(s)
	return len(s) > 0 && isWordRune(r)
}

func startsWithWord(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return len(s) > 0 && isWordRune(r)
}
