package tokenize

import (
	"fmt"
	"unicode/utf8"
)

// view is a word: the normalized bytes [s, e) of a piece.
type view struct {
	n    *normalized
	s, e int
}

// preTokenizer splits normalized pieces into words. Transforming
// pre-tokenizers (Metaspace) may rewrite the piece.
type preTokenizer interface {
	preTokenize(in []view, out []view) []view
}

// PrependScheme is HF Metaspace's prepend_scheme.
type PrependScheme int

const (
	// PrependAlways prepends the replacement to every split not starting with it.
	PrependAlways PrependScheme = iota
	// PrependFirst prepends only to the split starting at original offset 0.
	PrependFirst
	// PrependNever never prepends.
	PrependNever
)

func parsePrependScheme(s string) (PrependScheme, error) {
	switch s {
	case "always", "":
		return PrependAlways, nil
	case "first":
		return PrependFirst, nil
	case "never":
		return PrependNever, nil
	}
	return 0, fmt.Errorf("prepend_scheme %q: want always, first or never", s)
}

// wholeView returns v as a standalone normalized piece (slicing if needed).
func wholeView(v view) *normalized {
	if v.s == 0 && v.e == len(v.n.norm) {
		return v.n
	}
	return v.n.slice(v.s, v.e)
}

// metaspace is HF's pre_tokenizers.Metaspace: spaces become the replacement
// (default ▁), the replacement is prepended per prepend_scheme, then the piece
// is split before every replacement (MergedWithNext) when split is true.
type metaspace struct {
	repl   string
	scheme PrependScheme
	split  bool
}

func (m *metaspace) preTokenize(in []view, out []view) []view {
	for _, v := range in {
		n := wholeView(v)
		m.rewrite(n)
		if !m.split {
			if len(n.norm) > 0 {
				out = append(out, view{n, 0, len(n.norm)})
			}
			continue
		}
		start := 0
		r := m.repl
		for i := 0; i+len(r) <= len(n.norm); {
			if n.norm[i] == r[0] && string(n.norm[i:i+len(r)]) == r {
				if i > start {
					out = append(out, view{n, start, i})
				}
				start = i
				i += len(r)
				continue
			}
			i++
		}
		if start < len(n.norm) {
			out = append(out, view{n, start, len(n.norm)})
		}
	}
	return out
}

// rewrite replaces ' ' by the replacement (each keeps the space's
// alignment) and prepends it (aligned to the first char) as HF does.
func (m *metaspace) rewrite(n *normalized) {
	spaces := 0
	for _, c := range n.norm {
		if c == ' ' {
			spaces++
		}
	}
	if spaces > 0 {
		out, al := n.buffers(len(n.norm) + spaces*(len(m.repl)-1) + len(m.repl))
		for i, c := range n.norm {
			if c == ' ' {
				out = append(out, m.repl...)
				for k := 0; k < len(m.repl); k++ {
					al = append(al, n.align[i])
				}
				continue
			}
			out = append(out, c)
			al = append(al, n.align[i])
		}
		n.commit(out, al)
	}
	if len(n.norm) == 0 {
		return
	}
	starts := len(n.norm) >= len(m.repl) && string(n.norm[:len(m.repl)]) == m.repl
	pre := false
	switch m.scheme {
	case PrependAlways:
		pre = !starts
	case PrependFirst:
		pre = !starts && n.shift == 0
	}
	if pre {
		a := n.align[0]
		out, al := n.buffers(len(n.norm) + len(m.repl))
		out = append(append(out, m.repl...), n.norm...)
		for k := 0; k < len(m.repl); k++ {
			al = append(al, a)
		}
		// The first char is re-inserted with the alignment of its last byte.
		_, sz := utf8.DecodeRune(n.norm)
		last := n.align[sz-1]
		for k := 0; k < sz; k++ {
			al = append(al, last)
		}
		al = append(al, n.align[sz:]...)
		n.commit(out, al)
	}
}

// bertPreTokenizer is HF's BertPreTokenizer: split on whitespace (removed),
// then isolate every punctuation char.
type bertPreTokenizer struct{}

func (bertPreTokenizer) preTokenize(in []view, out []view) []view {
	for _, v := range in {
		b := v.n.norm
		start := v.s
		for i := v.s; i < v.e; {
			c := b[i]
			if c < utf8.RuneSelf && asciiClass[c] == 0 {
				i++
				continue
			}
			var r rune = rune(c)
			sz := 1
			if c >= utf8.RuneSelf {
				r, sz = utf8.DecodeRune(b[i:v.e])
			}
			switch {
			case isRustWhitespace(r):
				if i > start {
					out = append(out, view{v.n, start, i})
				}
				start = i + sz
			case isBertPunct(r):
				if i > start {
					out = append(out, view{v.n, start, i})
				}
				out = append(out, view{v.n, i, i + sz})
				start = i + sz
			}
			i += sz
		}
		if start < v.e {
			out = append(out, view{v.n, start, v.e})
		}
	}
	return out
}

// whitespaceSplit is HF's WhitespaceSplit: split on whitespace, removed.
type whitespaceSplit struct{}

func (whitespaceSplit) preTokenize(in []view, out []view) []view {
	for _, v := range in {
		start := v.s
		for i := v.s; i < v.e; {
			r, sz := utf8.DecodeRune(v.n.norm[i:v.e])
			if isRustWhitespace(r) {
				if i > start {
					out = append(out, view{v.n, start, i})
				}
				start = i + sz
			}
			i += sz
		}
		if start < v.e {
			out = append(out, view{v.n, start, v.e})
		}
	}
	return out
}

// sequencePreTokenizer is HF's pre_tokenizers.Sequence.
type sequencePreTokenizer []preTokenizer

func (s sequencePreTokenizer) preTokenize(in []view, out []view) []view {
	cur := in
	for i, p := range s {
		if i == len(s)-1 {
			return p.preTokenize(cur, out)
		}
		cur = p.preTokenize(cur, nil)
	}
	return append(out, cur...)
}

// asciiClass classifies ASCII bytes for the BertPreTokenizer: 1 whitespace,
// 2 punctuation, 0 neither.
var asciiClass = func() (t [128]uint8) {
	for c := rune(0); c < 128; c++ {
		switch {
		case isRustWhitespace(c):
			t[c] = 1
		case isBertPunct(c):
			t[c] = 2
		}
	}
	return t
}()
