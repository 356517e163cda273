"""`openmed eval` equals seqeval's classification report (issue 20, interop
item 3): per type and micro/macro/weighted averages, default (conlleval) and
strict IOB2 mode, on seeded perturbations of the gold test files of four
corpora (one and many entity types, -DOCSTART- lines included)."""

import json
import random

import pytest
from seqeval.metrics import classification_report
from seqeval.scheme import IOB2

from conftest import run

CORPORA = ["NCBI-Disease", "BC5CDR-Chem", "JNLPBA", "BioNLP13CG"]


def perturb(tags, types, rng):
    """Errors a tagger makes, and invalid sequences a buggy one makes:
    wrong type, dropped or invented entities, shifted boundaries, an I- with
    no B- before it, a B- turned into I-."""
    out = list(tags)
    for i in range(len(out)):
        r = rng.random()
        if r < 0.03:
            out[i] = "O"
        elif r < 0.05:
            out[i] = rng.choice(["B-", "I-"]) + rng.choice(types)
        elif r < 0.07 and out[i] != "O":
            out[i] = out[i][:2] + rng.choice(types)
        elif r < 0.09 and out[i].startswith("B-"):
            out[i] = "I-" + out[i][2:]
        elif r < 0.10 and i + 1 < len(out) and out[i] != "O":
            out[i + 1] = "I-" + out[i][2:]
    return out


def perturbed_copy(gold, pred, seed):
    """Writes pred: gold's lines with each sentence's tags perturbed;
    returns (y_true, y_pred) sentence lists for seqeval."""
    lines = gold.read_text(encoding="utf-8").splitlines()
    types = sorted({l.split("\t")[1][2:] for l in lines if "\t" in l and l.split("\t")[1][:2] in ("B-", "I-")})
    rng = random.Random(seed)
    y_true, y_pred, out, sent = [], [], [], []

    def flush():
        if sent:
            tags = [t for _, t in sent]
            p = perturb(tags, types, rng)
            y_true.append(tags)
            y_pred.append(p)
            out.extend(f"{w}\t{t}" for (w, _), t in zip(sent, p))
            sent.clear()

    for line in lines:
        if not line.strip() or line.startswith("-DOCSTART-"):
            flush()
            out.append(line)
            continue
        w, t = line.split("\t")[:2]
        sent.append((w, t))
    flush()
    pred.write_text("\n".join(out) + "\n", encoding="utf-8")
    return y_true, y_pred


@pytest.mark.parametrize("corpus", CORPORA)
@pytest.mark.parametrize("mode", ["default", "strict"])
def test_eval_equals_seqeval(openmed_bin, shared, tmp_path, corpus, mode):
    gold = shared / "data" / corpus / "test.tsv"
    pred = tmp_path / "pred.tsv"
    y_true, y_pred = perturbed_copy(gold, pred, seed=CORPORA.index(corpus))
    ours = json.loads(run([openmed_bin, "eval", "--gold", gold, "--pred", pred, "--mode", mode, "--format", "json"]))
    kw = {"mode": "strict", "scheme": IOB2} if mode == "strict" else {}
    theirs = classification_report(y_true, y_pred, output_dict=True, zero_division=0, **kw)

    types = {k for k in theirs if not k.endswith(" avg")}
    assert set(ours["per_type"]) == types
    rows = [(ours["per_type"][t], theirs[t], t) for t in types]
    rows += [(ours[k], theirs[f"{k} avg"], k) for k in ("micro", "macro", "weighted")]
    for o, s, name in rows:
        assert o["support"] == s["support"], f"{corpus} {mode} {name}: support"
        for m in ("precision", "recall", "f1"):
            # both are ratios of the same integer counts (and float means of them)
            assert o[m] == pytest.approx(s[f"{m}-score" if m == "f1" else m], abs=1e-12), f"{corpus} {mode} {name}: {m}"
    # the perturbation left a score worth comparing (neither perfect nor empty)
    assert 0.3 < ours["micro"]["f1"] < 0.99
