package scheme

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Cases from seqeval's auto_detect documentation and tests: valid prefix
// combinations per scheme, and {I, O} / unknown prefixes rejected.
func TestDetect(t *testing.T) {
	valid := map[string]Scheme{
		"B I O": IOB2, "B I": IOB2, "B O": IOB2, "B": IOB2,
		"I O E": IOE2, "I E": IOE2, "E O": IOE2, "E": IOE2,
		"I O B E S": IOBES, "I B E S": IOBES, "I O B E": IOBES, "O B E S": IOBES,
		"I B E": IOBES, "B E S": IOBES, "O B E": IOBES, "B E": IOBES, "S": IOBES,
		"I O B L U": BILOU, "I B L U": BILOU, "I O B L": BILOU, "O B L U": BILOU,
		"I B L": BILOU, "B L U": BILOU, "O B L": BILOU, "B L": BILOU, "U": BILOU,
		"B-Disease I-Disease O": IOB2,
	}
	for in, want := range valid {
		got, err := Detect([][]string{tags(in)})
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"I O", "O S", "H", "B S", "B E L"} {
		_, err := Detect([][]string{tags(in)})
		assert.Error(t, err, in)
	}
	// Prefixes are pooled over all sentences.
	got, err := Detect([][]string{tags("O O"), tags("B-X I-X")})
	require.NoError(t, err)
	assert.Equal(t, IOB2, got)
}
