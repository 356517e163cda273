package tensor

/*
#cgo CFLAGS: -O3
#include "kernels.h"
*/
import "C"

import "unsafe"

func fptr(s []float32) *C.float {
	if len(s) == 0 {
		return nil
	}
	return (*C.float)(unsafe.Pointer(&s[0]))
}

func cBiasAct(y, z, bias []float32, rows, cols int, act Activation) {
	C.om_bias_act(fptr(y), fptr(z), fptr(bias), C.long(rows), C.long(cols), C.int(act))
}

func cActBackward(dz, dy, z []float32, act Activation) {
	C.om_act_backward(fptr(dz), fptr(dy), fptr(z), C.long(len(z)), C.int(act))
}

func cSoftmaxRows(x []float32, rows, cols int, mask []float32) {
	C.om_softmax_rows(fptr(x), C.long(rows), C.long(cols), fptr(mask))
}

func cSoftmaxBackwardRows(ds, dp, p []float32, rows, cols int) {
	C.om_softmax_backward_rows(fptr(ds), fptr(dp), fptr(p), C.long(rows), C.long(cols))
}

func cDropout(y, x []float32, thr uint32, scale float32, seed uint64, offset int) {
	C.om_dropout(fptr(y), fptr(x), C.long(len(x)), C.uint32_t(thr), C.float(scale), C.uint64_t(seed), C.long(offset))
}

func hash32(seed uint64, i uint64) uint32 {
	return uint32(C.om_hash32(C.uint64_t(seed), C.uint32_t(i)))
}
