"""openmed's ONNX export runs in onnxruntime from PyPI with the logits of
transformers (+ PEFT) from PyPI and of openmed's own engine (issue 20,
interop item 4), for BERT, ELECTRA and DeBERTa-v3, bare and with a LoRA
adapter merged by openmed. Models and inputs: ../shared/fixtures."""

import json

import numpy as np
import onnxruntime as ort
import pytest
import torch
from peft import PeftModel
from transformers import AutoModelForTokenClassification

from conftest import run

ARCHS = ["bert", "electra", "deberta_v3"]


@pytest.mark.parametrize("with_adapter", [False, True], ids=["bare", "lora"])
@pytest.mark.parametrize("arch", ARCHS)
def test_export_in_pypi_onnxruntime(openmed_bin, shared, tmp_path, arch, with_adapter):
    fx = shared / "fixtures" / arch
    if not fx.is_dir():
        pytest.fail(f"{fx} is missing from ../shared/fixtures")
    case = json.loads((fx / "case.json").read_text())
    feeds = {k: np.asarray(v["data"], dtype=np.int64).reshape(v["shape"])
             for k, v in case["inputs"].items() if k in ("input_ids", "attention_mask", "token_type_ids")}

    model_dir = fx
    ref = AutoModelForTokenClassification.from_pretrained(fx).eval()
    if with_adapter:
        model_dir = tmp_path / "merged"
        run([openmed_bin, "merge", "--base", fx, "--adapter", fx / "adapter", "--out", model_dir])
        ref = PeftModel.from_pretrained(ref, fx / "adapter").eval()
    with torch.no_grad():
        theirs = ref(**{k: torch.from_numpy(v) for k, v in feeds.items()}).logits.numpy()

    out = tmp_path / "export"
    run([openmed_bin, "export", "--model", model_dir, "--out", out])
    sess = ort.InferenceSession(str(out / "onnx" / "model.onnx"), providers=["CPUExecutionProvider"])
    names = {i.name for i in sess.get_inputs()}
    got = sess.run(["logits"], {k: v for k, v in feeds.items() if k in names})[0]

    (tmp_path / "case.json").write_text(json.dumps({"inputs": case["inputs"]}))
    fwd = json.loads(run([openmed_bin, "forward", "--model", model_dir, "--input", tmp_path / "case.json"]))
    engine = np.asarray(fwd["logits"]["data"], dtype=np.float32).reshape(fwd["logits"]["shape"])

    mask = feeds["attention_mask"].astype(bool)
    assert got.shape == theirs.shape
    for name, a in (("transformers+PEFT (PyPI)", theirs), ("openmed's engine", engine)):
        d = np.abs(got[mask] - a[mask]).max()
        assert d <= 1e-4, f"{arch}: onnxruntime on openmed's export differs from {name} by {d:.3g}"
    if not with_adapter:
        hf = np.asarray(case["outputs"]["logits"]["data"], dtype=np.float32).reshape(case["outputs"]["logits"]["shape"])
        assert np.abs(got[mask] - hf[mask]).max() <= 1e-4, "differs from the fixture's transformers 4.36 logits"
