#!/usr/bin/python3
"""Decode speed of tensor-parallel generation: ms/token of `tessera generate` in one process and at --tp N.

usage: tp_generate_bench.py TESSERA MODEL_FOLDER [--rounds 5] [--tokens 32] [--netns RATE ...]

Local runs, alternated round by round so the machine's load hits every configuration alike:
  1x1   one process, --threads 1
  1x2   one process, --threads 2
  tp2   mpirun -np 2, --tp 2, --threads 1 per rank (shared memory between the ranks)
Each prints the median decode ms/token over the rounds; tp2 also rank 0's share of a step spent in the
collectives (--op-times: AllReduceSum + AllGather, their waiting included).

--netns RATE (repeatable: 1gbit, 100mbit) runs tp2 with each rank in its own network namespace joined by
tbf-shaped links (tests/dist/netns/netns_cluster.py; TCP only), and reports ms/token and the bytes per
token that crossed one host's link in each direction: the difference between a run of 8 and a run of
8 + --tokens tokens, divided by --tokens, so start-up and the prompt cancel out. The namespaces carry this
branch's tag (s3tpgen) besides the creating pid.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "dist", "netns"))
PROMPT = "1,450,496,37,12,116,278,318"
MPIRUN = ["mpirun", "--allow-run-as-root", "--oversubscribe", "--bind-to", "none"]


def generate_args(tessera, model, tokens, threads):
    return [tessera, "generate", model, "--prompt-ids", PROMPT, "--max-new-tokens", str(tokens), "--ignore-eos",
            "--json", "--warmup", "--threads", str(threads)]


def parse(stdout):
    result, share, step_ms = None, 0.0, None
    for line in stdout.splitlines():
        if line.startswith("{"):
            result = json.loads(line)
        elif "per batch" in line and line.strip().startswith("com.tessera."):
            share += float(line.split()[-1].rstrip("%"))
    if result is None:
        raise SystemExit("no result in:\n" + stdout)
    return result, share


def run(cmd, env=None):
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {done.returncode}:\n{done.stderr[-2000:]}")
    return parse(done.stdout)


def local_rounds(args):
    configs = {
        "1x1": generate_args(args.tessera, args.model, args.tokens, 1),
        "1x2": generate_args(args.tessera, args.model, args.tokens, 2),
        "tp2": MPIRUN + ["-np", "2"] + generate_args(args.tessera, args.model, args.tokens, 1) + ["--tp", "2",
                                                                                                   "--op-times"],
    }
    times = {name: [] for name in configs}
    shares, tokens = [], {}
    for r in range(args.rounds):
        for name, cmd in configs.items():
            result, share = run(cmd)
            times[name].append(result["decode_ms_per_token"])
            tokens[name] = result["tokens"]
            if name == "tp2":
                shares.append(share)
        print(f"round {r + 1}: " + ", ".join(f"{n} {t[-1]:.1f}" for n, t in times.items()) +
              f" ms/token; load {open('/proc/loadavg').read().split()[0]}", flush=True)
    same = all(t == tokens["1x1"] for t in tokens.values())
    print(f"medians over {args.rounds} rounds (greedy tokens identical: {same}):")
    base = statistics.median(times["1x1"])
    for name, t in times.items():
        m = statistics.median(t)
        print(f"  {name}: {m:.1f} ms/token ({base / m:.2f}x of 1x1)")
    print(f"  tp2 time in collectives: median {statistics.median(shares):.1f}% of a step")


def netns_run(args, rate):
    import netns_cluster
    agent = os.path.join(HERE, "..", "tests", "dist", "netns", "netns_agent.sh")
    cluster = netns_cluster.NetnsCluster(hosts=2, rate=rate)
    cluster.tag = f"{netns_cluster.PREFIX}{os.getpid()}-s3tpgen"
    cluster.launcher = f"{cluster.tag}-launcher"
    cluster.namespace = {h: f"{cluster.tag}-{h}" for h in cluster.hosts}
    with cluster:
        env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
                   TESSERA_NETNS_HOSTS=" ".join(f"{h}={cluster.namespace[h]}" for h in cluster.hosts))
        mpi = ["ip", "netns", "exec", cluster.launcher, "mpirun", "--host",
               ",".join(f"{h}:1" for h in cluster.hosts), "-np", "2", "--mca", "plm_rsh_agent", agent,
               "--mca", "plm_rsh_no_tree_spawn", "1", "--mca", "btl", "tcp,self", "--mca", "mpi_yield_when_idle",
               "1", "--mca", "btl_tcp_if_include", netns_cluster.SUBNET, "--mca", "oob_tcp_if_include",
               netns_cluster.SUBNET, "-x", "OMPI_ALLOW_RUN_AS_ROOT", "-x", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"]
        counts = {}
        results = {}
        for tokens in (8, 8 + args.tokens):
            before = cluster.link_counters("hostB")
            results[tokens], share = run(mpi + generate_args(args.tessera, args.model, tokens, 1) +
                                         ["--tp", "2", "--op-times"], env)
            after = cluster.link_counters("hostB")
            counts[tokens] = {k: after[k] - before[k] for k in after}
        sent = (counts[8 + args.tokens]["host_sent"] - counts[8]["host_sent"]) / args.tokens
        received = (counts[8 + args.tokens]["bridge_sent_to_host"] - counts[8]["bridge_sent_to_host"]) / args.tokens
        r = results[8 + args.tokens]
        print(f"netns {rate}: {r['decode_ms_per_token']:.1f} ms/token, collectives {share:.1f}% of a step; "
              f"per token on hostB's link: {sent / 1024:.1f} KiB sent, {received / 1024:.1f} KiB received",
              flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("tessera")
    p.add_argument("model")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--tokens", type=int, default=32)
    p.add_argument("--netns", action="append", default=[])
    p.add_argument("--skip-local", action="store_true")
    args = p.parse_args()
    print(f"load average at start: {open('/proc/loadavg').read().strip()}")
    if not args.skip_local:
        local_rounds(args)
    for rate in args.netns:
        netns_run(args, rate)


if __name__ == "__main__":
    main()
