package tagger

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/core/tensor"
	"github.com/openmed/openmed/core/tokenize"
	"github.com/openmed/openmed/internal/testutil"
	"github.com/openmed/openmed/internal/testutil/tinymodel"
)

// sameEntities asserts equal labels and offsets, scores within tol.
func sameEntities(t *testing.T, want, got []Entity, tol float64, msg string) {
	t.Helper()
	require.Equal(t, len(want), len(got), msg)
	for i := range want {
		w, g := want[i], got[i]
		assert.Equal(t, w.Label, g.Label, "%s: entity %d", msg, i)
		assert.Equal(t, [4]int{w.Start, w.End, w.StartByte, w.EndByte}, [4]int{g.Start, g.End, g.StartByte, g.EndByte}, "%s: entity %d", msg, i)
		assert.Equal(t, w.Text, g.Text)
		assert.InDelta(t, w.Score, g.Score, tol, "%s: entity %d", msg, i)
	}
}

// TestBackendsAgreeOnNCBI: the ORT backend (on-the-fly export) and the pure-Go
// engine give the same entities for 120 NCBI-Disease test sentences, with
// every aggregation strategy, on a random-init BERT with the real PubMedBERT
// tokenizer and two entity types.
func TestBackendsAgreeOnNCBI(t *testing.T) {
	ortRequire(t)
	dir := tinyBERT(t, tinyLabels, 1)
	texts := ncbiSentences(t, 120)
	ctx := context.Background()
	for _, agg := range []Aggregation{AggregationNone, AggregationSimple, AggregationFirst, AggregationAverage, AggregationMax} {
		t.Run(agg.String(), func(t *testing.T) {
			cache := t.TempDir()
			o, err := Open(dir, WithBackend(BackendORT), WithAggregation(agg), WithCacheDir(cache), WithThreads(1))
			require.NoError(t, err)
			defer o.Close()
			e, err := Open(dir, WithBackend(BackendEngine), WithAggregation(agg))
			require.NoError(t, err)
			defer e.Close()
			assert.Equal(t, BackendORT, o.Backend())
			assert.Equal(t, BackendEngine, e.Backend())
			got, err := o.TagBatch(ctx, texts)
			require.NoError(t, err)
			want, err := e.TagBatch(ctx, texts)
			require.NoError(t, err)
			// ONNX Runtime's kernels and ours sum in different orders: the
			// tiny encoder's reordering bound, relative to the logits.
			tol := scoreTol(t, e, texts, 0)
			types := map[string]int{}
			n := 0
			for i := range texts {
				sameEntities(t, want[i], got[i], tol, texts[i])
				for _, en := range got[i] {
					_, typ := bioTag(en.Label)
					types[typ]++
					n++
					assert.Equal(t, texts[i][en.StartByte:en.EndByte], en.Text)
				}
			}
			t.Logf("%s: %d entities, types %v", agg, n, types)
			assert.GreaterOrEqual(t, len(types), 2, "both entity types predicted")
		})
	}
}

// TestEdgeCases: empty and whitespace-only texts give no entities and no
// error; invalid UTF-8 is ErrInvalidUTF8 (not replaced).
func TestEdgeCases(t *testing.T) {
	dir := tinyBERT(t, tinyLabels, 1)
	tg, err := Open(dir, WithBackend(BackendEngine), WithIgnoreLabels())
	require.NoError(t, err)
	defer tg.Close()
	ctx := context.Background()
	for _, s := range []string{"", " ", "\t\n  \u00a0 \n"} {
		ents, err := tg.Tag(ctx, s)
		require.NoError(t, err, "%q", s)
		assert.Empty(t, ents, "%q", s)
		assert.NotNil(t, ents)
	}
	_, err = tg.Tag(ctx, "renal \xff failure")
	assert.True(t, errors.Is(err, ErrInvalidUTF8), "%v", err)
	_, err = tg.Tag(ctx, "renal\x00failure")
	assert.True(t, errors.Is(err, ErrNUL), "NUL is refused as by the C ABI: %v", err)
	_, err = tg.TagBatch(ctx, []string{"ok", "a\x00b"})
	assert.ErrorContains(t, err, "text 2 of 2", "batch errors name the text, 1-based")
	res, err := tg.TagBatch(ctx, []string{"", "Renal failure ."})
	require.NoError(t, err)
	assert.Empty(t, res[0])
	assert.NotEmpty(t, res[1], "ignore_labels empty: every token group is returned")

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = tg.Tag(cctx, "Renal failure .")
	assert.ErrorIs(t, err, context.Canceled)

	_, err = tg.Tag(ctx, "x", WithAdapter("nope"))
	assert.ErrorContains(t, err, "nope")
}

