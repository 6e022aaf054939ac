#!/usr/bin/python3
"""Distributed benchmarks: data-parallel scaling, pipeline fill, tensor-parallel latency, memory per rank.

usage: /usr/bin/python3 bench/dist_bench.py [--models-dir build/models/torch] [--tessera build/tessera]
                                            [--parts dp,pp,tp,mem] [--rounds 3] [--batch 8] [--repeat 8]
                                            [--micro-batches 1,2,4,8] [--write-results]

Every number comes from `tessera run` under `mpirun --oversubscribe --bind-to none` on this machine, one
thread per rank. A single `tessera run` spends most of its time starting processes and loading the model,
so only the inference is timed: the "ran ... in X ms" line it prints (the root's clock around the run,
scatter and gather included). Where `tessera run --repeat N` exists, each launch runs the batch N times
(--repeat, default 8), the first 3 are dropped and the median of the rest is kept: the first inferences of a process
are slow for a reason that is not parallelism (fresh memory being faulted in: one rank at batch 8 ran
1086, 671, 492, 425, 411, 408, 404 ms), and a rank that runs half the batch gets through that warm-up
sooner, which would flatter the 2-rank rows. Without --repeat each launch gives one first (cold)
inference. The steady-state data-parallel scaling is measured besides with `tessera bench` processes
running side by side (compute only: no scatter or gather). Pipelines are measured twice: batch by batch
(each `run` fills and drains the pipeline) and streamed (`--repeat N --stream`: N batches through the
pipeline as one stream, after an untimed stream of 3). Configurations alternate round by round so that
drift on a shared machine hits each alike; the table gives medians over rounds.

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
import threading

import numpy as np

from results_file import replace_section

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RAN_MS = re.compile(r" in ([0-9.]+) ms")
STREAMED = re.compile(r"^streamed (\d+) batches in ([0-9.]+) ms: ([0-9.]+) ms per batch", re.M)
WARMUP_RUNS = 3  # runs dropped from each `--repeat` launch (see the module text)
NOT_IN_MAIN = "not measured: feature not in main yet"


MPI_YIELD = True  # --no-mpi-yield turns it off


def mpirun(ranks):
    os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
    os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    # OpenMPI spins in a blocking receive unless it knows the node is oversubscribed; on a shared machine
    # a waiting rank then burns the CPU its peer needs (pp=2, M=1 measured 5.5 s spinning, 2.3-3.4 s
    # yielding). Ranks here share cores, so they yield, as separate hosts would not need to.
    yield_flags = ["--mca", "mpi_yield_when_idle", "1"] if MPI_YIELD else []
    return ["mpirun", "--oversubscribe", "--bind-to", "none", *yield_flags, "-np", str(ranks), "--timeout", "900"]


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
        self.has_stream = self.has_repeat and self._accepts(["--repeat", "2", "--stream"])

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

    def tessera_run(self, ranks, model, feeds, flags, label, wrapper=(), stream=False):
        """Milliseconds per batch: the median of the warm runs, or with `stream` the streamed time per batch."""
        out = os.path.join(self.scratch, "out")
        repeat = ["--repeat", str(self.repeat)] if self.has_repeat else []
        cmd = (mpirun(ranks) if ranks > 1 else []) + list(wrapper) + [
            self.tessera, "run", self.model(model), *feeds, "--output-dir", out, "--threads", "1", *flags, *repeat,
            *(["--stream"] if stream else [])]
        self.last_stdout = self.run(cmd, label)
        return streamed_ms(self.last_stdout) if stream else inference_ms(self.last_stdout, self.has_repeat)

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
    """The inference time `tessera run` printed. With --repeat N it prints "runs: t1 t2 ... ms": the first
    WARMUP_RUNS runs are dropped (as many as leave one) and the median of the rest kept; else the
    "ran ... in X ms" line's time."""
    for line in stdout.splitlines():
        if repeated and line.startswith("runs:"):
            times = [float(x) for x in line.split()[1:-1]]
            return statistics.median(times[min(WARMUP_RUNS, len(times) - 1):])
    times = [float(m.group(1)) for line in stdout.splitlines() if line.startswith("ran ")
             for m in [RAN_MS.search(line)] if m]
    if not times:
        raise RuntimeError("no 'ran ... in X ms' line in:\n" + stdout[-1500:])
    return times[-1]


