package main

/*
#include "openmed_capi.h"
*/
import "C"

import (
	"unsafe"
)

// Version is the library version reported by openmed_version (overridden at
// link time with -ldflags "-X main.Version=…").
var Version = "0.1.0-dev"

// versionC is allocated once and never freed: openmed_version returns a
// static string the caller must not free.
var versionC = C.CString(Version)

//export openmed_version
func openmed_version() *C.char { return versionC }

//export openmed_free
func openmed_free(p unsafe.Pointer) C.int {
	if p == nil {
		return C.int(StatusOK) // like free(NULL)
	}
	return call("openmed_free", nil, func() error { return freeBuffer(p) })
}

//export openmed_status_name
func openmed_status_name(status C.int) *C.char {
	name := Status(status).String()
	if status < C.int(StatusOK) || status > C.int(StatusNotAvailable) {
		name = "OPENMED_UNKNOWN_STATUS" // one string for every unknown code: the cache stays bounded
	}
	statusNamesMu.Lock()
	defer statusNamesMu.Unlock()
	if p, ok := statusNames[name]; ok {
		return p
	}
	p := C.CString(name)
	statusNames[name] = p
	return p
}
