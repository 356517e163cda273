#!/usr/bin/python3
"""PyTorch peer for the openmed training-engine benchmark.

One training step of a BERT-base token classifier, written with plain torch
modules (transformers is not installed here) so that it does the same work as
Hugging Face's BertForTokenClassification (transformers 4.36, eager attention):
post-LN encoder, exact erf GELU, dropout 0.1 in training mode, a linear head
over 9 BIO labels. In --mode lora the base is frozen and PEFT-style LoRA
(r=16, alpha=32, dropout 0.1, A kaiming-uniform / B zero) is added to the
query and value projections; the LoRA matrices and the classifier train.
In --mode full every parameter trains.

One step = forward + label-smoothed cross-entropy (eps 0.1, ignore -100) +
backward + torch.optim.AdamW (lr 5e-5, wd 0.01).

Run with the Debian interpreter (python3-torch 1.13.1):

    /usr/bin/python3 benchmarks/engine/peer_torch.py --mode lora --steps 5

Without --threads it runs itself twice in separate processes, with
torch.set_num_threads(1) and (2), and prints the fastest run's JSON
({"threads", "median_s", "steps", "peak_rss_mb"}) plus both runs under "runs".
"""

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time


def build(torch, args):
    nn = torch.nn
    F = torch.nn.functional
    # BertSelfAttention's eager attention, shared with the training peers
    # (imported here: the parent process that only spawns runs needs no torch).
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "training"))
    from torchbert import attention_context

    class LoRALinear(nn.Module):
        """nn.Linear plus PEFT's lora_B(lora_A(dropout(x))) * alpha/r."""

        def __init__(self, base, r, alpha, dropout):
            super().__init__()
            self.base = base
            self.lora_A = nn.Linear(base.in_features, r, bias=False)
            self.lora_B = nn.Linear(r, base.out_features, bias=False)
            nn.init.kaiming_uniform_(self.lora_A.weight, a=math.sqrt(5))
            nn.init.zeros_(self.lora_B.weight)
            self.drop = nn.Dropout(dropout)
            self.scaling = alpha / r

        def forward(self, x):
            return self.base(x) + self.lora_B(self.lora_A(self.drop(x))) * self.scaling

    class Layer(nn.Module):
        def __init__(self, h, heads, ffn, p, eps):
            super().__init__()
            self.heads = heads
            self.query, self.key, self.value = nn.Linear(h, h), nn.Linear(h, h), nn.Linear(h, h)
            self.attn_out, self.attn_ln = nn.Linear(h, h), nn.LayerNorm(h, eps=eps)
            self.inter, self.out, self.out_ln = nn.Linear(h, ffn), nn.Linear(ffn, h), nn.LayerNorm(h, eps=eps)
            self.drop = nn.Dropout(p)

        def forward(self, x, mask_add):
            ctx = attention_context(self.query(x), self.key(x), self.value(x), self.heads, mask_add, self.drop)
            a = self.attn_ln(self.drop(self.attn_out(ctx)) + x)
            return self.out_ln(self.drop(self.out(F.gelu(self.inter(a)))) + a)

    class BertForTokenClassification(nn.Module):
        def __init__(self, a):
            super().__init__()
            h = a.hidden
            self.word = nn.Embedding(a.vocab, h, padding_idx=0)
            self.pos = nn.Embedding(a.max_pos, h)
            self.token_type = nn.Embedding(2, h)
            self.emb_ln = nn.LayerNorm(h, eps=1e-12)
            self.drop = nn.Dropout(0.1)
            self.layers = nn.ModuleList(Layer(h, a.heads, a.ffn, 0.1, 1e-12) for _ in range(a.layers))
            self.classifier = nn.Linear(h, a.labels)
            for m in self.modules():  # BertPreTrainedModel._init_weights
                if isinstance(m, (nn.Linear, nn.Embedding)):
                    m.weight.data.normal_(0.0, 0.02)
                if isinstance(m, nn.Linear) and m.bias is not None:
                    m.bias.data.zero_()
            self.word.weight.data[0].zero_()

        def forward(self, ids, types, mask):
            t = ids.shape[1]
            pos = torch.arange(t, device=ids.device).unsqueeze(0)
            x = self.drop(self.emb_ln(self.word(ids) + self.pos(pos) + self.token_type(types)))
            mask_add = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
            for layer in self.layers:
                x = layer(x, mask_add)
            return self.classifier(self.drop(x))

    model = BertForTokenClassification(args)
    if args.mode == "lora":
        for p in model.parameters():
            p.requires_grad_(False)
        for layer in model.layers:
            layer.query = LoRALinear(layer.query, args.r, args.alpha, args.lora_dropout)
            layer.value = LoRALinear(layer.value, args.r, args.alpha, args.lora_dropout)
        for p in model.classifier.parameters():
            p.requires_grad_(True)
    model.train()
    return model


