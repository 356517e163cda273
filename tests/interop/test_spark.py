"""openmed.spark on real Apache Spark in local mode, offline (issue 21):
tag_dataframe over ≥ 2,000 documents in ≥ 4 partitions gives exactly the
entities of in-process openmed.tag; each Python worker loads the model once;
spark.python.worker.reuse=false works; a model shipped as an archive
(SparkContext.addArchive) tags like the same model loaded in-process.

The openmed package under test is this checkout's (python/, with
build/libopenmed.so, which scripts/test_interop.sh builds)."""

import os
import subprocess
import sys

import pytest

from conftest import REPO, read_conll

N_DOCS = 2000


def spark_session(**conf):
    from pyspark.sql import SparkSession

    os.environ["PYSPARK_PYTHON"] = sys.executable  # workers run this venv's python
    b = SparkSession.builder.master(conf.pop("master", "local[2]")).appName("openmed-interop")
    for k, v in {"spark.ui.enabled": "false", "spark.sql.shuffle.partitions": "4", **conf}.items():
        b = b.config(k, v)
    return b.getOrCreate()


@pytest.fixture(scope="module")
def docs(shared):
    sents = read_conll(shared / "data" / "NCBI-Disease" / "test.tsv") + \
        read_conll(shared / "data" / "BC5CDR-Chem" / "test.tsv")
    texts = [" ".join(t) for t, _ in sents][:N_DOCS]
    assert len(texts) == N_DOCS
    return texts


# The Spark plumbing is checked on the small tagger (the fast preset: seconds
# for 2,000 documents); the CLI test runs the BERT-base default tagger, base
# from the encoder cache, on 100 of them.
FAST = "fast"


def fast_folder(dst):
    """models/fast.json as a model folder (its manifest as default.json and
    copies of the folders it names), for pack_model."""
    import json
    import shutil

    with open(REPO / "models" / "fast.json") as f:
        m = json.load(f)
    dst.mkdir()
    for d in [m["base"]] + list(m["adapters"].values()):
        shutil.copytree(REPO / "models" / d, dst / d)
    with open(dst / "default.json", "w") as f:
        json.dump(m, f)
    return dst


def in_process(texts, model=None):
    import openmed

    with openmed.load(model, threads=1) as t:
        res = [t.tag(texts[i:i + 32]) for i in range(0, len(texts), 32)]
    return [[(e["start"], e["end"], e["entity_group"], e["score"], e.get("adapter")) for e in ents]
            for chunk in res for ents in chunk]


def from_spark(rows):
    out = {}
    for r in rows:
        out[r["id"]] = None if r["entities"] is None else \
            [(e["start"], e["end"], e["label"], e["score"], e["adapter"]) for e in r["entities"]]
    return [out[i] for i in range(len(out))]


def assert_same(spark_ents, ref, texts):
    assert len(spark_ents) == len(ref)
    n = 0
    for i, (a, b) in enumerate(zip(spark_ents, ref)):
        assert [x[:3] + x[4:] for x in a] == [x[:3] + x[4:] for x in b], f"doc {i} ({texts[i][:80]!r})"
        # float32 scores; documents batch differently in and out of Spark (≈1e-7)
        assert all(abs(x[3] - y[3]) <= 1e-5 for x, y in zip(a, b)), f"doc {i}: scores"
        n += len(a)
    assert n >= len(texts) // 4, f"only {n} entities in {len(texts)} documents: nothing to compare"


def test_import_does_not_load_the_library():
    code = "import openmed, openmed.spark, openmed._lib as l; assert l._lib is None, 'loaded at import'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO / "python")})


def test_tag_dataframe_local2_equals_in_process(docs):
    from openmed.spark import tag_dataframe

    spark = spark_session()
    try:
        df = spark.createDataFrame(list(enumerate(docs)), "id long, text string").repartition(4)
        assert df.rdd.getNumPartitions() >= 4
        rows = tag_dataframe(df, model=FAST, id_col="id", diagnostics=True).collect()
    finally:
        spark.stop()
    assert_same(from_spark(rows), in_process(docs, model=FAST), docs)
    loads = {}
    for r in rows:
        loads[r["openmed_pid"]] = max(loads.get(r["openmed_pid"], 0), r["openmed_loads"])
    assert 1 <= len(loads) <= 2, f"local[2] ran {len(loads)} Python workers"
    assert set(loads.values()) == {1}, f"model loads per worker: {loads}"


def test_no_worker_reuse_and_archive(docs, tmp_path):
    from openmed.spark import pack_model, tag_dataframe

    texts = docs[:200] + [None, ""]
    folder = fast_folder(tmp_path / "fast")
    archive = pack_model(folder, tmp_path / "models.tar.gz")
    spark = spark_session(**{"spark.python.worker.reuse": "false"})
    try:
        df = spark.createDataFrame(list(enumerate(texts)), "id long, text string").repartition(4)
        rows = tag_dataframe(df, model=str(archive), id_col="id", diagnostics=True).collect()
    finally:
        spark.stop()
    got = from_spark(rows)
    assert got[-2] is None and got[-1] == []
    assert_same(got[:-2], in_process(texts[:-2], model=folder), texts[:-2])
    assert all(r["openmed_loads"] == 1 for r in rows)


def test_cli_spark_tag_parquet(openmed_bin, docs, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    texts = docs[:100]
    src = tmp_path / "docs.parquet"
    pq.write_table(pa.table({"id": list(range(len(texts))), "text": texts}), src)
    out = tmp_path / "out"
    env = {**os.environ, "OPENMED_PYTHON": sys.executable}
    subprocess.run([str(openmed_bin), "spark-tag", "--input", str(src), "--output", str(out), "--master", "local[2]",
                    "--id-col", "id"], check=True, env=env, capture_output=True)
    assert (out / "_SUCCESS").exists()
    rows = pq.read_table(out).to_pylist()
    assert_same(from_spark(rows), in_process(texts), texts)
    # an existing output is not overwritten without --overwrite
    p = subprocess.run([str(openmed_bin), "spark-tag", "--input", str(src), "--output", str(out)], env=env,
                       capture_output=True, text=True)
    assert p.returncode != 0 and "--overwrite" in p.stderr
