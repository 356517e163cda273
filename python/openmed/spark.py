"""Tagging a Spark DataFrame of documents with openmed (PySpark's mapInArrow).

    from openmed.spark import tag_dataframe
    out = tag_dataframe(spark.read.parquet("abstracts.parquet"), text_col="abstract", id_col="pmid")
    out.write.parquet("entities.parquet")

Each Python worker loads the model once (cached for the worker's life, and
for every task it runs when ``spark.python.worker.reuse`` is on) and tags
its partitions' Arrow batches ``batch_size`` documents at a time with
``threads_per_task`` ONNX Runtime threads, so a cluster's cores are filled
by tasks, not by threads inside one task.

The model reaches the workers in one of three ways:
  * ``model=None``: the default tagger embedded in libopenmed (nothing to ship;
    its base encoder must be in each worker's encoder cache), or a preset name
    such as ``"fast"`` (embedded too);
  * a folder on a path every worker sees (a shared or cluster file system);
  * an archive (``.tar.gz``, ``.tgz``, ``.tar`` or ``.zip`` of a model folder):
    shipped with ``SparkContext.addArchive`` and unpacked once per executor.

Fork safety: PySpark forks its Python workers. ``import openmed`` and
``import openmed.spark`` never load libopenmed (the Go runtime); it loads on
first use inside the worker, after the fork. A process that forks after it
loaded the library gets a clear error in the child instead of a hang.

This module imports pyspark and pyarrow lazily: ``import openmed`` keeps
working without them.
"""

import functools
import os
import sys
import tarfile
import tempfile
import threading
import time

# the entity struct's fields and their Spark SQL types (one owner: the
# DDL below and the Arrow type the workers build both come from it)
_ENTITY_FIELDS = (("start", "int"), ("end", "int"), ("label", "string"), ("score", "float"), ("text", "string"),
                  ("adapter", "string"))

#: Spark SQL type of the ``entities`` column: one struct per entity, offsets
#: in Unicode code points (as Python slices the text), ``label`` the entity
#: type (HF ``entity_group``), ``text`` the covered span (HF ``word``),
#: ``adapter`` the adapter that found it (null with a single head).
ENTITY_TYPE = "array<struct<%s>>" % ",".join("%s:%s" % f for f in _ENTITY_FIELDS)

#: tag_dataframe's default number of documents per model call.
DEFAULT_BATCH_SIZE = 32

#: Diagnostic columns added with ``diagnostics=True``: the worker's process
#: id, how many times that process had loaded a model when it tagged the
#: row (1 when the per-worker cache works), the seconds its model load took
#: and the worker's peak resident memory (MB) after the row's batch.
DIAGNOSTIC_COLUMNS = ("openmed_pid", "openmed_loads", "openmed_load_seconds", "openmed_peak_rss_mb")

_ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".zip")

# per worker process: the loaded taggers by configuration, and the load count
_worker_lock = threading.Lock()
_worker_taggers = {}
_worker_loads = 0
_worker_load_seconds = 0.0


def _peak_rss_mb():
    """This process's peak resident set (Linux VmHWM), MB; 0 where unknown."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 0


def _is_archive(path):
    return isinstance(path, str) and path.endswith(_ARCHIVE_SUFFIXES) and os.path.isfile(path)


def _archive_link(path):
    """The name Spark unpacks an archive under (SparkFiles root / name)."""
    base = os.path.basename(path)
    for s in _ARCHIVE_SUFFIXES:
        if base.endswith(s):
            base = base[: -len(s)]
            break
    return "openmed_model_" + "".join(c if c.isalnum() else "_" for c in base)


def pack_model(model_dir, archive=None):
    """Pack a model folder as a .tar.gz for ``tag_dataframe(model=...)``
    (returns the archive's path; a temporary file unless ``archive`` is
    given). Written to a temporary name and renamed: never half-written."""
    model_dir = os.fspath(model_dir)
    if not os.path.isdir(model_dir):
        raise FileNotFoundError("openmed.spark: model folder %s does not exist" % model_dir)
    if archive is None:
        fd, archive = tempfile.mkstemp(prefix="openmed-model-", suffix=".tar.gz")
        os.close(fd)
    archive = os.fspath(archive)
    tmp = archive + ".tmp"
    with tarfile.open(tmp, "w:gz") as tar:
        for name in sorted(os.listdir(model_dir)):
            tar.add(os.path.join(model_dir, name), arcname=name)
    os.replace(tmp, archive)
    return archive


def _resolve_unpacked(root):
    """An unpacked archive's model folder: the root, or its only sub-folder."""
    if os.path.isfile(os.path.join(root, "config.json")) or os.path.isfile(os.path.join(root, "default.json")) \
            or os.path.isfile(os.path.join(root, "adapter_config.json")):
        return root
    entries = [e for e in os.listdir(root) if not e.startswith(".")]
    if len(entries) == 1 and os.path.isdir(os.path.join(root, entries[0])):
        return os.path.join(root, entries[0])
    return root


