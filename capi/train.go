package main

/*
#include "openmed_capi.h"
*/
import "C"

import (
	"unsafe"

	"github.com/openmed/openmed/training"
	"github.com/openmed/openmed/training/loop"
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
		return runJob(handle, config, cb, user, out, runTrain)
	})
}

//export openmed_dapt
func openmed_dapt(handle C.uint64_t, config *C.char, cb C.openmed_progress_fn, user unsafe.Pointer, out **C.char, errp **C.char) C.int {
	return call("openmed_dapt", errp, func() error {
		return runJob(handle, config, cb, user, out, runDAPT)
	})
}

// runTrain runs training.Train under the job's context; a nonzero return of
// the progress callback cancels the job (the trainer checkpoints at the next
// step boundary and returns an error wrapping context.Canceled).
func runTrain(j *job, config string, sink progressSink) (any, error) {
	cfg, err := parseTrainConfig(config)
	if err != nil {
		return nil, err
	}
	cfg.Progress = func(p loop.Progress) {
		if sink.emit(toEvent(p)) {
			j.cancel()
		}
	}
	cfg.Warn = func(msg string) {
		if sink.emit(warningEvent{Phase: "warning", Message: msg}) {
			j.cancel()
		}
	}
	res, err := training.Train(j.ctx, cfg)
	if err != nil {
		return nil, err
	}
	return toTrainResult(cfg, res)
}
