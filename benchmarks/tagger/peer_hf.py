"""The transformers pipeline from PyPI as the tagger peer (issue 20).

pipeline("token-classification") on the benchmark's model folder (config.json,
model.safetensors, the PubMedBERT tokenizer) over the same raw texts
(texts.json, exactly 128 tokens each), aggregation_strategy "first" (the
setting consistent with first-sub-token training, openmed's default), one
thread, batch 1 and 32, in fp32 and in bf16 (torch_dtype=torch.bfloat16:
AMX/AVX512-BF16 on CPUs that have them). Tokenisation, windowing and
aggregation are in the timed region, as in openmed's Tagger. Best of REPS.

    $(bash scripts/peers_env.sh) benchmarks/tagger/peer_hf.py WORK [REPS]
"""
import json
import os
import sys
import time


def main():
    work = sys.argv[1]
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    import torch
    import transformers
    from transformers import AutoModelForTokenClassification, AutoTokenizer, pipeline

    torch.set_num_threads(1)
    texts = json.load(open(os.path.join(work, "texts.json")))
    model_dir = os.path.join(work, "model")
    tok = AutoTokenizer.from_pretrained(model_dir)
    ntok = sum(len(tok(t)["input_ids"]) for t in texts)
    results = []
    for dtype in ("fp32", "bf16"):
        model = AutoModelForTokenClassification.from_pretrained(
            model_dir, dtype=torch.bfloat16 if dtype == "bf16" else torch.float32)
        model.eval()
        pipe = pipeline("token-classification", model=model, tokenizer=tok, aggregation_strategy="first", device="cpu")
        for bs in (1, 32):
            pipe(texts[:bs], batch_size=bs)  # warm-up
            best, ents = None, 0
            for _ in range(reps):
                t0 = time.perf_counter()
                out = pipe(texts, batch_size=bs)
                dt = time.perf_counter() - t0
                if best is None or dt < best:
                    best, ents = dt, sum(len(o) for o in out)
            results.append({"dtype": dtype, "batch": bs, "tokens": ntok, "seconds": best,
                            "tokens_per_s": ntok / best, "entities": ents})
            print(json.dumps(results[-1]), file=sys.stderr, flush=True)
    print(json.dumps({"torch": torch.__version__, "transformers": transformers.__version__,
                      "threads": torch.get_num_threads(), "results": results}))


if __name__ == "__main__":
    main()
