#!/usr/bin/python3
"""The OpenAI-compatible endpoints of `tessera serve` with real HTTP clients (streams read as they arrive).

usage: openai_test.py TESSERA EXAMPLE_DIR DECODERS_DIR [NODE]

The repository holds the exported llama_tiny and gpt2_tiny decoders (tools/export_decoders.py; model.onnx
with its config files beside it; only gpt2_tiny gets its tokenizer.json) and the bundled example CNN.
Checks: greedy completions equal PyTorch's tokens in expected/greedy.json; a text prompt to gpt2_tiny is
encoded as tokenizers.js encodes it and the completion's text (whole and streamed) is tokenizers.js's
decoding of its tokens; stream chunks concatenate to the non-streaming result; seeds repeat;
stop token ids; every bad request gets its 4xx in OpenAI's error shape while a good stream goes on;
16 concurrent streams stay correct; a client that disconnects mid-stream frees its sequence; the queue
limit answers 503; the generation metrics are exposed.
"""
import http.client
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "generate"))
import tokenizers_js  # noqa: E402
from serve_harness import Server, request  # noqa: E402

MODELS = ["llama_tiny", "gpt2_tiny"]
WITH_TOKENIZER = ["gpt2_tiny"]  # llama_tiny stays without one: the no-tokenizer errors are checked on it


def make_repo(example_dir, decoders):
    repo = tempfile.mkdtemp(prefix="tessera_openai_")
    for name in MODELS:
        version = os.path.join(repo, name, "1")
        os.makedirs(version)
        files = ["model.onnx", "config.json", "generation_config.json"]
        if name in WITH_TOKENIZER:
            files += ["tokenizer.json", "tokenizer_config.json"]
        for f in files:
            shutil.copyfile(os.path.join(decoders, name, f), os.path.join(version, f))
    os.makedirs(os.path.join(repo, "tiny_cnn", "1"))
    shutil.copyfile(os.path.join(example_dir, "model.onnx"), os.path.join(repo, "tiny_cnn", "1", "model.onnx"))
    return repo


def complete(url, **body):
    r = request(url, "/v1/completions", json.dumps(body))
    return r.status, r.json()


