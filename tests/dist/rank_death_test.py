#!/usr/bin/python3
"""A rank that dies (SIGKILL, as when a machine goes away) ends every rank within seconds: nothing hangs.

Runs a two-stage pipeline that repeats its inference many times, kills the last stage's process once both
ranks are busy, and checks that mpirun returns, with a failure status, well within the limit.

usage: rank_death_test.py TESSERA MODEL_DIR
"""
import os
import signal
import subprocess
import sys
import tempfile
import time

LIMIT_S = 30  # from the kill to mpirun's exit


def tessera_children(parent_pid):
    """Pids of the tessera processes mpirun started (direct children of mpirun)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().split(b"\0")
        except OSError:
            continue
        if int(fields[1]) == parent_pid and cmdline and cmdline[0].endswith(b"tessera"):
            pids.append((int(entry), cmdline))
    return sorted(pids)


def cpu_seconds(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return 0.0


def is_zombie(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return False


def main():
    tessera, model_dir = sys.argv[1], sys.argv[2]
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    inputs = os.path.join(model_dir, "inputs")
    feeds = [a for f in sorted(os.listdir(inputs)) for a in ("--input", f"{f[:-4]}={os.path.join(inputs, f)}")]
    with tempfile.TemporaryDirectory() as out:
        cmd = ["mpirun", "--oversubscribe", "--bind-to", "none", "--mca", "mpi_yield_when_idle", "1", "-np", "2",
               "--timeout", "600", tessera, "run", os.path.join(model_dir, "model.onnx"), *feeds,
               "--output-dir", out, "--threads", "1", "--pp", "2", "--repeat", "100000"]
        launcher = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        # Wait until both ranks are busy (loaded and running: a few seconds of CPU each); the kill then lands
        # mid-run. (A kill during loading must end the job just the same.)
        ranks, deadline = [], time.time() + 300
        while time.time() < deadline and launcher.poll() is None:
            ranks = tessera_children(launcher.pid)
            if len(ranks) == 2 and all(cpu_seconds(pid) >= 3 for pid, _ in ranks):
                break
            time.sleep(0.2)
        if len(ranks) != 2 or launcher.poll() is not None:
            launcher.kill()
            print(f"FAIL: expected 2 busy tessera processes under mpirun, found {ranks}: "
                  f"{launcher.communicate()[0][-2000:]}")
            return 1
        victim = ranks[-1][0]
        os.kill(victim, signal.SIGKILL)
        killed_at = time.time()
        try:
            launcher.communicate(timeout=LIMIT_S)
        except subprocess.TimeoutExpired:
            launcher.kill()
            launcher.communicate()
            print(f"FAIL: mpirun still running {LIMIT_S} s after a rank was killed")
            return 1
        took = time.time() - killed_at
        # mpirun has returned; its other ranks get a few seconds to finish exiting.
        survivors = [pid for pid, _ in ranks if pid != victim]
        while survivors and time.time() - killed_at < LIMIT_S:
            survivors = [pid for pid in survivors if os.path.exists(f"/proc/{pid}") and not is_zombie(pid)]
            time.sleep(0.2)
        ok = launcher.returncode != 0 and not survivors
        print(f"{'ok' if ok else 'FAIL'}: killed pid {victim}; mpirun exited {launcher.returncode} after {took:.1f} s; "
              f"surviving ranks {survivors}")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
