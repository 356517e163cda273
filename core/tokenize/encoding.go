package tokenize

// Offset is a half-open [Start, End) range. Encoding.Offsets counts bytes of
// the Go string; Encoding.CharOffsets counts Unicode code points (Python
// string indices, HF's char offsets). Special tokens added by the
// post-processor get [0, 0].
type Offset struct {
	Start, End int
}

// Encoding is the result of encoding one input, HF's Encoding.
//
// WordIDs[i] is the index of the word token i comes from: for plain text the
// index of the pre-tokenized split (HF word_ids), for EncodeWords the index
// of the input word; -1 (HF None) for special tokens added by the
// post-processor. SequenceIDs[i] is 0 for the first sequence, 1 for the
// second of a pair and -1 for post-processor specials (HF sequence_ids).
// For EncodeWords the offsets are relative to each word, as HF does for
// is_split_into_words input.
type Encoding struct {
	IDs               []int32
	Tokens            []string
	TypeIDs           []int32
	AttentionMask     []int32
	SpecialTokensMask []int32
	WordIDs           []int
	SequenceIDs       []int
	Offsets           []Offset
	CharOffsets       []Offset
}

// Len returns the number of tokens.
func (e *Encoding) Len() int { return len(e.IDs) }

func (e *Encoding) grow(n int) {
	if cap(e.IDs)-len(e.IDs) >= n {
		return
	}
	c := max(len(e.IDs)+n, 2*cap(e.IDs))
	e.IDs = append(make([]int32, 0, c), e.IDs...)
	e.Tokens = append(make([]string, 0, c), e.Tokens...)
	e.TypeIDs = append(make([]int32, 0, c), e.TypeIDs...)
	e.AttentionMask = append(make([]int32, 0, c), e.AttentionMask...)
	e.SpecialTokensMask = append(make([]int32, 0, c), e.SpecialTokensMask...)
	e.WordIDs = append(make([]int, 0, c), e.WordIDs...)
	e.SequenceIDs = append(make([]int, 0, c), e.SequenceIDs...)
	e.Offsets = append(make([]Offset, 0, c), e.Offsets...)
	e.CharOffsets = append(make([]Offset, 0, c), e.CharOffsets...)
}

// push appends one token.
func (e *Encoding) push(id int32, tok string, typeID int32, special bool, word, seq int, off, charOff Offset) {
	e.IDs = append(e.IDs, id)
	e.Tokens = append(e.Tokens, tok)
	e.TypeIDs = append(e.TypeIDs, typeID)
	e.AttentionMask = append(e.AttentionMask, 1)
	sm := int32(0)
	if special {
		sm = 1
	}
	e.SpecialTokensMask = append(e.SpecialTokensMask, sm)
	e.WordIDs = append(e.WordIDs, word)
	e.SequenceIDs = append(e.SequenceIDs, seq)
	e.Offsets = append(e.Offsets, off)
	e.CharOffsets = append(e.CharOffsets, charOff)
}

// appendRange copies tokens [s, e) of src.
func (e *Encoding) appendRange(src *Encoding, s, end int) {
	e.IDs = append(e.IDs, src.IDs[s:end]...)
	e.Tokens = append(e.Tokens, src.Tokens[s:end]...)
	e.TypeIDs = append(e.TypeIDs, src.TypeIDs[s:end]...)
	e.AttentionMask = append(e.AttentionMask, src.AttentionMask[s:end]...)
	e.SpecialTokensMask = append(e.SpecialTokensMask, src.SpecialTokensMask[s:end]...)
	e.WordIDs = append(e.WordIDs, src.WordIDs[s:end]...)
	e.SequenceIDs = append(e.SequenceIDs, src.SequenceIDs[s:end]...)
	e.Offsets = append(e.Offsets, src.Offsets[s:end]...)
	e.CharOffsets = append(e.CharOffsets, src.CharOffsets[s:end]...)
}

// Pad appends padding tokens (id padID, token padToken, type id 0,
// attention mask 0, special mask 1, word id -1, offsets [0,0]) up to length n
// (HF PaddingDirection::Right). It does nothing if the encoding is longer.
func (e *Encoding) Pad(n int, padID int32, padToken string) {
	for len(e.IDs) < n {
		e.push(padID, padToken, 0, true, -1, -1, Offset{}, Offset{})
		e.AttentionMask[len(e.AttentionMask)-1] = 0
	}
}

// charConverter maps byte offsets of text to code-point offsets the way
// HF's BytesToCharOffsetConverter does.
type charConverter struct {
	ascii bool
	n     int
	idx   []int32 // char index of every byte
}

func (c *charConverter) reset(text string) {
	c.n, c.ascii = len(text), true
	for i := 0; i < len(text); i++ {
		if text[i] >= 0x80 {
			c.ascii = false
			break
		}
	}
	if c.ascii {
		return
	}
	if cap(c.idx) < len(text) {
		c.idx = make([]int32, len(text), 2*len(text))
	}
	c.idx = c.idx[:len(text)]
	ci := int32(-1)
	for i := 0; i < len(text); i++ {
		if text[i] < 0x80 || text[i] >= 0xC0 {
			ci++
		}
		if ci < 0 {
			ci = 0
		}
		c.idx[i] = ci
	}
}

func (c *charConverter) convert(o Offset) Offset {
	if c.ascii {
		return o
	}
	if o.Start < 0 || o.Start >= c.n {
		return o // HF: start not in the map, offsets left as bytes
	}
	s := int(c.idx[o.Start])
	if o.End >= 0 && o.End < c.n {
		return Offset{s, int(c.idx[o.End])}
	}
	if o.End-1 >= 0 && o.End-1 < c.n {
		return Offset{s, int(c.idx[o.End-1]) + 1}
	}
	return Offset{s, s + 1}
}
