#!/usr/bin/python3
"""Tokens/s of `tessera serve` /v1/completions streams: one process vs tp=2 under mpirun, in one server.

usage: serve_mpi_tokens.py TESSERA DECODER_FOLDER [REPEATS]

The repository holds the decoder twice: `one` (rank 0's process alone) and `tp2` (config.json
{"parallel": {"tp": 2}}, ranks 0 and 1). For 1 and 8 concurrent greedy streams of 64 tokens each, the two
are run alternately REPEATS times; prints the median generated tokens/s of each and the load average.
"""
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "serve"))
import serve_harness as h  # noqa: E402

ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_mpi_yield_when_idle="1")
TOKENS = 64


def make_repo(decoder):
    repo = tempfile.mkdtemp(prefix="tessera_bench_mpi_")
    for name, config in [("one", None), ("tp2", {"parallel": {"tp": 2}})]:
        os.makedirs(os.path.join(repo, name, "1"))
        for f in os.listdir(decoder):
            if os.path.isfile(os.path.join(decoder, f)):
                shutil.copyfile(os.path.join(decoder, f), os.path.join(repo, name, "1", f))
        if config:
            with open(os.path.join(repo, name, "config.json"), "w") as out:
                json.dump(config, out)
    return repo


def one_stream(port, model, prompt, counts, i):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    body = dict(model=model, prompt=prompt, max_tokens=TOKENS, temperature=0, ignore_eos=True, stream=True)
    conn.request("POST", "/v1/completions", json.dumps(body), {"Content-Type": "application/json"})
    n = 0
    for line in conn.getresponse():
        line = line.decode().strip()
        if line.startswith("data: {"):
            n += sum(len(c["token_ids"]) for c in json.loads(line[6:])["choices"])
    conn.close()
    counts[i] = n


def tokens_per_second(port, model, streams):
    counts = [0] * streams
    threads = [threading.Thread(target=one_stream, args=(port, model, [1, 100 + i, 7], counts, i))
               for i in range(streams)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.perf_counter() - start)


def main():
    tessera, decoder = sys.argv[1], sys.argv[2]
    repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    repo = make_repo(decoder)
    proc = subprocess.Popen(["mpirun", "--oversubscribe", "-np", "2", tessera, "serve", "--host", "127.0.0.1",
                             "--http-port", "0", "--grpc-port", "0", "--threads", "1", "--model-repo", repo],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=ENV)
    try:
        for line in proc.stdout:
            m = h.LISTENING.search(line)
            if m:
                port = int(m.group(1))
                break
        url = f"http://127.0.0.1:{port}"
        for model in ["one", "tp2"]:
            h.wait_until(lambda: h.request(url, f"/v2/models/{model}/ready").status == 200, 600, model)
            tokens_per_second(port, model, 1)  # warm up
        print(f"loadavg before: {open('/proc/loadavg').read().strip()}")
        for streams in [1, 8]:
            runs = {"one": [], "tp2": []}
            for _ in range(repeats):
                for model in runs:
                    runs[model].append(tokens_per_second(port, model, streams))
            one, tp2 = statistics.median(runs["one"]), statistics.median(runs["tp2"])
            print(f"{streams} streams: one process {one:.1f} tok/s, tp=2 {tp2:.1f} tok/s, ratio {tp2 / one:.2f}")
        print(f"loadavg after: {open('/proc/loadavg').read().strip()}")
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        shutil.rmtree(repo, ignore_errors=True)


if __name__ == "__main__":
    main()
