#!/usr/bin/python3
"""PyTorch peer for openmed's same-work NCBI-Disease comparison (same_work.sh).

Fine-tunes the initialisation saved by `samework prepare` (DIR/init: config.json +
model.safetensors, HF BertForTokenClassification names) on DIR/features.json with
DIR/recipe.json, doing what HF Trainer does for token classification:

  * model: torchbert.BertForTokenClassification (HF formulas), dropout from the config
    (0.1 on embeddings, attention probabilities, hidden states and the classifier input);
  * batches: DIR/features.json "order" (the same batches as openmed), right-padded
    like DataCollatorForTokenClassification;
  * loss: F.cross_entropy(label_smoothing, ignore_index=-100) (Trainer's
    LabelSmoother gives the same mean over labelled positions);
  * optimiser: torch.optim.AdamW, HF's no-decay group (recipe "no_decay"),
    LambdaLR(get_cosine_schedule_with_warmup), clip_grad_norm_ before each step;
  * prediction: model.eval(), argmax of every position of every test window.

Writes DIR/peer/pred.json ({"argmax", "train_seconds", "train_tokens", ...}); openmed's
`samework score` turns it into per-word tags and scores it with core/metrics.

    /usr/bin/python3 benchmarks/training/peer_ncbi.py DIR
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

import torchbert  # noqa: E402


def main(d):
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    recipe = json.load(open(os.path.join(d, "recipe.json")))
    feats = json.load(open(os.path.join(d, "features.json")))
    cfg = json.load(open(os.path.join(d, "init", "config.json")))
    torch.manual_seed(recipe["seed"])
    model = torchbert.BertForTokenClassification(cfg)
    model.load_hf(torchbert.read_safetensors(os.path.join(d, "init", "model.safetensors")))
    named = dict(model.named_parameters())
    no_decay = set(recipe["no_decay"])
    missing = no_decay - set(named)
    if missing:
        raise SystemExit("no_decay names unknown to the model: %s" % sorted(missing))
    params = list(named.values())
    opt = torchbert.make_optimizer(named, recipe["lr"], recipe["weight_decay"], no_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, torchbert.cosine_with_warmup(recipe["warmup_steps"], recipe["total_steps"]))
    train = feats["train"]
    pad = feats["pad_id"]
    out = {"engine": "PyTorch %s (torchbert.py, eager, set_num_threads(1))" % torch.__version__,
           "threads": torch.get_num_threads(), "train_tokens": 0, "padded_tokens": 0, "epoch_loss": []}
    step = 0
    t0 = time.perf_counter()
    for e, order in enumerate(feats["order"]):
        model.train()
        total, n = 0.0, 0
        for idx in order:
            group = [train[k] for k in idx]
            ids, types, mask, labels = torchbert.pad_batch(group, pad)
            opt.zero_grad(set_to_none=True)
            logits = model(ids, types, mask)
            loss = torch.nn.functional.cross_entropy(logits.view(-1, logits.shape[-1]), labels.view(-1),
                                                     ignore_index=-100, label_smoothing=recipe["label_smoothing"])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, recipe["max_grad_norm"])
            opt.step()
            sched.step()
            step += 1
            total += float(loss)
            n += 1
            out["train_tokens"] += sum(len(f["ids"]) for f in group)
            out["padded_tokens"] += ids.numel()
        out["epoch_loss"].append(total / n)
        print("peer: epoch %d/%d loss %.4f (%d steps, %.0f s)" % (e + 1, len(feats["order"]), total / n, step,
                                                                   time.perf_counter() - t0), file=sys.stderr, flush=True)
    out["train_seconds"] = time.perf_counter() - t0
    out["steps"] = step

    model.eval()
    test = feats["test"]
    bs = recipe["eval_batch_size"]
    argmax = []
    with torch.no_grad():
        for lo in range(0, len(test), bs):
            group = test[lo:lo + bs]
            ids, types, mask, _ = torchbert.pad_batch(group, pad)
            pred = model(ids, types, mask).argmax(-1)
            for i, f in enumerate(group):
                argmax.append(pred[i, :len(f["ids"])].tolist())
    out["argmax"] = argmax
    os.makedirs(os.path.join(d, "peer"), exist_ok=True)
    tmp = os.path.join(d, "peer", "pred.json.tmp")
    json.dump(out, open(tmp, "w"))
    os.replace(tmp, os.path.join(d, "peer", "pred.json"))


if __name__ == "__main__":
    main(sys.argv[1])
