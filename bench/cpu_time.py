#!/usr/bin/python3
"""CPU time per inference, Tessera against ONNX Runtime: a measure that holds up on a busy machine.

usage: /usr/bin/python3 bench/cpu_time.py MODEL [--shape NAME=8x3x224x224 ...] [--threads 1] [--iters 5]
                                          [--rounds 2] [--tessera build/tessera]

On a machine shared with other work, wall-clock latency mostly measures how long the scheduler kept the
process waiting. The CPU time the process used is far steadier: each engine runs once with `iters`
inferences and once with none (load and warm-up only), and the difference of their user + system CPU
time over `iters` is the cost of one inference. With more than one thread this is the total over
threads, not latency. Engines alternate for `rounds` rounds; the median per engine is printed, then the
ratio Tessera / ORT.
"""
import argparse
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def cpu_seconds(cmd):
    """User + system CPU seconds of `cmd` and its children."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    stderr = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {stderr[-1000:]}")
    return usage.ru_utime + usage.ru_stime


def engine_cmd(engine, args, iters):
    shapes = [x for s in args.shape for x in ("--shape", s)]
    common = ["--threads", str(args.threads), "--iters", str(max(iters, 1)), "--warmup", "1"]
    if engine == "tessera":
        return [args.tessera, "bench", args.model, *shapes, *common]
    return ["node", os.path.join(ROOT, "bench", "ort_bench.js"), args.model, *shapes, *common]


def per_inference_ms(engine, args):
    # Both runs do one timed inference at least (the benches require it): the difference is iters - 1.
    base = cpu_seconds(engine_cmd(engine, args, 1))
    full = cpu_seconds(engine_cmd(engine, args, args.iters))
    return (full - base) * 1000.0 / (args.iters - 1)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("--shape", action="append", default=[])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--iters", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--tessera", default=os.path.join(ROOT, "build", "tessera"))
    args = parser.parse_args()
    if args.iters < 2:
        parser.error("--iters must be at least 2")
    results = {"tessera": [], "ort": []}
    for _ in range(args.rounds):
        for engine in results:
            results[engine].append(per_inference_ms(engine, args))
    medians = {engine: statistics.median(v) for engine, v in results.items()}
    for engine, values in results.items():
        print(f"{engine:8s} CPU ms/inference: median {medians[engine]:.1f}  rounds "
              + " ".join(f"{v:.1f}" for v in values))
    print(f"tessera / ort: {medians['tessera'] / medians['ort']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
