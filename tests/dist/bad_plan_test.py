#!/usr/bin/python3
"""Bad distributed plans: each is refused with one clear message from rank 0, and every rank exits
(no hang, no abort trace from the launcher's side beyond its exit report).

usage: bad_plan_test.py TESSERA EXAMPLE_MODEL_DIR
"""
import os
import subprocess
import sys
import tempfile

CASES = [
    # (ranks, flags, expected exit status, text the message must contain)
    (2, ["--dp", "3"], 2, "start it with mpirun -np 3"),
    (3, ["--pp", "2"], 2, "does not divide the 3 ranks"),
    (2, ["--dp", "0"], 2, "--dp"),
]


def main():
    tessera, model_dir = sys.argv[1], sys.argv[2]
    os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
    os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    inputs = os.path.join(model_dir, "inputs")
    feeds = [a for f in sorted(os.listdir(inputs)) for a in ("--input", f"{f[:-4]}={os.path.join(inputs, f)}")]
    failures = 0
    for ranks, flags, want_code, want_text in CASES:
        with tempfile.TemporaryDirectory() as out:
            cmd = ["mpirun", "--oversubscribe", "--bind-to", "none", "-np", str(ranks), "--timeout", "60", tessera, "run",
                   os.path.join(model_dir, "model.onnx"), *feeds, "--output-dir", out, *flags]
            result = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
            ours = [line for line in result.stderr.splitlines() if line.startswith("tessera:")]
            ok = (result.returncode == want_code and len(ours) == 1 and want_text in ours[0] and not os.listdir(out))
            print(f"{'ok' if ok else 'FAIL'} -np {ranks} {' '.join(flags)}: exit {result.returncode}, messages {ours}")
            failures += 0 if ok else 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
