package tokenize

import "unicode/utf8"

// span is a half-open [start, end) byte range in the original text.
type span struct{ start, end int }

// normalized mirrors HF's NormalizedString: the normalized bytes and, for
// every normalized byte, the byte range of the original text it came from.
// Alignments are absolute (already shifted by HF's original_shift); shift is
// the absolute original start of this piece and origLen its original length.
type normalized struct {
	norm    []byte
	align   []span
	shift   int
	origLen int
	// spare buffers recycled between successive rewrites (see buffers/commit).
	spareNorm  []byte
	spareAlign []span
	changes    []change // scratch for normalizers that build change lists
}

// buffers returns empty recycled output buffers with room for capHint bytes.
func (n *normalized) buffers(capHint int) ([]byte, []span) {
	out, al := n.spareNorm[:0], n.spareAlign[:0]
	if cap(out) < capHint {
		out = make([]byte, 0, capHint)
	}
	if cap(al) < capHint {
		al = make([]span, 0, capHint)
	}
	return out, al
}

// commit installs a rewritten string, keeping the old buffers for reuse.
func (n *normalized) commit(out []byte, al []span) {
	n.spareNorm, n.spareAlign = n.norm, n.align
	n.norm, n.align = out, al
}

// newNormalized builds the identity normalization of text[start:end]: each
// byte aligns to the whole code point it belongs to (HF's From<&str>).
func newNormalized(text string, start, end int) *normalized {
	n := &normalized{}
	n.reset(text, start, end)
	return n
}

// reset makes n the identity normalization of text[start:end], reusing its
// buffers.
func (n *normalized) reset(text string, start, end int) {
	n.shift, n.origLen = start, end-start
	if cap(n.norm) < end-start+8 {
		n.norm = make([]byte, 0, 2*(end-start)+8)
	}
	if cap(n.align) < end-start+8 {
		n.align = make([]span, 0, 2*(end-start)+8)
	}
	n.norm = append(n.norm[:0], text[start:end]...)
	n.align = n.align[:0]
	for i := start; i < end; {
		c := text[i]
		if c < utf8.RuneSelf {
			n.align = append(n.align, span{i, i + 1})
			i++
			continue
		}
		_, sz := utf8.DecodeRuneInString(text[i:end])
		for k := 0; k < sz; k++ {
			n.align = append(n.align, span{i, i + sz})
		}
		i += sz
	}
}

// alignAt returns the alignment of normalized byte idx, clamping where HF
// would index out of range (and panic).
func (n *normalized) alignAt(idx int) span {
	if idx < 0 {
		return span{n.shift, n.shift}
	}
	if idx >= len(n.align) {
		if len(n.align) == 0 {
			return span{n.shift, n.shift}
		}
		e := n.align[len(n.align)-1].end
		return span{e, e}
	}
	return n.align[idx]
}

// convert maps the normalized byte range [s, e) to absolute original byte
// offsets, as HF's convert_offsets(Range::Normalized) plus original_shift.
func (n *normalized) convert(s, e int) (int, int) {
	if s == e {
		return n.shift + s, n.shift + e
	}
	if len(n.norm) == 0 && s == 0 && e == 0 {
		return n.shift, n.shift + n.origLen
	}
	if s < 0 || e > len(n.align) || s > e {
		return n.shift + s, n.shift + e
	}
	return n.align[s].start, n.align[e-1].end
}

// slice returns the sub-piece for normalized bytes [s, e) (HF's slice with a
// Normalized range).
func (n *normalized) slice(s, e int) *normalized {
	os, oe := n.convert(s, e)
	if s == e {
		os, oe = n.shift+s, n.shift+e
	}
	return &normalized{
		norm:    append([]byte(nil), n.norm[s:e]...),
		align:   append([]span(nil), n.align[s:e]...),
		shift:   os,
		origLen: oe - os,
	}
}

// change is one (char, change) pair of HF's transform: 0 replaces the current
// char, +1 inserts a new char, -N replaces the current char and removes the N
// following ones.
type change struct {
	r rune
	c int
}

// transformer applies a stream of changes to the normalized byte range
// [ns, ne) with exactly the alignment rules of HF's transform_range.
type transformer struct {
	n      *normalized
	ns, ne int
	pos    int // absolute byte position in the old normalized string
	out    []byte
	al     []span
}

func (n *normalized) transformer(ns, ne, initialOffset int) *transformer {
	t := &transformer{n: n, ns: ns, ne: ne, pos: ns}
	if ns == 0 && ne == len(n.norm) {
		t.out, t.al = n.buffers(ne + ne/4 + 8)
	} else {
		t.out = make([]byte, 0, ne-ns+8)
		t.al = make([]span, 0, ne-ns+8)
	}
	for i := 0; i < initialOffset && t.pos < ne; i++ {
		t.pos += t.runeLen()
	}
	return t
}

func (t *transformer) runeLen() int {
	if t.pos >= t.ne {
		return 0
	}
	c := t.n.norm[t.pos]
	if c < utf8.RuneSelf {
		return 1
	}
	_, sz := utf8.DecodeRune(t.n.norm[t.pos:t.ne])
	return sz
}

// emit appends r with HF's change semantics.
func (t *transformer) emit(r rune, ch int) {
	var a span
	if ch > 0 {
		if t.pos < 1 {
			a = span{t.n.shift, t.n.shift}
		} else {
			a = t.n.alignAt(t.pos - 1)
		}
	} else {
		a = t.n.alignAt(t.pos)
		t.pos += t.runeLen()
		for k := 0; k < -ch; k++ {
			t.pos += t.runeLen()
		}
	}
	if r < utf8.RuneSelf {
		t.out = append(t.out, byte(r))
		t.al = append(t.al, a)
		return
	}
	t.out = utf8.AppendRune(t.out, r)
	for k := utf8.RuneLen(r); k > 0; k-- {
		t.al = append(t.al, a)
	}
}

// done splices the produced bytes over [ns, ne).
func (t *transformer) done() {
	n := t.n
	if t.ns == 0 && t.ne == len(n.norm) {
		n.commit(t.out, t.al)
		return
	}
	norm := make([]byte, 0, len(n.norm)-(t.ne-t.ns)+len(t.out))
	norm = append(append(append(norm, n.norm[:t.ns]...), t.out...), n.norm[t.ne:]...)
	al := make([]span, 0, len(norm))
	al = append(append(append(al, n.align[:t.ns]...), t.al...), n.align[t.ne:]...)
	n.norm, n.align = norm, al
}

// transformRange is HF's NormalizedString::transform_range on a normalized
// range.
func (n *normalized) transformRange(ns, ne int, dest []change, initialOffset int) {
	t := n.transformer(ns, ne, initialOffset)
	for _, d := range dest {
		t.emit(d.r, d.c)
	}
	t.done()
}
