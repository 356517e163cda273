package tensor

/*
#cgo CFLAGS: -O3
#cgo LDFLAGS: -ldl
#include <stdlib.h>
#include "bf16.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"
)

// BF16CPU reports the CPU's bf16 matrix features: AVX512-BF16 (vdpbf16ps)
// and AMX-BF16 (tile matrix multiply, Sapphire Rapids and later).
func BF16CPU() (avx512bf16, amxbf16 bool) {
	f := int(C.om_bf16_cpu())
	return f&1 != 0, f&2 != 0
}

var (
	bf16Once sync.Once
	bf16Err  error
)

// BF16Available returns nil when the BF16 precision can run here: the CPU
// has AVX512-BF16 (or AMX-BF16) and oneDNN 2.x loads (libdnnl.so.2, Debian
// package libdnnl2, which `make setup` installs). Otherwise the error says
// which is missing.
func BF16Available() error {
	bf16Once.Do(func() {
		avx, amx := BF16CPU()
		if !avx && !amx {
			bf16Err = errors.New("bf16 precision needs a CPU with AVX512-BF16 or AMX-BF16 (this one has neither; use fp32)")
			return
		}
		var buf [256]C.char
		if C.om_bf16_load(&buf[0], C.int(len(buf))) != 0 {
			bf16Err = errors.New(C.GoString(&buf[0]))
		}
	})
	return bf16Err
}

// ToBF16 rounds src to bfloat16 (round to nearest even), the rounding the
// BF16 precision applies to GEMM operands; dst must be as long as src.
func ToBF16(dst []uint16, src []float32) {
	if len(src) == 0 {
		return
	}
	C.om_f32_to_bf16((*C.uint16_t)(unsafe.Pointer(&dst[:len(src)][0])), fptr(src), 1, C.long(len(src)), C.long(len(src)))
}

// FromBF16 widens bfloat16 values to float32 (exact).
func FromBF16(dst []float32, src []uint16) {
	if len(src) == 0 {
		return
	}
	C.om_bf16_to_f32(fptr(dst[:len(src)]), (*C.uint16_t)(unsafe.Pointer(&src[0])), C.long(len(src)))
}

// mmKey identifies one oneDNN matmul primitive (batch dims b0×b1 — 0 for a
// plain product —, shapes, operand strides, alpha and beta are baked into it).
type mmKey struct {
	b0, b1, m, n, k int
	sa, sb, sc      Strides4
	alpha, beta     float32
}

// Strides4 addresses a [d0, d1, rows, cols] view: element (i, j, r, c) sits
// at i·s[0] + j·s[1] + r·s[2] + c·s[3]. Plain products use s[2] and s[3].
type Strides4 [4]int

// maxCachedPrimitives bounds the primitive cache: beyond it, products of new
// shapes build a primitive per call and free it after.
const maxCachedPrimitives = 1024

var (
	mmMu    sync.Mutex
	mmCache = map[mmKey]*C.om_mm{}
)

// primitive returns the cached primitive for key, or a new one (cached
// while the cache has room; owned reports that the caller must free it).
func primitive(key mmKey) (mm *C.om_mm, owned bool) {
	mmMu.Lock()
	defer mmMu.Unlock()
	if p, ok := mmCache[key]; ok {
		return p, false
	}
	var impl, msg [256]C.char
	var sa, sb, sc [4]C.long
	for i := range sa {
		sa[i], sb[i], sc[i] = C.long(key.sa[i]), C.long(key.sb[i]), C.long(key.sc[i])
	}
	p := C.om_bf16_mm_create(C.long(key.b0), C.long(key.b1), C.long(key.m), C.long(key.n), C.long(key.k),
		&sa[0], &sb[0], &sc[0], C.float(key.alpha), C.float(key.beta),
		&impl[0], C.int(len(impl)), &msg[0], C.int(len(msg)))
	if p == nil {
		// oneDNN supports every plain-strided bf16 matmul; failing here is
		// an engine bug, not user input.
		panic("tensor.GemmBF16: " + C.GoString(&msg[0]))
	}
	if len(mmCache) < maxCachedPrimitives {
		mmCache[key] = p
		lastImpl = C.GoString(&impl[0])
		return p, false
	}
	return p, true
}

// lastImpl is oneDNN's implementation name of the last primitive cached
// (BF16Kernel).
var lastImpl string

// BF16Kernel names oneDNN's kernel for the last bf16 product it built, e.g.
// "brg:avx512_core_amx_bf16" on AMX hardware; "" before any.
func BF16Kernel() string {
	mmMu.Lock()
	defer mmMu.Unlock()
	return lastImpl
}

// bf16Pool recycles the operands' bf16 copies.
var bf16Pool sync.Pool

func getBF16(n int) *[]uint16 {
	if p, ok := bf16Pool.Get().(*[]uint16); ok && cap(*p) >= n {
		*p = (*p)[:n]
		return p
	}
	s := make([]uint16, n)
	return &s
}

// toBF16Dense converts a stored rows×cols matrix with row stride ld into a
// dense bf16 copy, rows split over the worker threads.
func toBF16Dense(dst []uint16, src []float32, rows, cols, ld int) {
	Parallel(rows, max(1, (1<<16)/max(cols, 1)), func(lo, hi int) {
		C.om_f32_to_bf16((*C.uint16_t)(unsafe.Pointer(&dst[lo*cols])), fptr(src[lo*ld:]), C.long(hi-lo), C.long(cols), C.long(ld))
	})
}

// GemmBF16 is Sgemm with both operands rounded to bfloat16 and products
// accumulated in fp32 by oneDNN (AMX or AVX512-BF16 kernels): the stored
// operands are converted to dense bf16 copies, then the larger of m and n
// is split into blocks of 16 over the worker threads, one single-threaded
// oneDNN primitive each (as SgemmParallel splits OpenBLAS). It panics when
// BF16Available fails; callers select it through SetPrecision.
func GemmBF16(ta, tb Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if !gemmArgs("tensor.GemmBF16", ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc) {
		return
	}
	br, bc := k, n
	if tb == Trans {
		br, bc = n, k
	}
	bp := getBF16(br * bc)
	defer bf16Pool.Put(bp)
	toBF16Dense(*bp, b, br, bc, ldb)
	gemmBF16(ta, tb, m, n, k, alpha, a, lda, *bp, beta, c, ldc)
}

// GemmBF16Packed is GemmBF16 with B already in bf16: the dense stored matrix
// (k×n, or n×k when tb is Trans) that ToBF16 makes of it. A layer whose
// weight does not change (inference) converts it once and skips the
// per-call conversion, which costs as much as the product at small batches.
func GemmBF16Packed(ta, tb Transpose, m, n, k int, alpha float32, a []float32, lda int, b []uint16, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 || k == 0 {
		GemmBF16(ta, tb, m, n, k, alpha, a, lda, nil, max(n, 1), beta, c, ldc)
		return
	}
	if len(b) < k*n {
		panic(fmt.Sprintf("tensor.GemmBF16Packed: packed B of %dx%d needs %d values, has %d", k, n, k*n, len(b)))
	}
	ar, ac := m, k
	if ta == Trans {
		ar, ac = k, m
	}
	checkGemmOperand("tensor.GemmBF16Packed", "A", len(a), ar, ac, lda)
	checkGemmOperand("tensor.GemmBF16Packed", "C", len(c), m, n, ldc)
	gemmBF16(ta, tb, m, n, k, alpha, a, lda, b, beta, c, ldc)
}

// gemmBF16 converts A and runs the split products on dense bf16 B (bb).
func gemmBF16(ta, tb Transpose, m, n, k int, alpha float32, a []float32, lda int, bb []uint16, beta float32, c []float32, ldc int) {
	if err := BF16Available(); err != nil {
		panic(fmt.Sprintf("tensor.GemmBF16: %v", err))
	}
	ar, ac := m, k
	sa0, sa1 := k, 1
	if ta == Trans {
		ar, ac = k, m
		sa0, sa1 = 1, m
	}
	sb0, sb1 := n, 1
	if tb == Trans {
		sb0, sb1 = 1, k
	}
	ap := getBF16(ar * ac)
	defer bf16Pool.Put(ap)
	ab := *ap
	toBF16Dense(ab, a, ar, ac, lda)
	run := func(m0, m1, n0, n1 int) {
		key := mmKey{m: m1 - m0, n: n1 - n0, k: k, sa: Strides4{0, 0, sa0, sa1}, sb: Strides4{0, 0, sb0, sb1},
			sc: Strides4{0, 0, ldc, 1}, alpha: alpha, beta: beta}
		mm, owned := primitive(key)
		if owned {
			defer C.om_bf16_mm_destroy(mm)
		}
		st := C.om_bf16_mm_exec(mm, (*C.uint16_t)(unsafe.Pointer(&ab[m0*sa0])), (*C.uint16_t)(unsafe.Pointer(&bb[n0*sb1])),
			fptr(c[m0*ldc+n0:]))
		if st != 0 {
			panic(fmt.Sprintf("tensor.GemmBF16: oneDNN matmul %dx%dx%d failed (status %d)", key.m, key.n, k, int(st)))
		}
	}
	t := Threads()
	if t <= 1 || m*n*k < minParallelFlops {
		run(0, m, 0, n)
		return
	}
	if m >= n {
		ParallelChunks(splitBlocks(m, t), func(_, lo, hi int) {
			if r0, r1 := lo*16, min(hi*16, m); r0 < r1 {
				run(r0, r1, 0, n)
			}
		})
		return
	}
	ParallelChunks(splitBlocks(n, t), func(_, lo, hi int) {
		if c0, c1 := lo*16, min(hi*16, n); c0 < c1 {
			run(0, m, c0, c1)
		}
	})
}

// GemmBF16Batched computes, for every (i, j) of a d0×d1 batch,
// C[i,j] = alpha·A[i,j]·B[i,j] + beta·C[i,j], with A[i,j] m×k and B[i,j]
// k×n already in bfloat16 and C in fp32, each operand addressed by its
// Strides4 — so the heads inside [tokens, hidden] activations and
// transposed operands need no copies. It is attention's per-(sequence,
// head) products as one oneDNN call per worker: d0 is split over the
// worker threads. It panics when an operand is too short for its view.
func GemmBF16Batched(d0, d1, m, n, k int, alpha float32, a []uint16, sa Strides4, b []uint16, sb Strides4, beta float32, c []float32, sc Strides4) {
	if d0 == 0 || d1 == 0 || m == 0 || n == 0 || k == 0 {
		if k == 0 && d0 > 0 && d1 > 0 && m > 0 && n > 0 {
			panic("tensor.GemmBF16Batched: k = 0")
		}
		return
	}
	checkView := func(name string, have int, rows, cols int, s Strides4) {
		last := (d0-1)*s[0] + (d1-1)*s[1] + (rows-1)*s[2] + (cols-1)*s[3]
		if last >= have {
			panic(fmt.Sprintf("tensor.GemmBF16Batched: operand %s of %dx%dx%dx%d (strides %v) needs %d values, has %d", name, d0, d1, rows, cols, s, last+1, have))
		}
	}
	checkView("A", len(a), m, k, sa)
	checkView("B", len(b), k, n, sb)
	checkView("C", len(c), m, n, sc)
	if err := BF16Available(); err != nil {
		panic(fmt.Sprintf("tensor.GemmBF16Batched: %v", err))
	}
	run := func(lo, hi int) {
		key := mmKey{b0: hi - lo, b1: d1, m: m, n: n, k: k, sa: sa, sb: sb, sc: sc, alpha: alpha, beta: beta}
		mm, owned := primitive(key)
		if owned {
			defer C.om_bf16_mm_destroy(mm)
		}
		st := C.om_bf16_mm_exec(mm, (*C.uint16_t)(unsafe.Pointer(&a[lo*sa[0]])), (*C.uint16_t)(unsafe.Pointer(&b[lo*sb[0]])),
			fptr(c[lo*sc[0]:]))
		if st != 0 {
			panic(fmt.Sprintf("tensor.GemmBF16Batched: oneDNN matmul %dx%dx(%dx%dx%d) failed (status %d)", hi-lo, d1, m, n, k, int(st)))
		}
	}
	if Threads() <= 1 || d0 == 1 {
		run(0, d0)
		return
	}
	ParallelChunks(d0, func(_, lo, hi int) {
		if lo < hi {
			run(lo, hi)
		}
	})
}

// ToBF16Parallel is ToBF16 split over the worker threads.
func ToBF16Parallel(dst []uint16, src []float32) {
	if len(src) == 0 {
		return
	}
	Parallel(len(src), 1<<16, func(lo, hi int) {
		C.om_f32_to_bf16((*C.uint16_t)(unsafe.Pointer(&dst[lo])), fptr(src[lo:]), 1, C.long(hi-lo), C.long(hi-lo))
	})
}
