#!/usr/bin/python3
"""PyTorch peer for openmed's training-loop parity test (tests/parity/loop_test.go).

Reads a case file written by the Go test and runs the same training loop:

  model   BertForTokenClassification (torchbert.py, HF formulas), weights from
          case["base_weights"] (safetensors), dropout off (model.eval()).
  lora    case["mode"] == "lora": PEFT LoRA on case["lora"]["targets"], r, alpha,
          lora_A/lora_B and classifier initial values from case["adapter_init"]
          (PEFT adapter keys, written by Go so both sides start identical).
  loss    F.cross_entropy(label_smoothing=case["label_smoothing"], ignore_index=-100)
  optim   torch.optim.AdamW(lr, betas (0.9, 0.999), eps 1e-8, weight_decay) with
          HF Trainer's no-decay group (case["no_decay"] names),
          LambdaLR(get_cosine_schedule_with_warmup(warmup, steps)),
          clip_grad_norm_(max_grad_norm) before every step.
  batches case["batches"][step % len(batches)], already padded by Go.

Writes {"losses": [...], "grad_norms": [...], "lrs": [...]} to case["result"] and the
final trainable tensors (HF / PEFT names) to case["final"] (safetensors).

    /usr/bin/python3 benchmarks/training/peer_loop.py CASE.json
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

import torchbert  # noqa: E402


def main(path):
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    case = json.load(open(path))
    cfg = json.load(open(case["config"]))
    model = torchbert.BertForTokenClassification(cfg, dropout=0.0)
    model.load_hf(torchbert.read_safetensors(case["base_weights"]))
    if case["mode"] == "lora":
        lc = case["lora"]
        named = torchbert.apply_lora(model, lc["r"], lc["alpha"], tuple(lc["targets"]))
        init = torchbert.read_safetensors(case["adapter_init"])
        if set(init) != set(named):
            raise SystemExit("adapter_init keys %s != model keys %s" % (sorted(init), sorted(named)))
        with torch.no_grad():
            for k, p in named.items():
                p.copy_(torch.from_numpy(init[k]))
    elif case["mode"] == "full":
        named = dict(model.named_parameters())
    else:
        raise SystemExit("unknown mode %r" % case["mode"])
    model.eval()  # dropout off

    params = list(named.values())
    opt = torchbert.make_optimizer(named, case["lr"], case["weight_decay"], set(case["no_decay"]))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, torchbert.cosine_with_warmup(case["warmup"], case["steps"]))
    batches = []
    for b in case["batches"]:
        ids = torch.tensor(b["ids"], dtype=torch.long)
        batches.append((ids, torch.zeros_like(ids), torch.tensor(b["mask"], dtype=torch.long),
                        torch.tensor(b["labels"], dtype=torch.long)))
    losses, norms, lrs = [], [], []
    for step in range(case["steps"]):
        ids, types, mask, labels = batches[step % len(batches)]
        opt.zero_grad(set_to_none=True)
        logits = model(ids, types, mask)
        loss = torch.nn.functional.cross_entropy(logits.view(-1, logits.shape[-1]), labels.view(-1),
                                                 ignore_index=-100, label_smoothing=case["label_smoothing"])
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(params, case["max_grad_norm"])
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
        losses.append(float(loss))
        norms.append(float(norm))
    json.dump({"losses": losses, "grad_norms": norms, "lrs": lrs, "torch": torch.__version__},
              open(case["result"], "w"))
    torchbert.write_safetensors(case["final"], {k: p for k, p in named.items()})


if __name__ == "__main__":
    main(sys.argv[1])
