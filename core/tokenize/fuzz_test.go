package tokenize

import (
	"encoding/base64"
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"
)

const tinyWordPieceJSON = `{"version":"1.0","truncation":null,"padding":null,
"added_tokens":[{"id":0,"content":"[PAD]","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},
{"id":1,"content":"[UNK]","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},
{"id":2,"content":"[CLS]","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},
{"id":3,"content":"[SEP]","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},
{"id":4,"content":"[MASK]","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true}],
"normalizer":{"type":"BertNormalizer","clean_text":true,"handle_chinese_chars":true,"strip_accents":null,"lowercase":true},
"pre_tokenizer":{"type":"BertPreTokenizer"},
"post_processor":{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"[CLS]","type_id":0}},{"Sequence":{"id":"A","type_id":0}},{"SpecialToken":{"id":"[SEP]","type_id":0}}],
"pair":[{"SpecialToken":{"id":"[CLS]","type_id":0}},{"Sequence":{"id":"A","type_id":0}},{"SpecialToken":{"id":"[SEP]","type_id":0}},{"Sequence":{"id":"B","type_id":1}},{"SpecialToken":{"id":"[SEP]","type_id":1}}],
"special_tokens":{"[CLS]":{"id":"[CLS]","ids":[2],"tokens":["[CLS]"]},"[SEP]":{"id":"[SEP]","ids":[3],"tokens":["[SEP]"]}}},
"decoder":null,
"model":{"type":"WordPiece","unk_token":"[UNK]","continuing_subword_prefix":"##","max_input_chars_per_word":100,
"vocab":{"[PAD]":0,"[UNK]":1,"[CLS]":2,"[SEP]":3,"[MASK]":4,"brca":5,"##1":6,"mut":7,"##ations":8,"-":9,"α":10,"a":11}}}`

func tinyUnigramJSON() string {
	return `{"added_tokens":[{"id":0,"content":"[PAD]","normalized":false,"special":true},{"id":1,"content":"[CLS]","normalized":false,"special":true},
{"id":2,"content":"[SEP]","normalized":false,"special":true},{"id":3,"content":"[UNK]","normalized":false,"special":true}],
"normalizer":{"type":"Sequence","normalizers":[{"type":"Strip","strip_left":true,"strip_right":true},
{"type":"Precompiled","precompiled_charsmap":"` + base64.StdEncoding.EncodeToString(tinyCharsmap()) + `"},
{"type":"Replace","pattern":{"Regex":" {2,}"},"content":" "}]},
"pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"Metaspace","replacement":"▁","prepend_scheme":"always","split":true}]},
"post_processor":{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"[CLS]","type_id":0}},{"Sequence":{"id":"A","type_id":0}},{"SpecialToken":{"id":"[SEP]","type_id":0}}],
"pair":[],"special_tokens":{"[CLS]":{"id":"[CLS]","ids":[1],"tokens":["[CLS]"]},"[SEP]":{"id":"[SEP]","ids":[2],"tokens":["[SEP]"]}}},
"model":{"type":"Unigram","unk_id":3,"byte_fallback":false,"vocab":[["[PAD]",0],["[CLS]",0],["[SEP]",0],["[UNK]",0],
["▁",-2.5],["▁brca",-8.1],["1",-4],["▁mut",-7],["ations",-6.5],["a",-3],["▁a",-3.2],["α",-9]]}}`
}

// tinyCharsmap is a one-entry precompiled charsmap (empty trie root with no
// children, blob "x\x00"), enough to exercise the parser.
func tinyCharsmap() []byte {
	units := []uint32{0}
	b := make([]byte, 4+4*len(units))
	b[0] = byte(4 * len(units))
	return append(b, 'x', 0)
}

// tinySPM builds a small SentencePiece ModelProto.
func tinySPM() []byte {
	var b []byte
	for i, p := range []string{"[PAD]", "[CLS]", "[SEP]", "[UNK]", "▁", "▁brca", "1", "a"} {
		var sp []byte
		sp = protowire.AppendTag(sp, 1, protowire.BytesType)
		sp = protowire.AppendString(sp, p)
		sp = protowire.AppendTag(sp, 2, protowire.Fixed32Type)
		sp = protowire.AppendFixed32(sp, math.Float32bits(-float32(i)))
		sp = protowire.AppendTag(sp, 3, protowire.VarintType)
		sp = protowire.AppendVarint(sp, 1)
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendBytes(b, sp)
	}
	var tr []byte
	tr = protowire.AppendTag(tr, 3, protowire.VarintType)
	tr = protowire.AppendVarint(tr, 1)
	tr = protowire.AppendTag(tr, 40, protowire.VarintType)
	tr = protowire.AppendVarint(tr, 3)
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendBytes(b, tr)
	var nm []byte
	nm = protowire.AppendTag(nm, 2, protowire.BytesType)
	nm = protowire.AppendBytes(nm, tinyCharsmap())
	b = protowire.AppendTag(b, 3, protowire.BytesType)
	b = protowire.AppendBytes(b, nm)
	return b
}

