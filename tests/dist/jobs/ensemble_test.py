#!/usr/bin/python3
"""tessera run --model A --model B ... --aggregate sum|mean|concat, in a world of one and under mpirun
-np 2: the combined outputs must equal numpy's sum, mean and axis-0 concatenation of each model's own
`tessera run` output. Three models over two ranks check the round-robin placement; mismatched models and
bad flags must give clear errors.

The second model is the example CNN with every float weight scaled (so its answer differs); the odd one
out is a one-node model (ReduceMean to [1,3]) whose output cannot be summed with or stacked on [1,10].

usage: ensemble_test.py TESSERA EXAMPLE_MODEL_DIR
"""
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import helper, numpy_helper

MPIRUN = ["mpirun", "--oversubscribe", "--bind-to", "none", "--timeout", "100"]


def make_models(tmp, example):
    model = onnx.load(os.path.join(example, "model.onnx"))
    for init in model.graph.initializer:
        w = numpy_helper.to_array(init)
        if w.dtype == np.float32:
            init.CopyFrom(numpy_helper.from_array((w * np.float32(0.9) + np.float32(0.01)).astype(np.float32), init.name))
    scaled = os.path.join(tmp, "scaled.onnx")
    onnx.save(model, scaled)
    node = helper.make_node("ReduceMean", ["input"], ["output"], axes=[2, 3], keepdims=0)
    graph = helper.make_graph([node], "odd", [helper.make_tensor_value_info("input", onnx.TensorProto.FLOAT, [1, 3, 32, 32])],
                              [helper.make_tensor_value_info("output", onnx.TensorProto.FLOAT, [1, 3])])
    odd = os.path.join(tmp, "odd.onnx")
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), odd)
    return scaled, odd


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=150)


def main():
    tessera, example = (os.path.abspath(a) for a in sys.argv[1:3])
    os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
    os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    original = os.path.join(example, "model.onnx")
    feed = ["--input", "input=" + os.path.join(example, "inputs", "input.npy")]
    failures = 0

    def report(ok, what, detail=""):
        nonlocal failures
        print(f"{'ok' if ok else 'FAIL'} {what}{': ' + detail if detail and not ok else ''}")
        failures += 0 if ok else 1

    with tempfile.TemporaryDirectory() as tmp:
        scaled, odd = make_models(tmp, example)
        single = {}
        for name, path in (("a", original), ("b", scaled)):
            r = run([tessera, "run", path, *feed, "--output-dir", os.path.join(tmp, name), "--threads", "1"])
            if r.returncode != 0:
                print("FAIL single run of", path, r.stderr)
                return 1
            single[name] = np.load(os.path.join(tmp, name, "output.npy"))
        a, b = single["a"], single["b"]
        report(not np.allclose(a, b), "the two models answer differently")
        want = {"sum": a + b, "mean": (a + b) / 2, "concat": np.concatenate([a, b], axis=0)}
        for ranks in (1, 2):
            for aggregate, expected in want.items():
                out = os.path.join(tmp, f"ens_{ranks}_{aggregate}")
                cmd = [tessera, "run", "--model", original, "--model", scaled, *feed, "--output-dir", out,
                       "--aggregate", aggregate, "--threads", "1"]
                r = run(MPIRUN + ["-np", str(ranks)] + cmd if ranks > 1 else cmd)
                got = np.load(os.path.join(out, "output.npy")) if r.returncode == 0 else None
                ok = got is not None and got.shape == expected.shape and np.allclose(got, expected, rtol=1e-5, atol=1e-6)
                report(ok, f"-np {ranks} {aggregate}", f"exit {r.returncode} {r.stderr.strip()}" if got is None else
                       f"shape {got.shape} vs {expected.shape}, max diff {np.abs(got - expected).max() if got.shape == expected.shape else '-'}")
        # Three models on two ranks: rank 0 runs models 0 and 2, rank 1 model 1.
        out = os.path.join(tmp, "ens_three")
        r = run(MPIRUN + ["-np", "2", tessera, "run", "--model", original, "--model", scaled, "--model", original, *feed,
                          "--output-dir", out, "--aggregate", "concat", "--threads", "1"])
        got = np.load(os.path.join(out, "output.npy")) if r.returncode == 0 else None
        report(got is not None and np.allclose(got, np.concatenate([a, b, a]), rtol=1e-5, atol=1e-6),
               "-np 2 three models round-robin, concat in model order", r.stderr.strip())

        # Mismatches are errors naming both models, in every world size.
        for ranks, aggregate, text in ((1, "sum", r"cannot sum output 0: '.*model.onnx' gives float32 \[1,10\], '.*odd.onnx' gives float32 \[1,3\]"),
                                       (2, "concat", r"cannot concat output 0: .*all dims but the first")):
            out = os.path.join(tmp, f"bad_{ranks}")
            cmd = [tessera, "run", "--model", original, "--model", odd, *feed, "--output-dir", out, "--aggregate", aggregate]
            r = run(MPIRUN + ["-np", str(ranks)] + cmd if ranks > 1 else cmd)
            ours = [l for l in r.stderr.splitlines() if l.startswith("tessera:")]
            report(r.returncode == 1 and len(ours) == 1 and re.search(text, ours[0]) and not os.path.exists(os.path.join(out, "output.npy")),
                   f"-np {ranks} {aggregate} of mismatched models is refused", f"exit {r.returncode}, {ours}")

        r = run(MPIRUN + ["-np", "2", tessera, "run", "--model", original, "--model", os.path.join(tmp, "missing.onnx"), *feed,
                          "--output-dir", os.path.join(tmp, "m"), "--aggregate", "sum"])
        report(r.returncode == 1 and "missing.onnx" in r.stderr, "-np 2 a missing model on rank 1 is named", r.stderr.strip())

        usage = [
            (["--aggregate", "max"], "--aggregate must be sum, mean or concat"),
            ([], "needs --aggregate"),
            (["--aggregate", "sum", original], "give every model as --model"),
        ]
        for extra, text in usage:
            r = run([tessera, "run", "--model", original, "--model", scaled, *feed, "--output-dir", os.path.join(tmp, "u"), *extra])
            report(r.returncode == 2 and text in r.stderr, f"usage error {extra}", f"exit {r.returncode} {r.stderr.strip()}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
