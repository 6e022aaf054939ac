#!/usr/bin/python3
"""Replica failover under load: `tessera serve --replicas` in front of 3 worker `tessera serve` processes.

usage: serve_failover_test.py TESSERA EXAMPLE_DIR RESULT_JSON [--seconds 60]

64 client threads send inference requests (the bundled example CNN, each answer checked against its
PyTorch reference and its request id) to the routing server for the whole run. At 1/3 of it one worker
is killed with SIGKILL; at 2/3 it is started again on the same port. Passes when no request failed,
every answer was correct, the router showed 2 of 3 replicas healthy (and stayed ready) during the outage
and 3 of 3 once the worker rejoined, and the restarted worker took requests again. Latency p50/p99
before, during and after the outage, request counts and the router's retry and failure counters are
printed and written to RESULT_JSON (the machine may be shared: figures are reported, not judged).
"""
import argparse
import http.client
import json
import os
import re
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import serve_harness as h  # noqa: E402

CLIENTS = 64
WORKERS = 3


def metric(text, name, labels=""):
    m = re.search("^" + re.escape(name + ("{" + labels + "}" if labels else "")) + r" (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


class Client(threading.Thread):
    """Sends requests over one kept-alive connection until told to stop; records (start, seconds, error)."""

    def __init__(self, index, port, body_template, expected, stop):
        super().__init__(daemon=True)
        self.index, self.port, self.template, self.expected, self.stop = index, port, body_template, expected, stop
        self.records = []

    def run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        n = 0
        while not self.stop.is_set():
            request_id = f"c{self.index}-{n}"
            n += 1
            start = time.monotonic()
            error = None
            try:
                conn.request("POST", "/v2/models/tiny_cnn/infer", self.template.replace("__ID__", request_id),
                             {"Content-Type": "application/json"})
                r = conn.getresponse()
                body = r.read()
                error = self.check(r.status, dict(r.getheaders()), body, request_id)
            except (OSError, http.client.HTTPException) as e:
                error = f"client error: {e!r}"
                conn.close()
            self.records.append((start, time.monotonic() - start, error))

    def check(self, status, headers, body, request_id):
        if status != 200:
            return f"HTTP {status}: {body[:200]!r}"
        answer = h.Response(status, headers, body)
        if answer.json().get("id") != request_id:
            return f"id {answer.json().get('id')!r} for request {request_id}"
        bad = h.mismatches(h.decode_outputs(answer)["output"], self.expected)
        return f"wrong output: {bad}" if bad else None


def percentile(values, q):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def phase_stats(records, begin, end):
    lat = [s for (t, s, e) in records if begin <= t < end and e is None]
    return {"requests": sum(1 for (t, _, _) in records if begin <= t < end),
            "p50_ms": round(percentile(lat, 50) * 1e3, 2), "p99_ms": round(percentile(lat, 99) * 1e3, 2),
            "requests_per_s": round(len(lat) / (end - begin), 1)}


def start_worker(tessera, port):
    return h.Server(tessera, "--threads", "1", http_port=port).__enter__()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("tessera")
    parser.add_argument("example")
    parser.add_argument("result_json")
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    inputs, expected = h.load_model_folder(args.example)
    template = json.dumps({"id": "__ID__", "inputs": json.loads(h.json_infer_body(inputs))["inputs"]})

    ports = [h.free_port() for _ in range(WORKERS)]
    workers = [start_worker(args.tessera, p) for p in ports]
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    router = h.Server(args.tessera, "--replicas", ",".join(urls), "--health-interval-ms", "200").__enter__()
    victim = 1
    try:
        def replicas():
            return h.request(router.url, "/v2/replicas").json()

        assert replicas()["healthy"] == WORKERS, replicas()
        stop = threading.Event()
        clients = [Client(i, router.port, template, expected["output"], stop) for i in range(CLIENTS)]
        t0 = time.monotonic()
        for c in clients:
            c.start()

        time.sleep(args.seconds / 3)
        t_kill = time.monotonic()
        workers[victim].proc.send_signal(signal.SIGKILL)
        workers[victim].proc.wait(timeout=30)
        h.wait_until(lambda: replicas()["healthy"] == WORKERS - 1, timeout=5, what="the killed worker marked down")
        t_down = time.monotonic()
        outage_samples = []
        while time.monotonic() < t0 + 2 * args.seconds / 3:
            text = h.request(router.url, "/metrics").body.decode()
            ready = h.request(router.url, "/v2/health/ready").status
            outage_samples.append((metric(text, "tessera_replicas_healthy"), ready))
            time.sleep(0.5)
        assert all(s == (WORKERS - 1, 200) for s in outage_samples), outage_samples
        state = replicas()
        assert state["replicas"][victim]["state"] == "DOWN", state

        t_restart = time.monotonic()
        workers[victim].__exit__(None, None, None)
        workers[victim] = start_worker(args.tessera, ports[victim])
        h.wait_until(lambda: replicas()["healthy"] == WORKERS, timeout=30, what="the restarted worker to rejoin")
        t_rejoin = time.monotonic()
        requests_at_rejoin = replicas()["replicas"][victim]["requests"]

        time.sleep(max(0.0, t0 + args.seconds - time.monotonic()))
        stop.set()
        for c in clients:
            c.join(timeout=150)
        t_end = time.monotonic()
        text = h.request(router.url, "/metrics").body.decode()
        state = replicas()
    finally:
        router.__exit__(None, None, None)
        for w in workers:
            w.__exit__(None, None, None)

    records = [r for c in clients for r in c.records]
    failed = [(t - t0, e) for (t, _, e) in records if e is not None]
    victim_label = f'replica="{urls[victim]}"'
    result = {
        "workers": WORKERS, "clients": CLIENTS, "seconds": round(t_end - t0, 1), "model": "tiny_cnn",
        "kill_at_s": round(t_kill - t0, 1), "marked_down_after_ms": round((t_down - t_kill) * 1e3),
        "restart_at_s": round(t_restart - t0, 1), "rejoined_after_restart_ms": round((t_rejoin - t_restart) * 1e3),
        "requests": len(records), "failed": len(failed),
        "before": phase_stats(records, t0, t_kill), "during": phase_stats(records, t_kill, t_rejoin),
        "after": phase_stats(records, t_rejoin, t_end),
        "retries": metric(text, "tessera_replica_retries_total"),
        "replica_failures": metric(text, "tessera_replica_failures_total", victim_label),
        "victim_requests_after_rejoin": state["replicas"][victim]["requests"] - requests_at_rejoin,
    }
    print(json.dumps(result, indent=1))
    with open(args.result_json, "w") as f:
        json.dump(result, f, indent=1)
    assert not failed, f"{len(failed)} failed requests, first: {failed[:5]}"
    assert state["healthy"] == WORKERS, state
    assert result["victim_requests_after_rejoin"] > 0, "the restarted worker took no requests"
    print("serve_failover: OK")


if __name__ == "__main__":
    main()
