#!/usr/bin/python3
"""Bad distributed plans (including more tensor shards than a dimension has elements): each is refused with one clear message from rank 0, and every rank exits
(no hang, no abort trace from the launcher's side beyond its exit report).

usage: bad_plan_test.py TESSERA EXAMPLE_MODEL_DIR
"""
import os
import shutil
import subprocess
import sys
import tempfile

CASES = [
    # (model, ranks, flags, expected exit status, text the message must contain); model None is the
    # example model given on the command line, "narrow" a generated one (see write_narrow_model).
    (None, 2, ["--dp", "3"], 2, "start it with mpirun -np 3"),
    (None, 3, ["--pp", "2"], 2, "does not divide the 3 ranks"),
    (None, 2, ["--dp", "0"], 2, "--dp"),
    # More shards than the dimension has elements: 3 output features over 4 ranks.
    ("narrow", 4, ["--tp", "4"], 1, "cannot split over 4 ranks"),
]


def write_narrow_model(folder):
    """One MatMul whose weight is large enough to be split (22000 x 3 floats) but has only 3 columns."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    k, n = 22000, 3
    weight = np.random.default_rng(0).standard_normal((k, n)).astype(np.float32)
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"], name="narrow_matmul")], "narrow",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, k])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, n])],
                              [numpy_helper.from_array(weight, "w")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), os.path.join(folder, "model.onnx"))
    os.makedirs(os.path.join(folder, "inputs"))
    np.save(os.path.join(folder, "inputs", "x.npy"), np.ones((1, k), np.float32))


def main():
    tessera, model_dir = sys.argv[1], sys.argv[2]
    os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
    os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    narrow_dir = tempfile.mkdtemp()
    write_narrow_model(narrow_dir)
    failures = 0
    for model, ranks, flags, want_code, want_text in CASES:
        folder = narrow_dir if model == "narrow" else model_dir
        inputs = os.path.join(folder, "inputs")
        feeds = [a for f in sorted(os.listdir(inputs)) for a in ("--input", f"{f[:-4]}={os.path.join(inputs, f)}")]
        with tempfile.TemporaryDirectory() as out:
            cmd = ["mpirun", "--oversubscribe", "--bind-to", "none", "-np", str(ranks), "--timeout", "60", tessera, "run",
                   os.path.join(folder, "model.onnx"), *feeds, "--output-dir", out, *flags]
            result = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
            ours = [line for line in result.stderr.splitlines() if line.startswith("tessera:")]
            ok = (result.returncode == want_code and len(ours) == 1 and want_text in ours[0] and not os.listdir(out))
            print(f"{'ok' if ok else 'FAIL'} -np {ranks} {' '.join(flags)}: exit {result.returncode}, messages {ours}")
            failures += 0 if ok else 1
    shutil.rmtree(narrow_dir, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
