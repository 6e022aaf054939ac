#!/usr/bin/env bash
# Installs the npm packages that tests and benchmarks use as references (never as Tessera's engine):
# ONNX Runtime's Node API, the CPU peer that outputs are compared with and timed against, and
# @huggingface/tokenizers (tokenizers.js: pure JavaScript, no native part), the tokenizer parity test's
# reference. They go into bench/.ort (git-ignored), where bench/ and tests/ look for them. Idempotent:
# nothing is fetched when the pinned versions are there.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=bench/.ort
PEERS=(onnxruntime-node@1.31.1 @huggingface/tokenizers@0.2.0)

have_all=1
for spec in "${PEERS[@]}"; do
  name=${spec%@*} version=${spec##*@}
  got=$(node -p "require('./$DIR/node_modules/$name/package.json').version" 2>/dev/null || true)
  [ "$got" = "$version" ] || have_all=0
done
if [ $have_all -eq 1 ]; then
  echo "install-npm-peers: ${PEERS[*]} present"
  exit 0
fi
mkdir -p "$DIR"
echo "install-npm-peers: installing ${PEERS[*]} into $DIR"
# --ignore-scripts: the packages ship their native libraries; no install script needs to run.
(cd "$DIR" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error "${PEERS[@]}")
