"""Cancellable jobs: the worker-thread runner used by train()/dapt()."""

import _thread
import threading
import time

import pytest

import openmed
from openmed._jobs import run_interruptible


def test_keyboard_interrupt_cancels_and_joins():
    cancelled = threading.Event()
    finished = threading.Event()

    def work():
        # stands in for a blocking C call that returns once cancelled
        cancelled.wait(10)
        finished.set()
        raise openmed.CancelledError("cancelled")

    timer = threading.Timer(0.3, _thread.interrupt_main)
    timer.start()
    t0 = time.time()
    with pytest.raises(KeyboardInterrupt):
        run_interruptible(work, cancelled.set, poll=0.05)
    assert cancelled.is_set(), "Ctrl-C did not call cancel"
    assert finished.is_set(), "the worker was not joined before re-raising"
    assert time.time() - t0 < 5


def test_result_and_errors_pass_through():
    assert run_interruptible(lambda: 42, lambda: None) == 42

    def boom():
        raise openmed.BadInputError("bad")

    with pytest.raises(openmed.BadInputError, match="bad"):
        run_interruptible(boom, lambda: None)


def test_job_handles_cancel_through_abi():
    import ctypes

    from openmed import _lib

    lib = _lib.lib()
    job = ctypes.c_uint64()
    assert lib.openmed_job_new(ctypes.byref(job), None) == 0
    assert lib.openmed_job_cancel(job.value, None) == 0
    with pytest.raises(openmed.CancelledError, match="cancel"):
        _lib.call("openmed_train", job.value, b"{}", _lib.PROGRESS_FN(lambda e, u: 0), None, out=True)
    assert lib.openmed_job_close(job.value, None) == 0
    with pytest.raises(openmed.NotFoundError, match="not open"):
        _lib.call("openmed_job_cancel", job.value)