// TestLongDocument tags a 50 000-character document (windows 256/50) and
// checks that every entity lies inside the text, that its text equals the
// slice at its byte offsets and at its code-point offsets, and that entities
// neither overlap nor repeat (no duplicates at window edges).
func TestLongDocument(t *testing.T) {
	dir := tinyBERT(t, tinyLabels, 1)
	var b strings.Builder
	sents := ncbiSentences(t, 2000)
	for i := 0; utf8.RuneCountInString(b.String()) < 50000; i++ {
		b.WriteString(sents[i%len(sents)])
		b.WriteString(" Ça coûte 5 µg — naïve ")
	}
	text := string([]rune(b.String())[:50000])
	runes := []rune(text)
	tg, err := Open(dir, WithBackend(BackendEngine), WithAggregation(AggregationFirst))
	require.NoError(t, err)
	defer tg.Close()
	enc, err := tg.Tokenizer().Encode(text)
	require.NoError(t, err)
	require.Greater(t, enc.Len(), 2000, "many windows")
	ents, err := tg.Tag(context.Background(), text)
	require.NoError(t, err)
	require.NotEmpty(t, ents)
	prevEnd := 0
	for i, e := range ents {
		require.True(t, 0 <= e.StartByte && e.StartByte < e.EndByte && e.EndByte <= len(text), "entity %d bytes %d..%d", i, e.StartByte, e.EndByte)
		require.True(t, 0 <= e.Start && e.Start < e.End && e.End <= len(runes), "entity %d chars %d..%d", i, e.Start, e.End)
		assert.Equal(t, e.Text, text[e.StartByte:e.EndByte])
		assert.Equal(t, e.Text, string(runes[e.Start:e.End]))
		assert.Equal(t, e.Start, utf8.RuneCountInString(text[:e.StartByte]))
		assert.GreaterOrEqual(t, e.StartByte, prevEnd, "entity %d overlaps the previous one", i)
		prevEnd = e.EndByte
	}
	t.Logf("%d tokens, %d entities", enc.Len(), len(ents))
}

