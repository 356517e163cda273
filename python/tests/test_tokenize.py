import gzip
import itertools
import json
import os

import pytest

import openmed


def _ref(shared, name, n):
    path = os.path.join(shared, "tokenizers", "ref", "pubmedbert-abstract", name)
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in itertools.islice(f, n)]


@pytest.mark.parametrize("name,n", [("tricky.jsonl.gz", 511), ("corpus.jsonl.gz", 300)])
def test_matches_hf_reference(shared, tokenizer_dir, name, n):
    refs = _ref(shared, name, n)
    got = openmed.tokenize([r["text"] for r in refs], tokenizer=tokenizer_dir)
    assert len(got) == len(refs)
    for r, g in zip(refs, got):
        assert g["ids"] == r["ids"], r["id"]
        assert g["tokens"] == r["tokens"], r["id"]
        assert [list(o) for o in g["offsets"]] == r["offsets"], r["id"]
        assert g["word_ids"] == r["word_ids"], r["id"]


def test_offsets_are_code_points(tokenizer_dir):
    text = "µg of ΔF508 in café"
    enc = openmed.tokenize(text, tokenizer=tokenizer_dir)
    for tok, (s, e), w in zip(enc["tokens"], enc["offsets"], enc["word_ids"]):
        if w is None:
            assert (s, e) == (0, 0)
            continue
        assert 0 <= s < e <= len(text)
    # the last word ends at the end of the Python string
    assert max(e for _, e in enc["offsets"]) == len(text)


def test_single_vs_batch_and_options(tokenizer_dir):
    one = openmed.tokenize("Hereditary breast cancer", tokenizer=tokenizer_dir)
    batch = openmed.tokenize(["Hereditary breast cancer", ""], tokenizer=tokenizer_dir)
    assert batch[0] == one
    assert batch[1]["tokens"] == ["[CLS]", "[SEP]"]
    plain = openmed.tokenize("Hereditary breast cancer", tokenizer=tokenizer_dir, add_special_tokens=False)
    assert plain["tokens"] == one["tokens"][1:-1]
    cut = openmed.tokenize("Hereditary breast cancer", tokenizer=tokenizer_dir, max_length=3)
    assert len(cut["ids"]) == 3
    words = openmed.tokenize(["IL-2", "gene"], tokenizer=tokenizer_dir, is_split_into_words=True)
    assert words["word_ids"][0] is None and words["word_ids"][1] == 0
    assert words["word_ids"][-2] == 1


def test_tokenizer_object_lifecycle(tokenizer_dir):
    with openmed.Tokenizer(tokenizer_dir) as tk:
        enc = tk.encode("aspirin")
        assert enc["tokens"][0] == "[CLS]"
        handle = tk._handle
    assert tk._handle == 0
    tk.close()  # idempotent
    # the closed handle is rejected by the library, not a crash
    tk._handle = handle
    with pytest.raises(openmed.NotFoundError, match="not open"):
        tk.encode("aspirin")
    tk._handle = 0


def test_bad_inputs(tokenizer_dir):
    with pytest.raises(openmed.NotFoundError, match="/nonexistent/tok"):
        openmed.tokenize("x", tokenizer="/nonexistent/tok")
    with pytest.raises(TypeError):
        openmed.tokenize([1, 2], tokenizer=tokenizer_dir)
    # texts travel as JSON, so a NUL character is data, not a terminator
    enc = openmed.tokenize("a\x00b", tokenizer=tokenizer_dir)
    assert enc["tokens"][0] == "[CLS]"
    # plain C-string arguments refuse it instead of silently truncating
    from openmed import _lib

    with pytest.raises(openmed.BadInputError, match="NUL"):
        _lib.encode("a\x00b", "text")
