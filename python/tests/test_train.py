"""Training through the binding: DAPT from scratch builds a tiny base with
the PubMedBERT vocabulary, then token-classification runs on an
NCBI-Disease subset (full fine-tuning and LoRA), cancellation by callback
and by Ctrl-C, merge of the trained adapter and ONNX export."""

import _thread
import json
import os
import time

import pytest

import openmed
from conftest import small_train_options as _small


def test_train_full_learns(base, data, tmp_path):
    events = []
    res = openmed.train(base=base, train=data["train"], dev=data["dev"], test=data["test"],
                        output=str(tmp_path / "ner"), lora=False, epochs=8, lr=3e-3, callback=events.append,
                        **_small())
    assert res["method"] == "full"
    assert res["labels"] == ["O", "B-Disease", "I-Disease"]
    assert res["epochs"] == 8 and res["steps"] > 0
    assert res["best_dev_f1"] > 0, "dev F1 should rise above 0 after 8 epochs"
    assert res["best_dev_f1"] == pytest.approx(res["dev"]["default"]["micro"]["f1"])
    assert res["test"]["default"]["micro"]["support"] > 0
    for f in ("config.json", "model.safetensors", "labels.json", "metrics.json", "tokenizer.json"):
        assert os.path.join(str(tmp_path / "ner"), f) in res["files"]
    train_ev = [e for e in events if e["phase"] == "train"]
    assert train_ev and all(a["step"] <= b["step"] for a, b in zip(train_ev, train_ev[1:]))
    assert sum(e["phase"] == "eval" for e in events) == 8
    assert events[-1]["phase"] == "done"
    # the losses logged to metrics.jsonl fall
    losses = [json.loads(l).get("loss") for l in open(tmp_path / "ner" / "metrics.jsonl")]
    losses = [x for x in losses if x]
    assert losses[-1] < losses[0]


def test_train_lora_merge_export(base, data, tmp_path):
    out = tmp_path / "lora"
    res = openmed.train(base=base, train=data["train"], dev=data["dev"], output=str(out),
                        r=8, alpha=16, lora_dropout=0.0, epochs=2, lr=1e-2, **_small())
    assert res["method"] == "lora"
    assert 0 < res["trainable_percent"] < 100
    cfg = json.load(open(out / "adapter_config.json"))
    assert cfg["r"] == 8 and cfg["lora_alpha"] == 16
    assert res["test"] is None
    merged = tmp_path / "merged"
    m = openmed.merge(base, str(out), str(merged))
    assert m["labels"] == ["O", "B-Disease", "I-Disease"]
    assert m["modules"]
    exp = openmed.export_onnx(str(merged), str(tmp_path / "onnx"))
    assert os.path.getsize(exp["model_file"]) > 0


def test_train_bad_config(base, data, tmp_path):
    with pytest.raises(openmed.BadInputError, match="no_such_option"):
        openmed.train(base=base, train=data["train"], output=str(tmp_path / "x"), no_such_option=1)
    with pytest.raises(openmed.NotFoundError, match="missing.tsv"):
        openmed.train(base=base, train=str(tmp_path / "missing.tsv"), output=str(tmp_path / "x"))
    with pytest.raises(openmed.BadInputError, match="method"):
        openmed.train(base=base, train=data["train"], output=str(tmp_path / "x"), method="half")


def _long(base, data, out, callback):
    return openmed.train(base=base, train=data["train"], output=str(out), lora=False, epochs=500, lr=1e-4,
                         callback=callback, logging_steps=1, **_small())


def test_callback_stops_training(base, data, tmp_path):
    seen = []

    def stop_after_three(ev):
        seen.append(ev)
        return ev["phase"] == "train" and ev["step"] >= 3

    t0 = time.time()
    with pytest.raises(openmed.CancelledError, match="interrupted"):
        _long(base, data, tmp_path / "run", stop_after_three)
    assert time.time() - t0 < 60
    steps = [e["step"] for e in seen if e["phase"] == "train"]
    assert steps[-1] < 100, "training went on after the callback asked to stop"
    # a resumable checkpoint was written on the way out
    assert os.listdir(tmp_path / "run" / "checkpoints")


def test_callback_exception_propagates(base, data, tmp_path):
    class Boom(Exception):
        pass

    def boom(ev):
        if ev["phase"] == "train":
            raise Boom("from callback")

    with pytest.raises(Boom, match="from callback"):
        _long(base, data, tmp_path / "run", boom)


def test_ctrl_c_cancels_cleanly(base, data, tmp_path):
    seen = []

    def interrupt_once(ev):
        seen.append(ev)
        if ev["phase"] == "train" and len(seen) == 2:
            _thread.interrupt_main()  # what Ctrl-C does

    t0 = time.time()
    with pytest.raises(KeyboardInterrupt):
        _long(base, data, tmp_path / "run", interrupt_once)
    assert time.time() - t0 < 60
    n = len(seen)
    time.sleep(0.5)
    assert len(seen) == n, "the job kept running after Ctrl-C returned"
    assert seen[-1]["phase"] == "done"
    # the library is still usable afterwards
    assert openmed.evaluate([["O"]], [["O"]])["tokens"] == 1


def test_train_option_errors_name_the_fix(base, data, tmp_path):
    out = tmp_path / "never"
    with pytest.raises(openmed.BadInputError, match="training: epochs must be positive"):
        openmed.train(base=base, train=data["train"], output=str(out), epochs=-1)  # named as passed
    with pytest.raises(openmed.BadInputError, match="training: batch_size must be positive"):
        openmed.train(base=base, train=data["train"], output=str(out), batch_size=0)
    assert not out.exists(), "a refused run leaves no folder"
    with pytest.raises(openmed.BadInputError, match="early_stopping_patience"):
        openmed.train(base=base, train=data["train"], output=str(out), patience=2)


def test_train_keeps_library_lora_defaults(base, data, tmp_path):
    """Unset LoRA settings are the library's (training.DefaultConfig), not
    values the binding re-declares; dropout= is the hidden dropout, as
    openmed train --dropout."""
    out = tmp_path / "defaults"
    openmed.train(base=base, train=data["train"], output=str(out), epochs=1, dropout=0.2, **_small())
    with open(out / "adapter_config.json") as f:
        ac = json.load(f)
    assert (ac["r"], ac["lora_alpha"], ac["lora_dropout"]) == (16, 32, pytest.approx(0.05))
    with open(out / "training_args.json") as f:
        args = json.load(f)
    assert args["dropout"] == pytest.approx(0.2)


def test_progress_line_renders_events():
    """train()'s default display on a terminal: one rewritten line."""
    import io
    from openmed.api import _ProgressLine

    buf = io.StringIO()
    p = _ProgressLine(buf, "train")
    assert p({"phase": "train", "step": 3, "total_steps": 10, "loss": 0.5, "tokens_per_sec": 1200, "eta_seconds": 75}) is False
    p({"phase": "eval", "step": 3, "total_steps": 10, "score": 0.61})
    p({"phase": "warning", "message": "classifier newly initialised"})
    p.close()
    out = buf.getvalue()
    assert "train step 3/10  loss 0.5000  1200 tok/s  ETA 1m15s" in out
    assert "dev 0.6100" in out
    assert "warning: classifier newly initialised" in out
    assert out.endswith("\n")
