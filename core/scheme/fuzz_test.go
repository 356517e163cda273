package scheme

import (
	"testing"
)

// fuzzAlphabet covers every prefix, typed and untyped tags, two types and
// malformed tags.
var fuzzAlphabet = []string{
	"O", "O", "O", "B-A", "I-A", "E-A", "S-A", "L-A", "U-A",
	"B-B", "I-B", "E-B", "S-B", "B", "I", "E", "S", "", "X-A", "B-",
}

func fuzzTags(data []byte) []string {
	out := make([]string, len(data))
	for i, b := range data {
		out[i] = fuzzAlphabet[int(b)%len(fuzzAlphabet)]
	}
	return out
}

func checkWellFormed(t *testing.T, sp []Span, n int, what string) {
	t.Helper()
	if err := checkSpans(sp, n); err != nil {
		t.Fatalf("%s: %v (spans %v)", what, err, sp)
	}
}

// FuzzDecode checks, for arbitrary tag sequences, that decoding never panics
// and yields in-bounds, ordered, disjoint spans in both modes and all schemes,
// and that RepairIOB2 gives a valid IOB2 sequence whose strict decoding equals
// the default decoding of the input.
func FuzzDecode(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{3, 4, 4, 0, 4, 5})
	f.Add([]byte{1, 4, 10, 7, 6, 8, 13, 14, 17, 18, 19})
	f.Add([]byte("random bytes of any kind"))
	f.Fuzz(func(t *testing.T, data []byte) {
		in := fuzzTags(data)
		def := Decode(in, Default, IOB2)
		checkWellFormed(t, def, len(in), "default")
		for _, s := range Schemes {
			checkWellFormed(t, Decode(in, Strict, s), len(in), "strict "+s.String())
		}
		rep := RepairIOB2(in)
		if err := Validate(rep, IOB2); err != nil {
			t.Fatalf("repair of %v is not valid IOB2: %v", in, err)
		}
		strict := Decode(rep, Strict, IOB2)
		if len(strict) != len(def) {
			t.Fatalf("repair changed spans: %v -> %v: %v vs %v", in, rep, def, strict)
		}
		for i := range def {
			if def[i] != strict[i] {
				t.Fatalf("repair changed spans: %v -> %v: %v vs %v", in, rep, def, strict)
			}
		}
		// A sequence that validates converts losslessly.
		for _, s := range Schemes {
			if Validate(in, s) != nil {
				continue
			}
			to, err := Convert(in, s, IOB2)
			if err != nil {
				t.Fatalf("convert valid %s %v: %v", s, in, err)
			}
			back, err := Convert(to, IOB2, s)
			if err != nil {
				t.Fatalf("convert back %v: %v", to, err)
			}
			for i := range in {
				if back[i] != in[i] {
					t.Fatalf("round trip %s: %v -> %v -> %v", s, in, to, back)
				}
			}
		}
	})
}
