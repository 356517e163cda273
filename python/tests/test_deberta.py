"""DeBERTa-v3 through the binding (issue #7): LoRA training from the HF
fixture DebertaV2ForTokenClassification, tagging with the result, and tagging
with the fixture itself compared with the Go CLI's ``openmed tag``.

The fixture (../shared/fixtures/deberta_v3, made with transformers 4.36.2)
has a 128-entry vocabulary and no tokenizer, so a 128-piece Unigram
tokenizer.json is derived here from the real deberta-v3 tokenizer.json (same
normalizer, Metaspace pre-tokenizer and [CLS]/[SEP] template; pieces: the
four specials, letters with and without '▁', punctuation, a few words)."""

import json
import os
import shutil
import string
import subprocess

import pytest

import openmed
from conftest import REPO, _subset, small_train_options

TEXT = "Cisplatin nephrotoxicity and breast cancer in patients ( BRCA1 ) ."
WORDS = ["▁the", "▁of", "▁and", "▁in", "▁with", "▁patients", "▁cancer", "▁disease", "▁was", "▁a", "ing", "ed",
         "tion", "▁syndrome", "▁deficiency", "▁breast", "▁renal", "▁failure", "▁mice", "▁induced", "▁to", "▁is",
         "▁for", "er", "▁by", "▁on", "▁as", "▁that", "s"]


@pytest.fixture(scope="module")
def deberta_tokenizer(shared, tmp_path_factory):
    """A folder with a 128-piece DeBERTa-v3-style tokenizer.json."""
    src = os.path.join(shared, "tokenizers", "deberta-v3")
    with open(os.path.join(src, "tokenizer.json"), encoding="utf-8") as f:
        tj = json.load(f)
    vocab = [["[PAD]", 0.0], ["[CLS]", 0.0], ["[SEP]", 0.0], ["[UNK]", 0.0], ["▁", -3.0]]
    vocab += [[w, -2.0] for w in WORDS]
    vocab += [["▁" + c, -4.5] for c in string.ascii_lowercase]
    vocab += [[c, -5.0] for c in string.ascii_lowercase + string.ascii_uppercase + string.digits]
    vocab += [[c, -5.0] for c in ".,-()"]
    vocab = vocab[:127]
    assert len(vocab) == 127, len(vocab)
    vocab.append(["[MASK]", 0.0])
    tj["model"]["vocab"] = vocab
    tj["added_tokens"] = [dict(t, id=(127 if t["content"] == "[MASK]" else t["id"])) for t in tj["added_tokens"]]
    out = tmp_path_factory.mktemp("deberta_tok")
    with open(out / "tokenizer.json", "w", encoding="utf-8") as f:
        json.dump(tj, f, ensure_ascii=False)
    shutil.copy(os.path.join(src, "tokenizer_config.json"), out / "tokenizer_config.json")
    return str(out)


@pytest.fixture(scope="module")
def deberta_fixture(shared, deberta_tokenizer, tmp_path_factory):
    """The HF DeBERTa-v3 fixture model with that tokenizer beside it."""
    out = tmp_path_factory.mktemp("deberta_fx")
    fx = os.path.join(shared, "fixtures", "deberta_v3")
    for f in ("config.json", "model.safetensors"):
        shutil.copy(os.path.join(fx, f), out / f)
    for f in os.listdir(deberta_tokenizer):
        shutil.copy(os.path.join(deberta_tokenizer, f), out / f)
    return str(out)


def test_deberta_tokenizer_ids_fit(deberta_fixture):
    enc = openmed.tokenize(TEXT, tokenizer=deberta_fixture)
    assert enc["ids"][0] == 1 and enc["ids"][-1] == 2  # [CLS] ... [SEP]
    assert all(0 <= i < 128 for i in enc["ids"])
    assert 3 not in enc["ids"], enc["tokens"]  # every character is covered: no [UNK]


def test_deberta_lora_train_and_tag(deberta_fixture, ncbi, tmp_path):
    """openmed.train() fits a LoRA adapter on query_proj/value_proj of the
    fixture DeBERTa-v3 (1 epoch, 24 sentences); the adapter folder tags on
    both backends alike and differs from the untrained head."""
    train = _subset(os.path.join(ncbi, "train.tsv"), tmp_path / "train.tsv", 24)
    dev = _subset(os.path.join(ncbi, "devel.tsv"), tmp_path / "dev.tsv", 8)
    out = tmp_path / "adapter"
    events = []
    res = openmed.train(base=deberta_fixture, train=train, dev=dev, output=str(out), r=4, alpha=8, lora_dropout=0.0,
                        epochs=1, lr=5e-3, callback=events.append, **small_train_options(batch_size=8, max_length=64))
    assert res["best_dev_f1"] >= 0
    assert any(e.get("phase") == "done" for e in events)
    with open(out / "adapter_config.json") as f:
        ac = json.load(f)
    assert sorted(ac["target_modules"]) == ["query_proj", "value_proj"]
    with open(out / "config.json") as f:
        cfg = json.load(f)
    assert cfg["architectures"] == ["DebertaV2ForTokenClassification"]
    assert sorted(cfg["id2label"].values()) == ["B-Disease", "I-Disease", "O"]
    with openmed.load(str(out), backend="go", ignore_labels=[]) as t:
        got = t.tag(TEXT)
    assert got and {e["entity_group"] for e in got} <= {"O", "Disease"}
    for e in got:
        assert TEXT[e["start"]:e["end"]] == e["word"], e
    # ORT (merged and exported on the fly) agrees with the Go engine.
    try:
        with openmed.load(str(out), backend="ort", ignore_labels=[], cache_dir=str(tmp_path / "cache")) as t:
            ort = t.tag(TEXT)
    except openmed.NotAvailableError as e:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip("ONNX Runtime unavailable: %s" % e)
    assert [(e["entity_group"], e["start"], e["end"]) for e in ort] == \
        [(e["entity_group"], e["start"], e["end"]) for e in got]
    for a, b in zip(ort, got):
        assert a["score"] == pytest.approx(b["score"], abs=1e-4)


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    """The openmed CLI, built from this checkout."""
    out = str(tmp_path_factory.mktemp("bin") / "openmed")
    subprocess.run(["go", "build", "-o", out, "./cmd/openmed"], cwd=REPO, check=True)
    return out


@pytest.mark.parametrize("aggregation", ["simple", "first", "none"])
def test_deberta_fixture_matches_cli(deberta_fixture, cli, aggregation):
    """Tagging with the HF fixture model through the binding equals the Go
    CLI's `openmed tag` on the same text (Go engine)."""
    with openmed.load(deberta_fixture, backend="go", aggregation=aggregation, ignore_labels=[]) as t:
        got = t.tag(TEXT)
    res = subprocess.run([cli, "tag", "--model", deberta_fixture, "--backend", "go", "--aggregation", aggregation,
                          "--ignore-labels=", "--quiet", "--format", "json", TEXT], capture_output=True, text=True,
                         check=True)
    want = json.loads(res.stdout)
    assert want["text"] == TEXT
    want = want["entities"]
    assert got, "no entities with ignore_labels=[]: every word should be grouped"
    assert len(got) == len(want)
    key = "entity" if aggregation == "none" else "entity_group"
    for g, w in zip(got, want):
        assert (g[key], g["start"], g["end"], g["word"]) == (w[key], w["start"], w["end"], w["word"])
        assert g["score"] == pytest.approx(w["score"], abs=1e-6)
    assert {e[key].split("-")[-1] for e in got} <= {"O", "Disease", "Chemical"}
