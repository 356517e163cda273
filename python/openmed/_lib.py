"""Loading libopenmed with ctypes, the fork guard, and the call helper.

Lookup order: the ``OPENMED_LIB`` environment variable, then
``libopenmed.so`` inside this package (an installed wheel), then
``<repo>/build/libopenmed.so`` (development with ``PYTHONPATH=python``).
"""

import ctypes
import json
import os
import threading

from .errors import OpenMedError, error_for

LIB_NAME = "libopenmed.so"

PROGRESS_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)

_lock = threading.Lock()
_lib = None
_lib_path = None
_forked_child = False


def _candidates():
    env = os.environ.get("OPENMED_LIB")
    if env:
        return [env]
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(os.path.dirname(here))
    return [os.path.join(here, LIB_NAME), os.path.join(repo, "build", LIB_NAME)]


def find_library():
    """Return the path of libopenmed.so that load() would use."""
    cands = _candidates()
    for c in cands:
        if os.path.isfile(c):
            return c
    raise OpenMedError(
        "libopenmed.so not found (looked in: %s); build it with "
        "`go build -buildmode=c-shared -o build/libopenmed.so ./capi` "
        "or set OPENMED_LIB" % ", ".join(cands)
    )


def _after_fork_in_child():
    global _forked_child
    if _lib is not None:
        _forked_child = True


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _check_fork():
    if _forked_child:
        raise OpenMedError(
            "openmed: this process was forked after libopenmed (the Go runtime) "
            "started in its parent; the Go runtime does not survive fork() and "
            "calls would hang. Use multiprocessing with the 'spawn' start method "
            "(multiprocessing.get_context('spawn')) or import openmed only in the workers."
        )


_U64 = ctypes.c_uint64
_PU64 = ctypes.POINTER(ctypes.c_uint64)
_PPCHAR = ctypes.POINTER(ctypes.c_void_p)  # char ** kept as raw pointers for openmed_free
_CHARP = ctypes.c_char_p

_PROTOS = {
    "openmed_version": (ctypes.c_char_p, []),
    "openmed_status_name": (ctypes.c_char_p, [ctypes.c_int]),
    "openmed_free": (ctypes.c_int, [ctypes.c_void_p]),
    "openmed_tokenizer_open": (ctypes.c_int, [_CHARP, _PU64, _PPCHAR]),
    "openmed_tokenizer_close": (ctypes.c_int, [_U64, _PPCHAR]),
    "openmed_tokenize": (ctypes.c_int, [_U64, _CHARP, _PPCHAR, _PPCHAR]),
    "openmed_evaluate": (ctypes.c_int, [_CHARP, _PPCHAR, _PPCHAR]),
    "openmed_tagger_open": (ctypes.c_int, [_CHARP, _PU64, _PPCHAR]),
    "openmed_tagger_close": (ctypes.c_int, [_U64, _PPCHAR]),
    "openmed_tag": (ctypes.c_int, [_U64, _CHARP, _CHARP, _PPCHAR, _PPCHAR]),
    "openmed_tag_batch": (ctypes.c_int, [_U64, _CHARP, _PPCHAR, _PPCHAR]),
    "openmed_job_new": (ctypes.c_int, [_PU64, _PPCHAR]),
    "openmed_job_cancel": (ctypes.c_int, [_U64, _PPCHAR]),
    "openmed_job_close": (ctypes.c_int, [_U64, _PPCHAR]),
    "openmed_train": (ctypes.c_int, [_U64, _CHARP, PROGRESS_FN, ctypes.c_void_p, _PPCHAR, _PPCHAR]),
    "openmed_dapt": (ctypes.c_int, [_U64, _CHARP, PROGRESS_FN, ctypes.c_void_p, _PPCHAR, _PPCHAR]),
    "openmed_search": (ctypes.c_int, [_U64, _CHARP, PROGRESS_FN, ctypes.c_void_p, _PPCHAR, _PPCHAR]),
    "openmed_select": (ctypes.c_int, [_CHARP, _PPCHAR, _PPCHAR]),
    "openmed_merge": (ctypes.c_int, [_CHARP, _PPCHAR, _PPCHAR]),
    "openmed_export_onnx": (ctypes.c_int, [_CHARP, _PPCHAR, _PPCHAR]),
}


def lib():
    """Return the loaded library (loading it on first use)."""
    global _lib, _lib_path
    _check_fork()
    if _lib is not None:
        return _lib
    with _lock:
        if _lib is None:
            path = find_library()
            try:
                handle = ctypes.CDLL(path)
            except OSError as e:
                raise OpenMedError("openmed: loading %s: %s" % (path, e)) from None
            for name, (res, args) in _PROTOS.items():
                fn = getattr(handle, name)
                fn.restype = res
                fn.argtypes = args
            _lib_path = path
            _lib = handle
    return _lib


def library_path():
    """The path of the loaded library (loads it if needed)."""
    lib()
    return _lib_path


def _take_string(ptr):
    """Copy a library-returned char* into a str and release it."""
    if not ptr:
        return None
    try:
        return ctypes.string_at(ptr).decode("utf-8")
    finally:
        _lib.openmed_free(ptr)


def encode(s, what="argument"):
    """UTF-8 bytes for a C string argument; NUL characters are rejected."""
    if s is None:
        return None
    if not isinstance(s, str):
        raise TypeError("%s must be str, not %s" % (what, type(s).__name__))
    if "\x00" in s:
        from .errors import BadInputError

        raise BadInputError("%s contains a NUL character" % what)
    return s.encode("utf-8")


def call(name, *args, out=False):
    """Call export ``name`` with ``args`` (+ out_json if ``out``) and err.

    Returns the decoded JSON result (``out=True``) or None; raises the
    OpenMedError subclass for the status with the Go message.
    """
    fn = getattr(lib(), name)
    err = ctypes.c_void_p()
    if out:
        res = ctypes.c_void_p()
        status = fn(*args, ctypes.byref(res), ctypes.byref(err))
    else:
        res = None
        status = fn(*args, ctypes.byref(err))
    msg = _take_string(err.value)
    text = _take_string(res.value) if res is not None else None
    if status != 0:
        raise error_for(status, msg or "%s failed with status %d" % (name, status))
    if text is None:
        return None
    return json.loads(text)


def open_handle(name, arg):
    """Call an ``*_open`` export and return the new handle."""
    h = ctypes.c_uint64()
    fn = getattr(lib(), name)
    err = ctypes.c_void_p()
    status = fn(arg, ctypes.byref(h), ctypes.byref(err))
    msg = _take_string(err.value)
    if status != 0:
        raise error_for(status, msg or "%s failed with status %d" % (name, status))
    return h.value


def version():
    """The version of the loaded libopenmed."""
    return lib().openmed_version().decode("utf-8")