def stream(port, body, on_chunk=None):
    """(chunks, saw_done) of a streaming completion, each chunk parsed as it arrives."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request("POST", "/v1/completions", json.dumps({**body, "stream": True}), {"Content-Type": "application/json"})
    resp = conn.getresponse()
    assert resp.status == 200, (resp.status, resp.read())
    assert resp.getheader("Content-Type").startswith("text/event-stream")
    chunks, done = [], False
    for line in resp:
        line = line.decode().rstrip("\n")
        if not line.startswith("data: "):
            continue
        if line == "data: [DONE]":
            done = True
            break
        chunks.append(json.loads(line[6:]))
        if on_chunk and on_chunk(chunks, conn) is False:
            return chunks, False
    conn.close()
    return chunks, done


def streamed_ids(chunks):
    return [t for c in chunks for ch in c["choices"] for t in ch["token_ids"]]


def metric(url, name, model="llama_tiny", extra=""):
    text = request(url, "/metrics").body.decode()
    m = re.search(r"^" + name + r"\{model=\"" + model + r"\",version=\"1\"" + extra + r"\} (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


def greedy_cases(decoders, name):
    expected = json.load(open(os.path.join(decoders, name, "expected", "greedy.json")))
    for case in expected["cases"]:
        for ids, mask, want in zip(case["input_ids"], case["attention_mask"], case["new_tokens"]):
            yield case["name"], [t for t, m in zip(ids, mask) if m == 1], want


def check_greedy_and_streaming(url, port, decoders, failures):
    for name in MODELS:
        for case, prompt, want in greedy_cases(decoders, name):
            body = dict(model=name, prompt=prompt, max_tokens=len(want), temperature=0, ignore_eos=True)
            status, got = complete(url, **body)
            if status != 200 or got["choices"][0]["token_ids"] != want:
                failures.append(f"{name} {case}: greedy tokens differ from PyTorch's: {status} {got}")
                continue
            choice = got["choices"][0]
            usage = got["usage"]
            if choice["finish_reason"] != "length" or usage != {"prompt_tokens": len(prompt),
                                                                "completion_tokens": len(want),
                                                                "total_tokens": len(prompt) + len(want)}:
                failures.append(f"{name} {case}: finish_reason/usage wrong: {got}")
            chunks, done = stream(port, {**body, "stream_options": {"include_usage": True}})
            if not done or streamed_ids(chunks) != want or chunks[-2]["choices"][0]["finish_reason"] != "length" \
                    or chunks[-1]["usage"] != usage:
                failures.append(f"{name} {case}: the stream does not add up to the completion ({len(chunks)} chunks)")


def check_text_prompt(url, port, decoders, node, failures):
    text = "Once upon a time, Größe 東京 🚀"
    folder = os.path.join(decoders, "gpt2_tiny")
    reference = tokenizers_js.reference(node, folder, [text])[0]
    body = dict(model="gpt2_tiny", max_tokens=12, temperature=0, ignore_eos=True)
    status, got = complete(url, **body, prompt=text)
    status_ids, from_ids = complete(url, **body, prompt=reference["ids"])
    if status != 200 or status_ids != 200 or got["usage"]["prompt_tokens"] != len(reference["ids"]) or \
            got["choices"][0]["token_ids"] != from_ids["choices"][0]["token_ids"]:
        failures.append(f"text prompt {text!r}: {status} {got}; tokenizers.js ids {reference['ids']} give "
                        f"{status_ids} {from_ids}")
        return
    tokens = got["choices"][0]["token_ids"]
    decoded = tokenizers_js.reference(node, folder, [{"ids": tokens}])[0]["decoded"]
    if got["choices"][0]["text"] != decoded:
        failures.append(f"text prompt: completion text {got['choices'][0]['text']!r}, tokenizers.js decodes "
                        f"{tokens} as {decoded!r}")
    chunks, done = stream(port, {**body, "prompt": text})
    streamed = "".join(ch["text"] for c in chunks for ch in c["choices"])
    if not done or streamed_ids(chunks) != tokens or streamed != decoded:
        failures.append(f"text prompt stream: text {streamed!r}, ids {streamed_ids(chunks)}; want {decoded!r}, "
                        f"{tokens}")


def check_seed_and_stop(url, decoders, failures):
    _, prompt, want = list(greedy_cases(decoders, "llama_tiny"))[1]
    sampled = dict(model="llama_tiny", prompt=prompt, max_tokens=24, temperature=0.9, top_k=50, top_p=0.95,
                   ignore_eos=True)
    a = complete(url, **sampled, seed=5)[1]["choices"][0]["token_ids"]
    b = complete(url, **sampled, seed=5)[1]["choices"][0]["token_ids"]
    c = complete(url, **sampled, seed=6)[1]["choices"][0]["token_ids"]
    if a != b or a == c:
        failures.append(f"seeds: 5 gave {a} then {b}; 6 gave {c}")
    cut = next(i for i in range(3, len(want)) if want[i] not in want[:i])
    status, got = complete(url, model="llama_tiny", prompt=prompt, max_tokens=40, temperature=0, ignore_eos=True,
                           stop_token_ids=[want[cut]])
    if status != 200 or got["choices"][0]["token_ids"] != want[:cut] or got["choices"][0]["finish_reason"] != "stop" \
            or got["usage"]["completion_tokens"] != cut + 1:
        failures.append(f"stop_token_ids [{want[cut]}]: expected {want[:cut]} and 'stop', got {status} {got}")


BAD_REQUESTS = [
    ("not JSON", "{\"model\": ", 400, None),
    ("not an object", "[1, 2]", 400, None),
    ("no model", {"prompt": [1]}, 400, "model"),
    ("unknown field", {"model": "llama_tiny", "prompt": [1], "tempurature": 0}, 400, "tempurature"),
    ("max_tokens type", {"model": "llama_tiny", "prompt": [1], "max_tokens": "8"}, 400, "max_tokens"),
    ("negative temperature", {"model": "llama_tiny", "prompt": [1], "temperature": -1}, 400, "temperature"),
    ("top_p 0", {"model": "llama_tiny", "prompt": [1], "top_p": 0}, 400, "top_p"),
    ("min_p 1", {"model": "llama_tiny", "prompt": [1], "min_p": 1}, 400, "min_p"),
    ("n 2", {"model": "llama_tiny", "prompt": [1], "n": 2}, 400, "n"),
    ("echo", {"model": "llama_tiny", "prompt": [1], "echo": True}, 400, "echo"),
    ("frequency_penalty", {"model": "llama_tiny", "prompt": [1], "frequency_penalty": 0.5}, 400, "frequency_penalty"),
    ("token outside the vocabulary", {"model": "llama_tiny", "prompt": [1, 5000]}, 400, None),
    ("negative token", {"model": "llama_tiny", "prompt": [1, -3]}, 400, "prompt"),
    ("beyond the context", {"model": "llama_tiny", "prompt": [5] * 200, "max_tokens": 100}, 400, None),
    ("text prompt without tokenizer", {"model": "llama_tiny", "prompt": "Hello"}, 400, "prompt"),
    ("stop string without tokenizer", {"model": "llama_tiny", "prompt": [1], "stop": "\n"}, 400, None),
    ("unknown model", {"model": "no_such_model", "prompt": [1]}, 404, "model"),
    ("not a decoder", {"model": "tiny_cnn", "prompt": [1]}, 404, "model"),
]


def check_bad_requests_beside_a_stream(url, port, failures):
    """Every bad request gets its status while a long good stream keeps going and ends correctly."""
    body = dict(model="llama_tiny", prompt=[1, 7, 9], max_tokens=200, temperature=0, ignore_eos=True)
    reference = complete(url, **body)[1]["choices"][0]["token_ids"]
    result = {}
    started = threading.Event()

    def good():
        result["chunks"], result["done"] = stream(port, body, lambda chunks, _: started.set())
    t = threading.Thread(target=good)
    t.start()
    started.wait(60)
    for what, payload, status, param in BAD_REQUESTS:
        r = request(url, "/v1/completions", payload if isinstance(payload, str) else json.dumps(payload))
        try:
            err = r.json()["error"]
            shape_ok = set(err) == {"message", "type", "param", "code"} and err["message"]
        except (ValueError, KeyError, TypeError):
            shape_ok = False
        if r.status != status or not shape_ok or (param and err["param"] != param):
            failures.append(f"{what}: expected {status} (param {param}) in OpenAI's error shape, got {r.status} {r.body[:200]}")
    chat = request(url, "/v1/chat/completions",
                   json.dumps({"model": "llama_tiny", "messages": [{"role": "user", "content": "hi"}]}))
    if chat.status != 400 or "chat template" not in chat.json()["error"]["message"]:
        failures.append(f"chat without a template: expected 400 naming the chat template, got {chat.status} {chat.body}")
    kserve = request(url, "/v2/models/llama_tiny/infer", json.dumps({"inputs": []}))
    if kserve.status != 400 or b"/v1/completions" not in kserve.body:
        failures.append(f"KServe infer on a decoder: expected 400 pointing to /v1/completions, got {kserve.status}")
    t.join(120)
    if not result.get("done") or streamed_ids(result["chunks"]) != reference:
        failures.append("the good stream beside the bad requests did not finish with the greedy tokens")


def check_concurrent_streams(url, port, decoders, failures):
    cases = list(greedy_cases(decoders, "llama_tiny"))
    results = [None] * 16

    def run(i):
        _, prompt, want = cases[i % len(cases)]
        chunks, done = stream(port, dict(model="llama_tiny", prompt=prompt, max_tokens=len(want), temperature=0,
                                         ignore_eos=True))
        results[i] = done and streamed_ids(chunks) == want
    threads = [threading.Thread(target=run, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    if not all(results):
        failures.append(f"16 concurrent streams: wrong or unfinished streams {[i for i, ok in enumerate(results) if not ok]}")


def check_disconnect_frees(url, port, failures):
    before = metric(url, "tessera_generation_sequences_total", extra=',reason="cancelled"') or 0

    def hang_up(chunks, conn):
        if len(chunks) >= 2:
            conn.sock.close()
            return False
    stream(port, dict(model="llama_tiny", prompt=[1], max_tokens=250, temperature=0, ignore_eos=True), hang_up)
    deadline = time.time() + 30
    while time.time() < deadline:
        cancelled = metric(url, "tessera_generation_sequences_total", extra=',reason="cancelled"')
        if cancelled and cancelled > before and metric(url, "tessera_running_sequences") == 0 \
                and metric(url, "tessera_kv_cache_bytes") == 0:
            return
        time.sleep(0.05)
    failures.append("a client that hung up mid-stream was not cancelled (running sequences / cancelled counter)")


def check_metrics(url, failures):
    text = request(url, "/metrics").body.decode()
    for name in ["tessera_time_to_first_token_seconds_bucket", "tessera_inter_token_seconds_bucket",
                 "tessera_generated_tokens_total", "tessera_running_sequences", "tessera_waiting_sequences",
                 "tessera_kv_cache_bytes", "tessera_generation_sequences_total"]:
        if not re.search(r"^" + name + r"\{model=\"llama_tiny\"", text, re.M):
            failures.append(f"metric {name} missing")
    if (metric(url, "tessera_generated_tokens_total") or 0) <= 0:
        failures.append("tessera_generated_tokens_total did not count the tokens generated")


def check_queue_limit(tessera, repo, failures):
    with Server(tessera, "--model-repo", repo, "--max-running-sequences", "1", "--max-waiting-sequences", "1") as s:
        long = dict(model="llama_tiny", prompt=[1], max_tokens=250, temperature=0, ignore_eos=True)
        first = http.client.HTTPConnection("127.0.0.1", s.port, timeout=60)
        first.request("POST", "/v1/completions", json.dumps({**long, "stream": True}), {"Content-Type": "application/json"})
        first_resp = first.getresponse()
        first_resp.readline()  # the first token: it is running
        second = http.client.HTTPConnection("127.0.0.1", s.port, timeout=60)
        second.request("POST", "/v1/completions", json.dumps({**long, "stream": True}), {"Content-Type": "application/json"})
        deadline = time.time() + 10
        while metric(s.url, "tessera_waiting_sequences") != 1 and time.time() < deadline:
            time.sleep(0.005)
        status, body = complete(s.url, **long)
        if status != 503 or body["error"]["code"] != "server_busy":
            failures.append(f"third request beyond --max-waiting-sequences 1: expected 503, got {status} {body}")
        first.close()
        second.close()


def main():
    tessera, example_dir, decoders = sys.argv[1:4]
    node = sys.argv[4] if len(sys.argv) > 4 else "node"
    repo = make_repo(example_dir, decoders)
    failures = []
    try:
        with Server(tessera, "--model-repo", repo, "--threads", "2") as s:
            check_greedy_and_streaming(s.url, s.port, decoders, failures)
            check_text_prompt(s.url, s.port, decoders, node, failures)
            check_seed_and_stop(s.url, decoders, failures)
            check_bad_requests_beside_a_stream(s.url, s.port, failures)
            check_concurrent_streams(s.url, s.port, decoders, failures)
            check_disconnect_frees(s.url, s.port, failures)
            check_metrics(s.url, failures)
            models = request(s.url, "/v1/models").json()
            if sorted(m["id"] for m in models["data"]) != sorted(MODELS):
                failures.append(f"/v1/models lists {models}")
        check_queue_limit(tessera, repo, failures)
    finally:
        shutil.rmtree(repo, ignore_errors=True)
    for f in failures:
        print("FAIL:", f)
    print("openai: " + ("ok" if not failures else f"{len(failures)} failures"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
