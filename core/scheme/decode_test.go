package scheme

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tags splits a space-separated tag string.
func tags(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Fields(s)
}

// spans parses "X:0-2 Y:3-4" (half-open) into spans; "_" is the untyped type.
func spans(t *testing.T, s string) []Span {
	t.Helper()
	var out []Span
	for _, f := range strings.Fields(s) {
		colon := strings.LastIndexByte(f, ':')
		require.Positive(t, colon, f)
		var sp Span
		sp.Type = f[:colon]
		if sp.Type == "_" {
			sp.Type = ""
		}
		var a, b int
		_, err := fmtSscanf(f[colon+1:], &a, &b)
		require.NoError(t, err, f)
		sp.Start, sp.End = a, b
		out = append(out, sp)
	}
	return out
}

type decodeCase struct {
	rule string // the seqeval rule the case exercises
	in   string
	want string
}

// Expected spans are written by hand from seqeval's get_entities
// (sequence_labeling.py: end_of_chunk / start_of_chunk), whose chunk ends are
// inclusive; here they are half-open.
var defaultCases = []decodeCase{
	{"get_entities docstring example", "B-PER I-PER O B-LOC", "PER:0-2 LOC:3-4"},
	{"empty sequence", "", ""},
	{"all O", "O O O", ""},
	{"I-X after O starts an entity (O,I start)", "O I-PER I-PER O", "PER:1-3"},
	{"I-X at sentence start starts an entity", "I-PER O", "PER:0-1"},
	{"type change ends and starts (prev_type != type)", "B-PER I-LOC O", "PER:0-1 LOC:1-2"},
	{"I-X then I-Y: two entities", "I-A I-B", "A:0-1 B:1-2"},
	{"B after B ends the first (B,B)", "B-PER B-PER", "PER:0-1 PER:1-2"},
	{"B after I ends the first (I,B)", "B-X I-X B-X", "X:0-2 X:2-3"},
	{"entity at the end is closed by the virtual O", "O B-X I-X", "X:1-3"},
	{"interleaved types", "B-X I-X B-Y I-Y I-X", "X:0-2 Y:2-4 X:4-5"},
	{"E closes: B E then I starts anew (prev E ends, (E,I) starts)", "B-X E-X I-X", "X:0-2 X:2-3"},
	{"S is a single-token chunk; S S is two", "S-X S-X", "X:0-1 X:1-2"},
	{"E after O starts; E after E starts again", "E-X E-X", "X:0-1 X:1-2"},
	{"B then S: (B,S) ends, S starts", "B-X S-X", "X:0-1 X:1-2"},
	{"S then I: S ends, (S,I) starts", "S-X I-X", "X:0-1 X:1-2"},
	{"I I E E: IOE2-style", "I-X E-X E-X", "X:0-2 X:2-3"},
	{"B I E: IOBES chunk", "B-X I-X E-X O S-Y", "X:0-3 Y:4-5"},
	{"B I without E still an entity in default mode", "B-X I-X O", "X:0-2"},
	{"E-Y after B-X: type change ends X, E-Y starts Y", "B-X E-Y", "X:0-1 Y:1-2"},
	{"E then B", "E-X B-X", "X:0-1 X:1-2"},
	{"untyped tags (S800)", "B I O I B", "_:0-2 _:3-4 _:4-5"},
	{"typed then untyped: type change", "B-X I", "X:0-1 _:1-2"},
	{"malformed tags read as O", "B-X foo I-X B- O-X", "X:0-1 X:2-3"},
	{"BILOU read as IOBES (L=E, U=S)", "B-X L-X U-X O U-Y", "X:0-2 X:2-3 Y:4-5"},
	{"type with hyphen keeps everything after the first hyphen", "B-DNA-family I-DNA-family", "DNA-family:0-2"},
}

func TestDecodeDefault(t *testing.T) {
	for _, c := range defaultCases {
		t.Run(c.rule, func(t *testing.T) {
			got := Decode(tags(c.in), Default, IOB2)
			assert.Equal(t, spans(t, c.want), got, "%s", c.in)
			// Default mode ignores the scheme.
			for _, s := range Schemes {
				assert.Equal(t, got, Decode(tags(c.in), Default, s), "%s with %s", c.in, s)
			}
		})
	}
}

