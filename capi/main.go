// Package main is openmed's C ABI, built with
//
//	go build -buildmode=c-shared -o build/libopenmed.so ./capi
//
// into a shared library and a cgo-generated header; the hand-written, stable
// and documented header is bindings/openmed.h.
//
// Conventions of the ABI (see bindings/openmed.h for each function):
//   - Objects (tokenizers, taggers, jobs) are opaque uint64 handles into a
//     Go-side registry; no Go pointer ever crosses the boundary and 0 is never
//     a valid handle.
//   - Requests and results are UTF-8 JSON; offsets are Unicode code points
//     (Python string indices), as Hugging Face pipelines report them.
//   - Every function returns an int status (Status) and, on failure, stores a
//     C.malloc'ed message in *err when err is not NULL. Every buffer returned
//     (results and error messages) is released with openmed_free, which
//     detects double frees and foreign pointers.
//   - Every export recovers panics into StatusInternal errors; all exports
//     are safe to call from many threads at once.
package main

func main() {}
