"""Writes a model folder's reference files: config.json, generation_config.json, the tokenizer
(tokenizer.json, tokenizer_config.json), expected/greedy.json and the prefill logits (schema in
export_decoders.py)."""
import json
import os
import sys

import numpy as np

from .config import generation_config, hf_config
from .greedy import MAX_NEW_TOKENS, reference_cases, variety

POSITION_RULE = ("position_ids = cumsum(attention_mask, axis=1) - 1, set to 1 where attention_mask == 0; "
                 "each decode step appends 1 to attention_mask and feeds position sum(attention_mask) - 1")


def write_json(path, value):
    with open(path, "w") as f:
        json.dump(value, f, indent=1)
        f.write("\n")


TOOLS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(TOOLS_DIR, "..", "tests", "generate", "corpus.txt")


def write_configs(out_dir, cfg):
    write_json(os.path.join(out_dir, "config.json"), hf_config(cfg))
    write_json(os.path.join(out_dir, "generation_config.json"), generation_config(cfg))
    write_tokenizer(out_dir, cfg)


def write_tokenizer(out_dir, cfg):
    """A tokenizer trained on the test corpus with exactly the model's vocabulary and special ids."""
    if TOOLS_DIR not in sys.path:
        sys.path.insert(0, TOOLS_DIR)
    from tokenizer_files import layouts
    with open(CORPUS, encoding="utf-8", newline="") as f:
        corpus = f.read()
    tokenizer, config = layouts.for_decoder(corpus, cfg.arch, cfg.vocab_size, cfg.pad, cfg.bos, cfg.eos)
    for name, value in (("tokenizer.json", tokenizer), ("tokenizer_config.json", config)):
        with open(os.path.join(out_dir, name), "w", encoding="utf-8") as f:
            json.dump(value, f, ensure_ascii=False, indent=1)
            f.write("\n")


def write_greedy(out_dir, name, cfg, cases, reference):
    """cases from greedy.reference_cases; returns a short summary for meta.json."""
    os.makedirs(os.path.join(out_dir, "expected"), exist_ok=True)
    entries, summary = [], {}
    for case, ids, mask, tokens, logits, margins in cases:
        logits_file = f"expected/{case}_prefill_logits.npy"
        np.save(os.path.join(out_dir, logits_file), logits.astype(np.float32))
        var = variety(tokens)
        entries.append(dict(name=case, input_ids=ids.tolist(), attention_mask=mask.tolist(),
                            new_tokens=tokens.tolist(), prefill_logits=logits_file,
                            min_margin=round(float(margins.min()), 5), variety=var))
        summary[case] = dict(min_margin=round(float(margins.min()), 4),
                             distinct=[v["distinct"] for v in var])
    write_json(os.path.join(out_dir, "expected", "greedy.json"),
               dict(schema=1, model=name, reference=reference, max_new_tokens=len(cases[0][3][0]),
                    stop_at_eos=False, padding="left", pad_token_id=cfg.pad, eos_token_id=cfg.eos,
                    bos_token_id=cfg.bos, position_ids=POSITION_RULE, cases=entries))
    return summary


class ReferenceCache:
    """PyTorch greedy results per (weights key), so forms sharing weights decode once per run."""

    def __init__(self):
        self.cases = {}

    def get(self, key, name, cfg, model_fn, steps=MAX_NEW_TOKENS, cross_check=True):
        if key not in self.cases:
            self.cases[key] = reference_cases(name, cfg, model_fn(), steps, cross_check)
        return self.cases[key]
