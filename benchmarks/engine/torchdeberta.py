"""PyTorch DeBERTa-v2/v3 token classifier with Hugging Face's formulas and names.

transformers / peft are not installed here (no PyPI), so the DeBERTa peer of
the engine benchmark uses this module. It follows transformers v4.36.2
models/deberta_v2/modeling_deberta_v2.py (../shared/fixtures/README.md §7):

  embeddings   e = dropout(LN(E_word[ids]) * m)              (position_biased_input false,
                                                               type_vocab_size 0, no embed_proj)
  rel. emb.    R = LN_enc(rel_embeddings.weight)              (norm_rel_ebd "layer_norm"),
               each layer uses pos_dropout(R) (StableDropout, hidden_dropout_prob)
  rel. pos.    r[i][j] = make_log_bucket_position(i - j, position_buckets, max_relative_positions)
  attention    (DisentangledSelfAttention, share_att_key, scale = sqrt(d * (1 + |pos_att_type|)))
               S = q k^T / scale
                 + gather(q Pk^T, clamp(r + span, 0, 2 span - 1)) / scale          (c2p)
                 + gather(k Pq^T, clamp(-r + span, 0, 2 span - 1))^T / scale       (p2c)
               with Pq = query_proj(R), Pk = key_proj(R) (bias and LoRA included);
               P = XSoftmax(S, m_i m_j) (masked to finfo.min, softmax, masked entries 0)
  layer        a = LN(dropout(O(dropout(P) v)) + h), h = LN(dropout(W2 gelu(W1 a)) + a)
  head         logits = classifier(dropout(h))                (DebertaV2ForTokenClassification)

Module attribute names reproduce HF's state_dict keys
("deberta.embeddings.word_embeddings.weight", ...,
"deberta.encoder.layer.0.attention.self.query_proj.weight", ...,
"deberta.encoder.rel_embeddings.weight", "deberta.encoder.LayerNorm.weight",
"classifier.bias"), so a checkpoint loads with load_state_dict(strict=True).

LoRA follows PEFT v0.20 lora.Linear on query_proj / value_proj (PEFT's
deberta-v2 default targets): y = base(x) + lora_B(lora_A(dropout(x))) * alpha/r,
lora_A [r, in] kaiming-uniform(a=sqrt(5)), lora_B [out, r] zero; adapter keys
are PEFT's saved names ("base_model.model.<module>.lora_A.weight",
"base_model.model.classifier.weight"). Because the module is replaced, the
LoRA delta of query_proj also reaches Pq (fixtures README §6).

    /usr/bin/python3 benchmarks/engine/torchdeberta.py --check-fixture ../shared/fixtures/deberta_v3

prints one JSON line with the max |diff| against the HF fixture (base logits,
LoRA logits, loss, the 10 LoRA/classifier gradients, logits after one AdamW
step, the relative-position bucket table) and exits 1 when any exceeds 1e-4.
"""

import argparse
import json
import math
import os
import sys

import torch
from torch import nn
import torch.nn.functional as F

# What DeBERTa-v2 shares with BERT (self-output / output DenseLN, intermediate
# GELU, dropout probabilities, state-dict loading, LoRA wrapping, safetensors
# reading and writing) comes from the BERT peer's module.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "training"))
from torchbert import (  # noqa: E402
    DenseLN, Intermediate, dropout_probs, load_hf_state, wrap_lora,
    safetensors_header, read_safetensors, write_safetensors)


# ---------------------------------------------------------------- safetensors


