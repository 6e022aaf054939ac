#!/usr/bin/python3
"""Single-node benchmark suite: Tessera against ONNX Runtime on the same models, in one run.

usage: /usr/bin/python3 bench/run_suite.py [--models a,b] [--threads 1,2] [--rounds 3] [--iters N]
                                           [--write-results] [--tessera build/tessera]

For every model and thread count the two engines run alternately (`rounds` times each, so drift on a
shared machine hits both), each round timing `iters` inferences after a warm-up; the table shows the
median over rounds of each engine's median latency, the ratio Tessera / ORT, and peak RSS. Models come
from tools/export_models.py (seeded weights, exported into build/models/torch, cached); ONNX Runtime is
installed once into bench/.ort with `npm install --ignore-scripts onnxruntime-node`.
--write-results replaces the table in bench/RESULTS.md, with the date and the machine.
"""
import argparse
import datetime
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys

from results_file import replace_section

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS_DIR = os.path.join(ROOT, "build", "models", "torch")
ORT_DIR = os.path.join(ROOT, "bench", ".ort")

# name -> (exported model folder, shapes for both engines, iterations per round)
SUITE = {
    "resnet50_b1": ("resnet50", ["input=1x3x224x224"], 20),
    "resnet50_b8": ("resnet50", ["input=8x3x224x224"], 5),
    "mobilenetv2_b1": ("mobilenetv2", [], 50),
    "bert_seq128": ("bert", ["input_ids=1x128", "attention_mask=1x128"], 10),
    "vit_b16": ("vit", [], 10),
    "lstm": ("lstm", [], 30),
    "bigru": ("bigru", [], 30),
    "detector": ("detector", [], 30),
    # Models nobody tuned for: small mobile classifiers, a DBNet-style text detector, a wide LSTM.
    "mobilenetv3s_48x192": ("mobilenetv3_small_48x192", [], 200),
    "mobilenetv3s_224": ("mobilenetv3_small", [], 100),
    "mobilenetv3l_224": ("mobilenetv3_large", [], 50),
    "dbnet_640": ("dbnet_mobile", [], 5),
    "lstm_2x512": ("lstm_2x512", [], 30),
}


def ensure_ort():
    if os.path.isdir(os.path.join(ORT_DIR, "node_modules", "onnxruntime-node")):
        return
    os.makedirs(ORT_DIR, exist_ok=True)
    print("run_suite: installing onnxruntime-node into bench/.ort", flush=True)
    subprocess.run(["npm", "install", "--ignore-scripts", "--no-audit", "--no-fund", "onnxruntime-node"],
                   cwd=ORT_DIR, check=True, stdout=subprocess.DEVNULL)


def ensure_models(folders):
    subprocess.run([sys.executable, os.path.join(ROOT, "tools", "export_models.py"), MODELS_DIR,
                    "--only", ",".join(sorted(set(folders)))], check=True)


def last_json_line(text):
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    raise ValueError("no JSON line in output:\n" + text[-2000:])


def run_engine(engine, tessera, model_path, shapes, threads, iters, cpu=None):
    shape_args = [a for s in shapes for a in ("--shape", s)]
    common = ["--threads", str(threads), "--iters", str(iters), "--warmup", "3"]
    if engine == "tessera":
        cmd = [tessera, "bench", model_path, *shape_args, *common, "--json"]
    else:
        cmd = ["node", os.path.join(ROOT, "bench", "ort_bench.js"), model_path, *shape_args, *common]
    if cpu is not None:
        cmd = ["taskset", "-c", str(cpu), *cmd]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()[-1000:]}")
    return last_json_line(proc.stdout)


def geomean(values):
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else float("nan")


def machine_description():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores visible, {platform.system()} {platform.release()}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default=",".join(SUITE), help="comma-separated suite entries")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--iters", type=int, default=0, help="override iterations per round")
    parser.add_argument("--tessera", default=os.path.join(ROOT, "build", "tessera"))
    parser.add_argument("--write-results", action="store_true")
    args = parser.parse_args()

    names = [n for n in args.models.split(",") if n]
    unknown = [n for n in names if n not in SUITE]
    if unknown:
        parser.error(f"unknown suite entries {unknown}; known: {', '.join(SUITE)}")
    threads = [int(t) for t in args.threads.split(",")]
    ensure_ort()
    ensure_models(SUITE[n][0] for n in names)

    cpus = sorted(os.sched_getaffinity(0))
    rows = []
    for name in names:
        folder, shapes, iters = SUITE[name]
        iters = args.iters or iters
        model_path = os.path.join(MODELS_DIR, folder, "model.onnx")
        for t in threads:
            results = {"tessera": [], "ort": []}
            for r in range(args.rounds):
                # One-thread rounds pin both engines to the same core, cores taking turns across rounds: the
                # cores of this machine are not alike (measured: MobileNetV2 on core 0 5.4-5.6 ms, on core 1
                # 4.6 ms, for either engine), and an unpinned run lands on either.
                cpu = cpus[r % len(cpus)] if t == 1 and len(cpus) > 1 and shutil.which("taskset") else None
                for engine in ("tessera", "ort") if r % 2 == 0 else ("ort", "tessera"):
                    results[engine].append(run_engine(engine, args.tessera, model_path, shapes, t, iters, cpu))
            row = {"model": name, "threads": t}
            for engine, runs in results.items():
                row[f"{engine}_ms"] = statistics.median(x["median_ms"] for x in runs)
                row[f"{engine}_rss_mb"] = max(x["peak_rss_mb"] for x in runs)
            row["ratio"] = row["tessera_ms"] / row["ort_ms"]
            rows.append(row)
            # How Tessera's OpenMP threads waited in each round (chosen at start from the machine's load).
            waits = ", ".join(x.get("openmp_wait", "?").split(" ")[0] for x in results["tessera"])
            print(f"{name:16s} threads={t}  tessera {row['tessera_ms']:9.2f} ms  ort {row['ort_ms']:9.2f} ms  "
                  f"ratio {row['ratio']:.2f}  rss {row['tessera_rss_mb']:.0f}/{row['ort_rss_mb']:.0f} MB  "
                  f"openmp wait: {waits}", flush=True)

    lines = ["| model | threads | Tessera median (ms) | ORT median (ms) | Tessera / ORT | peak RSS Tessera / ORT (MB) |",
             "|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['model']} | {row['threads']} | {row['tessera_ms']:.2f} | {row['ort_ms']:.2f} | "
                     f"{row['ratio']:.2f} | {row['tessera_rss_mb']:.0f} / {row['ort_rss_mb']:.0f} |")
    for t in threads:
        ratios = [r["ratio"] for r in rows if r["threads"] == t]
        lines.append(f"| **geometric mean** | {t} | | | **{geomean(ratios):.2f}** | |")
    table = "\n".join(lines)
    print()
    print(table)

    if args.write_results:
        header = (f"## Single node: Tessera vs ONNX Runtime\n\n"
                  f"Measured {datetime.date.today().isoformat()} on {machine_description()} with "
                  f"`bench/run_suite.py --rounds {args.rounds}` (ONNX Runtime from npm onnxruntime-node, CPU, "
                  f"graph optimizations on). Medians of per-round medians; ratios below 1 mean Tessera is faster. "
                  f"One-thread rounds pin both engines to one core, the cores taking turns across rounds.\n\n")
        path = replace_section("## Single node", header + table + "\n")
        print(f"run_suite: wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
