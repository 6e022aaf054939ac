#!/usr/bin/python3
"""Runs `tessera run` on exported models and compares every output with the saved reference.

A model folder holds model.onnx, inputs/<input>.npy and expected/<output>.npy (written by
tools/export_models.py or tools/make_legacy_models.py). Outputs match when
|actual - expected| <= atol * max(1, max|expected|) + rtol * |expected| elementwise.

usage: compare_model.py TESSERA MODEL_DIR [MODEL_DIR ...] [--rtol R] [--atol A] [--threads N] [--np N]
                        [--mpirun-args "ARGS"] [tessera run flags such as --dp 2 ...]

With --np N, tessera runs under `mpirun --oversubscribe -np N` (the distributed tests), followed by the
words of --mpirun-args (hosts, launcher agent, transports: the multi-host test); anything else after the
known options goes to `tessera run`.
"""
import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time

import numpy as np


def mpirun_prefix(ranks, mpirun_args=""):
    if not ranks:
        return []
    # Root in CI containers; the timeout keeps a wedged job from outliving the test.
    os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
    os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    return ["mpirun", "--oversubscribe", "--bind-to", "none", "-np", str(ranks), "--timeout", "600",
            *shlex.split(mpirun_args)]


def compare(tessera, model_dir, rtol, atol, threads, extra_args, ranks=0, mpirun_args=""):
    name = os.path.basename(model_dir.rstrip("/"))
    inputs_dir = os.path.join(model_dir, "inputs")
    expected_dir = os.path.join(model_dir, "expected")
    args = mpirun_prefix(ranks, mpirun_args) + [tessera, "run", os.path.join(model_dir, "model.onnx")]
    for f in sorted(os.listdir(inputs_dir)):
        args += ["--input", f"{f[:-4]}={os.path.join(inputs_dir, f)}"]
    with tempfile.TemporaryDirectory() as out:
        args += ["--output-dir", out, "--threads", str(threads)] + extra_args
        start = time.time()
        result = subprocess.run(args, capture_output=True, text=True, timeout=900)
        elapsed = time.time() - start
        if result.returncode != 0:
            print(f"FAIL {name}: tessera exited {result.returncode}: {result.stderr.strip()}")
            return False
        ok = True
        for f in sorted(os.listdir(expected_dir)):
            expected = np.load(os.path.join(expected_dir, f))
            actual_path = os.path.join(out, f)
            if not os.path.exists(actual_path):
                print(f"FAIL {name}: no output {f}")
                ok = False
                continue
            actual = np.load(actual_path)
            if actual.shape != expected.shape or actual.dtype != expected.dtype:
                print(f"FAIL {name}/{f}: got {actual.dtype}{actual.shape}, expected {expected.dtype}{expected.shape}")
                ok = False
                continue
            if expected.dtype.kind in "fc":
                scale = max(1.0, float(np.max(np.abs(expected))) if expected.size else 1.0)
                diff = np.abs(actual.astype(np.float64) - expected.astype(np.float64))
                bound = atol * scale + rtol * np.abs(expected.astype(np.float64))
                bad = int(np.count_nonzero(~(diff <= bound)))
                worst = float(diff.max()) if diff.size else 0.0
                status = "ok" if bad == 0 else "FAIL"
                print(f"{status} {name}/{f}: shape {expected.shape}, max |diff| {worst:.3g} "
                      f"(scale {scale:.3g}), {bad} elements out of tolerance")
                ok &= bad == 0
            else:
                same = np.array_equal(actual, expected)
                print(f"{'ok' if same else 'FAIL'} {name}/{f}: exact comparison of {expected.dtype}{expected.shape}")
                ok &= same
        print(f"{name}: tessera run took {elapsed:.2f} s")
        return ok


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("tessera")
    parser.add_argument("model_dirs", nargs="+")
    parser.add_argument("--rtol", type=float, default=1e-3)
    parser.add_argument("--atol", type=float, default=1e-4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--np", type=int, default=0, help="run under mpirun with this many ranks")
    # Written --mpirun-args="--host ..." (with '='): a separate value starting with '-' reads as an option.
    parser.add_argument("--mpirun-args", default="", help="more mpirun options, one string split like a shell")
    args, extra = parser.parse_known_args()
    dirs = []
    for d in args.model_dirs:
        if os.path.exists(os.path.join(d, "model.onnx")):
            dirs.append(d)
        else:  # a folder of model folders
            dirs += [os.path.join(d, s) for s in sorted(os.listdir(d)) if os.path.exists(os.path.join(d, s, "model.onnx"))]
    if not dirs:
        print("no models found")
        return 1
    results = [compare(args.tessera, d, args.rtol, args.atol, args.threads, extra, args.np, args.mpirun_args)
               for d in dirs]
    print(f"models: {sum(results)} passed, {len(results) - sum(results)} failed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