def load_safetensors_into(module, path, prefix=""):
    """Copy every tensor of a safetensors file straight into module's
    parameters / buffers named prefix-stripped (strict: every file key must
    match a parameter of the same shape and every parameter must be present).
    Reads each tensor into the parameter's own memory, so loading does not
    double the resident set."""
    header, base = safetensors_header(path)
    params = dict(module.named_parameters())
    seen = set()
    with open(path, "rb") as f:
        for name, info in header.items():
            if name == "__metadata__":
                continue
            key = name[len(prefix):] if prefix and name.startswith(prefix) else name
            if key not in params:
                raise KeyError("%s: tensor %r matches no parameter" % (path, name))
            p = params[key]
            if info["dtype"] != "F32" or list(p.shape) != list(info["shape"]):
                raise ValueError("%s: %s is %s %s, the model needs F32 %s" % (path, name, info["dtype"], info["shape"], list(p.shape)))
            s, e = info["data_offsets"]
            f.seek(base + s)
            with torch.no_grad():
                buf = memoryview(p.data.numpy()).cast("B")
                if f.readinto(buf) != e - s:
                    raise ValueError("%s: %s is truncated" % (path, name))
            seen.add(key)
    missing = sorted(set(params) - seen)
    if missing and not prefix:
        raise KeyError("%s: missing %s" % (path, missing[:5]))
    return seen


# ---------------------------------------------------------------- relative positions


def make_log_bucket_position(relative_pos, bucket_size, max_position):
    """modeling_deberta_v2.make_log_bucket_position (v4.36), evaluated in float32."""
    sign = torch.sign(relative_pos)
    mid = bucket_size // 2
    abs_pos = torch.where((relative_pos < mid) & (relative_pos > -mid),
                          torch.tensor(mid - 1).type_as(relative_pos), torch.abs(relative_pos))
    log_pos = torch.ceil(torch.log(abs_pos / mid) / torch.log(torch.tensor((max_position - 1) / mid)) * (mid - 1)) + mid
    return torch.where(abs_pos <= mid, relative_pos.type_as(log_pos), log_pos * sign)


def build_relative_position(query_size, key_size, bucket_size=-1, max_position=-1):
    """modeling_deberta_v2.build_relative_position (v4.36): r[i][j] = bucket(i - j), [L_q, L_k] int64."""
    q_ids = torch.arange(0, query_size)
    k_ids = torch.arange(0, key_size)
    rel = q_ids[:, None] - k_ids[None, :]
    if bucket_size > 0 and max_position > 0:
        rel = make_log_bucket_position(rel, bucket_size, max_position)
    return rel.to(torch.long)[:query_size, :]


# ---------------------------------------------------------------- model


class LoRALinear(nn.Module):
    """PEFT lora.Linear around a frozen nn.Linear: base(x) + lora_B(lora_A(dropout(x))) * alpha/r."""

    def __init__(self, base, r, alpha, dropout=0.0):
        super().__init__()
        self.base_layer = base
        self.lora_A = nn.Linear(base.in_features, r, bias=False)
        self.lora_B = nn.Linear(r, base.out_features, bias=False)
        nn.init.kaiming_uniform_(self.lora_A.weight, a=math.sqrt(5))  # PEFT reset_lora_parameters (init True)
        nn.init.zeros_(self.lora_B.weight)
        self.lora_dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.scaling = alpha / r

    def forward(self, x):
        return self.base_layer(x) + self.lora_B(self.lora_A(self.lora_dropout(x))) * self.scaling


