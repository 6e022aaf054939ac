#!/usr/bin/python3
"""Sealed links under mpirun: a plan run with --link-key gives the outputs of the same plan run plain, and a
rank holding another key makes the whole job stop within seconds, rank 0 naming the rank.

usage: link_key_test.py TESSERA MODEL_DIR [tessera run plan flags, e.g. --pp 2]
"""
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

MPI_ENV = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}


def key_file(folder, name):
    path = os.path.join(folder, name)
    with open(path, "wb") as f:
        f.write(os.urandom(32))
    os.chmod(path, 0o600)
    return path


def run_args(tessera, model_dir, out, plan):
    args = [tessera, "run", os.path.join(model_dir, "model.onnx"), "--output-dir", out, "--threads", "1"]
    inputs = os.path.join(model_dir, "inputs")
    for f in sorted(os.listdir(inputs)):
        args += ["--input", f"{f[:-4]}={os.path.join(inputs, f)}"]
    return args + plan


def mpirun(contexts, timeout=600):
    """Runs one mpirun with MPMD contexts [(env, args), ...], one rank each; returns (rc, stdout, stderr, s)."""
    cmd = ["mpirun", "--oversubscribe", "--bind-to", "none", "--timeout", str(timeout)]
    for i, (env, args) in enumerate(contexts):
        if i:
            cmd.append(":")
        cmd += ["-np", "1"]
        for k, v in env.items():
            cmd += ["-x", f"{k}={v}"]
        cmd += args
    start = time.time()
    r = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **MPI_ENV}, timeout=timeout + 60)
    return r.returncode, r.stdout, r.stderr, time.time() - start


def main():
    tessera, model_dir, plan = sys.argv[1], sys.argv[2], sys.argv[3:]
    ranks = 1
    for flag in ("--pp", "--tp", "--dp"):
        if flag in plan:
            ranks *= int(plan[plan.index(flag) + 1])
    # Over more than two tensor-parallel ranks the sealed all-reduce is a ring, which sums in another order
    # than MPI_Allreduce: the outputs then agree to rounding, not to the bit.
    tp = int(plan[plan.index("--tp") + 1]) if "--tp" in plan else 1
    tolerance = 1e-5 if tp > 2 else 1e-6
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        key, other = key_file(tmp, "link.key"), key_file(tmp, "other.key")
        outs = {}
        for mode in ("plain", "sealed"):
            out = os.path.join(tmp, mode)
            os.mkdir(out)
            args = run_args(tessera, model_dir, out, plan + (["--link-key", key] if mode == "sealed" else []))
            rc, stdout, stderr, _ = mpirun([({}, args)] * ranks)
            if rc != 0:
                failures.append(f"{mode} run exited {rc}: {stderr.strip()}")
                continue
            want = "links: AES-256-GCM (key file)" if mode == "sealed" else "links: plain, unauthenticated"
            if want not in stdout:
                failures.append(f"{mode} run's summary lacks '{want}': {stdout.strip()}")
            outs[mode] = out
        if len(outs) == 2:
            for f in sorted(os.listdir(outs["plain"])):
                a, b = np.load(os.path.join(outs["plain"], f)), np.load(os.path.join(outs["sealed"], f))
                if a.shape != b.shape or not np.allclose(a, b, rtol=tolerance, atol=tolerance):
                    failures.append(f"output {f} differs between plain and sealed links")
        # The last rank holds another key (through the environment, as one host's file would differ).
        out = os.path.join(tmp, "wrong")
        os.mkdir(out)
        args = run_args(tessera, model_dir, out, plan)
        contexts = [({"TESSERA_LINK_KEY_FILE": key}, args)] * (ranks - 1) + [({"TESSERA_LINK_KEY_FILE": other}, args)]
        rc, stdout, stderr, seconds = mpirun(contexts, timeout=120)
        expected = f"rank {ranks - 1} holds a different link key"
        if rc == 0:
            failures.append("a job whose last rank holds another key succeeded")
        if expected not in stderr:
            failures.append(f"no '{expected}' in the failed job's messages: {stderr.strip()}")
        if seconds > 30:
            failures.append(f"the job with a wrong key took {seconds:.0f} s to stop")
    for f in failures:
        print("FAIL", f)
    if not failures:
        print(f"ok: {' '.join(plan)} equal with and without --link-key; a wrong key stops the job ({seconds:.1f} s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
