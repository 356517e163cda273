package tagger

import (
	"context"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/openmed/openmed/core/tokenize"
)

// LongDocumentBytes is the length above which Tag streams a document: it is
// tokenised, windowed and scored ChunkBytes at a time, so memory stays
// bounded and time linear in its length, with the entities of tagging it
// whole (see tagLong).
const LongDocumentBytes = 256 << 10

// ChunkBytes is the length of text a long document is processed in.
const ChunkBytes = 128 << 10

// chunkBytes is ChunkBytes; tests shrink it to cross many chunk seams.
var chunkBytes = ChunkBytes

// minChunkWindows is the fewest windows a chunk (but the last) must have:
// two lead-in windows, the core, and three windows of look-ahead.
const minChunkWindows = 8

// WithProgress reports a long document's progress (LongDocumentBytes and
// more) as bytes of the text done out of its length, after every chunk.
// With several adapters they tag the document in one pass.
func WithProgress(fn func(doneBytes, totalBytes int)) TagOption {
	return func(c *tagConfig) { c.progress = fn }
}

// tagLong tags one long document with the heads (one entity list each, in hs
// order), chunk by chunk — one pass for all heads — giving the
// entities that tagging it whole gives (same windows, same predicting
// window per token, same aggregation), up to float32 rounding of batching.
//
// Windows are cut greedily from the document's start (WordAlignedWindows),
// so the windows of a chunk that starts where a whole-document window
// starts are the whole document's from there on. Chunk c holds windows
// 0..K-1; its core is the tokens predicted (PredictingWindows) by windows
// 2..K-4: windows 0 and 1 sit next to the chunk's artificial start (a
// document edge counts as far from a cut, which it is not here) and windows
// K-3.. next to its artificial end. The next chunk starts at window K-5, so
// its core starts at this chunk's window K-3, where this core ends.
// Entities are kept by the chunk whose core holds their first byte; the
// windows around a core give them the whole document's context. The first
// chunk's core starts at the text's start and the last one's ends at its
// end. As a check, the next chunk's first window must have the token ids of
// the window it restarts at (the tokenisation is the same from a word
// boundary on); otherwise tagLong fails rather than diverge.
func (t *Tagger) tagLong(ctx context.Context, hs []*head, text string, progress func(int, int)) ([][]Entity, error) {
	out := make([][]Entity, len(hs))
	pos, posChar, tokBase := 0, 0, 0 // chunk start: byte, code point, global token index of its first content token
	var want []int32                 // the ids the next chunk's first window must have
	coreFrom := 0                    // chunk-relative byte where this chunk's core starts
	size := chunkBytes
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		end, last := cutAfter(text, pos+size)
		chunk := text[pos:end]
		docs, err := t.predictHeads(ctx, hs, []string{chunk})
		if err != nil {
			return nil, fmt.Errorf("tagger: at byte %d: %w", pos, err)
		}
		d := docs[0][0]
		ws, err := tokenize.WordAlignedWindows(d.enc, t.opts.WindowLen, t.opts.Stride)
		if err != nil {
			return nil, err
		}
		if !last && len(ws) < minChunkWindows {
			size *= 2 // very long words or tokens: take more text
			continue
		}
		if want != nil && !slices.Equal(ws[0].IDs, want) {
			return nil, fmt.Errorf("tagger: long document: the text from byte %d tokenises differently alone than in the document; tag it in pieces", pos)
		}
		coreTo := len(chunk)
		if !last {
			coreTo = d.enc.Offsets[ws[len(ws)-3].Start].Start
		}
		for k := range hs {
			for _, e := range docs[k][0].aggregate(t.opts.Aggregation, t.opts.IgnoreLabels, t.opts.Threshold) {
				if e.StartByte < coreFrom || e.StartByte >= coreTo {
					continue
				}
				e.Start, e.End = e.Start+posChar, e.End+posChar
				e.StartByte, e.EndByte = e.StartByte+pos, e.EndByte+pos
				if e.Index >= 0 {
					e.Index += tokBase
				}
				out[k] = append(out[k], e)
			}
		}
		if progress != nil {
			progress(pos+coreTo, len(text))
		}
		if last {
			return out, nil
		}
		// restart at window K-5; its core starts at this chunk's window K-3
		next := ws[len(ws)-5]
		nextPos := d.enc.Offsets[next.Start].Start
		coreFrom = coreTo - nextPos
		tokBase += next.Start - ws[0].Start
		want = next.IDs
		posChar += utf8.RuneCountInString(chunk[:nextPos])
		pos += nextPos
		size = chunkBytes
	}
}

// cutAfter returns where a chunk that should end near byte at ends: the
// next whitespace at or after at (so no word is cut), else the next rune
// boundary, and whether that is the text's end.
func cutAfter(text string, at int) (int, bool) {
	if at >= len(text) {
		return len(text), true
	}
	for i := at; i < len(text) && i < at+4096; i++ {
		switch text[i] {
		case ' ', '\n', '\t', '\r':
			return i, false
		}
	}
	for at < len(text) && !utf8.RuneStart(text[at]) {
		at++
	}
	return at, at >= len(text)
}
