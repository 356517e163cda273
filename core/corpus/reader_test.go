package corpus_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/openmed/openmed/core/corpus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReaderFormatVariants(t *testing.T) {
	in := "\xef\xbb\xbf-DOCSTART-\tO\r\n\r\n" + // BOM, CRLF, docstart
		"Ataxia\tB-Disease  \r\n" + // trailing whitespace
		"-\tI-Disease\tNN\tx\r\n" + // extra columns kept
		"telangiectasia I-Disease\r\n" + // space-separated
		"\r\n\r\n\r\n" + // several blank lines
		"A  \t O\n" +
		"-DOCSTART-\tO\n" + // docstart without blank line ends the sentence
		"\n" +
		"S800 B\n" + // untyped tag
		"last\tO" // no final newline
	c, err := corpus.Read(strings.NewReader(in), "x.tsv")
	require.NoError(t, err)
	require.Len(t, c.Sentences, 3)
	assert.Equal(t, 2, c.Docs)

	s0 := c.Sentences[0]
	assert.Equal(t, []string{"Ataxia", "-", "telangiectasia"}, s0.Words())
	assert.Equal(t, []string{"B-Disease", "I-Disease", "I-Disease"}, s0.Tags())
	assert.Equal(t, []string{"NN", "x"}, s0.Tokens[1].Extra)
	assert.Nil(t, s0.Tokens[0].Extra)
	assert.Equal(t, 3, s0.Line)
	assert.Equal(t, 1, s0.Doc)

	s1 := c.Sentences[1]
	assert.Equal(t, []string{"A"}, s1.Words())
	assert.Equal(t, 9, s1.Line)
	assert.Equal(t, 1, s1.Doc)

	s2 := c.Sentences[2]
	assert.Equal(t, []string{"S800", "last"}, s2.Words())
	assert.Equal(t, []string{"B", "O"}, s2.Tags())
	assert.Equal(t, 2, s2.Doc)
	assert.Equal(t, 12, s2.Line)

	assert.Equal(t, 6, c.Tokens())
	docs := c.Documents()
	require.Len(t, docs, 2)
	assert.Len(t, docs[0], 2)
	assert.Len(t, docs[1], 1)
	assert.Equal(t, []string{"O", "B", "B-Disease", "I-Disease"}, c.Labels())
}

func TestReaderErrorsNameFileAndLine(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"no tag", "a\tO\nb\n", "bad.tsv:2: token \"b\" has no tag"},
		{"invalid utf8", "a\tO\n\nb\xff\tO\n", "bad.tsv:3: invalid UTF-8"},
		{"bad prefix", "a\tX-Disease\n", "bad.tsv:1: invalid tag \"X-Disease\""},
		{"no hyphen", "a\tBDisease\n", "bad.tsv:1: invalid tag \"BDisease\""},
		{"empty type", "a\tB-\n", "bad.tsv:1: invalid tag \"B-\""},
		{"lowercase", "a\to\n", "bad.tsv:1: invalid tag \"o\""},
		{"empty column", "a\t\tO\n", "bad.tsv:1: column 2 is empty"},
		{"carriage return inside", "a\tO\nx\ry\tO\n", "bad.tsv:2: column 1 contains a carriage return"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := corpus.Read(strings.NewReader(c.in), "bad.tsv")
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			var pe *corpus.ParseError
			assert.True(t, errors.As(err, &pe))
		})
	}
}

func TestTagColumnOption(t *testing.T) {
	in := "EU NNP B-NP B-ORG\nrejects VBZ B-VP O\n"
	c, err := corpus.Read(strings.NewReader(in), "conll03", corpus.WithTagColumn(-1))
	require.NoError(t, err)
	require.Len(t, c.Sentences, 1)
	assert.Equal(t, []string{"B-ORG", "O"}, c.Sentences[0].Tags())
	assert.Equal(t, []string{"NNP", "B-NP"}, c.Sentences[0].Tokens[0].Extra)

	_, err = corpus.Read(strings.NewReader("a\tO\n"), "x", corpus.WithTagColumn(3))
	assert.ErrorContains(t, err, "x:1: tag column 4 not present")
}

