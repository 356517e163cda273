package tokenize

import (
	"sort"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// ccc returns the canonical combining class of r.
func ccc(r rune) uint8 {
	if r < 0x300 {
		return 0
	}
	var b [utf8.UTFMax]byte
	k := utf8.EncodeRune(b[:], r)
	return norm.NFD.Properties(b[:k]).CCC()
}

// nfdRunes appends the canonical decomposition of r (unordered).
func nfdRunes(dst []rune, r rune) []rune {
	var b [utf8.UTFMax]byte
	k := utf8.EncodeRune(b[:], r)
	if norm.NFD.IsNormal(b[:k]) {
		return append(dst, r)
	}
	for _, d := range norm.NFD.String(string(r)) {
		dst = append(dst, d)
	}
	return dst
}

// filterRunes is HF's NormalizedString::filter: a kept char followed by
// removed ones carries their removal, leading removed chars are the
// initial offset.
func filterRunes(n *normalized, keep func(rune) bool) {
	rs := []rune(string(n.norm))
	var rev []change
	removed := 0
	for i := len(rs) - 1; i >= 0; i-- {
		if keep(rs[i]) {
			rev = append(rev, change{rs[i], -removed})
			removed = 0
		} else {
			removed++
		}
	}
	out := make([]change, len(rev))
	for i := range rev {
		out[i] = rev[len(rev)-1-i]
	}
	n.transformRange(0, len(n.norm), out, removed)
}

// normalizeExact runs the BertNormalizer as HF's separate passes (filter,
// map, CJK padding, NFD with canonical reordering of (char, change) pairs,
// Mn filter, lowercase). It is used when the fused pass cannot reproduce
// the positional alignments HF assigns after canonical reordering.
func (b *bertNormalizer) normalizeExact(n *normalized) {
	if b.clean {
		filterRunes(n, func(r rune) bool { return !(r == 0 || r == 0xFFFD || isBertControl(r)) })
		var ch []change
		for _, r := range string(n.norm) {
			if isBertWhitespace(r) {
				r = ' '
			}
			ch = append(ch, change{r, 0})
		}
		n.transformRange(0, len(n.norm), ch, 0)
	}
	if b.chinese {
		var ch []change
		for _, r := range string(n.norm) {
			if isChineseChar(r) {
				ch = append(ch, change{' ', 1}, change{r, 0}, change{' ', 1})
			} else {
				ch = append(ch, change{r, 0})
			}
		}
		n.transformRange(0, len(n.norm), ch, 0)
	}
	if b.strip {
		var ch []change
		var d []rune
		for _, r := range string(n.norm) {
			d = nfdRunes(d[:0], r)
			for i, x := range d {
				c := 0
				if i > 0 {
					c = 1
				}
				ch = append(ch, change{x, c})
			}
		}
		// Canonical ordering: stable sort of each run of non-starters.
		for i := 0; i < len(ch); {
			if ccc(ch[i].r) == 0 {
				i++
				continue
			}
			j := i
			for j < len(ch) && ccc(ch[j].r) != 0 {
				j++
			}
			run := ch[i:j]
			sort.SliceStable(run, func(a, b int) bool { return ccc(run[a].r) < ccc(run[b].r) })
			i = j
		}
		n.transformRange(0, len(n.norm), ch, 0)
		filterRunes(n, func(r rune) bool { return !isHFNonspacingMark(r) })
	}
	if b.lower {
		lowercaseNormalizer{}.normalize(n)
	}
}
