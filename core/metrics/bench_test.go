package metrics

import (
	"path/filepath"
	"testing"

	"github.com/openmed/openmed/core/corpus"
)

func ncbiPair(b *testing.B) (gold, good, bad [][]string) {
	c, err := corpus.ReadFile(filepath.Join(sharedDir(b), "data", "NCBI-Disease", "test.tsv"))
	if err != nil {
		b.Fatal(err)
	}
	gold = c.Tags()
	return gold, degrade(b, gold, 20, 0, 25), degrade(b, gold, 4, 1, 7)
}

// BenchmarkApproximateRandomization: 10 000 shuffles on NCBI-Disease test
// (940 sentences, 960 entities).
func BenchmarkApproximateRandomization(b *testing.B) {
	gold, good, bad := ncbiPair(b)
	b.ResetTimer()
	for range b.N {
		if _, err := ApproximateRandomization(gold, good, bad); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBootstrapDiff: 10 000 paired resamples on NCBI-Disease test.
func BenchmarkBootstrapDiff(b *testing.B) {
	gold, good, bad := ncbiPair(b)
	b.ResetTimer()
	for range b.N {
		if _, err := BootstrapDiff(gold, good, bad); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEvaluate: full report on NCBI-Disease test.
func BenchmarkEvaluate(b *testing.B) {
	gold, good, _ := ncbiPair(b)
	b.ResetTimer()
	for range b.N {
		if _, err := Evaluate(gold, good); err != nil {
			b.Fatal(err)
		}
	}
}
