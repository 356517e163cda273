package training

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/core/corpus"
	"github.com/openmed/openmed/core/tokenize"
	"github.com/openmed/openmed/training/loss"
)

func readCorpus(t *testing.T, name, text string) *corpus.Corpus {
	t.Helper()
	c, err := corpus.Read(strings.NewReader(text), name)
	require.NoError(t, err)
	return c
}

func TestLabelsFromCorpusOrderAndUntyped(t *testing.T) {
	c := readCorpus(t, "t.tsv", "a\tB-Disease\nb\tI-Disease\nc\tO\nd\tB-Chemical\n\n")
	l, err := LabelsFromCorpus(c)
	require.NoError(t, err)
	// O first, sorted by type then prefix; I-Chemical added for B-Chemical.
	require.Equal(t, []string{"O", "B-Chemical", "I-Chemical", "B-Disease", "I-Disease"}, l.Names)
	u := readCorpus(t, "s.tsv", "a\tB\nb\tI\nc\tO\n\n")
	lu, err := LabelsFromCorpus(u)
	require.NoError(t, err)
	require.Equal(t, []string{"O", "B", "I"}, lu.Names)
	_, err = NewLabelSet([]string{"B-X", "O"})
	require.ErrorContains(t, err, "must start with")
}

// First sub-token of each word carries its label, continuation sub-tokens and
// specials -100; with LabelAllSubtokens continuations get I-X.
func TestFirstSubTokenLabels(t *testing.T) {
	tok, _ := pubmedTokenizer(t)
	c := readCorpus(t, "t.tsv", "xylocardiopathy\tB-Disease\nBRCA1\tI-Disease\nin\tO\nmice\tO\n\n")
	labels, err := LabelsFromCorpus(c)
	require.NoError(t, err)
	d, err := BuildDataset(c, tok, labels, DefaultDataOptions())
	require.NoError(t, err)
	require.Len(t, d.Examples, 1)
	ex := d.Examples[0]
	enc, err := tok.EncodeWords(c.Sentences[0].Words())
	require.NoError(t, err)
	require.Equal(t, enc.IDs, ex.IDs)
	require.Greater(t, enc.Len(), 6, "the test needs words split into several sub-tokens")
	seen := map[int]bool{}
	for i, w := range enc.WordIDs {
		switch {
		case w < 0:
			assert.Equal(t, int32(loss.IgnoreIndex), ex.Labels[i], "special at %d", i)
		case !seen[w]:
			id, _ := labels.ID(c.Sentences[0].Tokens[w].Tag)
			assert.Equal(t, int32(id), ex.Labels[i], "first sub-token of word %d", w)
			assert.Equal(t, w, ex.Owned[i])
			seen[w] = true
		default:
			assert.Equal(t, int32(loss.IgnoreIndex), ex.Labels[i], "continuation at %d", i)
			assert.Equal(t, -1, ex.Owned[i])
		}
	}
	require.Len(t, seen, 4)

	o := DefaultDataOptions()
	o.LabelAllSubtokens = true
	d2, err := BuildDataset(c, tok, labels, o)
	require.NoError(t, err)
	iDis, _ := labels.ID("I-Disease")
	bDis, _ := labels.ID("B-Disease")
	for i, w := range enc.WordIDs {
		if w == 0 {
			want := int32(iDis)
			if i == 1 {
				want = int32(bDis)
			}
			assert.Equal(t, want, d2.Examples[0].Labels[i], "position %d", i)
		}
	}
}

// longSentence makes n words cycling through words of 1–4 sub-tokens.
func longSentence(n int) string {
	vocab := []string{"the", "hypertrophic", "cardiomyopathy", "of", "BRCA1", "mutation", "carriers", "adenomatous", "polyposis", "coli"}
	var b strings.Builder
	for i := 0; i < n; i++ {
		tag := "O"
		if i%7 == 3 {
			tag = "B-Disease"
		} else if i%7 == 4 {
			tag = "I-Disease"
		}
		fmt.Fprintf(&b, "%s\t%s\n", vocab[(i*3)%len(vocab)], tag)
	}
	return b.String() + "\n"
}