class DisentangledSelfAttention(nn.Module):
    """DisentangledSelfAttention with share_att_key=True (DeBERTa-v3)."""

    def __init__(self, cfg, p):
        super().__init__()
        h = cfg["hidden_size"]
        self.heads = cfg["num_attention_heads"]
        self.d = h // self.heads
        self.query_proj, self.key_proj, self.value_proj = nn.Linear(h, h), nn.Linear(h, h), nn.Linear(h, h)
        self.c2p = "c2p" in cfg["pos_att_type"]
        self.p2c = "p2c" in cfg["pos_att_type"]
        self.scale_factor = 1 + int(self.c2p) + int(self.p2c)
        self.span = cfg["position_buckets"] if cfg["position_buckets"] > 0 else cfg["max_relative_positions"]
        self.pos_dropout = nn.Dropout(p["hidden"])
        self.dropout = nn.Dropout(p["attn"])

    def split(self, x):
        """[.., L, H*d] -> [.., H, L, d] (transpose_for_scores without HF's batch*heads merge)."""
        s = x.shape[:-1]
        return x.view(*s, self.heads, self.d).transpose(-2, -3)

    def forward(self, x, rmask, rel_pos, rel):
        b, t, h = x.shape
        q, k, v = self.split(self.query_proj(x)), self.split(self.key_proj(x)), self.split(self.value_proj(x))
        scale = torch.sqrt(torch.tensor(self.d, dtype=torch.float) * self.scale_factor)
        s = torch.matmul(q, k.transpose(-1, -2) / scale)
        rel = self.pos_dropout(rel)[: 2 * self.span]
        idx_shape = (b, self.heads, t, t)
        if self.c2p:
            pk = self.split(self.key_proj(rel))  # [H, 2span, d]
            c2p = torch.matmul(q, pk.transpose(-1, -2))  # [B, H, L, 2span]
            pos = torch.clamp(rel_pos + self.span, 0, 2 * self.span - 1)
            s = s + torch.gather(c2p, -1, pos.expand(idx_shape)) / scale
        if self.p2c:
            pq = self.split(self.query_proj(rel))
            p2c = torch.matmul(k, pq.transpose(-1, -2))  # [B, H, L(key), 2span]
            pos = torch.clamp(-rel_pos + self.span, 0, 2 * self.span - 1)
            s = s + torch.gather(p2c, -1, pos.expand(idx_shape)).transpose(-1, -2) / scale
        # XSoftmax (v4.36): masked entries -> finfo.min, softmax, masked entries -> 0.
        s = s.masked_fill(rmask, torch.finfo(s.dtype).min)
        probs = F.softmax(s, dim=-1).masked_fill(rmask, 0.0)
        ctx = torch.matmul(self.dropout(probs), v)
        return ctx.transpose(1, 2).reshape(b, t, h)


class Attention(nn.Module):
    def __init__(self, cfg, p, eps):
        super().__init__()
        self.self = DisentangledSelfAttention(cfg, p)
        self.output = DenseLN(cfg["hidden_size"], cfg["hidden_size"], p["hidden"], eps)

    def forward(self, x, rmask, rel_pos, rel):
        return self.output(self.self(x, rmask, rel_pos, rel), x)


class Layer(nn.Module):
    def __init__(self, cfg, p, eps):
        super().__init__()
        self.attention = Attention(cfg, p, eps)
        self.intermediate = Intermediate(cfg["hidden_size"], cfg["intermediate_size"])
        self.output = DenseLN(cfg["intermediate_size"], cfg["hidden_size"], p["hidden"], eps)

    def forward(self, x, rmask, rel_pos, rel):
        a = self.attention(x, rmask, rel_pos, rel)
        return self.output(self.intermediate(a), a)


class Embeddings(nn.Module):
    def __init__(self, cfg, p, eps):
        super().__init__()
        h = cfg["hidden_size"]
        self.word_embeddings = nn.Embedding(cfg["vocab_size"], h, padding_idx=cfg.get("pad_token_id", 0))
        self.LayerNorm = nn.LayerNorm(h, eps=eps)
        self.dropout = nn.Dropout(p["hidden"])

    def forward(self, ids, mask):
        return self.dropout(self.LayerNorm(self.word_embeddings(ids)) * mask.unsqueeze(2).to(torch.float32))


class Encoder(nn.Module):
    def __init__(self, cfg, p, eps):
        super().__init__()
        self.layer = nn.ModuleList(Layer(cfg, p, eps) for _ in range(cfg["num_hidden_layers"]))
        span = cfg["position_buckets"] if cfg["position_buckets"] > 0 else cfg["max_relative_positions"]
        self.rel_embeddings = nn.Embedding(2 * span, cfg["hidden_size"])
        self.LayerNorm = nn.LayerNorm(cfg["hidden_size"], eps=eps, elementwise_affine=True)


class Deberta(nn.Module):
    def __init__(self, cfg, p, eps):
        super().__init__()
        self.embeddings = Embeddings(cfg, p, eps)
        self.encoder = Encoder(cfg, p, eps)


