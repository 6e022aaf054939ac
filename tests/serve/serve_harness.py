"""Shared pieces of the `tessera serve` tests: start a server on free ports, talk KServe v2 over HTTP(S)
with urllib, build a model repository, compare outputs with the PyTorch references.

A server is a context manager: it is killed on exit whatever happened, so a failing test never leaves
one behind. Port 0 is always used; the bound port is read from the line the command prints at start.
"""
import json
import os
import re
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

import numpy as np

NUMPY_TO_KSERVE = {"float32": "FP32", "float16": "FP16", "float64": "FP64", "int64": "INT64", "int32": "INT32",
                   "int16": "INT16", "int8": "INT8", "uint8": "UINT8", "uint16": "UINT16", "uint32": "UINT32",
                   "uint64": "UINT64", "bool": "BOOL"}
KSERVE_TO_NUMPY = {v: k for k, v in NUMPY_TO_KSERVE.items()}
LISTENING = re.compile(r"listening http_port=(\d+)(?: grpc_port=(\d+))?")


class Server:
    """`tessera serve` in a child process; `url` is its HTTP(S) base URL once started. With `grpc`, the gRPC
    front end listens too (`grpc_port`, `address`). `http_port` fixes the port (a worker restarted where it
    was); 0 takes any free one."""

    def __init__(self, tessera, *flags, tls=False, grpc=False, start_timeout=300, http_port=0):
        self.args = [tessera, "serve", "--host", "127.0.0.1", "--http-port", str(http_port),
                     "--grpc-port", "0" if grpc else "-1", *flags]
        self.tls = tls
        self.grpc = grpc
        self.start_timeout = start_timeout
        self.proc = None
        self.stderr_lines = []

    def __enter__(self):
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.stderr_reader = threading.Thread(target=self._drain_stderr, daemon=True)
        self.stderr_reader.start()
        try:
            self.port, grpc_port = self._read_ports()
        except Exception:
            self.__exit__(None, None, None)
            raise
        self.http_port = self.port
        self.url = f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"
        if self.grpc:
            self.grpc_port = grpc_port
            self.address = f"127.0.0.1:{grpc_port}"
        return self

    def _drain_stderr(self):
        for line in self.proc.stderr:
            self.stderr_lines.append(line.rstrip("\n"))

    def _read_ports(self):
        # readline blocks; a watchdog kills a server that never prints its ports.
        timer = threading.Timer(self.start_timeout, self.proc.kill)
        timer.start()
        try:
            for line in self.proc.stdout:
                m = LISTENING.search(line)
                if m and (m.group(2) or not self.grpc):
                    return int(m.group(1)), int(m.group(2)) if m.group(2) else None
        finally:
            timer.cancel()
        self.proc.wait(timeout=30)
        raise RuntimeError(f"tessera serve exited {self.proc.returncode} before listening"
                           f"{' on a gRPC port' if self.grpc else ''}: " + " | ".join(self.stderr_lines[-5:]))

    def alive(self):
        return self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=120):
        """Sends `sig` and returns the exit status."""
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=timeout)

    def __exit__(self, *exc):
        if self.proc:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(timeout=30)
            self.proc.stdout.close()
            self.stderr_reader.join(timeout=30)
            self.proc.stderr.close()
        return False


class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)


def request(url, path, body=None, headers=None, method=None, context=None, timeout=300):
    """One HTTP request; returns a Response for any status (errors included)."""
    data = body.encode() if isinstance(body, str) else body
    req = urllib.request.Request(url + path, data=data, headers=headers or {},
                                 method=method or ("POST" if data is not None else "GET"))
    if data is not None and "Content-Type" not in (headers or {}):
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=context) as r:
            return Response(r.status, dict(r.headers), r.read())
    except urllib.error.HTTPError as e:
        return Response(e.code, dict(e.headers), e.read())


def json_infer_body(inputs, request_id=None, binary_outputs=False):
    body = {"inputs": [{"name": n, "shape": list(a.shape), "datatype": NUMPY_TO_KSERVE[str(a.dtype)],
                        "data": a.tolist()} for n, a in inputs.items()]}
    if request_id is not None:
        body["id"] = request_id
    if binary_outputs:
        body["parameters"] = {"binary_data_output": True}
    return json.dumps(body)


