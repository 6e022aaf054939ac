#!/usr/bin/python3
"""Memory-capped ranks: a model whose weights are about 1.5x one rank's cap runs under --tp 2 and --pp 2
with each rank in its own memory cgroup at that cap (tools/memcap/in_memory_cgroup.py), and matches numpy;
one process under the same cap is refused up front by --mem-per-rank with the rank count that would fit
(and `tessera plan --auto --ranks 2 --mem-per-rank` picks a split, not two replicas),
and without the flag the cap really binds (the kernel stops it). Both weight layouts are run: inline in
the .onnx, and external data in one file per tensor. Each rank's VmHWM (tessera run --json) stays within
1.15x its share of the weights above what the process holds without weights (measured on a weightless
model in the same run, with 4 MiB for its run-to-run noise).

usage: memory_capped_ranks_test.py TESSERA CGROUP_TOOL
Exit 77 (skipped) where no memory cgroup can be made.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

MiB = 1 << 20
HIDDEN, INNER, BLOCKS = 1024, 4096, 12    # 12 blocks x 2 weights x 16 MiB = 384 MiB of weights
CAP = 256 * MiB                           # weights = 1.5 x CAP
MPI = ["mpirun", "--oversubscribe", "--bind-to", "none", "--timeout", "240"]


def weights(seed=0):
    rng = np.random.default_rng(seed)
    for b in range(BLOCKS):
        up = (rng.standard_normal((HIDDEN, INNER)) / np.sqrt(HIDDEN)).astype(np.float32)
        down = (rng.standard_normal((INNER, HIDDEN)) / np.sqrt(INNER)).astype(np.float32)
        yield b, up, down


def write_model(folder, external):
    """Residual MLP blocks: x + Relu(x @ up) @ down, the block tensor parallelism splits whole."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    os.makedirs(folder)
    nodes, inits, x = [], [], "x"
    for b, up, down in weights():
        inits += [numpy_helper.from_array(up, f"up{b}"), numpy_helper.from_array(down, f"down{b}")]
        nodes += [helper.make_node("MatMul", [x, f"up{b}"], [f"h{b}"], name=f"up{b}"),
                  helper.make_node("Relu", [f"h{b}"], [f"r{b}"], name=f"relu{b}"),
                  helper.make_node("MatMul", [f"r{b}", f"down{b}"], [f"d{b}"], name=f"down{b}"),
                  helper.make_node("Add", [x, f"d{b}"], [f"y{b}"], name=f"residual{b}")]
        x = f"y{b}"
    graph = helper.make_graph(nodes, "capped_mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, HIDDEN])],
                              [helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, HIDDEN])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    path = os.path.join(folder, "model.onnx")
    if external:
        onnx.save_model(model, path, save_as_external_data=True, all_tensors_to_one_file=False, size_threshold=1024)
    else:
        onnx.save_model(model, path)
    return path


def reference(x):
    y = x.astype(np.float64)
    for _, up, down in weights():
        y = y + np.maximum(y @ up, 0) @ down
    return y


def run(tessera, tool, scratch, model, ranks, flags, capped=True, tag="run"):
    """(exit status, stderr, --json report or None, cgroup reports)."""
    out = os.path.join(scratch, "out")
    shutil.rmtree(out, ignore_errors=True)
    reports = os.path.join(scratch, f"cgroup_{tag}")
    os.makedirs(reports, exist_ok=True)
    wrap = [sys.executable, tool, "--limit", str(CAP), "--name", "s3-shard-memcap",
            "--report", os.path.join(reports, "rank.json"), "--"] if capped else []
    cmd = [*wrap, tessera, "run", model, "--input", f"x={os.path.join(scratch, 'x.npy')}", "--output-dir", out,
           "--threads", "1", "--json", *flags]
    if ranks > 1:
        # One report per rank: the tool runs once per rank, so each needs its own file.
        cmd = [*MPI, "-np", str(ranks), sys.executable, "-c",
               "import os, sys; r = os.environ.get('OMPI_COMM_WORLD_RANK', '0'); "
               "a = [x.replace('rank.json', 'rank' + r + '.json') for x in sys.argv[1:]]; "
               "os.execv(a[0], a)", *cmd]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    report = None
    for line in result.stdout.splitlines():
        if line.startswith("{"):
            report = json.loads(line)
    groups = []
    for name in sorted(os.listdir(reports)):
        with open(os.path.join(reports, name)) as f:
            groups.append(json.load(f))
    shutil.rmtree(reports)
    return result.returncode, result.stderr, report, groups


