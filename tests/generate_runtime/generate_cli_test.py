#!/usr/bin/python3
"""End-to-end checks of `tessera generate` on the exported decoder test models.

usage: generate_cli_test.py TESSERA DECODERS_DIR EXPORT_SCRIPT [--node NODE] MODEL [MODEL ...]

For every model: each greedy.json case's prompt (batched cases row by row, padding removed) must give
PyTorch's 64 greedy tokens exactly (GenAI models also with --shared-kv-buffer); seeded sampling must repeat with the same seed and differ with another;
a text prompt (--prompt, through the model folder's tokenizer.json) must be encoded as tokenizers.js
encodes it (the same tokens follow as from --prompt-ids with tokenizers.js's ids) and the printed text
must be tokenizers.js's decoding of the generated ids; bad command lines exit 2, a missing model 1; --chat
renders the folder's chat template (--show-chat-prompt) and names what is missing (no template, no
tokenizer). A model folder that is missing is exported with
EXPORT_SCRIPT (tools/export_decoders.py, cached); without that script the test reports itself skipped (77).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "generate"))
import tokenizers_js  # noqa: E402

SKIP = 77
TEXT_PROMPTS = ["Once upon a time there was a little robot", "Größe, 東京 and 🚀: tokens"]


def generate(tessera, model, ids, *flags):
    cmd = [tessera, "generate", model, "--prompt-ids", ",".join(map(str, ids)), "--json", "--threads", "2", *flags]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {out.returncode}: {out.stderr.strip()}")
    return json.loads(out.stdout)


def check_greedy(tessera, folder, *extra):
    expected = json.load(open(os.path.join(folder, "expected", "greedy.json")))
    steps = expected["max_new_tokens"]
    failures = []
    timings = []
    for case in expected["cases"]:
        for row, (ids, mask, want) in enumerate(zip(case["input_ids"], case["attention_mask"], case["new_tokens"])):
            prompt = [t for t, m in zip(ids, mask) if m == 1]
            got = generate(tessera, folder, prompt, "--max-new-tokens", str(steps), "--ignore-eos", *extra)
            timings.append((case["name"], len(prompt), got["prefill_ms"], got["decode_ms_per_token"]))
            if got["tokens"] != want:
                first = next(i for i, (a, b) in enumerate(zip(got["tokens"], want)) if a != b) if len(got["tokens"]) == len(want) else -1
                failures.append(f"{case['name']} row {row}{' ' + ' '.join(extra) if extra else ''}: tokens differ from PyTorch's at step {first} "
                                f"(min margin {case['min_margin']}):\n  got  {got['tokens']}\n  want {want}")
    for name, n, prefill, decode in timings:
        print(f"  {name}{' ' + ' '.join(extra) if extra else ''}: prompt {n} tokens, prefill {prefill:.2f} ms, decode {decode:.3f} ms/token")
    return failures


def check_sampling(tessera, folder):
    prompt = json.load(open(os.path.join(folder, "expected", "greedy.json")))["cases"][1]["input_ids"][0]
    flags = ["--max-new-tokens", "24", "--ignore-eos", "--temperature", "0.9", "--top-k", "50", "--top-p", "0.95"]
    a = generate(tessera, folder, prompt, *flags, "--seed", "5")["tokens"]
    b = generate(tessera, folder, prompt, *flags, "--seed", "5")["tokens"]
    c = generate(tessera, folder, prompt, *flags, "--seed", "6")["tokens"]
    warmed = generate(tessera, folder, prompt, *flags, "--seed", "5", "--warmup")["tokens"]
    failures = []
    if warmed != a:  # the untimed warm-up run must leave no trace in the timed one
        failures.append(f"--warmup changed the seeded tokens:\n  {warmed}\n  {a}")
    if a != b:
        failures.append(f"--seed 5 twice gave different tokens:\n  {a}\n  {b}")
    if a == c:
        failures.append(f"--seed 5 and --seed 6 gave the same 24 tokens: {a}")
    return failures


def check_text_prompt(tessera, folder, node):
    flags = ["--max-new-tokens", "12", "--ignore-eos"]
    failures = []
    encoded = tokenizers_js.reference(node, folder, TEXT_PROMPTS)
    generated = []
    for text, reference in zip(TEXT_PROMPTS, encoded):
        cmd = [tessera, "generate", folder, "--prompt", text, "--json", "--threads", "2", *flags]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        if out.returncode != 0:
            failures.append(f"--prompt {text!r} exited {out.returncode}: {out.stderr.strip()}")
            continue
        got = json.loads(out.stdout)
        from_ids = generate(tessera, folder, reference["ids"], *flags)
        if got["prompt_tokens"] != len(reference["ids"]) or got["tokens"] != from_ids["tokens"]:
            failures.append(f"--prompt {text!r}: {got['prompt_tokens']} prompt tokens and tokens {got['tokens']}; "
                            f"tokenizers.js encodes {len(reference['ids'])} ids {reference['ids']}, which give "
                            f"{from_ids['tokens']}")
        plain = subprocess.run(cmd[:cmd.index("--json")] + cmd[cmd.index("--json") + 1:], capture_output=True,
                               text=True, timeout=300)
        generated.append((text, got, plain.stdout))
    decoded = tokenizers_js.reference(node, folder, [{"ids": got["tokens"]} for _, got, _ in generated])
    for (text, got, printed), reference in zip(generated, decoded):
        if got["text"] != reference["decoded"] or printed != reference["decoded"] + "\n":
            failures.append(f"--prompt {text!r}: text {got['text']!r} (json), {printed!r} (printed); "
                            f"tokenizers.js decodes {got['tokens']} as {reference['decoded']!r}")
    if not failures:
        print(f"  text prompts: {len(TEXT_PROMPTS)} encoded and decoded as tokenizers.js does")
    return failures


def check_bad_command_lines(tessera, folder):
    cases = [(["--prompt-ids", "1,2", "--temperature", "-1"], 2, "--temperature"),
             (["--prompt-ids", "1,2", "--top-p", "0"], 2, "--top-p"),
             (["--prompt-ids", "1,x"], 2, "--prompt-ids"),
             (["--prompt-ids", "1,2", "--max-new-tokens", "100000"], 2, "context"),
             (["--prompt-ids", "1,999999"], 2, "vocabulary"),
             (["--prompt", "hello", "--prompt-ids", "1"], 2, "exactly one of --prompt, --prompt-ids and --chat"),
             (["--prompt-ids", "1", "--decoder-form", "other"], 2, "--decoder-form")]
    failures = []
    for flags, code, needle in cases:
        out = subprocess.run([tessera, "generate", folder, *flags], capture_output=True, text=True, timeout=120)
        if out.returncode != code or needle not in out.stderr:
            failures.append(f"{flags}: exit {out.returncode} (want {code}), stderr {out.stderr.strip()!r} "
                            f"(want it to mention {needle!r})")
    out = subprocess.run([tessera, "generate", folder + "/no_such_model.onnx", "--prompt-ids", "1"],
                         capture_output=True, text=True, timeout=60)
    if out.returncode != 1:
        failures.append(f"a missing model exited {out.returncode}, want 1: {out.stderr.strip()}")
    return failures


def check_chat(tessera, folder):
    """--chat on a copy of the model folder given a tokenizer_config.json with a chat template."""
    failures = []
    out = subprocess.run([tessera, "generate", folder, "--chat", "hi"], capture_output=True, text=True, timeout=120)
    if out.returncode != 2 or "chat template" not in out.stderr:
        failures.append(f"--chat without a template: exit {out.returncode}, stderr {out.stderr.strip()!r}")
    with tempfile.TemporaryDirectory() as copy:
        for name in os.listdir(folder):
            if os.path.isfile(os.path.join(folder, name)):
                shutil.copy(os.path.join(folder, name), copy)
        template = ("{{ bos_token }}{% for m in messages %}<|{{ m.role }}|>\n{{ m.content | trim }}<|end|>\n{% endfor %}"
                    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}")
        with open(os.path.join(copy, "tokenizer_config.json"), "w") as f:
            json.dump({"chat_template": template, "bos_token": {"content": "<s>"}}, f)
        out = subprocess.run([tessera, "generate", copy, "--chat", " Hello ", "--system", "Be brief.",
                              "--show-chat-prompt"], capture_output=True, text=True, timeout=120)
        want = "<s><|system|>\nBe brief.<|end|>\n<|user|>\nHello<|end|>\n<|assistant|>\n\n"
        if out.returncode != 0 or out.stdout != want:
            failures.append(f"--show-chat-prompt: exit {out.returncode}, stdout {out.stdout!r} (want {want!r}), "
                            f"stderr {out.stderr.strip()!r}")
        if os.path.exists(os.path.join(folder, "tokenizer.json")):
            # The rendered prompt already starts with BOS: it is encoded without adding special tokens
            # again (as apply_chat_template does), so exactly one BOS leads the prompt's ids.
            out = subprocess.run([tessera, "generate", copy, "--chat", " Hello ", "--system", "Be brief.", "--json",
                                  "--max-new-tokens", "4", "--ignore-eos"], capture_output=True, text=True,
                                 timeout=120)
            ids = subprocess.run([tessera, "tokenize", copy, "--no-special-tokens"], input=json.dumps(want[:-1]) + "\n",
                                 capture_output=True, text=True, timeout=60)
            if out.returncode != 0 or ids.returncode != 0:
                failures.append(f"--chat with a tokenizer: exit {out.returncode}/{ids.returncode}, "
                                f"stderr {out.stderr.strip()!r} {ids.stderr.strip()!r}")
            else:
                want_ids = json.loads(ids.stdout.splitlines()[0])["ids"]
                got = json.loads(out.stdout)
                if got["prompt_tokens"] != len(want_ids) or want_ids[:2].count(want_ids[0]) != 1:
                    failures.append(f"--chat prompt: {got['prompt_tokens']} tokens, the rendered prompt encodes to "
                                    f"{len(want_ids)} without special tokens: {want_ids[:8]}...")
        if not os.path.exists(os.path.join(folder, "tokenizer.json")):
            out = subprocess.run([tessera, "generate", copy, "--chat", "hi"], capture_output=True, text=True, timeout=120)
            if out.returncode != 2 or "tokenizer" not in out.stderr:
                failures.append(f"--chat without a tokenizer: exit {out.returncode}, stderr {out.stderr.strip()!r}")
    return failures


def main():
    tessera, root, export_script, models = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    node = "node"
    if models[:1] == ["--node"]:
        node, models = models[1], models[2:]
    missing = [m for m in models if not os.path.exists(os.path.join(root, m, "expected", "greedy.json"))]
    if missing:
        if not os.path.exists(export_script):
            print(f"skipped: no exported models ({', '.join(missing)}) and no {export_script}")
            return SKIP
        subprocess.run([sys.executable, export_script, root, "--only", ",".join(missing)], check=True)
    failures = []
    for m in models:
        folder = os.path.join(root, m)
        print(f"{m}:")
        failures += [f"{m}: {f}" for f in check_greedy(tessera, folder) + check_sampling(tessera, folder) +
                     check_text_prompt(tessera, folder, node) + check_bad_command_lines(tessera, folder) +
                     check_chat(tessera, folder)]
        if os.path.exists(os.path.join(folder, "genai_config.json")):
            # The same tokens with each sequence's cache one buffer written in place by GroupQueryAttention.
            failures += [f"{m}: {f}" for f in check_greedy(tessera, folder, "--shared-kv-buffer")]
    for f in failures:
        print("FAIL", f)
    print("ok" if not failures else f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
