#!/usr/bin/python3
"""No plaintext on the wire: a pp=2 job between two network-namespace hosts, captured with tcpdump.

usage: netns_capture_test.py TESSERA

Builds a model whose pipeline cut carries the input's bytes unchanged (x -> Relu x 4 on a positive,
distinctive float pattern), runs it with --pp 2 across a NetnsCluster of two hosts (TCP only), and
captures every packet on the second host's link. Without --link-key the pattern's bytes must appear in
the capture (the test can see plaintext, so its silence later means something); with it they must not.
Exit status: 0 pass, 1 fail, 77 skipped (no root, no namespaces or no tcpdump).
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
from onnx import TensorProto, helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import netns_cluster  # noqa: E402
import netns_test  # noqa: E402

SKIP = 77
# Four floats repeated: any 32 bytes of the tensor on the wire hold this 16-byte needle.
PATTERN = np.array([1234.5678, 8765.4321, 2718.2818, 3141.5927], dtype=np.float32)
ELEMENTS = 64 * 1024


def write_model(folder):
    nodes, previous = [], "x"
    for i in range(4):
        nodes.append(helper.make_node("Relu", [previous], [f"r{i}"], name=f"relu{i}"))
        previous = f"r{i}"
    graph = helper.make_graph(nodes, "pattern_relay", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, ELEMENTS])],
                              [helper.make_tensor_value_info(previous, TensorProto.FLOAT, [1, ELEMENTS])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = os.path.join(folder, "model.onnx")
    onnx.save(model, path)
    x = os.path.join(folder, "x.npy")
    np.save(x, np.tile(PATTERN, ELEMENTS // PATTERN.size).reshape(1, ELEMENTS))
    return path, x


def captured_run(cluster, tessera, model, x, out, extra, pcap):
    ns = cluster.namespace[cluster.hosts[1]]
    dump = subprocess.Popen(["ip", "netns", "exec", ns, "tcpdump", "-i", "eth0", "-s", "0", "-U", "-w", pcap],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(1.0)  # tcpdump is listening before the job starts
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               TESSERA_NETNS_HOSTS=" ".join(f"{h}={cluster.namespace[h]}" for h in cluster.hosts))
    cmd = ["ip", "netns", "exec", cluster.launcher, "mpirun", "-np", "2", "--timeout", "120",
           *netns_test.mpirun_args(cluster).split(), tessera, "run", model, "--input", f"x={x}", "--output-dir", out,
           "--threads", "1", "--pp", "2", *extra]
    run = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
    time.sleep(0.5)
    dump.send_signal(signal.SIGINT)
    dump.wait(timeout=10)
    with open(pcap, "rb") as f:
        return run, f.read()


def main():
    tessera = os.path.abspath(sys.argv[1])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    if os.geteuid() != 0:
        print("SKIP: network namespaces need root")
        return SKIP
    if shutil.which("tcpdump") is None:
        print("SKIP: tcpdump is missing (scripts/install-deps.sh installs it)")
        return SKIP
    needle = PATTERN.tobytes()
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        model, x = write_model(tmp)
        key = os.path.join(tmp, "link.key")
        with open(key, "wb") as f:
            f.write(os.urandom(32))
        os.chmod(key, 0o600)
        try:
            with netns_cluster.NetnsCluster(hosts=2) as cluster:
                for mode, extra in (("plain", []), ("sealed", ["--link-key", key])):
                    out = os.path.join(tmp, mode)
                    os.mkdir(out)
                    run, capture = captured_run(cluster, tessera, model, x, out, extra, os.path.join(tmp, mode + ".pcap"))
                    if run.returncode != 0:
                        failures.append(f"{mode} run exited {run.returncode}: {run.stderr.strip()}")
                        continue
                    y = np.load(os.path.join(out, "r3.npy"))
                    if not np.array_equal(y, np.load(x)):
                        failures.append(f"{mode} run's output is not its input")
                    seen = capture.count(needle)
                    print(f"{mode}: {len(capture)} bytes captured on hostB, the pattern {seen} times")
                    if mode == "plain" and seen == 0:
                        failures.append("the plain run's capture lacks the pattern: the capture proves nothing")
                    if mode == "sealed" and seen != 0:
                        failures.append(f"the sealed run's capture holds the plaintext pattern {seen} times")
        except netns_cluster.CannotCreateNamespaces as e:
            print(f"SKIP: {e}")
            return SKIP
    for f in failures:
        print("FAIL", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
