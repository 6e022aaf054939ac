#!/usr/bin/python3
"""tessera run-jobs: a job file mixing models, relative paths, several inputs and three failing lines,
run in a world of one and under mpirun -np 3. Every good job's outputs must match the PyTorch reference;
every bad line must be reported FAILED with its line number; the summary must count them; exit status 1.

usage: run_jobs_test.py TESSERA EXAMPLE_MODEL_DIR TORCH_MODELS_DIR
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np

RTOL, ATOL = 1e-3, 1e-4


def write_jobs(tmp, example, torch):
    """Returns the job file and, per line number, the expected folder of a good job (None for a bad one)."""
    os.makedirs(os.path.join(tmp, "in"))
    shutil.copy(os.path.join(torch, "tiny_cnn", "inputs", "input.npy"), os.path.join(tmp, "in", "tiny.npy"))
    lines = [
        # (json text, expected folder or None)
        ('{"model": "%s/model.onnx", "inputs": {"input": "%s/inputs/input.npy"}, "output_dir": "out/example"}' % (example, example),
         os.path.join(example, "expected")),
        ('{"model": "%s/mobilenetv2/model.onnx", "inputs": {"input": "%s/mobilenetv2/inputs/input.npy"}, "output_dir": "out/mobilenet"}'
         % (torch, torch), os.path.join(torch, "mobilenetv2", "expected")),
        ('{"model": "%s/tiny_cnn/model.onnx", "inputs": {"input": "in/tiny.npy"}, "output_dir": "out/relative"}' % torch,
         os.path.join(torch, "tiny_cnn", "expected")),
        ('{"model": "no_such_model.onnx", "inputs": {}, "output_dir": "out/missing"}', None),
        ("", "blank"),
        ('{"model": "%s/bigru/model.onnx", "inputs": {"input": "%s/bigru/inputs/input.npy", "h0": "%s/bigru/inputs/h0.npy"}, '
         '"output_dir": "out/bigru"}' % (torch, torch, torch), os.path.join(torch, "bigru", "expected")),
        ('{"model": "%s/model.onnx", "inputs": {"image": "%s/inputs/input.npy"}, "output_dir": "out/badinput"}' % (example, example),
         None),
        ('{"model": "%s/model.onnx", "inputs": {"input": "x.npy"}' % example, None),  # truncated JSON
        ('{"model": "%s/lstm/model.onnx", "inputs": {"input": "%s/lstm/inputs/input.npy"}, "output_dir": "out/lstm"}' % (torch, torch),
         os.path.join(torch, "lstm", "expected")),
    ]
    path = os.path.join(tmp, "jobs.jsonl")
    with open(path, "w") as f:
        f.write("\n".join(text for text, _ in lines) + "\n")
    expected = {n + 1: e for n, (_, e) in enumerate(lines) if e != "blank"}
    return path, expected


def check_run(name, cmd, tmp, expected, ranks):
    shutil.rmtree(os.path.join(tmp, "out"), ignore_errors=True)
    env = dict(os.environ, CI="true")  # plain progress lines, as in CI
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env)
    out = result.stdout
    errors = []
    if result.returncode != 1:
        errors.append(f"exit status {result.returncode}, expected 1")
    good = [n for n, e in expected.items() if e]
    bad = [n for n, e in expected.items() if not e]
    for n in good:
        if not re.search(rf"^\[\d+/{len(expected)}\] line {n} ok on rank \d+", out, re.M):
            errors.append(f"no 'ok' progress line for line {n}")
        exp_dir = expected[n]
        out_dir = os.path.join(tmp, "out", re.search(r'"output_dir": "out/(\w+)"', open(os.path.join(tmp, "jobs.jsonl")).read().splitlines()[n - 1]).group(1))
        for f in sorted(os.listdir(exp_dir)):
            got_path = os.path.join(out_dir, f)
            if not os.path.exists(got_path):
                errors.append(f"line {n}: missing output {got_path}")
                continue
            want, got = np.load(os.path.join(exp_dir, f)), np.load(got_path)
            if want.shape != got.shape or not np.allclose(got, want, rtol=RTOL, atol=ATOL):
                errors.append(f"line {n}: {f} differs from the reference (max abs diff "
                              f"{np.abs(got.astype(np.float64) - want).max() if want.shape == got.shape else 'shape'})")
    for n in bad:
        if not re.search(rf"^\[\d+/{len(expected)}\] line {n} FAILED", out, re.M):
            errors.append(f"line {n} not reported FAILED")
    if not re.search(r"line 4 FAILED.*no_such_model\.onnx", out):
        errors.append("the missing model's line does not name the file")
    if not re.search(r"line 7 FAILED.*no input 'image'", out):
        errors.append("the wrong input name's line does not say so")
    if not re.search(r"line 8 FAILED.*not valid JSON", out):
        errors.append("the truncated line is not reported as invalid JSON")
    summary = re.search(r"run-jobs: (\d+) jobs, (\d+) ok, (\d+) failed", out)
    if not summary or summary.groups() != (str(len(expected)), str(len(good)), str(len(bad))):
        errors.append(f"summary wrong: {summary.group(0) if summary else 'missing'}")
    if ranks > 1:
        counts = [int(c) for c in re.findall(r"rank \d+: (\d+) jobs?", out)]
        if len(counts) != ranks - 1 or sum(counts) != len(expected) - 1:  # the malformed line never runs
            errors.append(f"per-rank counts {counts} do not add up to {len(expected) - 1} jobs over {ranks - 1} workers")
    if "tessera: 3 of 8 jobs failed" not in result.stderr:
        errors.append("no failure line on stderr")
    print(f"{'ok' if not errors else 'FAIL'} {name}")
    for e in errors:
        print("   ", e)
    if errors:
        print(out, result.stderr)
    return len(errors)


def main():
    tessera, example, torch = (os.path.abspath(a) for a in sys.argv[1:4])
    os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
    os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        jobs, expected = write_jobs(tmp, example, torch)
        failures += check_run("world of one", [tessera, "run-jobs", jobs, "--threads", "1"], tmp, expected, 1)
        mpirun = ["mpirun", "--oversubscribe", "--bind-to", "none", "-np", "3", "--timeout", "200"]
        failures += check_run("mpirun -np 3", mpirun + [tessera, "run-jobs", jobs, "--threads", "1"], tmp, expected, 3)
        for args, text in ((["run-jobs"], "usage: tessera run-jobs"), (["run-jobs", jobs, "--threads", "0"], "--threads"),
                           (["run-jobs", jobs, "--progress", "fancy"], "--progress"), (["run-jobs", jobs, "--bogus"], "unknown flag")):
            r = subprocess.run([tessera] + args, capture_output=True, text=True, timeout=60)
            ok = r.returncode == 2 and text in r.stderr
            print(f"{'ok' if ok else 'FAIL'} usage error {' '.join(args[1:]) or '(no job file)'}: exit {r.returncode} {r.stderr.strip()}")
            failures += 0 if ok else 1
        r = subprocess.run([tessera, "run-jobs", os.path.join(tmp, "none.jsonl")], capture_output=True, text=True, timeout=60)
        ok = r.returncode == 1 and "cannot open job file" in r.stderr
        print(f"{'ok' if ok else 'FAIL'} missing job file: exit {r.returncode} {r.stderr.strip()}")
        failures += 0 if ok else 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
