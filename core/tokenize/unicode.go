package tokenize

import "unicode"

// isRustWhitespace is Rust's char::is_whitespace (the Unicode White_Space
// property), which Go's unicode.IsSpace implements for the same set.
func isRustWhitespace(r rune) bool { return unicode.IsSpace(r) }

// isBertWhitespace is the BertNormalizer's is_whitespace: \t \n \r count as
// whitespace although they are control characters.
func isBertWhitespace(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' || unicode.IsSpace(r)
}

// isAssigned reports whether r has a General_Category other than Cn.
func isAssigned(r rune) bool {
	return unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z, unicode.C)
}

// isBertControl is the BertNormalizer's is_control: the unicode_categories
// crate's is_other (Cc, Cf, Cn, Co, Cs) minus \t \n \r.
func isBertControl(r rune) bool {
	if r == '\t' || r == '\n' || r == '\r' {
		return false
	}
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs) || !isAssigned(r)
}

// isBertPunct is the BertPreTokenizer's is_bert_punc: ASCII punctuation
// (which includes symbols such as $ + < = > ^ ` | ~) or Unicode category P*.
func isBertPunct(r rune) bool {
	if r < 0x80 {
		return (r >= '!' && r <= '/') || (r >= ':' && r <= '@') || (r >= '[' && r <= '`') || (r >= '{' && r <= '~')
	}
	if unicode.IsPunct(r) {
		return !unicode.Is(hfNotPunct, r)
	}
	return unicode.Is(hfExtraPunct, r)
}

// isHFNonspacingMark is strip_accents' is_mark_nonspacing (Mn) with HF's
// older tables.
func isHFNonspacingMark(r rune) bool {
	if unicode.Is(unicode.Mn, r) {
		return !unicode.Is(hfNotMn, r)
	}
	return unicode.Is(hfExtraMn, r)
}

// isChineseChar is the BertNormalizer's CJK block test.
func isChineseChar(r rune) bool {
	switch {
	case r >= 0x4E00 && r <= 0x9FFF, r >= 0x3400 && r <= 0x4DBF,
		r >= 0x20000 && r <= 0x2A6DF, r >= 0x2A700 && r <= 0x2B73F,
		r >= 0x2B740 && r <= 0x2B81F, r >= 0x2B920 && r <= 0x2CEAF,
		r >= 0xF900 && r <= 0xFAFF, r >= 0x2F800 && r <= 0x2FA1F:
		return true
	}
	return false
}

// appendLower appends Rust's char::to_lowercase(r): the simple lowercase
// mapping except U+0130, whose full mapping is "i\u0307".
func appendLower(dst []rune, r rune) []rune {
	if r == 0x130 {
		return append(dst, 'i', 0x307)
	}
	return append(dst, unicode.ToLower(r))
}
