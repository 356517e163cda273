package scheme

import "fmt"

// Detect guesses the scheme of tag sequences as seqeval's auto_detect does:
// the set of prefixes used must be one of the combinations seqeval lists for
// IOB2, IOE2, IOBES or BILOU (checked in that order), for example {B, I, O}
// or {B} for IOB2 and {B, E, S, O} or {S} for IOBES. Anything else — only I
// and O, a malformed tag, mixed schemes — is an error naming the prefixes.
// IOB1 and IOE1 are never detected (they are IOB2 and IOE2 to auto_detect).
func Detect(seqs [][]string) (Scheme, error) {
	var set prefixSet
	for k, tags := range seqs {
		for i, t := range tags {
			p, _, ok := ParseTag(t)
			if !ok {
				return 0, fmt.Errorf("scheme: detect: sentence %d token %d: invalid tag %q", k+1, i+1, t)
			}
			set |= prefixBit(p)
		}
	}
	allowed := []struct {
		s    Scheme
		sets []prefixSet
	}{
		{IOB2, []prefixSet{setI | setO | setB, setI | setB, setB | setO, setB}},
		{IOE2, []prefixSet{setI | setO | setE, setI | setE, setE | setO, setE}},
		{IOBES, []prefixSet{
			setI | setO | setB | setE | setS, setI | setB | setE | setS, setI | setO | setB | setE,
			setO | setB | setE | setS, setI | setB | setE, setB | setE | setS, setO | setB | setE,
			setB | setE, setS,
		}},
		{BILOU, []prefixSet{
			setI | setO | setB | setL | setU, setI | setB | setL | setU, setI | setO | setB | setL,
			setO | setB | setL | setU, setI | setB | setL, setB | setL | setU, setO | setB | setL,
			setB | setL, setU,
		}},
	}
	for _, a := range allowed {
		for _, s := range a.sets {
			if set == s {
				return a.s, nil
			}
		}
	}
	return 0, fmt.Errorf("scheme: detect: prefixes %s match no supported scheme", set)
}

// String lists the prefixes of the set, e.g. "{B,I,O}".
func (ps prefixSet) String() string {
	out := "{"
	for _, p := range []Prefix{PrefixB, PrefixI, PrefixE, PrefixS, PrefixL, PrefixU, PrefixO} {
		if ps&prefixBit(p) != 0 {
			if len(out) > 1 {
				out += ","
			}
			out += string(rune(p))
		}
	}
	return out + "}"
}
