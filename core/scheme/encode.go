package scheme

import "fmt"

// Encode writes spans as a tag sequence of length n in scheme s. Spans must be
// ordered, non-overlapping, non-empty and inside [0, n); an empty Type gives
// untyped tags ("B", "I", ...). Adjacency decides IOB1's B and IOE1's E: a
// chunk that touches a preceding (IOB1) or following (IOE1) chunk of the same
// type gets the marker, as in Tjong Kim Sang & Veenstra (1999).
func Encode(spans []Span, n int, s Scheme) ([]string, error) {
	if !s.Valid() {
		return nil, fmt.Errorf("scheme: encode: invalid scheme %d", int(s))
	}
	if n < 0 {
		return nil, fmt.Errorf("scheme: encode: negative length %d", n)
	}
	if err := checkSpans(spans, n); err != nil {
		return nil, fmt.Errorf("scheme: encode %s: %w", s, err)
	}
	return encode(spans, n, s), nil
}

// encode is Encode without argument checks; spans must satisfy checkSpans.
func encode(spans []Span, n int, s Scheme) []string {
	tags := make([]string, n)
	for i := range tags {
		tags[i] = "O"
	}
	for k, sp := range spans {
		first, inner, last, single := chunkPrefixes(s, spans, k)
		if sp.Len() == 1 {
			tags[sp.Start] = MakeTag(single, sp.Type)
			continue
		}
		tags[sp.Start] = MakeTag(first, sp.Type)
		for i := sp.Start + 1; i < sp.End-1; i++ {
			tags[i] = MakeTag(inner, sp.Type)
		}
		tags[sp.End-1] = MakeTag(last, sp.Type)
	}
	return tags
}

// chunkPrefixes returns the prefixes of the first, inner and last tokens of
// a multi-token chunk and the prefix of a single-token chunk, for span k.
func chunkPrefixes(s Scheme, spans []Span, k int) (first, inner, last, single Prefix) {
	sp := spans[k]
	switch s {
	case IOB1:
		first = PrefixI
		if k > 0 && spans[k-1].End == sp.Start && spans[k-1].Type == sp.Type {
			first = PrefixB
		}
		return first, PrefixI, PrefixI, first
	case IOB2:
		return PrefixB, PrefixI, PrefixI, PrefixB
	case IOE1:
		last = PrefixI
		if k+1 < len(spans) && spans[k+1].Start == sp.End && spans[k+1].Type == sp.Type {
			last = PrefixE
		}
		return PrefixI, PrefixI, last, last
	case IOE2:
		return PrefixI, PrefixI, PrefixE, PrefixE
	case IOBES:
		return PrefixB, PrefixI, PrefixE, PrefixS
	default: // BILOU
		return PrefixB, PrefixI, PrefixL, PrefixU
	}
}

// Validate reports the first tag that makes tags an invalid sequence in scheme
// s: a malformed tag, a prefix the scheme does not allow (seqeval raises
// "Invalid token is found" for these in strict mode), or an ill-formed
// transition such as IOB2's I-X after O. A valid sequence is exactly the
// encoding of its own spans, so Validate compares tags with
// Encode(Decode(tags, Default, s)) and names the first difference.
func Validate(tags []string, s Scheme) error {
	if !s.Valid() {
		return fmt.Errorf("scheme: invalid scheme %d", int(s))
	}
	for i, t := range tags {
		p, _, ok := ParseTag(t)
		if !ok {
			return &TagError{Index: i, Tag: t, Scheme: s, Reason: "not a chunk tag (want O, P or P-Type with P one of B I E S L U)"}
		}
		if !s.Allowed(p) {
			return &TagError{Index: i, Tag: t, Scheme: s, Reason: fmt.Sprintf("prefix %c is not allowed in %s", p, s)}
		}
	}
	want := encode(decodeDefault(tags), len(tags), s)
	for i := range tags {
		if tags[i] != want[i] {
			return &TagError{Index: i, Tag: tags[i], Scheme: s,
				Reason: fmt.Sprintf("invalid transition (a valid %s sequence would have %q here)", s, want[i])}
		}
	}
	return nil
}

// TagError describes an invalid tag at position Index of a sequence.
type TagError struct {
	Index  int
	Tag    string
	Scheme Scheme
	Reason string
}

// Error implements error.
func (e *TagError) Error() string {
	return fmt.Sprintf("scheme: tag %d %q (%s): %s", e.Index, e.Tag, e.Scheme, e.Reason)
}

// Convert rewrites a valid sequence of scheme from as the same spans in scheme
// to. The conversion is lossless: Convert(Convert(t, a, b), b, a) == t for
// every valid t. An invalid input sequence is an error (see Validate).
func Convert(tags []string, from, to Scheme) ([]string, error) {
	if !to.Valid() {
		return nil, fmt.Errorf("scheme: convert %s: invalid target scheme %d", from, int(to))
	}
	if err := Validate(tags, from); err != nil {
		return nil, fmt.Errorf("scheme: convert %s to %s: %w", from, to, err)
	}
	return encode(decodeDefault(tags), len(tags), to), nil
}

// RepairIOB2 turns any predicted sequence into a valid IOB2 sequence with the
// spans that Default decoding finds in it: an I-X that does not continue an X
// entity becomes B-X, E-/S-/L-/U- tags are rewritten, and malformed tags
// become O. This is what a tagger applies before output, so that strict IOB2
// decoding of the result equals lenient decoding of the raw prediction.
func RepairIOB2(tags []string) []string {
	// decodeDefault always yields ordered, disjoint, in-range spans.
	return encode(decodeDefault(tags), len(tags), IOB2)
}
