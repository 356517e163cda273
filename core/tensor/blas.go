package tensor

/*
#cgo LDFLAGS: -lopenblas
#include <cblas.h>
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
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
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		// C = beta·C.
		for i := 0; i < m; i++ {
			row := c[i*ldc : i*ldc+n]
			for j := range row {
				row[j] *= beta
			}
		}
		return
	}
	ar, ac := m, k
	if ta == Trans {
		ar, ac = k, m
	}
	br, bc := k, n
	if tb == Trans {
		br, bc = n, k
	}
	checkGemmOperand("A", a, ar, ac, lda)
	checkGemmOperand("B", b, br, bc, ldb)
	checkGemmOperand("C", c, m, n, ldc)
	C.cblas_sgemm(C.CblasRowMajor, ta.cblas(), tb.cblas(), C.blasint(m), C.blasint(n), C.blasint(k),
		C.float(alpha), (*C.float)(unsafe.Pointer(&a[0])), C.blasint(lda),
		(*C.float)(unsafe.Pointer(&b[0])), C.blasint(ldb),
		C.float(beta), (*C.float)(unsafe.Pointer(&c[0])), C.blasint(ldc))
}

func checkGemmOperand(name string, s []float32, rows, cols, ld int) {
	if ld < cols || len(s) < (rows-1)*ld+cols {
		panic(fmt.Sprintf("tensor.Sgemm: operand %s of %dx%d (ld %d) needs %d values, has %d", name, rows, cols, ld, (rows-1)*ld+cols, len(s)))
	}
}

func setBLASThreads(n int) { C.openblas_set_num_threads(C.int(n)) }

func blasThreads() int { return int(C.openblas_get_num_threads()) }
