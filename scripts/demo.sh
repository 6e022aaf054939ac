#!/usr/bin/env bash
# Runs the bundled example model end to end and prints a readable result.
set -euo pipefail
BUILD_DIR=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MODEL_DIR="$ROOT/examples/tiny_cnn"
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

echo "== tessera inspect examples/tiny_cnn/model.onnx"
"$ROOT/$BUILD_DIR/tessera" inspect "$MODEL_DIR/model.onnx"
echo
echo "== tessera run examples/tiny_cnn/model.onnx"
"$ROOT/$BUILD_DIR/tessera" run "$MODEL_DIR/model.onnx" --input "input=$MODEL_DIR/inputs/input.npy" --output-dir "$OUT"
/usr/bin/python3 - "$OUT" "$MODEL_DIR" <<'PY'
import sys, numpy as np
out, ref = np.load(sys.argv[1] + "/output.npy"), np.load(sys.argv[2] + "/expected/output.npy")
print("class probabilities:", np.array2string(out[0], precision=3, suppress_small=True))
print("top class:", int(out[0].argmax()), "| max difference from PyTorch:", float(np.abs(out - ref).max()))
PY
