#!/usr/bin/python3
"""Peak resident memory per rank from load to first output, for tp=1/2/4 and pp=2/4, on BERT-base (inline
weights in one .onnx) and a 0.68 B-parameter Llama decoder (external data), against the engine before
shard-local loading (an older build given with --old) in the same run.

usage: /usr/bin/python3 bench/memory_per_rank.py [--tessera build/tessera] [--old /path/to/old/tessera]
           [--models build/models] [--plans tp1,tp2,tp4,pp2,pp4] [--rounds 1] [--skip-old-on-decoder-above 2]

Each rank's VmHWM is read by `/usr/bin/time -f %M` around that rank's process (the same figure `tessera
run --json` reports as peak_rss_bytes, which the new build's rows also give with its load seconds and the
weight bytes each rank keeps). One thread per rank, `mpirun --oversubscribe --bind-to none`, one run of
the model (--repeat 1): the figure is the peak from load to the first output. The decoder runs a prefill of
16 tokens with an empty cache. Configurations alternate between the two builds round by round; with
several rounds the table gives each rank's median.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

import numpy as np

MiB = 1 << 20


def feeds(scratch, model):
    """--input flags for `model` ('bert' or 'decoder')."""
    paths = {}
    if model == "bert":
        paths["input_ids"] = np.random.default_rng(0).integers(0, 1000, (1, 128)).astype(np.int64)
        paths["attention_mask"] = np.ones((1, 128), np.int64)
    else:
        paths["input_ids"] = np.random.default_rng(0).integers(3, 32000, (1, 16)).astype(np.int64)
        paths["attention_mask"] = np.ones((1, 16), np.int64)
        paths["position_ids"] = np.arange(16, dtype=np.int64)[None, :]
        for layer in range(24):
            for kind in ("key", "value"):
                paths[f"past_key_values.{layer}.{kind}"] = np.zeros((1, 2, 0, 128), np.float32)
    flags = []
    for name, value in paths.items():
        path = os.path.join(scratch, f"{model}_{name}.npy")
        np.save(path, value)
        flags += ["--input", f"{name}={path}"]
    return flags


def run(tessera, model_path, inputs, plan, scratch, json_report):
    kind, n = plan[:2], int(plan[2:])
    times = os.path.join(scratch, "time")
    os.makedirs(times, exist_ok=True)
    for f in os.listdir(times):
        os.remove(os.path.join(times, f))
    body = [tessera, "run", model_path, *inputs, "--output-dir", os.path.join(scratch, "out"), "--threads", "1"]
    if n > 1:
        body += [f"--{kind}", str(n)]
    if json_report:
        body.append("--json")
    timed = ["sh", "-c", f'exec /usr/bin/time -f %M -o {times}/rank$OMPI_COMM_WORLD_RANK "$@"', "sh", *body]
    cmd = ["mpirun", "--oversubscribe", "--bind-to", "none", "-np", str(n), "--timeout", "900", *timed]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=1000)
    if result.returncode != 0:
        ours = [line for line in result.stderr.splitlines() if line.startswith("tessera:")]
        return {"error": ours[0] if ours else result.stderr[-600:]}
    peaks = []
    for r in range(n):
        with open(os.path.join(times, f"rank{r}")) as f:
            peaks.append(int(f.read().split()[-1]) * 1024)
    report = None
    for line in result.stdout.splitlines():
        if line.startswith("{"):
            report = json.loads(line)
    return {"peaks": peaks, "report": report, "command": " ".join(cmd)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tessera", default="build/tessera")
    parser.add_argument("--old")
    parser.add_argument("--models", default="build/models")
    parser.add_argument("--plans", default="tp1,tp2,tp4,pp2,pp4")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--only", default="bert,decoder")
    parser.add_argument("--skip-old-on-decoder-above", type=int, default=2,
                        help="ranks above which the old build is not run on the decoder (each of its ranks "
                             "reads the whole 2.7 GB model)")
    args = parser.parse_args()
    os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
    os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    models = {"bert": os.path.join(args.models, "torch/bert/model.onnx"),
              "decoder": os.path.join(args.models, "decoders/llama_bench_0p5b/model.onnx")}
    scratch = tempfile.mkdtemp(prefix="memory_per_rank_")
    rows = []
    for model in args.only.split(","):
        inputs = feeds(scratch, model)
        for plan in args.plans.split(","):
            n = int(plan[2:])
            results = {"new": [], "old": []}
            for _ in range(args.rounds):
                results["new"].append(run(args.tessera, models[model], inputs, plan, scratch, True))
                if args.old and not (model == "decoder" and n > args.skip_old_on_decoder_above):
                    results["old"].append(run(args.old, models[model], inputs, plan, scratch, False))
            row = {"model": model, "plan": plan}
            for build, runs in results.items():
                good = [r for r in runs if "peaks" in r]
                if runs and not good:
                    row[build] = {"error": runs[0]["error"]}
                elif good:
                    row[build] = {"peaks": [statistics.median(r["peaks"][k] for r in good) for k in range(n)],
                                  "command": good[0]["command"]}
                    if good[0]["report"]:
                        row[build]["ranks"] = good[0]["report"]["rank_reports"]
            rows.append(row)
            print(json.dumps(row), flush=True)
    base = weightless_peak(args.tessera, scratch)
    with open(os.path.join(scratch, "rows.json"), "w") as f:
        json.dump({"rows": rows, "base": base}, f)
    print("rows:", os.path.join(scratch, "rows.json"))
    print(markdown(rows, base))
    with open("/proc/loadavg") as f:
        print("load average:", f.read().strip())


def weightless_peak(tessera, scratch):
    """VmHWM of a rank that holds no weights (code, libraries, runtime): one Relu, tp=2."""
    import onnx
    from onnx import TensorProto, helper
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "weightless",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1024])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1024])])
    path = os.path.join(scratch, "weightless.onnx")
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    x = os.path.join(scratch, "weightless_x.npy")
    np.save(x, np.ones((1, 1024), np.float32))
    result = run(tessera, path, ["--input", f"x={x}"], "tp2", scratch, True)
    return max(result["peaks"]) if "peaks" in result else 0


def markdown(rows, base):
    """One line per rank: peak, weights kept, (peak - weightless peak) / weights kept, load seconds, old peak."""
    lines = ["| model | plan | rank | peak MiB | weights kept MiB | (peak - base) / kept | load s | older build peak MiB |",
             "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        new, old = row.get("new", {}), row.get("old", {})
        if "error" in new:
            lines.append(f"| {row['model']} | {row['plan']} | - | refused: {new['error'].strip().splitlines()[-1][-110:]} | | | | |")
            continue
        for k, peak in enumerate(new.get("peaks", [])):
            r = new["ranks"][k] if new.get("ranks") else {}
            kept = r.get("weight_bytes", 0)
            ratio = f"{(peak - base) / kept:.2f}" if kept else "-"
            old_peak = f"{old['peaks'][k] / MiB:.0f}" if "peaks" in old else ("error" if "error" in old else "not run")
            lines.append(f"| {row['model']} | {row['plan']} | {k} | {peak / MiB:.0f} | {kept / MiB:.0f} | {ratio} | "
                         f"{r.get('load_seconds', 0):.2f} | {old_peak} |")
    return f"weightless rank (base): {base / MiB:.0f} MiB\n" + "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
