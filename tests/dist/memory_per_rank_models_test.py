#!/usr/bin/python3
"""Peak memory per rank on an exported model (BERT-base, seeded weights inline in one .onnx): under --tp 2
and --pp 2 each rank's VmHWM from load to first output (tessera run --json) stays within 1.15x the weights
it keeps above what a rank without weights holds, and the output matches PyTorch's.

usage: memory_per_rank_models_test.py TESSERA BERT_DIR
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

MiB = 1 << 20
MPI = ["mpirun", "--oversubscribe", "--bind-to", "none", "--timeout", "240"]


def run(tessera, model, inputs, out, ranks, flags):
    feeds = [a for f in sorted(os.listdir(inputs)) for a in ("--input", f"{f[:-4]}={os.path.join(inputs, f)}")]
    cmd = [*MPI, "-np", str(ranks), tessera, "run", model, *feeds, "--output-dir", out, "--threads", "1", "--json",
           *flags]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {result.returncode}: {result.stderr[-1500:]}")
    return json.loads([line for line in result.stdout.splitlines() if line.startswith("{")][-1])


def main():
    tessera, bert = sys.argv[1], sys.argv[2]
    os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
    os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    failures = 0
    with tempfile.TemporaryDirectory(prefix="s3-shard-mem-models-") as scratch:
        import onnx
        from onnx import TensorProto, helper
        graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "weightless",
                                  [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8])])
        os.makedirs(os.path.join(scratch, "weightless", "inputs"))
        onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]),
                  os.path.join(scratch, "weightless", "model.onnx"))
        np.save(os.path.join(scratch, "weightless", "inputs", "x.npy"), np.ones((1, 8), np.float32))
        base = run(tessera, os.path.join(scratch, "weightless", "model.onnx"),
                   os.path.join(scratch, "weightless", "inputs"), os.path.join(scratch, "out"), 2, ["--tp", "2"])
        base_rss = max(r["peak_rss_bytes"] for r in base["rank_reports"])
        want = np.load(os.path.join(bert, "expected", "last_hidden_state.npy"))
        for flags in (["--tp", "2"], ["--pp", "2"]):
            out = os.path.join(scratch, "out_" + flags[0][2:])
            report = run(tessera, os.path.join(bert, "model.onnx"), os.path.join(bert, "inputs"), out, 2, flags)
            got = np.load(os.path.join(out, "last_hidden_state.npy"))
            error = float(np.abs(got - want).max())
            ok = error < 1e-3
            print(f"{'ok' if ok else 'FAIL'} bert {' '.join(flags)}: max abs error against PyTorch {error:.2e}")
            failures += 0 if ok else 1
            for r in report["rank_reports"]:
                ratio = (r["peak_rss_bytes"] - base_rss) / r["weight_bytes"]
                ok = ratio <= 1.15
                print(f"{'ok' if ok else 'FAIL'} bert {' '.join(flags)} rank {r['rank']}: VmHWM "
                      f"{r['peak_rss_bytes'] / MiB:.0f} MiB, weights kept {r['weight_bytes'] / MiB:.0f} MiB, "
                      f"base {base_rss / MiB:.0f} MiB: (peak - base) / kept = {ratio:.2f} (at most 1.15); "
                      f"loaded in {r['load_seconds']:.2f} s")
                failures += 0 if ok else 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