def streamed_ms(stdout):
    """Milliseconds per batch of a `--repeat N --stream` run ("streamed N batches in X ms: Y ms per batch")."""
    m = STREAMED.search(stdout)
    if not m:
        raise RuntimeError("no 'streamed N batches in X ms' line in:\n" + stdout[-1500:])
    return float(m.group(3))


def busy_by_rank(stdout):
    """Each rank's time in nodes per batch, from `--op-times` ("time in nodes per batch, by rank: 0: X ms")."""
    m = re.search(r"^time in nodes per batch, by rank:(.*)$", stdout, re.M)
    return [float(x) for x in re.findall(r"\d+: ([0-9.]+) ms", m.group(1))] if m else []


def stage_shares(stdout):
    """Each pipeline stage's share of the model's time, from the stage table `tessera run` prints."""
    return [int(m.group(2)) / 100 for m in re.finditer(r"^stage (\d+): .*?(\d+)% of the \w+ time", stdout, re.M)]


def cpu_seconds(pid):
    """User + system CPU time of a live process so far (all its threads), from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def watch_progress(proc, marks):
    """Reads `tessera bench`'s progress ("\rwarmup 1/4 ..." then "\rbench  2/4 ...", one per inference,
    on stderr) and notes the process's CPU time as each inference ends; keeps the rest for errors."""
    pending = ""
    while True:
        chunk = os.read(proc.stderr.fileno(), 4096).decode(errors="replace")
        if not chunk:
            break
        pending += chunk
        *done, pending = re.split(r"[\r\n]", pending)
        for line in done:
            if line.split() and line.split()[0] in ("warmup", "bench"):
                try:
                    marks.append((line.split()[0], cpu_seconds(proc.pid)))
                except OSError:
                    pass
    marks.append(("rest", pending))


