package tensor

/*
#cgo LDFLAGS: -lopenblas
#include <cblas.h>
*/
import "C"

import "unsafe"

// Dgemm computes C = alpha·op(A)·op(B) + beta·C on row-major float64 slices
// through OpenBLAS cblas_dgemm, with the same conventions as Sgemm (op(A) is
// m×k, op(B) is k×n, lda/ldb/ldc are row strides). It serves float64 linear
// algebra outside the training engine (e.g. the randomized SVD behind the
// PPMI embedding warm start), where Gram matrices need double precision. It
// panics (a programming error, never user input) when a slice is too short.
func Dgemm(ta, tb Transpose, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	if !gemmArgs("tensor.Dgemm", ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc) {
		return
	}
	C.cblas_dgemm(C.CblasRowMajor, ta.cblas(), tb.cblas(), C.blasint(m), C.blasint(n), C.blasint(k),
		C.double(alpha), (*C.double)(unsafe.Pointer(&a[0])), C.blasint(lda),
		(*C.double)(unsafe.Pointer(&b[0])), C.blasint(ldb),
		C.double(beta), (*C.double)(unsafe.Pointer(&c[0])), C.blasint(ldc))
}
