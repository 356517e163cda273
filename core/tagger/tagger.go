package tagger

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/openmed/openmed/core/checkpoint"
	"github.com/openmed/openmed/core/tensor"
	"github.com/openmed/openmed/core/tokenize"
)

// ErrInvalidUTF8 is returned for text that is not valid UTF-8. The tagger
// does not replace bad bytes with U+FFFD: offsets must index the caller's
// own string, so the caller decides how to repair it.
var ErrInvalidUTF8 = errors.New("tagger: text is not valid UTF-8")

// ErrNUL is returned for a text containing a NUL character: the C ABI
// cannot carry one, so no binding accepts it (one rule for the CLI, Go, C
// and Python).
var ErrNUL = errors.New("tagger: text contains a NUL character")

// Tagger turns text into entities: tokenise (HF-exact), split long documents
// into overlapping windows, run the model in length-sorted batches, stitch
// each word's prediction from the window training labels it in
// (tokenize.PredictingWindows),
// then aggregate once over the whole document with HF
// TokenClassificationPipeline semantics. It is safe for concurrent use.
type Tagger struct {
	opts    Options
	tok     *tokenize.Tokenizer
	kind    BackendKind // resolved: ORT or engine
	baseDir string      // HF folder with weights ("" for a bare ONNX export)
	engine  *Engine

	backendNS, totalNS atomic.Int64 // see Stats

	mu      sync.RWMutex
	heads   map[string]*head
	order   []string // adapters added with AddAdapter, in order
	def     *head
	closers []func() error
	// tagWith are the options Tag, TagBatch and TagTokens use when called
	// with none: the manifest's tag_with for a manifest tagger, nil (the
	// default head) otherwise.
	tagWith []TagOption
	// src is what Open opened (Source).
	src Source
	// shared are a manifest's adapters opened as one shared-base ORT
	// session (openShared), in manifest order; nil otherwise.
	shared []*head
	// tiledRows is the number of adapters of a tiled shared session (each
	// window runs once per adapter in one batch), 0 otherwise: predictHeads
	// divides the batch size by it, so a run holds about BatchSize windows'
	// activations whatever the number of adapters.
	tiledRows int
	// batchTokens is the resolved Options.BatchTokens (0: no cap).
	batchTokens int
}

// Source says what Open opened: where it was found and, for a manifest, the
// manifest.
func (t *Tagger) Source() Source { return t.src }

// DefaultTagOptions are the options Tag and TagBatch use when given none:
// the manifest's tag_with, or none for a single model folder.
func (t *Tagger) DefaultTagOptions() []TagOption {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return append([]TagOption(nil), t.tagWith...)
}

// head is one selectable classifier: the default model or an adapter.
type head struct {
	name   string
	labels []string
	be     Backend
}