// A 1,000-word sentence becomes 256/50 windows in which every word is
// labelled exactly once, in the window where it is farthest from a cut edge.
func TestLongSentenceWindowsLabelEachWordOnce(t *testing.T) {
	tok, _ := pubmedTokenizer(t)
	c := readCorpus(t, "long.tsv", longSentence(1000))
	labels, err := LabelsFromCorpus(c)
	require.NoError(t, err)
	d, err := BuildDataset(c, tok, labels, DefaultDataOptions())
	require.NoError(t, err)
	require.Greater(t, len(d.Examples), 4)
	enc, err := tok.EncodeWords(c.Sentences[0].Words())
	require.NoError(t, err)
	wins, err := tokenize.WordAlignedWindows(enc, 256, 50)
	require.NoError(t, err)
	require.Len(t, d.Examples, len(wins))

	count := make([]int, 1000)
	ownerWin := make([]int, 1000)
	for k, ex := range d.Examples {
		require.LessOrEqual(t, len(ex.IDs), 256)
		for i, w := range ex.Owned {
			if w < 0 {
				continue
			}
			count[w]++
			ownerWin[w] = k
			id, _ := labels.ID(c.Sentences[0].Tokens[w].Tag)
			require.Equal(t, int32(id), ex.Labels[i])
			require.Equal(t, w, wins[k].WordIDs[i], "owned position is the word's token")
			require.True(t, i == 0 || wins[k].WordIDs[i-1] != w, "owned position is the word's first sub-token")
		}
		labelled := 0
		for _, l := range ex.Labels {
			if l != loss.IgnoreIndex {
				labelled++
			}
		}
		require.Equal(t, labelled, countOwned(ex.Owned))
	}
	first, last := map[int]int{}, map[int]int{}
	for i, w := range enc.WordIDs {
		if w >= 0 {
			if _, ok := first[w]; !ok {
				first[w] = i
			}
			last[w] = i
		}
	}
	contentLo, contentHi := 1, enc.Len()-1
	dist := func(k, w int) int {
		win := wins[k]
		l := first[w] - win.Start
		r := win.End - 1 - min(last[w], win.End-1)
		if win.Start == contentLo {
			l = 1 << 30
		}
		if win.End == contentHi {
			r = 1 << 30
		}
		return min(l, r)
	}
	overlapped := 0
	for w := 0; w < 1000; w++ {
		require.Equal(t, 1, count[w], "word %d labelled once", w)
		in := 0
		for k, win := range wins {
			if first[w] >= win.Start && first[w] < win.End {
				in++
				require.GreaterOrEqual(t, dist(ownerWin[w], w), dist(k, w), "word %d: window %d is farther from an edge than owner %d", w, k, ownerWin[w])
			}
		}
		if in > 1 {
			overlapped++
		}
	}
	require.Greater(t, overlapped, 100, "windows overlap")
}

func countOwned(o []int) int {
	n := 0
	for _, w := range o {
		if w >= 0 {
			n++
		}
	}
	return n
}

// A word with no sub-tokens is owned by no window (prediction gives it O).
func TestEmptyTokenWordIsUnowned(t *testing.T) {
	tok, _ := pubmedTokenizer(t)
	wins, err := encodeWords(tok, []string{"fever", "\u200b", "cough"}, 0, 256, 50)
	require.NoError(t, err)
	require.Len(t, wins, 1)
	owned := map[int]bool{}
	for _, w := range wins[0].owned {
		if w >= 0 {
			owned[w] = true
		}
	}
	require.True(t, owned[0] && owned[2])
	require.False(t, owned[1], "a word without sub-tokens has no prediction position")
}

