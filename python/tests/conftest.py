"""pytest configuration: puts python/ on sys.path, builds libopenmed.so into
<repo>/build when it is missing or older than the Go sources (unless
OPENMED_LIB is set), and provides the ../shared fixtures."""

import glob
import os
import subprocess
import sys

import pytest

TESTS = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(TESTS))
if not os.environ.get("OPENMED_TEST_INSTALLED"):
    sys.path.insert(0, os.path.join(REPO, "python"))
SHARED = os.path.join(os.path.dirname(REPO), "shared")
LIB = os.path.join(REPO, "build", "libopenmed.so")


def _stale():
    if not os.path.exists(LIB):
        return True
    built = os.path.getmtime(LIB)
    srcs = glob.glob(os.path.join(REPO, "capi", "*.go")) + glob.glob(os.path.join(REPO, "capi", "*.h"))
    return any(os.path.getmtime(s) > built for s in srcs)


def pytest_configure(config):
    if os.environ.get("OPENMED_LIB") or os.environ.get("OPENMED_TEST_INSTALLED"):
        return
    pkg_lib = os.path.join(REPO, "python", "openmed", "libopenmed.so")
    if os.path.exists(pkg_lib):
        return  # the package's own copy wins in the lookup order
    if _stale():
        subprocess.run(["go", "build", "-buildmode=c-shared", "-o", LIB, "./capi"], cwd=REPO, check=True)


@pytest.fixture(scope="session")
def shared():
    """The ../shared folder beside the repository (skips when absent)."""
    if not os.path.isdir(os.path.join(SHARED, "tokenizers")):
        pytest.skip("../shared not found at %s: tests need its tokenizers, data and fixtures" % SHARED)
    return SHARED


@pytest.fixture(scope="session")
def tokenizer_dir(shared):
    return os.path.join(shared, "tokenizers", "pubmedbert-abstract")


@pytest.fixture(scope="session")
def ncbi(shared):
    return os.path.join(shared, "data", "NCBI-Disease")


def rss_kib():
    """Resident set size of this process in KiB (Linux /proc)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")
