package tokenize

import (
	"path/filepath"
	"testing"
	"unicode"

	"github.com/stretchr/testify/require"
)

// TestUnicodeCompatTables pins the measured differences between Go's
// Unicode 15 categories and tokenizers 0.23's tables on a few witnesses.
func TestUnicodeCompatTables(t *testing.T) {
	// U+061D ARABIC END OF TEXT MARK: Po since Unicode 14, unknown to HF.
	require.True(t, unicode.IsPunct(0x61D))
	require.False(t, isBertPunct(0x61D))
	// U+166D CANADIAN SYLLABICS CHI SIGN: Po in HF's tables, So today.
	require.False(t, unicode.IsPunct(0x166D))
	require.True(t, isBertPunct(0x166D))
	require.True(t, isBertPunct('$'), "ASCII symbols are BERT punctuation")
	require.True(t, isBertPunct(0x2014), "em dash")
	require.False(t, isBertPunct('a'))
	// U+07FD NKO DANTAYALAN (Unicode 11 Mn) is kept by HF's strip_accents.
	require.True(t, unicode.Is(unicode.Mn, 0x7FD))
	require.False(t, isHFNonspacingMark(0x7FD))
	require.True(t, isHFNonspacingMark(0x301))
	require.True(t, isHFNonspacingMark(0x1734))
	for _, tab := range []*unicode.RangeTable{hfNotPunct, hfNotMn} {
		for _, r := range tab.R16 {
			require.LessOrEqual(t, r.Lo, r.Hi)
		}
	}
}

func TestBertNormalizerRules(t *testing.T) {
	lower := newBertNormalizer(BertNormalizerConfig{CleanText: true, HandleChineseChars: true, Lowercase: true})
	n := newNormalized("Ａ\x00b\u00e9\tİ野", 0, len("Ａ\x00b\u00e9\tİ野"))
	lower.normalize(n)
	// NUL removed, é stripped (strip_accents follows lowercase), tab → space,
	// İ → i + U+0307 then the dot (Mn) stripped, CJK padded with spaces.
	require.Equal(t, "ａbe i 野 ", string(n.norm))
	require.Equal(t, span{0, 3}, n.align[0], "fullwidth A keeps its 3-byte span")
	no := false
	keep := newBertNormalizer(BertNormalizerConfig{CleanText: true, HandleChineseChars: false, StripAccents: &no, Lowercase: true})
	n = newNormalized("É", 0, 2)
	keep.normalize(n)
	require.Equal(t, "é", string(n.norm))
}

// TestBertExactPathAgrees checks that the fused BertNormalizer pass and the
// exact multi-pass one agree on the reference texts, and that canonical
// reordering takes the positional alignment HF gives it.
func TestBertExactPathAgrees(t *testing.T) {
	shared := sharedDir(t)
	texts := readTexts(t, filepath.Join(shared, "tokenizers", "ref", "texts_tricky.jsonl"))
	texts = append(texts, "e\u0301\u0323x", "naïve Ⅻ 野口 İstanbul")
	for _, strip := range []bool{false, true} {
		b := newBertNormalizer(BertNormalizerConfig{CleanText: true, HandleChineseChars: true, StripAccents: &strip, Lowercase: true})
		for _, s := range texts {
			f := newNormalized(s, 0, len(s))
			b.normalize(f)
			x := newNormalized(s, 0, len(s))
			b.normalizeExact(x)
			require.Equal(t, string(x.norm), string(f.norm), "%q", s)
			require.Equal(t, x.align, f.align, "%q", s)
		}
	}
	// HF (tokenizers 0.23.2) encodes "\u200c\u034b\u302f" with
	// PubMedBERT as [UNK] at code points [1, 2]: NFD moves U+302F (ccc 224)
	// before U+034B (ccc 230) and the first position keeps its alignment.
	tk := loadShared(t, shared, "pubmedbert-abstract")
	e, err := tk.Encode("\u200c\u034b\u302f")
	require.NoError(t, err)
	require.Equal(t, []Offset{{}, {1, 2}, {}}, e.CharOffsets)
}
