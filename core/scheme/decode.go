package scheme

// Decode turns a tag sequence into typed spans, the way seqeval does.
//
// In Default mode the scheme is ignored and seqeval's get_entities rules
// apply (see decodeDefault); BILOU's L and U are read as IOBES's E and S. In
// Strict mode the scheme's transition patterns decide (see decodeStrict),
// exactly as seqeval's Tokens.entities with mode='strict'.
//
// Tags that ParseTag rejects, and in Strict mode tags whose prefix the scheme
// does not allow, are read as O (seqeval would warn or raise); call Validate
// first to report them as errors.
func Decode(tags []string, mode Mode, s Scheme) []Span {
	if mode == Strict {
		return decodeStrict(tags, s)
	}
	return decodeDefault(tags)
}

// chunkTag is a parsed tag: the prefix letter and the entity type ("" for
// untyped tags and for O, which seqeval both spell "_").
type chunkTag struct {
	p   Prefix
	typ string
}

var outside = chunkTag{p: PrefixO}

// decodeDefault is seqeval's get_entities (sequence_labeling.py): a virtual O
// is appended, and at every position end_of_chunk closes the open chunk and
// start_of_chunk opens a new one.
func decodeDefault(tags []string) []Span {
	var spans []Span
	prev := outside
	begin := 0
	for i := 0; i <= len(tags); i++ {
		cur := outside
		if i < len(tags) {
			if p, typ, ok := ParseTag(tags[i]); ok {
				cur = chunkTag{p: p, typ: typ}
			}
			// seqeval's get_entities knows B, I, E, S, O only; BILOU is
			// IOBES with other letters.
			switch cur.p {
			case PrefixL:
				cur.p = PrefixE
			case PrefixU:
				cur.p = PrefixS
			}
		}
		if endOfChunk(prev, cur) {
			spans = append(spans, Span{Type: prev.typ, Start: begin, End: i})
		}
		if startOfChunk(prev, cur) {
			begin = i
		}
		prev = cur
	}
	return spans
}

// endOfChunk is seqeval's end_of_chunk: whether a chunk ended between prev
// and cur.
func endOfChunk(prev, cur chunkTag) bool {
	switch {
	case prev.p == PrefixE || prev.p == PrefixS:
		return true
	case (prev.p == PrefixB || prev.p == PrefixI) &&
		(cur.p == PrefixB || cur.p == PrefixS || cur.p == PrefixO):
		return true
	}
	return prev.p != PrefixO && prev.typ != cur.typ
}

// startOfChunk is seqeval's start_of_chunk: whether a chunk starts at cur.
func startOfChunk(prev, cur chunkTag) bool {
	switch {
	case cur.p == PrefixB || cur.p == PrefixS:
		return true
	case (prev.p == PrefixE || prev.p == PrefixS || prev.p == PrefixO) &&
		(cur.p == PrefixE || cur.p == PrefixI):
		return true
	}
	return cur.p != PrefixO && prev.typ != cur.typ
}
