import json
import os
import subprocess

import pytest

import openmed

GOLD = [["B-Disease", "I-Disease", "O", "B-Disease"], ["O", "B-Chemical"]]
PRED = [["B-Disease", "I-Disease", "O", "O"], ["O", "B-Chemical"]]


def test_inline_scores():
    rep = openmed.evaluate(GOLD, PRED)
    # 2 predicted, both right; 3 gold entities
    assert rep["micro"]["correct"] == 2
    assert rep["micro"]["precision"] == pytest.approx(1.0)
    assert rep["micro"]["recall"] == pytest.approx(2 / 3)
    assert rep["micro"]["f1"] == pytest.approx(0.8)
    assert rep["per_type"]["Disease"]["support"] == 2
    assert rep["per_type"]["Chemical"]["f1"] == pytest.approx(1.0)
    assert rep["sentences"] == 2 and rep["tokens"] == 6
    assert rep["token_accuracy"] == pytest.approx(5 / 6)


def test_default_vs_strict():
    gold, pred = [["B-D", "I-D"]], [["I-D", "I-D"]]
    assert openmed.evaluate(gold, pred)["micro"]["correct"] == 1
    assert openmed.evaluate(gold, pred, mode="strict", scheme="IOB2")["micro"]["correct"] == 0


def test_files_match_cli(ncbi, tmp_path):
    gold = os.path.join(ncbi, "devel.tsv")
    # a prediction that drops every I- tag
    pred = tmp_path / "pred.tsv"
    with open(gold, encoding="utf-8") as f, open(pred, "w", encoding="utf-8") as g:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 2 and parts[1].startswith("I-"):
                parts[1] = "O"
            g.write("\t".join(parts) + "\n")
    rep = openmed.evaluate(gold, str(pred))
    assert 0 < rep["micro"]["f1"] < 1
    assert rep["micro"]["support"] > 0
    same = openmed.evaluate(gold, gold)
    assert same["micro"]["f1"] == pytest.approx(1.0)
    assert same["micro"]["support"] == rep["micro"]["support"]


def test_errors_carry_go_message(tmp_path):
    with pytest.raises(openmed.BadInputError, match="sentence 0: gold has 1 tags, pred has 2"):
        openmed.evaluate([["O"]], [["O", "O"]])
    with pytest.raises(openmed.BadInputError, match="mode"):
        openmed.evaluate([["O"]], [["O"]], mode="loose")
    missing = str(tmp_path / "missing.tsv")
    with pytest.raises(openmed.NotFoundError, match="missing.tsv"):
        openmed.evaluate(missing, missing)
    with pytest.raises(openmed.BadInputError):
        openmed.evaluate(missing, [["O"]])
    # OpenMedError is the base; status codes mirror openmed.h
    try:
        openmed.evaluate([["O"]], [["O", "O"]])
    except openmed.OpenMedError as e:
        assert e.status == 1
        assert str(e).startswith("openmed_evaluate: ")


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    """The openmed CLI built from this checkout."""
    from conftest import REPO

    exe = str(tmp_path_factory.mktemp("cli") / "openmed")
    subprocess.run(["go", "build", "-o", exe, "./cmd/openmed"], cwd=REPO, check=True)
    return exe


@pytest.mark.parametrize("mode", ["default", "strict"])
def test_matches_cli_eval(cli, ncbi, tmp_path, mode):
    """openmed.evaluate (C ABI) and `openmed eval --format json` agree."""
    gold = os.path.join(ncbi, "test.tsv")
    pred = tmp_path / "pred.tsv"
    with open(gold, encoding="utf-8") as f, open(pred, "w", encoding="utf-8") as g:
        for i, line in enumerate(f):
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 2 and i % 7 == 0:
                parts[1] = {"O": "B-Disease", "B-Disease": "I-Disease"}.get(parts[1], "O")
            g.write("\t".join(parts) + "\n")
    out = subprocess.run([cli, "eval", "--gold", gold, "--pred", str(pred), "--format", "json", "--mode", mode],
                         check=True, capture_output=True, text=True).stdout
    want = json.loads(out)
    got = openmed.evaluate(gold, str(pred), mode=mode)
    for avg in ("micro", "macro", "weighted"):
        assert got[avg] == want[avg]
    assert got["per_type"] == want["per_type"]
    assert got["token_accuracy"] == want["token_accuracy"]
    assert 0 < got["micro"]["f1"] < 1
