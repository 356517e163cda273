package tokenize

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// bruteOwner is the rule of PredictingWindows written out directly, per
// token: the word's owner (farthest from a cut edge among the windows
// holding its first sub-token, the encoding's own ends infinitely far, ties
// to the earlier window), or the token's own when that window lacks it.
func bruteOwner(enc *Encoding, wins []Window, i int) int {
	if enc.SequenceIDs[i] < 0 {
		return -1
	}
	lo, hi := enc.Len(), 0
	for k := range enc.IDs {
		if enc.SequenceIDs[k] >= 0 {
			lo, hi = min(lo, k), max(hi, k+1)
		}
	}
	first, last := i, i
	if w := enc.WordIDs[i]; w >= 0 {
		for first > lo && enc.WordIDs[first-1] == w {
			first--
		}
		for last+1 < hi && enc.WordIDs[last+1] == w {
			last++
		}
	}
	pick := func(f, l int) int {
		best, dist := -1, -1
		for k, w := range wins {
			if f < w.Start || f >= w.End {
				continue
			}
			left, right := f-w.Start, w.End-1-min(l, w.End-1)
			if w.Start <= lo {
				left = 1 << 30
			}
			if w.End >= hi {
				right = 1 << 30
			}
			if d := min(left, right); d > dist {
				best, dist = k, d
			}
		}
		return best
	}
	k := pick(first, last)
	if k >= 0 && i >= wins[k].Start && i < wins[k].End {
		return k
	}
	return pick(i, i)
}

func TestPredictingWindowsMatchesRule(t *testing.T) {
	tk := loadShared(t, sharedDir(t), "pubmedbert-abstract")
	var words []string
	vocab := []string{"the", "hypertrophic", "cardiomyopathy", "of", "BRCA1", "mutation", "carriers", "adenomatous", "polyposis", "coli",
		strings.Repeat("pneumonoultramicroscopic", 8)} // a word longer than a small window
	for i := 0; i < 600; i++ {
		words = append(words, vocab[(i*7)%len(vocab)])
	}
	enc, err := tk.EncodeWords(words)
	require.NoError(t, err)
	for _, cut := range [][2]int{{256, 50}, {64, 16}, {24, 8}} {
		for _, aligned := range []bool{true, false} {
			var wins []Window
			if aligned {
				wins, err = WordAlignedWindows(enc, cut[0], cut[1])
			} else {
				wins, err = Windows(enc, cut[0], cut[1])
			}
			require.NoError(t, err)
			got := PredictingWindows(enc, wins)
			for i := range got {
				require.Equal(t, bruteOwner(enc, wins, i), got[i], "window %v aligned %v token %d", cut, aligned, i)
				if got[i] >= 0 {
					require.True(t, i >= wins[got[i]].Start && i < wins[got[i]].End)
				}
			}
		}
	}
}
