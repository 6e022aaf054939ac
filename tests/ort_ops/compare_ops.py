"""Cross-checks Tessera's kernels with ONNX Runtime, one op family (or all) at a time.

usage: /usr/bin/python3 tests/ort_ops/compare_ops.py --tessera build/tessera [--family NAME ...]
           [--work DIR] [--keep] [--only SUBSTRING] [--list]

Each case of tests/ort_ops/cases_<family>.py (see ort_ops_cases.py) is written as a folder
WORK/<family>/<case>/ holding model.onnx and inputs/*.npy; ort_run.js runs ONNX Runtime on all of them in
one process, then `tessera run` runs each, and every output is compared elementwise (with ORT's, and with
the case's numpy reference when it has one; ORT's own outputs are then checked against the reference):
|tessera - ort| <= atol + rtol * |ort|, with NaNs required in the same places. Every problem is reported
with the case name: a mismatch (with the max absolute error and where), a missing output or wrong shape
or dtype, Tessera failing, ORT refusing a case it should run, and, for cases marked MustFail, Tessera
accepting the model or failing without the expected message fragment.
Exit status: 0 when every case agrees, 1 otherwise, 2 on a usage problem.
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ort_ops_cases  # noqa: E402

ORT_RUN = os.path.join(ort_ops_cases.HERE, "ort_run.js")


def sanitize(name):
    """The file name `tessera run` gives an output (cli/command_line.cc SanitizeName)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


def write_case(case, folder):
    os.makedirs(os.path.join(folder, "inputs"), exist_ok=True)
    onnx.save(case.model, os.path.join(folder, "model.onnx"))
    index = {}
    for i, (name, value) in enumerate(case.inputs.items()):
        file = f"{i}.npy"
        # np.ascontiguousarray would turn a 0-d array into a 1-d one.
        np.save(os.path.join(folder, "inputs", file), np.require(value, requirements="C"))
        index[name] = file
    with open(os.path.join(folder, "inputs", "index.json"), "w") as f:
        json.dump(index, f)
    return index


