package tensor

/*
#cgo LDFLAGS: -lopenblas
#include <cblas.h>
#include <stdlib.h>
#include <string.h>
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
char *openblas_get_corename(void);
// Present only in DYNAMIC_ARCH builds (Debian's); weak so other builds link.
extern void gotoblas_dynamic_init(void) __attribute__((weak));
extern void gotoblas_dynamic_quit(void) __attribute__((weak));

// openmed_fix_coretype re-selects OpenBLAS's kernels when DYNAMIC_ARCH fell
// back to the generic "Prescott" (SSE3) core on a CPU it does not know (e.g.
// Sapphire Rapids under a hypervisor in OpenBLAS 0.3.21), which costs ~10x
// in SGEMM. It honours an explicit OPENBLAS_CORETYPE and returns 1 when it
// switched.
static int openmed_fix_coretype(void) {
	const char *cn = openblas_get_corename();
	const char *want = NULL;
	if (getenv("OPENBLAS_CORETYPE") != NULL || cn == NULL || strcmp(cn, "Prescott") != 0) return 0;
	if (gotoblas_dynamic_init == NULL || gotoblas_dynamic_quit == NULL) return 0;
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
	    __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq")) {
		want = "SkylakeX";
	} else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
		want = "Haswell";
	} else if (__builtin_cpu_supports("avx")) {
		want = "Sandybridge";
	}
	if (want == NULL) return 0;
	setenv("OPENBLAS_CORETYPE", want, 0);
	gotoblas_dynamic_quit();
	gotoblas_dynamic_init();
	return 1;
}
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// Transpose says whether a matrix operand of Sgemm is used as stored (NoTrans)
// or transposed (Trans), following the BLAS TRANSA/TRANSB arguments.
type Transpose int

const (
	// NoTrans uses the operand as stored.
	NoTrans Transpose = iota
	// Trans uses the transpose of the stored operand.
	Trans
)

func (t Transpose) cblas() C.enum_CBLAS_TRANSPOSE {
	if t == Trans {
		return C.CblasTrans
	}
	return C.CblasNoTrans
}

// Sgemm computes C = alpha·op(A)·op(B) + beta·C on row-major float32 slices
// through OpenBLAS cblas_sgemm. op(A) is m×k, op(B) is k×n and C is m×n; lda,
// ldb and ldc are the row strides (in elements) of the stored matrices, so a
// head of a [tokens, hidden] activation can be addressed in place (offset
// slice, stride hidden) without copying. It panics (a programming error
// inside the engine, never user input) when a slice is too short.
func Sgemm(ta, tb Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if !gemmArgs("tensor.Sgemm", ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc) {
		return
	}
	C.cblas_sgemm(C.CblasRowMajor, ta.cblas(), tb.cblas(), C.blasint(m), C.blasint(n), C.blasint(k),
		C.float(alpha), (*C.float)(unsafe.Pointer(&a[0])), C.blasint(lda),
		(*C.float)(unsafe.Pointer(&b[0])), C.blasint(ldb),
		C.float(beta), (*C.float)(unsafe.Pointer(&c[0])), C.blasint(ldc))
}

// gemmArgs is the argument handling Sgemm and Dgemm share (fn names the
// caller in panics). It reports whether BLAS has work to do: with m or n zero
// there is nothing to compute, and with k zero it sets C = beta·C itself. It
// panics when an operand is too short for its shape and row stride. It is
// generic over the element type (one instantiation per precision), so the
// hot path neither allocates nor converts to an interface.
func gemmArgs[T float32 | float64](fn string, ta, tb Transpose, m, n, k int, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) bool {
	if m == 0 || n == 0 {
		return false
	}
	if k == 0 {
		// C = beta·C.
		for i := 0; i < m; i++ {
			row := c[i*ldc : i*ldc+n]
			for j := range row {
				row[j] *= beta
			}
		}
		return false
	}
	ar, ac := m, k
	if ta == Trans {
		ar, ac = k, m
	}
	br, bc := k, n
	if tb == Trans {
		br, bc = n, k
	}
	checkGemmOperand(fn, "A", len(a), ar, ac, lda)
	checkGemmOperand(fn, "B", len(b), br, bc, ldb)
	checkGemmOperand(fn, "C", len(c), m, n, ldc)
	return true
}

// checkGemmOperand panics when a rows×cols operand with row stride ld does
// not fit in n values.
func checkGemmOperand(fn, name string, n, rows, cols, ld int) {
	if ld < cols || n < (rows-1)*ld+cols {
		panic(fmt.Sprintf("%s: operand %s of %dx%d (ld %d) needs %d values, has %d", fn, name, rows, cols, ld, (rows-1)*ld+cols, n))
	}
}

func fixCoreType() { C.openmed_fix_coretype() }

// BLASCore names the OpenBLAS kernel set in use (openblas_get_corename, e.g.
// "SkylakeX", "Haswell"). When OpenBLAS's DYNAMIC_ARCH detection falls back
// to the generic "Prescott" core on a CPU it does not recognise, openmed
// re-selects the kernels from the CPU's features at start-up (an explicit
// OPENBLAS_CORETYPE always wins).
func BLASCore() string { return C.GoString(C.openblas_get_corename()) }

func setBLASThreads(n int) { C.openblas_set_num_threads(C.int(n)) }

func blasThreads() int { return int(C.openblas_get_num_threads()) }
