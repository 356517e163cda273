"""Hyper-parameter search and best-of-breed selection through the binding:
a 2-trial, 1-epoch search on the tiny base (stopped by its callback after
the first trial, resumed, then called again without repeating a trial), bad
search inputs, and select() on two finished train() runs."""

import json
import math
import os

import pytest

import openmed
from conftest import small_train_options as _small

SPACE = [
    {"name": "learning_rate", "kind": "float", "low": 1e-3, "high": 1e-2, "log": True},
    {"name": "batch_size", "kind": "categorical", "choices": [8, 16]},
    {"name": "lora_r", "kind": "categorical", "choices": [4, 8]},
]

# tiny trials: short windows, no label smoothing or early stopping
TINY = dict(max_length=64, stride=16, label_smoothing_factor=0, early_stopping_patience=0)


def _search(base, data, out, callback=None, **kw):
    args = dict(test=data["test"], trials=2, seed=1, space=SPACE, epochs=1, callback=callback)
    args.update(TINY)
    args.update(kw)
    return openmed.search(base, data["train"], data["dev"], str(out), **args)


def _in_space(params):
    lr = params["learning_rate"]
    return (1e-3 <= lr <= 1e-2 and params["batch_size"] in (8, 16) and params["lora_r"] in (4, 8)
            and set(params) == {"learning_rate", "batch_size", "lora_r"})


def _trial_events(events, kind):
    return [e for e in events if e["phase"] == "trial" and e["event"] == kind]


def test_search_stops_resumes_and_never_repeats(base, data, tmp_path):
    out = tmp_path / "search"

    # 1. the callback stops the search once the first trial has finished
    first = []

    def stop_after_first_trial(ev):
        first.append(ev)
        return ev["phase"] == "trial" and ev["event"] == "finished"

    with pytest.raises(openmed.CancelledError, match="resume"):
        _search(base, data, out, callback=stop_after_first_trial)
    assert [e["trial"] for e in _trial_events(first, "started")] == [0]
    done0 = _trial_events(first, "finished")
    assert len(done0) == 1 and done0[0]["state"] == "complete", done0
    assert _in_space(done0[0]["params"])
    assert any(e["phase"] == "train" and e["trial"] == 0 for e in first), "trial 0's trainer events"
    assert os.path.isfile(out / "study" / "study.json")
    assert os.listdir(out / "trials") == ["0"]
    assert not os.path.exists(out / "best.json")

    # 2. the same call resumes: trial 1, then the final run
    second = []
    res = _search(base, data, out, callback=second.append)
    assert [e["trial"] for e in _trial_events(second, "started")] == [1]
    done1 = _trial_events(second, "finished")
    assert res["trials"] == 2
    assert res["complete"] + res["pruned"] + res["failed"] == 2
    assert res["complete"] >= 1
    for f in ("study/study.json", "study/trials.jsonl", "best.json", "final/metrics.json",
              "final/test_predictions.tsv", "trials/0/params.json", "trials/1/params.json"):
        assert os.path.isfile(out / f), f
    assert sorted(os.listdir(out / "trials")) == ["0", "1"]
    assert res["output_dir"] == str(out)
    assert _in_space(res["best_params"])
    # the best trial is the complete one with the highest dev F1
    scores = {e["trial"]: e["score"] for e in done0 + done1 if e["state"] == "complete"}
    assert res["best_trial"] == max(scores, key=scores.get)
    assert res["best_dev_f1"] == pytest.approx(max(scores.values()))
    assert res["best_params"] == (done0 if res["best_trial"] == 0 else done1)[0]["params"]
    assert res["config"]["learning_rate"] == pytest.approx(res["best_params"]["learning_rate"])
    assert res["config"]["per_device_train_batch_size"] == res["best_params"]["batch_size"]
    assert res["config"]["lora"]["r"] == res["best_params"]["lora_r"]
    fin = res["final"]
    assert fin["output_dir"] == str(out / "final")
    assert fin["test_f1"] is not None and 0 <= fin["test_f1"] <= 1
    assert fin["run"]["test"]["default"]["micro"]["f1"] == pytest.approx(fin["test_f1"])
    assert fin["metrics"]["dev"]["micro"]["f1"] == pytest.approx(fin["dev_f1"])
    assert any(e["phase"] == "train" and e["trial"] == -1 for e in second), "the final run's events"
    best_json = json.load(open(out / "best.json"))
    assert best_json["trial"] == res["best_trial"]

    # 3. once more: nothing is trained again
    log = (out / "study" / "trials.jsonl").read_text()
    third = []
    again = _search(base, data, out, callback=third.append)
    assert not [e for e in third if e["phase"] in ("trial", "train")], third
    assert (out / "study" / "trials.jsonl").read_text() == log
    assert sorted(os.listdir(out / "trials")) == ["0", "1"]
    assert again["trials"] == 2
    assert again["best_trial"] == res["best_trial"] and again["best_params"] == res["best_params"]
    assert again["final"]["run"] is None, "the final run was not repeated"
    assert again["final"]["test_f1"] == pytest.approx(fin["test_f1"])

    # 4. other settings cannot resume this study
    with pytest.raises(openmed.BadInputError, match="output_dir"):
        _search(base, data, out, seed=2)


