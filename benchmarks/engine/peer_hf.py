"""The Hugging Face stack from PyPI as the training-engine peer (issue 20).

One training step of transformers' BertForTokenClassification (BERT-base
shape) or DebertaV2ForTokenClassification (deberta-v3-base shape: relative
attention, 256 position buckets, vocab 128,100), random init, with PEFT's LoRA
(r 16, alpha 32, dropout 0.1 on query/value or query_proj/value_proj; the
classifier trains as modules_to_save) or full fine-tuning: forward,
label-smoothed cross-entropy (0.1), backward, torch.optim.AdamW (fused where
torch offers it on CPU). Settings are the peer's own knobs, each measured in
its own process so peak RSS is per setting:

  precision   fp32, or bf16 = torch.autocast("cpu", torch.bfloat16) (oneDNN
              AMX/AVX512-BF16 kernels; fp32 master weights), the setting
              transformers' Trainer uses for --bf16 on CPU
  attention   sdpa (transformers' default) or eager
  compile     torch.compile(model) (inductor) or not
  threads     torch.set_num_threads(1) or (2)

Run with the peers venv (scripts/peers_env.sh):

    $(bash scripts/peers_env.sh) benchmarks/engine/peer_hf.py --steps 5

prints one JSON line per setting, then {"best": {...}} per precision.
"""

import argparse
import itertools
import json
import os
import resource
import statistics
import subprocess
import sys
import time


def run(a):
    import torch
    import transformers as tf
    from peft import LoraConfig, get_peft_model

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    if a.arch == "deberta":
        # microsoft/deberta-v3-base's config.json.
        cfg = tf.DebertaV2Config(vocab_size=a.vocab or 128100, hidden_size=a.hidden, num_hidden_layers=a.layers,
                                 num_attention_heads=a.heads, intermediate_size=a.ffn, num_labels=a.labels,
                                 relative_attention=True, max_relative_positions=-1, position_buckets=256,
                                 norm_rel_ebd="layer_norm", share_att_key=True, pos_att_type=["p2c", "c2p"],
                                 position_biased_input=False, type_vocab_size=0, layer_norm_eps=1e-7,
                                 attn_implementation=a.attention)
        model = tf.DebertaV2ForTokenClassification(cfg)
        targets = ["query_proj", "value_proj"]
    else:
        cfg = tf.BertConfig(vocab_size=a.vocab or 30522, hidden_size=a.hidden, num_hidden_layers=a.layers,
                            num_attention_heads=a.heads, intermediate_size=a.ffn, num_labels=a.labels,
                            attn_implementation=a.attention)
        model = tf.BertForTokenClassification(cfg)
        targets = ["query", "value"]
    if a.mode == "lora":
        model = get_peft_model(model, LoraConfig(r=a.r, lora_alpha=a.alpha, lora_dropout=0.1,
                                                 target_modules=targets, modules_to_save=["classifier"]))
    model.train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    try:
        opt = torch.optim.AdamW(trainable, lr=5e-5, weight_decay=0.01, fused=True)
        fused = True
    except (RuntimeError, TypeError):
        opt = torch.optim.AdamW(trainable, lr=5e-5, weight_decay=0.01)
        fused = False
    fwd = torch.compile(model) if a.compile else model
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(1, cfg.vocab_size, (a.batch, a.seq), generator=g)
    mask = torch.ones_like(ids)
    labels = torch.randint(0, a.labels, (a.batch, a.seq), generator=g)
    labels[:, 0] = -100
    labels[torch.rand(a.batch, a.seq, generator=g) < 0.3] = -100

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.precision == "bf16"):
            logits = fwd(input_ids=ids, attention_mask=mask).logits
        loss = torch.nn.functional.cross_entropy(logits.float().view(-1, a.labels), labels.view(-1),
                                                 ignore_index=-100, label_smoothing=0.1)
        loss.backward()
        opt.step()
        return float(loss)

    t0 = time.perf_counter()
    for _ in range(a.warmup):
        step()
    warm = time.perf_counter() - t0
    times = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    import peft
    return {"arch": a.arch, "precision": a.precision, "attention": a.attention, "compile": a.compile, "threads": a.threads,
            "median_s": statistics.median(times), "steps": times, "warmup_s": warm,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
            "fused_adamw": fused, "batch": a.batch, "seq": a.seq, "mode": a.mode,
            "trainable_params": sum(p.numel() for p in trainable),
            "torch": torch.__version__, "transformers": tf.__version__, "peft": peft.__version__}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--arch", choices=["bert", "deberta"], default="bert")
    ap.add_argument("--mode", choices=["lora", "full"], default="lora")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2, help="untimed steps (torch.compile compiles in the first)")
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--hidden", type=int, default=768)
    ap.add_argument("--heads", type=int, default=12)
    ap.add_argument("--ffn", type=int, default=3072)
    ap.add_argument("--vocab", type=int, default=0, help="0: the architecture's (30,522 / 128,100)")
    ap.add_argument("--labels", type=int, default=9)
    ap.add_argument("--r", type=int, default=16)
    ap.add_argument("--alpha", type=float, default=32)
    ap.add_argument("--precision", default="fp32,bf16")
    ap.add_argument("--attention", default="sdpa,eager")
    ap.add_argument("--compile", default="0,1", help="0, 1 or both")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        a.compile = a.compile == "1"
        a.threads = int(a.threads)
        print(json.dumps(run(a)))
        return
    best = {}
    for prec, att, comp, thr in itertools.product(a.precision.split(","), a.attention.split(","),
                                                  a.compile.split(","), a.threads.split(",")):
        cmd = [sys.executable, os.path.abspath(__file__), "--one", "--precision", prec, "--attention", att,
               "--compile", comp, "--threads", thr, "--arch", a.arch, "--mode", a.mode, "--batch", str(a.batch), "--seq", str(a.seq),
               "--steps", str(a.steps), "--warmup", str(a.warmup), "--layers", str(a.layers),
               "--hidden", str(a.hidden), "--heads", str(a.heads), "--ffn", str(a.ffn), "--vocab", str(a.vocab),
               "--labels", str(a.labels), "--r", str(a.r), "--alpha", str(a.alpha)]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            r = {"arch": a.arch, "mode": a.mode, "precision": prec, "attention": att, "compile": comp == "1", "threads": int(thr),
                 "error": p.stderr.strip().splitlines()[-1] if p.stderr.strip() else "exit %d" % p.returncode}
        else:
            r = json.loads(p.stdout.strip().splitlines()[-1])
        print(json.dumps(r), flush=True)
        if "median_s" in r and (prec not in best or r["median_s"] < best[prec]["median_s"]):
            best[prec] = r
    print(json.dumps({"best": best}))


if __name__ == "__main__":
    main()
