package scheme

// Prefix is the chunk-position letter of a tag: the "B" of "B-Disease".
type Prefix byte

// The tag prefixes of all supported schemes (seqeval's Prefix enum).
const (
	PrefixO Prefix = 'O' // outside any chunk
	PrefixB Prefix = 'B' // begin
	PrefixI Prefix = 'I' // inside
	PrefixE Prefix = 'E' // end (IOE, IOBES)
	PrefixS Prefix = 'S' // single (IOBES)
	PrefixL Prefix = 'L' // last (BILOU)
	PrefixU Prefix = 'U' // unit (BILOU)
)

// ParseTag splits a tag into its prefix and entity type. Accepted forms are
// "O", a bare prefix ("B", "I", ... — untyped, as in S800) and
// "<prefix>-<type>" with a non-empty type; the type is everything after the
// first hyphen ("B-DNA-family" has type "DNA-family", as in seqeval's
// get_entities). ok is false for anything else.
func ParseTag(tag string) (p Prefix, typ string, ok bool) {
	if tag == "" {
		return 0, "", false
	}
	p = Prefix(tag[0])
	switch p {
	case PrefixO:
		return p, "", len(tag) == 1
	case PrefixB, PrefixI, PrefixE, PrefixS, PrefixL, PrefixU:
	default:
		return 0, "", false
	}
	if len(tag) == 1 {
		return p, "", true
	}
	if tag[1] != '-' || len(tag) == 2 {
		return 0, "", false
	}
	return p, tag[2:], true
}

// ValidTag reports whether tag is O, a bare prefix or prefix-type for one of
// the prefixes O, B, I, E, S, L, U (see ParseTag).
func ValidTag(tag string) bool {
	_, _, ok := ParseTag(tag)
	return ok
}

// MakeTag builds the tag string for prefix p and entity type typ; an empty
// typ gives the untyped form ("B").
func MakeTag(p Prefix, typ string) string {
	if p == PrefixO {
		return "O"
	}
	if typ == "" {
		return string(rune(p))
	}
	return string(rune(p)) + "-" + typ
}

// Allowed reports whether prefix p belongs to scheme s (seqeval's
// allowed_prefix).
func (s Scheme) Allowed(p Prefix) bool {
	return s.prefixes()&prefixBit(p) != 0
}

// prefixSet is a bit set of prefixes, mirroring seqeval's Prefix flags.
type prefixSet uint8

const (
	setI prefixSet = 1 << iota
	setO
	setB
	setE
	setS
	setU
	setL
	setAny = setI | setO | setB | setE | setS | setU | setL
)

func prefixBit(p Prefix) prefixSet {
	switch p {
	case PrefixI:
		return setI
	case PrefixO:
		return setO
	case PrefixB:
		return setB
	case PrefixE:
		return setE
	case PrefixS:
		return setS
	case PrefixU:
		return setU
	case PrefixL:
		return setL
	}
	return 0
}

func (s Scheme) prefixes() prefixSet {
	switch s {
	case IOB1, IOB2:
		return setI | setO | setB
	case IOE1, IOE2:
		return setI | setO | setE
	case IOBES:
		return setI | setO | setB | setE | setS
	case BILOU:
		return setB | setI | setL | setO | setU
	}
	return 0
}
