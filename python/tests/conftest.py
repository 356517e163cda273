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


ORT_LIB = os.path.join(REPO, "third_party", "onnxruntime", "libonnxruntime.so.1")


def pytest_configure(config):
    if not os.environ.get("OPENMED_ORT_LIB") and os.path.exists(ORT_LIB):
        os.environ["OPENMED_ORT_LIB"] = ORT_LIB  # ONNX Runtime from scripts/fetch_onnxruntime.sh
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


# ---- training fixtures shared by the train and tag tests ----


def _subset(src, dst, n):
    """Write the first n sentences of a CoNLL file."""
    count = 0
    with open(src, encoding="utf-8") as f, open(dst, "w", encoding="utf-8") as g:
        for line in f:
            g.write(line)
            if not line.strip():
                count += 1
                if count >= n:
                    break
    return str(dst)


@pytest.fixture(scope="session")
def data(ncbi, tmp_path_factory):
    d = tmp_path_factory.mktemp("ncbi")
    out = {
        "train": _subset(os.path.join(ncbi, "train.tsv"), d / "train.tsv", 300),
        "dev": _subset(os.path.join(ncbi, "devel.tsv"), d / "dev.tsv", 60),
        "test": _subset(os.path.join(ncbi, "test.tsv"), d / "test.tsv", 60),
    }
    # raw text for DAPT: the training sentences, one per line
    words, lines = [], []
    with open(out["train"], encoding="utf-8") as f:
        for line in f:
            if line.strip():
                words.append(line.split("\t")[0])
            elif words:
                lines.append(" ".join(words))
                words = []
    text = d / "text.txt"
    text.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out["text"] = str(text)
    return out


@pytest.fixture(scope="session")
def base(data, tokenizer_dir, tmp_path_factory):
    """A 1-layer, 32-wide BERT pre-trained from scratch (a few MLM steps)."""
    out = tmp_path_factory.mktemp("base")
    import openmed

    events = []
    res = openmed.dapt(data["text"], str(out), tokenizer=tokenizer_dir,
                       scratch=dict(num_hidden_layers=1, hidden_size=32, num_attention_heads=4,
                                    intermediate_size=64, max_position_embeddings=128),
                       max_seq_length=64, batch_size=16, callback=events.append)
    assert res["output_dir"] == str(out)
    assert res["steps"] > 0 and res["train_blocks"] > 0
    assert res["before"]["masked"] > 0
    assert any(e["phase"] == "done" for e in events)
    assert os.path.isfile(os.path.join(str(out), "model.safetensors"))
    return str(out)


def small_train_options(**kw):
    """Training options for the tiny test runs (short windows, no smoothing
    or early stopping)."""
    opts = dict(batch_size=16, max_length=64, stride=16, label_smoothing_factor=0, early_stopping_patience=0)
    opts.update(kw)
    return opts


@pytest.fixture(scope="session")
def ner_model(base, data, tmp_path_factory):
    """A full fine-tune of the tiny base on the NCBI subset (dev F1 > 0)."""
    import openmed

    out = tmp_path_factory.mktemp("ner")
    res = openmed.train(base=base, train=data["train"], dev=data["dev"], output=str(out), lora=False,
                        epochs=8, lr=3e-3, **small_train_options())
    return str(out), res


@pytest.fixture(scope="session")
def lora_adapter(base, data, tmp_path_factory):
    """A LoRA adapter trained on the tiny base (few epochs)."""
    import openmed

    out = tmp_path_factory.mktemp("lora")
    res = openmed.train(base=base, train=data["train"], dev=data["dev"], output=str(out),
                        r=8, alpha=16, lora_dropout=0.0, epochs=2, lr=1e-2, **small_train_options())
    return str(out), res
