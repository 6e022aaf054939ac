"""GPT-2 and Llama in plain torch, with the Optimum "decoder with past" calling convention.

forward(input_ids [B,S] int64, attention_mask [B,P+S] int64, position_ids [B,S] int64,
        past.0.key, past.0.value, ... [B,kv_heads,P,head_dim] float32)
    -> (logits [B,S,vocab], present.0.key, present.0.value, ... [B,kv_heads,P+S,head_dim])

With no past tensors at all (the "without past" model of a merged decoder) the attention uses only the new
keys. Masking: a query at absolute position P+i sees key j when j <= P+i and attention_mask[b, j] == 1; a row
with nothing visible (a left-pad query) gets uniform weights instead of NaN, as in transformers.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import llama_layer_names, llama_tensor, seeded_normal


def visible_keys(attention_mask, seq_len):
    """[B,1,S,T] bool: causal and not padding. Positions come from the mask's length, so the same graph
    serves past lengths 0 and > 0."""
    total = attention_mask.shape[1]
    key_pos = torch.arange(total, device=attention_mask.device)
    query_pos = key_pos[total - seq_len:]
    causal = key_pos[None, :] <= query_pos[:, None]
    return causal[None, None, :, :] & (attention_mask[:, None, None, :] > 0)


def attend(q, k, v, visible):
    """q [B,H,S,D], k/v [B,KV,T,D] (KV divides H; heads share keys in groups, as Llama's repeat_kv)."""
    b, kv_heads, t, d = k.shape
    rep = q.shape[1] // kv_heads
    if rep > 1:
        k = k[:, :, None].expand(b, kv_heads, rep, t, d).reshape(b, kv_heads * rep, t, d)
        v = v[:, :, None].expand(b, kv_heads, rep, t, d).reshape(b, kv_heads * rep, t, d)
    scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(d)
    scores = torch.where(visible, scores, torch.tensor(torch.finfo(scores.dtype).min))
    ctx = torch.matmul(torch.softmax(scores, dim=-1), v)          # [B,H,S,D]
    return ctx.transpose(1, 2).reshape(ctx.shape[0], ctx.shape[2], -1)


def with_past(k, v, past, layer):
    if past:
        k = torch.cat([past[2 * layer], k], dim=2)
        v = torch.cat([past[2 * layer + 1], v], dim=2)
    return k, v


class GPT2Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d = cfg.hidden
        self.heads = cfg.heads
        self.ln_1 = nn.LayerNorm(d, eps=cfg.eps)
        self.c_attn = nn.Linear(d, 3 * d)
        self.attn_proj = nn.Linear(d, d)
        self.ln_2 = nn.LayerNorm(d, eps=cfg.eps)
        self.c_fc = nn.Linear(d, cfg.intermediate)
        self.mlp_proj = nn.Linear(cfg.intermediate, d)

    def forward(self, x, visible, past, layer):
        b, s, d = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(d, dim=2)
        q, k, v = (t.reshape(b, s, self.heads, d // self.heads).transpose(1, 2) for t in (q, k, v))
        k, v = with_past(k, v, past, layer)
        x = x + self.attn_proj(attend(q, k, v, visible))
        x = x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))
        return x, k, v


class GPT2(nn.Module):
    """GPT-2: learned absolute positions, pre-LayerNorm blocks, GELU (tanh) MLP, lm_head tied to wte."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.wte = nn.Embedding(cfg.vocab_size, cfg.hidden)
        self.wpe = nn.Embedding(cfg.context, cfg.hidden)
        self.h = nn.ModuleList(GPT2Block(cfg) for _ in range(cfg.layers))
        self.ln_f = nn.LayerNorm(cfg.hidden, eps=cfg.eps)
        with torch.no_grad():
            for name, p in self.named_parameters():
                if name.endswith("bias"):
                    std = 0.02
                    value = seeded_normal(cfg, name, tuple(p.shape), std)
                elif ".ln_" in name or name.startswith("ln_"):
                    value = 1.0 + seeded_normal(cfg, name, tuple(p.shape), 0.1)
                else:
                    std = cfg.embed_std if name.startswith("w") else cfg.init_std
                    value = seeded_normal(cfg, name, tuple(p.shape), std)
                p.copy_(torch.from_numpy(value))

    def forward(self, input_ids, attention_mask, position_ids, *past):
        x = self.wte(input_ids) + self.wpe(position_ids)
        visible = visible_keys(attention_mask, input_ids.shape[1])
        present = []
        for i, block in enumerate(self.h):
            x, k, v = block(x, visible, past, i)
            present += [k, v]
        logits = torch.matmul(self.ln_f(x), self.wte.weight.t())
        return (logits, *present)


class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


class LlamaBlock(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, hd = cfg.hidden, cfg.head_dim
        self.cfg = cfg
        self.input_layernorm = RMSNorm(d, cfg.eps)
        self.q_proj = nn.Linear(d, cfg.heads * hd, bias=False)
        self.k_proj = nn.Linear(d, cfg.kv_heads * hd, bias=False)
        self.v_proj = nn.Linear(d, cfg.kv_heads * hd, bias=False)
        self.o_proj = nn.Linear(cfg.heads * hd, d, bias=False)
        self.post_attention_layernorm = RMSNorm(d, cfg.eps)
        self.gate_proj = nn.Linear(d, cfg.intermediate, bias=False)
        self.up_proj = nn.Linear(d, cfg.intermediate, bias=False)
        self.down_proj = nn.Linear(cfg.intermediate, d, bias=False)

    def forward(self, x, cos, sin, visible, past, layer):
        b, s, _ = x.shape
        hd = self.cfg.head_dim
        h = self.input_layernorm(x)
        q = self.q_proj(h).reshape(b, s, self.cfg.heads, hd).transpose(1, 2)
        k = self.k_proj(h).reshape(b, s, self.cfg.kv_heads, hd).transpose(1, 2)
        v = self.v_proj(h).reshape(b, s, self.cfg.kv_heads, hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k, v = with_past(k, v, past, layer)
        x = x + self.o_proj(attend(q, k, v, visible))
        h = self.post_attention_layernorm(x)
        x = x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))
        return x, k, v


class Llama(nn.Module):
    """Llama: RMSNorm, RoPE (rotate_half, theta from cfg), SwiGLU MLP, grouped-query attention, no biases,
    untied lm_head. Parameters are loaded from config.llama_tensor under their Hugging Face names."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden)
        self.layers = nn.ModuleList(LlamaBlock(cfg) for _ in range(cfg.layers))
        self.norm = RMSNorm(cfg.hidden, cfg.eps)
        self.lm_head = nn.Linear(cfg.hidden, cfg.vocab_size, bias=False)
        inv_freq = 1.0 / cfg.rope_theta ** (torch.arange(0, cfg.head_dim, 2, dtype=torch.float32) / cfg.head_dim)
        self.register_buffer("inv_freq", inv_freq, persistent=False)
        self.load_seeded()

    def load_seeded(self):
        own = {"model.embed_tokens.weight": self.embed_tokens.weight, "model.norm.weight": self.norm.weight,
               "lm_head.weight": self.lm_head.weight}
        for i, block in enumerate(self.layers):
            params = [block.input_layernorm.weight, block.q_proj.weight, block.k_proj.weight,
                      block.v_proj.weight, block.o_proj.weight, block.post_attention_layernorm.weight,
                      block.gate_proj.weight, block.up_proj.weight, block.down_proj.weight]
            own.update(zip(llama_layer_names(i), params))
        with torch.no_grad():
            for name, p in own.items():
                p.copy_(torch.from_numpy(llama_tensor(self.cfg, name)))

    def forward(self, input_ids, attention_mask, position_ids, *past):
        x = self.embed_tokens(input_ids)
        freqs = position_ids[:, None, :, None].float() * self.inv_freq          # [B,1,S,D/2]
        emb = torch.cat([freqs, freqs], dim=-1)
        cos, sin = emb.cos(), emb.sin()
        visible = visible_keys(attention_mask, input_ids.shape[1])
        present = []
        for i, block in enumerate(self.layers):
            x, k, v = block(x, cos, sin, visible, past, i)
            present += [k, v]
        return (self.lm_head(self.norm(x)), *present)


def build_torch(cfg):
    return (GPT2 if cfg.arch == "gpt2" else Llama)(cfg).eval()
