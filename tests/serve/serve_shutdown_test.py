#!/usr/bin/python3
"""SIGTERM and SIGINT while a request is in flight: the request is answered in full, the server stops
accepting, and `tessera serve` exits 0.

"In flight" is made certain without timing: the client sends its headers with "Expect: 100-continue" and
waits for "100 Continue", which the server sends only once a worker has taken the request. The signal
goes then, and the body only after it.

usage: serve_shutdown_test.py PATH/TO/tessera PATH/TO/examples/tiny_cnn
"""
import json
import signal
import socket
import sys
import unittest

import serve_harness as h

TESSERA = EXAMPLE = None


def read_response(sock):
    """(status, body) of one HTTP/1.1 response with a Content-Length."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"connection closed mid-headers: {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:])}
    length = int(headers.get("content-length", 0))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError("connection closed mid-body")
        body += chunk
    return status, body


class ShutdownTest(unittest.TestCase):
    def run_with_signal(self, sig):
        inputs, expected = h.load_model_folder(EXAMPLE)
        body = h.json_infer_body(inputs, request_id="in-flight").encode()
        with h.Server(TESSERA, "--threads", "1") as server:
            with socket.create_connection(("127.0.0.1", server.port), timeout=120) as sock:
                sock.sendall((f"POST /v2/models/tiny_cnn/infer HTTP/1.1\r\nHost: x\r\n"
                              f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                              f"Expect: 100-continue\r\n\r\n").encode())
                continued = sock.recv(1024)
                self.assertTrue(continued.startswith(b"HTTP/1.1 100"), continued)
                server.proc.send_signal(sig)
                sock.sendall(body)
                status, payload = read_response(sock)
            self.assertEqual(status, 200, payload[:300])
            self.assertEqual(json.loads(payload)["id"], "in-flight")
            self.assertIsNone(h.mismatches(h.decode_outputs(h.Response(200, {}, payload))["output"],
                                           expected["output"]))
            self.assertEqual(server.proc.wait(timeout=120), 0, server.stderr_lines)
            with self.assertRaises(OSError):
                socket.create_connection(("127.0.0.1", server.port), timeout=10).close()

    def test_sigterm_finishes_the_request_in_flight(self):
        self.run_with_signal(signal.SIGTERM)

    def test_sigint_finishes_the_request_in_flight(self):
        self.run_with_signal(signal.SIGINT)

    def test_sigterm_when_idle_exits_zero(self):
        with h.Server(TESSERA, "--threads", "1") as server:
            self.assertEqual(h.request(server.url, "/v2/health/ready").status, 200)
            self.assertEqual(server.stop(signal.SIGTERM), 0)


if __name__ == "__main__":
    TESSERA, EXAMPLE = sys.argv[1], sys.argv[2]
    unittest.main(argv=sys.argv[:1], verbosity=2)
