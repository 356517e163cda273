"""PyPI `tokenizers` peer (issue 20): tokens/s of Tokenizer.encode_batch,
in-process in Python, on the NCBI-Disease train sentences (CoNLL tokens
joined by one space), special tokens included — what a transformers user's
fast tokenizer runs. Threads come from RAYON_NUM_THREADS (set before the
import; run.sh sets 1 for the single-threaded row). One JSON line per
tokenizer, the fields of bench.js.

    RAYON_NUM_THREADS=1 $(bash scripts/peers_env.sh) benchmarks/tokenize/bench_py.py SHARED NAMES [REPS]
"""
import json
import os
import sys
import time


def read_sentences(path):
    out, cur = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                if cur:
                    out.append(" ".join(cur))
                cur = []
                continue
            cur.append(line.split("\t")[0].rstrip("\n"))
    if cur:
        out.append(" ".join(cur))
    return out


def main():
    shared, names = sys.argv[1], sys.argv[2]
    reps = int(sys.argv[3]) if len(sys.argv) > 3 else 7
    import tokenizers
    from tokenizers import Tokenizer

    sents = read_sentences(os.path.join(shared, "data", "NCBI-Disease", "train.tsv"))
    threads = int(os.environ.get("RAYON_NUM_THREADS") or os.cpu_count())
    for name in names.split(","):
        tok = Tokenizer.from_file(os.path.join(shared, "tokenizers", name, "tokenizer.json"))
        tokens, times = 0, []
        for r in range(reps + 1):
            t0 = time.perf_counter()
            encs = tok.encode_batch(sents)
            secs = time.perf_counter() - t0
            if r == 0:
                tokens = sum(len(e.ids) for e in encs)
                continue
            times.append(secs)
        times.sort()
        med = times[len(times) // 2]
        print(json.dumps({"impl": "hf-tokenizers-pypi", "version": tokenizers.__version__, "tokenizer": name,
                          "threads": threads, "sentences": len(sents), "tokens": tokens, "seconds": med,
                          "best_seconds": times[0], "tokens_per_s": tokens / med,
                          "best_tokens_per_s": tokens / times[0]}), flush=True)


if __name__ == "__main__":
    main()