type strictCase struct {
	rule   string
	scheme Scheme
	in     string
	want   string
}

// Expected spans follow seqeval's scheme.py pattern tables and the
// Tokens.entities loop (start pattern, extend through inside patterns, keep
// only if the next token matches an end pattern).
var strictCases = []strictCase{
	{"IOB2: I after O never starts (seqeval README strict example)", IOB2, "I-PER I-PER O", ""},
	{"IOB2: docstring example", IOB2, "B-PER I-PER O B-LOC", "PER:0-2 LOC:3-4"},
	{"IOB2: B-X I-Y keeps X via (B,I,DIFF), I-Y dropped", IOB2, "B-X I-Y", "X:0-1"},
	{"IOB2: stray I of another type ends X, is not an entity", IOB2, "B-X I-X I-Y I-X", "X:0-2"},
	{"IOB2: B B (B,B,ANY) ends", IOB2, "B-X B-X B-Y", "X:0-1 X:1-2 Y:2-3"},
	{"IOB2: E is not an IOB2 prefix (read as O)", IOB2, "B-X E-X", "X:0-1"},
	{"IOB2: untyped", IOB2, "B I O B", "_:0-2 _:3-4"},
	{"IOBES: B I E", IOBES, "B-X I-X E-X", "X:0-3"},
	{"IOBES: S", IOBES, "O S-X O", "X:1-2"},
	{"IOBES: B I without E is dropped (end needs S or E before)", IOBES, "B-X I-X O", ""},
	{"IOBES: B E-Y type mismatch dropped", IOBES, "B-X E-Y", ""},
	{"IOBES: I E without B has no start", IOBES, "I-X E-X", ""},
	{"IOBES: B then S: B dropped, S kept", IOBES, "B-X S-X", "X:1-2"},
	{"IOBES: adjacent chunks", IOBES, "S-X B-X E-X S-Y", "X:0-1 X:1-3 Y:3-4"},
	{"BILOU: U B L", BILOU, "U-X B-Y L-Y", "X:0-1 Y:1-3"},
	{"BILOU: B I without L dropped", BILOU, "B-X I-X O U-X", "X:3-4"},
	{"IOE2: I E E", IOE2, "I-X E-X E-X", "X:0-2 X:2-3"},
	{"IOE2: I I O without E dropped", IOE2, "I-X I-X O", ""},
	{"IOE2: E after O is a single-token chunk", IOE2, "O E-X", "X:1-2"},
	{"IOB1: I I B I (B marks a same-type chunk start)", IOB1, "I-X I-X B-X I-X", "X:0-2 X:2-4"},
	{"IOB1: B after O is not a start", IOB1, "B-X O", ""},
	{"IOB1: type change I-X I-Y", IOB1, "I-X I-Y", "X:0-1 Y:1-2"},
	{"IOE1: I E I", IOE1, "I-X E-X I-X", "X:0-2 X:2-3"},
	// seqeval marks IOE1 as incomplete ("hasn't yet been able to handle some
	// cases"): (O,E) is not a start pattern, so a leading single-token E
	// chunk is lost. Strict mode reproduces seqeval.
	{"IOE1: seqeval drops a leading E-X", IOE1, "E-X I-X", "X:1-2"},
}

func TestDecodeStrict(t *testing.T) {
	for _, c := range strictCases {
		t.Run(c.rule, func(t *testing.T) {
			assert.Equal(t, spans(t, c.want), Decode(tags(c.in), Strict, c.scheme), "%s", c.in)
		})
	}
}

func TestDecodeStrictDiffersFromDefaultOnIAfterO(t *testing.T) {
	in := tags("O I-Disease I-Disease O B-Disease")
	assert.Equal(t, spans(t, "Disease:1-3 Disease:4-5"), Decode(in, Default, IOB2))
	assert.Equal(t, spans(t, "Disease:4-5"), Decode(in, Strict, IOB2))
}
