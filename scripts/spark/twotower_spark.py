#!/usr/bin/env python3
"""TwoTower's offline jobs on Apache Spark: the work is done by the `twotower` binary on the
executors; this driver only fans it out, collects what it wrote and publishes it.

  build      S item shards in parallel, one Spark task each: `twotower embed --items --shard I/S
             --ids-out`, then `twotower build-index --ids` into OUT/shards/I (a new immutable
             version per attempt). When every task has succeeded the driver runs
             `twotower publish-shards`, which checks all S versions and writes OUT/shard-set.json
             last, renamed into place: the set becomes current only when all S are complete.
  recommend  `twotower recommend --shard I/S` over S user shards, one task each, through an index
             or a published shard set; the rows (user,rank,item,score, no header) are written by
             Spark's own output committer into one directory (part-0000I files and _SUCCESS), so a
             retried task's rows appear once.

A task whose `twotower` process dies (kill -9 included) fails; Spark runs it again (up to
spark.task.maxFailures; in local mode give it as local[N,F]). --kill-one-task I (a fault test)
kills the first `twotower` process of task I with SIGKILL from the driver, the way an operator or
the kernel's OOM killer would, and says whether it hit it.

Usage:
  twotower_spark.py build --bin B --store ST --model M --shards S --out DIR [--queries users.npy] [--master URL]
  twotower_spark.py recommend --bin B --store ST --model M --index IDX --shards S --out DIR
                              [--k 10] [--kill-one-task I] [--master URL]
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time


def run(cmd):
    """Runs one twotower command; its failure (a signal included) fails the Spark task."""
    done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {done.returncode}: {done.stderr.strip()[-2000:]}")
    return done.stdout


def build_task(args, shards):
    from pyspark import TaskContext

    def task(partition):
        ctx = TaskContext.get()
        for i in partition:
            stage = os.path.join(args.out, "stage", f"{i}-attempt{ctx.attemptNumber()}")
            os.makedirs(stage, exist_ok=True)
            items, ids = os.path.join(stage, "items.npy"), os.path.join(stage, "ids.npy")
            run([args.bin, "embed", "--model", args.model, "--store", args.store, "--items", "--shard", f"{i}/{shards}",
                 "--out", items, "--ids-out", ids])
            cmd = [args.bin, "build-index", "--vectors", items, "--ids", ids, "--out",
                   os.path.join(args.out, "shards", str(i)), "--seed", "7", "--json"]
            if args.queries:
                cmd += ["--queries", args.queries]
            if args.layout:
                cmd += ["--layout", args.layout]
            built = json.loads(run(cmd))
            yield (i, built["path"], built["count"], ctx.attemptNumber())
    return task


def recommend_task(args, shards):
    from pyspark import TaskContext

    def task(partition):
        ctx = TaskContext.get()
        for i in partition:
            # One marker per attempt, beside the output: the driver reports how often each ran.
            os.makedirs(args.out + ".attempts", exist_ok=True)
            open(os.path.join(args.out + ".attempts", f"{i}-{ctx.attemptNumber()}"), "w").close()
            with tempfile.TemporaryDirectory(prefix=f"twotower-rec-{i}-") as tmp:
                out = os.path.join(tmp, "rows.csv")
                run([args.bin, "recommend", "--store", args.store, "--model", args.model, "--index", args.index,
                     "--shard", f"{i}/{shards}", "--k", str(args.k), "--threads", "1", "--format", "csv", "--out", out])
                with open(out, encoding="utf-8") as f:
                    next(f)  # the header
                    for line in f:
                        yield line.rstrip("\n")
    return task


def killer(shard, shards, report):
    """Kills the first twotower process working on user shard `shard` (SIGKILL) and records it."""
    needle = f"--shard\0{shard}/{shards}\0"
    deadline = time.time() + 120
    while time.time() < deadline and not report.get("stop"):
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmdline = f.read().decode("utf-8", "replace")
            except OSError:
                continue
            if "recommend\0" in cmdline and needle in cmdline and "twotower" in cmdline.split("\0")[0]:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                    report["killed"] = int(pid)
                    return
                except ProcessLookupError:
                    pass
        time.sleep(0.002)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("job", choices=["build", "recommend"])
    p.add_argument("--bin", required=True, help="the twotower binary (the same path on every executor)")
    p.add_argument("--master", default="local[2,4]", help="spark://host:port, or local[N,F] (F attempts per task)")
    p.add_argument("--model", required=True)
    p.add_argument("--shards", type=int, required=True, help="S: item shards (build) or user shards (recommend)")
    p.add_argument("--out", required=True, help="build: the shard set's directory; recommend: the output directory (new)")
    p.add_argument("--queries", help="build: calibration queries (the users' embeddings)")
    p.add_argument("--layout", help="build: auto, ivf or exact")
    p.add_argument("--store")
    p.add_argument("--index", help="recommend: an index directory or a shard set's manifest")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--kill-one-task", type=int, metavar="I", help="recommend: SIGKILL the first attempt of task I (fault test)")
    args = p.parse_args()
    args.bin, args.model, args.out = map(os.path.abspath, (args.bin, args.model, args.out))
    if args.store:
        args.store = os.path.abspath(args.store)
    if args.index:
        args.index = os.path.abspath(args.index)
    if args.queries:
        args.queries = os.path.abspath(args.queries)
    if not args.store:
        p.error("give --store (build: the raw ids to shard by; recommend: the users and their histories)")
    if args.job == "recommend" and not args.index:
        p.error("recommend needs --index")
    if args.shards < 1:
        p.error("--shards must be at least 1")

    from pyspark import SparkConf, SparkContext
    conf = (SparkConf().setMaster(args.master).setAppName(f"twotower-{args.job}")
            .set("spark.task.maxFailures", "4").set("spark.ui.enabled", "false").set("spark.ui.showConsoleProgress", "false")
            .set("spark.executorEnv.PYTHONUNBUFFERED", "1"))
    sc = SparkContext(conf=conf)
    sc.setLogLevel("ERROR")
    started = time.time()
    if args.job == "recommend":
        shutil.rmtree(args.out + ".attempts", ignore_errors=True)
    try:
        rdd = sc.parallelize(range(args.shards), args.shards)
        if args.job == "build":
            built = sorted(rdd.mapPartitions(build_task(args, args.shards)).collect())
            if [b[0] for b in built] != list(range(args.shards)):
                raise SystemExit(f"shards built: {[b[0] for b in built]}, expected 0..{args.shards - 1}")
            manifest = os.path.join(args.out, "shard-set.json")
            run([args.bin, "publish-shards", "--out", manifest] + [b[1] for b in built])
            summary = {"job": "build", "master": args.master, "shards": args.shards, "manifest": manifest,
                       "items": sum(b[2] for b in built), "versions": [b[1] for b in built],
                       "attempts": [b[3] + 1 for b in built]}
        else:
            report = {}
            thread = None
            if args.kill_one_task is not None:
                thread = threading.Thread(target=killer, args=(args.kill_one_task, args.shards, report), daemon=True)
                thread.start()
            rdd.mapPartitions(recommend_task(args, args.shards)).saveAsTextFile("file://" + args.out)
            report["stop"] = True
            rows = 0
            for name in sorted(os.listdir(args.out)):
                if name.startswith("part-"):
                    with open(os.path.join(args.out, name), encoding="utf-8") as f:
                        rows += sum(1 for _ in f)
            markers = os.listdir(args.out + ".attempts")
            attempts = [sum(1 for m in markers if m.split("-")[0] == str(i)) for i in range(args.shards)]
            shutil.rmtree(args.out + ".attempts")
            summary = {"job": "recommend", "master": args.master, "shards": args.shards, "out": args.out, "rows": rows,
                       "success_marker": os.path.exists(os.path.join(args.out, "_SUCCESS")), "attempts": attempts}
            if args.kill_one_task is not None:
                summary["killed_pid"] = report.get("killed")
                if report.get("killed") is None:
                    raise SystemExit(f"--kill-one-task {args.kill_one_task}: no twotower process of that task was caught")
        summary["seconds"] = round(time.time() - started, 1)
        print(json.dumps(summary))
    finally:
        sc.stop()


if __name__ == "__main__":
    sys.exit(main())
