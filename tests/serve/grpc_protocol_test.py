#!/usr/bin/python3
"""The gRPC front end of `tessera serve` (inference.GRPCInferenceService) with a client generated from
proto/ at test time, against the bundled example model: health, metadata, the repository extension,
inference with typed and raw contents (request id echoed, requested outputs), the error codes of bad
requests (unknown model, wrong shape or datatype, raw data of the wrong length, oversized message), and the
server still serving after each.

usage: grpc_protocol_test.py PATH/TO/tessera PATH/TO/examples/tiny_cnn
"""
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
import unittest

import grpc
import numpy as np
import onnx
from onnx import TensorProto, helper

import grpc_harness as g
import serve_harness as h

TESSERA = EXAMPLE = None
MODEL = "tiny_cnn"


class GrpcProtocolTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pb2, pb2_grpc = g.generate_client()
        cls.server = g.GrpcServer(TESSERA, "--threads", "1", "--max-request-bytes", str(1 << 20)).__enter__()
        cls.channel = grpc.insecure_channel(cls.server.address)
        cls.stub = pb2_grpc.GRPCInferenceServiceStub(cls.channel)
        cls.inputs, cls.expected = h.load_model_folder(EXAMPLE)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        cls.server.__exit__(None, None, None)

    def infer(self, request):
        return self.stub.ModelInfer(request, timeout=120)

    def assert_code(self, request, code, fragment):
        with self.assertRaises(grpc.RpcError) as caught:
            self.infer(request)
        self.assertEqual(caught.exception.code(), code, caught.exception.details())
        self.assertIn(fragment, caught.exception.details())
        self.assert_still_serving()

    def assert_still_serving(self):
        self.assertTrue(self.server.alive())
        response = self.infer(g.infer_request(self.pb2, MODEL, self.inputs, raw=True))
        self.assertIsNone(h.mismatches(g.decode_outputs(response)["output"], self.expected["output"]))

    def test_health_and_metadata(self):
        self.assertTrue(self.stub.ServerLive(self.pb2.ServerLiveRequest()).live)
        self.assertTrue(self.stub.ServerReady(self.pb2.ServerReadyRequest()).ready)
        self.assertTrue(self.stub.ModelReady(self.pb2.ModelReadyRequest(name=MODEL)).ready)
        server = self.stub.ServerMetadata(self.pb2.ServerMetadataRequest())
        self.assertEqual(server.name, "tessera")
        model = self.stub.ModelMetadata(self.pb2.ModelMetadataRequest(name=MODEL))
        self.assertEqual(model.name, MODEL)
        self.assertEqual([(t.name, t.datatype) for t in model.inputs], [("input", "FP32")])
        self.assertEqual(list(model.inputs[0].shape)[1:], [3, 32, 32])
        self.assertEqual([t.name for t in model.outputs], ["output"])
        with self.assertRaises(grpc.RpcError) as caught:
            self.stub.ModelMetadata(self.pb2.ModelMetadataRequest(name="no_such_model"))
        self.assertEqual(caught.exception.code(), grpc.StatusCode.NOT_FOUND)

    def test_typed_and_raw_contents_match_the_reference(self):
        for raw in (False, True):
            response = self.infer(g.infer_request(self.pb2, MODEL, self.inputs, raw=raw, request_id=f"req-{raw}"))
            self.assertEqual(response.id, f"req-{raw}")
            self.assertEqual(response.model_name, MODEL)
            self.assertEqual(len(response.raw_output_contents), 1)
            problem = h.mismatches(g.decode_outputs(response)["output"], self.expected["output"])
            self.assertIsNone(problem, f"raw={raw}: {problem}")

    def test_requested_output_by_name(self):
        response = self.infer(g.infer_request(self.pb2, MODEL, self.inputs, raw=True, outputs=["output"]))
        self.assertEqual([o.name for o in response.outputs], ["output"])
        self.assert_code(g.infer_request(self.pb2, MODEL, self.inputs, raw=True, outputs=["no_such_output"]),
                         grpc.StatusCode.NOT_FOUND, "no_such_output")

    def test_unknown_model_is_not_found(self):
        self.assert_code(g.infer_request(self.pb2, "no_such_model", self.inputs, raw=True), grpc.StatusCode.NOT_FOUND,
                         "no_such_model")

    def test_wrong_shape_is_invalid_argument(self):
        wrong = {"input": np.zeros((1, 3, 16, 16), np.float32)}
        self.assert_code(g.infer_request(self.pb2, MODEL, wrong, raw=True), grpc.StatusCode.INVALID_ARGUMENT, "input")

    def test_wrong_datatype_is_invalid_argument(self):
        wrong = {"input": self.inputs["input"].astype(np.float64)}
        self.assert_code(g.infer_request(self.pb2, MODEL, wrong, raw=False), grpc.StatusCode.INVALID_ARGUMENT, "input")

    def test_raw_data_of_the_wrong_length_is_invalid_argument(self):
        request = g.infer_request(self.pb2, MODEL, self.inputs, raw=True)
        request.raw_input_contents[0] = request.raw_input_contents[0][:-4]
        self.assert_code(request, grpc.StatusCode.INVALID_ARGUMENT, "raw_input_contents holds 12284 bytes")

    def test_typed_contents_of_the_wrong_count_are_invalid_argument(self):
        request = g.infer_request(self.pb2, MODEL, self.inputs, raw=False)
        request.inputs[0].contents.fp32_contents.append(1.0)
        self.assert_code(request, grpc.StatusCode.INVALID_ARGUMENT, "holds 3073 elements, the shape needs 3072")

    def test_unknown_datatype_is_invalid_argument(self):
        request = g.infer_request(self.pb2, MODEL, self.inputs, raw=True)
        request.inputs[0].datatype = "FLOAT32"
        self.assert_code(request, grpc.StatusCode.INVALID_ARGUMENT, "FLOAT32")

    def test_message_over_the_limit_is_resource_exhausted(self):
        big = {"input": np.zeros((1, 3, 512, 512), np.float32)}  # 3 MiB against --max-request-bytes 1 MiB
        self.assert_code(g.infer_request(self.pb2, MODEL, big, raw=True), grpc.StatusCode.RESOURCE_EXHAUSTED, "")

    def test_garbage_message_is_refused(self):
        # Bytes that do not parse as a ModelInferRequest: the call fails, the server stays up.
        call = self.channel.unary_unary("/inference.GRPCInferenceService/ModelInfer")
        with self.assertRaises(grpc.RpcError) as caught:
            call(b"\xff\xff\xff\xff\x0f", timeout=60)
        self.assertEqual(caught.exception.code(), grpc.StatusCode.INTERNAL)
        self.assert_still_serving()

    def test_triton_methods_outside_the_protocol_are_unimplemented(self):
        call = self.channel.unary_unary("/inference.GRPCInferenceService/ModelStatistics")
        with self.assertRaises(grpc.RpcError) as caught:
            call(b"", timeout=60)
        self.assertEqual(caught.exception.code(), grpc.StatusCode.UNIMPLEMENTED)

    def test_repository_extension(self):
        index = self.stub.RepositoryIndex(self.pb2.RepositoryIndexRequest())
        self.assertIn(MODEL, [m.name for m in index.models])
        ready = self.stub.RepositoryIndex(self.pb2.RepositoryIndexRequest(ready=True))
        self.assertTrue(all(m.state == "READY" for m in ready.models))
        with self.assertRaises(grpc.RpcError) as caught:
            self.stub.RepositoryModelLoad(self.pb2.RepositoryModelLoadRequest(model_name="no_such_model"))
        self.assertEqual(caught.exception.code(), grpc.StatusCode.NOT_FOUND, caught.exception.details())
        self.stub.RepositoryModelLoad(self.pb2.RepositoryModelLoadRequest(model_name=MODEL))
        self.assertTrue(self.stub.ModelReady(self.pb2.ModelReadyRequest(name=MODEL)).ready)


class GrpcServerLifecycleTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pb2, cls.pb2_grpc = g.generate_client()
        cls.inputs, _ = h.load_model_folder(EXAMPLE)

    def test_calls_are_logged_with_log_requests(self):
        with g.GrpcServer(TESSERA, "--threads", "1", "--log-requests") as server:
            with grpc.insecure_channel(server.address) as channel:
                stub = self.pb2_grpc.GRPCInferenceServiceStub(channel)
                stub.ModelInfer(g.infer_request(self.pb2, MODEL, self.inputs, raw=True, request_id="logged-1"))
                with self.assertRaises(grpc.RpcError):
                    stub.ModelInfer(g.infer_request(self.pb2, "no_such_model", self.inputs, raw=True, request_id="logged-2"))

            def lines():
                parsed = []
                for line in list(server.stderr_lines):
                    try:
                        parsed.append(json.loads(line))
                    except ValueError:
                        pass
                return {e.get("request_id"): e for e in parsed if e.get("method") == "ModelInfer"}

            h.wait_until(lambda: {"logged-1", "logged-2"} <= set(lines()), what="gRPC log lines")
            self.assertEqual(lines()["logged-1"]["status"], "OK")
            self.assertEqual(lines()["logged-1"]["model"], MODEL)
            self.assertEqual(lines()["logged-2"]["status"], "NOT_FOUND")

    def test_sigterm_closes_the_grpc_port_and_exits_zero(self):
        with g.GrpcServer(TESSERA, "--threads", "1") as server:
            with grpc.insecure_channel(server.address) as channel:
                stub = self.pb2_grpc.GRPCInferenceServiceStub(channel)
                self.assertTrue(stub.ServerReady(self.pb2.ServerReadyRequest()).ready)
            server.proc.send_signal(signal.SIGTERM)
            self.assertEqual(server.proc.wait(timeout=120), 0, server.stderr_lines)
            with self.assertRaises(OSError):
                socket.create_connection(("127.0.0.1", server.grpc_port), timeout=10).close()

    def test_sigterm_answers_the_call_in_flight(self):
        # A model whose queue holds a lone request for 10 s, waiting for a batch to fill: the call is in
        # flight (the server's in-flight gauge says so) when the signal goes, whatever the machine's speed.
        repo = tempfile.mkdtemp(prefix="tessera_grpc_repo_")
        try:
            os.makedirs(os.path.join(repo, "held", "1"))
            graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "held",
                                      [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 4])],
                                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 4])])
            onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]),
                      os.path.join(repo, "held", "1", "model.onnx"))
            with open(os.path.join(repo, "held", "config.json"), "w") as f:
                json.dump({"max_batch_size": 8, "dynamic_batching": {"preferred_batch_size": [8],
                                                                     "max_queue_delay_microseconds": 10_000_000}}, f)
            x = np.array([[-1.0, 2.0, -3.0, 4.0]], np.float32)
            with g.GrpcServer(TESSERA, "--threads", "1", "--model-repo", repo) as server:
                with grpc.insecure_channel(server.address) as channel:
                    stub = self.pb2_grpc.GRPCInferenceServiceStub(channel)
                    call = stub.ModelInfer.future(g.infer_request(self.pb2, "held", {"x": x}, raw=True, request_id="held-1"))
                    metrics = f"http://127.0.0.1:{server.http_port}"
                    h.wait_until(lambda: 'tessera_inflight_requests{model="held",version="1"} 1' in
                                 h.request(metrics, "/metrics").body.decode(), what="the call to be queued")
                    server.proc.send_signal(signal.SIGTERM)
                    response = call.result(timeout=120)
                self.assertEqual(response.id, "held-1")
                np.testing.assert_array_equal(g.decode_outputs(response)["y"], np.maximum(x, 0))
                self.assertEqual(server.proc.wait(timeout=120), 0, server.stderr_lines)
        finally:
            shutil.rmtree(repo, ignore_errors=True)


if __name__ == "__main__":
    TESSERA, EXAMPLE = sys.argv[1], sys.argv[2]
    unittest.main(argv=sys.argv[:1], verbosity=2)
