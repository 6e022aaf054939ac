#!/usr/bin/python3
"""int8 benchmark: static QDQ models on Tessera (fused int8 kernels) against ONNX Runtime on the same
quantized file and against Tessera's float32 run of the original, in one run, with accuracy beside each row.

usage: /usr/bin/python3 bench/int8_bench.py [--cases resnet50_b1,...] [--threads 1] [--rounds 3]
                                            [--samples 16] [--write-results] [--tessera build/tessera]

Each exported model (tools/export_models.py, build/models/torch) is quantized with
`tessera quantize --mode static --per-channel` over a seeded calibration set (the export's own input plus
seven seeded samples). Timing: per round the three runs (Tessera int8, ORT int8, Tessera float32) take
turns, in an order that rotates per round; one-thread rounds pin all three to one core, cores taking
turns across rounds, as bench/run_suite.py does. The table gives medians over rounds of each run's
median latency. Accuracy is Tessera int8 against Tessera float32 over `samples` further seeded inputs:
top-1 agreement and the mean cosine of the logits for the CNNs, the mean cosine of last_hidden_state per
sequence for BERT.
--write-results replaces this script's section of bench/RESULTS.md.
"""
import argparse
import datetime
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from results_file import replace_section  # noqa: E402
from run_suite import ROOT, MODELS_DIR, ensure_ort, machine_description, run_engine  # noqa: E402

HEADING = "## int8: static QDQ models, Tessera vs ONNX Runtime and vs float32"
SEED = 20261207
# name -> (exported model folder, bench shapes, iterations per round)
CASES = {
    "resnet50_b1": ("resnet50", ["input=1x3x224x224"], 10),
    "resnet50_b4": ("resnet50", ["input=4x3x224x224"], 4),
    "mobilenetv2_b1": ("mobilenetv2", [], 30),
    "bert_seq128": ("bert", ["input_ids=1x128", "attention_mask=1x128"], 5),
}


def seeded_sample(model, rng):
    """One input set of `model` as {name: array}: images N(0, 1), or token ids in [1000, 30000) with a
    full attention mask."""
    if model == "bert":
        return {"input_ids": rng.integers(1000, 30000, size=(1, 128), dtype=np.int64),
                "attention_mask": np.ones((1, 128), dtype=np.int64)}
    return {"input": rng.standard_normal((1, 3, 224, 224)).astype(np.float32)}


def write_sample(folder, sample):
    os.makedirs(folder, exist_ok=True)
    for name, value in sample.items():
        np.save(os.path.join(folder, name + ".npy"), value)


def quantize(tessera, model, work):
    """The static QDQ copy of `model` (cached in `work`), calibrated on the export's input and 7 seeded
    samples."""
    out = os.path.join(work, model + "_int8.onnx")
    if os.path.exists(out):
        return out
    calib = os.path.join(work, model + "_calibration")
    shutil.copytree(os.path.join(MODELS_DIR, model, "inputs"), os.path.join(calib, "sample0"))
    rng = np.random.default_rng(SEED)
    for i in range(1, 8):
        write_sample(os.path.join(calib, f"sample{i}"), seeded_sample(model, rng))
    cmd = [tessera, "quantize", os.path.join(MODELS_DIR, model, "model.onnx"), out, "--mode", "static",
           "--per-channel", "--calibration", calib]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return out


def tessera_outputs(tessera, model_path, sample, work):
    out = tempfile.mkdtemp(dir=work)
    cmd = [tessera, "run", model_path, "--output-dir", out, "--threads", "2"]
    for name, value in sample.items():
        path = os.path.join(out, name + "_in.npy")
        np.save(path, value)
        cmd += ["--input", f"{name}={path}"]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    result = {f[:-4]: np.load(os.path.join(out, f)) for f in os.listdir(out) if not f.endswith("_in.npy")}
    shutil.rmtree(out)
    return result