def run(args):
    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = build(torch, args)
    trainable = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(trainable, lr=5e-5, weight_decay=0.01)
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(1, args.vocab, (args.batch, args.seq), generator=g)
    types = torch.zeros_like(ids)
    mask = torch.ones_like(ids)
    labels = torch.randint(0, args.labels, (args.batch, args.seq), generator=g)
    labels[:, 0] = -100  # [CLS]
    labels[torch.rand(args.batch, args.seq, generator=g) < 0.3] = -100  # continuation sub-words

    def step():
        opt.zero_grad(set_to_none=True)
        logits = model(ids, types, mask)
        loss = torch.nn.functional.cross_entropy(
            logits.view(-1, args.labels), labels.view(-1), ignore_index=-100, label_smoothing=0.1)
        loss.backward()
        opt.step()
        return float(loss)

    for _ in range(args.warmup):
        step()
    times = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return {
        "threads": args.threads,
        "median_s": statistics.median(times),
        "steps": times,
        "peak_rss_mb": rss,
        "mode": args.mode,
        "batch": args.batch,
        "seq": args.seq,
        "trainable_params": sum(p.numel() for p in trainable),
        "torch": torch.__version__,
    }


def check_fixture(folder):
    """Load an HF BertForTokenClassification fixture (config.json,
    pytorch_model.bin, case.json) into this model and compare logits."""
    import torch

    cfg = json.load(open(os.path.join(folder, "config.json")))
    case = json.load(open(os.path.join(folder, "case.json")))
    a = argparse.Namespace(hidden=cfg["hidden_size"], heads=cfg["num_attention_heads"],
                           ffn=cfg["intermediate_size"], layers=cfg["num_hidden_layers"],
                           vocab=cfg["vocab_size"], max_pos=cfg["max_position_embeddings"],
                           labels=len(cfg["id2label"]), mode="full")
    model = build(torch, a)
    sd = torch.load(os.path.join(folder, "pytorch_model.bin"), map_location="cpu")
    ren = {"bert.embeddings.word_embeddings": "word", "bert.embeddings.position_embeddings": "pos",
           "bert.embeddings.token_type_embeddings": "token_type", "bert.embeddings.LayerNorm": "emb_ln",
           "attention.self.query": "query", "attention.self.key": "key", "attention.self.value": "value",
           "attention.output.dense": "attn_out", "attention.output.LayerNorm": "attn_ln",
           "intermediate.dense": "inter", "output.dense": "out", "output.LayerNorm": "out_ln"}
    mine = {}
    for k, v in sd.items():
        name = k.replace("bert.encoder.layer.", "layers.")
        for old, new in ren.items():
            name = name.replace(old, new)
        mine[name] = v
    model.load_state_dict(mine, strict=True)
    model.eval()

    def t(x):
        return torch.tensor(x["data"]).reshape(x["shape"])

    inp = case["inputs"]
    with torch.no_grad():
        logits = model(t(inp["input_ids"]), t(inp["token_type_ids"]), t(inp["attention_mask"]))
    diff = (logits - t(case["outputs"]["logits"]).float()).abs().max().item()
    print(json.dumps({"fixture": folder, "logits_max_abs_diff": diff}))
    return diff


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mode", choices=["lora", "full"], default="lora")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--steps", type=int, default=5, help="timed steps")
    ap.add_argument("--warmup", type=int, default=1, help="untimed steps first")
    ap.add_argument("--threads", type=int, default=0, help="0 = run 1 and 2 threads in separate processes")
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--hidden", type=int, default=768)
    ap.add_argument("--heads", type=int, default=12)
    ap.add_argument("--ffn", type=int, default=3072)
    ap.add_argument("--vocab", type=int, default=30522)
    ap.add_argument("--max-pos", dest="max_pos", type=int, default=512)
    ap.add_argument("--labels", type=int, default=9)
    ap.add_argument("--r", type=int, default=16)
    ap.add_argument("--alpha", type=float, default=32)
    ap.add_argument("--lora-dropout", dest="lora_dropout", type=float, default=0.1)
    ap.add_argument("--check-fixture", dest="check_fixture", default="",
                    help="verify the model against an HF fixture folder (e.g. ../shared/fixtures/bert) and exit")
    args = ap.parse_args()
    if args.check_fixture:
        sys.exit(0 if check_fixture(args.check_fixture) <= 1e-4 else 1)
    if args.seq > args.max_pos:
        ap.error("--seq %d exceeds --max-pos %d" % (args.seq, args.max_pos))
    if args.threads > 0:
        print(json.dumps(run(args)))
        return
    runs = []
    for n in (1, 2):
        cmd = [sys.executable, __file__, "--threads", str(n)] + sys.argv[1:]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        runs.append(json.loads(out.strip().splitlines()[-1]))
    best = dict(min(runs, key=lambda r: r["median_s"]))
    best["runs"] = runs
    print(json.dumps(best))


if __name__ == "__main__":
    main()