def bench_copies(bench, model, batch, label, copies, iters=5):
    """Runs `copies` `tessera bench` processes (1 thread) side by side. Returns the slowest copy's median
    latency (ms) and the CPU seconds all copies spent per timed inference (measured between the end of
    the warm-up and the end of the last inference, so loading and warm-up do not count)."""
    cmd = [bench.tessera, "bench", bench.model(model), "--shape", f"input={batch}x3x224x224", "--threads", "1",
           "--iters", str(iters), "--warmup", "1", "--json"]
    bench.record(cmd, label)
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(copies)]
    marks = [[] for _ in procs]
    watchers = [threading.Thread(target=watch_progress, args=(p, m)) for p, m in zip(procs, marks)]
    for w in watchers:
        w.start()
    medians, cpu = [], 0.0
    for p, w, m in zip(procs, watchers, marks):
        out = p.stdout.read().decode()
        w.join()
        p.wait()
        if p.returncode != 0:
            raise RuntimeError(f"{label}: {m[-1][1].strip()[-1000:]}")
        medians.append(float(re.search(r'"median_ms": ([0-9.]+)', out).group(1)))
        warm = [c for tag, c in m if tag == "warmup"]
        timed = [c for tag, c in m if tag == "bench"]
        if not warm or len(timed) != iters:
            raise RuntimeError(f"{label}: could not follow the progress lines ({len(warm)} warm-up, {len(timed)} timed)")
        cpu += (timed[-1] - warm[-1]) / iters
    return max(medians), cpu


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
        for copies in order:
            ms, cpu = bench_copies(bench, "resnet50", batch // copies, f"bench{copies}x", copies)
            (c1 if copies == 1 else c2).append(ms)
            (w1 if copies == 1 else w2).append(cpu)
            print(f"dp round {r}: bench {copies} x batch {batch // copies}: {ms:.1f} ms, {cpu:.2f} CPU s "
                  "per inference", flush=True)
    warm = f" --repeat {bench.repeat}`, median of runs {WARMUP_RUNS + 1}..{bench.repeat}"
    rows = [("`tessera run" + (warm if bench.has_repeat else "`, first inference (cold)"), one, two),
            ("`tessera bench`, steady state, compute only", c1, c2)]
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
    m1, m2 = statistics.median(w1), statistics.median(w2)
    # CPU seconds granted per wall second: to one busy process, and to two side by side (2.0 on two
    # idle cores). Their ratio is what a second rank could add on this machine at this time.
    bench.cpu_gain = (m2 / statistics.median(c2)) / (m1 / statistics.median(c1))
    lines += ["", f"CPU work per steady-state inference of the batch (all ranks together, from /proc/PID/stat "
              f"read as each timed inference ends, so loading and warm-up do not count): 1 rank {m1:.2f} s, "
              f"2 ranks {m2:.2f} s; **work efficiency** (1 rank's CPU / 2 ranks' CPU) **{m1 / m2:.2f}** (1.00: "
              "splitting the batch adds no work); on two dedicated cores the wall-clock efficiency would be "
              "this, less the time a rank waits for its slice.", "",
              f"Two busy processes side by side got {bench.cpu_gain:.2f}x the CPU time one got (2.00 on idle "
              "cores): the ceiling on this machine for any 2-rank efficiency, if it held for the whole run. "
              "It does not: the load moved during the measurement, so no corrected figure is derived from it."]
    return lines


def part_pp(bench, batch, micro_batches):
    if not bench.plan_available("--pp"):
        return [f"Pipeline (pp=2, M = {', '.join(map(str, micro_batches))}): {NOT_IN_MAIN}."]
    feeds = bench.feeds("resnet50", batch)
    full, shares = [], []
    runs = {m: [] for m in micro_batches}  # per batch: every run fills and drains the pipeline
    streamed = {m: [] for m in micro_batches} if bench.has_stream else {}
    busiest = {m: [] for m in micro_batches}  # the busiest stage's time in nodes per streamed batch
    op_times = bench._accepts(["--op-times"])
    for r in range(bench.rounds):
        full.append(bench.tessera_run(1, "resnet50", feeds, [], "pp_reference_1_rank"))
        for m in micro_batches:
            flags = ["--pp", "2", "--micro-batches", str(m)]
            runs[m].append(bench.tessera_run(2, "resnet50", feeds, flags, f"pp2_m{m}"))
            shares = stage_shares(bench.last_stdout) or shares
            line = f"pp round {r}: M={m} {runs[m][-1]:.1f} ms per batch"
            if bench.has_stream:
                streamed[m].append(bench.tessera_run(2, "resnet50", feeds, flags + (["--op-times"] if op_times else []),
                                                     f"pp2_m{m}_streamed", stream=True))
                line += f", streamed {streamed[m][-1]:.1f} ms per batch"
                busy = busy_by_rank(bench.last_stdout)
                if busy:
                    busiest[m].append(max(busy))
                    line += f" (stages busy {', '.join(f'{b:.1f}' for b in busy)} ms)"
            print(f"{line} (1 rank {full[-1]:.1f} ms)", flush=True)
    slowest = max(shares) if shares else 0.5
    ideal_ms = statistics.median(full) * slowest
    ideal = batch / ideal_ms * 1000
    lines = [f"ResNet-50, batch {batch}, pp=2, 1 thread per rank. **Ideal** = the slowest stage alone, with no "
             "waiting and no transfers: the 1-rank full-model time (`tessera run`, same warm-run median) x "
             "the slowest stage's share of the partitioner's time estimate "
             f"({', '.join(f'{x:.0%}' for x in shares) or 'not printed: taken as 50%'}), "
             f"{ideal_ms:.0f} ms per batch; efficiency = throughput / ideal; target >= 0.80 at M >= 4.", "",
             "**Per batch** (each `tessera run` repeat is one batch that fills and drains the pipeline: stage 0 "
             "waits for the last stage's outputs before the next batch starts). With M micro-batches a perfect "
             "2-stage GPipe schedule reaches M / (M + 1) of the ideal.", "",
             "| micro-batches M | latency (ms) | throughput (img/s) | ideal (img/s) | efficiency | M / (M + 1) |",
             "|---|---|---|---|---|---|"]
    for m, times in runs.items():
        th = batch / statistics.median(times) * 1000
        lines.append(f"| {m} | {statistics.median(times):.0f} | {th:.2f} | {ideal:.2f} | {th / ideal:.2f} | "
                     f"{m / (m + 1):.2f} |")
    if not bench.has_stream:
        return lines + ["", f"Streamed (`--repeat N --stream`): {NOT_IN_MAIN}."]
    n = bench.repeat
    lines += ["", f"**Streamed** (`tessera run --repeat {n} --stream`: after an untimed stream of 3 batches, {n} "
              "copies of the batch go through the pipeline as one stream, stage 0 starting the next batch's "
              "micro-batches without waiting for the last stage; time per batch = the stream's time / "
              f"{n}). The pipeline fills and drains once per stream, so a perfect schedule reaches "
              f"{n}M / ({n}M + 1) of the same ideal: this is the throughput of a pipeline serving a steady flow "
              "of batches.", "",
              "The busiest stage's time in nodes per batch (`--op-times`, the larger of the two ranks) shows where "
              "the rest goes: the stage's own compute, slower than its share of the 1-rank time when two ranks "
              "share the memory system and each micro-batch is smaller, against the time waiting for the "
              "other stage (time per batch minus busy time).", "",
              "| micro-batches M | time per batch (ms) | throughput (img/s) | ideal (img/s) | efficiency | "
              f"{n}M / ({n}M + 1) | busiest stage's compute (ms) | busy share |", "|---|---|---|---|---|---|---|---|"]
    for m, times in streamed.items():
        t = statistics.median(times)
        th = batch / t * 1000
        busy = statistics.median(busiest[m]) if busiest.get(m) else None
        busy_cells = f"{busy:.0f} | {busy / t:.0%}" if busy else "not measured | "
        lines.append(f"| {m} | {t:.0f} | {th:.2f} | {ideal:.2f} | {th / ideal:.2f} | "
                     f"{n * m / (n * m + 1):.2f} | {busy_cells} |")
    return lines


def collective_share(stdout):
    """The share of rank 0's run time spent in collectives (AllReduceSum, AllGather), from `--op-times`."""
    shares = [float(m.group(1)) / 100 for m in
              re.finditer(r"^  com\.tessera\.(?:AllReduceSum|AllGather) .*? ([0-9.]+)%$", stdout, re.M)]
    return sum(shares) if shares else None


def part_tp(bench):
    if not bench.plan_available("--tp"):
        return [f"Tensor parallel (BERT, tp=2: latency and all-reduce share): {NOT_IN_MAIN}."]
    feeds = bench.feeds("bert", 1)
    op_times = bench._accepts(["--op-times"])
    one, two, measured = [], [], []
    for r in range(bench.rounds):
        for tp in ((1, 2) if r % 2 == 0 else (2, 1)):
            flags = (["--tp", "2"] if tp == 2 else []) + (["--op-times"] if tp == 2 and op_times else [])
            ms = bench.tessera_run(tp, "bert", feeds, flags, f"tp{tp}")
            (one if tp == 1 else two).append(ms)
            share = collective_share(bench.last_stdout) if tp == 2 else None
            if share is not None:
                measured.append(share)
            print(f"tp round {r}: tp={tp} {ms:.1f} ms" + (f", collectives {share:.1%}" if share is not None else ""),
                  flush=True)
    t1, t2 = statistics.median(one), statistics.median(two)
    # Whatever tp=2 spends beyond half the single-rank time is communication, waiting, or work that was not
    # split: an upper bound on the all-reduce share. --op-times clocks the collectives themselves.
    beyond = max(0.0, 1 - (t1 / 2) / t2)
    clocked = f"{statistics.median(measured):.1%}" if measured else "not measured (no --op-times in this build)"
    return ["BERT (seq 128, batch 1), 1 thread per rank. **All-reduce share** = the time rank 0 spends in the "
            "`com.tessera` AllReduceSum/AllGather nodes (the exchange and any wait for the other shard), as a share "
            "of its warm runs' time (`tessera run --op-times`, median over rounds). For comparison, the part of "
            "the tp=2 latency beyond a perfect split of the tp=1 time (all-reduces, waiting, and work that is not "
            "split) bounds it from above.", "",
            "| tp | latency (ms) | speed-up | all-reduce share (clocked) | beyond a perfect split |",
            "|---|---|---|---|---|",
            f"| 1 | {t1:.0f} | 1.00 | | |", f"| 2 | {t2:.0f} | {t1 / t2:.2f} | {clocked} | {beyond:.0%} |"]


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
    print(f"dist_bench: wrote {replace_section('## Distributed', section)}")


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--rss-child":
        return rss_child(sys.argv[2:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tessera", default=os.path.join(ROOT, "build", "tessera"))
    parser.add_argument("--models-dir", default=os.path.join(ROOT, "build", "models", "torch"))
    parser.add_argument("--parts", default="dp,pp,tp,mem")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=8,
                        help="inferences per launch where --repeat exists (the first 3 are dropped), and batches "
                             "per stream")
    parser.add_argument("--micro-batches", default="1,2,4,8", help="the pipeline part's micro-batch counts")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--no-mpi-yield", action="store_true", help="let waiting ranks spin (OpenMPI's default)")
    parser.add_argument("--write-results", action="store_true")
    args = parser.parse_args()
    global MPI_YIELD
    MPI_YIELD = not args.no_mpi_yield
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
            lines = part_pp(bench, args.batch, [int(m) for m in args.micro_batches.split(",")])
        elif part == "tp":
            lines = part_tp(bench)
        else:
            lines = part_mem(bench)
        body += [f"### {titles[part]}", ""] + lines + [""]
        print("\n".join(lines), flush=True)

    method = (f"each launch runs the batch {args.repeat} times (`--repeat {args.repeat}`) and the median of runs "
              f"{WARMUP_RUNS + 1}..{args.repeat} is kept, for 1 rank and 2 alike: the first {WARMUP_RUNS} inferences "
              "of a process are slow for a reason that is not parallelism (fresh memory being faulted in), and "
              "would otherwise flatter whichever configuration gets through them sooner; streamed pipeline rows "
              "are timed as described there" if bench.has_repeat else
              "one (cold) inference per launch: this build's `tessera run` has no `--repeat`, so the first "
              "inference, which pays one-time costs, is all a launch times")
    section = "\n".join([
        "## Distributed", "",
        f"Measured {datetime.date.today().isoformat()} on {machine} with "
        f"`bench/dist_bench.py --rounds {args.rounds} --batch {args.batch} --repeat {args.repeat} "
        f"--micro-batches {args.micro_batches} --parts {args.parts}`. "
        f"Times are the root's clock around the inference in `tessera run`, scatter and gather included "
        f"({method}); medians over "
        f"{args.rounds} rounds, configurations alternating. Ranks are processes on this one machine "
        "(`mpirun --oversubscribe --bind-to none`, shared memory between them)"
        + (", and waiting ranks yield the CPU (`--mca mpi_yield_when_idle 1`: OpenMPI otherwise spins, which "
           "on shared cores takes the CPU from the rank being waited for)." if MPI_YIELD else
           ", and waiting ranks spin (OpenMPI's default).") + "", "",
        "**Caveat**: the machine has 2 cores, so 2 ranks of one thread use both and any other load (other "
        "builds and tests on a shared machine) lands on them: compare runs by the load average printed here. "
        "Worse for scaling, Linux schedules a session's processes as one group (autogroup, "
        f"`/proc/sys/kernel/sched_autogroup_enabled` = {autogroup()} here), so while other sessions keep both "
        "cores busy, two ranks started together get about the CPU time one rank would, and the wall-clock "
        "efficiency measures the load more than Tessera; the CPU work efficiency below does not.", "",
        *body,
        f"Load average at the end: {os.getloadavg()[0]:.1f}.", "",
        "Commands (`$MODELS`: the exported models, `$SCRATCH`: inputs tiled to the batch):", "",
        *[f"- {label}: `{cmd}`" for label, cmd in bench.commands], ""])
    if args.write_results:
        write_results(section)
    else:
        print(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
