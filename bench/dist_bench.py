#!/usr/bin/python3
"""Distributed benchmarks: data-parallel scaling, pipeline fill, tensor-parallel latency, memory per rank.

usage: /usr/bin/python3 bench/dist_bench.py [--models-dir build/models/torch] [--tessera build/tessera]
                                            [--parts dp,pp,tp,mem] [--rounds 3] [--batch 8] [--write-results]

Every number comes from `tessera run` under `mpirun --oversubscribe --bind-to none` on this machine, one
thread per rank. A single `tessera run` spends most of its time starting processes and loading the model,
so only the inference is timed: the "ran ... in X ms" line it prints (the root's clock around the run,
scatter and gather included). Where `tessera run --repeat N` exists, the first inference of each process
is dropped as warm-up and the median of the rest is kept; without it each launch gives one first (cold)
inference, and the steady-state data-parallel scaling is measured besides with `tessera bench` processes
running side by side (compute only: no scatter or gather). Configurations alternate round by round so
that drift on a shared machine hits each alike; the table gives medians over rounds.

Parts whose flag is missing from this build (`--pp`, `--tp`) are reported as "not measured: feature not
in main yet". --write-results replaces the "## Distributed" section of bench/RESULTS.md, with the date,
the machine and the commands, and keeps every other section.
"""
import argparse
import datetime
import os
import platform
import re
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RAN_MS = re.compile(r" in ([0-9.]+) ms")
NOT_IN_MAIN = "not measured: feature not in main yet"


def mpirun(ranks):
    os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
    os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    return ["mpirun", "--oversubscribe", "--bind-to", "none", "-np", str(ranks), "--timeout", "900"]


