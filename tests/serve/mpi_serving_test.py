#!/usr/bin/python3
"""`tessera serve` under mpirun: a model at dp=2 (ResNet-50, batch 4: two rows on rank 0, two on rank 2)
and one at pp=2 (MobileNetV2: stage 0 on rank 0, stage 1 on rank 1) served by 3 ranks, queried over HTTP
and gRPC and compared with PyTorch by the rule of tests/models/compare_model.py; a bad request fails alone;
the metrics show each rank's busy time; SIGTERM to rank 0 drains and every rank exits 0. A world too small
for the repository's plans fails at start with a message saying how many ranks it needs.

usage: mpi_serving_test.py PATH/TO/tessera MODEL_CACHE/torch
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import unittest

import numpy as np

import grpc

import grpc_harness as g
import serve_harness as h

TESSERA = TORCH_MODELS = None
# name in the repository -> (exported model, config.json)
MODELS = {"resnet_dp": ("resnet50_b4", {"parallel": {"dp": 2}}),
          "mobilenet_pp": ("mobilenetv2", {"parallel": {"pp": 2}})}
RANKS = 3  # rank 0 takes part in both groups: 1 + (2-1) + (2-1)
MPI_ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_mpi_yield_when_idle="1")
GROUP_LINE = re.compile(r"model '(\w+)' version 1 \(dp=(\d) pp=(\d) tp=1\): ranks ([\d,]+)")


def mpirun(ranks, repo):
    return [shutil.which("mpirun") or "mpirun", "--oversubscribe", "-np", str(ranks), TESSERA, "serve", "--host",
            "127.0.0.1", "--http-port", "0", "--grpc-port", "0", "--threads", "1", "--model-repo", repo]


def rank_zero(mpirun_pid):
    """The pid of world rank 0 among mpirun's descendants (read from their environment)."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    todo, found = [mpirun_pid], []
    while todo:
        pid = todo.pop()
        for child in children.get(pid, []):
            todo.append(child)
            try:
                with open(f"/proc/{child}/environ", "rb") as f:
                    if b"OMPI_COMM_WORLD_RANK=0\0" in f.read() + b"\0":
                        found.append(child)
            except OSError:
                pass
    if len(found) != 1:
        raise AssertionError(f"expected one rank 0 under mpirun {mpirun_pid}, found {found}")
    return found[0]


class MpiServingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pb2, pb2_grpc = g.generate_client()
        cls.folders = {name: os.path.join(TORCH_MODELS, model) for name, (model, _) in MODELS.items()}
        cls.repo = h.make_repository(cls.folders, parent=os.path.dirname(TORCH_MODELS.rstrip("/")),
                                     configs={name: config for name, (_, config) in MODELS.items()})
        cls.proc = subprocess.Popen(mpirun(RANKS, cls.repo), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True, env=MPI_ENV)
        cls.stderr_lines = []
        cls.stderr_reader = threading.Thread(target=lambda: [cls.stderr_lines.append(l.rstrip("\n"))
                                                             for l in cls.proc.stderr], daemon=True)
        cls.stderr_reader.start()
        timer = threading.Timer(240, cls.proc.kill)  # readline blocks; never wait forever
        timer.start()
        try:
            for line in cls.proc.stdout:
                m = h.LISTENING.search(line)
                if m and m.group(2):
                    cls.url = f"http://127.0.0.1:{m.group(1)}"
                    cls.address = f"127.0.0.1:{m.group(2)}"
                    break
        finally:
            timer.cancel()
        if not hasattr(cls, "url"):
            cls.proc.wait(timeout=30)
            raise RuntimeError(f"mpirun exited {cls.proc.returncode} before listening: "
                               + " | ".join(cls.stderr_lines[-5:]))
        cls.channel = grpc.insecure_channel(cls.address, options=[("grpc.max_receive_message_length", -1)])
        cls.stub = pb2_grpc.GRPCInferenceServiceStub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        if cls.proc.poll() is None:
            cls.proc.kill()
            cls.proc.wait(timeout=30)
        cls.proc.stdout.close()
        cls.stderr_reader.join(timeout=30)
        cls.proc.stderr.close()
        shutil.rmtree(cls.repo, ignore_errors=True)

    def check(self, name, outputs):
        _, expected = h.load_model_folder(self.folders[name])
        for output, want in expected.items():
            self.assertIn(output, outputs)
            self.assertIsNone(h.mismatches(outputs[output], want), f"{name}/{output}")

    def http(self, name, binary):
        inputs, _ = h.load_model_folder(self.folders[name])
        body, headers = h.binary_infer_body(inputs) if binary else (h.json_infer_body(inputs), None)
        r = h.request(self.url, f"/v2/models/{name}/infer", body, headers)
        self.assertEqual(r.status, 200, r.body[:300])
        self.check(name, h.decode_outputs(r))

    def grpc(self, name):
        inputs, _ = h.load_model_folder(self.folders[name])
        response = self.stub.ModelInfer(g.infer_request(self.pb2, name, inputs, raw=True, request_id=name),
                                        timeout=240)
        self.assertEqual(response.id, name)
        self.check(name, g.decode_outputs(response))

    def busy(self):
        """{(model, rank): busy seconds} from the metrics."""
        text = h.request(self.url, "/metrics").body.decode()
        found = re.findall(r'tessera_rank_busy_seconds_total\{model="(\w+)",version="1",rank="(\d+)"\} (\S+)', text)
        return {(model, int(rank)): float(seconds) for model, rank, seconds in found}

    def test_1_groups_as_planned(self):
        # Groups are given in repository order (sorted names): mobilenet_pp first.
        h.wait_until(lambda: len([l for l in self.stderr_lines if GROUP_LINE.search(l)]) == 2, 30, "group lines")
        groups = {m.group(1): m.group(4) for m in map(GROUP_LINE.search, self.stderr_lines) if m}
        self.assertEqual(groups, {"mobilenet_pp": "0,1", "resnet_dp": "0,2"})
        for name in MODELS:
            self.assertEqual(h.request(self.url, f"/v2/models/{name}/ready").status, 200, name)

    def test_2_both_protocols_match_pytorch(self):
        self.http("mobilenet_pp", binary=False)
        self.http("resnet_dp", binary=True)
        self.grpc("mobilenet_pp")
        self.grpc("resnet_dp")

    def test_3_bad_request_fails_alone(self):
        inputs, _ = h.load_model_folder(self.folders["mobilenet_pp"])
        wrong = {n: a[..., :100] for n, a in inputs.items()}  # 224x100 images
        r = h.request(self.url, "/v2/models/mobilenet_pp/infer", *h.binary_infer_body(wrong))
        self.assertEqual(r.status, 400, r.body[:300])
        with self.assertRaises(grpc.RpcError) as caught:
            self.stub.ModelInfer(g.infer_request(self.pb2, "resnet_dp", wrong, raw=True), timeout=240)
        self.assertEqual(caught.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.http("mobilenet_pp", binary=True)  # the group still serves

    def test_4_metrics_show_every_rank_busy(self):
        before = self.busy()
        self.assertEqual(set(before), {("mobilenet_pp", 0), ("mobilenet_pp", 1), ("resnet_dp", 0), ("resnet_dp", 2)})
        self.http("resnet_dp", binary=True)
        self.http("mobilenet_pp", binary=True)
        after = self.busy()
        for key in before:
            self.assertGreater(after[key], before[key], key)

    def test_5_sigterm_to_rank_zero_stops_every_rank(self):
        rank0 = rank_zero(self.proc.pid)
        os.kill(rank0, signal.SIGTERM)
        self.assertEqual(self.proc.wait(timeout=120), 0, " | ".join(self.stderr_lines[-5:]))


class TooFewRanksTest(unittest.TestCase):
    def test_names_the_ranks_needed(self):
        repo = h.make_repository({"mobilenet_pp": os.path.join(TORCH_MODELS, "mobilenetv2"),
                                  "resnet_dp": os.path.join(TORCH_MODELS, "resnet50_b4")},
                                 parent=os.path.dirname(TORCH_MODELS.rstrip("/")),
                                 configs={name: config for name, (_, config) in MODELS.items()})
        try:
            run = subprocess.run(mpirun(2, repo), capture_output=True, text=True, env=MPI_ENV, timeout=120)
        finally:
            shutil.rmtree(repo, ignore_errors=True)
        self.assertNotEqual(run.returncode, 0)
        self.assertIn("need 3 MPI ranks but mpirun started 2", run.stderr)
        self.assertIn("run with -np 3", run.stderr)


if __name__ == "__main__":
    TESSERA, TORCH_MODELS = sys.argv[1], sys.argv[2]
    unittest.main(argv=sys.argv[:1], verbosity=2)