func TestWriteRoundTrip(t *testing.T) {
	in := "-DOCSTART-\tO\n\nA\tB-X\tp\nb c\tI-X\n\n-DOCSTART-\tO\n\n-DOCSTART-\tO\n\nd\tO\n\n"
	c, err := corpus.Read(strings.NewReader(in), "in")
	require.NoError(t, err)
	assert.Equal(t, 3, c.Docs)
	var buf bytes.Buffer
	require.NoError(t, corpus.Write(&buf, c.Sentences))
	assert.Equal(t, in, buf.String())

	bad := []corpus.Sentence{{Tokens: []corpus.Token{{Text: "a\tb", Tag: "O"}}}}
	assert.ErrorContains(t, corpus.Write(io.Discard, bad), "tab")
	bad = []corpus.Sentence{{Tokens: []corpus.Token{{Text: "a", Tag: "Q"}}}}
	assert.ErrorContains(t, corpus.Write(io.Discard, bad), "invalid tag")
	assert.Error(t, corpus.Write(io.Discard, []corpus.Sentence{{}}))
}

// lazySource produces an endless stream of sentences, counting bytes served,
// to show that Reader never reads ahead more than its buffer.
type lazySource struct {
	served  int
	pending []byte
}

func (l *lazySource) Read(p []byte) (int, error) {
	if len(l.pending) == 0 {
		l.pending = []byte("Clustering\tO\nof\tO\nataxia\tB-Disease\ntelangiectasia\tI-Disease\n\n")
	}
	n := copy(p, l.pending)
	l.pending = l.pending[n:]
	l.served += n
	return n, nil
}

func TestReaderStreams(t *testing.T) {
	src := &lazySource{}
	r := corpus.NewReader(src, "stream")
	n := 0
	for s, err := range r.All() {
		require.NoError(t, err)
		require.Len(t, s.Tokens, 4)
		n++
		if n == 10000 {
			break
		}
	}
	assert.Equal(t, 10000, n)
	// 10000 sentences are ~620 kB; the reader may hold one 64 kB buffer more.
	assert.Less(t, src.served, 10000*62+128<<10)
	assert.Equal(t, 50000, r.Line())
}

func TestCheckAligned(t *testing.T) {
	gold := mustRead(t, "gold.tsv", "a\tO\nb\tB-X\n\nc\tO\n")
	same := mustRead(t, "pred.tsv", "a\tB-X\nb\tO\n\nc\tO\n")
	require.NoError(t, corpus.CheckAligned(gold, same))

	diffTok := mustRead(t, "pred.tsv", "a\tO\nB\tB-X\n\nc\tO\n")
	assert.ErrorContains(t, corpus.CheckAligned(gold, diffTok), "pred.tsv:2 has \"B\" but gold.tsv:2 has \"b\"")

	short := mustRead(t, "pred.tsv", "a\tO\n\nb\tO\n\nc\tO\n")
	assert.ErrorContains(t, corpus.CheckAligned(gold, short), "pred.tsv:1 has 1 tokens (ends at line 2)")

	fewer := mustRead(t, "pred.tsv", "a\tO\nb\tB-X\n")
	assert.ErrorContains(t, corpus.CheckAligned(gold, fewer), "gold.tsv:4: sentence 2 has no counterpart in pred.tsv")
	assert.ErrorContains(t, corpus.CheckAligned(fewer, gold), "gold.tsv:4: sentence 2 has no counterpart")
}

func mustRead(t *testing.T, name, s string) *corpus.Corpus {
	t.Helper()
	c, err := corpus.Read(strings.NewReader(s), name)
	require.NoError(t, err)
	return c
}
