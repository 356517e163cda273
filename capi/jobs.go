package main

/*
#include "openmed_capi.h"
*/
import "C"

import (
	"context"
	"sync"
)

// job is a cancellable unit of long-running work (train, dapt). Its handle
// is created before the work starts so another thread can cancel it.
type job struct {
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	running bool
}

func newJob() *job {
	ctx, cancel := context.WithCancel(context.Background())
	return &job{ctx: ctx, cancel: cancel}
}

// Close cancels the job (closing a handle stops its work).
func (j *job) Close() error {
	j.cancel()
	return nil
}

// start marks the job as running; a job runs at most one call at a time.
func (j *job) start() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.running {
		return badInput("job is already running")
	}
	j.running = true
	return nil
}

func (j *job) finish() {
	j.mu.Lock()
	j.running = false
	j.mu.Unlock()
}

// jobContext returns the context of job handle h; handle 0 means "no job":
// the work cannot be cancelled except through the progress callback.
func jobContext(h uint64) (*job, error) {
	if h == 0 {
		return newJob(), nil
	}
	obj, err := lookup(h, kindJob)
	if err != nil {
		return nil, err
	}
	return obj.(*job), nil
}

//export openmed_job_new
func openmed_job_new(handle *C.uint64_t, errp **C.char) C.int {
	return call("openmed_job_new", errp, func() error {
		if handle == nil {
			return badInput("handle out-parameter is NULL")
		}
		*handle = C.uint64_t(newHandle(kindJob, newJob()))
		return nil
	})
}

//export openmed_job_cancel
func openmed_job_cancel(handle C.uint64_t, errp **C.char) C.int {
	return call("openmed_job_cancel", errp, func() error {
		obj, err := lookup(uint64(handle), kindJob)
		if err != nil {
			return err
		}
		obj.(*job).cancel()
		return nil
	})
}

//export openmed_job_close
func openmed_job_close(handle C.uint64_t, errp **C.char) C.int {
	return call("openmed_job_close", errp, func() error {
		return closeHandle(uint64(handle), kindJob)
	})
}
