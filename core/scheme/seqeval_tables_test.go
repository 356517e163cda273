package scheme

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Two-token behaviour of seqeval's strict decoding (Tokens(tokens,
// scheme).entities), one row per case as "tags => spans", with expectations
// taken from the parametrised cases of seqeval's tests/test_scheme.py
// (typed and untyped variants). "-" means no entity. Rows seqeval itself
// comments out as unsupported (IOE1 "I-PER E-PER") are absent.
var seqevalStrictTables = map[Scheme][]string{
	IOB1: {
		"=> -", "B-PER => -", "I-PER => PER:0-1", "O => -", "O I-PER => PER:1-2", "O B-PER => -",
		"I-PER O => PER:0-1", "I-PER I-PER => PER:0-2", "I-PER I-ORG => PER:0-1 ORG:1-2",
		"I-PER B-PER => PER:0-1 PER:1-2", "I-PER B-ORG => PER:0-1", "B-PER O => -",
		"B-PER I-PER => PER:1-2", "B-PER I-ORG => ORG:1-2", "B-PER B-PER => PER:1-2", "B-PER B-ORG => -",
		"B => -", "I => _:0-1", "O O => -", "O I => _:1-2", "O B => -", "I O => _:0-1", "I I => _:0-2",
		"I B => _:0-1 _:1-2", "B O => -", "B I => _:1-2", "B B => _:1-2",
	},
	IOB2: {
		"=> -", "B-PER => PER:0-1", "I-PER => -", "O => -", "O I-PER => -", "O B-PER => PER:1-2",
		"I-PER O => -", "I-PER I-PER => -", "I-PER I-ORG => -", "I-PER B-PER => PER:1-2",
		"I-PER B-ORG => ORG:1-2", "B-PER O => PER:0-1", "B-PER I-PER => PER:0-2", "B-PER I-ORG => PER:0-1",
		"B-PER B-PER => PER:0-1 PER:1-2", "B-PER B-ORG => PER:0-1 ORG:1-2",
		"B => _:0-1", "I => -", "O O => -", "O I => -", "O B => _:1-2", "I O => -", "I I => -",
		"I B => _:1-2", "B O => _:0-1", "B I => _:0-2", "B B => _:0-1 _:1-2",
	},
	IOE1: {
		"=> -", "E-PER => -", "I-PER => PER:0-1", "O => -", "O I-PER => PER:1-2", "O E-PER => -",
		"I-PER O => PER:0-1", "I-PER I-PER => PER:0-2", "I-PER I-ORG => PER:0-1 ORG:1-2",
		"I-PER E-ORG => PER:0-1", "E-PER O => -", "E-PER I-PER => PER:1-2", "E-PER I-ORG => ORG:1-2",
		"E-PER E-PER => -", "E-PER E-ORG => -",
		"E => -", "I => _:0-1", "O O => -", "O I => _:1-2", "O E => -", "I O => _:0-1", "I I => _:0-2",
		"E O => -", "E I => _:1-2", "E E => -",
	},
	IOE2: {
		"=> -", "E-PER => PER:0-1", "I-PER => -", "O => -", "O I-PER => -", "O E-PER => PER:1-2",
		"I-PER O => -", "I-PER I-PER => -", "I-PER I-ORG => -", "I-PER E-PER => PER:0-2",
		"I-PER E-ORG => ORG:1-2", "E-PER O => PER:0-1", "E-PER I-PER => PER:0-1", "E-PER I-ORG => PER:0-1",
		"E-PER E-PER => PER:0-1 PER:1-2", "E-PER E-ORG => PER:0-1 ORG:1-2",
		"E => _:0-1", "I => -", "O O => -", "O I => -", "O E => _:1-2", "I O => -", "I I => -",
		"I E => _:0-2", "E O => _:0-1", "E I => _:0-1", "E E => _:0-1 _:1-2",
	},
	IOBES: {
		"O => -", "I-PER => -", "B-PER => -", "E-PER => -", "S-PER => PER:0-1", "O O => -",
		"O I-PER => -", "O B-PER => -", "O E-PER => -", "O S-PER => PER:1-2", "I-PER O => -",
		"I-PER I-PER => -", "I-PER I-ORG => -", "I-PER B-PER => -", "I-PER E-PER => -", "I-PER E-ORG => -",
		"I-PER S-PER => PER:1-2", "B-PER O => -", "B-PER I-PER => -", "B-PER I-ORG => -", "B-PER B-PER => -",
		"B-PER E-PER => PER:0-2", "B-PER E-ORG => -", "B-PER S-PER => PER:1-2", "E-PER O => -",
		"E-PER I-PER => -", "E-PER B-PER => -", "E-PER E-PER => -", "E-PER S-PER => PER:1-2",
		"S-PER O => PER:0-1", "S-PER I-PER => PER:0-1", "S-PER B-PER => PER:0-1", "S-PER E-PER => PER:0-1",
		"S-PER S-PER => PER:0-1 PER:1-2",
		"B E => _:0-2", "B S => _:1-2", "S S => _:0-1 _:1-2", "I E => -", "E S => _:1-2",
	},
	BILOU: {
		"O => -", "I-PER => -", "B-PER => -", "L-PER => -", "U-PER => PER:0-1", "O U-PER => PER:1-2",
		"O L-PER => -", "I-PER U-PER => PER:1-2", "I-PER L-PER => -", "B-PER O => -", "B-PER I-PER => -",
		"B-PER L-PER => PER:0-2", "B-PER L-ORG => -", "B-PER U-PER => PER:1-2", "L-PER U-PER => PER:1-2",
		"L-PER L-PER => -", "U-PER O => PER:0-1", "U-PER I-PER => PER:0-1", "U-PER B-PER => PER:0-1",
		"U-PER L-PER => PER:0-1", "U-PER U-PER => PER:0-1 PER:1-2",
		"B L => _:0-2", "U U => _:0-1 _:1-2", "I L => -",
	},
}

func TestSeqevalStrictTables(t *testing.T) {
	for s, rows := range seqevalStrictTables {
		for _, row := range rows {
			in, want, ok := strings.Cut(row, "=>")
			if !ok {
				t.Fatalf("bad row %q", row)
			}
			want = strings.TrimSpace(want)
			if want == "-" {
				want = ""
			}
			assert.Equal(t, spans(t, want), Decode(tags(strings.TrimSpace(in)), Strict, s), "%s: %s", s, row)
		}
	}
}
