#!/usr/bin/python3
"""Runs every ```sh block of docs/guide.md, in order, as one bash script, so the guide cannot go stale.

usage: guide_test.py REPO_ROOT BUILD_DIR

The script runs with `set -euo pipefail` in a fresh folder holding links to the repository's build/,
examples/ and tools/ (the guide's commands are written from the repository root), inside a network
namespace of its own with only loopback up, so that the ports the guide names (8000, 8001) are free
whatever else runs on this machine. A block that fails fails the test, with the block's text and the
output so far. The guide must hold at least the sections it promises (checked below), so a guide emptied
of commands fails too.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

REQUIRED_COMMANDS = ["tessera inspect", "tessera run", "tessera bench", "--dp 2", "--pp 2", "--tp 2",
                     "tessera plan", "--auto", "run-jobs", "--aggregate", "tessera serve", "/infer",
                     "tessera generate", "/v1/completions", "tessera quantize", "--mode static",
                     "--chat", "/v1/chat/completions"]


def blocks(guide_text):
    return re.findall(r"^```sh\n(.*?)^```", guide_text, flags=re.S | re.M)


def main():
    root, build = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    with open(os.path.join(root, "docs", "guide.md")) as f:
        found = blocks(f.read())
    joined = "\n".join(found)
    missing = [c for c in REQUIRED_COMMANDS if c not in joined]
    if missing:
        print("docs/guide.md no longer shows:", missing)
        return 1
    work = tempfile.mkdtemp(prefix="tessera_guide_")
    try:
        for name, target in (("build", build), ("examples", os.path.join(root, "examples")),
                             ("tools", os.path.join(root, "tools"))):
            os.symlink(target, os.path.join(work, name))
        os.mkdir(os.path.join(work, "out"))
        script = ["set -euo pipefail", "ip link set lo up"]
        for i, block in enumerate(found, 1):
            script.append(f"echo '### guide block {i}'")
            script.append(block)
        script_path = os.path.join(work, "guide.sh")
        with open(script_path, "w") as f:
            f.write("\n".join(script) + "\n")
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        result = subprocess.run(["unshare", "--net", "bash", script_path], cwd=work, env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600)
        print(result.stdout)
        if result.returncode != 0:
            last = re.findall(r"### guide block (\d+)", result.stdout)
            n = int(last[-1]) if last else 1
            print(f"guide block {n} failed (exit {result.returncode}):\n{found[n - 1]}")
            return 1
        print(f"docs/guide.md: all {len(found)} command blocks ran")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
