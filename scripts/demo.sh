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

echo
echo "== tessera serve (bundled example model, free port), one inference over HTTP, then SIGTERM"
"$ROOT/$BUILD_DIR/tessera" serve --host 127.0.0.1 --http-port 0 --grpc-port 0 --threads 1 >"$OUT/serve.out" 2>"$OUT/serve.err" &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true; rm -rf "$OUT"' EXIT
for _ in $(seq 600); do
  grep -q "listening" "$OUT/serve.out" 2>/dev/null && break
  kill -0 "$SERVER" 2>/dev/null || { cat "$OUT/serve.err"; exit 1; }
  sleep 0.1
done
cat "$OUT/serve.out"
PORT=$(sed -n 's/.*http_port=\([0-9]*\).*/\1/p' "$OUT/serve.out")
/usr/bin/python3 - "$PORT" "$MODEL_DIR" <<'PY'
import json, sys, urllib.request
import numpy as np
port, model_dir = sys.argv[1], sys.argv[2]
x = np.load(model_dir + "/inputs/input.npy")
body = {"id": "demo-1", "inputs": [{"name": "input", "shape": list(x.shape), "datatype": "FP32", "data": x.tolist()}]}
url = f"http://127.0.0.1:{port}/v2/models/tiny_cnn/infer"
print("POST", url)
req = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
with urllib.request.urlopen(req, timeout=60) as r:
    answer = json.load(r)
out = np.array(answer["outputs"][0]["data"], dtype=np.float32).reshape(answer["outputs"][0]["shape"])
ref = np.load(model_dir + "/expected/output.npy")
print("answer:", answer["model_name"], "version", answer["model_version"], "id", answer["id"],
      "| top class:", int(out[0].argmax()), "| max difference from PyTorch:", float(np.abs(out - ref).max()))
PY
kill -TERM "$SERVER"
wait "$SERVER" && echo "server stopped (exit status 0)"
