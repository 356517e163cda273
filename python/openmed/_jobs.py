"""Running cancellable jobs (train, dapt, search) in a worker thread.

The C call blocks, so it runs in a worker thread while the calling thread
waits in short joins: a KeyboardInterrupt (Ctrl-C) there cancels the job
through ``openmed_job_cancel``, waits for the worker to stop cleanly and is
re-raised.
"""

import ctypes
import json
import threading

from . import _lib
from .errors import CancelledError


def run_interruptible(work, cancel, poll=0.1):
    """Run ``work()`` in a worker thread; on KeyboardInterrupt call
    ``cancel()``, join the worker and re-raise. Returns work's result or
    raises its exception."""
    box = {}
    done = threading.Event()  # not Thread.join: a Ctrl-C inside join can leave the thread marked stopped

    def target():
        try:
            box["result"] = work()
        except BaseException as e:  # re-raised in the caller's thread
            box["error"] = e
        finally:
            done.set()

    t = threading.Thread(target=target, name="openmed-job", daemon=True)
    t.start()
    try:
        while not done.wait(poll):
            pass
    except KeyboardInterrupt:
        cancel()
        while True:  # a second Ctrl-C does not abandon the worker
            try:
                done.wait()
                break
            except KeyboardInterrupt:
                cancel()
        raise
    t.join()
    if "error" in box:
        raise box["error"]
    return box.get("result")


def run_job(export, config, callback=None):
    """Run a job export (``openmed_train``/``openmed_dapt``/``openmed_search``) with ``config``
    (a dict sent as JSON) and an optional progress ``callback(event: dict)``.

    The callback runs on a library thread; returning True from it, or raising,
    stops the job (an exception is re-raised here).
    """
    lib = _lib.lib()
    job = ctypes.c_uint64()
    err = ctypes.c_void_p()
    status = lib.openmed_job_new(ctypes.byref(job), ctypes.byref(err))
    msg = _lib._take_string(err.value)
    if status != 0:
        raise _lib.error_for(status, msg)
    job_id = job.value
    cb_error = {}

    def on_event(event_json, _user):
        if callback is None:
            return 0
        try:
            event = json.loads(event_json.decode("utf-8"))
            return 1 if callback(event) is True else 0
        except BaseException as e:
            cb_error["error"] = e
            return 1

    c_cb = _lib.PROGRESS_FN(on_event)
    payload = _lib.encode(json.dumps(config), "config")

    def work():
        return _lib.call(export, job_id, payload, c_cb, None, out=True)

    def cancel():
        lib.openmed_job_cancel(job_id, None)

    try:
        try:
            return run_interruptible(work, cancel)
        except CancelledError:
            if "error" in cb_error:
                raise cb_error["error"] from None
            raise
    finally:
        lib.openmed_job_close(job_id, None)
