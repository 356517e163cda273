"""Small PyTorch BERT token classifier with Hugging Face's formulas and names.

transformers / peft / safetensors are not installed on this machine, so the
training peers use this module instead. It follows transformers v4.36
modeling_bert.py (see ../shared/fixtures/README.md section 7):

  e = LN(E_word[ids] + E_pos[0..L-1] + E_type[tt]), eps from the config
  per layer: s = q k^T / sqrt(d) + (1 - m_j) * finfo(f32).min, P = softmax(s),
  a = LN(dropout(O(P v)) + h), h = LN(dropout(W2 gelu(W1 a)) + a)   (erf GELU)
  logits = classifier(dropout(h))

Module attribute names reproduce HF's state_dict keys
("bert.embeddings.word_embeddings.weight", ..., "classifier.bias"), so a
checkpoint's tensors load with load_state_dict(strict=True).

LoRA follows PEFT v0.20 lora.Linear: y = base(x) + lora_B(lora_A(dropout(x))) * alpha/r,
with lora_A [r, in] and lora_B [out, r]; adapter keys are PEFT's saved names
("base_model.model.<module>.lora_A.weight", "base_model.model.classifier.weight").
"""

import json
import math
import os
import struct

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

# ---------------------------------------------------------------- safetensors

_DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32, "F16": np.float16}
_NAMES = {np.dtype(v): k for k, v in _DTYPES.items()}


