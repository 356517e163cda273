package tokenize

import (
	"fmt"
	"runtime"
	"sync"
	"unicode/utf8"
)

// Tokenizer encodes text into token ids exactly as HF's Rust tokenizers does
// for the same tokenizer files. It is safe for concurrent use.
type Tokenizer struct {
	model      model
	normalizer normalizer
	pre        preTokenizer
	post       *template

	added      []AddedToken
	addedByID  map[int32]AddedToken
	addedByStr map[string]int32
	raw        *matcher // added tokens with normalized=false, on the raw text
	norm       *matcher // added tokens with normalized=true, on normalized text

	special SpecialTokens
	pool    sync.Pool
}

// SpecialTokens holds the ids of the tokens MLM masking and padding need; an
// id is -1 when the vocabulary has no such token.
type SpecialTokens struct {
	CLS, SEP, PAD, MASK, UNK int32
}

// Model returns the segmentation model kind.
func (t *Tokenizer) Model() ModelKind { return t.model.kind() }

// Special returns the ids of [CLS]/[SEP]/[PAD]/[MASK]/[UNK] (or the
// family's equivalents).
func (t *Tokenizer) Special() SpecialTokens { return t.special }

// VocabSize is HF's get_vocab_size(with_added_tokens=true): the model
// vocabulary plus added tokens whose ids lie beyond it.
func (t *Tokenizer) VocabSize() int {
	n := t.model.size()
	for _, a := range t.added {
		if int(a.ID) >= n {
			if _, ok := t.model.idToToken(a.ID); !ok {
				n = int(a.ID) + 1
			}
		}
	}
	return n
}

// TokenToID returns the id of a token (added tokens first, as HF).
func (t *Tokenizer) TokenToID(tok string) (int32, bool) {
	if id, ok := t.addedByStr[tok]; ok {
		return id, true
	}
	return t.model.tokenToID(tok)
}

// IDToToken returns the token of an id (added tokens first, as HF).
func (t *Tokenizer) IDToToken(id int32) (string, bool) {
	if a, ok := t.addedByID[id]; ok {
		return a.Content, true
	}
	return t.model.idToToken(id)
}

// AddedTokens returns the added tokens in file order.
func (t *Tokenizer) AddedTokens() []AddedToken { return append([]AddedToken(nil), t.added...) }

// finish builds the matchers and special ids after loading.
func (t *Tokenizer) finish() error {
	t.addedByID = make(map[int32]AddedToken)
	t.addedByStr = make(map[string]int32)
	var rawT, normT []AddedToken
	var rawP, normP []string
	// HF re-adds the file's added tokens in order (AddedVocabulary::add_tokens):
	// a token already in the model vocabulary takes the model's id, any
	// other one the next id after the largest added id (or the vocabulary
	// size); the "id" written in the file is only checked, not trusted.
	maxID, haveMax := int32(0), false
	seen := map[string]bool{}
	kept := t.added[:0:0]
	for i, a := range t.added {
		if a.Content == "" {
			return fmt.Errorf("added_tokens[%d]: empty content", i)
		}
		if seen[a.Content] {
			continue
		}
		seen[a.Content] = true
		if id, ok := t.model.tokenToID(a.Content); ok {
			a.ID = id
		} else {
			vs := int32(t.model.size())
			if haveMax && (maxID >= vs || vs == 0) {
				a.ID = maxID + 1
			} else {
				a.ID = vs
			}
		}
		if !haveMax || a.ID > maxID {
			maxID, haveMax = a.ID, true
		}
		kept = append(kept, a)
	}
	t.added = kept
	for _, a := range t.added {
		t.addedByID[a.ID] = a
		t.addedByStr[a.Content] = a.ID
		if a.Normalized {
			n := newNormalized(a.Content, 0, len(a.Content))
			if t.normalizer != nil {
				t.normalizer.normalize(n)
			}
			normT, normP = append(normT, a), append(normP, string(n.norm))
		} else {
			rawT, rawP = append(rawT, a), append(rawP, a.Content)
		}
	}
	t.raw = newMatcher(rawT, rawP)
	t.norm = newMatcher(normT, normP)
	look := func(names ...string) int32 {
		for _, n := range names {
			if id, ok := t.TokenToID(n); ok {
				return id
			}
		}
		return -1
	}
	t.special = SpecialTokens{
		CLS:  look("[CLS]", "<s>"),
		SEP:  look("[SEP]", "</s>"),
		PAD:  look("[PAD]", "<pad>"),
		MASK: look("[MASK]", "<mask>"),
		UNK:  look("[UNK]", "<unk>"),
	}
	t.pool.New = func() any { return &workspace{} }
	return nil
}