def _worker_tagger(model, link, load_options):
    """The worker process's tagger for this configuration, loaded once."""
    global _worker_loads, _worker_load_seconds
    key = (model, link, tuple(sorted((k, repr(v)) for k, v in load_options.items())))
    with _worker_lock:
        t = _worker_taggers.get(key)
        if t is None:
            import openmed

            path = model
            if link is not None:
                from pyspark import SparkFiles

                path = _resolve_unpacked(os.path.join(SparkFiles.getRootDirectory(), link))
            start = time.perf_counter()
            t = openmed.load(path, **load_options)
            t.tag("warm-up")  # the default tagger extracts and exports on first use
            _worker_load_seconds += time.perf_counter() - start
            _worker_taggers[key] = t
            _worker_loads += 1
        return t


def _entity_rows(ents, text):
    return [{"start": e["start"], "end": e["end"], "label": e["entity_group"], "score": float(e["score"]),
             "text": text[e["start"]:e["end"]], "adapter": e.get("adapter")} for e in ents]


def _tag_texts(tagger, texts, batch_size):
    """Entity rows per text (None for a null text), batch_size at a time."""
    out = [None] * len(texts)
    idx = [i for i, t in enumerate(texts) if t is not None]
    for s in range(0, len(idx), batch_size):
        chunk = idx[s:s + batch_size]
        res = tagger.tag([texts[i] for i in chunk])
        for i, ents in zip(chunk, res):
            out[i] = _entity_rows(ents, texts[i])
    return out


def _map_batches(model, link, load_options, text_col, keep, batch_size, diagnostics, batches):
    """mapInArrow's function (bound with functools.partial: a top-level
    function pickles by reference, so the worker uses this module's real
    per-process cache, not a pickled copy of it)."""
    import pyarrow as pa

    tagger = _worker_tagger(model, link, load_options)
    arrow = {"int": pa.int32(), "float": pa.float32(), "string": pa.string()}
    ent_type = pa.list_(pa.struct([(name, arrow[ty]) for name, ty in _ENTITY_FIELDS]))
    for batch in batches:
        texts = batch.column(batch.schema.get_field_index(text_col)).to_pylist()
        rows = _tag_texts(tagger, texts, batch_size)
        cols = [batch.column(batch.schema.get_field_index(c)) for c in keep]
        names = list(keep)
        cols.append(pa.array(rows, type=ent_type))
        names.append("entities")
        if diagnostics:
            n = batch.num_rows
            cols.append(pa.array([os.getpid()] * n, type=pa.int64()))
            cols.append(pa.array([_worker_loads] * n, type=pa.int64()))
            cols.append(pa.array([_worker_load_seconds] * n, type=pa.float64()))
            cols.append(pa.array([_peak_rss_mb()] * n, type=pa.int64()))
            names += list(DIAGNOSTIC_COLUMNS)
        yield pa.RecordBatch.from_arrays(cols, names=names)