def cosine(a, b):
    a, b = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def accuracy(tessera, model, int8_path, samples, work):
    """Tessera int8 vs Tessera float32 over seeded inputs (a different stream from the calibration's)."""
    rng = np.random.default_rng(SEED + 1)
    float_path = os.path.join(MODELS_DIR, model, "model.onnx")
    agree, cosines = 0, []
    for _ in range(samples):
        sample = seeded_sample(model, rng)
        q = next(iter(tessera_outputs(tessera, int8_path, sample, work).values()))
        f = next(iter(tessera_outputs(tessera, float_path, sample, work).values()))
        cosines.append(cosine(q, f))
        agree += int(np.argmax(q) == np.argmax(f))
    if model == "bert":
        return f"cosine {statistics.mean(cosines):.5f} (min {min(cosines):.5f}) over {samples} sequences"
    return f"top-1 {agree}/{samples}, logit cosine {statistics.mean(cosines):.5f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--threads", default="1")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--samples", type=int, default=16)
    parser.add_argument("--tessera", default=os.path.join(ROOT, "build", "tessera"))
    parser.add_argument("--work", default=os.path.join(ROOT, "build", "int8_bench"))
    parser.add_argument("--write-results", action="store_true")
    args = parser.parse_args()
    names = [n for n in args.cases.split(",") if n]
    unknown = [n for n in names if n not in CASES]
    if unknown:
        parser.error(f"unknown cases {unknown}; known: {', '.join(CASES)}")
    ensure_ort()
    os.makedirs(args.work, exist_ok=True)
    cpus = sorted(os.sched_getaffinity(0))
    rows, accuracies = [], {}
    for name in names:
        model, shapes, iters = CASES[name]
        int8_path = quantize(args.tessera, model, args.work)
        if model not in accuracies:
            accuracies[model] = accuracy(args.tessera, model, int8_path, args.samples, args.work)
        runs = {"int8": ("tessera", int8_path), "ort_int8": ("ort", int8_path),
                "fp32": ("tessera", os.path.join(MODELS_DIR, model, "model.onnx"))}
        for t in [int(x) for x in args.threads.split(",")]:
            times = {k: [] for k in runs}
            order = list(runs)
            for r in range(args.rounds):
                cpu = cpus[r % len(cpus)] if t == 1 and len(cpus) > 1 and shutil.which("taskset") else None
                for k in order[r % 3:] + order[:r % 3]:
                    engine, path = runs[k]
                    times[k].append(run_engine(engine, args.tessera, path, shapes, t, iters, cpu)["median_ms"])
            row = {"case": name, "threads": t, **{k: statistics.median(v) for k, v in times.items()},
                   "accuracy": accuracies[model]}
            rows.append(row)
            print(f"{name:15s} threads={t}  int8 {row['int8']:8.2f} ms  ORT int8 {row['ort_int8']:8.2f} ms  "
                  f"fp32 {row['fp32']:8.2f} ms  vs ORT {row['int8'] / row['ort_int8']:.2f}  "
                  f"speedup over fp32 {row['fp32'] / row['int8']:.2f}x  {row['accuracy']}", flush=True)
    load = open("/proc/loadavg").read().split()[:3]
    lines = ["| case | threads | Tessera int8 (ms) | ORT int8 (ms) | Tessera float32 (ms) | int8 / ORT | "
             "float32 / int8 | int8 vs float32 (Tessera) |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['case']} | {r['threads']} | {r['int8']:.2f} | {r['ort_int8']:.2f} | {r['fp32']:.2f} | "
                     f"{r['int8'] / r['ort_int8']:.2f} | {r['fp32'] / r['int8']:.2f}x | {r['accuracy']} |")
    table = "\n".join(lines)
    print()
    print(table)
    print(f"load average at the end: {' '.join(load)}")
    if args.write_results:
        header = (f"{HEADING}\n\nMeasured {datetime.date.today().isoformat()} on {machine_description()} with "
                  f"`/usr/bin/python3 bench/int8_bench.py --rounds {args.rounds} --threads {args.threads}` "
                  f"(load average {' '.join(load)} at the end, the machine shared). Models quantized by "
                  f"`tessera quantize --mode static --per-channel` (uint8 activations, symmetric int8 weights); "
                  f"ORT (onnxruntime-node, CPU) runs the same quantized file. Medians over rounds.\n\n")
        print(f"int8_bench: wrote {replace_section(HEADING, header + table + chr(10))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
