import os

import pytest

import openmed


def test_export_onnx_bert_fixture(shared, tmp_path):
    res = openmed.export_onnx(os.path.join(shared, "fixtures", "bert"), str(tmp_path / "out"))
    model = res["model_file"]
    assert model == str(tmp_path / "out" / "onnx" / "model.onnx")
    assert os.path.getsize(model) == res["bytes"] > 0
    assert res["nodes"] > 0 and res["initializers"] > 0
    assert any(c.endswith("config.json") for c in res["copied"])


def test_export_errors(tmp_path):
    with pytest.raises(openmed.BadInputError, match="required"):
        openmed.export_onnx("", str(tmp_path))
