package corpus_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/openmed/openmed/core/corpus"
)

// FuzzReader feeds arbitrary bytes to the reader: it must never panic, must
// either fail with a file:line error or return non-empty sentences of valid
// tags, and whatever it reads must survive a Write/Read round trip.
func FuzzReader(f *testing.F) {
	f.Add([]byte("a\tO\nb\tB-X\n\nc\tI-X\n"))
	f.Add([]byte("\xef\xbb\xbf-DOCSTART-\tO\r\n\r\nx y\tB\r\nz\tI\tNN"))
	f.Add([]byte("a\n"))
	f.Add([]byte("a\tB-\n"))
	f.Add([]byte("\n\n\t\n  \n"))
	f.Add([]byte("a\tO\xff\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := corpus.Read(bytes.NewReader(data), "fuzz.tsv")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.tsv:") {
				t.Fatalf("error without file:line: %v", err)
			}
			return
		}
		for k, s := range c.Sentences {
			if len(s.Tokens) == 0 || s.Line < 1 {
				t.Fatalf("sentence %d empty or without line: %+v", k, s)
			}
		}
		var buf bytes.Buffer
		if err := corpus.Write(&buf, c.Sentences); err != nil {
			t.Fatalf("cannot write what was read: %v\ninput %q", err, data)
		}
		back, err := corpus.Read(bytes.NewReader(buf.Bytes()), "round")
		if err != nil {
			t.Fatalf("cannot re-read: %v\n%q", err, buf.String())
		}
		if len(back.Sentences) != len(c.Sentences) {
			t.Fatalf("round trip changed sentence count %d -> %d", len(c.Sentences), len(back.Sentences))
		}
		for k := range c.Sentences {
			a, b := c.Sentences[k], back.Sentences[k]
			if a.Doc != b.Doc || len(a.Tokens) != len(b.Tokens) {
				t.Fatalf("sentence %d changed: %+v -> %+v", k, a, b)
			}
			for i := range a.Tokens {
				x, y := a.Tokens[i], b.Tokens[i]
				if x.Text != y.Text || x.Tag != y.Tag || strings.Join(x.Extra, "\t") != strings.Join(y.Extra, "\t") || len(x.Extra) != len(y.Extra) {
					t.Fatalf("token %d.%d changed: %+v -> %+v", k, i, x, y)
				}
			}
		}
	})
}
