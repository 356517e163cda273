package tensor

import "sync/atomic"

// GemmSplitEnv selects how large matrix products use several threads:
// "go" (default) splits the output into row or column blocks, one per Go
// worker, each running a single-threaded OpenBLAS sgemm; "openblas" hands the
// whole product to OpenBLAS's own thread pool. The Go split blocks on a
// futex at its single join instead of spinning, which matters on a shared
// machine, and leaves no OpenBLAS helper thread spinning during the
// element-wise kernels: in this mode OpenBLAS itself is kept at one thread
// and all parallelism comes from the Go workers.
const GemmSplitEnv = "OPENMED_GEMM_SPLIT"

var goSplit atomic.Bool

// SetGoGemmSplit chooses the Go-level split (true) or OpenBLAS threading
// (false) for SgemmParallel, and sets OpenBLAS's thread count to match (1 or
// Threads()).
func SetGoGemmSplit(on bool) {
	goSplit.Store(on)
	stMu.Lock()
	if stDepth == 0 {
		setBLASThreads(blasThreadsFor(Threads()))
	}
	stMu.Unlock()
}

// blasThreadsFor is OpenBLAS's thread count for n openmed threads.
func blasThreadsFor(n int) int {
	if goSplit.Load() {
		return 1
	}
	return n
}

// minParallelFlops is the product size below which SgemmParallel runs on the
// calling goroutine.
const minParallelFlops = 1 << 22

// SgemmParallel is Sgemm for large products, parallel over Threads(): in
// the default Go-split mode the
// larger of m and n is split into contiguous blocks (multiples of 16), one
// per worker, each a single-threaded sgemm on an offset view (no copies). With
// SetGoGemmSplit(false) it calls Sgemm and lets OpenBLAS thread it.
func SgemmParallel(ta, tb Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	t := Threads()
	if t <= 1 || !goSplit.Load() || m*n*k < minParallelFlops {
		Sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	withSingleThreadedBLAS(func() {
		if m >= n {
			blocks := splitBlocks(m, t)
			ParallelChunks(blocks, func(_, lo, hi int) {
				r0, r1 := lo*16, min(hi*16, m)
				if r0 >= r1 {
					return
				}
				ao := r0 * lda
				if ta == Trans {
					ao = r0
				}
				Sgemm(ta, tb, r1-r0, n, k, alpha, a[ao:], lda, b, ldb, beta, c[r0*ldc:], ldc)
			})
			return
		}
		blocks := splitBlocks(n, t)
		ParallelChunks(blocks, func(_, lo, hi int) {
			c0, c1 := lo*16, min(hi*16, n)
			if c0 >= c1 {
				return
			}
			bo := c0
			if tb == Trans {
				bo = c0 * ldb
			}
			Sgemm(ta, tb, m, c1-c0, k, alpha, a, lda, b[bo:], ldb, beta, c[c0:], ldc)
		})
	})
}

// splitBlocks is the number of 16-wide blocks covering n.
func splitBlocks(n, _ int) int { return (n + 15) / 16 }
