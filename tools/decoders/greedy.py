"""Reference greedy decoding in PyTorch: seeded prompts, the KV-cache loop, and the full-recompute loop
that cross-checks it. The schema of the greedy.json written from these is in export_decoders.py."""
import zlib

import numpy as np
import torch

MAX_NEW_TOKENS = 64


def prompts(name, cfg):
    """Cases: name -> (input_ids [B,S] int64, attention_mask [B,S] int64), left-padded with cfg.pad.
    Token ids avoid bos/eos/pad so a prompt never ends early; each prompt starts with bos."""
    rng = np.random.default_rng(zlib.crc32(("prompts/" + name).encode()))
    low = 3
    high = cfg.vocab_size - 1 if cfg.arch == "gpt2" else cfg.vocab_size

    def prompt(n):
        return [cfg.bos] + rng.integers(low, high, size=n - 1).tolist()

    def batch(rows):
        width = max(len(r) for r in rows)
        ids = np.full((len(rows), width), cfg.pad, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for i, r in enumerate(rows):
            ids[i, width - len(r):] = r
            mask[i, width - len(r):] = 1
        return ids, mask

    return {"bos_only": batch([[cfg.bos]]),
            "short": batch([prompt(6)]),
            "long": batch([prompt(40)]),
            "batch2_left_padded": batch([prompt(13), prompt(7)])}


def position_ids(mask):
    """transformers' rule for left padding: count of real tokens before, pad positions set to 1."""
    pos = np.cumsum(mask, axis=1) - 1
    return np.where(mask == 0, 1, pos).astype(np.int64)


def empty_past(cfg, batch):
    shape = (batch, cfg.kv_heads, 0, cfg.head_dim)
    return [torch.zeros(shape) for _ in range(2 * cfg.layers)]


def greedy_with_cache(model, cfg, ids, mask, steps=MAX_NEW_TOKENS):
    """Returns (new tokens [B,steps], prefill logits [B,S,V], margins [B,steps]: the top-1 minus top-2 logit
    of each choice, how far a float difference must move to flip it). No stop at eos: every row gets
    `steps`."""
    mask = mask.copy()
    out = model(torch.from_numpy(ids), torch.from_numpy(mask), torch.from_numpy(position_ids(mask)),
                *empty_past(cfg, ids.shape[0]))
    first_logits = out[0].numpy().copy()
    tokens, margins = [], []
    for step in range(steps):
        top2 = out[0][:, -1].topk(2, dim=-1)
        nxt = top2.indices[:, 0].numpy().astype(np.int64)
        margins.append((top2.values[:, 0] - top2.values[:, 1]).numpy())
        tokens.append(nxt)
        if step == steps - 1:
            break
        mask = np.concatenate([mask, np.ones((mask.shape[0], 1), np.int64)], axis=1)
        pos = position_ids(mask)[:, -1:]
        out = model(torch.from_numpy(nxt[:, None]), torch.from_numpy(mask), torch.from_numpy(pos), *out[1:])
    return np.stack(tokens, axis=1), first_logits, np.stack(margins, axis=1)


def greedy_full_recompute(model, cfg, ids, mask, steps=MAX_NEW_TOKENS):
    """The same decoding without a cache: every step runs the whole sequence from scratch."""
    for _ in range(steps):
        out = model(torch.from_numpy(ids), torch.from_numpy(mask), torch.from_numpy(position_ids(mask)),
                    *empty_past(cfg, ids.shape[0]))
        nxt = out[0][:, -1].argmax(-1).numpy().astype(np.int64)
        ids = np.concatenate([ids, nxt[:, None]], axis=1)
        mask = np.concatenate([mask, np.ones((mask.shape[0], 1), np.int64)], axis=1)
    return ids[:, -steps:]


def reference_cases(name, cfg, model, steps=MAX_NEW_TOKENS, cross_check=True):
    """Runs every prompt; returns [(case, ids, mask, new_tokens, prefill_logits, margins)]. Raises when the
    two loops disagree."""
    cases = []
    with torch.no_grad():
        for case, (ids, mask) in prompts(name, cfg).items():
            tokens, logits, margins = greedy_with_cache(model, cfg, ids, mask, steps)
            if cross_check:
                full = greedy_full_recompute(model, cfg, ids, mask, steps)
                if not np.array_equal(full, tokens):
                    raise RuntimeError(f"{name}/{case}: KV-cache and full-recompute greedy tokens differ:\n"
                                       f"{tokens.tolist()}\n{full.tolist()}")
            cases.append((case, ids, mask, tokens, logits, margins))
    return cases


def variety(tokens):
    """Distinct tokens per row and the longest run of one repeated token: the degeneration check."""
    out = []
    for row in tokens.tolist():
        run = best = 1
        for a, b in zip(row, row[1:]):
            run = run + 1 if a == b else 1
            best = max(best, run)
        out.append(dict(distinct=len(set(row)), longest_repeat=best))
    return out