def safetensors_header(path):
    """Return (header dict, data start offset) of a safetensors file
    (huggingface/safetensors format: u64 LE header length, JSON header, raw data)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n).decode("utf-8"))
    return header, 8 + n


def read_safetensors(path):
    """Read a safetensors file into {name: numpy array}, one tensor at a time."""
    header, base = safetensors_header(path)
    out = {}
    with open(path, "rb") as f:
        for name, info in header.items():
            if name == "__metadata__":
                continue
            s, e = info["data_offsets"]
            f.seek(base + s)
            out[name] = np.frombuffer(f.read(e - s), dtype=_DTYPES[info["dtype"]]).reshape(info["shape"]).copy()
    return out


def write_safetensors(path, tensors, metadata=None):
    """Write {name: numpy array or torch tensor} as safetensors (names sorted,
    header compact JSON padded with spaces to a multiple of 8), one tensor at
    a time, atomically (a .tmp file renamed over path)."""
    arrs = {}
    for k, v in tensors.items():
        if isinstance(v, torch.Tensor):
            v = v.detach().cpu().contiguous().numpy()
        arrs[k] = np.ascontiguousarray(v)
    header = {"__metadata__": metadata or {"format": "pt"}}
    off = 0
    for k in sorted(arrs):
        a = arrs[k]
        header[k] = {"dtype": _NAMES[a.dtype], "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        off += a.nbytes
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for k in sorted(arrs):
            f.write(memoryview(arrs[k]).cast("B"))
    os.replace(tmp, path)


# ---------------------------------------------------------------- model


class LoRALinear(nn.Module):
    """PEFT lora.Linear around a frozen nn.Linear (lora_dropout 0 -> identity)."""

    def __init__(self, base, r, alpha):
        super().__init__()
        self.base_layer = base
        self.lora_A = nn.Linear(base.in_features, r, bias=False)
        self.lora_B = nn.Linear(r, base.out_features, bias=False)
        self.scaling = alpha / r

    def forward(self, x):
        return self.base_layer(x) + self.lora_B(self.lora_A(x)) * self.scaling


def attention_context(q, k, v, heads, mask_add, dropout):
    """BertSelfAttention's eager attention on projected q, k, v [B, L, H*d]:
    P = dropout(softmax(q k^T / sqrt(d) + mask_add)) per head, returns P v
    with the heads merged back, [B, L, H*d]."""
    b, t, h = q.shape
    d = h // heads

    def split(x):
        return x.view(b, t, heads, d).permute(0, 2, 1, 3)

    s = torch.matmul(split(q), split(k).transpose(-1, -2)) / math.sqrt(d) + mask_add
    p = dropout(F.softmax(s, dim=-1))
    return torch.matmul(p, split(v)).permute(0, 2, 1, 3).reshape(b, t, h)


class SelfAttention(nn.Module):
    def __init__(self, h, heads, p):
        super().__init__()
        self.heads = heads
        self.query, self.key, self.value = nn.Linear(h, h), nn.Linear(h, h), nn.Linear(h, h)
        self.dropout = nn.Dropout(p)

    def forward(self, x, mask_add):
        return attention_context(self.query(x), self.key(x), self.value(x), self.heads, mask_add, self.dropout)


class DenseLN(nn.Module):
    """BertSelfOutput / BertOutput (and DeBERTa-v2's, the same):
    LN(dropout(dense(x)) + residual)."""

    def __init__(self, i, h, p, eps):
        super().__init__()
        self.dense = nn.Linear(i, h)
        self.LayerNorm = nn.LayerNorm(h, eps=eps)
        self.dropout = nn.Dropout(p)

    def forward(self, x, res):
        return self.LayerNorm(self.dropout(self.dense(x)) + res)


class Attention(nn.Module):
    def __init__(self, h, heads, p, eps):
        super().__init__()
        self.self = SelfAttention(h, heads, p["attn"])
        self.output = DenseLN(h, h, p["hidden"], eps)

    def forward(self, x, mask_add):
        return self.output(self.self(x, mask_add), x)


class Intermediate(nn.Module):
    """BertIntermediate / DebertaV2Intermediate with hidden_act "gelu"."""

    def __init__(self, h, i):
        super().__init__()
        self.dense = nn.Linear(h, i)

    def forward(self, x):
        return F.gelu(self.dense(x))  # exact erf GELU (hidden_act "gelu")


class Layer(nn.Module):
    def __init__(self, cfg, p):
        super().__init__()
        h, eps = cfg["hidden_size"], cfg.get("layer_norm_eps", 1e-12)
        self.attention = Attention(h, cfg["num_attention_heads"], p, eps)
        self.intermediate = Intermediate(h, cfg["intermediate_size"])
        self.output = DenseLN(cfg["intermediate_size"], h, p["hidden"], eps)

    def forward(self, x, mask_add):
        a = self.attention(x, mask_add)
        return self.output(self.intermediate(a), a)


class Embeddings(nn.Module):
    def __init__(self, cfg, p):
        super().__init__()
        h = cfg["hidden_size"]
        self.word_embeddings = nn.Embedding(cfg["vocab_size"], h, padding_idx=cfg.get("pad_token_id", 0))
        self.position_embeddings = nn.Embedding(cfg["max_position_embeddings"], h)
        self.token_type_embeddings = nn.Embedding(cfg.get("type_vocab_size", 2), h)
        self.LayerNorm = nn.LayerNorm(h, eps=cfg.get("layer_norm_eps", 1e-12))
        self.dropout = nn.Dropout(p["hidden"])

    def forward(self, ids, types):
        pos = torch.arange(ids.shape[1]).unsqueeze(0)
        e = self.word_embeddings(ids) + self.position_embeddings(pos) + self.token_type_embeddings(types)
        return self.dropout(self.LayerNorm(e))


class Encoder(nn.Module):
    def __init__(self, cfg, p):
        super().__init__()
        self.layer = nn.ModuleList(Layer(cfg, p) for _ in range(cfg["num_hidden_layers"]))


class Bert(nn.Module):
    def __init__(self, cfg, p):
        super().__init__()
        self.embeddings = Embeddings(cfg, p)
        self.encoder = Encoder(cfg, p)


class BertForTokenClassification(nn.Module):
    """BertForTokenClassification (no pooler; HF builds it with add_pooling_layer=False).

    dropout=None uses the config's hidden_dropout_prob / attention_probs_dropout_prob."""

    def __init__(self, cfg, dropout=None):
        super().__init__()
        p = dropout_probs(cfg, dropout)
        self.num_labels = len(cfg["id2label"]) if "id2label" in cfg else cfg["num_labels"]
        self.bert = Bert(cfg, p)
        self.dropout = nn.Dropout(p["hidden"])
        self.classifier = nn.Linear(cfg["hidden_size"], self.num_labels)

    def forward(self, ids, types, mask):
        x = self.bert.embeddings(ids, types)
        mask_add = (1.0 - mask[:, None, None, :].to(torch.float32)) * torch.finfo(torch.float32).min
        for layer in self.bert.encoder.layer:
            x = layer(x, mask_add)
        return self.classifier(self.dropout(x))

    def load_hf(self, tensors):
        """Load HF state_dict tensors ({name: numpy}) with strict key checking."""
        load_hf_state(self, tensors, skip_prefix="bert.pooler.")


def dropout_probs(cfg, dropout=None):
    """The {"hidden", "attn"} dropout probabilities of a *ForTokenClassification:
    dropout for both, or with None the config's hidden_dropout_prob /
    attention_probs_dropout_prob (HF default 0.1)."""
    if dropout is None:
        return {"hidden": cfg.get("hidden_dropout_prob", 0.1), "attn": cfg.get("attention_probs_dropout_prob", 0.1)}
    return {"hidden": dropout, "attn": dropout}


def load_hf_state(module, tensors, skip_prefix=None):
    """Load HF state_dict tensors ({name: numpy}) into module as float32 with
    strict key checking; position_ids buffers (and keys under skip_prefix,
    e.g. a pooler the module lacks) are left out."""
    sd = {k: torch.from_numpy(np.asarray(v, dtype=np.float32)) for k, v in tensors.items()
          if not k.endswith("position_ids") and not (skip_prefix and k.startswith(skip_prefix))}
    module.load_state_dict(sd, strict=True)


def apply_lora(model, r, alpha, targets=("query", "value")):
    """Freeze the model, wrap every attention.self.<target> Linear in LoRA and
    keep the classifier trainable (PEFT TOKEN_CLS modules_to_save; the trained
    copy starts equal to the base classifier). Returns {PEFT adapter key: Parameter}
    in PEFT named_parameters order."""
    return wrap_lora(model, "bert", targets, lambda lin: LoRALinear(lin, r, alpha))


def wrap_lora(model, base, targets, make):
    """apply_lora for a *ForTokenClassification whose encoder is model.<base>
    ("bert", "deberta"): freezes the model, replaces every layer's
    attention.self.<target> Linear with make(linear) (a module with lora_A and
    lora_B), makes the classifier trainable and returns {PEFT adapter key:
    Parameter} in PEFT named_parameters order."""
    for p in model.parameters():
        p.requires_grad_(False)
    named = {}
    for i, layer in enumerate(getattr(model, base).encoder.layer):
        for t in targets:
            lin = make(getattr(layer.attention.self, t))
            setattr(layer.attention.self, t, lin)
            key = "base_model.model.%s.encoder.layer.%d.attention.self.%s" % (base, i, t)
            named[key + ".lora_A.weight"] = lin.lora_A.weight
            named[key + ".lora_B.weight"] = lin.lora_B.weight
    for n, p in model.classifier.named_parameters():
        p.requires_grad_(True)
        named["base_model.model.classifier." + n] = p
    return named


def cosine_with_warmup(warmup, total, cycles=0.5):
    """transformers.get_cosine_schedule_with_warmup's lr_lambda (v4.36)."""

    def f(step):
        if step < warmup:
            return float(step) / float(max(1, warmup))
        progress = float(step - warmup) / float(max(1, total - warmup))
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * float(cycles) * 2.0 * progress)))

    return f


