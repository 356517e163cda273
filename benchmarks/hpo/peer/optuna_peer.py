"""Optuna's TPESampler on openmed's hpo.BenchmarkProblems: the spaces come
from `peer spaces` and every objective value from `peer serve` (the Go
program owns the problems), so both samplers optimise exactly the same
functions. One JSON line per study, the layout of `peer run`.

usage: optuna_peer.py PEER_BINARY [--trials 60] [--seeds 20]"""

import argparse
import json
import subprocess
import sys
import time
import warnings

import optuna

CHECKPOINTS = [10, 20, 40, 60, 100]


def distributions(space):
    out = {}
    for p in space:
        if p["kind"] == "categorical":
            out[p["name"]] = optuna.distributions.CategoricalDistribution(p["choices"])
        elif p["kind"] == "int":
            out[p["name"]] = optuna.distributions.IntDistribution(int(p["low"]), int(p["high"]), log=p.get("log", False),
                                                                  step=int(p.get("step") or 1))
        else:
            out[p["name"]] = optuna.distributions.FloatDistribution(p["low"], p["high"], log=p.get("log", False),
                                                                    step=p.get("step") or None)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("peer")
    ap.add_argument("--trials", type=int, default=60)
    ap.add_argument("--seeds", type=int, default=20)
    a = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    spaces = json.loads(subprocess.run([a.peer, "spaces"], check=True, capture_output=True, text=True).stdout)
    srv = subprocess.Popen([a.peer, "serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)

    def evaluate(problem, params):
        srv.stdin.write(json.dumps({"problem": problem, "params": params}) + "\n")
        srv.stdin.flush()
        return json.loads(srv.stdout.readline())["value"]

    for name, spec in spaces.items():
        dists = distributions(spec["space"])
        for label, mv in (("optuna-tpe", False), ("optuna-tpe-multivariate", True)):
            for seed in range(a.seeds):
                sampler = optuna.samplers.TPESampler(seed=seed, multivariate=mv)
                study = optuna.create_study(direction=spec["direction"], sampler=sampler)
                best, best_at, spent = None, {}, 0.0
                for i in range(a.trials):
                    t0 = time.perf_counter()
                    trial = study.ask(dists)
                    spent += time.perf_counter() - t0
                    v = evaluate(name, trial.params)
                    t0 = time.perf_counter()
                    study.tell(trial, v)
                    spent += time.perf_counter() - t0
                    if best is None or (v < best if spec["direction"] == "minimize" else v > best):
                        best = v
                    if i + 1 in CHECKPOINTS:
                        best_at[str(i + 1)] = best
                print(json.dumps({"problem": name, "sampler": label, "seed": seed, "best_at": best_at,
                                  "seconds": spent}), flush=True)
    srv.stdin.close()
    srv.wait()


if __name__ == "__main__":
    sys.exit(main())
