package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/openmed/openmed/core/encoder"
	"github.com/openmed/openmed/core/tagger"
	"github.com/openmed/openmed/training"
)

// Status is the int every export returns (OPENMED_OK … in openmed.h).
type Status int

// The status codes of the ABI; their values are part of the stable ABI.
const (
	// StatusOK means success.
	StatusOK Status = 0
	// StatusBadInput means a NULL or malformed argument, bad JSON, a bad
	// option value or a double/foreign free.
	StatusBadInput Status = 1
	// StatusNotFound means a missing file or an unknown/closed handle.
	StatusNotFound Status = 2
	// StatusInternal means an unexpected failure (including a recovered panic).
	StatusInternal Status = 3
	// StatusCancelled means the job was cancelled (openmed_job_cancel or a
	// nonzero return from the progress callback).
	StatusCancelled Status = 4
	// StatusNotAvailable means the feature is not built into this library yet.
	StatusNotAvailable Status = 5
)

// String names the status as openmed.h does.
func (s Status) String() string {
	switch s {
	case StatusOK:
		return "OPENMED_OK"
	case StatusBadInput:
		return "OPENMED_BAD_INPUT"
	case StatusNotFound:
		return "OPENMED_NOT_FOUND"
	case StatusInternal:
		return "OPENMED_INTERNAL"
	case StatusCancelled:
		return "OPENMED_CANCELLED"
	case StatusNotAvailable:
		return "OPENMED_NOT_AVAILABLE"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// Sentinel errors classified by statusOf.
var (
	errBadInput     = errors.New("bad input")
	errNotFound     = errors.New("not found")
	errNotAvailable = errors.New("not available yet")
	errCancelled    = errors.New("cancelled")
)

// apiError carries an explicit status with its message.
type apiError struct {
	status Status
	err    error
}

func (e *apiError) Error() string { return e.err.Error() }
func (e *apiError) Unwrap() error { return e.err }

// badInput returns a StatusBadInput error.
func badInput(format string, args ...any) error {
	return &apiError{StatusBadInput, fmt.Errorf(format, args...)}
}

// notFound returns a StatusNotFound error.
func notFound(format string, args ...any) error {
	return &apiError{StatusNotFound, fmt.Errorf(format, args...)}
}

// notAvailable returns a StatusNotAvailable error naming the feature.
func notAvailable(feature string) error {
	return &apiError{StatusNotAvailable, fmt.Errorf("%s: %w in this build of libopenmed", feature, errNotAvailable)}
}

// statusOf maps an error to its ABI status.
func statusOf(err error) Status {
	if err == nil {
		return StatusOK
	}
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.status
	}
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, errCancelled):
		return StatusCancelled
	case errors.Is(err, errNotAvailable), errors.Is(err, encoder.ErrNotInstalled):
		return StatusNotAvailable
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, errNotFound):
		return StatusNotFound
	case errors.Is(err, errBadInput), errors.Is(err, training.ErrConfig),
		errors.Is(err, tagger.ErrInvalidUTF8), errors.Is(err, tagger.ErrNUL):
		return StatusBadInput
	}
	return StatusInternal
}
