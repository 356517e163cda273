"""Tagging through the binding with models trained by the binding."""

import os
import threading

import pytest

import openmed
from conftest import rss_kib

TEXT = "Hereditary breast cancer and ovarian cancer in BRCA1 carriers; no colorectal cancer."


@pytest.fixture(scope="module")
def texts(data):
    """Dev sentences of the NCBI subset as plain text."""
    out, words = [], []
    with open(data["dev"], encoding="utf-8") as f:
        for line in f:
            if line.strip():
                words.append(line.split("\t")[0])
            elif words:
                out.append(" ".join(words))
                words = []
    return out


@pytest.fixture(scope="module")
def go_tagger(ner_model):
    with openmed.load(ner_model[0], backend="go") as t:
        yield t


def _same(a, b, tol=1e-5):
    """Entity lists equal up to float32 noise in the scores (batch padding
    changes the BLAS summation order)."""
    assert len(a) == len(b), (a, b)
    for x, y in zip(a, b):
        assert {k: v for k, v in x.items() if k != "score"} == {k: v for k, v in y.items() if k != "score"}
        assert x["score"] == pytest.approx(y["score"], abs=tol)


def _check_entities(text, ents):
    for e in ents:
        assert set(e) == {"entity_group", "score", "word", "start", "end"}, "HF pipeline keys"
        assert 0 <= e["start"] < e["end"] <= len(text)
        # code-point offsets: the Python slice is the entity's text
        assert text[e["start"]:e["end"]] == e["word"]
        assert 0 < e["score"] <= 1
        assert e["entity_group"] == "Disease"


def test_tag_one_and_batch(go_tagger, texts):
    batch = go_tagger.tag(texts)
    assert len(batch) == len(texts)
    assert sum(len(b) for b in batch) > 0, "the trained model finds no entity in 60 dev sentences"
    for t, ents in zip(texts, batch):
        _check_entities(t, ents)
    for t, ents in list(zip(texts, batch))[:10]:
        _same(go_tagger.tag(t), ents)
    assert go_tagger.tag("") == []
    assert go_tagger.tag([]) == []


def test_code_point_offsets_with_non_ascii(go_tagger):
    text = "Ménière’s disease — ΔF508 cystic fibrosis and breast cancer µ"
    _check_entities(text, go_tagger.tag(text))


def test_module_level_tag_caches(ner_model):
    a = openmed.tag(TEXT, model=ner_model[0], backend="go")
    b = openmed.tag([TEXT, TEXT], model=ner_model[0], backend="go")
    _same(b[0], a)
    _same(b[1], a)
    _check_entities(TEXT, a)


def test_ort_matches_go(ner_model, texts, tmp_path):
    if not os.environ.get("OPENMED_ORT_LIB"):
        pytest.skip("ONNX Runtime library not found (scripts/fetch_onnxruntime.sh)")
    with openmed.load(ner_model[0], backend="go") as g, \
            openmed.load(ner_model[0], backend="ort", cache_dir=str(tmp_path)) as o:
        for t in texts[:30]:
            ge, oe = g.tag(t), o.tag(t)
            assert [(e["entity_group"], e["start"], e["end"]) for e in ge] == \
                   [(e["entity_group"], e["start"], e["end"]) for e in oe], t
            for x, y in zip(ge, oe):
                assert x["score"] == pytest.approx(y["score"], abs=1e-4)


def test_aggregation_and_threshold(ner_model):
    with openmed.load(ner_model[0], backend="go", aggregation="none") as t:
        toks = t.tag(TEXT)
        assert toks and all(e["entity"].startswith(("B-", "I-")) for e in toks)
        assert all(set(e) == {"entity", "score", "index", "word", "start", "end"} for e in toks)
    with openmed.load(ner_model[0], backend="go", threshold=0.999999) as t:
        assert t.tag(TEXT) == []


def test_adapter_matches_merged_model(ner_model, lora_adapter, tmp_path):
    """An adapter attached on the Go engine tags like the merged folder."""
    adapter_dir = lora_adapter[0]
    name = os.path.basename(adapter_dir)
    merged = tmp_path / "merged"
    openmed.merge(ner_model[0], adapter_dir, str(merged))
    with openmed.load(str(merged), backend="go") as m:
        want = m.tag(TEXT)
    with openmed.load(ner_model[0], adapters=adapter_dir, backend="go") as t:
        got = t.tag(TEXT)  # one adapter: used by default
        _same(got, want, tol=1e-4)
        _same(t.tag(TEXT, adapter=name), got)
        with pytest.raises(openmed.BadInputError, match="not attached"):
            t.tag(TEXT, adapter="nope")
        _check_entities(TEXT, got)