def run_tessera(tessera, case, folder, index, timeout):
    out_dir = os.path.join(folder, "tessera")
    shutil.rmtree(out_dir, ignore_errors=True)
    os.makedirs(out_dir)
    cmd = [tessera, "run", os.path.join(folder, "model.onnx"), "--output-dir", out_dir, "--threads", "2"]
    for name, file in index.items():
        cmd += ["--input", f"{name}={os.path.join(folder, 'inputs', file)}"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, f"timed out after {timeout} s"
    return proc.returncode, (proc.stderr.strip() or proc.stdout.strip())


def ort_outputs(case, folder):
    """{output name: ORT's array}."""
    with open(os.path.join(folder, "ort", "index.json")) as f:
        ort_files = json.load(f)
    return {out.name: np.load(os.path.join(folder, "ort", ort_files[out.name])) for out in case.model.graph.output}


def tessera_outputs(case, folder):
    """{output name: Tessera's array}, without the outputs it did not write."""
    got = {}
    for out in case.model.graph.output:
        path = os.path.join(folder, "tessera", sanitize(out.name) + ".npy")
        if os.path.exists(path):
            got[out.name] = np.load(path)
    return got


def compare_outputs(case, got_outputs, want_outputs, who="ORT"):
    """Problems (strings) comparing `got_outputs` with `want_outputs` (who: the side wanted, for messages);
    empty when they agree."""
    tol = case.expect
    problems, worst = [], 0.0
    for out in case.model.graph.output:
        want = want_outputs[out.name]
        if out.name not in got_outputs:
            problems.append(f"output '{out.name}' was not written")
            continue
        got = got_outputs[out.name]
        if got.shape != want.shape:
            problems.append(f"output '{out.name}' has shape {got.shape}, {who} gives {want.shape}")
            continue
        if got.dtype != want.dtype:
            problems.append(f"output '{out.name}' is {got.dtype}, {who} gives {want.dtype}")
            continue
        if got.size == 0:
            continue
        if want.dtype == np.bool_ or np.issubdtype(want.dtype, np.integer) or want.dtype.kind in "OUS":
            bad = np.flatnonzero(got.reshape(-1) != want.reshape(-1))
            if bad.size:
                problems.append(f"output '{out.name}': {bad.size} of {want.size} elements differ, first at flat "
                                f"index {bad[0]} ({got.reshape(-1)[bad[0]]} vs {want.reshape(-1)[bad[0]]})")
            continue
        g, w = got.astype(np.float64), want.astype(np.float64)
        nan_mismatch = np.isnan(g) != np.isnan(w)
        finite = ~np.isnan(w) & ~np.isnan(g)
        err = np.where(finite, np.abs(g - w), 0.0)
        err = np.where(np.isinf(w) & (g == w), 0.0, err)
        limit = tol.atol + tol.rtol * np.abs(w)
        bad = (err > limit) | nan_mismatch
        max_err = float(np.max(err)) if err.size else 0.0
        worst = max(worst, max_err)
        if bad.any():
            at = np.unravel_index(int(np.argmax(np.where(bad, err + 1.0, 0.0))), w.shape)
            problems.append(f"output '{out.name}': {int(bad.sum())} of {w.size} elements outside atol {tol.atol} "
                            f"rtol {tol.rtol}; max abs error {max_err:.3g} at {tuple(int(i) for i in at)} "
                            f"(got {g[at]:.6g}, {who} {w[at]:.6g})")
    return problems, worst


def check_case(args, case, folder, index):
    """(status word, detail) for one case."""
    ort_error = os.path.join(folder, "ort", "error.txt")
    if isinstance(case.expect, ort_ops_cases.MustFail):
        rc, message = run_tessera(args.tessera, case, folder, index, args.timeout)
        if rc == 0:
            return "FAIL", f"Tessera accepted a model it must refuse (expected '{case.expect.fragment}')"
        if rc is None or case.expect.fragment not in message:
            return "FAIL", f"Tessera failed without '{case.expect.fragment}': {message}"
        ort_note = " (ORT refuses it too)" if os.path.exists(ort_error) else " (ORT accepts it)"
        return "ok", "refused as expected" + ort_note
    ort_rejects = os.path.exists(ort_error)
    if ort_rejects and case.reference is None:
        with open(ort_error) as f:
            return "ORT-REJECTS", f.read().strip().splitlines()[0][:400]
    rc, message = run_tessera(args.tessera, case, folder, index, args.timeout)
    if rc != 0:
        return "FAIL", f"tessera run failed: {message}"
    got = tessera_outputs(case, folder)
    problems, worst, notes = [], 0.0, []
    if not ort_rejects:
        ort = ort_outputs(case, folder)
        problems, worst = compare_outputs(case, got, ort)
        if case.reference is not None:
            ort_vs_ref, _ = compare_outputs(case, ort, case.reference, "the reference")
            if ort_vs_ref:
                problems.append("ORT and the numpy reference disagree: " + "; ".join(ort_vs_ref))
            notes.append("reference and ORT")
    if case.reference is not None:
        ref_problems, ref_worst = compare_outputs(case, got, case.reference, "the reference")
        problems += ref_problems
        worst = max(worst, ref_worst)
        if ort_rejects:
            notes.append("reference only: ORT does not run it")
    if problems:
        return "FAIL", "; ".join(problems)
    return "ok", f"max abs error {worst:.3g}" + (f" ({', '.join(notes)})" if notes else "")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tessera", required=True, help="path to the tessera binary")
    parser.add_argument("--family", action="append", help="case family (default: all)")
    parser.add_argument("--work", help="folder for the case folders (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the case folders")
    parser.add_argument("--only", help="run the cases whose name contains this")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per tessera run")
    args = parser.parse_args()
    known = ort_ops_cases.families()
    chosen = args.family or known
    for fam in chosen:
        if fam not in known:
            parser.error(f"no family '{fam}' (known: {', '.join(known)})")
    cases = [c for fam in chosen for c in ort_ops_cases.load(fam) if not args.only or args.only in c.name]
    if args.list:
        for c in cases:
            print(f"{c.family}/{c.name}")
        return 0
    if not cases:
        print("compare_ops: no cases selected")
        return 1
    work = args.work or tempfile.mkdtemp(prefix="tessera_ort_ops_")
    try:
        folders = {}
        for c in cases:
            folder = os.path.join(work, c.family, c.name)
            folders[(c.family, c.name)] = (folder, write_case(c, folder))
        node = shutil.which("node")
        if node is None:
            print("compare_ops: node is not on PATH")
            return 1
        proc = subprocess.run([node, ORT_RUN] + [f for f, _ in folders.values()], capture_output=True, text=True)
        if proc.returncode != 0:
            print(f"compare_ops: ort_run.js failed: {proc.stderr.strip()}")
            return 1
        counts = {}
        for c in cases:
            folder, index = folders[(c.family, c.name)]
            word, detail = check_case(args, c, folder, index)
            counts[word] = counts.get(word, 0) + 1
            print(f"{word:11s} {c.family}/{c.name}: {detail}", flush=True)
        summary = ", ".join(f"{n} {w}" for w, n in sorted(counts.items()))
        print(f"compare_ops: {len(cases)} cases: {summary}")
        return 0 if counts.get("ok", 0) == len(cases) else 1
    finally:
        if not args.keep and not args.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