class Bench:
    """What every part shares: the binary, the models, the scratch folder and a log of commands run."""

    def __init__(self, args):
        self.tessera = os.path.abspath(args.tessera)
        self.models = os.path.abspath(args.models_dir)
        self.rounds = args.rounds
        self.repeat = args.repeat
        self.scratch = tempfile.mkdtemp(prefix="dist_bench_")
        self.commands = []  # distinct command shapes, for the results section
        self.has_repeat = self._accepts(["--repeat", "2"])

    def model(self, name):
        return os.path.join(self.models, name, "model.onnx")

    def feeds(self, name, batch):
        """--input flags for `name`'s saved inputs with the first (batch) dim tiled to `batch` rows."""
        folder = os.path.join(self.models, name, "inputs")
        flags = []
        for f in sorted(os.listdir(folder)):
            a = np.load(os.path.join(folder, f))
            tiled = np.concatenate([a] * -(-batch // a.shape[0]))[:batch]
            path = os.path.join(self.scratch, f"{name}_b{batch}_{f}")
            np.save(path, tiled)
            flags += ["--input", f"{f[:-4]}={path}"]
        return flags

    def record(self, cmd, label):
        shape = " ".join(shlex.quote(c) for c in cmd)
        shape = shape.replace(self.scratch, "$SCRATCH").replace(self.models, "$MODELS").replace(ROOT + "/", "")
        if label not in [c[0] for c in self.commands]:
            self.commands.append((label, shape))

    def run(self, cmd, label):
        self.record(cmd, label)
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
        if proc.returncode != 0:
            raise RuntimeError(f"{label}: exited {proc.returncode}: {proc.stderr.strip()[-1500:]}")
        return proc.stdout

    def tessera_run(self, ranks, model, feeds, flags, label, wrapper=()):
        out = os.path.join(self.scratch, "out")
        repeat = ["--repeat", str(self.repeat)] if self.has_repeat else []
        cmd = (mpirun(ranks) if ranks > 1 else []) + list(wrapper) + [
            self.tessera, "run", self.model(model), *feeds, "--output-dir", out, "--threads", "1", *flags, *repeat]
        return inference_ms(self.run(cmd, label), self.has_repeat)

    def _accepts(self, flags):
        """Whether `tessera run` knows these flags (a usage error names an unknown flag)."""
        tiny = os.path.join(ROOT, "examples", "tiny_cnn")
        feeds = [a for f in sorted(os.listdir(os.path.join(tiny, "inputs")))
                 for a in ("--input", f"{f[:-4]}={os.path.join(tiny, 'inputs', f)}")]
        proc = subprocess.run([self.tessera, "run", os.path.join(tiny, "model.onnx"), *feeds, "--output-dir",
                               os.path.join(self.scratch, "probe"), *flags], capture_output=True, text=True)
        return "unknown flag" not in proc.stderr

    def plan_available(self, flag):
        """Whether a 2-rank run with `flag 2` works in this build (not refused as not available yet)."""
        tiny = os.path.join(ROOT, "examples", "tiny_cnn")
        feeds = [a for f in sorted(os.listdir(os.path.join(tiny, "inputs")))
                 for a in ("--input", f"{f[:-4]}={os.path.join(tiny, 'inputs', f)}")]
        proc = subprocess.run(mpirun(2) + [self.tessera, "run", os.path.join(tiny, "model.onnx"), *feeds,
                                           "--output-dir", os.path.join(self.scratch, "probe"), flag, "2"],
                              capture_output=True, text=True, timeout=300)
        return proc.returncode == 0


def inference_ms(stdout, repeated):
    """The inference times `tessera run` printed; with --repeat the first (warm-up) one is dropped."""
    times = [float(m.group(1)) for line in stdout.splitlines() if line.startswith("ran ")
             for m in [RAN_MS.search(line)] if m]
    if not times:
        raise RuntimeError("no 'ran ... in X ms' line in:\n" + stdout[-1500:])
    return statistics.median(times[1:] if repeated and len(times) > 1 else times)


def bench_copies(bench, model, batch, label, copies, iters):
    """Runs `copies` `tessera bench` processes (1 thread) side by side. Returns the slowest copy's median
    latency (ms) and the CPU seconds all copies used, load and warm-up included."""
    cmd = [bench.tessera, "bench", bench.model(model), "--shape", f"input={batch}x3x224x224", "--threads", "1",
           "--iters", str(iters), "--warmup", "1", "--json"]
    bench.record(cmd, label)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(copies)]
    medians = []
    for p in procs:
        out, err = p.communicate(timeout=1800)
        if p.returncode != 0:
            raise RuntimeError(f"{label}: {err.strip()[-1000:]}")
        medians.append(float(re.search(r'"median_ms": ([0-9.]+)', out).group(1)))
    # Every child reaped meanwhile is one of these copies, so the difference is their CPU time.
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return max(medians), cpu


def steady_state(bench, batch, copies, label, iters=4):
    """(latency ms, CPU seconds per inference of the whole batch) for `copies` replicas sharing `batch`.
    The CPU per inference is the difference between a run of 1 + `iters` and one of 1 + 1 inferences
    divided by the extra inferences, so loading and warm-up cancel out."""
    ms, cpu_long = bench_copies(bench, "resnet50", batch // copies, label, copies, iters)
    _, cpu_short = bench_copies(bench, "resnet50", batch // copies, label + "_short", copies, 1)
    return ms, (cpu_long - cpu_short) / (iters - 1)


def part_dp(bench, batch):
    feeds = bench.feeds("resnet50", batch)
    one, two, c1, c2, w1, w2 = [], [], [], [], [], []
    for r in range(bench.rounds):
        order = [1, 2] if r % 2 == 0 else [2, 1]
        for ranks in order:
            flags = ["--dp", "2"] if ranks == 2 else []
            ms = bench.tessera_run(ranks, "resnet50", feeds, flags, f"dp{ranks}")
            (one if ranks == 1 else two).append(ms)
            print(f"dp round {r}: {ranks} rank(s) {ms:.1f} ms", flush=True)
        if not bench.has_repeat:
            for copies in order:
                ms, cpu = steady_state(bench, batch, copies, f"bench{copies}x")
                (c1 if copies == 1 else c2).append(ms)
                (w1 if copies == 1 else w2).append(cpu)
                print(f"dp round {r}: bench {copies} x batch {batch // copies}: {ms:.1f} ms, {cpu:.2f} CPU s "
                      "per inference", flush=True)
    rows = [("`tessera run`" + (" --repeat (warm)" if bench.has_repeat else ", first inference (cold)"), one, two)]
    if c1:
        rows.append(("`tessera bench`, steady state, compute only", c1, c2))
    lines = [f"ResNet-50, batch {batch}, 1 thread per rank. Efficiency = throughput(2) / (2 x throughput(1)); "
             "target >= 0.90. Median over rounds, and in brackets the best round (the least disturbed by "
             "other load).", "",
             "| method | 1 rank (ms) | 2 ranks (ms) | throughput 1 / 2 (img/s) | efficiency |", "|---|---|---|---|---|"]
    for method, t1s, t2s in rows:
        cells = []
        for pick in (statistics.median, min):
            t1, t2 = pick(t1s), pick(t2s)
            th1, th2 = batch / t1 * 1000, batch / t2 * 1000
            cells.append((t1, t2, th1, th2, th2 / (2 * th1)))
        (a, b) = cells
        lines.append(f"| {method} | {a[0]:.0f} ({b[0]:.0f}) | {a[1]:.0f} ({b[1]:.0f}) | {a[2]:.2f} / {a[3]:.2f} "
                     f"({b[2]:.2f} / {b[3]:.2f}) | {a[4]:.2f} ({b[4]:.2f}) |")
    if w1:
        m1, m2 = statistics.median(w1), statistics.median(w2)
        lines += ["", f"CPU work per steady-state inference of the batch (all ranks together, from getrusage, "
                  f"loading and warm-up cancelled out): 1 rank {m1:.2f} s, 2 ranks {m2:.2f} s; work efficiency "
                  f"(1 rank's CPU / 2 ranks' CPU) {m1 / m2:.2f}. This is the wall-clock efficiency two dedicated "
                  "cores would give, less the time a rank waits for its slice; it does not depend on how much "
                  "of the machine other load leaves."]
    return lines


def part_pp(bench, batch):
    if not bench.plan_available("--pp"):
        return [f"Pipeline (pp=2, M = 1, 2, 4, 8): {NOT_IN_MAIN}."]
    feeds = bench.feeds("resnet50", batch)
    lines = [f"ResNet-50, batch {batch}, pp=2, 1 thread per rank; efficiency = throughput / ideal, where the "
             "ideal is one rank's full-model time split evenly over the 2 stages (a lower bound on the "
             "slowest stage); target >= 0.80 at M >= 4.", "",
             "| micro-batches M | latency (ms) | throughput (img/s) | ideal (img/s) | efficiency |",
             "|---|---|---|---|---|"]
    full = statistics.median(bench.tessera_run(1, "resnet50", feeds, [], "pp_ref") for _ in range(bench.rounds))
    ideal = batch / (full / 2) * 1000
    for m in (1, 2, 4, 8):
        ms = statistics.median(bench.tessera_run(2, "resnet50", feeds, ["--pp", "2", "--micro-batches", str(m)],
                                                 f"pp2_m{m}") for _ in range(bench.rounds))
        th = batch / ms * 1000
        lines.append(f"| {m} | {ms:.0f} | {th:.2f} | {ideal:.2f} | {th / ideal:.2f} |")
    return lines


def part_tp(bench):
    if not bench.plan_available("--tp"):
        return [f"Tensor parallel (BERT, tp=2: latency and all-reduce share): {NOT_IN_MAIN}."]
    feeds = bench.feeds("bert", 1)
    t1 = statistics.median(bench.tessera_run(1, "bert", feeds, [], "tp1") for _ in range(bench.rounds))
    t2 = statistics.median(bench.tessera_run(2, "bert", feeds, ["--tp", "2"], "tp2") for _ in range(bench.rounds))
    return ["BERT (seq 128, batch 1), 1 thread per rank.", "",
            "| tp | latency (ms) | speed-up |", "|---|---|---|",
            f"| 1 | {t1:.0f} | 1.00 |", f"| 2 | {t2:.0f} | {t1 / t2:.2f} |"]


def rss_wrapper():
    return [sys.executable, os.path.abspath(__file__), "--rss-child"]


def part_mem(bench):
    has_tp = bench.plan_available("--tp")
    feeds = bench.feeds("bert", 1)
    lines = ["BERT (seq 128, batch 1): peak RSS of each rank's process (getrusage of the `tessera run` child).",
             "", "| tp | peak RSS per rank (MB) |", "|---|---|"]
    for tp in (1, 2, 4):
        if tp > 1 and not has_tp:
            lines.append(f"| {tp} | {NOT_IN_MAIN} |")
            continue
        folder = tempfile.mkdtemp(dir=bench.scratch)
        wrapper = rss_wrapper() + [folder, "--"]
        bench.tessera_run(tp, "bert", feeds, ["--tp", str(tp)] if tp > 1 else [], f"mem_tp{tp}", wrapper)
        rss = [int(open(os.path.join(folder, f)).read()) / 1024 for f in sorted(os.listdir(folder))]
        lines.append(f"| {tp} | {', '.join(f'{x:.0f}' for x in rss)} |")
    return lines


def rss_child(argv):
    """--rss-child DIR -- CMD...: runs CMD and writes its peak RSS (KiB) to DIR/rank<N> (N: the MPI rank)."""
    folder, cmd = argv[0], argv[2:]
    code = subprocess.call(cmd)
    rank = os.environ.get("OMPI_COMM_WORLD_RANK", "0")
    with open(os.path.join(folder, f"rank{int(rank):03d}"), "w") as f:
        f.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
    return code


def autogroup():
    try:
        with open("/proc/sys/kernel/sched_autogroup_enabled") as f:
            return f.read().strip()
    except OSError:
        return "unknown"


def machine_description():
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    load = os.getloadavg()
    return (f"{cpu}, {os.cpu_count()} cores visible, {platform.system()} {platform.release()}, "
            f"load average {load[0]:.1f} at the start")


def write_results(section):
    path = os.path.join(ROOT, "bench", "RESULTS.md")
    text = open(path).read() if os.path.exists(path) else "# Benchmark results\n\n"
    start = text.find("## Distributed")
    end = text.find("\n## ", start + 1) if start >= 0 else -1
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        text = text[:start] + section + (text[end + 1:] if end >= 0 else "")
    with open(path, "w") as f:
        f.write(text)
    print(f"dist_bench: wrote {path}")


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--rss-child":
        return rss_child(sys.argv[2:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tessera", default=os.path.join(ROOT, "build", "tessera"))
    parser.add_argument("--models-dir", default=os.path.join(ROOT, "build", "models", "torch"))
    parser.add_argument("--parts", default="dp,pp,tp,mem")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=5, help="inferences per launch where --repeat exists")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--write-results", action="store_true")
    args = parser.parse_args()
    parts = args.parts.split(",")
    machine = machine_description()
    bench = Bench(args)

    body = []
    titles = {"dp": "Data parallel", "pp": "Pipeline parallel", "tp": "Tensor parallel", "mem": "Memory per rank"}
    for part in parts:
        print(f"dist_bench: {titles[part]}", flush=True)
        if part == "dp":
            lines = part_dp(bench, args.batch)
        elif part == "pp":
            lines = part_pp(bench, args.batch)
        elif part == "tp":
            lines = part_tp(bench)
        else:
            lines = part_mem(bench)
        body += [f"### {titles[part]}", ""] + lines + [""]
        print("\n".join(lines), flush=True)

    method = ("median of the warm inferences of each launch (`--repeat`)" if bench.has_repeat else
              "one (cold) inference per launch: this build's `tessera run` has no `--repeat`, so the first "
              "inference, which pays one-time costs, is all a launch times")
    section = "\n".join([
        "## Distributed", "",
        f"Measured {datetime.date.today().isoformat()} on {machine} with "
        f"`bench/dist_bench.py --rounds {args.rounds} --batch {args.batch} --parts {args.parts}`. "
        f"Times are the root's \"ran ... in X ms\" line of `tessera run` ({method}); medians over "
        f"{args.rounds} rounds, configurations alternating. Ranks are processes on this one machine "
        "(`mpirun --oversubscribe --bind-to none`, shared memory between them).", "",
        "**Caveat**: the machine is shared (other builds and tests ran at the same time) and has 2 cores, so "
        "2 ranks of one thread use both cores and any other load lands on them: single numbers are noisy. "
        "Worse for scaling, Linux schedules a session's processes as one group (autogroup, "
        f"`/proc/sys/kernel/sched_autogroup_enabled` = {autogroup()} here), so while other sessions keep both "
        "cores busy, two ranks started together get about the CPU time one rank would, and the wall-clock "
        "efficiency measures the load more than Tessera; the CPU work efficiency below does not.", "",
        *body,
        "Commands (`$MODELS`: the exported models, `$SCRATCH`: inputs tiled to the batch):", "",
        *[f"- {label}: `{cmd}`" for label, cmd in bench.commands], ""])
    if args.write_results:
        write_results(section)
    else:
        print(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
