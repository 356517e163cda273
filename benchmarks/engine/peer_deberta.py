#!/usr/bin/python3
"""PyTorch peer for the DeBERTa-v3-base LoRA training-step benchmark.

Two sub-commands, both with the Debian interpreter (python3-torch 1.13.1):

  prepare --out DIR   writes the shared starting point once, so both sides load
                      the same numbers: DIR/model/{config.json,model.safetensors}
                      (deberta-v3-base shape: 12 layers, hidden 768, 12 heads,
                      FFN 3072, vocab 128100, position_buckets 256,
                      max_relative_positions -1 -> 512, share_att_key,
                      pos_att_type "p2c|c2p", norm_rel_ebd layer_norm, 9 labels;
                      HF _init_weights with torch.manual_seed(--seed)),
                      DIR/adapter/{adapter_config.json,adapter_model.safetensors}
                      (PEFT LoRA r16 / alpha 32 / dropout 0.1 on query_proj,value_proj;
                      A kaiming-uniform, B zero; classifier in modules_to_save) and
                      DIR/batch.json (8x128 ids, all-ones mask, labels with the first
                      token and ~30 % of the rest -100).
  run --dir DIR       loads DIR with torchdeberta.py (HF names, strict) and times
                      one training step = forward + label-smoothed CE (0.1) +
                      backward + torch.optim.AdamW (lr 5e-5, wd 0.01, one group).

Before timing, `run` does a check step with dropout off (model.eval()): it
reports the loss at the loaded weights (check_loss0), takes that AdamW step and
reports the loss after it (check_loss1). The Go side (deberta/main.go) does the
same, so run.sh can prove both compute the same maths on the same numbers.
Then it switches dropout on, runs --warmup untimed steps and --steps timed ones.

Without --threads, `run` runs itself in separate processes with
torch.set_num_threads(1) and (2) and prints the fastest run's JSON plus both
runs under "runs" (like peer_torch.py for BERT).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

import torchdeberta as td  # noqa: E402

BASE_CONFIG = {
    "architectures": ["DebertaV2ForTokenClassification"],
    "model_type": "deberta-v2",
    "attention_probs_dropout_prob": 0.1,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "hidden_size": 768,
    "initializer_range": 0.02,
    "intermediate_size": 3072,
    "layer_norm_eps": 1e-7,
    "max_position_embeddings": 512,
    "max_relative_positions": -1,
    "norm_rel_ebd": "layer_norm",
    "num_attention_heads": 12,
    "num_hidden_layers": 12,
    "pad_token_id": 0,
    "pooler_dropout": 0,
    "pooler_hidden_act": "gelu",
    "pooler_hidden_size": 768,
    "pos_att_type": "p2c|c2p",
    "position_biased_input": False,
    "position_buckets": 256,
    "relative_attention": True,
    "share_att_key": True,
    "type_vocab_size": 0,
    "vocab_size": 128100,
    "torch_dtype": "float32",
}


def proc_status_mb(field):
    """VmHWM / VmRSS of this process in MB (from /proc/self/status)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def prepare(args):
    cfg = dict(BASE_CONFIG)
    cfg.update(num_hidden_layers=args.layers, hidden_size=args.hidden, num_attention_heads=args.heads,
               intermediate_size=args.ffn, vocab_size=args.vocab, pooler_hidden_size=args.hidden,
               position_buckets=args.buckets, max_position_embeddings=args.max_pos)
    cfg["id2label"] = {str(i): "L%d" % i for i in range(args.labels)}
    cfg["label2id"] = {"L%d" % i: i for i in range(args.labels)}
    torch.manual_seed(args.seed)
    model = td.DebertaV2ForTokenClassification(cfg)
    model.init_weights(cfg["initializer_range"])
    os.makedirs(os.path.join(args.out, "model"), exist_ok=True)
    os.makedirs(os.path.join(args.out, "adapter"), exist_ok=True)
    with open(os.path.join(args.out, "model", "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
    td.write_safetensors(os.path.join(args.out, "model", "model.safetensors"), model.state_dict())
    named = td.apply_lora(model, args.r, args.alpha, args.lora_dropout)
    acfg = {"peft_type": "LORA", "task_type": "TOKEN_CLS", "r": args.r, "lora_alpha": args.alpha,
            "lora_dropout": args.lora_dropout, "target_modules": ["query_proj", "value_proj"],
            "bias": "none", "fan_in_fan_out": False, "modules_to_save": ["classifier", "score"],
            "init_lora_weights": True, "use_rslora": False, "use_dora": False, "inference_mode": True,
            "base_model_name_or_path": "model"}
    with open(os.path.join(args.out, "adapter", "adapter_config.json"), "w") as f:
        json.dump(acfg, f, indent=2, sort_keys=True)
    td.write_safetensors(os.path.join(args.out, "adapter", "adapter_model.safetensors"), named)
    g = torch.Generator().manual_seed(args.seed + 1)
    ids = torch.randint(1, args.vocab, (args.batch, args.seq), generator=g)
    labels = torch.randint(0, args.labels, (args.batch, args.seq), generator=g)
    labels[:, 0] = -100  # [CLS]
    labels[torch.rand(args.batch, args.seq, generator=g) < 0.3] = -100  # continuation sub-words
    batch = {"batch": args.batch, "seq": args.seq, "input_ids": ids.flatten().tolist(),
             "attention_mask": [1] * (args.batch * args.seq), "labels": labels.flatten().tolist()}
    with open(os.path.join(args.out, "batch.json"), "w") as f:
        json.dump(batch, f)
    total = sum(p.numel() for p in model.parameters())
    print(json.dumps({"out": args.out, "total_params": total, "trainable_params": sum(p.numel() for p in named.values())}))


def run(args):
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    cfg = json.load(open(os.path.join(args.dir, "model", "config.json")))
    acfg = json.load(open(os.path.join(args.dir, "adapter", "adapter_config.json")))
    batch = json.load(open(os.path.join(args.dir, "batch.json")))
    model = td.DebertaV2ForTokenClassification(cfg)
    td.load_safetensors_into(model, os.path.join(args.dir, "model", "model.safetensors"))
    named = td.apply_lora(model, acfg["r"], acfg["lora_alpha"], acfg["lora_dropout"], tuple(acfg["target_modules"]))
    seen = td.load_safetensors_into(model, os.path.join(args.dir, "adapter", "adapter_model.safetensors"),
                                    prefix="base_model.model.")
    want = {k[len("base_model.model."):] for k in named}
    if seen != want:
        raise KeyError("adapter tensors %s != trainable parameters %s" % (sorted(seen ^ want)[:4], len(want)))
    load_s = time.perf_counter() - t0
    B, L = batch["batch"], batch["seq"]
    ids = torch.tensor(batch["input_ids"], dtype=torch.long).view(B, L)
    mask = torch.tensor(batch["attention_mask"], dtype=torch.long).view(B, L)
    labels = torch.tensor(batch["labels"], dtype=torch.long).view(B, L)
    trainable = list(named.values())
    opt = torch.optim.AdamW(trainable, lr=5e-5, weight_decay=0.01)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = td.smoothed_ce(model(ids, mask), labels, 0.1)
        loss.backward()
        opt.step()
        return float(loss)

    model.eval()  # check step: dropout off on both sides, same maths
    loss0 = step()
    with torch.no_grad():
        loss1 = float(td.smoothed_ce(model(ids, mask), labels, 0.1))
    model.train()
    last = 0.0
    for _ in range(args.warmup):
        last = step()
    times = []
    for _ in range(args.steps):
        t = time.perf_counter()
        last = step()
        times.append(time.perf_counter() - t)
    return {
        "threads": args.threads,
        "median_s": statistics.median(times) if times else 0.0,
        "steps": times,
        "peak_rss_mb": proc_status_mb("VmHWM"),
        "rss_end_mb": proc_status_mb("VmRSS"),
        "load_s": load_s,
        "check_loss0": loss0,
        "check_loss1": loss1,
        "last_loss": last,
        "batch": B,
        "seq": L,
        "trainable_params": sum(p.numel() for p in trainable),
        "total_params": sum(p.numel() for p in model.parameters()),
        "torch": torch.__version__,
        "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE", ""),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare", help="write the shared weights, adapter and batch")
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--seq", type=int, default=128)
    p.add_argument("--layers", type=int, default=12)
    p.add_argument("--hidden", type=int, default=768)
    p.add_argument("--heads", type=int, default=12)
    p.add_argument("--ffn", type=int, default=3072)
    p.add_argument("--vocab", type=int, default=128100)
    p.add_argument("--buckets", type=int, default=256)
    p.add_argument("--max-pos", dest="max_pos", type=int, default=512)
    p.add_argument("--labels", type=int, default=9)
    p.add_argument("--r", type=int, default=16)
    p.add_argument("--alpha", type=float, default=32)
    p.add_argument("--lora-dropout", dest="lora_dropout", type=float, default=0.1)
    r = sub.add_parser("run", help="check step, then time training steps")
    r.add_argument("--dir", required=True)
    r.add_argument("--steps", type=int, default=5, help="timed steps")
    r.add_argument("--warmup", type=int, default=1, help="untimed steps first")
    r.add_argument("--threads", type=int, default=0, help="0 = run 1 and 2 threads in separate processes")
    args = ap.parse_args()
    if args.cmd == "prepare":
        if args.seq > args.max_pos:
            ap.error("--seq %d exceeds --max-pos %d" % (args.seq, args.max_pos))
        prepare(args)
        return
    if args.threads > 0:
        print(json.dumps(run(args)))
        return
    runs = []
    for n in (1, 2):
        cmd = [sys.executable, os.path.abspath(__file__), "run", "--dir", args.dir, "--steps", str(args.steps),
               "--warmup", str(args.warmup), "--threads", str(n)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        runs.append(json.loads(out.strip().splitlines()[-1]))
    best = dict(min(runs, key=lambda x: x["median_s"]))
    best["runs"] = runs
    print(json.dumps(best))


if __name__ == "__main__":
    main()