// TestWindowStitching: a document longer than one window (windows 64/20)
// gets, for every token, exactly the scores of the window where that token
// is farthest from an edge (ties: the earlier window), computed here
// independently by running each window alone; every token gets one
// prediction and each word appears once.
func TestWindowStitching(t *testing.T) {
	dir := tinyBERT(t, tinyLabels, 1)
	text := strings.Join(ncbiSentences(t, 12), " ")
	tg, err := Open(dir, WithBackend(BackendEngine), WithWindow(64, 20), WithBatchSize(3))
	require.NoError(t, err)
	defer tg.Close()
	docs, err := tg.predict(context.Background(), tg.def, []string{text})
	require.NoError(t, err)
	enc := docs[0].enc
	require.Greater(t, enc.Len(), 200)
	wins, err := tokenize.WordAlignedWindows(enc, 64, 20)
	require.NoError(t, err)
	require.Greater(t, len(wins), 4)
	// Each token's scores come from the window the training rule gives it
	// (tokenize.PredictingWindows, checked against the rule written out in
	// core/tokenize); the other windows holding it must not be used.
	owner := tokenize.PredictingWindows(enc, wins)
	want := make([][]float32, enc.Len())
	others := make([][][]float32, enc.Len()) // the other windows' probabilities for the token
	maxLogit := 0.0
	for k, w := range wins {
		ids, mask := make([]int64, w.Len()), make([]int64, w.Len())
		for j := range ids {
			ids[j], mask[j] = int64(w.IDs[j]), 1
		}
		lg, err := tg.def.be.Logits([][]int64{ids}, [][]int64{mask}, nil)
		require.NoError(t, err)
		for _, v := range lg.Data {
			maxLogit = math.Max(maxLogit, math.Abs(float64(v)))
		}
		C := lg.Shape[2]
		for src := w.Start; src < w.End; src++ {
			j := 1 + src - w.Start
			p := softmax(lg.Data[j*C : (j+1)*C])
			if owner[src] == k {
				want[src] = p
			} else {
				others[src] = append(others[src], p)
			}
		}
	}
	// The batched call and the single-window call run different SGEMM
	// blockings, so they agree to the float32 reordering bound of the tiny
	// encoder's path (window 64), scaled by the logits' magnitude (softmax's
	// Jacobian is at most 1 in the max norm).
	tol := testutil.ReorderTol(testutil.EncoderReductions(tinymodel.Layers, tinymodel.Hidden, tinymodel.Heads, tinymodel.Intermediate, 64)...)
	tol *= math.Max(1, maxLogit)
	distinct := 0
	for i := 1; i < enc.Len()-1; i++ {
		require.NotNil(t, docs[0].scores[i], "token %d", i)
		assert.InDeltaSlice(t, want[i], docs[0].scores[i], tol, "token %d", i)
		// Teeth: where another window's prediction differs by more than the
		// tolerance, the stitched score must not be that window's.
		for _, o := range others[i] {
			if probDist(o, want[i]) > 4*tol {
				distinct++
				assert.Greater(t, probDist(o, docs[0].scores[i]), 2*tol, "token %d took another window's prediction than the training rule's", i)
			}
		}
	}
	t.Logf("tolerance %.3g (max |logit| %.1f); %d overlap predictions farther than 4×tol", tol, maxLogit, distinct)
	require.Greater(t, distinct, 20, "too few overlap tokens whose windows disagree to test the choice")
	toks := docs[0].words()
	for i := 1; i < len(toks); i++ {
		require.Greater(t, toks[i].StartByte, toks[i-1].EndByte-1, "word %d", i)
	}
}

// TestStats: the timings count backend time inside total time.
func TestStats(t *testing.T) {
	tg, err := Open(tinyBERT(t, tinyLabels, 1), WithBackend(BackendEngine))
	require.NoError(t, err)
	defer tg.Close()
	_, err = tg.TagBatch(context.Background(), ncbiSentences(t, 10))
	require.NoError(t, err)
	st := tg.Stats()
	assert.Greater(t, st.Backend, time.Duration(0))
	assert.GreaterOrEqual(t, st.Total, st.Backend)
	tg.ResetStats()
	assert.Zero(t, tg.Stats().Total)
}

// TestConcurrentTag: concurrent Tag calls on one Tagger (engine, and ORT
// when available) give the sequential results.
func TestConcurrentTag(t *testing.T) {
	dir := tinyBERT(t, tinyLabels, 1)
	texts := ncbiSentences(t, 16)
	for _, kind := range []BackendKind{BackendEngine, BackendORT} {
		if kind == BackendORT {
			ortRequire(t)
		}
		tg, err := Open(dir, WithBackend(kind), WithCacheDir(t.TempDir()), WithThreads(1))
		require.NoError(t, err)
		want, err := tg.TagBatch(context.Background(), texts)
		require.NoError(t, err)
		// A text alone and inside a padded batch of 16 run other GEMM
		// shapes (blockings): the reordering bound, relative to the logits.
		tol := scoreTol(t, tg, texts, 0)
		got := make([][]Entity, len(texts))
		errs := make([]error, len(texts))
		var wg sync.WaitGroup
		for i := range texts {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				got[i], errs[i] = tg.Tag(context.Background(), texts[i])
			}(i)
		}
		wg.Wait()
		for i := range texts {
			require.NoError(t, errs[i])
			sameEntities(t, want[i], got[i], tol, kind.String())
		}
		require.NoError(t, tg.Close())
		_, err = tg.Tag(context.Background(), texts[0])
		assert.ErrorIs(t, err, ErrClosed)
	}
}

