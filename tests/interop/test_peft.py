"""LoRA adapters cross between openmed and PEFT in both directions (issue 20,
interop items 1 and 2): an adapter openmed trained loads with
peft.PeftModel.from_pretrained and gives openmed's logits within 1e-4, and
an adapter PEFT trained tags the same entities in openmed as transformers'
pipeline does."""

import json

import numpy as np
import pytest
import torch
from peft import LoraConfig, PeftModel, TaskType, get_peft_model
from transformers import AutoModelForTokenClassification, AutoTokenizer

from conftest import assert_same_entities, hf_entities, openmed_entities, read_conll, run, write_conll

N_TRAIN, N_DEV, N_TEXTS = 400, 60, 40
EPOCHS = 5


@pytest.fixture(scope="module")
def ncbi(shared):
    d = shared / "data" / "NCBI-Disease"
    return read_conll(d / "train.tsv", N_TRAIN), read_conll(d / "devel.tsv", N_DEV)


def texts_of(sents):
    return [" ".join(toks) for toks, _ in sents[:N_TEXTS]]


def labels_of(sents):
    seen = {"O"}
    for _, tags in sents:
        seen.update(tags)
    return sorted(seen, key=lambda l: (l != "O", l[2:], l[:1] != "B"))


def case_json(enc):
    """openmed forward's case layout from a tokenizer batch."""
    def arr(t):
        return {"dtype": "int64", "shape": list(t.shape), "data": t.reshape(-1).tolist()}
    return {"inputs": {k: arr(enc[k]) for k in ("input_ids", "attention_mask", "token_type_ids")}}


def test_openmed_adapter_loads_in_peft(openmed_bin, tiny_base, ncbi, tmp_path):
    train, dev = ncbi
    write_conll(train, tmp_path / "train.tsv")
    write_conll(dev, tmp_path / "dev.tsv")
    runDir = tmp_path / "run"
    run([openmed_bin, "train", "--base", tiny_base, "--train", tmp_path / "train.tsv", "--dev", tmp_path / "dev.tsv",
         "--out", runDir, "--epochs", "5", "--lr", "1e-2", "--batch-size", "16", "--max-len", "128", "--threads", "1",
         "--quiet"])
    cfg = json.loads((runDir / "config.json").read_text())
    id2label = {int(k): v for k, v in cfg["id2label"].items()}
    assert json.loads((runDir / "adapter_config.json").read_text())["peft_type"] == "LORA"

    base = AutoModelForTokenClassification.from_pretrained(
        tiny_base, num_labels=len(id2label), id2label=id2label, label2id={v: k for k, v in id2label.items()})
    peft_model = PeftModel.from_pretrained(base, runDir).eval()
    tok = AutoTokenizer.from_pretrained(tiny_base)
    texts = texts_of([s for s in train if any(t != "O" for t in s[1])])  # seen text: entities to compare
    enc = tok(texts[:8], padding=True, return_tensors="pt")
    with torch.no_grad():
        theirs = peft_model(**enc).logits.numpy()

    merged = tmp_path / "merged"
    run([openmed_bin, "merge", "--base", tiny_base, "--adapter", runDir, "--out", merged])
    (tmp_path / "case.json").write_text(json.dumps(case_json(enc)))
    out = json.loads(run([openmed_bin, "forward", "--model", merged, "--input", tmp_path / "case.json"]))
    ours = np.asarray(out["logits"]["data"], dtype=np.float32).reshape(out["logits"]["shape"])
    mask = enc["attention_mask"].numpy().astype(bool)
    diff = np.abs(ours[mask] - theirs[mask]).max()
    assert diff <= 1e-4, f"openmed-trained adapter: PEFT logits differ from openmed's by {diff:.3g}"
    # the adapter is not a no-op: it moved the logits away from the bare head
    assert np.abs(theirs[mask]).max() > 1e-2

    # and the tagger over the adapter folder agrees with transformers' pipeline over PEFT
    ours_e = openmed_entities(openmed_bin, runDir, texts, tmp_path, extra=["--base", tiny_base])
    theirs_e = hf_entities(peft_model, tok, texts)
    assert sum(len(e) for e in theirs_e) >= 10, f"the openmed-trained model found too few entities to compare: {theirs_e}"
    assert_same_entities(ours_e, theirs_e)


def encode_words(tok, sents, label2id, max_len=128):
    """Word-labelled batches the HF way: the label on each word's first
    sub-token, -100 on the others and on specials."""
    enc = tok([t for t, _ in sents], is_split_into_words=True, truncation=True, max_length=max_len, padding=True,
              return_tensors="pt")
    labels = torch.full(enc["input_ids"].shape, -100, dtype=torch.long)
    for i, (_, tags) in enumerate(sents):
        prev = None
        for j, w in enumerate(enc.word_ids(i)):
            if w is not None and w != prev:
                labels[i, j] = label2id[tags[w]]
            prev = w
    enc["labels"] = labels
    return enc


def test_peft_adapter_tags_in_openmed(openmed_bin, tiny_base, ncbi, tmp_path):
    train, dev = ncbi
    labels = labels_of(train)
    id2label = dict(enumerate(labels))
    label2id = {l: i for i, l in id2label.items()}
    torch.manual_seed(1)
    tok = AutoTokenizer.from_pretrained(tiny_base)
    base = AutoModelForTokenClassification.from_pretrained(tiny_base, num_labels=len(labels), id2label=id2label,
                                                           label2id=label2id)
    model = get_peft_model(base, LoraConfig(task_type=TaskType.TOKEN_CLS, r=16, lora_alpha=32,
                                            target_modules=["query", "value"], lora_dropout=0.0))
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    model.train()
    rng = np.random.default_rng(0)
    train = [s for s in train if any(t != "O" for t in s[1])]
    for _ in range(EPOCHS):
        order = rng.permutation(len(train))
        for s in range(0, len(order), 16):
            batch = encode_words(tok, [train[i] for i in order[s:s + 16]], label2id)
            loss = model(**batch).loss
            loss.backward()
            opt.step()
            opt.zero_grad()
    model.eval()

    adapter = tmp_path / "peft-adapter"
    model.save_pretrained(adapter)
    model.base_model.model.config.save_pretrained(adapter)  # id2label travels with the adapter
    # seen sentences with entities: the small model must find some to compare
    texts = texts_of([s for s in train if any(t != "O" for t in s[1])])
    theirs = hf_entities(model, tok, texts)
    assert sum(len(e) for e in theirs) >= 10, f"the PEFT model found too few entities to compare: {theirs}"
    ours = openmed_entities(openmed_bin, adapter, texts, tmp_path, extra=["--base", tiny_base])
    assert_same_entities(ours, theirs)
