#!/usr/bin/python3
"""Streaming generation through `tessera serve --replicas` while workers die.

usage: serve_failover_stream_test.py TESSERA DECODERS_DIR

Two worker `tessera serve` processes serve the exported llama_tiny decoder (tools/export_decoders.py);
a routing server stands in front. Checks: relayed completions and streams give PyTorch's greedy tokens;
a worker killed (SIGKILL) in the middle of a stream ends that stream with an error event after the
tokens already sent, then `data: [DONE]`, never a silent cut; requests sent right after the kill, before
the router's probes have seen it, all succeed (a request lost before its first token is sent again to
the other worker); a client that hangs up mid-stream ends the worker's request; the killed worker rejoins
once restarted.
"""
import http.client
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(__file__))
import serve_harness as h  # noqa: E402

MODEL = "llama_tiny"
CONTEXT = 256


def make_repo(decoders):
    repo = tempfile.mkdtemp(prefix="tessera_failover_stream_")
    version = os.path.join(repo, MODEL, "1")
    os.makedirs(version)
    for f in ("model.onnx", "config.json", "generation_config.json"):
        shutil.copyfile(os.path.join(decoders, MODEL, f), os.path.join(version, f))
    return repo


def greedy_case(decoders):
    expected = json.load(open(os.path.join(decoders, MODEL, "expected", "greedy.json")))
    case = expected["cases"][0]
    ids, mask, want = case["input_ids"][0], case["attention_mask"][0], case["new_tokens"][0]
    return [t for t, m in zip(ids, mask) if m == 1], want


def stream_events(port, body, on_event=None):
    """Every `data:` payload of a streaming completion, as text, in order ([DONE] included)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request("POST", "/v1/completions", json.dumps({**body, "stream": True}), {"Content-Type": "application/json"})
    resp = conn.getresponse()
    assert resp.status == 200, (resp.status, resp.read())
    events = []
    for line in resp:
        line = line.decode().rstrip("\n")
        if line.startswith("data: "):
            events.append(line[6:])
            if on_event:
                on_event(events)
            if events[-1] == "[DONE]":
                break
    conn.close()
    return events


def token_ids(events):
    return [t for e in events if e != "[DONE]" and "choices" in json.loads(e)
            for ch in json.loads(e)["choices"] for t in ch["token_ids"]]


def main():
    tessera, decoders = sys.argv[1], sys.argv[2]
    repo = make_repo(decoders)
    prompt, want = greedy_case(decoders)
    ports = [h.free_port(), h.free_port()]
    worker_flags = ["--model-repo", repo, "--threads", "1"]
    workers = [h.Server(tessera, *worker_flags, http_port=p).__enter__() for p in ports]
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    router = h.Server(tessera, "--replicas", ",".join(urls)).__enter__()
    failures = []
    try:
        replicas = lambda: h.request(router.url, "/v2/replicas").json()  # noqa: E731
        assert replicas()["healthy"] == 2, replicas()

        # Relayed answers are the worker's: PyTorch's greedy tokens, whole and streamed.
        body = dict(model=MODEL, prompt=prompt, max_tokens=len(want), temperature=0, ignore_eos=True)
        r = h.request(router.url, "/v1/completions", json.dumps(body))
        if r.status != 200 or r.json()["choices"][0]["token_ids"] != want:
            failures.append(f"relayed completion: {r.status} {r.body[:300]}")
        events = stream_events(router.port, body)
        if events[-1] != "[DONE]" or token_ids(events) != want:
            failures.append(f"relayed stream: {token_ids(events)} != {want}")
        if h.request(router.url, "/v1/models").json()["data"][0]["id"] != MODEL:
            failures.append("relayed /v1/models lacks the model")

        long_body = dict(model=MODEL, prompt=prompt, max_tokens=CONTEXT - len(prompt), temperature=0,
                         ignore_eos=True)

        # A client that goes away mid-stream ends the worker's request too.
        conn = http.client.HTTPConnection("127.0.0.1", router.port, timeout=120)
        conn.request("POST", "/v1/completions", json.dumps({**long_body, "stream": True}),
                     {"Content-Type": "application/json"})
        resp = conn.getresponse()
        for _ in range(3):
            resp.readline()
        conn.close()
        h.wait_until(lambda: all(s["outstanding"] == 0 for s in replicas()["replicas"]), timeout=30,
                     what="the abandoned stream's worker request to end")

        # A worker killed mid-stream: the tokens sent, then an error event, then [DONE].
        killed = []

        def kill_serving_worker(events):
            if killed or len(events) < 3:
                return
            serving = [i for i, s in enumerate(replicas()["replicas"]) if s["outstanding"] > 0]
            if serving:
                workers[serving[0]].proc.send_signal(signal.SIGKILL)
                killed.append(serving[0])

        events = stream_events(router.port, long_body, kill_serving_worker)
        assert killed, "no worker was serving the stream"
        victim = killed[0]
        workers[victim].proc.wait(timeout=30)
        sent = token_ids(events)
        last = json.loads(events[-2]) if len(events) >= 2 else {}
        if events[-1] != "[DONE]" or "error" not in last or last["error"].get("code") != "replica_lost":
            failures.append(f"the cut stream did not end with an error event and [DONE]: {events[-3:]}")
        if not sent or sent != want[:len(sent)] or len(sent) >= CONTEXT - len(prompt):
            failures.append(f"the cut stream's {len(sent)} tokens are not the start of the greedy ones")
        print(f"stream cut after {len(sent)} tokens: {events[-2]}")

        # Right after a kill, before the probes notice: every request still succeeds (lost ones go again).
        other = 1 - victim
        workers[victim].__exit__(None, None, None)
        workers[victim] = h.Server(tessera, *worker_flags, http_port=ports[victim]).__enter__()
        h.wait_until(lambda: replicas()["healthy"] == 2, timeout=30, what="the restarted worker to rejoin")
        workers[other].proc.send_signal(signal.SIGKILL)
        results = []

        def one_stream():
            e = stream_events(router.port, body)
            results.append(e[-1] == "[DONE]" and token_ids(e) == want)

        def one_completion():
            r = h.request(router.url, "/v1/completions", json.dumps(body))
            results.append(r.status == 200 and r.json()["choices"][0]["token_ids"] == want)

        threads = [threading.Thread(target=f) for f in (one_stream, one_completion) * 4]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        if results != [True] * len(threads):
            failures.append(f"requests right after a kill: {results.count(True)} of {len(threads)} succeeded")
        state = replicas()
        metrics = h.request(router.url, "/metrics").body.decode()
        retries = re.search(r"^tessera_replica_retries_total (\S+)$", metrics, re.M).group(1)
        print(f"retries {retries}; replicas {[(s['url'], s['state'], s['failures']) for s in state['replicas']]}")
        if state["healthy"] != 1 or state["replicas"][other]["state"] != "DOWN":
            failures.append(f"after the second kill: {state}")
    finally:
        router.__exit__(None, None, None)
        for w in workers:
            w.__exit__(None, None, None)
        shutil.rmtree(repo, ignore_errors=True)

    if failures:
        print("FAIL:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print("serve_failover_stream: OK")


if __name__ == "__main__":
    main()
