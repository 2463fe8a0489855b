#!/usr/bin/env python3
"""Checks a router (`twotower serve --shards …`) against one daemon over the whole catalogue.

  exact   --router URL --single URL --users N: every user's top-k from the router over exact shards
          equals the single exact index's (same ids, scores within 1e-5); no answer partial.
  recall  --router URL --single URL --truth URL --nprobe P: ANN recall@k of the router and of the
          single index, both at nprobe P, against the exact answers of --truth; the router's must
          be at least the single index's.
  partial --router URL --users N [--expect-missing]: no answer is a 5xx; with --expect-missing every
          answer is partial and names a missing shard, without it none is.

Users are the store's raw ids u0 … u{N-1} (the synthetic set's). Exits 1 when the check fails.
Standard library only.
"""
import argparse
import json
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor


def get(base, user, k, nprobe=None):
    url = f"{base}/v1/users/{user}/recommendations?k={k}" + (f"&nprobe={nprobe}" if nprobe else "")
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def answers(base, users, k, nprobe=None):
    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(lambda u: get(base, u, k, nprobe), users))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("check", choices=["exact", "recall", "partial"])
    p.add_argument("--router", required=True)
    p.add_argument("--single")
    p.add_argument("--truth")
    p.add_argument("--users", type=int, default=1000)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--nprobe", type=int)
    p.add_argument("--expect-missing", action="store_true")
    a = p.parse_args()
    users = [f"u{i}" for i in range(a.users)]
    ok = True
    if a.check == "exact":
        routed, single = answers(a.router, users, a.k), answers(a.single, users, a.k)
        same, worst, partial, bad = 0, 0.0, 0, 0
        for (rs, r), (ss, s) in zip(routed, single):
            if rs != 200 or ss != 200:
                bad += 1
                continue
            partial += bool(r.get("partial"))
            ri = {i["id"]: i["score"] for i in r["items"]}
            si = {i["id"]: i["score"] for i in s["items"]}
            if ri.keys() == si.keys():
                same += 1
                worst = max([worst] + [abs(ri[i] - si[i]) for i in ri])
        ok = same == len(users) and worst <= 1e-5 and partial == 0 and bad == 0
        print(f"router over exact shards vs one exact index, {len(users)} users, top-{a.k}: {same} identical id sets, "
              f"largest score difference {worst:.2e} (bar: all, ≤ 1e-5), {partial} partial, {bad} not 200")
    elif a.check == "recall":
        truth = answers(a.truth, users, a.k)
        def recall(base):
            got = answers(base, users, a.k, a.nprobe)
            hits = total = 0
            for (ts, t), (gs, g) in zip(truth, got):
                if ts != 200 or gs != 200:
                    continue
                want = {i["id"] for i in t["items"]}
                hits += len(want & {i["id"] for i in g["items"]})
                total += len(want)
            return hits / max(total, 1)
        r, s = recall(a.router), recall(a.single)
        ok = r >= s
        print(f"ANN recall@{a.k} at nprobe {a.nprobe}, {len(users)} users: router over IVF shards {r:.4f}, "
              f"one IVF index of the whole catalogue {s:.4f} (bar: router ≥ single)")
    else:
        got = answers(a.router, users, a.k)
        five = sum(1 for s, _ in got if s >= 500)
        partial = sum(1 for s, b in got if s == 200 and b.get("partial") and b.get("missing_shards"))
        full = sum(1 for s, b in got if s == 200 and not b.get("partial"))
        if a.expect_missing:
            ok = five == 0 and partial == len(users)
            print(f"with a shard killed, {len(users)} requests: {partial} partial naming the missing shard, {five} 5xx (bar: all partial, no 5xx)")
        else:
            ok = five == 0 and full == len(users)
            print(f"{len(users)} requests: {full} full answers, {five} 5xx (bar: all full, no 5xx)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
