"""Shared pieces of the gRPC `tessera serve` tests: a Python client generated from proto/ at test time, a
server started with both front ends on free ports, and numpy ⇄ protocol tensors (typed and raw).

The client code is generated into a temporary folder by protoc and gRPC's Python plugin, so the tests
exercise the same .proto a user's client would be generated from, and nothing generated is kept in the tree.
"""
import importlib
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import numpy as np

import serve_harness as h

PROTO_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "proto")
NUMPY_TO_KSERVE = {"float32": "FP32", "float16": "FP16", "float64": "FP64", "int64": "INT64", "int32": "INT32",
                   "int16": "INT16", "int8": "INT8", "uint8": "UINT8", "uint16": "UINT16", "uint32": "UINT32",
                   "uint64": "UINT64", "bool": "BOOL", "object": "BYTES"}
KSERVE_TO_NUMPY = {v: k for k, v in NUMPY_TO_KSERVE.items()}
# The typed contents field of each datatype (FP16/BF16 have none).
CONTENTS_FIELD = {"BOOL": "bool_contents", "INT8": "int_contents", "INT16": "int_contents",
                  "INT32": "int_contents", "INT64": "int64_contents", "UINT8": "uint_contents",
                  "UINT16": "uint_contents", "UINT32": "uint_contents", "UINT64": "uint64_contents",
                  "FP32": "fp32_contents", "FP64": "fp64_contents", "BYTES": "bytes_contents"}


def generate_client():
    """(pb2, pb2_grpc) modules generated from proto/grpc_predict_v2.proto into a new temp folder."""
    out = tempfile.mkdtemp(prefix="tessera_grpc_client_")
    plugin = shutil.which("grpc_python_plugin") or "/usr/bin/grpc_python_plugin"
    protoc = shutil.which("protoc") or "/usr/bin/protoc"
    subprocess.run([protoc, f"--proto_path={PROTO_DIR}", f"--python_out={out}", f"--grpc_python_out={out}",
                    f"--plugin=protoc-gen-grpc_python={plugin}", os.path.join(PROTO_DIR, "grpc_predict_v2.proto")],
                   check=True, capture_output=True)
    sys.path.insert(0, out)
    return importlib.import_module("grpc_predict_v2_pb2"), importlib.import_module("grpc_predict_v2_pb2_grpc")


class GrpcServer(h.Server):
    """`tessera serve --grpc-port 0` in a child process; `grpc_port` and `address` once started. Killed on exit."""

    def __init__(self, tessera, *flags, start_timeout=300):
        super().__init__(tessera, *flags, grpc=True, start_timeout=start_timeout)


def raw_bytes(array):
    """The protocol's raw encoding: little-endian elements; BYTES as 4-byte lengths followed by the bytes."""
    if array.dtype == object:
        return b"".join(struct.pack("<I", len(e)) + e for e in array.reshape(-1))
    return np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes()


def infer_request(pb2, model, inputs, raw, request_id="", outputs=()):
    """A ModelInferRequest for {name: ndarray}, with typed contents or raw_input_contents."""
    request = pb2.ModelInferRequest(model_name=model, id=request_id)
    for name, array in inputs.items():
        datatype = NUMPY_TO_KSERVE[str(array.dtype)]
        tensor = request.inputs.add(name=name, datatype=datatype, shape=list(array.shape))
        if raw:
            request.raw_input_contents.append(raw_bytes(array))
        else:
            getattr(tensor.contents, CONTENTS_FIELD[datatype]).extend(array.reshape(-1).tolist())
    for name in outputs:
        request.outputs.add(name=name)
    return request


def decode_outputs(response):
    """{name: ndarray} from a ModelInferResponse (raw_output_contents)."""
    out = {}
    for tensor, raw in zip(response.outputs, response.raw_output_contents):
        if tensor.datatype == "BYTES":
            elements, pos = [], 0
            while pos < len(raw):
                (n,) = struct.unpack_from("<I", raw, pos)
                elements.append(raw[pos + 4:pos + 4 + n])
                pos += 4 + n
            out[tensor.name] = np.array(elements, dtype=object).reshape(list(tensor.shape))
        else:
            dtype = np.dtype(KSERVE_TO_NUMPY[tensor.datatype]).newbyteorder("<")
            out[tensor.name] = np.frombuffer(raw, dtype=dtype).reshape(list(tensor.shape)).astype(dtype.newbyteorder("="))
    return out


def make_pki(folder):
    """A CA, a server certificate for 127.0.0.1 and a client certificate, signed by the CA, plus a client
    certificate from an unrelated CA; made with the openssl command. Returns a dict of PEM paths."""
    def run(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=folder)

    def ca(name):
        run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.pem",
            "-days", "1", "-subj", f"/CN={name}")

    def leaf(name, ca_name, extensions):
        run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}")
        with open(os.path.join(folder, f"{name}.ext"), "w") as f:
            f.write(extensions)
        run("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca_name}.pem", "-CAkey", f"{ca_name}.key",
            "-CAcreateserial", "-out", f"{name}.pem", "-days", "1", "-extfile", f"{name}.ext")

    ca("ca")
    ca("other_ca")
    leaf("server", "ca", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    leaf("client", "ca", "extendedKeyUsage=clientAuth\n")
    leaf("stranger", "other_ca", "extendedKeyUsage=clientAuth\n")
    return {name: os.path.join(folder, name) for name in
            ("ca.pem", "server.pem", "server.key", "client.pem", "client.key", "stranger.pem", "stranger.key")}


def read(path):
    with open(path, "rb") as f:
        return f.read()
