#!/usr/bin/python3
"""tessera plan: the report of a given plan (ResNet-50 at pp 2 x tp 2) has every field, its --dot file is a
digraph with one node per graph node and a cluster per stage, --auto picks a valid plan for 4 ranks on
BERT and ResNet-50 (dp for throughput), and bad flags are usage errors (exit 2).

usage: plan_test.py TESSERA TORCH_MODELS_DIR
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=240)


def main():
    tessera, torch = (os.path.abspath(a) for a in sys.argv[1:3])
    resnet = os.path.join(torch, "resnet50", "model.onnx")
    bert = os.path.join(torch, "bert", "model.onnx")
    failures = 0

    def report(ok, what, detail=""):
        nonlocal failures
        print(f"{'ok' if ok else 'FAIL'} {what}")
        if not ok:
            print("   ", detail)
        failures += 0 if ok else 1

    nodes = int(re.search(r"ops \((\d+) nodes\)", run([tessera, "inspect", resnet]).stdout).group(1))
    with tempfile.TemporaryDirectory() as tmp:
        dot_path = os.path.join(tmp, "plan.dot")
        r = run([tessera, "plan", resnet, "--pp", "2", "--tp", "2", "--dot", dot_path])
        out = r.stdout
        report(r.returncode == 0, "plan resnet50 --pp 2 --tp 2 succeeds", r.stderr)
        fields = [r"plan: dp 1 x pp 2 x tp 2 = 4 ranks", r"cost model: .* GFLOP/s per rank, link .* Gbit/s",
                  r"stage 0: nodes 0\.\.\d+ .* \d+ nodes, [\d.]+ GFLOP, weights [\d.]+ MiB, \d+ sharded blocks",
                  r"stage 1: nodes \d+\.\.%d " % (nodes - 1)]
        fields += [r"rank %d \(shard %d/2\): [\d.]+ GFLOP, weights [\d.]+ MiB, activations [\d.]+ [KM]iB, memory [\d.]+ MiB, "
                   r"compute [\d.]+ ms" % (rank, rank % 2) for rank in range(4)]
        fields += [r"collectives: [\d.]+ [KM]iB per inference", r"cut 0 -> 1: [\d.]+ [KM]iB of activations per inference",
                   r"stage time: [\d.]+ ms", r"estimated latency: [\d.]+ ms per inference", r"estimated throughput: [\d.]+",
                   r"communication per inference: [\d.]+ MiB \(pipeline [\d.]+ [KM]iB, tensor [\d.]+ MiB, data 0 B\)",
                   r"memory per rank: at most [\d.]+ MiB \(model weights 9\d\.\d+ MiB\)"]
        for field in fields:
            report(re.search(field, out), f"report has /{field}/", out)
        dot = open(dot_path).read() if os.path.exists(dot_path) else ""
        report(dot.startswith("digraph plan {") and dot.rstrip().endswith("}"), "--dot writes a digraph")
        drawn = re.findall(r"^\s+n(\d+) \[label=", dot, re.M)
        report(len(drawn) == nodes and len(set(drawn)) == nodes, f"--dot draws each of the {nodes} nodes once", f"{len(drawn)} drawn")
        report("cluster_stage0" in dot and "cluster_stage1" in dot and "cluster_stage2" not in dot, "--dot has one cluster per stage")
        edges = re.findall(r"^\s+n(\d+) -> n(\d+);", dot, re.M)
        report(len(edges) >= nodes - 1 and all(int(a) < int(b) for a, b in edges), "--dot edges follow the topological order",
               f"{len(edges)} edges")
        report("split over 2" in dot and dot.count("{") == dot.count("}"), "--dot marks sharded nodes and is balanced")
        if shutil.which("dot"):
            g = run(["dot", "-Tsvg", dot_path, "-o", os.path.join(tmp, "plan.svg")])
            report(g.returncode == 0, "graphviz parses the file", g.stderr)

        for model, objective in ((bert, "latency"), (resnet, "latency"), (resnet, "throughput")):
            r = run([tessera, "plan", model, "--auto", "--ranks", "4", "--objective", objective, "--link-gbps", "25", "--link-us", "5"])
            chosen = re.search(r"^chosen: dp (\d+) x pp (\d+) x tp (\d+)", r.stdout, re.M)
            candidates = re.findall(r"^ +\*? *dp \d+ x pp \d+ x tp \d+: ", r.stdout, re.M)
            ok = (r.returncode == 0 and chosen and int(chosen[1]) * int(chosen[2]) * int(chosen[3]) == 4 and
                  len(candidates) == 6 and f"objective {objective}:" in r.stdout and "estimated latency" in r.stdout and
                  "link 25 Gbit/s + 5 us" in r.stdout)
            report(ok, f"--auto --ranks 4 on {os.path.basename(os.path.dirname(model))} ({objective})", r.stdout + r.stderr)
            if model == resnet and objective == "throughput":
                report(chosen and chosen.groups() == ("4", "1", "1"), "throughput favours data parallelism", r.stdout)

    usage = [
        ([resnet, "--auto"], "--auto needs --ranks"),
        ([resnet, "--auto", "--ranks", "4", "--tp", "2"], "--auto chooses --tp itself"),
        ([resnet, "--auto", "--ranks", "4", "--objective", "speed"], "--objective must be latency or throughput"),
        ([resnet, "--auto", "--ranks", "4", "--link-gbps", "-1"], "--link-gbps must be a positive number"),
        ([resnet, "--pp", "0"], "--pp must be between"),
        ([resnet, "--ranks", "3", "--tp", "2"], "does not divide the 3 ranks"),
        ([resnet, "--objective", "latency"], "--objective applies only with --auto"),
        ([resnet, "--stages", "2"], "unknown flag --stages"),
        ([], "usage: tessera plan MODEL"),
    ]
    for args, text in usage:
        r = run([tessera, "plan", *args])
        report(r.returncode == 2 and text in r.stderr, f"usage error {' '.join(args[1:])}", f"exit {r.returncode} {r.stderr}")
    r = run([tessera, "plan", os.path.join(torch, "no_such", "model.onnx")])
    report(r.returncode == 1 and "model.onnx" in r.stderr, "a missing model is exit 1", r.stderr)
    r = run([tessera, "plan", resnet, "--tp", "4096"])
    report(r.returncode == 1 and "tensor parallelism over 4096 ranks" in r.stderr, "an impossible split names the planner's reason", r.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
