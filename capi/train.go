package main

/*
#include "openmed_capi.h"
*/
import "C"

import (
	"unsafe"
)

// runJob validates the common arguments of a long-running export and runs
// work under the job's context with the progress sink.
func runJob(handle C.uint64_t, config *C.char, cb C.openmed_progress_fn, user unsafe.Pointer,
	out **C.char, work func(j *job, config string, sink progressSink) (any, error)) error {
	if err := checkOut(out); err != nil {
		return err
	}
	j, err := jobContext(uint64(handle))
	if err != nil {
		return err
	}
	cfg, err := goString(config, "config_json")
	if err != nil {
		return err
	}
	if err := j.start(); err != nil {
		return err
	}
	defer j.finish()
	if err := j.ctx.Err(); err != nil {
		return err
	}
	res, err := work(j, cfg, progressSink{fn: cb, user: user})
	if err != nil {
		return err
	}
	return setOut(out, res)
}

//export openmed_train
func openmed_train(handle C.uint64_t, config *C.char, cb C.openmed_progress_fn, user unsafe.Pointer, out **C.char, errp **C.char) C.int {
	return call("openmed_train", errp, func() error {
		return runJob(handle, config, cb, user, out, func(*job, string, progressSink) (any, error) {
			return nil, notAvailable("token-classification training (package training)")
		})
	})
}

//export openmed_dapt
func openmed_dapt(handle C.uint64_t, config *C.char, cb C.openmed_progress_fn, user unsafe.Pointer, out **C.char, errp **C.char) C.int {
	return call("openmed_dapt", errp, func() error {
		return runJob(handle, config, cb, user, out, func(*job, string, progressSink) (any, error) {
			return nil, notAvailable("domain-adaptive pre-training (package training, DAPT)")
		})
	})
}