def test_adapter_folder_as_model(base, lora_adapter, tmp_path):
    """A trained adapter folder loads as the model (merged onto its base)."""
    adapter_dir = lora_adapter[0]
    merged = tmp_path / "merged"
    openmed.merge(base, adapter_dir, str(merged))
    with openmed.load(str(merged), backend="go") as m:
        want = m.tag(TEXT)
    if not os.environ.get("OPENMED_ORT_LIB"):
        pytest.skip("ONNX Runtime library not found (scripts/fetch_onnxruntime.sh)")
    # ORT merges the adapter onto its base and exports it on the fly
    with openmed.load(adapter_dir, backend="ort", base=base, cache_dir=str(tmp_path / "cache")) as t:
        _same(t.tag(TEXT), want, tol=1e-4)


def test_tagger_errors(ner_model, tmp_path):
    with pytest.raises(openmed.NotFoundError):
        openmed.load(str(tmp_path / "missing"), backend="go")
    with pytest.raises(openmed.BadInputError, match="backend"):
        openmed.load(ner_model[0], backend="tpu")
    with pytest.raises(openmed.BadInputError, match="bogus"):
        openmed.load(ner_model[0], backend="go", bogus=1)
    t = openmed.load(ner_model[0], backend="go")
    h = t._handle
    t.close()
    t._handle = h
    with pytest.raises(openmed.NotFoundError, match="not open"):
        t.tag(TEXT)
    t._handle = 0
    with pytest.raises(ValueError, match="closed Tagger"):
        t.tag(TEXT)


def test_eight_threads_tag_identically(go_tagger, texts):
    want = go_tagger.tag(texts[:20])
    results = [None] * 8
    barrier = threading.Barrier(8)

    def worker(i):
        barrier.wait()
        results[i] = [go_tagger.tag(texts[:20]) == want for _ in range(10)]

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for i, r in enumerate(results):
        assert r and all(r), "thread %d got different entities" % i


def test_rss_flat_over_10000_tag_calls(go_tagger):
    text = "BRCA1 mutations cause hereditary breast cancer."
    for _ in range(1000):
        go_tagger.tag(text)
    before = rss_kib()
    for _ in range(10000):
        go_tagger.tag(text)
    grown = rss_kib() - before
    assert grown < 8 * 1024, "RSS grew by %d KiB over 10 000 tag calls" % grown


def test_env_set_after_start_is_forwarded(ner_model, tmp_path, monkeypatch):
    """OPENMED_MODEL set in os.environ after the library started still
    applies (the Go runtime only sees the start-up environment)."""
    monkeypatch.setenv("OPENMED_MODEL", ner_model[0])
    with openmed.load(backend="go") as t:
        _check_entities(TEXT, t.tag(TEXT))


def test_tag_argument_errors_say_what_to_do(ner_model):
    t = openmed.load(ner_model[0], backend="go")
    with pytest.raises(TypeError, match="not int"):
        t.tag(123)
    with pytest.raises(TypeError, match="decode it first"):
        t.tag(b"renal failure")
    with pytest.raises(openmed.BadInputError, match="NUL"):
        t.tag("renal\x00failure")
    t.close()
    with pytest.raises(ValueError, match="closed Tagger"):
        t.tag("renal failure")


def test_batch_options_keep_entities(ner_model, texts, go_tagger):
    """batch_size / batch_tokens (tagger.Options, shared JSON) reach the Go
    tagger and change only how windows share model calls, not the entities."""
    ref = go_tagger.tag(texts)
    for opts in ({"batch_size": 1}, {"batch_tokens": -1, "batch_size": 32}, {"batch_tokens": 64}):
        with openmed.load(ner_model[0], backend="go", **opts) as t:
            got = t.tag(texts)
        for a, b in zip(got, ref):
            _same(a, b)
    with pytest.raises(Exception, match="batch_size"):
        openmed.load(ner_model[0], backend="go", batch_size=-1)