// probDist is the largest |a[i]−b[i]| of two probability vectors.
func probDist(a, b []float32) float64 {
	m := 0.0
	for i := range a {
		m = math.Max(m, math.Abs(float64(a[i]-b[i])))
	}
	return m
}

// TestBatchEnd: batches of windows sorted longest first hold at most bs
// windows and the token cap's padded positions, and stop before a window
// that would be padded by more than a quarter of the batch's length (at
// least minPad tokens): one abstract's full window and short tail run apart,
// sentences of similar length together.
func TestBatchEnd(t *testing.T) {
	wins := func(lens ...int) []winRef {
		out := make([]winRef, len(lens))
		for i, n := range lens {
			out[i].w = tokenize.Window{Encoding: &tokenize.Encoding{IDs: make([]int32, n)}}
		}
		return out
	}
	tokens := 0
	ends := func(ws []winRef, bs int) []int {
		var out []int
		for s := 0; s < len(ws); s = batchEnd(ws, s, bs, tokens) {
			out = append(out, batchEnd(ws, s, bs, tokens))
		}
		return out
	}
	assert.Equal(t, []int{1, 2}, ends(wins(256, 94), 8), "a full window and a short tail: two calls")
	assert.Equal(t, []int{3, 5}, ends(wins(256, 256, 200, 94, 90), 8), "200 is within 64 of 256")
	assert.Equal(t, []int{8, 10}, ends(wins(40, 38, 35, 30, 28, 25, 24, 24, 30, 30), 8), "sentences within minPad batch up to bs")
	assert.Equal(t, []int{3, 5}, ends(wins(40, 38, 35, 12, 8), 8), "a much shorter sentence starts a new batch")
	assert.Equal(t, []int{1, 2, 3}, ends(wins(5, 5, 5), 1), "bs 1: one window per call")
	tokens = 512
	assert.Equal(t, []int{2, 4, 5}, ends(wins(256, 256, 250, 240, 230), 8), "two full windows fit 512 tokens")
	assert.Equal(t, []int{1, 2}, ends(wins(600, 590), 8), "a window over the cap runs alone")
	assert.Equal(t, []int{8, 10}, ends(wins(40, 38, 35, 30, 28, 25, 24, 24, 30, 30), 8), "8 sentences of 40 fit")

	o := DefaultOptions()
	assert.Equal(t, 512, o.batchTokens(768), "BERT-base: two full windows")
	assert.Equal(t, 1536, o.batchTokens(256), "a narrower encoder batches more")
	o.BatchTokens = 300
	assert.Equal(t, 300, o.batchTokens(768))
	o.BatchTokens = -1
	assert.Zero(t, o.batchTokens(768), "negative: no cap")
}

// TestEngineThreads: WithThreads sets the Go engine's (process-wide) thread
// count, as --threads promises on the CLI; 0 leaves it alone.
func TestEngineThreads(t *testing.T) {
	before := tensor.Threads()
	t.Cleanup(func() { tensor.SetThreads(before) })
	dir := tinyBERT(t, tinyLabels, 1)
	want := before%3 + 1 // differs from before
	tg, err := Open(dir, WithBackend(BackendEngine), WithThreads(want))
	require.NoError(t, err)
	tg.Close()
	assert.Equal(t, want, tensor.Threads())
	tg, err = Open(dir, WithBackend(BackendEngine))
	require.NoError(t, err)
	tg.Close()
	assert.Equal(t, want, tensor.Threads(), "Threads 0 keeps the count")
}
