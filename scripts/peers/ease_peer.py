#!/usr/bin/env python3
"""EASE^R (Steck, WWW 2019) as a peer: a closed-form item-item model, B = I - P / diag(P) with
P = (XᵀX + λI)⁻¹ and a zero diagonal, scores = X·B. Its L2 weight λ is chosen on a validation
part carved from train (the same protocol as the peers in ../shared/peers), then the model is
refit on all of train (plus validation) with that λ and evaluated on test with ../EVAL.md's
full ranking (recsys_eval.py).

    python3 scripts/peers/ease_peer.py --dataset ml-100k --data ../shared/data/ml-100k
    python3 scripts/peers/ease_peer.py --dataset gowalla --data ../shared/data/gowalla --lambdas 250,500,1000

Run it with the peers' venv (numpy, scipy). The Gram matrix is items × items float32: 11 MB for
ML-100K, 6.7 GB for Gowalla's 40,981 items (inverted in place; an LU inverse of that size is
~1.4e14 floating-point operations, about a quarter of an hour per λ on 2 cores).
"""
import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "peers"))
import recsys_eval as ev  # noqa: E402


def fit(n_users, n_items, train, lam):
    x = ev.to_csr(n_users, n_items, train).astype(np.float32)
    g = (x.T @ x).toarray().astype(np.float32)
    g[np.diag_indices(n_items)] += lam
    # In place, so only one items × items matrix is held: the Gram matrix becomes its inverse,
    # then B.
    import scipy.linalg
    p = scipy.linalg.inv(g, overwrite_a=True, check_finite=False)
    p /= -np.diag(p)
    p[np.diag_indices(n_items)] = 0
    return x, p


def run(n_users, n_items, train, target, lam):
    t0 = time.perf_counter()
    x, b = fit(n_users, n_items, train, lam)
    fit_s = time.perf_counter() - t0
    score = lambda users: np.asarray((x[users] @ b))
    t0 = time.perf_counter()
    metrics = ev.evaluate(score, n_users, n_items, train, target)
    return metrics, fit_s, time.perf_counter() - t0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", choices=["gowalla", "ml-100k"], required=True)
    p.add_argument("--data", required=True, help="folder holding the data set's files")
    p.add_argument("--lambdas", default="50,100,200,300,500,1000", help="the L2 weights tried on validation")
    p.add_argument("--metric", default=None, help="validation metric that picks λ (default: recall@20, ML-100K hitrate@10)")
    p.add_argument("--json")
    a = p.parse_args()
    metric = a.metric or ("hitrate@10" if a.dataset == "ml-100k" else "recall@20")

    def load(valid_fraction):
        if a.dataset == "gowalla":
            return ev.load_lightgcn(a.data, valid_fraction=valid_fraction)
        return ev.load_ml100k(a.data)

    # λ on validation: Gowalla carves 10% of train; ML-100K's loader gives its leave-last-out
    # validation item.
    n_users, n_items, train, valid, test = load(0.1)
    trials = []
    for lam in [float(v) for v in a.lambdas.split(",")]:
        m, fit_s, _ = run(n_users, n_items, train, valid, lam)
        trials.append({"lambda": lam, metric: m[metric], "fit_s": round(fit_s, 2)})
        print(json.dumps({"validation": trials[-1]}), flush=True)
    best = max(trials, key=lambda t: t[metric])["lambda"]

    n_users, n_items, train, valid, test = load(0.0)
    if valid:  # fold validation back into training for the final test figure
        train = {u: train.get(u, []) + valid.get(u, []) for u in set(train) | set(valid)}
    metrics, fit_s, eval_s = run(n_users, n_items, train, test, best)
    row = {"peer": "ease", "dataset": a.dataset, "split": "test", "lambda": best, "chosen_on": f"validation {metric}",
           "trials": trials, "train_s": round(fit_s, 2), "eval_s": round(eval_s, 2)} | metrics
    print(json.dumps(row))
    if a.json:
        with open(a.json, "a") as f:
            f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
