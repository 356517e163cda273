"""merge / unmerge / export through the binding on the tiny BERT fixture."""

import json
import os

import pytest

import openmed
from safetensors_util import read_f32


@pytest.fixture(scope="module")
def bert(shared):
    return os.path.join(shared, "fixtures", "bert")


def test_merge_unmerge_round_trip(bert, tmp_path):
    merged = tmp_path / "merged"
    res = openmed.merge(bert, os.path.join(bert, "adapter"), str(merged))
    assert res["dir"] == str(merged)
    assert res["modules"], "no module changed"
    assert res["labels"] == ["O", "B-Disease", "I-Disease", "B-Chemical", "I-Chemical"]
    assert any(r.startswith("classifier") for r in res["replaced"])
    cfg = json.load(open(merged / "config.json"))
    assert cfg["architectures"] == ["BertForTokenClassification"]

    base = read_f32(os.path.join(bert, "model.safetensors"))
    m = read_f32(str(merged / "model.safetensors"))
    mod = res["modules"][0] + ".weight"
    assert mod in base and mod in m
    diff = max(abs(a - b) for a, b in zip(base[mod][1], m[mod][1]))
    assert diff > 1e-6, "merge did not change %s" % mod

    back = tmp_path / "unmerged"
    openmed.merge(str(merged), os.path.join(bert, "adapter"), str(back), unmerge=True)
    u = read_f32(str(back / "model.safetensors"))
    for name in res["modules"]:
        key = name + ".weight"
        err = max(abs(a - b) for a, b in zip(base[key][1], u[key][1]))
        assert err < 1e-5, "%s: unmerge differs from base by %g" % (key, err)


def test_merge_then_export(bert, tmp_path):
    merged = tmp_path / "merged"
    openmed.merge(bert, os.path.join(bert, "adapter"), str(merged))
    res = openmed.export_onnx(str(merged), str(tmp_path / "onnx"))
    assert os.path.getsize(res["model_file"]) == res["bytes"] > 0


def test_merge_errors(bert, tmp_path):
    with pytest.raises(openmed.BadInputError, match="required"):
        openmed.merge(bert, "", str(tmp_path / "x"))
    with pytest.raises(openmed.OpenMedError, match="no-adapter-here"):
        openmed.merge(bert, str(tmp_path / "no-adapter-here"), str(tmp_path / "x"))
