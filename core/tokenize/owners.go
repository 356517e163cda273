package tokenize

// PredictingWindows returns, for every token of enc, the index in wins of
// the window whose prediction counts for it, or -1 for special tokens. It is
// the one rule by which the trainer labels windows, evaluation reads them
// and the tagger stitches them (OpenMed NER §3.6: 256-token windows with
// 50 overlap over whole documents):
//
//   - a word (a run of tokens with one word id) is predicted by the window,
//     among those holding its first sub-token, where it sits farthest from a
//     cut edge: min(first − Start, End − 1 − last), last being its last
//     sub-token inside the window; an edge that is the encoding's own start
//     or end counts as infinitely far (no context is lost there); ties go to
//     the earlier window;
//   - every sub-token of the word follows its first, so the label on the
//     first sub-token (training) and the scores of the whole word (the
//     tagger) come from one window;
//   - a sub-token its word's window does not hold (a word longer than a
//     window) falls back to the same rule for itself.
//
// wins must be windows of enc in order of Start (Windows or
// WordAlignedWindows); tokens no window holds get -1.
func PredictingWindows(enc *Encoding, wins []Window) []int {
	n := enc.Len()
	out := make([]int, n)
	for i := range out {
		out[i] = -1
	}
	lo, hi := n, 0
	for i := 0; i < n; i++ {
		if enc.SequenceIDs[i] >= 0 {
			lo, hi = min(lo, i), max(hi, i+1)
		}
	}
	const far = 1 << 30
	// best returns the window holding token first where [first, last] sits
	// farthest from a cut edge, starting the search at window k0.
	k0 := 0
	best := func(first, last int) int {
		for k0 < len(wins) && wins[k0].End <= first {
			k0++
		}
		pick, dist := -1, -1
		for k := k0; k < len(wins) && wins[k].Start <= first; k++ {
			w := wins[k]
			if first >= w.End {
				continue
			}
			left, right := first-w.Start, w.End-1-min(last, w.End-1)
			if w.Start <= lo {
				left = far
			}
			if w.End >= hi {
				right = far
			}
			if d := min(left, right); d > dist {
				pick, dist = k, d
			}
		}
		return pick
	}
	for i := lo; i < hi; {
		j := i + 1
		if enc.WordIDs[i] >= 0 {
			for j < hi && enc.WordIDs[j] == enc.WordIDs[i] && enc.SequenceIDs[j] >= 0 {
				j++
			}
		}
		if enc.SequenceIDs[i] < 0 {
			i = j
			continue
		}
		k := best(i, j-1)
		for t := i; t < j; t++ {
			if k >= 0 && t >= wins[k].Start && t < wins[k].End {
				out[t] = k
			} else {
				saved := k0
				out[t] = best(t, t)
				k0 = saved
			}
		}
		i = j
	}
	return out
}