// newTagger opens a named model folder (see Open).
func newTagger(modelDir string, opts ...Option) (*Tagger, error) {
	o := buildOptions(opts)
	kind, err := checkpoint.ClassifyFolder(modelDir)
	if err != nil {
		return nil, fmt.Errorf("tagger: %w", err)
	}
	cfg, err := checkpoint.LoadConfig(modelDir)
	if err != nil {
		return nil, fmt.Errorf("tagger: %w", err)
	}
	if err := o.validate(cfg.MaxPositionEmbeddings); err != nil {
		return nil, err
	}
	labels := cfg.Labels()
	if len(labels) == 0 {
		return nil, fmt.Errorf("tagger: %s: config.json has no id2label", modelDir)
	}
	t := &Tagger{opts: o, heads: map[string]*head{}, batchTokens: o.batchTokens(cfg.HiddenSize)}
	adapterDir := ""
	switch kind {
	case checkpoint.FolderAdapter:
		adapterDir = modelDir
		if t.baseDir, err = adapterBase(modelDir, o.BaseDir); err != nil {
			return nil, err
		}
	case checkpoint.FolderHF:
		t.baseDir = modelDir
	}
	tokDir := modelDir
	if !tokenize.HasFiles(tokDir) && t.baseDir != "" {
		tokDir = t.baseDir
	}
	if t.tok, err = tokenize.Load(tokDir); err != nil {
		return nil, fmt.Errorf("tagger: tokenizer: %w", err)
	}
	t.kind = o.Backend
	if o.Precision == tensor.BF16 {
		switch t.kind {
		case BackendORT:
			return nil, fmt.Errorf("tagger: precision bf16 runs on the Go engine (backend go or auto); ONNX Runtime's CPU provider has no bf16 kernels")
		case BackendAuto:
			t.kind = BackendEngine
		}
		if kind == checkpoint.FolderONNX {
			return nil, fmt.Errorf("tagger: precision bf16 runs on the Go engine, which needs the weights; %s has only onnx/model.onnx", modelDir)
		}
		if err := tensor.SetPrecision(tensor.BF16); err != nil {
			return nil, fmt.Errorf("tagger: %w", err)
		}
	}
	if t.kind == BackendAuto {
		t.kind = BackendORT
		if _, err := InitORT(o.ORTLibrary); err != nil {
			t.kind = BackendEngine
		}
	}
	if t.kind == BackendEngine && o.Device != DeviceCPU {
		return nil, fmt.Errorf("tagger: device %s needs the ORT backend; the Go engine runs on the CPU", o.Device)
	}
	if t.kind == BackendEngine && o.Threads > 0 {
		tensor.SetThreads(o.Threads) // process-wide, as the trainer sets it
	}
	switch {
	case t.kind == BackendORT && kind == checkpoint.FolderONNX:
		be, err := t.openORT(modelDir)
		if err != nil {
			return nil, err
		}
		t.def = &head{labels: labels, be: be}
	case t.kind == BackendORT:
		if len(o.shared) > 1 {
			hs, err := t.openShared(o.shared)
			if err == nil {
				t.shared = hs
				t.def = &head{labels: hs[0].labels, be: hs[0].be}
				break
			}
			if !errors.Is(err, errSharedUnsupported) {
				t.Close()
				return nil, err
			}
		}
		exp, err := cachedExport(o, t.baseDir, adapterDir)
		if err != nil {
			return nil, err
		}
		be, err := t.openORT(exp)
		if err != nil {
			return nil, err
		}
		t.def = &head{labels: labels, be: be}
	default:
		if t.baseDir == "" {
			return nil, fmt.Errorf("tagger: %s has only onnx/model.onnx; the Go engine needs the weights (model.safetensors)", modelDir)
		}
		if adapterDir != "" {
			t.engine, err = newEngineForAdapter(t.baseDir, labels)
		} else {
			t.engine, err = NewEngine(t.baseDir)
		}
		if err != nil {
			return nil, err
		}
		t.closers = append(t.closers, t.engine.Close)
		if adapterDir != "" {
			h, err := t.engine.loadAdapter(filepath.Base(adapterDir), adapterDir, labels)
			if err != nil {
				t.Close()
				return nil, err
			}
			t.def = &head{labels: labels, be: h}
		} else {
			t.def = &head{labels: labels, be: t.engine.baseHead(labels)}
		}
	}
	if n := backendLabels(t.def.be); n > 0 && n != len(labels) {
		t.Close()
		return nil, fmt.Errorf("tagger: %s: the model has %d outputs, config.json id2label %d labels", modelDir, n, len(labels))
	}
	return t, nil
}

func backendLabels(be Backend) int {
	if o, ok := be.(*ORTBackend); ok {
		return o.NumLabels()
	}
	return 0
}

func (t *Tagger) openORT(path string) (*ORTBackend, error) {
	be, err := NewORT(path, ORTOptions{LibraryPath: t.opts.ORTLibrary, IntraOpThreads: t.opts.Threads, Device: t.opts.Device})
	if err != nil {
		return nil, err
	}
	t.closers = append(t.closers, be.Close)
	return be, nil
}

