#!/usr/bin/python3
"""Pipeline plans on small generated models: outputs from every stage, plans that cannot work, and a
stage that fails mid-run. Every rank exits, nothing hangs.

- Outputs made by the first, the last and no stage at all (an input returned as it is), over three
  stages and two micro-batches: each comes back from the stage that has it, joined in order, one batch
  at a time and streamed (`--repeat 3 --stream`).
- More stages than the model has nodes: refused by rank 0 alone, with a message that says what fits.
- A stage whose run fails (a Reshape to an impossible shape, read from an input that only the second
  stage uses): the job ends through an abort whose message names the failing rank and stage.

usage: pipeline_plans_test.py TESSERA
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper


def two_node_model(path):
    """x -> Relu -> Reshape(shape) -> y: two nodes, and `shape` is read by the second one only."""
    nodes = [helper.make_node("Relu", ["x"], ["r"], name="relu"),
             helper.make_node("Reshape", ["r", "shape"], ["y"], name="reshape")]
    graph = helper.make_graph(nodes, "two_nodes",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 6]),
                               helper.make_tensor_value_info("shape", TensorProto.INT64, [2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["a", "b"])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


def three_output_model(path):
    """x -> relu -> early; sigmoid(early) -> mid; mid + early -> late. Outputs: late, early, x."""
    nodes = [helper.make_node("Relu", ["x"], ["early"], name="relu"),
             helper.make_node("Sigmoid", ["early"], ["mid"], name="sigmoid"),
             helper.make_node("Add", ["mid", "early"], ["late"], name="add")]
    info = lambda name: helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", 5])
    graph = helper.make_graph(nodes, "three_outputs", [info("x")], [info("late"), info("early"), info("x")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


def run(tessera, ranks, model, feeds, flags, out):
    cmd = ["mpirun", "--oversubscribe", "--bind-to", "none", "-np", str(ranks), "--timeout", "60", tessera, "run", model]
    for name, path in feeds.items():
        cmd += ["--input", f"{name}={path}"]
    cmd += ["--output-dir", out, "--threads", "1", *flags]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=90)


def main():
    tessera = sys.argv[1]
    os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
    os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, "model.onnx")
        two_node_model(model)
        x = os.path.join(tmp, "x.npy")
        np.save(x, np.arange(12, dtype=np.float32).reshape(2, 6) - 6)
        good_shape, bad_shape = os.path.join(tmp, "good.npy"), os.path.join(tmp, "bad.npy")
        np.save(good_shape, np.array([3, 4], dtype=np.int64))
        np.save(bad_shape, np.array([5, 5], dtype=np.int64))

        # The pipeline works on this model at all: two stages, the shape forwarded to the second.
        out = os.path.join(tmp, "ok")
        result = run(tessera, 2, model, {"x": x, "shape": good_shape}, ["--pp", "2"], out)
        ok = result.returncode == 0 and os.path.exists(os.path.join(out, "y.npy"))
        if ok:
            expected = np.maximum(np.arange(12, dtype=np.float32) - 6, 0).reshape(3, 4)
            ok = np.array_equal(np.load(os.path.join(out, "y.npy")), expected)
        print(f"{'ok' if ok else 'FAIL'} two stages run: exit {result.returncode} {result.stderr.strip()[-300:]}")
        failures += 0 if ok else 1

        # Outputs from every stage, and an input passed straight through, over two micro-batches.
        three = os.path.join(tmp, "three.onnx")
        three_output_model(three)
        x3 = os.path.join(tmp, "x3.npy")
        xs = (np.arange(15, dtype=np.float32).reshape(3, 5) - 7) / 3
        np.save(x3, xs)
        # Streamed too: every stage's outputs of every round reach stage 0, the last round's are written.
        for extra in ([], ["--repeat", "3", "--stream"]):
            out = os.path.join(tmp, "three_out" + "_streamed" * bool(extra))
            result = run(tessera, 3, three, {"x": x3}, ["--pp", "3", "--micro-batches", "2", *extra], out)
            ok = result.returncode == 0
            if ok:
                early = np.maximum(xs, 0)
                expected = {"early": early, "late": 1 / (1 + np.exp(-early)) + early, "x": xs}
                for name, want in expected.items():
                    got = np.load(os.path.join(out, name + ".npy"))
                    ok &= got.shape == want.shape and np.allclose(got, want, rtol=1e-6, atol=1e-6)
            print(f"{'ok' if ok else 'FAIL'} outputs from stages 0 and 2 {' '.join(extra)}: exit {result.returncode} "
                  f"{result.stderr.strip()[-300:]}")
            failures += 0 if ok else 1

        # Three stages for two nodes.
        out = os.path.join(tmp, "too_many")
        result = run(tessera, 3, model, {"x": x, "shape": good_shape}, ["--pp", "3"], out)
        ours = [line for line in result.stderr.splitlines() if line.startswith("tessera:")]
        ok = (result.returncode == 1 and len(ours) == 1 and "into 3 pipeline stages" in ours[0] and
              "--pp 2 or fewer" in ours[0] and not os.path.exists(os.path.join(out, "y.npy")))
        print(f"{'ok' if ok else 'FAIL'} --pp 3 on two nodes: exit {result.returncode}, messages {ours}")
        failures += 0 if ok else 1

        # The second stage fails mid-run: the abort names it, and every rank is gone.
        out = os.path.join(tmp, "stage_fails")
        result = run(tessera, 2, model, {"x": x, "shape": bad_shape}, ["--pp", "2"], out)
        ok = (result.returncode != 0 and "rank 1: (data 0, stage 1, shard 0) micro-batch 0:" in result.stderr and
              not os.path.exists(os.path.join(out, "y.npy")))
        print(f"{'ok' if ok else 'FAIL'} stage 1 fails: exit {result.returncode}, stderr {result.stderr.strip()[:400]}")
        failures += 0 if ok else 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
