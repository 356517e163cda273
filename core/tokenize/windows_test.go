package tokenize

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// longText joins corpus sentences into one long document.
func longText(t *testing.T, shared string, n int) string {
	texts := readTexts(t, filepath.Join(shared, "tokenizers", "ref", "texts_corpus.jsonl"))
	require.Greater(t, len(texts), n)
	return strings.Join(texts[:n], " ")
}

// checkWindows asserts the window invariants shared by both variants.
func checkWindows(t *testing.T, enc *Encoding, ws []Window, maxLen int) {
	t.Helper()
	require.NotEmpty(t, ws)
	pre, post, err := content(enc)
	require.NoError(t, err)
	seen := make([]bool, enc.Len())
	for k, w := range ws {
		require.LessOrEqual(t, w.Len(), maxLen, "window %d", k)
		require.Equal(t, enc.IDs[:pre], w.IDs[:pre], "window %d keeps the leading specials", k)
		require.Equal(t, enc.IDs[post:], w.IDs[w.Len()-(enc.Len()-post):], "window %d keeps the trailing specials", k)
		for i := w.Start; i < w.End; i++ {
			j := pre + i - w.Start
			require.Equal(t, enc.IDs[i], w.IDs[j])
			require.Equal(t, enc.Tokens[i], w.Tokens[j])
			require.Equal(t, enc.Offsets[i], w.Offsets[j])
			require.Equal(t, enc.CharOffsets[i], w.CharOffsets[j])
			require.Equal(t, enc.WordIDs[i], w.WordIDs[j])
			seen[i] = true
		}
		if k > 0 {
			require.Greater(t, w.Start, ws[k-1].Start, "progress")
			require.LessOrEqual(t, w.Start, ws[k-1].End, "no gap")
		}
	}
	require.Equal(t, pre, ws[0].Start)
	require.Equal(t, post, ws[len(ws)-1].End)
	for i := pre; i < post; i++ {
		require.True(t, seen[i], "token %d is in no window", i)
	}
}

func TestWindows(t *testing.T) {
	shared := sharedDir(t)
	text := longText(t, shared, 60)
	for _, name := range []string{"pubmedbert-abstract", "deberta-v3"} {
		tk := loadShared(t, shared, name)
		enc, err := tk.Encode(text)
		require.NoError(t, err)
		require.Greater(t, enc.Len(), 3*DefaultWindowLen)
		for _, c := range []struct{ maxLen, stride int }{{DefaultWindowLen, DefaultStride}, {16, 5}, {7, 0}, {64, 40}} {
			ws, err := Windows(enc, c.maxLen, c.stride)
			require.NoError(t, err)
			checkWindows(t, enc, ws, c.maxLen)
			for k := 0; k+1 < len(ws); k++ {
				require.Equal(t, c.maxLen, ws[k].Len(), "all but the last window are full")
				require.Equal(t, c.stride, ws[k].End-ws[k+1].Start, "consecutive windows overlap by the stride")
			}
			aw, err := WordAlignedWindows(enc, c.maxLen, c.stride)
			require.NoError(t, err)
			checkWindows(t, enc, aw, c.maxLen)
			for k, w := range aw {
				if k+1 < len(aw) {
					require.LessOrEqual(t, w.End-aw[k+1].Start, c.stride)
				}
				// The cut never splits a word unless the word alone is too long.
				if w.End < enc.Len()-1 && enc.WordIDs[w.End] == enc.WordIDs[w.End-1] {
					s := w.End - 1
					for s > 0 && enc.WordIDs[s-1] == enc.WordIDs[w.End] {
						s--
					}
					require.LessOrEqual(t, s, w.Start, "window %d cuts word %d although it fits", k, enc.WordIDs[w.End])
				}
			}
		}
	}
}

func TestWindowsShortAndErrors(t *testing.T) {
	shared := sharedDir(t)
	tk := loadShared(t, shared, "pubmedbert-abstract")
	enc, err := tk.Encode("BRCA1 mutations")
	require.NoError(t, err)
	ws, err := Windows(enc, DefaultWindowLen, DefaultStride)
	require.NoError(t, err)
	require.Len(t, ws, 1)
	require.Equal(t, enc.IDs, ws[0].IDs)
	_, err = Windows(enc, 5, 3)
	require.Error(t, err, "content window 3 does not exceed stride 3")
	pair, err := tk.EncodePair("a b", "c d")
	require.NoError(t, err)
	_, err = Windows(pair, 4, 1)
	require.Error(t, err)
	padded, err := tk.Encode("a b", WithPadding(10))
	require.NoError(t, err)
	_, err = Windows(padded, 4, 1)
	require.Error(t, err)
	empty, err := tk.Encode("")
	require.NoError(t, err)
	ws, err = WordAlignedWindows(empty, 8, 2)
	require.NoError(t, err)
	require.Len(t, ws, 1)
}
