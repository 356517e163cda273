package scheme

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The same five chunks in every scheme (Tjong Kim Sang & Veenstra 1999):
// X[0,2) X[2,3) Y[4,5) Y[5,8) X[9,10); the adjacent same-type pairs exercise
// IOB1's B and IOE1's E.
var sameSpansIn = map[Scheme]string{
	IOB2:  "B-X I-X B-X O B-Y B-Y I-Y I-Y O B-X",
	IOB1:  "I-X I-X B-X O I-Y B-Y I-Y I-Y O I-X",
	IOE1:  "I-X E-X I-X O E-Y I-Y I-Y I-Y O I-X",
	IOE2:  "I-X E-X E-X O E-Y I-Y I-Y E-Y O E-X",
	IOBES: "B-X E-X S-X O S-Y B-Y I-Y E-Y O S-X",
	BILOU: "B-X L-X U-X O U-Y B-Y I-Y L-Y O U-X",
}

func TestEncodeAndConvertTable(t *testing.T) {
	want := spans(t, "X:0-2 X:2-3 Y:4-5 Y:5-8 X:9-10")
	for from, fromTags := range sameSpansIn {
		got, err := Encode(want, 10, from)
		require.NoError(t, err)
		assert.Equal(t, tags(fromTags), got, "encode %s", from)
		assert.Equal(t, want, Decode(tags(fromTags), Default, from), "default decode %s", from)
		require.NoError(t, Validate(tags(fromTags), from), "%s", from)
		for to, toTags := range sameSpansIn {
			conv, err := Convert(tags(fromTags), from, to)
			require.NoError(t, err, "%s->%s", from, to)
			assert.Equal(t, tags(toTags), conv, "%s->%s", from, to)
		}
	}
}

func TestEncodeRejectsBadSpans(t *testing.T) {
	for name, sp := range map[string][]Span{
		"out of range": {{Type: "X", Start: 2, End: 4}},
		"negative":     {{Type: "X", Start: -1, End: 1}},
		"empty":        {{Type: "X", Start: 1, End: 1}},
		"overlap":      {{Type: "X", Start: 0, End: 2}, {Type: "Y", Start: 1, End: 3}},
		"unordered":    {{Type: "X", Start: 2, End: 3}, {Type: "Y", Start: 0, End: 1}},
	} {
		_, err := Encode(sp, 3, IOB2)
		assert.Error(t, err, name)
	}
	_, err := Encode(nil, 3, Scheme(0))
	assert.Error(t, err)
}

func TestValidate(t *testing.T) {
	cases := []struct {
		s     Scheme
		in    string
		index int // -1: valid
	}{
		{IOB2, "B-X I-X O B-Y", -1},
		{IOB2, "O I-X", 1},            // I after O
		{IOB2, "B-X I-Y", 1},          // I of another type
		{IOB2, "B-X E-X", 1},          // E not allowed in IOB2
		{IOB2, "B-X bogus", 1},        // malformed
		{IOB1, "B-X", 0},              // B must follow a same-type chunk
		{IOB1, "I-X B-X I-Y B-Y", -1}, // valid IOB1
		{IOE2, "I-X O", 0},            // chunk without E
		{IOE1, "E-X O", 0},            // E must precede a same-type chunk
		{IOBES, "B-X I-X O", 1},       // missing E
		{IOBES, "B-X", 0},             // single token must be S
		{BILOU, "U-X B-X L-X", -1},
		{BILOU, "S-X", 0}, // S is IOBES, not BILOU
		{IOB2, "B I O B", -1},
	}
	for _, c := range cases {
		err := Validate(tags(c.in), c.s)
		if c.index < 0 {
			assert.NoError(t, err, "%s %s", c.s, c.in)
			continue
		}
		var te *TagError
		require.ErrorAs(t, err, &te, "%s %s", c.s, c.in)
		assert.Equal(t, c.index, te.Index, "%s %s: %v", c.s, c.in, err)
	}
	_, err := Convert(tags("O I-X"), IOB2, IOBES)
	assert.Error(t, err)
}

func TestRepairIOB2(t *testing.T) {
	cases := []struct{ in, want string }{
		{"O I-X I-X O", "O B-X I-X O"},
		{"B-X I-Y I-Y", "B-X B-Y I-Y"},
		{"I-X I-Y", "B-X B-Y"},
		{"B-X I-X B-X", "B-X I-X B-X"},
		{"S-X B-X E-X", "B-X B-X I-X"},
		{"junk I-X", "O B-X"},
		{"I O I", "B O B"},
	}
	for _, c := range cases {
		got := RepairIOB2(tags(c.in))
		assert.Equal(t, tags(c.want), got, c.in)
		assert.NoError(t, Validate(got, IOB2))
	}
}

// randomSpans draws ordered disjoint spans over n tokens, often adjacent and of
// the same type, and sometimes untyped.
func randomSpans(r *rand.Rand, n int, untyped bool) []Span {
	types := []string{"A", "B", "Disease"}
	var out []Span
	for i := 0; i < n; {
		if r.IntN(3) == 0 {
			i++
			continue
		}
		l := 1 + r.IntN(4)
		if i+l > n {
			l = n - i
		}
		typ := types[r.IntN(len(types))]
		if untyped {
			typ = ""
		}
		out = append(out, Span{Type: typ, Start: i, End: i + l})
		i += l
	}
	return out
}

func TestRandomRoundTrips(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for iter := 0; iter < 3000; iter++ {
		n := r.IntN(25)
		want := randomSpans(r, n, iter%7 == 0)
		iob2, err := Encode(want, n, IOB2)
		require.NoError(t, err)
		for _, s := range Schemes {
			enc, err := Encode(want, n, s)
			require.NoError(t, err)
			require.NoError(t, Validate(enc, s), "%s %v", s, enc)
			require.Equal(t, want, Decode(enc, Default, s), "default %s %v", s, enc)
			if s != IOE1 { // seqeval's IOE1 strict decoding is incomplete (see strictCases)
				require.Equal(t, want, Decode(enc, Strict, s), "strict %s %v", s, enc)
			}
			conv, err := Convert(iob2, IOB2, s)
			require.NoError(t, err)
			require.Equal(t, enc, conv)
			back, err := Convert(conv, s, IOB2)
			require.NoError(t, err)
			require.Equal(t, iob2, back, "IOB2->%s->IOB2", s)
		}
	}
}

func TestParseSchemeAndMode(t *testing.T) {
	for _, s := range Schemes {
		got, err := ParseScheme(s.String())
		require.NoError(t, err)
		assert.Equal(t, s, got)
	}
	got, err := ParseScheme("bio")
	require.NoError(t, err)
	assert.Equal(t, IOB2, got)
	_, err = ParseScheme("IOBX")
	assert.Error(t, err)
	m, err := ParseMode("strict")
	require.NoError(t, err)
	assert.Equal(t, Strict, m)
	_, err = ParseMode("loose")
	assert.Error(t, err)
}
