#!/usr/bin/python3
"""--broadcast-weights: a rank whose host lacks the model files (here: its model path does not exist) gets
them from rank 0 and runs its share, with outputs equal to numpy's, for inline and external-data models;
without the flag the same rank fails with a message naming itself and the missing file, and no weight is
sent. The received copy is removed once the plan is built.

usage: broadcast_weights_test.py TESSERA
"""
import glob
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import memory_capped_ranks_test as mlp  # noqa: E402  (the residual MLP it generates)

MPI = ["mpirun", "--oversubscribe", "--bind-to", "none", "--timeout", "120", "-np", "2"]


def main():
    tessera = sys.argv[1]
    os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
    os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    mlp.BLOCKS = 2
    scratch = tempfile.mkdtemp(prefix="s3-shard-broadcast-")
    failures = 0
    before = set(glob.glob(os.path.join(tempfile.gettempdir(), "tessera-model-*")))
    try:
        x = np.random.default_rng(2).standard_normal((1, mlp.HIDDEN)).astype(np.float32)
        np.save(os.path.join(scratch, "x.npy"), x)
        want = mlp.reference(x)
        for layout in ("inline", "external"):
            model = mlp.write_model(os.path.join(scratch, layout), external=layout == "external")
            for flags, should_run in ((["--broadcast-weights"], True), ([], False)):
                out = os.path.join(scratch, "out")
                shutil.rmtree(out, ignore_errors=True)
                # Rank 1 is given a path that does not exist: only rank 0 has the files.
                script = ('if [ "$OMPI_COMM_WORLD_RANK" = 0 ]; then m="$1"; else m=/nonexistent/model.onnx; fi; '
                          'shift; exec "$0" run "$m" "$@"')
                cmd = [*MPI, "sh", "-c", script, tessera, model, "--input", f"x={os.path.join(scratch, 'x.npy')}",
                       "--output-dir", out, "--threads", "1", "--tp", "2", *flags]
                result = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
                ours = [line for line in result.stderr.splitlines() if line.startswith("tessera:")]
                if should_run:
                    ok = result.returncode == 0 and os.path.isdir(out)
                    error = None
                    if ok:
                        got = np.load(os.path.join(out, os.listdir(out)[0]))
                        error = float(np.abs(got - want).max() / np.abs(want).max())
                        ok = error < 1e-4
                    print(f"{'ok' if ok else 'FAIL'} {layout} --broadcast-weights: exit {result.returncode}, "
                          f"relative error {error} {ours}")
                else:
                    ok = (result.returncode != 0 and len(ours) == 1 and "rank 1" in ours[0]
                          and "/nonexistent/model.onnx" in ours[0])
                    print(f"{'ok' if ok else 'FAIL'} {layout} without the flag: exit {result.returncode}, {ours}")
                failures += 0 if ok else 1
        left = set(glob.glob(os.path.join(tempfile.gettempdir(), "tessera-model-*"))) - before
        print(f"{'ok' if not left else 'FAIL'} received copies removed: {sorted(left)}")
        failures += 1 if left else 0
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
