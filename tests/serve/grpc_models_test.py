#!/usr/bin/python3
"""`tessera serve` over gRPC answers like PyTorch: MobileNetV2 (FP32 image) and BERT (two INT64 inputs)
served from a repository, queried with typed contents and with raw contents, over a plain channel and over
TLS with client certificates, compared with the rule of tests/models/compare_model.py.

usage: grpc_models_test.py PATH/TO/tessera MODEL_CACHE/torch
"""
import os
import shutil
import sys
import tempfile
import unittest

import grpc

import grpc_harness as g
import serve_harness as h

TESSERA = TORCH_MODELS = None
MODELS = ("mobilenetv2", "bert")


# Outputs are not bounded by the server; a client that reads them lifts gRPC's default 4 MiB limit.
CHANNEL_OPTIONS = [("grpc.max_receive_message_length", -1)]


class GrpcModelsTest(unittest.TestCase):
    @classmethod
    def server_flags(cls):
        return []

    @classmethod
    def open_channel(cls):
        return grpc.insecure_channel(cls.server.address, options=CHANNEL_OPTIONS)

    @classmethod
    def setUpClass(cls):
        cls.pb2, pb2_grpc = g.generate_client()
        cls.folders = {m: os.path.join(TORCH_MODELS, m) for m in MODELS}
        # Beside the cache, so the model files can be hard-linked rather than copied.
        cls.repo = h.make_repository(cls.folders, parent=os.path.dirname(TORCH_MODELS.rstrip("/")))
        cls.server = g.GrpcServer(TESSERA, "--model-repo", cls.repo, "--threads", "2", *cls.server_flags()).__enter__()
        cls.channel = cls.open_channel()
        cls.stub = pb2_grpc.GRPCInferenceServiceStub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        cls.server.__exit__(None, None, None)
        shutil.rmtree(cls.repo, ignore_errors=True)

    def check(self, model, raw):
        inputs, expected = h.load_model_folder(self.folders[model])
        request = g.infer_request(self.pb2, model, inputs, raw=raw, request_id=f"{model}-{raw}")
        response = self.stub.ModelInfer(request, timeout=300)
        self.assertEqual(response.id, f"{model}-{raw}")
        outputs = g.decode_outputs(response)
        for name, want in expected.items():
            self.assertIn(name, outputs)
            problem = h.mismatches(outputs[name], want)
            self.assertIsNone(problem, f"{model}/{name} ({'raw' if raw else 'typed'}): {problem}")

    def test_models_are_ready(self):
        for m in MODELS:
            self.assertTrue(self.stub.ModelReady(self.pb2.ModelReadyRequest(name=m)).ready, m)

    def test_mobilenetv2_typed(self):
        self.check("mobilenetv2", raw=False)

    def test_mobilenetv2_raw(self):
        self.check("mobilenetv2", raw=True)

    def test_bert_typed(self):
        self.check("bert", raw=False)

    def test_bert_raw(self):
        self.check("bert", raw=True)


class GrpcTlsModelsTest(GrpcModelsTest):
    """The same calls over TLS, the server requiring a client certificate signed by the test's CA."""

    @classmethod
    def server_flags(cls):
        cls.pki_dir = tempfile.mkdtemp(prefix="tessera_grpc_models_tls_")
        cls.pki = g.make_pki(cls.pki_dir)
        return ["--tls-cert", cls.pki["server.pem"], "--tls-key", cls.pki["server.key"],
                "--tls-client-ca", cls.pki["ca.pem"]]

    @classmethod
    def open_channel(cls):
        p = cls.pki
        credentials = grpc.ssl_channel_credentials(root_certificates=g.read(p["ca.pem"]),
                                                   private_key=g.read(p["client.key"]),
                                                   certificate_chain=g.read(p["client.pem"]))
        return grpc.secure_channel(cls.server.address, credentials, options=CHANNEL_OPTIONS)

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.pki_dir, ignore_errors=True)


if __name__ == "__main__":
    TESSERA, TORCH_MODELS = sys.argv[1], sys.argv[2]
    unittest.main(argv=sys.argv[:1], verbosity=2)
