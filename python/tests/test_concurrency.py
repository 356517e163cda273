"""Thread safety and memory stability of the binding."""

import threading

import pytest

import openmed
from conftest import rss_kib

TEXTS = [
    "BRCA1 mutations cause hereditary breast and ovarian cancer.",
    "Deficiency of the C7 component of complement.",
    "ΔF508 is the commonest cystic fibrosis allele (≈70%).",
]


def test_eight_threads_identical(tokenizer_dir):
    want_tok = openmed.tokenize(TEXTS, tokenizer=tokenizer_dir)
    gold = [["B-D", "I-D", "O", "B-D"]] * 50
    pred = [["B-D", "I-D", "O", "O"]] * 50
    want_eval = openmed.evaluate(gold, pred)
    results = [None] * 8
    start = threading.Barrier(8)

    def worker(i):
        start.wait()
        got = []
        for _ in range(100):
            got.append(openmed.tokenize(TEXTS, tokenizer=tokenizer_dir) == want_tok)
            got.append(openmed.evaluate(gold, pred) == want_eval)
        results[i] = got

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, r in enumerate(results):
        assert r is not None and len(r) == 200 and all(r), "thread %d differs" % i


def test_rss_flat_over_10000_calls(tokenizer_dir):
    for _ in range(2000):  # warm-up: caches, Go heap, allocator arenas
        openmed.tokenize(TEXTS, tokenizer=tokenizer_dir)
    before = rss_kib()
    for _ in range(10000):
        openmed.tokenize(TEXTS, tokenizer=tokenizer_dir)
    grown = rss_kib() - before
    # 10 000 calls return ~30 MB of JSON in total; leaking any per-call
    # buffer would grow RSS by tens of MB.
    assert grown < 8 * 1024, "RSS grew by %d KiB over 10 000 calls" % grown