def binary_infer_body(inputs, binary_outputs=True):
    """Triton's binary tensor extension: (body, headers)."""
    head = {"inputs": [{"name": n, "shape": list(a.shape), "datatype": NUMPY_TO_KSERVE[str(a.dtype)],
                        "parameters": {"binary_data_size": a.nbytes}} for n, a in inputs.items()],
            "parameters": {"binary_data_output": binary_outputs}}
    text = json.dumps(head).encode()
    blob = b"".join(np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<")).tobytes() for a in inputs.values())
    return text + blob, {"Inference-Header-Content-Length": str(len(text)),
                         "Content-Type": "application/octet-stream"}


def decode_outputs(response):
    """{name: ndarray} from a JSON or binary inference response."""
    length = response.headers.get("Inference-Header-Content-Length")
    head = json.loads(response.body[:int(length)] if length else response.body)
    offset = int(length) if length else 0
    out = {}
    for o in head["outputs"]:
        dtype = np.dtype(KSERVE_TO_NUMPY[o["datatype"]])
        size = o.get("parameters", {}).get("binary_data_size")
        if size is not None:
            out[o["name"]] = np.frombuffer(response.body[offset:offset + size], dtype=dtype.newbyteorder("<")).reshape(o["shape"])
            offset += size
        else:
            out[o["name"]] = np.array(o["data"], dtype=dtype).reshape(o["shape"])
    return out


def mismatches(actual, expected, rtol=1e-3, atol=1e-4):
    """The rule of tests/models/compare_model.py; returns a description of the mismatch, or None."""
    if actual.shape != expected.shape or actual.dtype != expected.dtype:
        return f"got {actual.dtype}{actual.shape}, expected {expected.dtype}{expected.shape}"
    if expected.dtype.kind not in "fc":
        return None if np.array_equal(actual, expected) else "integer outputs differ"
    scale = max(1.0, float(np.max(np.abs(expected))) if expected.size else 1.0)
    diff = np.abs(actual.astype(np.float64) - expected.astype(np.float64))
    bad = int(np.count_nonzero(~(diff <= atol * scale + rtol * np.abs(expected.astype(np.float64)))))
    return None if bad == 0 else f"{bad} elements out of tolerance (max |diff| {float(diff.max()):.3g})"


def load_model_folder(model_dir):
    """({input: ndarray}, {output: ndarray}) of an exported model folder."""
    def load(sub):
        d = os.path.join(model_dir, sub)
        return {f[:-4]: np.load(os.path.join(d, f)) for f in sorted(os.listdir(d)) if f.endswith(".npy")}
    return load("inputs"), load("expected")


def make_repository(models, parent=None, configs=None):
    """A Triton-layout repository {name: model folder} -> REPO/<name>/1/model.onnx, in a new temp folder.

    The server refuses files that resolve outside the repository, so the model is hard-linked (same file
    system, no copy) or, failing that, copied.
    """
    repo = tempfile.mkdtemp(prefix="tessera_repo_", dir=parent)
    for name, model_dir in models.items():
        version = os.path.join(repo, name, "1")
        os.makedirs(version)
        src, dst = os.path.join(model_dir, "model.onnx"), os.path.join(version, "model.onnx")
        try:
            os.link(src, dst)
        except OSError:
            shutil.copyfile(src, dst)
        if configs and name in configs:
            with open(os.path.join(repo, name, "config.json"), "w") as f:
                json.dump(configs[name], f)
    return repo


def self_signed_certificate(folder):
    """(cert.pem, key.pem) for 127.0.0.1, made with the openssl command."""
    cert, key = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


def client_ca_and_certificate(folder):
    """(ca.pem, client.pem, client.key): a CA and a client certificate it signed, for mutual TLS."""
    ca, ca_key = os.path.join(folder, "ca.pem"), os.path.join(folder, "ca.key")
    csr, cert, key = (os.path.join(folder, f) for f in ("client.csr", "client.pem", "client.key"))
    run = lambda *args: subprocess.run(["openssl", *args], check=True, capture_output=True)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca, "-days", "1",
        "-subj", "/CN=tessera test CA")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=tessera test client")
    run("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", cert, "-days", "1")
    return ca, cert, key


def tls_context(cert, client_cert=None, client_key=None):
    """A client context trusting `cert`, presenting `client_cert` when given."""
    context = ssl.create_default_context(cafile=cert)
    if client_cert:
        context.load_cert_chain(client_cert, client_key)
    return context


def free_port():
    """A loopback port free now (for a server that must come back on the same port)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout=120, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
