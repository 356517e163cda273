package scheme_test

import (
	"path/filepath"
	"testing"

	"github.com/openmed/openmed/core/corpus"
	"github.com/openmed/openmed/core/scheme"
	"github.com/stretchr/testify/require"
)

// TestRoundTripOnCorpora converts every NCBI-Disease, BC5CDR-Disease,
// BC5CDR-Chem and JNLPBA test sentence from IOB2 to every scheme and back,
// requiring identity, the same spans in both decoding modes and validity.
func TestRoundTripOnCorpora(t *testing.T) {
	data := filepath.Join(sharedDir(t), "data")
	for _, name := range []string{"NCBI-Disease", "BC5CDR-Disease", "BC5CDR-Chem", "JNLPBA"} {
		c, err := corpus.ReadFile(filepath.Join(data, name, "test.tsv"))
		require.NoError(t, err)
		sentences := 0
		for _, s := range c.Sentences {
			iob2 := s.Tags()
			require.NoError(t, scheme.Validate(iob2, scheme.IOB2), "%s:%d", c.Name, s.Line)
			want := scheme.Decode(iob2, scheme.Default, scheme.IOB2)
			for _, to := range scheme.Schemes {
				conv, err := scheme.Convert(iob2, scheme.IOB2, to)
				require.NoError(t, err, "%s:%d", c.Name, s.Line)
				require.NoError(t, scheme.Validate(conv, to))
				require.Equal(t, want, scheme.Decode(conv, scheme.Default, to), "%s:%d %s", c.Name, s.Line, to)
				if to != scheme.IOE1 {
					require.Equal(t, want, scheme.Decode(conv, scheme.Strict, to), "%s:%d %s strict", c.Name, s.Line, to)
				}
				back, err := scheme.Convert(conv, to, scheme.IOB2)
				require.NoError(t, err)
				require.Equal(t, iob2, back, "%s:%d IOB2->%s->IOB2", c.Name, s.Line, to)
			}
			sentences++
		}
		require.Equal(t, len(c.Sentences), sentences)
		require.NotZero(t, sentences)
	}
}
