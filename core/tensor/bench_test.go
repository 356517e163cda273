package tensor

import "testing"

func benchGemm(b *testing.B, m, n, k int, split bool) {
	a := make([]float32, m*k)
	w := make([]float32, n*k)
	c := make([]float32, m*n)
	for i := range a {
		a[i] = float32(i%7) * 0.1
	}
	for i := range w {
		w[i] = float32(i%5) * 0.1
	}
	b.ResetTimer()
	for it := 0; it < b.N; it++ {
		if !split {
			Sgemm(NoTrans, Trans, m, n, k, 1, a, k, w, k, 0, c, n)
			continue
		}
		WithSingleThreadedBLAS(func() {
			ParallelChunks(m, func(_, lo, hi int) {
				Sgemm(NoTrans, Trans, hi-lo, n, k, 1, a[lo*k:], k, w, k, 0, c[lo*n:], n)
			})
		})
	}
	b.ReportMetric(2*float64(m)*float64(n)*float64(k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

func BenchmarkGemmFFN(b *testing.B)      { benchGemm(b, 1024, 3072, 768, false) }
func BenchmarkGemmFFNSplit(b *testing.B) { benchGemm(b, 1024, 3072, 768, true) }
func BenchmarkGemm2048(b *testing.B)     { benchGemm(b, 2048, 2048, 2048, false) }
func BenchmarkGemm2048Split(b *testing.B) {
	benchGemm(b, 2048, 2048, 2048, true)
}
