#!/usr/bin/python3
"""What sealed links (--link-key) cost: the same `tessera run` under mpirun with and without a key.

usage: /usr/bin/python3 bench/link_key_bench.py [--models-dir build/models/torch] [--tessera build/tessera]
                                                [--rounds 3] [--repeat 12] [--cases resnet50,bert]
                                                [--also-sealed OTHER_TESSERA]

Cases: pp=2 ResNet-50 and tp=2 BERT, 2 ranks, one thread each. Each launch runs the batch --repeat times
and prints the median run ("median X ms over N runs"); plain and sealed launches alternate round by
round (the order flipping each round) so drift on a shared machine hits both alike. Printed: the median
over rounds of each, the difference in ms and in %. --also-sealed adds a third launch per round, sealed
links on another build (e.g. the one before a change), rotated into the same order.
"""
import argparse
import os
import re
import statistics
import subprocess
import tempfile

MEDIAN = re.compile(r"^median ([0-9.]+) ms", re.M)
CASES = [("resnet50", ["--pp", "2"]), ("bert", ["--tp", "2"])]


def launch(tessera, model_dir, plan, repeat, key):
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    with tempfile.TemporaryDirectory() as out:
        cmd = ["mpirun", "--oversubscribe", "--bind-to", "none", "--mca", "mpi_yield_when_idle", "1", "-np", "2",
               tessera, "run", os.path.join(model_dir, "model.onnx"), "--output-dir", out, "--threads", "1",
               "--repeat", str(repeat), *plan]
        for f in sorted(os.listdir(os.path.join(model_dir, "inputs"))):
            cmd += ["--input", f"{f[:-4]}={os.path.join(model_dir, 'inputs', f)}"]
        if key:
            cmd += ["--link-key", key]
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
        m = MEDIAN.search(r.stdout)
        if r.returncode != 0 or not m:
            raise SystemExit(f"link_key_bench: {' '.join(cmd)} failed: {r.stderr.strip()}")
        return float(m.group(1))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--models-dir", default="build/models/torch")
    p.add_argument("--tessera", default="build/tessera")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--repeat", type=int, default=12)
    p.add_argument("--also-sealed", help="another tessera binary to run sealed in the same rounds")
    p.add_argument("--cases", default=",".join(m for m, _ in CASES), help="which of resnet50, bert to run")
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        key = os.path.join(tmp, "link.key")
        with open(key, "wb") as f:
            f.write(os.urandom(32))
        os.chmod(key, 0o600)
        for model, plan in [c for c in CASES if c[0] in a.cases.split(",")]:
            modes = ["plain", "sealed"] + (["other"] if a.also_sealed else [])
            times = {m: [] for m in modes}
            for round_ in range(a.rounds):
                order = modes[round_ % len(modes):] + modes[:round_ % len(modes)]
                if round_ % 2:
                    order.reverse()
                for mode in order:
                    binary = a.also_sealed if mode == "other" else a.tessera
                    times[mode].append(launch(binary, os.path.join(a.models_dir, model), plan, a.repeat,
                                              None if mode == "plain" else key))
            plain, sealed = statistics.median(times["plain"]), statistics.median(times["sealed"])
            line = (f"{model} {' '.join(plan)}: plain {plain:.1f} ms, sealed {sealed:.1f} ms, "
                    f"{sealed - plain:+.1f} ms ({100 * (sealed - plain) / plain:+.1f}%)")
            if a.also_sealed:
                other = statistics.median(times["other"])
                line += f"; {a.also_sealed} sealed {other:.1f} ms ({100 * (other - plain) / plain:+.1f}%)"
            line += "; minima " + ", ".join(f"{m} {min(v):.1f}" for m, v in times.items())
            print(f"{line}  rounds {times}  load {open('/proc/loadavg').read().split()[0]}", flush=True)


if __name__ == "__main__":
    main()
