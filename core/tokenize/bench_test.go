package tokenize

import (
	"path/filepath"
	"testing"
)

func benchEncode(b *testing.B, name string) {
	shared := sharedDir(b)
	tk := loadShared(b, shared, name)
	texts := readTexts(b, filepath.Join(shared, "tokenizers", "ref", "texts_corpus.jsonl"))[:2000]
	b.ResetTimer()
	tokens := 0
	for i := 0; i < b.N; i++ {
		e, err := tk.Encode(texts[i%len(texts)])
		if err != nil {
			b.Fatal(err)
		}
		tokens += e.Len()
	}
	b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tokens/s")
}

func BenchmarkEncodePubMedBERT(b *testing.B) { benchEncode(b, "pubmedbert-abstract") }
func BenchmarkEncodeDeBERTaV3(b *testing.B)  { benchEncode(b, "deberta-v3") }