def make_optimizer(named, lr, wd, no_decay):
    """torch.optim.AdamW with HF Trainer's two groups: names in no_decay get
    weight_decay 0 (empty groups are dropped)."""
    decay = [p for n, p in named.items() if n not in no_decay]
    nod = [p for n, p in named.items() if n in no_decay]
    groups = []
    if decay:
        groups.append({"params": decay, "weight_decay": wd})
    if nod:
        groups.append({"params": nod, "weight_decay": 0.0})
    return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.999), eps=1e-8)


def pad_batch(feats, pad_id=0):
    """Right-pad a list of {"ids", "labels"} features to the longest one
    (DataCollatorForTokenClassification: labels padded with -100)."""
    L = max(len(f["ids"]) for f in feats)
    ids = torch.full((len(feats), L), pad_id, dtype=torch.long)
    mask = torch.zeros((len(feats), L), dtype=torch.long)
    labels = torch.full((len(feats), L), -100, dtype=torch.long)
    for i, f in enumerate(feats):
        n = len(f["ids"])
        ids[i, :n] = torch.tensor(f["ids"], dtype=torch.long)
        mask[i, :n] = 1
        if "labels" in f:
            labels[i, :n] = torch.tensor(f["labels"], dtype=torch.long)
    return ids, torch.zeros_like(ids), mask, labels
