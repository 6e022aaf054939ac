#!/usr/bin/python3
"""`tessera serve` over plain HTTP with the bundled example model: every endpoint of the KServe v2 REST
protocol, the binary tensor and repository extensions, metrics, request logs, and every kind of bad
request answered with its 4xx while good requests keep succeeding alongside.

usage: serve_protocol_test.py PATH/TO/tessera PATH/TO/examples/tiny_cnn
"""
import json
import sys
import threading
import unittest

import numpy as np

import serve_harness as h

TESSERA = EXAMPLE = None
MAX_REQUEST_BYTES = 1 << 20


class ProtocolTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.inputs, cls.expected = h.load_model_folder(EXAMPLE)
        cls.server = h.Server(TESSERA, "--threads", "1", "--log-requests",
                              "--max-request-bytes", str(MAX_REQUEST_BYTES)).__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.server.__exit__(None, None, None)

    def get(self, path):
        return h.request(self.server.url, path)

    def post(self, path, body, headers=None):
        return h.request(self.server.url, path, body, headers)

    def check_outputs(self, response):
        self.assertEqual(response.status, 200, response.body[:300])
        outputs = h.decode_outputs(response)
        for name, want in self.expected.items():
            self.assertIsNone(h.mismatches(outputs[name], want), name)

    def test_health_and_metadata(self):
        self.assertEqual(self.get("/v2/health/live").json(), {"live": True})
        self.assertEqual(self.get("/v2/health/ready").status, 200)
        server = self.get("/v2").json()
        self.assertEqual(server["name"], "tessera")
        model = self.get("/v2/models/tiny_cnn").json()
        self.assertEqual(model["name"], "tiny_cnn")
        self.assertEqual(model["inputs"][0]["name"], "input")
        self.assertEqual(model["inputs"][0]["datatype"], "FP32")
        self.assertEqual(self.get("/v2/models/tiny_cnn/versions/1").status, 200)
        self.assertEqual(self.get("/v2/models/tiny_cnn/ready").status, 200)
        self.assertEqual(self.get("/v2/models/tiny_cnn/versions/1/ready").status, 200)

    def test_json_inference_matches_pytorch_and_echoes_id(self):
        r = self.post("/v2/models/tiny_cnn/infer", h.json_infer_body(self.inputs, request_id="req-42"))
        self.check_outputs(r)
        self.assertEqual(r.json()["id"], "req-42")
        self.assertEqual(r.json()["model_name"], "tiny_cnn")
        self.assertEqual(r.headers["Content-Type"], "application/json")

    def test_flat_data_equals_nested_data(self):
        x = self.inputs["input"]
        flat = {"inputs": [{"name": "input", "shape": list(x.shape), "datatype": "FP32", "data": x.ravel().tolist()}]}
        self.check_outputs(self.post("/v2/models/tiny_cnn/versions/1/infer", json.dumps(flat)))

    def test_form_labelled_json_over_8_kib_is_served(self):
        # `curl -d @request.json` labels the body application/x-www-form-urlencoded; the HTTP library caps
        # such bodies at 8 KiB, which once turned this 60 KiB request into a 413.
        body = h.json_infer_body(self.inputs)
        self.assertGreater(len(body), 8192)
        r = self.post("/v2/models/tiny_cnn/infer", body, {"Content-Type": "application/x-www-form-urlencoded"})
        self.check_outputs(r)

    def test_binary_tensors_both_ways(self):
        body, headers = h.binary_infer_body(self.inputs)
        r = self.post("/v2/models/tiny_cnn/infer", body, headers)
        self.assertIn("Inference-Header-Content-Length", r.headers)
        self.check_outputs(r)
        # Binary inputs with JSON outputs.
        body, headers = h.binary_infer_body(self.inputs, binary_outputs=False)
        r = self.post("/v2/models/tiny_cnn/infer", body, headers)
        self.assertNotIn("Inference-Header-Content-Length", r.headers)
        self.check_outputs(r)

    def test_requested_output_as_binary(self):
        body = json.loads(h.json_infer_body(self.inputs))
        body["outputs"] = [{"name": "output", "parameters": {"binary_data": True}}]
        r = self.post("/v2/models/tiny_cnn/infer", json.dumps(body))
        self.assertIn("Inference-Header-Content-Length", r.headers)
        self.check_outputs(r)
        body["outputs"] = [{"name": "no_such_output"}]
        self.assertEqual(self.post("/v2/models/tiny_cnn/infer", json.dumps(body)).status, 404)

    def test_bad_requests_get_their_code_while_good_ones_succeed(self):
        x = self.inputs["input"]
        good = h.json_infer_body(self.inputs)
        shape = list(x.shape)

        def body(**change):
            entry = {"name": "input", "shape": shape, "datatype": "FP32", "data": x.ravel().tolist()}
            entry.update(change)
            return json.dumps({"inputs": [entry]})

        cases = [
            ("malformed JSON", "/v2/models/tiny_cnn/infer", good[:-10], {}, 400),
            ("body not an object", "/v2/models/tiny_cnn/infer", "[1, 2]", {}, 400),
            ("wrong shape", "/v2/models/tiny_cnn/infer", body(shape=[1, 3, 16, 64]), {}, 400),
            ("wrong dtype", "/v2/models/tiny_cnn/infer",
             body(datatype="INT32", data=[1] * x.size), {}, 400),
            ("data length not matching the shape", "/v2/models/tiny_cnn/infer",
             body(data=x.ravel().tolist()[:-1]), {}, 400),
            ("unknown input", "/v2/models/tiny_cnn/infer", body(name="pixels"), {}, 400),
            ("unknown datatype", "/v2/models/tiny_cnn/infer", body(datatype="FP8"), {}, 400),
            ("binary size past the body", "/v2/models/tiny_cnn/infer",
             json.dumps({"inputs": [{"name": "input", "shape": shape, "datatype": "FP32",
                                     "parameters": {"binary_data_size": 4 * x.size}}]}),
             {"Inference-Header-Content-Length": "100000"}, 400),
            ("unknown model", "/v2/models/resnet9000/infer", good, {}, 404),
            ("unknown version", "/v2/models/tiny_cnn/versions/7/infer", good, {}, 404),
            ("body over --max-request-bytes", "/v2/models/tiny_cnn/infer", " " * (2 * MAX_REQUEST_BYTES), {}, 413),
        ]
        stop = threading.Event()
        good_statuses = []

        def keep_inferring():
            while not stop.is_set() or not good_statuses:
                r = self.post("/v2/models/tiny_cnn/infer", good)
                good_statuses.append((r.status, h.mismatches(h.decode_outputs(r)["output"], self.expected["output"])
                                      if r.status == 200 else r.body[:200]))

        worker = threading.Thread(target=keep_inferring)
        worker.start()
        try:
            for what, path, payload, headers, status in cases:
                r = self.post(path, payload, headers)
                self.assertEqual(r.status, status, f"{what}: {r.body[:300]}")
                message = r.json().get("error")
                self.assertTrue(isinstance(message, str) and message, f"{what}: no error message in {r.body[:300]}")
        finally:
            stop.set()
            worker.join(timeout=300)
        self.assertTrue(good_statuses)
        self.assertEqual([s for s in good_statuses if s != (200, None)], [], "a good request failed alongside")

    def test_unknown_endpoint_and_model_metadata(self):
        self.assertEqual(self.get("/v2/models/nope").status, 404)
        self.assertEqual(self.get("/v2/models/nope/ready").status, 404)
        r = self.get("/v1/no_such_endpoint")
        self.assertEqual(r.status, 404)
        self.assertIn("error", r.json())

    def test_repository_index_unload_load(self):
        index = self.post("/v2/repository/index", "{}").json()
        self.assertIn({"name": "tiny_cnn", "version": "1", "state": "READY"},
                      [{k: e[k] for k in ("name", "version", "state") if k in e} for e in index])
        try:
            self.assertEqual(self.post("/v2/repository/models/tiny_cnn/unload", "").status, 200)
            self.assertNotEqual(self.get("/v2/models/tiny_cnn/ready").status, 200)
            self.assertEqual(self.post("/v2/models/tiny_cnn/infer", h.json_infer_body(self.inputs)).status, 503)
            ready_only = self.post("/v2/repository/index", json.dumps({"ready": True})).json()
            self.assertNotIn("tiny_cnn", [e["name"] for e in ready_only])
        finally:
            self.assertEqual(self.post("/v2/repository/models/tiny_cnn/load", "").status, 200)
        self.assertEqual(self.get("/v2/models/tiny_cnn/ready").status, 200)
        self.check_outputs(self.post("/v2/models/tiny_cnn/infer", h.json_infer_body(self.inputs)))
        self.assertEqual(self.post("/v2/repository/models/no_such_model/load", "").status, 404)

    def test_metrics_and_request_logs(self):
        self.check_outputs(self.post("/v2/models/tiny_cnn/infer", h.json_infer_body(self.inputs, request_id="logged-1")))
        r = self.get("/metrics")
        self.assertEqual(r.status, 200)
        self.assertTrue(r.headers["Content-Type"].startswith("text/plain; version=0.0.4"), r.headers)
        self.assertIn("tessera_requests_total", r.body.decode())
        h.wait_until(lambda: any('"logged-1"' in line for line in self.server.stderr_lines), what="the request log")
        line = next(json.loads(l) for l in self.server.stderr_lines if '"logged-1"' in l)
        self.assertEqual(line["model"], "tiny_cnn")
        self.assertEqual(line["status"], 200)
        self.assertGreaterEqual(line["ms"], 0)
        self.assertIn("time", line)


if __name__ == "__main__":
    TESSERA, EXAMPLE = sys.argv[1], sys.argv[2]
    unittest.main(argv=sys.argv[:1], verbosity=2)
