"""Markdown table from the JSON lines of `peer run` and optuna_peer.py:
per problem and budget, each sampler's best value (mean ± sd over seeds,
median), and openmed's TPE against Optuna's (same mode) with a two-sided
Mann-Whitney U test (the seeds of the two are independent streams, not
pairs). Sampler time per trial at the largest budget.

usage: table.py RESULTS.jsonl..."""

import collections
import json
import statistics
import sys

from scipy.stats import mannwhitneyu

ORDER = ["openmed-tpe", "optuna-tpe", "openmed-tpe-multivariate", "openmed-tpe-multivariate-neighbour",
         "optuna-tpe-multivariate", "openmed-random"]
DIRECTION = {"branin": 1, "hartmann6": 1, "quadratic-log-categorical": 1, "neg-quadratic-maximize": -1,
             "paper-space-surrogate": -1}  # +1 minimise, -1 maximise


def main(paths):
    rows = [json.loads(l) for p in paths for l in open(p) if l.strip()]
    by = collections.defaultdict(list)
    secs = collections.defaultdict(list)
    budgets = sorted({int(k) for r in rows for k in r["best_at"]})
    for r in rows:
        for k, v in r["best_at"].items():
            by[(r["problem"], r["sampler"], int(k))].append(v)
        secs[r["sampler"]].append(r["seconds"] / max(int(k) for k in r["best_at"]))
    seeds = len(by[(rows[0]["problem"], rows[0]["sampler"], budgets[0])])
    print(f"Best value found (mean ± sd over {seeds} seeds; median); ↓ minimise, ↑ maximise. "
          "p: two-sided Mann-Whitney U, openmed vs Optuna in the same mode.\n")
    for budget in [b for b in (40, budgets[-1]) if b in budgets]:
        print(f"### {budget} trials\n")
        print("| problem | " + " | ".join(ORDER) + " | p (univariate) | p (multivariate) | p (multivariate, neighbour) |")
        print("|---|" + "---|" * (len(ORDER) + 3))
        for prob in sorted({r["problem"] for r in rows}):
            cells = []
            for s in ORDER:
                v = by.get((prob, s, budget))
                cells.append(f"{statistics.mean(v):.4f} ± {statistics.stdev(v):.4f} ({statistics.median(v):.4f})" if v else "—")
            ps = []
            for a, b in (("openmed-tpe", "optuna-tpe"), ("openmed-tpe-multivariate", "optuna-tpe-multivariate"),
                     ("openmed-tpe-multivariate-neighbour", "optuna-tpe-multivariate")):
                x, y = by.get((prob, a, budget)), by.get((prob, b, budget))
                ps.append(f"{mannwhitneyu(x, y).pvalue:.2f}" if x and y else "—")
            arrow = "↓" if DIRECTION.get(prob, 1) > 0 else "↑"
            print(f"| {prob} {arrow} | " + " | ".join(cells) + " | " + " | ".join(ps) + " |")
        print()
    print("Sampler time per trial (mean over every study, ms): " +
          ", ".join(f"{s} {1000 * statistics.mean(secs[s]):.2f}" for s in ORDER if secs[s]))


if __name__ == "__main__":
    main(sys.argv[1:])
