#!/usr/bin/python3
"""`tessera generate --tp N` under mpirun gives the greedy tokens of one process, printed once by rank 0.

usage: generate_tp_test.py TESSERA DECODER_MODELS_DIR RANKS [--pp | --pp-tp P] MODEL...
--pp-tp P: P pipeline stages, each split over RANKS / P tensor-parallel ranks (--pp P --tp RANKS/P).
Each model runs a fixed prompt once in one process and once as RANKS tensor-parallel ranks (or, with --pp,
pipeline stages; --threads 1 each); the --json results must list the same tokens, and the job must print exactly one result.
With --pp-tp, a job of one rank too few must stop with an error naming the ranks the plan needs. GenAI
models run a second time with --shared-kv-buffer (each rank's cache one buffer written in place).
"""
import json
import os
import subprocess
import sys

PROMPT = "1,450,496,37,12"
NEW_TOKENS = "48"


def generate(tessera, folder, ranks, extra, plan="--tp"):
    cmd = [tessera, "generate", folder, "--prompt-ids", PROMPT, "--max-new-tokens", NEW_TOKENS, "--ignore-eos",
           "--threads", "1", "--json"] + extra
    if ranks > 1:
        cmd = ["mpirun", "--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "-np", str(ranks),
               "--timeout", "300"] + cmd + (plan if isinstance(plan, list) else [plan, str(ranks)])
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=360)
    if run.returncode != 0:
        sys.exit(f"FAIL: {' '.join(cmd)} exited {run.returncode}:\n{run.stderr[-3000:]}")
    lines = [line for line in run.stdout.splitlines() if line.startswith("{")]
    if len(lines) != 1:
        sys.exit(f"FAIL: {' '.join(cmd)} printed {len(lines)} results (rank 0 alone must print):\n{run.stdout}")
    return json.loads(lines[0])


def check_rank_count_refused(tessera, folder, ranks, plan):
    """A pp x tp plan on fewer ranks than it needs stops every rank with the count it needs, not a hang."""
    cmd = ["mpirun", "--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "-np", str(ranks - 1),
           "--timeout", "120", tessera, "generate", folder, "--prompt-ids", PROMPT, "--max-new-tokens", "2",
           "--threads", "1", "--json"] + plan
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    wanted = f"needs {ranks} ranks"
    if run.returncode == 0 or wanted not in run.stdout + run.stderr:
        sys.exit(f"FAIL: {' '.join(cmd)} exited {run.returncode} without saying '{wanted}':\n{run.stderr[-2000:]}")
    print(f"{' '.join(plan)} on {ranks - 1} ranks is refused: it {wanted}")


def main():
    tessera, root, ranks, models = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
    plan = "--tp"
    if models and models[0] == "--pp":
        plan, models = "--pp", models[1:]
    elif models and models[0] == "--pp-tp":
        stages = int(models[1])
        plan, models = ["--pp", str(stages), "--tp", str(ranks // stages)], models[2:]
    if isinstance(plan, list) and models:
        check_rank_count_refused(tessera, f"{root}/{models[0]}", ranks, plan)
    for model in models:
        folder = f"{root}/{model}"
        genai = os.path.exists(f"{folder}/genai_config.json") and plan == "--tp"
        variants = [[], ["--shared-kv-buffer"]] if genai else [[]]
        for extra in variants:
            whole = generate(tessera, folder, 1, extra)
            split = generate(tessera, folder, ranks, extra, plan)
            what = f"{model} {' '.join(extra)}".strip()
            label = " ".join(plan) if isinstance(plan, list) else f"{plan} {ranks}"
            if split["tokens"] != whole["tokens"]:
                sys.exit(f"FAIL: {what} at {label}: tokens {split['tokens']} != one process's {whole['tokens']}")
            print(f"{what}: {label} gives one process's {len(whole['tokens'])} tokens "
                  f"({split['decode_ms_per_token']:.2f} vs {whole['decode_ms_per_token']:.2f} ms/token)")
    print("OK")


if __name__ == "__main__":
    main()
