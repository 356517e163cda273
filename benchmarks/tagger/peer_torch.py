"""PyTorch peer for the tagger benchmark (benchmarks/tagger/run.sh).

Runs the same BERT-base-shaped token classifier (benchmarks/training/torchbert.py,
HF modeling_bert formulas, weights from the model's model.safetensors) on the
same texts' token ids (ids.json, written by `tagger prepare`; Python has no HF
tokenizers here, so tokenisation is not in the peer's time — ours includes it)
at batch 1 and 32, eval mode, torch.no_grad, torch.set_num_threads(1), and
does the pipeline's post-processing (softmax, arg-max). Prints JSON.
"""
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "training"))
import torchbert  # noqa: E402


def main():
    work = sys.argv[1]
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    torch.set_num_threads(1)
    model_dir = os.path.join(work, "model")
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    model = torchbert.BertForTokenClassification(cfg, dropout=0.0)
    model.load_hf(torchbert.read_safetensors(os.path.join(model_dir, "model.safetensors")))
    model.eval()
    ids = json.load(open(os.path.join(work, "ids.json")))
    results = []
    with torch.no_grad():
        for bs in (1, 32):
            batches = []
            for s in range(0, len(ids), bs):
                x = torch.tensor(ids[s:s + bs], dtype=torch.long)
                batches.append((x, torch.zeros_like(x), torch.ones_like(x)))
            model(*batches[0])  # warm-up
            best = None
            for _ in range(reps):
                t0 = time.perf_counter()
                for x, tt, m in batches:
                    logits = model(x, tt, m)
                    scores = torch.softmax(logits, dim=-1)
                    scores.max(dim=-1)
                dt = time.perf_counter() - t0
                best = dt if best is None else min(best, dt)
            tokens = sum(len(r) for r in ids)
            results.append({"batch": bs, "tokens": tokens, "seconds": best, "tokens_per_s": tokens / best})
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "results": results}))


if __name__ == "__main__":
    main()
