"""Corpus-scale tagging on Apache Spark against in-process tagging (issue 21).

Abstract-length documents (consecutive sentences of the ten corpora's
training files, joined to about 1,500 characters) are tagged with the
default tagger: in-process at one thread, then with openmed.spark on
local[1], local[2] and a standalone cluster (a master and two workers of one
core each on 127.0.0.1, started here with pyspark's spark-class). Printed:
documents/s and tokens/s per core, Spark's overhead against in-process, model
load time and peak RSS per Python worker, local[2]'s scaling efficiency, and
the core-hours 36 M PubMed abstracts would take.

usage: run.py [--docs 10000] [--shared ../shared] [--out results.json]
(run with the peers venv's python and PYTHONPATH=python, OPENMED_LIB set;
benchmarks/spark/run.sh does that)
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def documents(shared, n, size=1500):
    """n documents of about size characters: consecutive sentences of the
    ten corpora's train, then devel, then test files. Where the corpora
    hold fewer, the list repeats from its start (say so in the output: the
    tagger keeps no cache across documents, so a repeat costs the same)."""
    docs, cur = [], []
    for split in ("train", "devel", "test"):
        for corpus in sorted(p for p in (shared / "data").iterdir() if p.is_dir()):
            words = []
            for line in (corpus / (split + ".tsv")).read_text(encoding="utf-8").splitlines():
                if line.strip():
                    w = line.split("\t")[0]
                    if w != "-DOCSTART-":
                        words.append(w)
                    continue
                if words:
                    cur.append(" ".join(words))
                    words = []
                    if sum(len(s) + 1 for s in cur) >= size:
                        docs.append(" ".join(cur))
                        cur = []
                        if len(docs) == n:
                            return docs, n
    distinct = len(docs)
    while len(docs) < n:
        docs.append(docs[len(docs) - distinct])
    return docs, distinct


def spark_run(master, docs, conf=None):
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    from openmed.spark import tag_dataframe

    t0 = time.perf_counter()
    b = SparkSession.builder.master(master).appName("openmed-bench").config("spark.ui.enabled", "false")
    for k, v in (conf or {}).items():
        b = b.config(k, v)
    spark = b.getOrCreate()
    startup = time.perf_counter() - t0
    try:
        parts = 8
        df = spark.createDataFrame(list(enumerate(docs)), "id long, text string").repartition(parts).cache()
        df.count()
        t0 = time.perf_counter()
        out = tag_dataframe(df, id_col="id", diagnostics=True)
        rows = out.groupBy("openmed_pid").agg(
            F.count("*").alias("docs"), F.sum(F.size("entities")).alias("entities"),
            F.max("openmed_loads").alias("loads"), F.max("openmed_load_seconds").alias("load_s"),
            F.max("openmed_peak_rss_mb").alias("rss_mb")).collect()
        secs = time.perf_counter() - t0
    finally:
        spark.stop()
    return {"seconds": secs, "startup_seconds": startup, "workers": [r.asDict() for r in rows],
            "entities": sum(r["entities"] for r in rows), "docs": sum(r["docs"] for r in rows)}


def standalone(docs):
    import pyspark

    home = Path(pyspark.__file__).parent
    cls = str(home / "bin" / "spark-class")
    env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOCAL_IP": "127.0.0.1"}
    procs = [subprocess.Popen([cls, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", "7177",
                               "--webui-port", "8180"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    time.sleep(5)
    for i in range(2):
        procs.append(subprocess.Popen([cls, "org.apache.spark.deploy.worker.Worker", "--cores", "1", "--memory", "2g",
                                       "--webui-port", str(8181 + i), "spark://127.0.0.1:7177"], env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    time.sleep(8)
    try:
        return spark_run("spark://127.0.0.1:7177", docs, {"spark.executor.cores": "1", "spark.cores.max": "2",
                                                          "spark.executor.memory": "1g"})
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=10000)
    ap.add_argument("--shared", default=str(REPO.parent / "shared"))
    ap.add_argument("--out", default="/tmp/openmed-spark-bench.json")
    ap.add_argument("--only", default="inprocess,local1,local2,standalone")
    a = ap.parse_args()
    os.environ["PYSPARK_PYTHON"] = sys.executable
    import openmed

    docs, distinct = documents(Path(a.shared), a.docs)
    toks = openmed.tokenize(docs, tokenizer=str(REPO / "models" / "openmed-small-bio"))
    n_tokens = sum(len(t["ids"]) - 2 for t in toks)
    res = {"docs": len(docs), "tokens": n_tokens, "chars": sum(map(len, docs)), "distinct": distinct, "cpu": os.cpu_count(), "runs": {}}
    only = a.only.split(",")
    if "inprocess" in only:
        t0 = time.perf_counter()
        tagger = openmed.load(threads=1)
        tagger.tag("warm-up")
        load = time.perf_counter() - t0
        t0 = time.perf_counter()
        n_ents = sum(len(e) for i in range(0, len(docs), 32) for e in tagger.tag(docs[i:i + 32]))
        res["runs"]["in-process, 1 thread"] = {"cores": 1, "seconds": time.perf_counter() - t0, "load_seconds": load,
                                              "entities": n_ents, "docs": len(docs)}
        tagger.close()
    for name, master, cores in (("local1", "local[1]", 1), ("local2", "local[2]", 2)):
        if name in only:
            r = spark_run(master, docs)
            r["cores"] = cores
            res["runs"]["Spark %s" % master] = r
    if "standalone" in only:
        r = standalone(docs)
        r["cores"] = 2
        res["runs"]["Spark standalone, 2 workers x 1 core"] = r
    Path(a.out).write_text(json.dumps(res, indent=1))
    table(res)


def table(res):
    n, toks = res["docs"], res["tokens"]
    base = res["runs"].get("in-process, 1 thread")
    print("%d documents (%d distinct), %d tokens (%.0f tokens/document), %d CPUs\n" % (
        n, res.get("distinct", n), toks, toks / n, res["cpu"]))
    print("| run | cores | seconds | documents/s | documents/s/core | tokens/s/core | time×cores vs in-process | "
          "model load s (per worker) | peak RSS MB (per worker) | entities |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, r in res["runs"].items():
        c, s = r["cores"], r["seconds"]
        ws = r.get("workers")
        load = ", ".join("%.1f" % w["load_s"] for w in ws) if ws else "%.1f" % r["load_seconds"]
        rss = ", ".join(str(w["rss_mb"]) for w in ws) if ws else "—"
        ratio = (s * c) / base["seconds"] if base else float("nan")
        print("| %s | %d | %.1f | %.2f | %.2f | %.0f | %.2f | %s | %s | %d |" % (
            name, c, s, n / s, n / s / c, toks / s / c, ratio, load, rss, r["entities"]))
    l1, l2 = res["runs"].get("Spark local[1]"), res["runs"].get("Spark local[2]")
    if l1 and l2:
        print("\nlocal[2] scaling efficiency: %.0f%%" % (100 * l1["seconds"] / (2 * l2["seconds"])))
    best = min(res["runs"].values(), key=lambda r: r["seconds"] * r["cores"])
    per_core = n / (best["seconds"] * best["cores"])
    print("36 M abstracts at %.2f documents/s/core: %.0f core-hours (Spark NLP's published CPU figure, about 1 "
          "document/s/core on 500-token clinical notes with a BiLSTM tagger, would be 10,000 core-hours; a different "
          "model and document length)" % (per_core, 36e6 / per_core / 3600))


if __name__ == "__main__":
    main()
