package tensor

import (
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
)

// ThreadsEnv is the environment variable that sets the number of threads used
// by both OpenBLAS and openmed's Go kernels (default: the number of CPUs).
const ThreadsEnv = "OPENMED_THREADS"

var (
	poolMu  sync.Mutex
	threads int // guarded by poolMu; workers started so far
	active  atomic.Int32
	tasks   chan task
)

type task struct {
	fn     func(lo, hi int)
	lo, hi int
	wg     *sync.WaitGroup
}

func init() {
	fixCoreType() // before any BLAS call
	goSplit.Store(os.Getenv(GemmSplitEnv) != "openblas")
	n := runtime.NumCPU()
	if s := os.Getenv(ThreadsEnv); s != "" {
		if v, err := strconv.Atoi(s); err == nil && v > 0 {
			n = v
		}
	}
	SetThreads(n)
}

// SetThreads sets the thread count of OpenBLAS (openblas_set_num_threads) and
// of the Go worker pool in one place. Values below 1 mean 1. It is the only
// place that changes the count; OPENMED_THREADS sets it at start-up. In the
// default Go-split GEMM mode (see GemmSplitEnv) OpenBLAS runs single-threaded
// and large products are split over the n Go workers by SgemmParallel.
func SetThreads(n int) {
	if n < 1 {
		n = 1
	}
	poolMu.Lock()
	defer poolMu.Unlock()
	stMu.Lock()
	if stDepth == 0 {
		setBLASThreads(blasThreadsFor(n))
	}
	stMu.Unlock()
	if n > threads {
		if tasks == nil {
			tasks = make(chan task, 256)
		}
		for i := threads; i < n; i++ {
			go worker()
		}
	}
	threads = max(threads, n)
	active.Store(int32(n))
}

// Threads is the current thread count (see SetThreads).
func Threads() int { return int(active.Load()) }

func worker() {
	for t := range tasks {
		t.fn(t.lo, t.hi)
		t.wg.Done()
	}
}

var wgPool = sync.Pool{New: func() any { return new(sync.WaitGroup) }}

// Parallel runs fn over [0, n) split into contiguous chunks, one per thread,
// on the worker pool, and returns when all are done. Work below minPerChunk
// items per chunk runs inline (no goroutine hand-off), so small tensors do
// not pay scheduling costs. fn must be safe to run concurrently on disjoint
// ranges.
func Parallel(n, minPerChunk int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	t := int(active.Load())
	if minPerChunk < 1 {
		minPerChunk = 1
	}
	if c := n / minPerChunk; c < t {
		t = c
	}
	if t <= 1 {
		fn(0, n)
		return
	}
	wg := wgPool.Get().(*sync.WaitGroup)
	chunk := (n + t - 1) / t
	wg.Add(t - 1)
	lo := chunk
	for i := 1; i < t; i++ {
		hi := min(lo+chunk, n)
		tasks <- task{fn: fn, lo: lo, hi: hi, wg: wg}
		lo = hi
	}
	fn(0, min(chunk, n))
	wg.Wait()
	wgPool.Put(wg)
}

// WithSingleThreadedBLAS runs fn with OpenBLAS limited to one thread, so fn
// may call Sgemm from several Go workers at once (e.g. attention over
// batch×heads, each product too small to be worth splitting). Regions may
// overlap across goroutines: a counter keeps OpenBLAS single-threaded until
// the last one ends, then restores its configured count.
func WithSingleThreadedBLAS(fn func()) { withSingleThreadedBLAS(fn) }

func withSingleThreadedBLAS(fn func()) {
	if Threads() <= 1 || goSplit.Load() {
		fn() // OpenBLAS is already single-threaded
		return
	}
	stMu.Lock()
	if stDepth == 0 {
		setBLASThreads(1)
	}
	stDepth++
	stMu.Unlock()
	defer func() {
		stMu.Lock()
		stDepth--
		if stDepth == 0 {
			setBLASThreads(blasThreadsFor(Threads()))
		}
		stMu.Unlock()
	}()
	fn()
}

var (
	stMu    sync.Mutex
	stDepth int
)

// ParallelChunks splits [0, n) into at most Threads() contiguous chunks and
// runs fn(chunk, lo, hi) for each on the worker pool; chunk < Threads()
// indexes per-worker scratch buffers.
func ParallelChunks(n int, fn func(chunk, lo, hi int)) {
	if n <= 0 {
		return
	}
	t := min(int(active.Load()), n)
	if t <= 1 {
		fn(0, 0, n)
		return
	}
	chunk := (n + t - 1) / t
	Parallel(t, 1, func(clo, chi int) {
		for c := clo; c < chi; c++ {
			lo := c * chunk
			hi := min(lo+chunk, n)
			if lo < hi {
				fn(c, lo, hi)
			}
		}
	})
}
