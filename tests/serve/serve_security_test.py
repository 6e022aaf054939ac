#!/usr/bin/python3
"""`tessera serve` over TLS (a self-signed certificate made with the openssl command) and with bearer-token
auth: inference over HTTPS, plain HTTP refused by a TLS server, missing/wrong/right tokens, health probes
open without a token, and bad TLS or token files refused at start with a message.

usage: serve_security_test.py PATH/TO/tessera PATH/TO/examples/tiny_cnn
"""
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import unittest
import urllib.error
import urllib.request

import serve_harness as h

TESSERA = EXAMPLE = None


class SecurityTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="tessera_tls_")
        cls.cert, cls.key = h.self_signed_certificate(cls.dir)
        cls.token_file = os.path.join(cls.dir, "token")
        with open(cls.token_file, "w") as f:
            f.write("correct-horse-battery-staple\n")  # the trailing newline is not part of the token
        cls.inputs, cls.expected = h.load_model_folder(EXAMPLE)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_inference_over_tls_with_token(self):
        context = h.tls_context(self.cert)
        with h.Server(TESSERA, "--threads", "1", "--tls-cert", self.cert, "--tls-key", self.key,
                      "--auth-token-file", self.token_file, tls=True) as server:
            auth = {"Authorization": "Bearer correct-horse-battery-staple"}
            body = h.json_infer_body(self.inputs)
            r = h.request(server.url, "/v2/models/tiny_cnn/infer", body, auth, context=context)
            self.assertEqual(r.status, 200, r.body[:300])
            self.assertIsNone(h.mismatches(h.decode_outputs(r)["output"], self.expected["output"]))
            binary, headers = h.binary_infer_body(self.inputs)
            r = h.request(server.url, "/v2/models/tiny_cnn/infer", binary, {**headers, **auth}, context=context)
            self.assertIsNone(h.mismatches(h.decode_outputs(r)["output"], self.expected["output"]))

            missing = h.request(server.url, "/v2/models/tiny_cnn/infer", body, context=context)
            self.assertEqual(missing.status, 401)
            self.assertEqual(missing.headers.get("WWW-Authenticate"), "Bearer")
            self.assertIn("error", missing.json())
            for wrong in ("Bearer correct-horse-battery-stapl", "Bearer correct-horse-battery-staple2",
                          "Basic correct-horse-battery-staple", "Bearer "):
                r = h.request(server.url, "/v2/models/tiny_cnn/infer", body, {"Authorization": wrong}, context=context)
                self.assertEqual(r.status, 401, wrong)
            self.assertEqual(h.request(server.url, "/v2", context=context).status, 401)
            self.assertEqual(h.request(server.url, "/metrics", context=context).status, 401)
            self.assertEqual(h.request(server.url, "/metrics", headers=auth, context=context).status, 200)
            # Health probes need no token.
            self.assertEqual(h.request(server.url, "/v2/health/ready", context=context).status, 200)

            # The certificate is checked: a client that does not trust it is refused by its own TLS layer.
            with self.assertRaises(urllib.error.URLError):
                urllib.request.urlopen(server.url + "/v2/health/live", timeout=30,
                                       context=ssl.create_default_context())
            # Plain HTTP to the TLS port gets no HTTP answer.
            with self.assertRaises(Exception):
                urllib.request.urlopen(server.url.replace("https", "http") + "/v2/health/live", timeout=30)
            self.assertEqual(server.stop(), 0)

    def test_mutual_tls_needs_a_client_certificate_from_the_ca(self):
        ca, client_cert, client_key = h.client_ca_and_certificate(self.dir)
        with h.Server(TESSERA, "--threads", "1", "--tls-cert", self.cert, "--tls-key", self.key,
                      "--tls-client-ca", ca, tls=True) as server:
            ok = h.request(server.url, "/v2/health/ready", context=h.tls_context(self.cert, client_cert, client_key))
            self.assertEqual(ok.status, 200)
            with self.assertRaises((urllib.error.URLError, ssl.SSLError, ConnectionError)):
                h.request(server.url, "/v2/health/ready", context=h.tls_context(self.cert))
            # A certificate the CA did not sign (the server's own, self-signed) is refused too.
            with self.assertRaises((urllib.error.URLError, ssl.SSLError, ConnectionError)):
                h.request(server.url, "/v2/health/ready", context=h.tls_context(self.cert, self.cert, self.key))
            self.assertEqual(server.stop(), 0)

    def test_port_in_use_is_refused_at_start(self):
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen(1)
            port = taken.getsockname()[1]
            r = subprocess.run([TESSERA, "serve", "--host", "127.0.0.1", "--http-port", str(port), "--grpc-port", "-1"],
                               capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(str(port), r.stderr)

    def test_bad_tls_and_token_files_are_refused_at_start(self):
        empty = os.path.join(self.dir, "empty")
        open(empty, "w").close()
        cases = [
            (["--tls-cert", self.cert], 2, "--tls-key"),
            (["--tls-cert", self.key, "--tls-key", self.key], 1, "TLS"),
            (["--tls-cert", os.path.join(self.dir, "nope.pem"), "--tls-key", self.key], 1, "nope.pem"),
            (["--auth-token-file", empty], 2, "empty"),
            (["--auth-token-file", os.path.join(self.dir, "missing")], 2, "missing"),
            (["--http-port", "70000"], 2, "--http-port"),
            (["--bogus"], 2, "--bogus"),
        ]
        for flags, status, words in cases:
            r = subprocess.run([TESSERA, "serve", "--http-port", "0", "--grpc-port", "-1", *flags],
                               capture_output=True, text=True, timeout=120)
            self.assertEqual(r.returncode, status, f"{flags}: {r.stderr}")
            self.assertTrue(r.stderr.startswith("tessera: ") and words in r.stderr, f"{flags}: {r.stderr}")


if __name__ == "__main__":
    TESSERA, EXAMPLE = sys.argv[1], sys.argv[2]
    unittest.main(argv=sys.argv[:1], verbosity=2)
