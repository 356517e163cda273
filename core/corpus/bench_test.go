package corpus_test

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/openmed/openmed/core/corpus"
)

// BenchmarkReaderJNLPBATrain streams JNLPBA train.tsv (4.4 MB, 446k lines)
// sentence by sentence; SetBytes makes `go test -bench` report MB/s.
func BenchmarkReaderJNLPBATrain(b *testing.B) {
	path := filepath.Join(sharedDir(b), "data", "JNLPBA", "train.tsv")
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(fi.Size())
	b.ReportAllocs()
	for range b.N {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		r := corpus.NewReader(f, path)
		n := 0
		for {
			s, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n += len(s.Tokens)
		}
		f.Close()
		if n != 445090 {
			b.Fatalf("read %d tokens, want 445090", n)
		}
	}
}