// checkEncoding asserts invariants every encoding of text must satisfy.
func checkEncoding(t *testing.T, tk *Tokenizer, text string, e *Encoding) {
	n := e.Len()
	require.Len(t, e.Tokens, n)
	require.Len(t, e.Offsets, n)
	require.Len(t, e.CharOffsets, n)
	require.Len(t, e.WordIDs, n)
	chars := utf8.RuneCountInString(text)
	prevWord := -1
	for i := 0; i < n; i++ {
		o, c := e.Offsets[i], e.CharOffsets[i]
		require.True(t, 0 <= o.Start && o.Start <= o.End && o.End <= len(text), "byte offsets %v of %q", o, text)
		require.True(t, 0 <= c.Start && c.Start <= c.End && c.End <= chars, "char offsets %v of %q", c, text)
		if e.SequenceIDs[i] < 0 {
			require.Equal(t, -1, e.WordIDs[i])
			require.Equal(t, Offset{}, o)
			continue
		}
		require.GreaterOrEqual(t, e.WordIDs[i], prevWord, "word ids never decrease")
		prevWord = e.WordIDs[i]
		if o.Start < o.End && o.Start < len(text) {
			require.Equal(t, utf8.RuneCountInString(text[:o.Start]), c.Start)
		}
		tok, ok := tk.IDToToken(e.IDs[i])
		require.True(t, ok, "id %d has a token", e.IDs[i])
		if tok != e.Tokens[i] {
			require.Equal(t, tk.Special().UNK, e.IDs[i], "only unknown pieces keep their raw text (%q vs %q)", e.Tokens[i], tok)
		}
	}
}

