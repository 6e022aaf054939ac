#!/usr/bin/python3
"""Tokenizer encode throughput: `tessera tokenize` against tokenizers.js (@huggingface/tokenizers in
bench/.ort) on the test tokenizers of tools/make_tokenizers.py.

usage: tokenizer_bench.py [--tessera build/tessera] [--node node] [--lines 20000] [--seed 1]

The input is --lines lines of words drawn (seeded) from tests/generate/corpus.txt, so that words repeat as in
real text but lines do not. Tessera's time is the whole `tessera tokenize --no-special-tokens` process
(load, JSON in and out); tokenizers.js's is its encode loop alone, in one process, after loading. Both
must give the same ids (checked). Printed, not asserted: timings belong here, not in ctest.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
STYLES = ["gpt2_bpe", "llama3_bpe", "llama2_metaspace", "t5_unigram", "bert_wordpiece"]
NODE_LOOP = r"""
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
const [root, dir, linesFile, outFile] = process.argv.slice(2);
const pkg = path.join(root, "bench", ".ort", "node_modules", "@huggingface", "tokenizers", "dist", "tokenizers.mjs");
const { Tokenizer } = await import(pathToFileURL(pkg));
const read = (f) => JSON.parse(fs.readFileSync(path.join(dir, f), "utf8"));
const tokenizer = new Tokenizer(read("tokenizer.json"), read("tokenizer_config.json"));
const lines = fs.readFileSync(linesFile, "utf8").split("\n").filter((l) => l).map((l) => JSON.parse(l));
const start = process.hrtime.bigint();
const ids = lines.map((l) => tokenizer.encode(l, { add_special_tokens: false }).ids);
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
fs.writeFileSync(outFile, JSON.stringify({ seconds, ids }));
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tessera", default=os.path.join(ROOT, "build", "tessera"))
    parser.add_argument("--node", default="node")
    parser.add_argument("--lines", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with open(os.path.join(ROOT, "tests", "generate", "corpus.txt"), encoding="utf-8", newline="") as f:
        words = f.read().split(" ")
    rng = random.Random(args.seed)
    lines = [" ".join(rng.choice(words) for _ in range(rng.randrange(4, 40))).replace("\n", " ")
             for _ in range(args.lines)]
    text = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
    megabytes = sum(len(line.encode()) for line in lines) / 1e6
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, os.path.join(ROOT, "tools", "make_tokenizers.py"), tmp, "--only",
                        ",".join(STYLES)], check=True, stdout=subprocess.DEVNULL)
        lines_file, script, out_file = (os.path.join(tmp, n) for n in ("lines.jsonl", "loop.mjs", "out.json"))
        with open(lines_file, "w", encoding="utf-8") as f:
            f.write(text)
        with open(script, "w") as f:
            f.write(NODE_LOOP)
        print(f"{args.lines} lines, {megabytes:.2f} MB of UTF-8 (seed {args.seed})")
        for style in STYLES:
            folder = os.path.join(tmp, style)
            start = time.perf_counter()
            out = subprocess.run([args.tessera, "tokenize", folder, "--no-special-tokens"], input=text.encode(),
                                 capture_output=True, check=True)
            tessera_s = time.perf_counter() - start
            ours = [json.loads(line)["ids"] for line in out.stdout.decode().splitlines()]
            subprocess.run([args.node, script, ROOT, folder, lines_file, out_file], check=True)
            with open(out_file) as f:
                js = json.load(f)
            tokens = sum(len(ids) for ids in ours)
            same = "same ids" if ours == js["ids"] else "IDS DIFFER"
            print(f"  {style:17s} {tokens:8d} tokens; tessera tokenize {megabytes / tessera_s:6.2f} MB/s "
                  f"(whole process {tessera_s:.2f} s); tokenizers.js encode {megabytes / js['seconds']:6.2f} MB/s "
                  f"({js['seconds']:.2f} s); {same}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
