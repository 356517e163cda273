// Package bindings holds openmed's hand-written C header (openmed.h, the
// stable ABI of libopenmed built from ./capi) and its C-level tests
// (test/test_openmed.c). The Go tests here check that openmed.h agrees with
// the cgo-generated header and run the C test program.
package bindings
