#!/usr/bin/python3
"""Multi-host run across network namespaces: every rank on its own "host", traffic over shaped links.

usage: netns_test.py TESSERA MODEL_DIR [--hosts N] [--rate 1gbit] [tessera run flags: --dp 2 ...]

Builds a NetnsCluster (netns_cluster.py: a launcher namespace with a bridge, one namespace per host, veth
links shaped with tbf), runs tests/models/compare_model.py in the launcher namespace with one rank per
host (`mpirun --host hostA:1,hostB:1` and netns_agent.sh as the launcher's remote agent in place of ssh;
TCP only, on the cluster's subnet, so no byte can take a shared-memory shortcut), then checks that the
outputs match the PyTorch reference and that at least the tensors the plan must send crossed the shaped
links. Exit status: 0 pass, 1 fail, 77 skipped (network namespaces cannot be created here).
"""
import argparse
import os
import re
import signal
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import netns_cluster  # noqa: E402

COMPARE = os.path.join(HERE, "..", "..", "models", "compare_model.py")
AGENT = os.path.join(HERE, "netns_agent.sh")
SKIP = 77


def batch_slices(batch, replicas):
    """Rows per replica, as data_parallel.h cuts them: contiguous, as even as possible, larger first."""
    return [batch // replicas + (1 if r < batch % replicas else 0) for r in range(replicas)]


def npy_arrays(folder):
    return [np.load(os.path.join(folder, f), mmap_mode="r") for f in sorted(os.listdir(folder))]


def data_parallel_bytes(model_dir, replicas):
    """Per replica r > 0: (bytes the root must send it, bytes it must send back). Only the batched inputs
    and outputs count (their slices); anything else is a lower bound the real traffic exceeds anyway."""
    inputs = npy_arrays(os.path.join(model_dir, "inputs"))
    outputs = npy_arrays(os.path.join(model_dir, "expected"))
    batch = inputs[0].shape[0] if inputs and inputs[0].ndim else 0
    rows = batch_slices(batch, replicas)
    need = {}
    for r in range(1, replicas):
        to = sum(a.nbytes // batch * rows[r] for a in inputs if a.ndim and a.shape[0] == batch)
        back = sum(a.nbytes // batch * rows[r] for a in outputs if a.ndim and a.shape[0] == batch)
        need[r] = (to, back)
    return need


def pipeline_bytes(tessera, model_dir, stages):
    """For a 2-stage pipeline: (bytes into the last stage's host, bytes out of it). In: what the plan says
    crosses the cut, and in any case at least one intermediate value (one a node makes and another node
    reads), the smallest of which bounds any cut. Out: the outputs travel back to the root that writes
    them. Sizes come from ONNX shape inference, with symbolic dims taken as the inputs' batch; when some
    size stays unknown the smallest-value bound falls back to the outputs' size."""
    import onnx  # only the pipeline cases need it
    if stages != 2:
        raise SystemExit("netns_test: the pipeline traffic rule covers 2 stages")
    outputs = npy_arrays(os.path.join(model_dir, "expected"))
    out_bytes = sum(a.nbytes for a in outputs)
    batch = npy_arrays(os.path.join(model_dir, "inputs"))[0].shape[0]
    model = onnx.shape_inference.infer_shapes(onnx.load(os.path.join(model_dir, "model.onnx"), load_external_data=False))
    sizes = {}
    for info in model.graph.value_info:
        t = info.type.tensor_type
        dims = [d.dim_value if d.HasField("dim_value") else batch if d.HasField("dim_param") else 0 for d in t.shape.dim]
        itemsize = np.dtype(onnx.mapping.TENSOR_TYPE_TO_NP_TYPE.get(t.elem_type, np.uint8)).itemsize
        sizes[info.name] = int(np.prod(dims)) * itemsize if t.HasField("shape") and all(dims) else None
    read = {i for n in model.graph.node for i in n.input}
    graph_outputs = {o.name for o in model.graph.output}
    inner = [sizes.get(o) for n in model.graph.node for o in n.output if o in read and o not in graph_outputs]
    need_in = out_bytes if not inner or None in inner else min(inner)
    return {1: (max(need_in, planned_cut_bytes(tessera, model_dir, batch)), out_bytes)}


def planned_cut_bytes(tessera, model_dir, batch):
    """95% of the activations `tessera plan --pp 2` says cross the cut, scaled from the plan's batch to
    the inputs' (the printed MiB are rounded); 0 when the plan's text is not understood, which leaves the
    weaker bound of pipeline_bytes and says so."""
    plan = subprocess.run([tessera, "plan", os.path.join(model_dir, "model.onnx"), "--pp", "2"],
                          capture_output=True, text=True).stdout
    cut = re.search(r"cut 0 -> 1: ([0-9.]+) (B|KiB|MiB|GiB) of activations per inference", plan)
    model_batch = re.search(r"model batch (\d+)", plan)
    if not cut or not model_batch:
        print("netns_test: `tessera plan` printed no cut size; checking only the smallest possible cut")
        return 0
    unit = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}[cut.group(2)]
    return int(0.95 * float(cut.group(1)) * unit * batch / int(model_batch.group(1)))


def flag_value(args, name, default):
    for i, a in enumerate(args):
        if a == name and i + 1 < len(args):
            return int(args[i + 1])
        if a.startswith(name + "="):
            return int(a.split("=", 1)[1])
    return default


def required_traffic(tessera, model_dir, hosts, run_flags):
    """host index -> (min bytes into the host, min bytes out of it) for the plan in `run_flags`."""
    pp = flag_value(run_flags, "--pp", 1)
    tp = flag_value(run_flags, "--tp", 1)
    if pp == 1 and tp == 1:
        return data_parallel_bytes(model_dir, hosts)
    if tp == 1 and pp == hosts:
        return pipeline_bytes(tessera, model_dir, pp)
    raise SystemExit(f"netns_test: no traffic rule for --pp {pp} --tp {tp} yet")


def mpirun_args(cluster):
    hosts = ",".join(f"{h}:1" for h in cluster.hosts)
    subnet = netns_cluster.SUBNET
    return " ".join([
        f"--host {hosts}",
        f"--mca plm_rsh_agent {AGENT}",
        "--mca plm_rsh_no_tree_spawn 1",  # the launcher starts every host itself
        "--mca btl tcp,self",  # no shared memory: ranks talk over the shaped links
        f"--mca btl_tcp_if_include {subnet}",
        f"--mca oob_tcp_if_include {subnet}",
        "-x OMPI_ALLOW_RUN_AS_ROOT -x OMPI_ALLOW_RUN_AS_ROOT_CONFIRM",
    ])


def run(args, run_flags):
    with netns_cluster.NetnsCluster(hosts=args.hosts, rate=args.rate) as cluster:
        env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
                   TESSERA_NETNS_HOSTS=" ".join(f"{h}={cluster.namespace[h]}" for h in cluster.hosts))
        cmd = ["ip", "netns", "exec", cluster.launcher, sys.executable, COMPARE, args.tessera, args.model_dir,
               "--threads", "1", "--np", str(len(cluster.hosts)), f"--mpirun-args={mpirun_args(cluster)}", *run_flags]
        print("netns_test:", " ".join(cmd), flush=True)
        proc = subprocess.Popen(cmd, env=env, start_new_session=True)
        try:
            outputs_ok = proc.wait(timeout=args.timeout) == 0
        except subprocess.TimeoutExpired:
            print(f"FAIL: the run did not finish in {args.timeout} s")
            outputs_ok = False
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

        traffic_ok = True
        for index, (need_in, need_out) in required_traffic(args.tessera, args.model_dir, len(cluster.hosts), run_flags).items():
            host = cluster.hosts[index]
            c = cluster.link_counters(host)
            into = min(c["bridge_sent_to_host"], c["host_received"])
            ok = into >= need_in and c["host_sent"] >= need_out
            print(f"{'ok' if ok else 'FAIL'} {host} (rank {index}) over tbf {args.rate}: {into} bytes in "
                  f"(need >= {need_in}), {c['host_sent']} bytes out (need >= {need_out})")
            if not ok:
                print(cluster.qdisc_text(host))
            traffic_ok &= ok
        return 0 if outputs_ok and traffic_ok else 1


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("tessera")
    parser.add_argument("model_dir")
    parser.add_argument("--hosts", type=int, default=2)
    parser.add_argument("--rate", default="1gbit", help="tbf rate of every link, in tc's units")
    parser.add_argument("--timeout", type=int, default=240, help="seconds before the run counts as hung")
    args, run_flags = parser.parse_known_args()
    args.tessera = os.path.abspath(args.tessera)
    args.model_dir = os.path.abspath(args.model_dir)

    # ctest's timeout and Ctrl-C must still tear the namespaces down: make SIGTERM unwind like SIGINT.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    if os.geteuid() != 0:
        print("SKIP: network namespaces need root (CAP_NET_ADMIN); not running as root")
        return SKIP
    try:
        return run(args, run_flags)
    except netns_cluster.CannotCreateNamespaces as e:
        print(f"SKIP: cannot create network namespaces here: {e}")
        return SKIP
    except RuntimeError as e:  # a step of building the cluster failed; it has been torn down
        print(f"FAIL: {e}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
