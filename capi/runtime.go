package main

/*
#include "openmed_capi.h"
*/
import "C"

import (
	"encoding/json"
	"fmt"
	"runtime/debug"
	"sync"
	"unsafe"
)

// buffers tracks every C buffer handed to the caller, so openmed_free can
// tell a live buffer from a double free or a pointer it never returned.
var buffers = struct {
	sync.Mutex
	live map[unsafe.Pointer]struct{}
}{live: map[unsafe.Pointer]struct{}{}}

// newCString copies s into C memory (C.malloc) and records it as live.
func newCString(s string) *C.char {
	p := C.CString(s)
	buffers.Lock()
	buffers.live[unsafe.Pointer(p)] = struct{}{}
	buffers.Unlock()
	return p
}

// freeBuffer releases a buffer returned by the library; it refuses pointers
// that are not live (never returned, or already freed).
func freeBuffer(p unsafe.Pointer) error {
	buffers.Lock()
	_, ok := buffers.live[p]
	if ok {
		delete(buffers.live, p)
	}
	buffers.Unlock()
	if !ok {
		return badInput("openmed_free: pointer %p was not returned by libopenmed or was already freed", p)
	}
	C.free(p)
	return nil
}

// liveBuffers reports how many returned buffers have not been freed yet.
func liveBuffers() int {
	buffers.Lock()
	defer buffers.Unlock()
	return len(buffers.live)
}

// setErr stores err's message in *errp when errp is not NULL.
func setErr(errp **C.char, err error) {
	if errp != nil && err != nil {
		*errp = newCString(err.Error())
	}
}

// call runs one export: it clears *errp, runs fn, recovers a panic into a
// StatusInternal error, and stores a failure's message (prefixed with the
// export's name) in *errp.
func call(name string, errp **C.char, fn func() error) (st C.int) {
	if errp != nil {
		*errp = nil
	}
	defer func() {
		if r := recover(); r != nil {
			err := fmt.Errorf("%s: internal error (recovered panic): %v\n%s", name, r, debug.Stack())
			setErr(errp, err)
			st = C.int(StatusInternal)
		}
	}()
	if err := fn(); err != nil {
		setErr(errp, fmt.Errorf("%s: %w", name, err))
		return C.int(statusOf(err))
	}
	return C.int(StatusOK)
}

// goString converts a NUL-terminated C string, rejecting NULL for the named
// argument.
func goString(p *C.char, arg string) (string, error) {
	if p == nil {
		return "", badInput("%s is NULL", arg)
	}
	return C.GoString(p), nil
}

// decodeRequest parses a JSON request argument into v, rejecting NULL,
// malformed JSON and unknown fields with the argument's name.
func decodeRequest(p *C.char, arg string, v any) error {
	s, err := goString(p, arg)
	if err != nil {
		return err
	}
	if err := decodeJSON(s, v); err != nil {
		return badInput("%s: %v", arg, err)
	}
	return nil
}

// setOut marshals v to JSON into *outp (a tracked C buffer).
func setOut(outp **C.char, v any) error {
	if outp == nil {
		return badInput("out_json is NULL")
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding result: %w", err)
	}
	*outp = newCString(string(b))
	return nil
}

// checkOut rejects a NULL out-parameter before any work is done.
func checkOut(outp **C.char) error {
	if outp == nil {
		return badInput("out_json is NULL")
	}
	*outp = nil
	return nil
}
