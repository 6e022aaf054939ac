#!/usr/bin/python3
"""Load test of `tessera serve`: wrk posts MobileNetV2 inferences (binary tensors) from many connections,
once to a model with dynamic batching and once to the same model without, and reports throughput,
latency percentiles, errors and the mean batch size the server ran.

The batched variant has max_batch_size --max-batch (16), preferred sizes half of it and all of it, and
a 5 ms max_queue_delay; the other has max_batch_size 16 without dynamic batching (every request runs
alone). The model is tools' exported MobileNetV2 with its batch dim made symbolic (the export fixes it at 1), so
the server may merge requests. Both variants sit in one repository and one server; they are measured one
after the other with the same wrk settings.

usage: serve_load.py [--tessera build/tessera] [--model-dir build/models/torch/mobilenetv2]
                     [--connections 64] [--duration 60] [--warmup 10] [--max-batch 16] [--smoke]
Each measurement follows an unmeasured warm-up at the same load: the first run at each batch size builds
that shape's oneDNN primitives and packs weights (a few hundred ms for MobileNetV2), which is start-up
cost, not throughput.
--smoke (8 connections, 5 s, 2 s warm-up) checks only that every request succeeded; it is the ctest version.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import onnx

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "serve"))
import serve_harness as h  # noqa: E402

def batching_config(max_batch):
    preferred = sorted({max(1, max_batch // 2), max_batch})
    return {"max_batch_size": max_batch,
            "dynamic_batching": {"preferred_batch_size": preferred, "max_queue_delay_microseconds": 5000}}


def batch_dim_made_symbolic(src, dst):
    model = onnx.load(src)
    for value in list(model.graph.input) + list(model.graph.output):
        value.type.tensor_type.shape.dim[0].dim_param = "batch"
    del model.graph.value_info[:]  # intermediate shapes recorded with batch 1; shape inference redoes them
    onnx.save(model, dst)


def make_repository(model_dir, folder, max_batch):
    repo = os.path.join(folder, "repo")
    for name, config in (("mobilenetv2_batched", batching_config(max_batch)), ("mobilenetv2", {"max_batch_size": 16})):
        os.makedirs(os.path.join(repo, name, "1"))
        batch_dim_made_symbolic(os.path.join(model_dir, "model.onnx"), os.path.join(repo, name, "1", "model.onnx"))
        with open(os.path.join(repo, name, "config.json"), "w") as f:
            json.dump(config, f)
    return repo


def batch_totals(url, model):
    """(rows, runs) the server has run for `model` so far, from its metrics."""
    text = h.request(url, "/metrics").body.decode()

    def value(series):
        m = re.search(r"^%s\{[^}]*model=\"%s\"[^}]*\} ([0-9.e+]+)$" % (series, model), text, re.M)
        return float(m.group(1)) if m else 0.0
    return value("tessera_batch_size_sum"), value("tessera_batch_size_count")


def run_wrk(url, model, body_file, json_length, connections, duration):
    threads = max(1, min(connections, os.cpu_count() or 1))
    out = subprocess.run(["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration}s", "--timeout", "60s",
                          "-s", os.path.join(HERE, "serve_load.lua"), f"{url}/v2/models/{model}/infer", "--",
                          body_file, str(json_length)],
                         capture_output=True, text=True, timeout=duration + 300)
    line = [l for l in out.stdout.splitlines() if l.startswith("{")]
    if out.returncode != 0 or not line:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stdout}\n{out.stderr}")
    result = json.loads(line[-1])
    result["errors"] = sum(result[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts", "http_errors"))
    result["rps"] = result["requests"] / result["seconds"]
    return result


def main():
    root = os.path.join(HERE, "..")
    parser = argparse.ArgumentParser()
    parser.add_argument("--tessera", default=os.path.join(root, "build", "tessera"))
    parser.add_argument("--model-dir", default=os.path.join(root, "build", "models", "torch", "mobilenetv2"))
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--duration", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--max-batch", type=int, default=16, help="max_batch_size of the batched variant")
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    if args.smoke:
        args.connections, args.duration, args.warmup = 8, 5, 2

    folder = tempfile.mkdtemp(prefix="tessera_load_")
    try:
        repo = make_repository(args.model_dir, folder, args.max_batch)
        inputs, expected = h.load_model_folder(args.model_dir)
        body, headers = h.binary_infer_body(inputs)
        body_file = os.path.join(folder, "request.bin")
        with open(body_file, "wb") as f:
            f.write(body)
        results = {}
        with h.Server(args.tessera, "--model-repo", repo) as server:
            for model in ("mobilenetv2_batched", "mobilenetv2"):
                # One checked request first: the load below only counts statuses.
                r = h.request(server.url, f"/v2/models/{model}/infer", body, headers)
                problem = h.mismatches(h.decode_outputs(r)["output"], expected["output"]) if r.status == 200 else r.body
                if problem:
                    raise RuntimeError(f"{model}: wrong answer before the load: {problem}")
                length = headers["Inference-Header-Content-Length"]
                if args.warmup > 0:
                    run_wrk(server.url, model, body_file, length, args.connections, args.warmup)
                rows_before, runs_before = batch_totals(server.url, model)
                results[model] = run_wrk(server.url, model, body_file, length, args.connections, args.duration)
                rows, runs = batch_totals(server.url, model)
                results[model]["mean_batch"] = (rows - rows_before) / max(runs - runs_before, 1)
            exit_status = server.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    print(f"batched variant: {json.dumps(batching_config(args.max_batch))}")
    print(f"| dynamic batching | connections | duration (s) | requests | throughput (req/s) | p50 (ms) | p99 (ms) "
          f"| errors | mean batch |")
    print("|---|---|---|---|---|---|---|---|---|")
    for model, label in (("mobilenetv2_batched", "on"), ("mobilenetv2", "off")):
        r = results[model]
        print(f"| {label} | {args.connections} | {r['seconds']:.0f} | {r['requests']} | {r['rps']:.1f} | "
              f"{r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['errors']} | {r['mean_batch']:.2f} |")
    speedup = results["mobilenetv2_batched"]["rps"] / max(results["mobilenetv2"]["rps"], 1e-9)
    print(f"throughput with batching / without: {speedup:.2f}x; server exit status {exit_status}")
    for model, r in results.items():
        kinds = {k: r[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts", "http_errors") if r[k]}
        if kinds:
            print(f"{model} errors: {kinds}")
    failed = [m for m, r in results.items() if r["errors"] or r["requests"] == 0] or exit_status != 0
    if failed:
        print(f"FAIL: errors or no requests: {failed}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