func FuzzLoadTokenizerJSON(f *testing.F) {
	f.Add([]byte(tinyWordPieceJSON))
	f.Add([]byte(tinyUnigramJSON()))
	f.Add([]byte(`{"model":{"type":"Unigram","unk_id":9,"vocab":[["a",0]]}}`))
	f.Add([]byte(`{"model":{"type":"WordPiece","vocab":{"a":0}},"pre_tokenizer":{"type":"Metaspace","replacement":""}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tk, err := ParseTokenizerJSON(data)
		if err != nil {
			require.NotEmpty(t, err.Error())
			return
		}
		for _, s := range []string{"", "BRCA1 mutations", "  α-a [MASK] ﬁ\u00a0x ", "[CLS]a"} {
			e, err := tk.Encode(s)
			require.NoError(t, err)
			require.Equal(t, e.Len(), len(e.IDs))
		}
		_, _ = tk.EncodePair("a b", "c")
		_, _ = tk.EncodeWords([]string{"a", "", "b c"})
	})
}

func FuzzLoadSPM(f *testing.F) {
	f.Add(tinySPM())
	f.Add(tinySPM()[:40])
	f.Add([]byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, data []byte) {
		tk, err := parseSPMTokenizer(data, Options{})
		if err != nil {
			require.NotEmpty(t, err.Error())
			return
		}
		for _, s := range []string{"", "brca1  a", "\x01α ▁"} {
			_, err := tk.Encode(s)
			require.NoError(t, err)
		}
	})
}

func TestTinyLoaders(t *testing.T) {
	wp, err := ParseTokenizerJSON([]byte(tinyWordPieceJSON))
	require.NoError(t, err)
	e, err := wp.Encode("BRCA1 mutations-α")
	require.NoError(t, err)
	require.Equal(t, []string{"[CLS]", "brca", "##1", "mut", "##ations", "-", "α", "[SEP]"}, e.Tokens)
	require.Equal(t, []int{-1, 0, 0, 1, 1, 2, 3, -1}, e.WordIDs)
	require.Equal(t, Offset{16, 18}, e.Offsets[6], "α is two bytes")
	require.Equal(t, Offset{16, 17}, e.CharOffsets[6], "and one code point")
	ug, err := ParseTokenizerJSON([]byte(tinyUnigramJSON()))
	require.NoError(t, err)
	e, err = ug.Encode(" brca1  a ")
	require.NoError(t, err)
	require.Equal(t, []string{"[CLS]", "▁brca", "1", "▁a", "[SEP]"}, e.Tokens)
	require.Equal(t, []Offset{{}, {1, 5}, {5, 6}, {7, 9}, {}}, e.Offsets, "the collapsed double space aligns to its last space")
	sp, err := parseSPMTokenizer(tinySPM(), Options{})
	require.NoError(t, err)
	e, err = sp.Encode("brca1 z")
	require.NoError(t, err)
	require.Equal(t, []string{"[CLS]", "▁brca", "1", "▁", "z", "[SEP]"}, e.Tokens)
	require.Equal(t, int32(3), e.IDs[4], "z is unknown")
	require.Equal(t, int32(8), sp.Special().MASK, "[MASK] is appended after the pieces")
	require.Equal(t, 9, sp.VocabSize())
}

func TestLoaderErrorsNameTheField(t *testing.T) {
	for _, c := range []struct{ json, field string }{
		{`{"model":null}`, "model"},
		{`{"model":{"type":"BPE"}}`, `type "BPE"`},
		{`{"model":{"type":"WordPiece","unk_token":"[UNK]","vocab":{"a":0}}}`, "unk_token"},
		{`{"model":{"type":"Unigram","unk_id":0,"vocab":[["a"]]}}`, "vocab[0]"},
		{`{"model":{"type":"Unigram","unk_id":5,"vocab":[["a",0]]}}`, "unk_id"},
		{strings.Replace(tinyWordPieceJSON, `"BertPreTokenizer"`, `"Whitespace"`, 1), "pre_tokenizer"},
		{strings.Replace(tinyWordPieceJSON, `"BertNormalizer"`, `"NFKC"`, 1), "normalizer"},
		{strings.Replace(tinyUnigramJSON(), `" {2,}"`, `"("`, 1), "Replace.pattern.Regex"},
		{strings.Replace(tinyUnigramJSON(), `"always"`, `"sometimes"`, 1), "prepend_scheme"},
		{strings.Replace(tinyWordPieceJSON, `"ids":[2]`, `"ids":[2,5]`, 1), "special_tokens"},
		{`{"model":{"type":"WordPiece","unk_token":"a","vocab":{"a":0}},"added_tokens":[{"id":1,"content":""}]}`, "added_tokens[0]"},
	} {
		_, err := ParseTokenizerJSON([]byte(c.json))
		require.Error(t, err, c.json)
		require.Contains(t, err.Error(), c.field)
	}
	_, err := parseSPMTokenizer([]byte{0x0a, 0x05, 0x0a}, Options{})
	require.ErrorContains(t, err, "ModelProto")
	_, err = parseSPMTokenizer(nil, Options{})
	require.ErrorContains(t, err, "pieces")
	var bad []byte
	bad = protowire.AppendTag(bad, 1, protowire.BytesType)
	bad = protowire.AppendBytes(bad, protowire.AppendTag(nil, 2, protowire.Fixed32Type))
	_, err = parseSPMTokenizer(bad, Options{})
	require.ErrorContains(t, err, "pieces[0].score")
}

func FuzzEncode(f *testing.F) {
	shared := sharedDir(f)
	wp := loadShared(f, shared, "pubmedbert-abstract")
	ug := loadShared(f, shared, "deberta-v3")
	for _, s := range []string{"", " ", "BRCA1 [MASK] α-synuclein ±5 µM", "ﬁnal  ½\x01x", "野口 naïve İ", "a\u0301\u0323b \r\n\t😀🏽"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		for _, tk := range []*Tokenizer{wp, ug} {
			e, err := tk.Encode(text)
			if !utf8.ValidString(text) {
				require.Error(t, err)
				continue
			}
			require.NoError(t, err)
			checkEncoding(t, tk, text, e)
			ws, err := WordAlignedWindows(e, 16, 4)
			require.NoError(t, err)
			require.NotEmpty(t, ws)
			words := strings.Fields(text)
			we, err := tk.EncodeWords(words)
			require.NoError(t, err)
			for i, w := range we.WordIDs {
				if w >= 0 {
					require.Less(t, w, len(words))
					require.LessOrEqual(t, we.Offsets[i].End, len(words[w]))
				}
			}
		}
	})
}

// TestAddedTokenIDsFollowHF checks HF's add_tokens id rule on load: a token
// in the model vocabulary keeps the model id, others get the next free id
// after the vocabulary, whatever the file says; lstrip/rstrip tokens absorb
// the surrounding spaces.
func TestAddedTokenIDsFollowHF(t *testing.T) {
	js := strings.Replace(tinyWordPieceJSON, `"added_tokens":[`, `"added_tokens":[{"id":99,"content":"<e1>","lstrip":true,"rstrip":true,"special":true},{"id":50,"content":"brca","special":false},{"id":77,"content":"<e2>"},`, 1)
	tk, err := ParseTokenizerJSON([]byte(js))
	require.NoError(t, err)
	id, ok := tk.TokenToID("<e1>")
	require.True(t, ok)
	require.Equal(t, int32(12), id, "vocabulary has 12 entries")
	id, _ = tk.TokenToID("<e2>")
	require.Equal(t, int32(13), id)
	id, _ = tk.TokenToID("brca")
	require.Equal(t, int32(5), id, "model id wins")
	require.Equal(t, 14, tk.VocabSize())
	e, err := tk.Encode("a <e1> a")
	require.NoError(t, err)
	require.Equal(t, []string{"[CLS]", "a", " <e1> ", "a", "[SEP]"}, e.Tokens)
	require.Equal(t, Offset{1, 7}, e.Offsets[2])
}