def test_search_bad_input(base, data, tmp_path):
    out = str(tmp_path / "s")
    with pytest.raises(openmed.BadInputError, match="space") as e:
        _search(base, data, out, space=[{"name": "momentum", "kind": "float", "low": 0, "high": 1}])
    assert "momentum" in str(e.value)
    with pytest.raises(openmed.BadInputError, match='space.*unknown (field|option) "lo"'):
        _search(base, data, out, space=[{"name": "learning_rate", "kind": "float", "lo": 1e-4}])
    with pytest.raises(openmed.BadInputError, match="space.*learning_rate"):
        _search(base, data, out, space=[{"name": "learning_rate", "kind": "float", "low": 1, "high": 0}])
    with pytest.raises(openmed.BadInputError, match="lora_r"):
        _search(base, data, out, lora=False, space=SPACE)
    bad_file = tmp_path / "space.json"
    bad_file.write_text("[{")
    with pytest.raises(openmed.BadInputError, match="space"):
        _search(base, data, out, space=str(bad_file))
    with pytest.raises(openmed.NotFoundError, match="space"):
        _search(base, data, out, space=str(tmp_path / "missing.json"))
    with pytest.raises(openmed.BadInputError, match="trials"):
        _search(base, data, out, trials=0)
    with pytest.raises(openmed.BadInputError, match="sampler"):
        _search(base, data, out, sampler="grid")
    with pytest.raises(openmed.BadInputError, match="no_such_option"):
        _search(base, data, out, no_such_option=1)
    with pytest.raises(openmed.NotFoundError, match="missing.tsv"):
        openmed.search(base, data["train"], str(tmp_path / "missing.tsv"), out, trials=1)
    assert not os.path.exists(out), "bad input starts no study"


def test_select_two_train_runs(base, data, tmp_path):
    runs = {}
    for name, lr in (("fast", 3e-3), ("slow", 1e-4)):
        d = str(tmp_path / name)
        runs[d] = openmed.train(base=base, train=data["train"], dev=data["dev"], test=data["test"], output=d,
                                lora=False, epochs=2, lr=lr, **_small())
    dirs = list(runs)
    # the highest dev F1 wins; a tie goes to the first run given
    winner = max(dirs, key=lambda d: (runs[d]["best_dev_f1"], -dirs.index(d)))
    other = [d for d in dirs if d != winner][0]
    sel = openmed.select(dirs, gold=data["test"], corpus="ncbi", shuffles=500, resamples=200, seed=1)
    assert sel["corpus"] == "ncbi"
    assert sel["winner"]["dir"] == winner
    assert sel["runner_up"]["dir"] == other
    assert sel["winner"]["dev_f1"] == pytest.approx(runs[winner]["best_dev_f1"])
    assert [r["dir"] for r in sel["runs"]] == [winner, other]
    t = sel["test"]
    assert 0 <= t["p_value"] <= 1 and not math.isnan(t["p_value"])
    assert t["shuffles"] == 500
    assert t["f1_a"] == pytest.approx(runs[winner]["test"]["default"]["micro"]["f1"])
    assert t["f1_b"] == pytest.approx(runs[other]["test"]["default"]["micro"]["f1"])
    assert t["diff"] == pytest.approx(t["f1_a"] - t["f1_b"])
    ci = sel["ci_winner"]
    assert ci["lower"] <= ci["estimate"] <= ci["upper"] and ci["resamples"] == 200
    # without gold: the winner's training_args.json test file, same numbers
    again = openmed.select(dirs, shuffles=500, resamples=200, seed=1)
    assert again["gold"] == data["test"]
    assert again["test"] == t
    # a single run: the winner, no test
    one = openmed.select(dirs[0])
    assert one["winner"]["dir"] == dirs[0] and "test" not in one

    with pytest.raises(openmed.BadInputError, match="runs"):
        openmed.select([])
    with pytest.raises(openmed.BadInputError, match="confidence"):
        openmed.select(dirs, confidence=1.5)
    with pytest.raises(openmed.NotFoundError, match="nope"):
        openmed.select([dirs[0], str(tmp_path / "nope")])