def normalize_config(cfg):
    """Apply DebertaV2Config / DebertaV2Encoder defaults and check that the
    config is the DeBERTa-v3 variant this module implements."""
    cfg = dict(cfg)
    pat = cfg.get("pos_att_type", [])
    if isinstance(pat, str):
        pat = [x.strip() for x in pat.lower().split("|")]
    cfg["pos_att_type"] = pat
    if cfg.get("max_relative_positions", -1) < 1:
        cfg["max_relative_positions"] = cfg["max_position_embeddings"]
    cfg.setdefault("position_buckets", -1)
    need = {"relative_attention": True, "share_att_key": True, "position_biased_input": False}
    for k, v in need.items():
        if cfg.get(k) != v:
            raise ValueError("config %s=%r: only %r is implemented" % (k, cfg.get(k), v))
    if cfg.get("type_vocab_size", 0) != 0 or "layer_norm" not in cfg.get("norm_rel_ebd", "none"):
        raise ValueError("config needs type_vocab_size 0 and norm_rel_ebd layer_norm")
    if cfg.get("embedding_size", cfg["hidden_size"]) != cfg["hidden_size"] or cfg.get("conv_kernel_size", 0):
        raise ValueError("embed_proj / ConvLayer are not implemented")
    return cfg


class DebertaV2ForTokenClassification(nn.Module):
    """DebertaV2ForTokenClassification (v4.36): DebertaV2Model, dropout, linear classifier.

    dropout=None uses the config's hidden_dropout_prob / attention_probs_dropout_prob."""

    def __init__(self, cfg, dropout=None):
        super().__init__()
        cfg = normalize_config(cfg)
        self.cfg = cfg
        p = dropout_probs(cfg, dropout)
        eps = cfg.get("layer_norm_eps", 1e-7)
        self.num_labels = len(cfg["id2label"]) if "id2label" in cfg else cfg["num_labels"]
        self.deberta = Deberta(cfg, p, eps)
        self.dropout = nn.Dropout(p["hidden"])
        self.classifier = nn.Linear(cfg["hidden_size"], self.num_labels)
        self._rel_pos = {}

    def init_weights(self, std):
        """DebertaV2PreTrainedModel._init_weights: Linear / Embedding N(0, std²),
        biases 0, padding row 0; LayerNorm 1 / 0."""
        with torch.no_grad():
            for m in self.modules():
                if isinstance(m, (nn.Linear, nn.Embedding)):
                    m.weight.normal_(0.0, std)
                if isinstance(m, nn.Linear) and m.bias is not None:
                    m.bias.zero_()
                if isinstance(m, nn.Embedding) and m.padding_idx is not None:
                    m.weight[m.padding_idx].zero_()
                if isinstance(m, nn.LayerNorm):
                    m.weight.fill_(1.0)
                    m.bias.zero_()

    def relative_positions(self, length):
        """DebertaV2Encoder.get_rel_pos for a length-L sequence (cached per L)."""
        if length not in self._rel_pos:
            self._rel_pos[length] = build_relative_position(
                length, length, self.cfg["position_buckets"], self.cfg["max_relative_positions"])
        return self._rel_pos[length]

    def forward(self, ids, mask):
        enc = self.deberta.encoder
        x = self.deberta.embeddings(ids, mask)
        m = mask.to(torch.bool)
        rmask = ~(m[:, None, None, :] & m[:, None, :, None])  # get_attention_mask: m_i * m_j
        rel_pos = self.relative_positions(ids.shape[1])
        rel = enc.LayerNorm(enc.rel_embeddings.weight)  # get_rel_embedding
        for layer in enc.layer:
            x = layer(x, rmask, rel_pos, rel)
        return self.classifier(self.dropout(x))

    def load_hf(self, tensors):
        """Load HF state_dict tensors ({name: numpy}) with strict key checking."""
        load_hf_state(self, tensors)


def apply_lora(model, r, alpha, dropout=0.0, targets=("query_proj", "value_proj")):
    """Freeze the model, wrap every attention.self.<target> Linear in LoRA and
    keep the classifier trainable (PEFT TOKEN_CLS modules_to_save; the trained
    copy starts equal to the base classifier). Returns {PEFT adapter key: Parameter}
    in PEFT named_parameters order. A is drawn from torch's global RNG."""
    return wrap_lora(model, "deberta", targets, lambda lin: LoRALinear(lin, r, alpha, dropout))


