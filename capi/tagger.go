package main

/*
#include "openmed_capi.h"
*/
import "C"

//export openmed_tagger_open
func openmed_tagger_open(config *C.char, handle *C.uint64_t, errp **C.char) C.int {
	return call("openmed_tagger_open", errp, func() error {
		if handle == nil {
			return badInput("handle out-parameter is NULL")
		}
		*handle = 0
		if _, err := goString(config, "config_json"); err != nil {
			return err
		}
		return notAvailable("tagging (core/tagger Tagger)")
	})
}

//export openmed_tagger_close
func openmed_tagger_close(handle C.uint64_t, errp **C.char) C.int {
	return call("openmed_tagger_close", errp, func() error {
		return closeHandle(uint64(handle), kindTagger)
	})
}

//export openmed_tag
func openmed_tag(handle C.uint64_t, text *C.char, options *C.char, out **C.char, errp **C.char) C.int {
	return call("openmed_tag", errp, func() error {
		if err := checkOut(out); err != nil {
			return err
		}
		if _, err := lookup(uint64(handle), kindTagger); err != nil {
			return err
		}
		return notAvailable("tagging (core/tagger Tagger)")
	})
}

//export openmed_tag_batch
func openmed_tag_batch(handle C.uint64_t, request *C.char, out **C.char, errp **C.char) C.int {
	return call("openmed_tag_batch", errp, func() error {
		if err := checkOut(out); err != nil {
			return err
		}
		if _, err := lookup(uint64(handle), kindTagger); err != nil {
			return err
		}
		return notAvailable("tagging (core/tagger Tagger)")
	})
}
