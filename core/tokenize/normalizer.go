package tokenize

import (
	"fmt"
	"regexp"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// normalizer rewrites a normalized piece in place, keeping alignments.
type normalizer interface {
	normalize(n *normalized)
}

// sequenceNormalizer is HF's normalizers.Sequence.
type sequenceNormalizer []normalizer

func (s sequenceNormalizer) normalize(n *normalized) {
	for _, x := range s {
		x.normalize(n)
	}
}

// BertNormalizerConfig is HF's BertNormalizer: clean_text, handle_chinese_chars,
// strip_accents (nil follows lowercase) and lowercase.
type BertNormalizerConfig struct {
	CleanText          bool
	HandleChineseChars bool
	StripAccents       *bool
	Lowercase          bool
}

type bertNormalizer struct {
	clean, chinese, strip, lower bool
	ascii                        [128]int16 // output byte, or -1 to drop
}

func newBertNormalizer(c BertNormalizerConfig) *bertNormalizer {
	b := &bertNormalizer{clean: c.CleanText, chinese: c.HandleChineseChars, lower: c.Lowercase}
	// HF: strip_accents None means "follow lowercase" (BERT's original rule).
	b.strip = c.Lowercase
	if c.StripAccents != nil {
		b.strip = *c.StripAccents
	}
	for i := range b.ascii {
		r := rune(i)
		out := int16(i)
		if b.clean {
			if r == 0 || isBertControl(r) {
				out = -1
			} else if isBertWhitespace(r) {
				out = ' '
			}
		}
		if out > 0 && b.lower {
			out = int16(unicode.ToLower(rune(out)))
		}
		b.ascii[i] = out
	}
	return b
}

// normalize applies clean_text, handle_chinese_chars, strip_accents (NFD then
// drop Mn) and lowercase in one pass; the alignments equal those of HF's four
// successive transforms (each output char carries its source char's
// alignment; the space inserted before a CJK char carries the previous kept
// char's alignment).
func (b *bertNormalizer) normalize(n *normalized) {
	out, al := n.buffers(len(n.norm) + len(n.norm)/4 + 8)
	lastKept, anyKept := span{n.shift, n.shift}, false
	var buf []rune
	lastCCC := uint8(0) // combining class of the previous NFD char
	for pos := 0; pos < len(n.norm); {
		c := n.norm[pos]
		a := n.align[pos]
		if c < utf8.RuneSelf {
			pos++
			o := b.ascii[c]
			if o < 0 {
				continue
			}
			out = append(out, byte(o))
			al = append(al, a)
			lastKept, anyKept = a, true
			lastCCC = 0
			continue
		}
		r, sz := utf8.DecodeRune(n.norm[pos:])
		pos += sz
		if b.clean {
			if r == 0xFFFD || isBertControl(r) {
				continue
			}
			if isBertWhitespace(r) {
				r = ' '
			}
		}
		if b.strip && r >= 0x300 {
			// NFD reorders runs of combining marks across chars; HF then
			// assigns alignments by position, which only the exact
			// multi-pass path reproduces.
			var d [8]rune
			for _, x := range nfdRunes(d[:0], r) {
				c := ccc(x)
				if c != 0 && lastCCC > c {
					b.normalizeExact(n)
					return
				}
				lastCCC = c
			}
		} else {
			lastCCC = 0
		}
		if b.chinese && isChineseChar(r) {
			prev := span{n.shift, n.shift}
			if anyKept {
				prev = lastKept
			}
			out = append(out, ' ')
			al = append(al, prev)
			buf = b.expand(buf[:0], r)
			for _, x := range buf {
				out, al = appendRuneAligned(out, al, x, a)
			}
			out = append(out, ' ')
			al = append(al, a)
		} else {
			buf = b.expand(buf[:0], r)
			for _, x := range buf {
				out, al = appendRuneAligned(out, al, x, a)
			}
		}
		lastKept, anyKept = a, true
	}
	n.commit(out, al)
}

// expand returns what r becomes after strip_accents and lowercase.
func (b *bertNormalizer) expand(dst []rune, r rune) []rune {
	var src [8]rune
	rs := src[:0]
	if b.strip {
		var tmp [utf8.UTFMax]byte
		k := utf8.EncodeRune(tmp[:], r)
		if norm.NFD.IsNormal(tmp[:k]) {
			rs = append(rs, r)
		} else {
			for _, d := range norm.NFD.String(string(r)) {
				rs = append(rs, d)
			}
		}
	} else {
		rs = append(rs, r)
	}
	for _, d := range rs {
		if b.strip && isHFNonspacingMark(d) {
			continue
		}
		if b.lower {
			dst = appendLower(dst, d)
		} else {
			dst = append(dst, d)
		}
	}
	return dst
}

func appendRuneAligned(out []byte, al []span, r rune, a span) ([]byte, []span) {
	if r < utf8.RuneSelf {
		return append(out, byte(r)), append(al, a)
	}
	out = utf8.AppendRune(out, r)
	for k := utf8.RuneLen(r); k > 0; k-- {
		al = append(al, a)
	}
	return out, al
}

// lowercaseNormalizer is HF's normalizers.Lowercase.
type lowercaseNormalizer struct{}

func (lowercaseNormalizer) normalize(n *normalized) {
	t := n.transformer(0, len(n.norm), 0)
	var buf []rune
	for _, r := range string(n.norm) {
		buf = appendLower(buf[:0], r)
		for i, x := range buf {
			if i == 0 {
				t.emit(x, 0)
			} else {
				t.emit(x, 1)
			}
		}
	}
	t.done()
}

// stripNormalizer is HF's normalizers.Strip (Rust char::is_whitespace).
type stripNormalizer struct{ left, right bool }

func (s stripNormalizer) normalize(n *normalized) {
	start, end := 0, len(n.norm)
	if s.left {
		for start < end {
			r, sz := utf8.DecodeRune(n.norm[start:end])
			if !isRustWhitespace(r) {
				break
			}
			start += sz
		}
	}
	if s.right {
		for end > start {
			r, sz := utf8.DecodeLastRune(n.norm[start:end])
			if !isRustWhitespace(r) {
				break
			}
			end -= sz
		}
	}
	if start == 0 && end == len(n.norm) {
		return
	}
	// Kept chars keep their alignment; removed ones vanish (HF lrstrip).
	n.norm, n.align = n.norm[start:end], n.align[start:end]
}

// replaceNormalizer is HF's normalizers.Replace with a literal or a regex.
type replaceNormalizer struct {
	literal string
	re      *regexp.Regexp
	content string
}

func (p *replaceNormalizer) matches(s []byte) [][2]int {
	var out [][2]int
	if p.re != nil {
		for _, m := range p.re.FindAllIndex(s, -1) {
			out = append(out, [2]int{m[0], m[1]})
		}
		return out
	}
	if p.literal == "" {
		return nil
	}
	lit := []byte(p.literal)
	for i := 0; i+len(lit) <= len(s); {
		if string(s[i:i+len(lit)]) == p.literal {
			out = append(out, [2]int{i, i + len(lit)})
			i += len(lit)
			continue
		}
		i++
	}
	return out
}

func (p *replaceNormalizer) normalize(n *normalized) {
	ms := p.matches(n.norm)
	if len(ms) == 0 {
		return
	}
	offset := 0
	for _, m := range ms {
		s, e := m[0]+offset, m[1]+offset
		removed := utf8.RuneCount(n.norm[s:e])
		t := n.transformer(s, e, removed)
		for _, r := range p.content {
			t.emit(r, 1)
		}
		t.done()
		offset += len(p.content) - (m[1] - m[0])
	}
}

func newReplace(pattern, regex *string, content string) (*replaceNormalizer, error) {
	p := &replaceNormalizer{content: content}
	switch {
	case regex != nil:
		re, err := regexp.Compile(*regex)
		if err != nil {
			return nil, fmt.Errorf("Replace.pattern.Regex %q: %w", *regex, err)
		}
		p.re = re
	case pattern != nil:
		p.literal = *pattern
	default:
		return nil, fmt.Errorf("Replace.pattern: need String or Regex")
	}
	return p, nil
}