def smoothed_ce(logits, labels, smoothing=0.1):
    """torch cross_entropy with label smoothing, ignore_index -100, mean over labelled tokens."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1),
                           ignore_index=-100, label_smoothing=smoothing)


# ---------------------------------------------------------------- fixture check


def check_fixture(folder):
    """Compare this model with the HF fixture folder (case.json, lora.json,
    model.safetensors); returns {check: max |diff|}."""

    def t(x):
        dt = torch.long if x.get("dtype") == "int64" else torch.float32
        return torch.tensor(x["data"], dtype=torch.float64).to(dt).reshape(x["shape"])

    cfg = json.load(open(os.path.join(folder, "config.json")))
    case = json.load(open(os.path.join(folder, "case.json")))
    lj = json.load(open(os.path.join(folder, "lora.json")))
    weights = read_safetensors(os.path.join(folder, "model.safetensors"))
    torch.manual_seed(0)
    model = DebertaV2ForTokenClassification(cfg)
    model.load_hf(weights)
    model.eval()
    res = {}
    inp = case["inputs"]
    ids, mask = t(inp["input_ids"]), t(inp["attention_mask"])
    rp = model.relative_positions(ids.shape[1])
    res["relative_position_buckets"] = float((rp - t(case["outputs"]["relative_position_buckets"])).abs().max().item())
    with torch.no_grad():
        logits = model(ids, mask)
        res["logits"] = (logits - t(case["outputs"]["logits"])).abs().max().item()
        loss = smoothed_ce(logits, t(inp["labels"]), 0.0)
        res["loss"] = abs(loss.item() - case["outputs"]["loss"])

    # LoRA: r, alpha from lora.json; A and B from its initial_params.
    hp = lj["lora"]
    named = apply_lora(model, hp["r"], hp["lora_alpha"], 0.0)
    if list(named) != lj["trainable_parameter_keys"]:
        raise ValueError("trainable keys %s != fixture %s" % (list(named), lj["trainable_parameter_keys"]))
    with torch.no_grad():
        for k, p in named.items():
            p.copy_(t(lj["initial_params"][k]))
    li = lj["inputs"]
    ids, mask, labels = t(li["input_ids"]), t(li["attention_mask"]), t(li["labels"])
    opt = lj["optimizer"]
    adamw = torch.optim.AdamW(list(named.values()), lr=opt.get("lr", 1e-3), betas=tuple(opt.get("betas", (0.9, 0.999))),
                              eps=opt.get("eps", 1e-8), weight_decay=opt.get("weight_decay", 0.01))
    logits = model(ids, mask)
    loss = smoothed_ce(logits, labels, 0.1)
    res["lora_logits"] = (logits.detach() - t(lj["logits"])).abs().max().item()
    res["lora_loss"] = abs(loss.item() - lj["loss"])
    loss.backward()
    res["lora_grads"] = max((p.grad - t(lj["grads"][k])).abs().max().item() for k, p in named.items())
    adamw.step()
    res["lora_updated_params"] = max((p.detach() - t(lj["updated_params"][k])).abs().max().item() for k, p in named.items())
    with torch.no_grad():
        after = model(ids, mask)
    res["lora_logits_after_step"] = (after - t(lj["logits_after_step"])).abs().max().item()
    res["lora_loss_after_step"] = abs(smoothed_ce(after, labels, 0.1).item() - lj["loss_after_step"])
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check-fixture", dest="check_fixture", required=True,
                    help="HF fixture folder, e.g. ../shared/fixtures/deberta_v3")
    ap.add_argument("--tol", type=float, default=1e-4)
    args = ap.parse_args()
    torch.set_num_threads(1)
    res = check_fixture(args.check_fixture)
    res["fixture"] = args.check_fixture
    res["tol"] = args.tol
    print(json.dumps(res))
    bad = [k for k, v in res.items() if isinstance(v, float) and k != "tol" and not v <= args.tol]
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