def tag_dataframe(df, model=None, text_col="text", id_col=None, batch_size=DEFAULT_BATCH_SIZE, threads_per_task=1,
                  diagnostics=False, **tag_options):
    """Return ``df`` with an ``entities`` column (see ENTITY_TYPE) holding
    each document's entities, as ``openmed.tag`` finds them in-process.

    ``model``: None (the default tagger), a preset name embedded in
    libopenmed ("default", "fast": a bare name that is not a path), a model
    folder every worker can read, or an archive of one (.tar.gz/.tgz/.tar/.zip; see pack_model),
    which is shipped to the executors with SparkContext.addArchive.
    ``text_col`` names the string column to tag (null texts get null
    entities). With ``id_col`` the result keeps only that column and
    ``entities``; without, every input column. ``batch_size`` documents go
    to the model together; ``threads_per_task`` ONNX Runtime threads run
    each task. ``tag_options`` are openmed.load's (aggregation, threshold,
    adapters, backend, ignore_labels, overlap, ...). ``diagnostics`` adds
    DIAGNOSTIC_COLUMNS.
    """
    from pyspark.sql.types import StructField, StructType, _parse_datatype_string

    if text_col not in df.columns:
        raise ValueError("openmed.spark: no column %r in the DataFrame (columns: %s)" % (text_col, df.columns))
    if id_col is not None and id_col not in df.columns:
        raise ValueError("openmed.spark: no id column %r in the DataFrame (columns: %s)" % (id_col, df.columns))
    if "entities" in df.columns:
        raise ValueError("openmed.spark: the DataFrame already has an 'entities' column")
    if batch_size < 1:
        raise ValueError("openmed.spark: batch_size must be ≥ 1, got %r" % (batch_size,))
    if threads_per_task < 1:
        raise ValueError("openmed.spark: threads_per_task must be ≥ 1, got %r" % (threads_per_task,))

    link = None
    if isinstance(model, str) and model and os.sep not in model and "/" not in model and not os.path.exists(model):
        pass  # a preset name: each worker's openmed.load resolves it (and names the presets if unknown)
    elif model is not None:
        model = os.path.abspath(os.fspath(model))
        if _is_archive(model):
            link = _archive_link(model)
            sc = df.sparkSession.sparkContext
            if link not in _shipped(sc):
                sc.addArchive(model + "#" + link)
                _shipped(sc).add(link)
            model = None
        elif not os.path.exists(model):
            raise FileNotFoundError("openmed.spark: model %s does not exist (a folder every worker can read, "
                                    "or an archive of one: .tar.gz, .tgz, .tar, .zip)" % model)
    load_options = dict(tag_options)
    load_options["threads"] = int(threads_per_task)

    keep = [id_col] if id_col is not None else list(df.columns)
    fields = [df.schema[c] for c in keep]
    fields.append(StructField("entities", _parse_datatype_string(ENTITY_TYPE), True))
    if diagnostics:
        from pyspark.sql.types import DoubleType, LongType

        types = (LongType(), LongType(), DoubleType(), LongType())
        fields += [StructField(c, ty, False) for c, ty in zip(DIAGNOSTIC_COLUMNS, types)]
    schema = StructType(fields)
    mapper = functools.partial(_map_batches, model, link, load_options, text_col, keep, int(batch_size), diagnostics)
    return df.select(*(keep + ([text_col] if text_col not in keep else []))).mapInArrow(mapper, schema)


_shipped_lock = threading.Lock()
_shipped_by_context = {}


def _shipped(sc):
    """Archive links already added to this SparkContext (addArchive refuses twice)."""
    with _shipped_lock:
        return _shipped_by_context.setdefault(id(sc), set())


def main(argv=None):
    """``python -m openmed.spark`` (and ``openmed spark-tag``): tag a
    Parquet or JSON-lines file of documents with Spark and write the result
    as a Spark output folder (Parquet, or JSON lines for a .jsonl input)."""
    import argparse
    import importlib

    ap = argparse.ArgumentParser(prog="openmed spark-tag", description=main.__doc__)
    ap.add_argument("--input", required=True, help="documents: .parquet (file or folder) or .jsonl ({\"text\": ...} per line)")
    ap.add_argument("--output", required=True, help="output folder (Spark writes part files and _SUCCESS)")
    ap.add_argument("--model", default=None, help="model folder or archive (default: the default tagger)")
    ap.add_argument("--master", default="local[*]", help="Spark master URL (default local[*])")
    ap.add_argument("--text-col", default="text")
    ap.add_argument("--id-col", default=None, help="keep only this column and entities")
    ap.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    ap.add_argument("--threads-per-task", type=int, default=1)
    ap.add_argument("--format", choices=("parquet", "jsonl"), default=None,
                    help="output format (default: the input's)")
    ap.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    a = ap.parse_args(argv)

    fmt_in = "parquet" if a.input.rstrip("/").endswith(".parquet") or os.path.isdir(a.input) else "jsonl"
    fmt_out = a.format or fmt_in
    if not os.path.exists(a.input):
        ap.error("--input %s does not exist" % a.input)
    if os.path.exists(a.output) and not a.overwrite:
        ap.error("--output %s exists (pass --overwrite to replace it)" % a.output)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.master(a.master).appName("openmed spark-tag").getOrCreate()
    try:
        t0 = time.time()
        df = spark.read.parquet(a.input) if fmt_in == "parquet" else spark.read.json(a.input)
        # the module by its import name: run as __main__, its functions would
        # pickle by value (with its locks) instead of by reference
        mod = importlib.import_module("openmed.spark")
        out = mod.tag_dataframe(df, model=a.model, text_col=a.text_col, id_col=a.id_col, batch_size=a.batch_size,
                            threads_per_task=a.threads_per_task)
        w = out.write.mode("overwrite" if a.overwrite else "errorifexists")
        (w.parquet if fmt_out == "parquet" else w.json)(a.output)
        done = spark.read.parquet(a.output) if fmt_out == "parquet" else spark.read.json(a.output)
        n = done.count()
        secs = time.time() - t0
        print("openmed spark-tag: %d documents in %.1f s (%.1f documents/s) -> %s (%s)"
              % (n, secs, n / max(secs, 1e-9), a.output, fmt_out), file=sys.stderr)
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
