#!/usr/bin/python3
"""Tokenizer parity: Tessera's tokenizer (`tessera tokenize`) against tokenizers.js on the test tokenizers.

usage: tokenizer_parity.py TESSERA WORK_DIR [NODE]

Writes the tokenizers with tools/make_tokenizers.py into WORK_DIR, builds the cases (every corpus line, the
whole corpus, and texts around each added token), has tests/generate/tokenizer_reference.mjs encode and
decode them with @huggingface/tokenizers, then requires Tessera's ids (with and without special tokens)
and decoded text (special tokens skipped and kept) to be equal. Every mismatch is printed with the
tokenizer, the case text and both results; the exit status is 1 if there is any. Last, seeded random
bytes (invalid UTF-8 included) must encode and decode on every tokenizer without an error.
"""
import json
import os
import random
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
CORPUS = os.path.join(HERE, "corpus.txt")


def case_texts(corpus, tokenizer):
    """Corpus lines, the corpus as one text, and texts that hold added tokens in different spots."""
    texts = [line for line in corpus.split("\n") if line] + [corpus, "", " ", "\n\n", "a"]
    # Control characters, odd spaces, the word marker and the wave dash that normalizers treat specially.
    # Not U+FEFF: tokenizers.js's ByteFallback decoder drops it when its <0xEF><0xBB><0xBF> bytes start a
    # run (TextDecoder's BOM rule), where Tessera and the Rust crate keep the character.
    texts.append("ctl\x01\x7f\x0b tab\tff\x0c nbsp\u00a0 ideo\u3000 mark\u2581 wave\uff5e end\u200b")
    for token in tokenizer["added_tokens"]:
        t = token["content"]
        texts += [t, f"Hello {t} world", f"{t}start", f"end{t}", f"  {t}  spaced  ", f"{t}{t}", f"x {t}\ny",
                  f"{t} Größe 東京 {t}!"]
    specials = [t["content"] for t in tokenizer["added_tokens"]][:3]
    texts.append(" ".join(f"{s} text {i}" for i, s in enumerate(specials)))
    return texts


def short(value, limit=600):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"


def run_tessera(tessera, folder, lines, *flags):
    result = subprocess.run([tessera, "tokenize", folder, *flags], input="\n".join(lines) + "\n",
                            capture_output=True, text=True, encoding="utf-8")
    if result.returncode != 0:
        raise RuntimeError(f"tessera tokenize {folder} {' '.join(flags)} exited {result.returncode}: "
                           f"{result.stderr.strip()}\n{result.stdout[-2000:]}")
    return [json.loads(line) for line in result.stdout.splitlines()]


def check_random_bytes(tessera, folder, seed):
    """Lines of random bytes (no newline) as plain text: every one encodes, and its ids decode."""
    rng = random.Random(seed)
    # A line starting with '"' would be read as a JSON string: start them all with another byte.
    lines = [b"x" + bytes(rng.choice([b for b in range(256) if b != 10]) for _ in range(rng.randrange(1, 80)))
             for _ in range(200)]
    failures = []
    out = subprocess.run([tessera, "tokenize", folder], input=b"\n".join(lines) + b"\n", capture_output=True)
    results = [json.loads(line) for line in out.stdout.decode("utf-8").splitlines()]
    if out.returncode != 0 or len(results) != len(lines):
        return [f"{folder}: random bytes (seed {seed}): exit {out.returncode}, {len(results)} of {len(lines)} "
                f"lines answered: {out.stderr.decode(errors='replace').strip()}"]
    ids = "\n".join(json.dumps(r["ids"]) for r in results) + "\n"
    out = subprocess.run([tessera, "tokenize", folder, "--decode"], input=ids.encode(), capture_output=True)
    if out.returncode != 0:
        failures.append(f"{folder}: decoding random bytes' ids (seed {seed}) failed: {out.stdout[-500:]!r}")
    return failures


def main():
    tessera, work = sys.argv[1], sys.argv[2]
    node = sys.argv[3] if len(sys.argv) > 3 else "node"
    shutil.rmtree(work, ignore_errors=True)
    subprocess.run([sys.executable, os.path.join(ROOT, "tools", "make_tokenizers.py"), work], check=True,
                   stdout=subprocess.DEVNULL)
    with open(CORPUS, encoding="utf-8", newline="") as f:
        corpus = f.read()
    dirs = sorted(os.path.join(work, d) for d in os.listdir(work))
    cases = {}
    for d in dirs:
        with open(os.path.join(d, "tokenizer.json"), encoding="utf-8") as f:
            cases[os.path.basename(d)] = case_texts(corpus, json.load(f))
    cases_file, reference_file = os.path.join(work, "cases.json"), os.path.join(work, "reference.json")
    with open(cases_file, "w", encoding="utf-8") as f:
        json.dump(cases, f, ensure_ascii=False)
    subprocess.run([node, os.path.join(HERE, "tokenizer_reference.mjs"), cases_file, reference_file, *dirs],
                   check=True)
    with open(reference_file, encoding="utf-8") as f:
        reference = json.load(f)

    failures, checked = 0, 0
    for d in dirs:
        name = os.path.basename(d)
        refs = reference[name]
        texts = [json.dumps(r["text"], ensure_ascii=False) for r in refs]
        ids = run_tessera(tessera, d, texts)
        ids_plain = run_tessera(tessera, d, texts, "--no-special-tokens")
        id_lines = [json.dumps(r["ids"]) for r in refs]
        decoded = run_tessera(tessera, d, id_lines, "--decode")
        decoded_keep = run_tessera(tessera, d, id_lines, "--decode", "--keep-special-tokens")
        for i, r in enumerate(refs):
            got = {"ids": ids[i].get("ids"), "ids_plain": ids_plain[i].get("ids"),
                   "decoded": decoded[i].get("text"), "decoded_keep": decoded_keep[i].get("text")}
            for key, value in got.items():
                checked += 1
                if value != r[key]:
                    failures += 1
                    if failures <= 40:
                        print(f"MISMATCH {name} case {i} {key}\n  text:      {short(r['text'])}\n"
                              f"  tessera:   {short(value)}\n  reference: {short(r[key])}")
        print(f"{name}: {len(refs)} cases")
    print(f"tokenizer_parity: {checked} comparisons, {failures} mismatches")
    seed = random.SystemRandom().randrange(1 << 30)
    robustness = [f for d in dirs for f in check_random_bytes(tessera, d, seed)]
    for f in robustness:
        print("FAIL", f)
    print(f"random bytes: {len(dirs)} tokenizers, seed {seed}, {len(robustness)} failures")
    return 1 if failures or robustness else 0


if __name__ == "__main__":
    sys.exit(main())
