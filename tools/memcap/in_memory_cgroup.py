#!/usr/bin/python3
"""Runs one command in a memory cgroup of its own, capped at LIMIT bytes, and reports what it used.

usage: in_memory_cgroup.py --limit BYTES --name NAME [--report FILE] -- COMMAND...

Under mpirun every rank runs its own copy, so each rank gets its own cgroup (NAME gets the rank and this
process's id appended). The cgroup is made below this process's own memory cgroup:
  cgroup v2: memory.max (and memory.swap.max 0), peak from memory.peak where the kernel has it;
  cgroup v1: memory.limit_in_bytes (and memory.memsw.limit_in_bytes where swap accounting exists), peak
             from memory.max_usage_in_bytes. This is the nearest limit where v2's memory controller is not
             mounted (as in the container the project is developed in).
Both limits count the cgroup's anonymous memory and its page cache; clean file pages (a memory-mapped
weight file) are reclaimed under pressure instead of failing the job. The command's exit status is
returned (128 + signal when killed: 137 is the kernel's out-of-memory kill); 77 when no cgroup can be
made here (not root, no memory controller), which the tests treat as a skip.
With --report, one JSON object is written: version, limit, peak, failcnt (v1), oom_kills, exit status.
"""
import argparse
import json
import os
import signal
import subprocess
import sys

ROOT = "/sys/fs/cgroup"


def cgroup_base():
    """(version, folder of this process's memory cgroup) or None."""
    with open("/proc/self/cgroup") as f:
        lines = [line.rstrip("\n").split(":", 2) for line in f]
    for _, controllers, path in lines:
        if "memory" in controllers.split(","):
            for mount in (os.path.join(ROOT, "memory"), os.path.join(ROOT, "memory,cpuacct")):
                if os.path.exists(os.path.join(mount, "memory.limit_in_bytes")):
                    return 1, mount + path
    for hierarchy, controllers, path in lines:
        if hierarchy == "0" and controllers == "":
            for mount in (ROOT, os.path.join(ROOT, "unified")):
                try:
                    with open(os.path.join(mount, "cgroup.controllers")) as f:
                        if "memory" in f.read().split():
                            return 2, mount + path
                except OSError:
                    pass
    return None


def write(folder, name, value):
    with open(os.path.join(folder, name), "w") as f:
        f.write(str(value))


def read_int(folder, name):
    try:
        with open(os.path.join(folder, name)) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def oom_kills(version, folder):
    name = "memory.events" if version == 2 else "memory.oom_control"
    try:
        with open(os.path.join(folder, name)) as f:
            for line in f:
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
    except (OSError, ValueError):
        pass
    return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--report")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command")
    base = cgroup_base()
    if base is None:
        print("in_memory_cgroup: no memory cgroup controller here", file=sys.stderr)
        return 77
    version, parent = base
    rank = os.environ.get("OMPI_COMM_WORLD_RANK", os.environ.get("PMI_RANK", "0"))
    folder = os.path.join(parent, f"{args.name}-rank{rank}-{os.getpid()}")
    try:
        os.mkdir(folder)
        if version == 2:
            write(folder, "memory.max", args.limit)
            if os.path.exists(os.path.join(folder, "memory.swap.max")):
                write(folder, "memory.swap.max", 0)
        else:
            write(folder, "memory.limit_in_bytes", args.limit)
            if os.path.exists(os.path.join(folder, "memory.memsw.limit_in_bytes")):
                write(folder, "memory.memsw.limit_in_bytes", args.limit)
    except OSError as e:
        print(f"in_memory_cgroup: cannot make a memory cgroup at {folder}: {e}", file=sys.stderr)
        try:
            os.rmdir(folder)
        except OSError:
            pass
        return 77

    def enter():
        write(folder, "cgroup.procs", os.getpid())

    try:
        child = subprocess.Popen(command, preexec_fn=enter)
        code = child.wait()
        if code < 0:
            code = 128 - code
        peak = read_int(folder, "memory.peak" if version == 2 else "memory.max_usage_in_bytes")
        report = {"version": version, "limit": args.limit, "peak": peak,
                  "failcnt": read_int(folder, "memory.failcnt") if version == 1 else None,
                  "oom_kills": oom_kills(version, folder), "exit": code, "rank": int(rank)}
    finally:
        try:
            os.rmdir(folder)
        except OSError:
            pass
    if args.report:
        with open(args.report, "w") as f:
            json.dump(report, f)
    return code


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    sys.exit(main())