// EncodeOption configures one Encode call.
type EncodeOption func(*encodeConfig)

type encodeConfig struct {
	noSpecial bool
	maxLen    int
	padTo     int
}

// WithoutSpecialTokens is HF's add_special_tokens=False.
func WithoutSpecialTokens() EncodeOption { return func(c *encodeConfig) { c.noSpecial = true } }

// WithTruncation truncates the content so that the encoding (specials
// included) has at most maxLen tokens (HF truncation, longest_first, no
// overflow; use Windows to keep the rest).
func WithTruncation(maxLen int) EncodeOption { return func(c *encodeConfig) { c.maxLen = maxLen } }

// WithPadding pads the encoding to n tokens with the PAD token (right side).
func WithPadding(n int) EncodeOption { return func(c *encodeConfig) { c.padTo = n } }

func (t *Tokenizer) config(opts []EncodeOption) encodeConfig {
	var c encodeConfig
	for _, o := range opts {
		o(&c)
	}
	return c
}

// Encode encodes one text (HF encode(text, add_special_tokens=True)).
func (t *Tokenizer) Encode(text string, opts ...EncodeOption) (*Encoding, error) {
	if !utf8.ValidString(text) {
		return nil, fmt.Errorf("tokenize: text is not valid UTF-8")
	}
	c := t.config(opts)
	ws := t.pool.Get().(*workspace)
	defer t.pool.Put(ws)
	ws.toks = ws.toks[:0]
	t.encodeRaw(text, -1, ws)
	return t.build(ws, len(ws.toks), 0, false, c)
}

// EncodePair encodes a pair of texts (HF encode((a, b))).
func (t *Tokenizer) EncodePair(a, b string, opts ...EncodeOption) (*Encoding, error) {
	if !utf8.ValidString(a) || !utf8.ValidString(b) {
		return nil, fmt.Errorf("tokenize: text is not valid UTF-8")
	}
	c := t.config(opts)
	ws := t.pool.Get().(*workspace)
	defer t.pool.Put(ws)
	ws.toks = ws.toks[:0]
	t.encodeRaw(a, -1, ws)
	na := len(ws.toks)
	t.encodeRaw(b, -1, ws)
	return t.build(ws, na, len(ws.toks)-na, true, c)
}

// EncodeWords encodes pre-split words (HF is_split_into_words=True): each
// word is encoded on its own, WordIDs index the input words and offsets are
// relative to the word they belong to.
func (t *Tokenizer) EncodeWords(words []string, opts ...EncodeOption) (*Encoding, error) {
	for i, w := range words {
		if !utf8.ValidString(w) {
			return nil, fmt.Errorf("tokenize: word %d is not valid UTF-8", i)
		}
	}
	c := t.config(opts)
	ws := t.pool.Get().(*workspace)
	defer t.pool.Put(ws)
	ws.toks = ws.toks[:0]
	for i, w := range words {
		t.encodeRaw(w, i, ws)
	}
	return t.build(ws, len(ws.toks), 0, false, c)
}

// rawTok is one model or added token before post-processing.
type rawTok struct {
	id        int32
	word      int32
	tok       string
	off, coff Offset
}

