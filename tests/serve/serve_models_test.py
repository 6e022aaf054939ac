#!/usr/bin/python3
"""`tessera serve` answers like PyTorch: MobileNetV2 and BERT (exported with their reference outputs by
tools/export_models.py) served from a repository, queried with JSON and with binary tensors, over plain
HTTP and over HTTPS with client certificates, compared with the rule of tests/models/compare_model.py.

usage: serve_models_test.py PATH/TO/tessera MODEL_CACHE/torch
"""
import os
import shutil
import sys
import tempfile
import unittest

import serve_harness as h

TESSERA = TORCH_MODELS = None
MODELS = ("mobilenetv2", "bert")


class ModelsTest(unittest.TestCase):
    context = None  # the TLS client context, in the HTTPS variant

    @classmethod
    def server_flags(cls):
        return []

    @classmethod
    def setUpClass(cls):
        cls.folders = {m: os.path.join(TORCH_MODELS, m) for m in MODELS}
        # Beside the cache, so the model files can be hard-linked rather than copied.
        cls.repo = h.make_repository(cls.folders, parent=os.path.dirname(TORCH_MODELS.rstrip("/")))
        flags = cls.server_flags()
        cls.server = h.Server(TESSERA, "--model-repo", cls.repo, "--threads", "2", *flags, tls=bool(flags)).__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.server.__exit__(None, None, None)
        shutil.rmtree(cls.repo, ignore_errors=True)

    def check(self, model, binary):
        inputs, expected = h.load_model_folder(self.folders[model])
        if binary:
            body, headers = h.binary_infer_body(inputs)
        else:
            body, headers = h.json_infer_body(inputs), None
        r = h.request(self.server.url, f"/v2/models/{model}/infer", body, headers, context=self.context)
        self.assertEqual(r.status, 200, r.body[:300])
        outputs = h.decode_outputs(r)
        for name, want in expected.items():
            self.assertIn(name, outputs)
            problem = h.mismatches(outputs[name], want)
            self.assertIsNone(problem, f"{model}/{name} ({'binary' if binary else 'JSON'}): {problem}")

    def test_models_are_ready(self):
        for m in MODELS:
            self.assertEqual(h.request(self.server.url, f"/v2/models/{m}/ready", context=self.context).status, 200, m)

    def test_mobilenetv2_json(self):
        self.check("mobilenetv2", binary=False)

    def test_mobilenetv2_binary(self):
        self.check("mobilenetv2", binary=True)

    def test_bert_json(self):
        self.check("bert", binary=False)

    def test_bert_binary(self):
        self.check("bert", binary=True)


class TlsModelsTest(ModelsTest):
    """The same requests over HTTPS, the server requiring a client certificate signed by the test's CA."""

    @classmethod
    def server_flags(cls):
        cls.pki_dir = tempfile.mkdtemp(prefix="tessera_models_tls_")
        cert, key = h.self_signed_certificate(cls.pki_dir)
        ca, client_cert, client_key = h.client_ca_and_certificate(cls.pki_dir)
        cls.context = h.tls_context(cert, client_cert, client_key)
        return ["--tls-cert", cert, "--tls-key", key, "--tls-client-ca", ca]

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.pki_dir, ignore_errors=True)


if __name__ == "__main__":
    TESSERA, TORCH_MODELS = sys.argv[1], sys.argv[2]
    unittest.main(argv=sys.argv[:1], verbosity=2)
