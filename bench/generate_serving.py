#!/usr/bin/python3
"""Generation throughput of `tessera serve` through /v1/completions: tokens/s at 1 and 16 concurrent streams.

usage: generate_serving.py --tessera build/tessera --model-dir build/models/decoders/llama_tiny
                           [--tokens 128] [--threads 2]

Each stream asks for --tokens greedy tokens (ignore_eos) after a short prompt; tokens/s is all streams'
tokens over the wall time. Continuous batching should give >= 3x at 16 streams (the goal, printed, not
asserted: timings belong here, not in ctest).
"""
import argparse
import http.client
import json
import os
import shutil
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "serve"))
from serve_harness import Server  # noqa: E402


def one_stream(port, tokens, prompt, counts, i):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    body = {"model": "decoder", "prompt": prompt, "max_tokens": tokens, "temperature": 0, "ignore_eos": True,
            "stream": True}
    conn.request("POST", "/v1/completions", json.dumps(body), {"Content-Type": "application/json"})
    n = 0
    for line in conn.getresponse():
        if line.startswith(b"data: {"):
            n += len(json.loads(line[6:])["choices"][0]["token_ids"]) if json.loads(line[6:])["choices"] else 0
    counts[i] = n
    conn.close()


def tokens_per_second(port, streams, tokens):
    counts = [0] * streams
    threads = [threading.Thread(target=one_stream, args=(port, tokens, [1, 100 + i, 7], counts, i))
               for i in range(streams)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.perf_counter() - start), sum(counts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tessera", required=True)
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    repo = tempfile.mkdtemp(prefix="tessera_genbench_")
    version = os.path.join(repo, "decoder", "1")
    os.makedirs(version)
    for f in ("model.onnx", "config.json", "generation_config.json"):
        if os.path.exists(os.path.join(args.model_dir, f)):
            shutil.copyfile(os.path.join(args.model_dir, f), os.path.join(version, f))
    try:
        with Server(args.tessera, "--model-repo", repo, "--threads", str(args.threads)) as s:
            tokens_per_second(s.port, 1, 16)  # warm-up
            single, n1 = tokens_per_second(s.port, 1, args.tokens)
            many, n16 = tokens_per_second(s.port, 16, args.tokens)
    finally:
        shutil.rmtree(repo, ignore_errors=True)
    print(f"{os.path.basename(os.path.normpath(args.model_dir))}, {args.tokens} tokens per stream, "
          f"--threads {args.threads}")
    print(f"  1 stream:   {single:8.1f} tokens/s ({n1} tokens)")
    print(f"  16 streams: {many:8.1f} tokens/s ({n16} tokens)")
    print(f"  ratio: {many / single:.2f}x (goal >= 3x)")


if __name__ == "__main__":
    main()