// build truncates, post-processes and pads ws.toks ([0, na) first sequence,
// [na, na+nb) second) into a fresh Encoding with a handful of allocations.
func (t *Tokenizer) build(ws *workspace, na, nb int, pair bool, c encodeConfig) (*Encoding, error) {
	withSpecial := !c.noSpecial && t.post != nil
	if c.maxLen > 0 {
		budget := c.maxLen
		if withSpecial {
			budget -= t.post.added(pair)
		}
		if budget < 0 {
			return nil, fmt.Errorf("tokenize: max length %d is smaller than the %d special tokens", c.maxLen, c.maxLen-budget)
		}
		for na+nb > budget { // HF longest_first
			if na >= nb {
				na--
			} else {
				nb--
			}
		}
	}
	b := ws.toks[len(ws.toks)-nb:]
	if !pair {
		b = nil
	}
	a := ws.toks[:na]
	items := []templateItem{{Seq: 0}, {Seq: 1, TypeID: 0}}
	if withSpecial {
		items = t.post.single
		if pair {
			items = t.post.pair
		}
	} else if !pair {
		items = items[:1]
	}
	total := 0
	for _, it := range items {
		switch {
		case it.Special != "":
			total += len(t.post.specials[it.Special].ids)
		case it.Seq == 0:
			total += len(a)
		default:
			total += len(b)
		}
	}
	n := max(total, c.padTo)
	e := newEncoding(n)
	i := 0
	for _, it := range items {
		if it.Special != "" {
			sp := t.post.specials[it.Special]
			for k, id := range sp.ids {
				e.IDs[i], e.Tokens[i], e.TypeIDs[i] = id, sp.tokens[k], it.TypeID
				e.AttentionMask[i], e.SpecialTokensMask[i] = 1, 1
				e.WordIDs[i], e.SequenceIDs[i] = -1, -1
				i++
			}
			continue
		}
		src := a
		if it.Seq == 1 {
			src = b
		}
		for _, r := range src {
			e.IDs[i], e.Tokens[i], e.TypeIDs[i] = r.id, r.tok, it.TypeID
			e.AttentionMask[i] = 1
			e.WordIDs[i], e.SequenceIDs[i] = int(r.word), it.Seq
			e.Offsets[i], e.CharOffsets[i] = r.off, r.coff
			i++
		}
	}
	if i < n {
		pad := t.special.PAD
		tok, _ := t.IDToToken(pad)
		if pad < 0 {
			pad = 0
		}
		for ; i < n; i++ {
			e.IDs[i], e.Tokens[i], e.SpecialTokensMask[i] = pad, tok, 1
			e.WordIDs[i], e.SequenceIDs[i] = -1, -1
		}
	}
	return e, nil
}

// newEncoding allocates an Encoding of n zero tokens in four blocks.
func newEncoding(n int) *Encoding {
	i32 := make([]int32, 4*n)
	ints := make([]int, 2*n)
	offs := make([]Offset, 2*n)
	return &Encoding{
		IDs: i32[:n:n], TypeIDs: i32[n : 2*n : 2*n], AttentionMask: i32[2*n : 3*n : 3*n], SpecialTokensMask: i32[3*n:],
		WordIDs: ints[:n:n], SequenceIDs: ints[n:],
		Offsets: offs[:n:n], CharOffsets: offs[n:],
		Tokens: make([]string, n),
	}
}

