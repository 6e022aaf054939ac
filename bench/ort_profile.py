#!/usr/bin/python3
"""Sums an ONNX Runtime profile (from `node bench/ort_bench.js MODEL --profile PREFIX`) by op type and lists
the slowest nodes, in the shape of `tessera bench --profile`, so the two can be read side by side.

usage: /usr/bin/python3 bench/ort_profile.py PROFILE.json [--runs N] [--top K]

Times are per run: the node events of all runs in the file (warm-up included) divided by the number of
model_run events, or by --runs.
"""
import argparse
import collections
import json
import sys


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("profile")
    parser.add_argument("--runs", type=int, default=0)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    with open(args.profile) as f:
        events = json.load(f)
    runs = args.runs or sum(1 for e in events if e.get("name") == "model_run") or 1
    by_op = collections.defaultdict(float)
    count = collections.Counter()
    by_node = collections.defaultdict(float)
    for e in events:
        if e.get("cat") != "Node" or not e.get("name", "").endswith("_kernel_time"):
            continue
        op = e.get("args", {}).get("op_name", "?")
        by_op[op] += e["dur"] / 1000.0
        count[op] += 1
        by_node[(e["name"][:-len("_kernel_time")], op)] += e["dur"] / 1000.0
    total = sum(by_op.values())
    print(f"ORT profile: {total / runs:.3f} ms per run in nodes ({runs} runs)")
    print(f"  {'op type':32s} {'nodes':>5s} {'ms/run':>10s} {'share':>7s}")
    for op, ms in sorted(by_op.items(), key=lambda kv: -kv[1]):
        print(f"  {op:32s} {count[op] // runs:5d} {ms / runs:10.3f} {100 * ms / total:6.1f}%")
    print(f"slowest nodes (ms/run):")
    for (node, op), ms in sorted(by_node.items(), key=lambda kv: -kv[1])[:args.top]:
        print(f"  {ms / runs:8.3f}  {op:20s} {node}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
