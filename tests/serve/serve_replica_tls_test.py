#!/usr/bin/python3
"""Workers reached over HTTPS: `tessera serve --replicas https://...` in front of a worker that speaks TLS
only and asks for a client certificate (mutual TLS).

usage: serve_replica_tls_test.py TESSERA EXAMPLE_DIR

Passes when a router holding the worker's CA and a client certificate the worker trusts routes an
inference to it (answer checked against the PyTorch reference); when routers without that client
certificate, trusting another CA, or speaking plain http:// to the TLS port all see the worker DOWN and
answer 503 instead of an inference; and when bad TLS files stop the router at start, naming the file.
"""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
import serve_harness as h  # noqa: E402


def router(tessera, url, *flags):
    return h.Server(tessera, "--replicas", url, "--health-interval-ms", "100", *flags)


def healthy(server):
    return h.request(server.url, "/v2/replicas").json()["healthy"]


def main():
    tessera, example = sys.argv[1], sys.argv[2]
    inputs, expected = h.load_model_folder(example)
    body = h.json_infer_body(inputs)
    with tempfile.TemporaryDirectory() as tmp:
        os.mkdir(os.path.join(tmp, "worker"))
        os.mkdir(os.path.join(tmp, "clients"))
        os.mkdir(os.path.join(tmp, "stranger"))
        cert, key = h.self_signed_certificate(os.path.join(tmp, "worker"))
        client_ca, client_cert, client_key = h.client_ca_and_certificate(os.path.join(tmp, "clients"))
        other_cert, _ = h.self_signed_certificate(os.path.join(tmp, "stranger"))
        worker_flags = ["--threads", "1", "--tls-cert", cert, "--tls-key", key, "--tls-client-ca", client_ca]
        with h.Server(tessera, *worker_flags, tls=True) as worker:
            url = f"https://127.0.0.1:{worker.port}"
            mtls = ["--replica-ca", cert, "--replica-cert", client_cert, "--replica-key", client_key]
            with router(tessera, url, *mtls) as r:
                h.wait_until(lambda: healthy(r) == 1, timeout=10, what="the TLS worker to be up")
                answer = h.request(r.url, "/v2/models/tiny_cnn/infer", body)
                assert answer.status == 200, (answer.status, answer.body[:300])
                bad = h.mismatches(h.decode_outputs(answer)["output"], expected["output"])
                assert bad is None, bad
            refused = {
                "no client certificate": [url, "--replica-ca", cert],
                "another CA": [url, "--replica-ca", other_cert, "--replica-cert", client_cert,
                               "--replica-key", client_key],
                "plain http to the TLS port": [f"http://127.0.0.1:{worker.port}"],
            }
            for what, (target, *flags) in refused.items():
                with router(tessera, target, *flags) as r:
                    # The router probes every replica once before it listens: the state is settled.
                    assert healthy(r) == 0, (what, h.request(r.url, "/v2/replicas").json())
                    answer = h.request(r.url, "/v2/models/tiny_cnn/infer", body)
                    assert answer.status == 503, (what, answer.status, answer.body[:300])
            assert worker.alive(), "the worker died of a refused handshake"

        for flags, named in (
                (["--replica-ca", os.path.join(tmp, "missing.pem")], "missing.pem"),
                (["--replica-cert", client_cert], "go together"),
                (["--replica-cert", client_cert, "--replica-key", key], f"replica client key '{key}'"),
        ):
            r = subprocess.run([tessera, "serve", "--replicas", "https://127.0.0.1:1", *flags],
                               capture_output=True, text=True, timeout=60)
            assert r.returncode != 0 and named in r.stderr, (flags, r.returncode, r.stderr)
    print("serve_replica_tls: OK")


if __name__ == "__main__":
    main()