// encodeRaw appends the tokens of text (no post-processing) to ws.toks.
// word < 0 numbers words by pre-tokenized split (HF word ids); otherwise
// every token gets word.
func (t *Tokenizer) encodeRaw(text string, word int, ws *workspace) {
	if text == "" {
		return
	}
	conv := ws.converter(text)
	split := 0
	wordOf := func() int32 {
		if word >= 0 {
			return int32(word)
		}
		return int32(split)
	}
	ws.segs = t.raw.find(text, ws.segs[:0])
	for _, sg := range ws.segs {
		if sg.tok >= 0 {
			a := t.raw.tokens[sg.tok]
			off := Offset{sg.s, sg.e}
			ws.toks = append(ws.toks, rawTok{a.ID, wordOf(), text[sg.s:sg.e], off, conv.convert(off)})
			split++
			continue
		}
		n := &ws.norm
		n.reset(text, sg.s, sg.e)
		if t.normalizer != nil {
			t.normalizer.normalize(n)
		}
		if len(n.norm) == 0 {
			continue
		}
		pieces := append(ws.pieceViews[:0], view{n, 0, len(n.norm)})
		if t.norm != nil {
			pieces = pieces[:0]
			for _, s2 := range t.norm.find(string(n.norm), nil) {
				if s2.tok < 0 {
					pieces = append(pieces, view{n.slice(s2.s, s2.e), 0, s2.e - s2.s})
					continue
				}
				pieces = append(pieces, view{n, s2.s, -1 - s2.tok}) // marker: added token
			}
		}
		ws.pieceViews = pieces
		for _, pv := range pieces {
			if pv.e < 0 {
				a := t.norm.tokens[-1-pv.e]
				s, e := pv.s, pv.s+len(t.norm.patterns[-1-pv.e])
				os, oe := pv.n.convert(s, e)
				off := Offset{os, oe}
				ws.toks = append(ws.toks, rawTok{a.ID, wordOf(), string(pv.n.norm[s:e]), off, conv.convert(off)})
				split++
				continue
			}
			words := append(ws.words[:0], pv)
			if t.pre != nil {
				words = t.pre.preTokenize(words, ws.views[:0])
				ws.views = words
			}
			for _, w := range words {
				if w.e <= w.s {
					continue
				}
				b := w.n.norm[w.s:w.e]
				ps := t.model.tokenize(b, ws.pieces[:0], ws)
				ws.pieces = ps
				for _, p := range ps {
					os, oe := w.n.convert(w.s+p.s, w.s+p.e)
					off := Offset{os, oe}
					var tok string
					if p.raw {
						tok = string(b[p.s:p.e])
					} else {
						tok, _ = t.model.idToToken(p.id)
					}
					ws.toks = append(ws.toks, rawTok{p.id, wordOf(), tok, off, conv.convert(off)})
				}
				split++
			}
		}
	}
}

// BatchOption configures EncodeBatch.
type BatchOption func(*batchConfig)

type batchConfig struct {
	workers int
	opts    []EncodeOption
}

// WithWorkers sets the number of goroutines (default GOMAXPROCS).
func WithWorkers(n int) BatchOption { return func(c *batchConfig) { c.workers = n } }

// WithEncodeOptions applies EncodeOptions to every text of the batch.
func WithEncodeOptions(opts ...EncodeOption) BatchOption {
	return func(c *batchConfig) { c.opts = append(c.opts, opts...) }
}

// EncodeBatch encodes texts in parallel; results are in input order (HF
// encode_batch). The first error (by input index) is returned.
func (t *Tokenizer) EncodeBatch(texts []string, opts ...BatchOption) ([]*Encoding, error) {
	return t.batch(len(texts), func(i int) (*Encoding, error) { return t.Encode(texts[i], t.batchOpts(opts)...) }, opts)
}

// EncodeWordsBatch is EncodeBatch for pre-split inputs.
func (t *Tokenizer) EncodeWordsBatch(inputs [][]string, opts ...BatchOption) ([]*Encoding, error) {
	return t.batch(len(inputs), func(i int) (*Encoding, error) { return t.EncodeWords(inputs[i], t.batchOpts(opts)...) }, opts)
}

func (t *Tokenizer) batchOpts(opts []BatchOption) []EncodeOption {
	var c batchConfig
	for _, o := range opts {
		o(&c)
	}
	return c.opts
}

func (t *Tokenizer) batch(n int, f func(int) (*Encoding, error), opts []BatchOption) ([]*Encoding, error) {
	c := batchConfig{workers: runtime.GOMAXPROCS(0)}
	for _, o := range opts {
		o(&c)
	}
	if c.workers < 1 {
		c.workers = 1
	}
	out := make([]*Encoding, n)
	errs := make([]error, n)
	var next int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	const chunk = 16
	for w := 0; w < c.workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				s := int(next)
				next += chunk
				mu.Unlock()
				if s >= n {
					return
				}
				e := s + chunk
				if e > n {
					e = n
				}
				for i := s; i < e; i++ {
					out[i], errs[i] = f(i)
				}
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("input %d: %w", i, err)
		}
	}
	return out, nil
}
