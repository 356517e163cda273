package scheme

// typeCond is seqeval's Tag flag: whether the previous and current tokens'
// entity types must be the same, different, or either.
type typeCond uint8

const (
	sameType typeCond = 1
	diffType typeCond = 2
	anyType           = sameType | diffType
)

// pattern is one (previous prefix, current prefix, type condition) triple
// from seqeval's scheme classes.
type pattern struct {
	prev, cur prefixSet
	cond      typeCond
}

// rules are a scheme's start/inside/end patterns (seqeval scheme.py).
type rules struct {
	start, inside, end []pattern
}

var schemeRules = map[Scheme]rules{
	IOB1: {
		start: []pattern{
			{setO, setI, anyType}, {setI, setI, diffType}, {setB, setI, anyType},
			{setI, setB, sameType}, {setB, setB, sameType},
		},
		inside: []pattern{{setB, setI, sameType}, {setI, setI, sameType}},
		end: []pattern{
			{setI, setI, diffType}, {setI, setO, anyType}, {setI, setB, anyType},
			{setB, setO, anyType}, {setB, setI, diffType}, {setB, setB, sameType},
		},
	},
	IOE1: {
		start: []pattern{
			{setO, setI, anyType}, {setI, setI, diffType}, {setE, setI, anyType},
			{setE, setE, sameType},
		},
		inside: []pattern{{setI, setI, sameType}, {setI, setE, sameType}},
		end: []pattern{
			{setI, setI, diffType}, {setI, setO, anyType}, {setI, setE, diffType},
			{setE, setI, sameType}, {setE, setE, sameType},
		},
	},
	IOB2: {
		start:  []pattern{{setAny, setB, anyType}},
		inside: []pattern{{setB, setI, sameType}, {setI, setI, sameType}},
		end: []pattern{
			{setI, setO, anyType}, {setI, setI, diffType}, {setI, setB, anyType},
			{setB, setO, anyType}, {setB, setI, diffType}, {setB, setB, anyType},
		},
	},
	IOE2: {
		start: []pattern{
			{setO, setI, anyType}, {setO, setE, anyType}, {setE, setI, anyType},
			{setE, setE, anyType}, {setI, setI, diffType}, {setI, setE, diffType},
		},
		inside: []pattern{{setI, setE, sameType}, {setI, setI, sameType}},
		end:    []pattern{{setE, setAny, anyType}},
	},
	IOBES: {
		start: []pattern{{setAny, setB, anyType}, {setAny, setS, anyType}},
		inside: []pattern{
			{setB, setI, sameType}, {setB, setE, sameType},
			{setI, setI, sameType}, {setI, setE, sameType},
		},
		end: []pattern{{setS, setAny, anyType}, {setE, setAny, anyType}},
	},
	BILOU: {
		start: []pattern{{setAny, setB, anyType}, {setAny, setU, anyType}},
		inside: []pattern{
			{setB, setI, sameType}, {setB, setL, sameType},
			{setI, setI, sameType}, {setI, setL, sameType},
		},
		end: []pattern{{setU, setAny, anyType}, {setL, setAny, anyType}},
	},
}

// matches is seqeval's Token.check_patterns.
func matches(prev, cur chunkTag, patterns []pattern) bool {
	pb, cb := prefixBit(prev.p), prefixBit(cur.p)
	for _, pt := range patterns {
		if pt.prev&pb == 0 || pt.cur&cb == 0 {
			continue
		}
		if prev.typ == cur.typ && pt.cond&sameType != 0 || prev.typ != cur.typ && pt.cond&diffType != 0 {
			return true
		}
	}
	return false
}

// decodeStrict is seqeval's Tokens.entities for scheme s: a virtual O is
// appended; at a token matching a start pattern the chunk is extended while
// tokens match an inside pattern, and kept only if the token after it
// matches an end pattern. Scanning resumes at that token either way.
func decodeStrict(tags []string, s Scheme) []Span {
	r, ok := schemeRules[s]
	if !ok {
		return nil
	}
	allowed := s.prefixes()
	ext := make([]chunkTag, len(tags)+1)
	for i, t := range tags {
		ext[i] = outside
		if p, typ, ok := ParseTag(t); ok && allowed&prefixBit(p) != 0 {
			ext[i] = chunkTag{p: p, typ: typ}
		}
	}
	ext[len(tags)] = outside

	var spans []Span
	prev := outside
	for i := 0; i < len(ext); {
		tok := ext[i]
		if matches(prev, tok, r.start) {
			end := i + 1
			for in := tok; end < len(ext) && matches(in, ext[end], r.inside); end++ {
				in = ext[end]
			}
			// O is never "inside", so end < len(ext) always holds here.
			if end < len(ext) && matches(ext[end-1], ext[end], r.end) {
				spans = append(spans, Span{Type: tok.typ, Start: i, End: end})
			}
			i = end
		} else {
			i++
		}
		prev = ext[i-1]
	}
	return spans
}
