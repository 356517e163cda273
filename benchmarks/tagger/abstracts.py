"""Write abstract-length benchmark input: the first N (default 25) documents
of a corpus's test split as one line each, every document 10 consecutive
sentences whose words are joined by single spaces (how the issue-18 raw-text
scoring builds its paragraphs); with --sentences 1, one sentence a line.

    python3 benchmarks/tagger/abstracts.py [--docs N] [--sentences K] [--corpus NCBI-Disease] [--data ../shared/data] OUT
"""
import argparse
import os


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--docs", type=int, default=25)
    ap.add_argument("--sentences", type=int, default=10, help="sentences per line")
    ap.add_argument("--corpus", default="NCBI-Disease")
    ap.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data"))
    a = ap.parse_args()
    docs, cur, words = [], [], []
    with open(os.path.join(a.data, a.corpus, "test.tsv"), encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                if words:
                    cur.append(" ".join(words))
                    words = []
                if len(cur) >= a.sentences:
                    docs.append(" ".join(cur))
                    cur = []
                continue
            words.append(line.split("\t")[0])
    with open(a.out, "w", encoding="utf-8") as f:
        f.write("\n".join(docs[: a.docs]) + "\n")


if __name__ == "__main__":
    main()