// Backend reports the backend in use (ORT or engine).
func (t *Tagger) Backend() BackendKind { return t.kind }

// Labels are the default head's id2label labels.
func (t *Tagger) Labels() []string { return append([]string(nil), t.def.labels...) }

// Tokenizer is the tagger's tokenizer.
func (t *Tagger) Tokenizer() *tokenize.Tokenizer { return t.tok }

// Close releases the sessions / model. The Tagger must not be used after.
func (t *Tagger) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	var first error
	for _, c := range t.closers {
		if err := c(); err != nil && first == nil {
			first = err
		}
	}
	t.closers = nil
	return first
}

// TagOption selects what one Tag call runs.
type TagOption func(*tagConfig)

type tagConfig struct {
	adapters  []string
	all       bool
	modelHead bool
	progress  func(doneBytes, totalBytes int)
}

// selectsHeads reports whether the options chose heads (adapters, all of
// them, or the model's own).
func (c tagConfig) selectsHeads() bool { return c.modelHead || c.all || len(c.adapters) > 0 }

// WithModelHead tags with the model's own head (the folder the tagger was
// opened on) even when adapters are attached.
func WithModelHead() TagOption { return func(c *tagConfig) { c.modelHead = true } }

// WithAdapter tags with the named adapter (see AddAdapter) instead of the
// default head.
func WithAdapter(name string) TagOption {
	return func(c *tagConfig) { c.adapters = []string{name} }
}

// WithAllAdapters tags with every adapter added by AddAdapter (the default
// head when none was added) and returns the union of their entities, each
// with Entity.Adapter set, sorted by offset. Where adapters that share a
// label find overlapping spans of it, the higher-scoring entity is kept;
// WithOverlap(OverlapAny) does so across labels too (see unionEntities).
func WithAllAdapters() TagOption { return func(c *tagConfig) { c.all = true } }

// Tag tags one document. Empty or whitespace-only text gives no entities
// (and no error); invalid UTF-8 gives ErrInvalidUTF8.
//
// Without options a manifest tagger (Open("") or a default.json folder) tags as its
// manifest's tag_with; any other with its attached adapter (AddAdapter), or
// all of them when there are several, or its own head when none is attached.
func (t *Tagger) Tag(ctx context.Context, text string, opts ...TagOption) ([]Entity, error) {
	res, err := t.TagBatch(ctx, []string{text}, opts...)
	if err != nil {
		return nil, err
	}
	return res[0], nil
}

// TagBatch tags several documents together (their windows share batches).
// The result has one entity list per text, in input order. Without options,
// as Tag. A text's scores may differ from tagging it alone in the last
// float32 digits (≈1e-7): batching pads windows to a common length, which
// changes the BLAS kernels' blocking and so the order of float32 sums;
// labels, spans and entities are the same whenever scores are not within
// that rounding of a tie or the threshold.
func (t *Tagger) TagBatch(ctx context.Context, texts []string, opts ...TagOption) ([][]Entity, error) {
	start := time.Now()
	defer func() { t.totalNS.Add(int64(time.Since(start))) }()
	heads, c, err := t.selectHeads(opts)
	if err != nil {
		return nil, err
	}
	// Long documents stream (tagLong). predict sees them blank, so the
	// others keep sharing batches and predict's errors keep the texts' places.
	var batched []string
	for i, text := range texts {
		if len(text) > LongDocumentBytes {
			if batched == nil {
				batched = slices.Clone(texts)
			}
			batched[i] = ""
		}
	}
	if batched == nil {
		batched = texts
	}
	out := make([][]Entity, len(texts))
	add := func(h *head, i int, ents []Entity) {
		if len(heads) > 1 {
			for k := range ents {
				ents[k].Adapter = h.name
			}
		}
		out[i] = append(out[i], ents...)
	}
	for i, text := range texts {
		if len(text) > LongDocumentBytes {
			ents, err := t.tagLong(ctx, heads, text, c.progress)
			if err != nil {
				return nil, fmt.Errorf("%s%w", docRef(i, len(texts)), err)
			}
			for k, h := range heads {
				add(h, i, ents[k])
			}
		}
	}
	docs, err := t.predictHeads(ctx, heads, batched)
	if err != nil {
		return nil, err
	}
	for k, h := range heads {
		for i, d := range docs[k] {
			if len(texts[i]) <= LongDocumentBytes {
				add(h, i, d.aggregate(t.opts.Aggregation, t.opts.IgnoreLabels, t.opts.Threshold))
			}
		}
	}
	if len(heads) > 1 {
		for i := range out {
			out[i] = unionEntities(out[i], t.opts.Overlap)
		}
	}
	for i := range out {
		if out[i] == nil {
			out[i] = []Entity{}
		}
	}
	return out, nil
}

