"""Error paths of the C ABI seen from Python: NULL, bogus and closed
handles, double frees, not-available features, the fork guard."""

import ctypes
import os
import signal
import time

import pytest

import openmed
from openmed import _lib


def _raw_call(name, *args):
    err = ctypes.c_void_p()
    status = getattr(_lib.lib(), name)(*args, ctypes.byref(err))
    return status, _lib._take_string(err.value)


def test_version():
    assert openmed.version() == "0.1.0-dev"
    assert os.path.isfile(openmed.library_path())
    if os.environ.get("OPENMED_TEST_INSTALLED"):
        # an installed package uses the library shipped inside it
        pkg = os.path.dirname(os.path.abspath(openmed.__file__))
        assert os.path.dirname(openmed.library_path()) == pkg


def test_null_arguments():
    out = ctypes.c_void_p()
    status, msg = _raw_call("openmed_evaluate", None, ctypes.byref(out))
    assert status == 1 and "request_json is NULL" in msg
    status, msg = _raw_call("openmed_tokenizer_open", None, ctypes.byref(ctypes.c_uint64()))
    assert status == 1 and "path is NULL" in msg
    status, msg = _raw_call("openmed_tokenizer_open", b"/x", None)
    assert status == 1 and "handle out-parameter is NULL" in msg
    status, msg = _raw_call("openmed_evaluate", b"{}", None)
    assert status == 1 and "out_json is NULL" in msg


def test_null_bogus_and_closed_handles(tokenizer_dir):
    req = b'{"texts":["x"]}'
    out = ctypes.c_void_p()
    status, msg = _raw_call("openmed_tokenize", 0, req, ctypes.byref(out))
    assert status == 1 and "handle is 0" in msg
    status, msg = _raw_call("openmed_tokenize", 2**63 + 12345, req, ctypes.byref(out))
    assert status == 2 and "not open" in msg
    tk = openmed.Tokenizer(tokenizer_dir)
    h = tk._handle
    tk.close()
    status, msg = _raw_call("openmed_tokenize", h, req, ctypes.byref(out))
    assert status == 2 and ("tokenizer handle %d is not open" % h) in msg
    status, msg = _raw_call("openmed_tokenizer_close", h)
    assert status == 2
    assert not out.value


def test_double_and_foreign_free(tokenizer_dir):
    lib = _lib.lib()
    err = ctypes.c_void_p()
    assert lib.openmed_evaluate(b"{bad", ctypes.byref(ctypes.c_void_p()), ctypes.byref(err)) == 1
    assert err.value
    assert lib.openmed_free(err.value) == 0
    assert lib.openmed_free(err.value) == 1  # double free: refused, no crash
    buf = ctypes.create_string_buffer(16)
    assert lib.openmed_free(ctypes.addressof(buf)) == 1  # never returned by the library
    assert lib.openmed_free(None) == 0  # free(NULL)


def test_errors_map_to_classes(tmp_path):
    with pytest.raises(openmed.NotFoundError) as e:
        openmed.export_onnx(str(tmp_path / "nope"), str(tmp_path / "out"))
    assert e.value.status == 2 and "nope" in str(e.value)
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    shipped = os.path.isfile(os.path.join(repo, "models", "openmed-small-bio", "config.json"))
    if not shipped:  # once shipped, test_default.py checks tag() without a model
        with pytest.raises(openmed.NotAvailableError, match="default model"):
            openmed.tag("text")
    assert issubclass(openmed.CancelledError, openmed.OpenMedError)


def test_fork_guard(tokenizer_dir):
    openmed.tokenize("loaded", tokenizer=tokenizer_dir)  # the Go runtime is running
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: must raise quickly, not hang
        os.close(r)
        code = 1
        try:
            openmed.tokenize("x", tokenizer=tokenizer_dir)
        except openmed.OpenMedError as e:
            os.write(w, str(e).encode())
            code = 0
        except BaseException:
            code = 2
        os._exit(code)
    os.close(w)
    deadline = time.time() + 30
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.time() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("forked child hung instead of raising")
        time.sleep(0.05)
    msg = os.read(r, 4096).decode()
    os.close(r)
    assert os.WEXITSTATUS(status) == 0, msg
    assert "forked" in msg and "spawn" in msg
    # the parent still works
    assert openmed.tokenize("still fine", tokenizer=tokenizer_dir)["tokens"][0] == "[CLS]"


def _spawn_child(tokenizer_dir):
    import openmed as om

    return om.tokenize("spawned worker", tokenizer=tokenizer_dir)["tokens"]


def test_spawn_workers_work(tokenizer_dir):
    """The fork guard's advice: 'spawn' workers load their own runtime."""
    import multiprocessing

    openmed.tokenize("parent first", tokenizer=tokenizer_dir)
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        toks = pool.apply(_spawn_child, (tokenizer_dir,))
    assert toks == openmed.tokenize("spawned worker", tokenizer=tokenizer_dir)["tokens"]


def test_install_encoders_refuses_unknown_names():
    with pytest.raises(openmed.BadInputError, match="not a pinned encoder"):
        openmed.install_encoders("biobert")
    with pytest.raises(openmed.BadInputError, match="name encoders"):
        openmed.install_encoders([])
