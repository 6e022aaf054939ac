#!/usr/bin/python3
"""Writes test tokenizers (tokenizer.json + tokenizer_config.json) trained on the bundled corpus.

usage: /usr/bin/python3 tools/make_tokenizers.py OUT_DIR [--corpus FILE] [--only NAME[,NAME...]]

OUT_DIR/<name>/ gets one tokenizer per style: gpt2_bpe (byte-level BPE, GPT-2's split pattern),
llama3_bpe and qwen2_bpe (byte-level BPE with their split patterns and special tokens), llama2_metaspace and
mistral_metaspace (SentencePiece-style BPE with byte fallback), t5_unigram and albert_unigram (Unigram),
bert_wordpiece (WordPiece with BERT's normalizer and pre-tokenizer).
Training is deterministic: the same corpus gives the same files. No network access.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tokenizer_files import layouts  # noqa: E402

DEFAULT_CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "generate", "corpus.txt")


def read_corpus(path):
    with open(path, encoding="utf-8", newline="") as f:
        return f.read()


def write_tokenizer(out_dir, tokenizer, config):
    os.makedirs(out_dir, exist_ok=True)
    for name, value in (("tokenizer.json", tokenizer), ("tokenizer_config.json", config)):
        with open(os.path.join(out_dir, name), "w", encoding="utf-8") as f:
            json.dump(value, f, ensure_ascii=False, indent=2)
            f.write("\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out_dir")
    parser.add_argument("--corpus", default=DEFAULT_CORPUS)
    parser.add_argument("--only", help="comma-separated style names: " + ", ".join(layouts.STYLES))
    args = parser.parse_args()
    names = args.only.split(",") if args.only else list(layouts.STYLES)
    unknown = [n for n in names if n not in layouts.STYLES]
    if unknown:
        parser.error(f"unknown style(s) {', '.join(unknown)}; known: {', '.join(layouts.STYLES)}")
    corpus = read_corpus(args.corpus)
    for name in names:
        tokenizer, config = layouts.STYLES[name](corpus)
        write_tokenizer(os.path.join(args.out_dir, name), tokenizer, config)
        print(f"make_tokenizers: {name}: {len(tokenizer['model']['vocab'])} model tokens, "
              f"{len(tokenizer['added_tokens'])} added")
    return 0


if __name__ == "__main__":
    sys.exit(main())