// TagTokens returns the document's words with their predicted IOB2 tags
// (the CoNLL view), from the head the options (or their absence, as in Tag)
// select. With several adapters each word gets the tag of the flat union of
// their entities: where entities of different types overlap the
// higher-scoring one is kept (OverlapAny), so every word has one tag; a
// word's Score is then that entity's (or the first adapter's for "O").
func (t *Tagger) TagTokens(ctx context.Context, text string, opts ...TagOption) ([]Token, error) {
	heads, _, err := t.selectHeads(opts)
	if err != nil {
		return nil, err
	}
	docs, err := t.predictHeads(ctx, heads, []string{text})
	if err != nil {
		return nil, err
	}
	words := docs[0][0].words()
	if len(heads) == 1 {
		return words, nil
	}
	var ents []Entity
	for _, d := range docs {
		ents = append(ents, d[0].aggregate(AggregationFirst, []string{"O"}, t.opts.Threshold)...)
	}
	for i := range words {
		words[i].Tag = "O"
	}
	for _, e := range unionEntities(ents, OverlapAny) {
		first := true
		for i := range words {
			if words[i].Start >= e.Start && words[i].End <= e.End {
				words[i].Tag, words[i].Score = map[bool]string{true: "B-", false: "I-"}[first]+e.Label, e.Score
				first = false
			}
		}
	}
	return words, nil
}

