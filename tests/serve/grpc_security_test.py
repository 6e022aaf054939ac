#!/usr/bin/python3
"""The gRPC front end over TLS with required client certificates (a CA, server and client certificates
made with the openssl command) and with bearer-token auth in the `authorization` metadata: a client with a
certificate from the server's client CA is served; one without a certificate, with a certificate from
another CA, or over plain text is refused; missing or wrong tokens get UNAUTHENTICATED while health
probes stay open, and the server keeps serving throughout.

usage: grpc_security_test.py PATH/TO/tessera PATH/TO/examples/tiny_cnn
"""
import os
import shutil
import sys
import tempfile
import unittest

import grpc

import grpc_harness as g
import serve_harness as h

TESSERA = EXAMPLE = None
MODEL = "tiny_cnn"
TOKEN = "correct-horse-battery-staple"


class GrpcSecurityTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pb2, cls.pb2_grpc = g.generate_client()
        cls.dir = tempfile.mkdtemp(prefix="tessera_grpc_tls_")
        cls.pki = g.make_pki(cls.dir)
        cls.token_file = os.path.join(cls.dir, "token")
        with open(cls.token_file, "w") as f:
            f.write(TOKEN + "\n")
        cls.inputs, cls.expected = h.load_model_folder(EXAMPLE)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def tls_channel(self, server, client=None):
        p = self.pki
        credentials = grpc.ssl_channel_credentials(
            root_certificates=g.read(p["ca.pem"]),
            private_key=g.read(p[f"{client}.key"]) if client else None,
            certificate_chain=g.read(p[f"{client}.pem"]) if client else None)
        return grpc.secure_channel(server.address, credentials)

    def infer(self, channel, metadata=None):
        stub = self.pb2_grpc.GRPCInferenceServiceStub(channel)
        response = stub.ModelInfer(g.infer_request(self.pb2, MODEL, self.inputs, raw=True), metadata=metadata,
                                   timeout=60)
        self.assertIsNone(h.mismatches(g.decode_outputs(response)["output"], self.expected["output"]))

    def assert_refused(self, channel, code, metadata=None):
        with self.assertRaises(grpc.RpcError) as caught:
            self.infer(channel, metadata)
        self.assertEqual(caught.exception.code(), code, caught.exception.details())
        return caught.exception.details()

    def test_client_certificates_are_required(self):
        p = self.pki
        with g.GrpcServer(TESSERA, "--threads", "1", "--tls-cert", p["server.pem"], "--tls-key", p["server.key"],
                          "--tls-client-ca", p["ca.pem"]) as server:
            with self.tls_channel(server, "client") as channel:
                self.infer(channel)
            for refused in (None, "stranger"):  # no certificate; a certificate from another CA
                with self.tls_channel(server, refused) as channel:
                    self.assert_refused(channel, grpc.StatusCode.UNAVAILABLE)
            with grpc.insecure_channel(server.address) as channel:
                self.assert_refused(channel, grpc.StatusCode.UNAVAILABLE)
            self.assertTrue(server.alive())
            with self.tls_channel(server, "client") as channel:
                self.infer(channel)

    def test_tls_without_client_ca_serves_any_client(self):
        p = self.pki
        with g.GrpcServer(TESSERA, "--threads", "1", "--tls-cert", p["server.pem"], "--tls-key", p["server.key"]) as server:
            with self.tls_channel(server) as channel:
                self.infer(channel)

    def test_bearer_token(self):
        with g.GrpcServer(TESSERA, "--threads", "1", "--auth-token-file", self.token_file) as server:
            with grpc.insecure_channel(server.address) as channel:
                details = self.assert_refused(channel, grpc.StatusCode.UNAUTHENTICATED)
                self.assertIn("authorization", details)
                for wrong in (f"Bearer {TOKEN[:-1]}", f"Bearer {TOKEN}x", f"Basic {TOKEN}", "Bearer ", TOKEN):
                    self.assert_refused(channel, grpc.StatusCode.UNAUTHENTICATED, [("authorization", wrong)])
                self.infer(channel, [("authorization", f"Bearer {TOKEN}")])
                stub = self.pb2_grpc.GRPCInferenceServiceStub(channel)
                # Health probes carry no credentials; everything else needs the token.
                self.assertTrue(stub.ServerLive(self.pb2.ServerLiveRequest()).live)
                self.assertTrue(stub.ServerReady(self.pb2.ServerReadyRequest()).ready)
                with self.assertRaises(grpc.RpcError) as caught:
                    stub.ModelMetadata(self.pb2.ModelMetadataRequest(name=MODEL))
                self.assertEqual(caught.exception.code(), grpc.StatusCode.UNAUTHENTICATED)
                self.assertTrue(server.alive())


if __name__ == "__main__":
    TESSERA, EXAMPLE = sys.argv[1], sys.argv[2]
    unittest.main(argv=sys.argv[:1], verbosity=2)
