package tagger

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// longText joins NCBI-Disease sentences into one document of at least n bytes.
func longText(t testing.TB, n int) string {
	sents := ncbiSentences(t, 2000)
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		if i > 0 {
			b.WriteString(" ")
		}
		b.WriteString(sents[i%len(sents)])
	}
	return b.String()
}

// A long document tagged chunk by chunk gives the entities of tagging it
// whole, with every aggregation (token indices included), across many
// chunk seams.
func TestTagLongEqualsWhole(t *testing.T) {
	dir := tinyBERT(t, tinyLabels, 7)
	old := chunkBytes
	chunkBytes = 12 << 10
	defer func() { chunkBytes = old }()
	text := longText(t, 100<<10)
	for _, agg := range []Aggregation{AggregationFirst, AggregationSimple, AggregationNone, AggregationMax} {
		t.Run(agg.String(), func(t *testing.T) {
			tg, err := Open(dir, WithBackend(BackendEngine), WithAggregation(agg), WithThreads(1))
			require.NoError(t, err)
			defer tg.Close()
			docs, err := tg.predict(context.Background(), tg.def, []string{text})
			require.NoError(t, err)
			whole := docs[0].aggregate(agg, tg.opts.IgnoreLabels, tg.opts.Threshold)
			var calls, lastDone int
			all, err := tg.tagLong(context.Background(), []*head{tg.def}, text, func(done, total int) {
				calls++
				assert.Equal(t, len(text), total)
				assert.Greater(t, done, lastDone)
				lastDone = done
			})
			require.NoError(t, err)
			require.Len(t, all, 1)
			got := all[0]
			assert.GreaterOrEqual(t, calls, 6, "the text must cross several chunk seams")
			assert.Equal(t, len(text), lastDone)
			require.Greater(t, len(whole), 100)
			require.Equal(t, len(whole), len(got), "entity count")
			for i := range whole {
				w, g := whole[i], got[i]
				assert.InDelta(t, w.Score, g.Score, 1e-5, "entity %d", i)
				w.Score, g.Score = 0, 0
				require.Equal(t, w, g, "entity %d", i)
			}
		})
	}
}

// Tag streams documents above LongDocumentBytes on its own (and keeps
// short ones in the same call batched as before).
func TestTagStreamsLongDocuments(t *testing.T) {
	dir := tinyBERT(t, tinyLabels, 7)
	tg, err := Open(dir, WithBackend(BackendEngine), WithThreads(1))
	require.NoError(t, err)
	defer tg.Close()
	text := longText(t, LongDocumentBytes+10_000)
	var progressed int
	res, err := tg.TagBatch(context.Background(), []string{"Aspirin-induced asthma.", text},
		WithModelHead(), WithProgress(func(done, total int) { progressed = done }))
	require.NoError(t, err)
	assert.Equal(t, len(text), progressed, "a streamed document reports its progress")
	docs, err := tg.predict(context.Background(), tg.def, []string{text})
	require.NoError(t, err)
	whole := docs[0].aggregate(tg.opts.Aggregation, tg.opts.IgnoreLabels, tg.opts.Threshold)
	require.Equal(t, len(whole), len(res[1]))
	for i := range whole {
		assert.Equal(t, whole[i].StartByte, res[1][i].StartByte)
		assert.Equal(t, whole[i].Label, res[1][i].Label)
	}
	short, err := tg.Tag(context.Background(), "Aspirin-induced asthma.")
	require.NoError(t, err)
	assert.Equal(t, len(short), len(res[0]))
}

func TestCutAfter(t *testing.T) {
	end, last := cutAfter("abc def ghi", 4)
	assert.Equal(t, 7, end)
	assert.False(t, last)
	end, last = cutAfter("abc", 10)
	assert.Equal(t, 3, end)
	assert.True(t, last)
	end, _ = cutAfter("ééé", 1) // no whitespace: the next rune boundary
	assert.Equal(t, 2, end)
}

// Invalid UTF-8 deep inside a streamed document is still ErrInvalidUTF8,
// naming the document and the chunk's byte offset.
func TestTagLongInvalidUTF8(t *testing.T) {
	dir := tinyBERT(t, tinyLabels, 7)
	tg, err := Open(dir, WithBackend(BackendEngine), WithThreads(1))
	require.NoError(t, err)
	defer tg.Close()
	text := longText(t, LongDocumentBytes+10_000)
	bad := text[:LongDocumentBytes] + "\xff" + text[LongDocumentBytes:]
	_, err = tg.TagBatch(context.Background(), []string{"Aspirin.", bad}, WithModelHead())
	require.ErrorIs(t, err, ErrInvalidUTF8)
	assert.Contains(t, err.Error(), "text 2 of 2")
	assert.Contains(t, err.Error(), "at byte")
}