// selectHeads returns the heads the options (or, when they choose none, the
// tagger's defaults) select, and the options as parsed.
func (t *Tagger) selectHeads(opts []TagOption) ([]*head, tagConfig, error) {
	var c tagConfig
	for _, o := range opts {
		o(&c)
	}
	// options that choose no head (WithProgress) leave the default choice
	if !c.selectsHeads() {
		opts = t.tagWith
		for _, o := range opts {
			o(&c)
		}
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.closers == nil {
		return nil, c, ErrClosed
	}
	// Without options (and no manifest tag_with) attached adapters are
	// what the caller meant: one is used, several are all used; with none,
	// the model's own head. The CLI, the C ABI and Python share this rule.
	if len(opts) == 0 && len(t.order) > 0 {
		c.all = true
	}
	if c.modelHead {
		if c.all || len(c.adapters) > 0 {
			return nil, c, fmt.Errorf("tagger: WithModelHead excludes WithAdapter and WithAllAdapters")
		}
		return []*head{t.def}, c, nil
	}
	if c.all {
		if len(t.order) == 0 {
			return []*head{t.def}, c, nil
		}
		c.adapters = t.order
	}
	if len(c.adapters) == 0 {
		return []*head{t.def}, c, nil
	}
	var hs []*head
	for _, n := range c.adapters {
		h := t.heads[n]
		if h == nil {
			return nil, c, fmt.Errorf("tagger: no adapter named %q (added: %v)", n, t.order)
		}
		hs = append(hs, h)
	}
	return hs, c, nil
}

// winRef is one window of one document.
type winRef struct {
	doc int
	k   int // index among the document's windows
	w   tokenize.Window
	pre int // leading specials in the window
}

// predict runs one head over the documents and returns per-token scores.
func (t *Tagger) predict(ctx context.Context, h *head, texts []string) ([]*docScores, error) {
	docs, err := t.predictHeads(ctx, []*head{h}, texts)
	if err != nil {
		return nil, err
	}
	return docs[0], nil
}

// predictHeads runs several heads over the documents, tokenising and
// windowing them once, and returns per-token scores per head (in hs order)
// per document. Heads of one shared-base session (sharedHead) get their
// logits from a single run per batch.
func (t *Tagger) predictHeads(ctx context.Context, hs []*head, texts []string) ([][]*docScores, error) {
	docs := make([][]*docScores, len(hs))
	for k := range hs {
		docs[k] = make([]*docScores, len(texts))
	}
	owner := make([][]int, len(texts)) // per doc, per token: the predicting window
	var wins []winRef
	unk := t.tok.Special().UNK
	for i, text := range texts {
		if !utf8.ValidString(text) {
			return nil, fmt.Errorf("%s%w", docRef(i, len(texts)), ErrInvalidUTF8)
		}
		if strings.IndexByte(text, 0) >= 0 {
			return nil, fmt.Errorf("%s%w", docRef(i, len(texts)), ErrNUL)
		}
		enc, err := t.tok.Encode(text)
		if err != nil {
			return nil, fmt.Errorf("tagger: %s%w", docRef(i, len(texts)), err)
		}
		for k, h := range hs {
			docs[k][i] = &docScores{text: text, enc: enc, scores: make([][]float32, enc.Len()), labels: h.labels, unkID: unk}
		}
		ws, err := tokenize.WordAlignedWindows(enc, t.opts.WindowLen, t.opts.Stride)
		if err != nil {
			return nil, fmt.Errorf("tagger: %s%w", docRef(i, len(texts)), err)
		}
		pre := 0
		for pre < enc.Len() && enc.SequenceIDs[pre] < 0 {
			pre++
		}
		owner[i] = tokenize.PredictingWindows(enc, ws)
		for k, w := range ws {
			if w.End > w.Start {
				wins = append(wins, winRef{doc: i, k: k, w: w, pre: pre})
			}
		}
	}
	// Length buckets: longest first, so each batch pads to a similar length.
	sort.SliceStable(wins, func(a, b int) bool { return wins[a].w.Len() > wins[b].w.Len() })
	bs, tokens := t.opts.BatchSize, t.batchTokens
	if t.tiledRows > 1 && slices.ContainsFunc(hs, func(h *head) bool { _, ok := h.be.(*sharedHead); return ok }) {
		// a tiled session runs each window once per adapter
		bs = max(1, bs/t.tiledRows)
		if tokens > 0 { // 0 stays "no cap"
			tokens = max(1, tokens/t.tiledRows)
		}
	}
	for s, e := 0, 0; s < len(wins); s = e {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		e = batchEnd(wins, s, bs, tokens)
		batch := wins[s:e]
		L := batch[0].w.Len()
		ids, mask, types := make([][]int64, len(batch)), make([][]int64, len(batch)), make([][]int64, len(batch))
		for r, wr := range batch {
			ids[r], mask[r], types[r] = make([]int64, L), make([]int64, L), make([]int64, L)
			for j := 0; j < wr.w.Len(); j++ {
				ids[r][j], mask[r][j], types[r][j] = int64(wr.w.IDs[j]), 1, int64(wr.w.TypeIDs[j])
			}
			for j := wr.w.Len(); j < L; j++ {
				ids[r][j] = int64(t.padID())
			}
		}
		shared := map[*ORTBackend][]*tensor.Tensor{} // this batch's shared-session runs
		for k, h := range hs {
			t0 := time.Now()
			var logits *tensor.Tensor
			var err error
			if sh, ok := h.be.(*sharedHead); ok {
				all, done := shared[sh.be]
				if !done {
					all, err = sh.be.LogitsAll(ids, mask, types)
					shared[sh.be] = all
				}
				if err == nil {
					logits = all[sh.out]
				}
			} else {
				logits, err = h.be.Logits(ids, mask, types)
			}
			t.backendNS.Add(int64(time.Since(t0)))
			if err != nil {
				return nil, err
			}
			if len(logits.Shape) != 3 || logits.Shape[0] != len(batch) || logits.Shape[1] != L || logits.Shape[2] != len(h.labels) {
				return nil, fmt.Errorf("tagger: backend returned logits %v, want [%d %d %d]", logits.Shape, len(batch), L, len(h.labels))
			}
			C := logits.Shape[2]
			for r, wr := range batch {
				d := docs[k][wr.doc]
				for src := wr.w.Start; src < wr.w.End; src++ {
					// The training rule: each word from one window
					// (tokenize.PredictingWindows).
					if owner[wr.doc][src] != wr.k {
						continue
					}
					j := wr.pre + src - wr.w.Start
					off := (r*L + j) * C
					d.scores[src] = softmax(logits.Data[off : off+C])
				}
			}
		}
	}
	for _, hd := range docs {
		for i, d := range hd {
			for k := range d.scores {
				if d.enc.SpecialTokensMask[k] == 1 {
					d.scores[k] = nil
				} else if d.scores[k] == nil {
					return nil, fmt.Errorf("tagger: document %d: token %d got no prediction (window stitching bug)", i, k)
				}
			}
		}
	}
	return docs, nil
}

// batchEnd returns the end of the batch that starts at wins[s] (wins sorted
// longest first): at most bs windows and, when tokens > 0, at most tokens
// padded positions (windows × the batch's length; the first window always
// runs), ending before the first window whose padding to the batch's length
// would exceed maxPad of it. A padded position costs about what a real token
// does, so one abstract — a full 256-token window and a short tail — runs as
// two calls instead of padding the tail to 256; and large batches of full
// windows were slower than small ones on the CPU (BERT-base, 25 abstracts,
// 1 thread: batch 1 28.3 s, 8 windows 30.4 s; benchmarks/tagger/batchsize.sh),
// while sentences of similar length still share a call.
func batchEnd(wins []winRef, s, bs, tokens int) int {
	L := wins[s].w.Len()
	e := s + 1
	for e < len(wins) && e-s < bs && L-wins[e].w.Len() <= maxPad(L) && (tokens <= 0 || (e-s+1)*L <= tokens) {
		e++
	}
	return e
}

// maxPad is the most padding a window may take to join a batch of length L:
// a quarter of L, and at least minPad so short sentences batch freely.
func maxPad(L int) int { return max(minPad, L/4) }

// minPad: windows shorter than the batch's by at most this many tokens
// always join it.
const minPad = 16

// docRef names text i of n in an error: nothing for a single text (the
// caller names it, e.g. by its file and line), else "text i of n: " counted
// from 1 like file lines.
func docRef(i, n int) string {
	if n == 1 {
		return ""
	}
	return fmt.Sprintf("text %d of %d: ", i+1, n)
}

func (t *Tagger) padID() int32 {
	if p := t.tok.Special().PAD; p >= 0 {
		return p
	}
	return 0
}

// Stats are cumulative wall times since Open (or the last ResetStats): Total
// inside Tag/TagBatch and Backend inside the backend's Logits calls, so
// Total − Backend is tokenisation, windows, batching and decoding.
type Stats struct {
	Total, Backend time.Duration
}

// Stats returns the cumulative timings.
func (t *Tagger) Stats() Stats {
	return Stats{Total: time.Duration(t.totalNS.Load()), Backend: time.Duration(t.backendNS.Load())}
}

// ResetStats zeroes the timings.
func (t *Tagger) ResetStats() { t.totalNS.Store(0); t.backendNS.Store(0) }
