"""Write the long-document benchmark input: one line of N bytes (default
5,000,000) of biomedical text, the train splits of ../shared/data's corpora
in name order, words joined by single spaces, cut at a word boundary.

    python3 benchmarks/tagger/longdoc.py [--bytes N] [--data ../shared/data] OUT
"""
import argparse
import os


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--bytes", type=int, default=5_000_000)
    ap.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data"))
    a = ap.parse_args()
    words, size = [], 0
    for corpus in sorted(os.listdir(a.data)):
        path = os.path.join(a.data, corpus, "train.tsv")
        if not os.path.exists(path):
            continue
        with open(path, encoding="utf-8") as f:
            for line in f:
                w = line.split("\t", 1)[0].strip()
                if not w or w == "-DOCSTART-":
                    continue
                if size + len(w.encode()) + 1 > a.bytes:
                    break
                words.append(w)
                size += len(w.encode()) + 1
        if size + 64 > a.bytes:
            break
    tmp = a.out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(" ".join(words) + "\n")
    os.replace(tmp, a.out)
    print(f"{a.out}: {size} bytes, {len(words)} words")


if __name__ == "__main__":
    main()
