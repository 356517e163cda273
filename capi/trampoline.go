package main

/*
#include "openmed_capi.h"

// openmed_call_progress calls a C progress callback from Go (cgo cannot call
// a C function pointer directly).
static int openmed_call_progress(openmed_progress_fn fn, const char *event_json, void *user_data) {
	return fn(event_json, user_data);
}
*/
import "C"

import (
	"encoding/json"
	"unsafe"
)

// progressSink forwards progress events to a C callback. fn may be NULL (no
// callback); user is the caller's opaque pointer, passed back untouched.
type progressSink struct {
	fn   C.openmed_progress_fn
	user unsafe.Pointer
}

// emit sends v as JSON to the callback and reports whether the callback
// asked to stop (nonzero return). The JSON buffer is valid only during the
// callback and is freed here.
func (p progressSink) emit(v any) (stop bool) {
	if p.fn == nil {
		return false
	}
	b, err := json.Marshal(v)
	if err != nil {
		return false
	}
	s := C.CString(string(b))
	defer C.free(unsafe.Pointer(s))
	return C.openmed_call_progress(p.fn, s, p.user) != 0
}
