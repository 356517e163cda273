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
	for i, a := range t.added {
		if a.Content == "" {
			return fmt.Errorf("added_tokens[%d]: empty content", i)
		}
		if a.ID < 0 {
			return fmt.Errorf("added_tokens[%d]: negative id %d", i, a.ID)
		}
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
	raw := &Encoding{}
	t.encodeRaw(text, -1, raw, ws)
	return t.finishEncoding(raw, nil, c)
}

// EncodePair encodes a pair of texts (HF encode((a, b))).
func (t *Tokenizer) EncodePair(a, b string, opts ...EncodeOption) (*Encoding, error) {
	if !utf8.ValidString(a) || !utf8.ValidString(b) {
		return nil, fmt.Errorf("tokenize: text is not valid UTF-8")
	}
	c := t.config(opts)
	ws := t.pool.Get().(*workspace)
	defer t.pool.Put(ws)
	ra, rb := &Encoding{}, &Encoding{}
	t.encodeRaw(a, -1, ra, ws)
	t.encodeRaw(b, -1, rb, ws)
	return t.finishEncoding(ra, rb, c)
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
	raw := &Encoding{}
	for i, w := range words {
		t.encodeRaw(w, i, raw, ws)
	}
	return t.finishEncoding(raw, nil, c)
}

func (t *Tokenizer) finishEncoding(a, b *Encoding, c encodeConfig) (*Encoding, error) {
	if c.maxLen > 0 {
		budget := c.maxLen
		if !c.noSpecial && t.post != nil {
			budget -= t.post.added(b != nil)
		}
		if budget < 0 {
			return nil, fmt.Errorf("tokenize: max length %d is smaller than the %d special tokens", c.maxLen, c.maxLen-budget)
		}
		truncatePair(a, b, budget)
	}
	out := a
	if !c.noSpecial && t.post != nil {
		out = t.post.apply(a, b)
	} else if b != nil {
		out = &Encoding{}
		out.appendRange(a, 0, a.Len())
		s := out.Len()
		out.appendRange(b, 0, b.Len())
		for i := s; i < out.Len(); i++ {
			out.SequenceIDs[i] = 1
		}
	}
	if c.padTo > 0 {
		pad := t.special.PAD
		tok, _ := t.IDToToken(pad)
		if pad < 0 {
			pad = 0
		}
		out.Pad(c.padTo, pad, tok)
	}
	return out, nil
}

// truncatePair is HF's longest_first truncation without overflow.
func truncatePair(a, b *Encoding, budget int) {
	if b == nil {
		if a.Len() > budget {
			cut(a, budget)
		}
		return
	}
	for a.Len()+b.Len() > budget {
		if a.Len() >= b.Len() {
			cut(a, a.Len()-1)
		} else {
			cut(b, b.Len()-1)
		}
	}
}

func cut(e *Encoding, n int) {
	e.IDs, e.Tokens, e.TypeIDs = e.IDs[:n], e.Tokens[:n], e.TypeIDs[:n]
	e.AttentionMask, e.SpecialTokensMask = e.AttentionMask[:n], e.SpecialTokensMask[:n]
	e.WordIDs, e.SequenceIDs = e.WordIDs[:n], e.SequenceIDs[:n]
	e.Offsets, e.CharOffsets = e.Offsets[:n], e.CharOffsets[:n]
}

// encodeRaw appends the tokens of text (no post-processing) to enc. word < 0
// numbers words by pre-tokenized split; otherwise every token gets word.
func (t *Tokenizer) encodeRaw(text string, word int, enc *Encoding, ws *workspace) {
	if text == "" {
		return
	}
	conv := newCharConverter(text)
	split := 0
	wordOf := func() int {
		if word >= 0 {
			return word
		}
		return split
	}
	var segBuf [8]segment
	segs := t.raw.find([]byte(text), segBuf[:0])
	for _, sg := range segs {
		if sg.tok >= 0 {
			a := t.raw.tokens[sg.tok]
			off := Offset{sg.s, sg.e}
			enc.push(a.ID, text[sg.s:sg.e], 0, false, wordOf(), 0, off, conv.convert(off))
			split++
			continue
		}
		n := newNormalized(text, sg.s, sg.e)
		if t.normalizer != nil {
			t.normalizer.normalize(n)
		}
		if len(n.norm) == 0 {
			continue
		}
		var pieces []view
		if t.norm != nil {
			for _, s2 := range t.norm.find(n.norm, nil) {
				if s2.tok < 0 {
					pieces = append(pieces, view{n.slice(s2.s, s2.e), 0, s2.e - s2.s})
					continue
				}
				pieces = append(pieces, view{n, s2.s, -1 - s2.tok}) // marker: added token
			}
		} else {
			pieces = []view{{n, 0, len(n.norm)}}
		}
		for _, pv := range pieces {
			if pv.e < 0 {
				a := t.norm.tokens[-1-pv.e]
				s, e := pv.s, pv.s+len(t.norm.patterns[-1-pv.e])
				os, oe := pv.n.convert(s, e)
				off := Offset{os, oe}
				enc.push(a.ID, string(pv.n.norm[s:e]), 0, false, wordOf(), 0, off, conv.convert(off))
				split++
				continue
			}
			words := []view{pv}
			if t.pre != nil {
				words = t.pre.preTokenize(words, nil)
			}
			for _, w := range words {
				if w.e <= w.s {
					continue
				}
				b := w.n.norm[w.s:w.e]
				ps := t.model.tokenize(b, ws.pieces[:0], ws)
				ws.pieces = ps
				enc.grow(len(ps))
				for _, p := range ps {
					os, oe := w.n.convert(w.s+p.s, w.s+p.e)
					off := Offset{os, oe}
					var tok string
					if p.raw {
						tok = string(b[p.s:p.e])
					} else {
						tok, _ = t.model.idToToken(p.id)
					}
					enc.push(p.id, tok, 0, false, wordOf(), 0, off, conv.convert(off))
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