def main():
    tessera, tool = sys.argv[1], sys.argv[2]
    os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
    os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    probe = subprocess.run([sys.executable, tool, "--limit", str(CAP), "--name", "s3-shard-memcap-probe", "--", "true"])
    if probe.returncode == 77:
        print("skipped: no memory cgroup can be made here")
        return 77
    scratch = tempfile.mkdtemp(prefix="s3-shard-memcap-")
    failures = []

    def check(ok, what):
        print(("ok   " if ok else "FAIL ") + what, flush=True)
        if not ok:
            failures.append(what)

    try:
        x = np.random.default_rng(1).standard_normal((1, HIDDEN)).astype(np.float32)
        np.save(os.path.join(scratch, "x.npy"), x)
        want = reference(x)
        weight_bytes = BLOCKS * 2 * HIDDEN * INNER * 4
        # What a rank holds without weights (code, libraries, runtime): a tiny model of the same shape of run.
        tiny = os.path.join(scratch, "tiny")
        os.makedirs(tiny)
        from onnx import TensorProto, helper
        import onnx
        graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "tiny",
                                  [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, HIDDEN])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, HIDDEN])])
        onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), os.path.join(tiny, "m.onnx"))
        _, _, base, _ = run(tessera, tool, scratch, os.path.join(tiny, "m.onnx"), 2, ["--tp", "2"], capped=False,
                            tag="base")
        base_rss = max(r["peak_rss_bytes"] for r in base["rank_reports"])
        print(f"base VmHWM per rank without weights: {base_rss / MiB:.1f} MiB; weights {weight_bytes / MiB:.0f} MiB, "
              f"cap {CAP / MiB:.0f} MiB per rank")
        for layout in ("inline", "external"):
            model = write_model(os.path.join(scratch, layout), external=layout == "external")
            code, err, _, _ = run(tessera, tool, scratch, model, 1, ["--mem-per-rank", str(CAP)], tag="refused")
            message = [line for line in err.splitlines() if line.startswith("tessera:")]
            check(code == 1 and len(message) == 1 and "more than --mem-per-rank" in message[0]
                  and "it would fit on 2 ranks" in message[0],
                  f"{layout}: one process under --mem-per-rank {CAP} is refused up front: {message}")
            plan = subprocess.run([tessera, "plan", model, "--auto", "--ranks", "2", "--mem-per-rank", str(CAP)],
                                  capture_output=True, text=True, timeout=120)
            chosen = [line for line in plan.stdout.splitlines() if line.startswith("chosen:")]
            check(plan.returncode == 0 and chosen and "dp 1" in chosen[0] and "memory: 2 of 3 plans fit" in plan.stdout,
                  f"{layout}: plan --auto --ranks 2 --mem-per-rank picks a split that fits: {chosen}")
            code, _, _, groups = run(tessera, tool, scratch, model, 1, [], tag="oom")
            check(code != 0 and groups and groups[0]["peak"] >= CAP * 0.95,
                  f"{layout}: one process without the flag hits the cap (exit {code}, cgroup {groups})")
            for flag in ("--tp", "--pp"):
                code, err, report, groups = run(tessera, tool, scratch, model, 2, [flag, "2", "--mem-per-rank", str(CAP)],
                                                tag=flag[2:])
                if code != 0 or report is None:
                    check(False, f"{layout} {flag} 2 under the cap: exit {code}: {err[-2000:]} {groups}")
                    continue
                got = np.load(os.path.join(scratch, "out", os.listdir(os.path.join(scratch, "out"))[0]))
                error = float(np.abs(got - want).max() / (np.abs(want).max() + 1e-12))
                check(error < 1e-4, f"{layout} {flag} 2: output matches numpy (relative error {error:.2e})")
                for r in report["rank_reports"]:
                    share = r["weight_bytes"]
                    limit = base_rss + 1.15 * share + 4 * MiB  # 4 MiB: run-to-run noise of the base figure
                    check(r["peak_rss_bytes"] <= limit and share <= 0.55 * weight_bytes,
                          f"{layout} {flag} 2 rank {r['rank']}: VmHWM {r['peak_rss_bytes'] / MiB:.1f} MiB <= "
                          f"base {base_rss / MiB:.1f} + 1.15 x share {share / MiB:.1f} MiB; "
                          f"loaded in {r['load_seconds']:.2f} s")
                check(len(groups) == 2 and all(g["exit"] == 0 and g["oom_kills"] in (0, None) for g in groups),
                      f"{layout} {flag} 2: each rank in its own cgroup at {CAP / MiB:.0f} MiB, peaks "
                      f"{[round((g['peak'] or 0) / MiB, 1) for g in groups]} MiB")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
