"""Fixtures of the interop suite (issue 20): openmed against the Hugging Face
stack from PyPI (torch, transformers, PEFT, seqeval, ONNX Runtime) installed
by scripts/peers_env.sh. Run with scripts/test_interop.sh (make test).

Where ../shared is absent the tests skip saying so, except under CI=true,
where its absence fails them."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("OPENMED_SHARED", REPO.parent / "shared"))


def need_shared():
    """Skips (fails under CI=true) when ../shared is absent."""
    if (SHARED / "data").is_dir() and (SHARED / "tokenizers").is_dir():
        return
    msg = f"{SHARED} (data/, tokenizers/) is absent: the interop suite needs the shared corpora and tokenizers"
    if os.environ.get("CI") == "true":
        pytest.fail(msg)
    pytest.skip(msg)


@pytest.fixture(scope="session")
def shared():
    need_shared()
    return SHARED


@pytest.fixture(scope="session")
def openmed_bin(tmp_path_factory):
    """The CLI built from this checkout (never a stale bin/openmed)."""
    out = tmp_path_factory.mktemp("bin") / "openmed"
    subprocess.run(["go", "build", "-o", str(out), "./cmd/openmed"], cwd=REPO, check=True)
    return out


def run(cmd, **kw):
    """Runs a command, raising with its stderr on failure."""
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    if p.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} exited {p.returncode}:\n{p.stderr[-4000:]}")
    return p.stdout


@pytest.fixture(scope="session")
def tiny_base(shared, tmp_path_factory):
    """A small BERT masked-LM made and saved by transformers itself (2 layers,
    hidden 256: wide enough for its random features to separate entity words;
    seeded init) with bert-base-cased's real vocabulary: the base
    both stacks fine-tune in these tests."""
    import torch
    from transformers import BertConfig, BertForMaskedLM

    tok = shared / "tokenizers" / "bert-base-cased"
    vocab = (tok / "vocab.txt").read_text(encoding="utf-8").splitlines()
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=len(vocab), hidden_size=256, num_hidden_layers=2, num_attention_heads=4,
                     intermediate_size=512, max_position_embeddings=512)
    model = BertForMaskedLM(cfg).eval()
    out = tmp_path_factory.mktemp("tiny-base")
    model.save_pretrained(out, safe_serialization=True)
    for f in ("vocab.txt", "tokenizer.json", "tokenizer_config.json"):
        shutil.copy(tok / f, out / f)
    return out


def read_conll(path, limit=None):
    """Sentences of an IOB2 CoNLL file as (tokens, tags) pairs."""
    sents, toks, tags = [], [], []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            if toks:
                sents.append((toks, tags))
                toks, tags = [], []
                if limit and len(sents) >= limit:
                    break
            continue
        word, tag = line.split("\t")[:2]
        if word == "-DOCSTART-":
            continue
        toks.append(word)
        tags.append(tag)
    if toks and not (limit and len(sents) >= limit):
        sents.append((toks, tags))
    return sents


def write_conll(sents, path):
    """Writes (tokens, tags) sentences as token<TAB>tag lines."""
    with open(path, "w", encoding="utf-8") as f:
        for toks, tags in sents:
            for w, t in zip(toks, tags):
                f.write(f"{w}\t{t}\n")
            f.write("\n")


def hf_entities(model, tokenizer, texts):
    """transformers' token-classification pipeline, aggregation "first"
    (openmed's default), as (start, end, label, score) per text."""
    from transformers import pipeline

    pipe = pipeline("token-classification", model=model, tokenizer=tokenizer, aggregation_strategy="first", device="cpu")
    out = []
    for res in pipe(texts, batch_size=8):
        out.append([(e["start"], e["end"], e["entity_group"], float(e["score"])) for e in res])
    return out


def openmed_entities(openmed_bin, model_dir, texts, tmp_path, extra=()):
    """`openmed tag --format jsonl` over the texts, one document per line."""
    src = tmp_path / "texts.jsonl"
    src.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")
    out = run([openmed_bin, "tag", "--model", model_dir, "--format", "jsonl", "--input", src, "--quiet",
               "--cache", tmp_path / "cache", *extra])
    rows = [json.loads(l) for l in out.splitlines() if l.strip()]
    assert len(rows) == len(texts)
    return [[(e["start"], e["end"], e["entity_group"], float(e["score"])) for e in r["entities"]] for r in rows]


def assert_same_entities(ours, theirs, tol=1e-4):
    """Same spans and labels in the same order; scores within tol."""
    assert len(ours) == len(theirs)
    for i, (a, b) in enumerate(zip(ours, theirs)):
        assert [x[:3] for x in a] == [x[:3] for x in b], f"text {i}: openmed {a} != transformers {b}"
        for x, y in zip(a, b):
            assert abs(x[3] - y[3]) <= tol, f"text {i}: score {x} vs {y}"