func TestBadInput(t *testing.T) {
	tok, _ := pubmedTokenizer(t)
	train := readCorpus(t, "train.tsv", "a\tB-Disease\nb\tO\n\n")
	labels, err := LabelsFromCorpus(train)
	require.NoError(t, err)

	dev := readCorpus(t, "devel.tsv", "a\tO\n\nx\tO\ny\tB-Chemical\n\n")
	_, err = BuildDataset(dev, tok, labels, DefaultDataOptions())
	require.ErrorContains(t, err, "devel.tsv:4")
	require.ErrorContains(t, err, `"B-Chemical"`)

	var warns []string
	o := DefaultDataOptions()
	o.AllowUnknownTags = true
	o.Warn = func(s string) { warns = append(warns, s) }
	d, err := BuildDataset(dev, tok, labels, o)
	require.NoError(t, err)
	require.NotEmpty(t, warns)
	require.Equal(t, []string{"O", "B-Chemical"}, d.Gold()[1], "gold keeps the original tag")

	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.tsv")
	require.NoError(t, os.WriteFile(empty, nil, 0o644))
	_, err = LoadDataset(empty, tok, labels, DefaultDataOptions())
	require.ErrorContains(t, err, "empty.tsv")
	require.ErrorContains(t, err, "no sentences")

	// A 5,000-token sentence is windowed, not an error.
	long := readCorpus(t, "long.tsv", strings.Repeat("fever\tO\n", 5000)+"\n")
	dl, err := BuildDataset(long, tok, labels, DefaultDataOptions())
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(dl.Examples), 5000/206)
	owned := 0
	for _, e := range dl.Examples {
		owned += countOwned(e.Owned)
	}
	require.Equal(t, 5000, owned)
}

// Documents pack consecutive sentences into shared windows, never across a
// -DOCSTART- line; every word is labelled exactly once with its own tag.
func TestDocumentPacking(t *testing.T) {
	tok, _ := pubmedTokenizer(t)
	var b strings.Builder
	for doc := 0; doc < 3; doc++ {
		b.WriteString("-DOCSTART-\tO\n\n")
		for s := 0; s < 30; s++ {
			b.WriteString(longSentence(12 + s%5))
		}
	}
	c := readCorpus(t, "docs.tsv", b.String())
	require.Equal(t, 90, len(c.Sentences))
	labels, err := LabelsFromCorpus(c)
	require.NoError(t, err)
	d, err := BuildDataset(c, tok, labels, DefaultDataOptions())
	require.NoError(t, err)
	sentOf := func(w int) int {
		for s := range c.Sentences {
			if d.WordBase[s+1] > w {
				return s
			}
		}
		return -1
	}
	count := make([]int, d.WordBase[len(c.Sentences)])
	spanning := 0
	for _, ex := range d.Examples {
		sents, docs := map[int]bool{}, map[int]bool{}
		for i, w := range ex.Owned {
			if w < 0 {
				continue
			}
			count[w]++
			s := sentOf(w)
			sents[s], docs[c.Sentences[s].Doc] = true, true
			id, _ := labels.ID(c.Sentences[s].Tokens[w-d.WordBase[s]].Tag)
			require.Equal(t, int32(id), ex.Labels[i])
		}
		require.Len(t, docs, 1, "a window never crosses a document boundary")
		if len(sents) > 1 {
			spanning++
		}
	}
	for w, n := range count {
		require.Equal(t, 1, n, "word %d labelled once", w)
	}
	require.Greater(t, spanning, 3, "windows span sentences")
	require.Less(t, len(d.Examples), 30, "90 short sentences pack into a few windows per document")

	o := DefaultDataOptions()
	o.Packing = PackSentences
	ds, err := BuildDataset(c, tok, labels, o)
	require.NoError(t, err)
	require.Len(t, ds.Examples, 90, "one window per short sentence")

	// Mixed: the document windows, then every sentence alone; each word is
	// labelled twice (in its document and alone).
	o.Packing = PackMixed
	dm, err := BuildDataset(c, tok, labels, o)
	require.NoError(t, err)
	require.Len(t, dm.Examples, len(d.Examples)+90)
	twice := map[int]int{}
	for _, ex := range dm.Examples {
		for _, w := range ex.Owned {
			if w >= 0 {
				twice[w]++
			}
		}
	}
	require.Len(t, twice, len(count))
	for w, n := range twice {
		require.Equal(t, 2, n, "word %d labelled in its document and alone", w)
	}

	var p Packing
	require.NoError(t, p.UnmarshalText([]byte("mixed")))
	require.Equal(t, PackMixed, p)
	require.NoError(t, p.UnmarshalText([]byte("sentences")))
	require.Equal(t, PackSentences, p)
	require.Error(t, p.UnmarshalText([]byte("paragraphs")))
}
