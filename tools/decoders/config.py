"""Decoder hyper-parameters, seeded weights by tensor name, and the Hugging Face config files.

Weights are drawn per tensor from a numpy RNG seeded by the model seed and the tensor's Hugging Face name,
so any form of a model (the torch module, the ORT GenAI graph, a 0.5 B model built layer by layer) gets the
same values without holding the others in memory.
"""
import dataclasses
import zlib

import numpy as np


@dataclasses.dataclass(frozen=True)
class DecoderConfig:
    arch: str                 # "gpt2" or "llama"
    vocab_size: int = 1024
    hidden: int = 128
    layers: int = 4
    heads: int = 4
    kv_heads: int = 4
    intermediate: int = 512
    context: int = 256
    rope_theta: float = 10000.0
    eps: float = 1e-5
    bos: int = 1
    eos: int = 2
    pad: int = 0
    init_std: float = 0.02    # linear layers
    embed_std: float = 0.02   # token (and position) embeddings
    seed: int = 0

    @property
    def head_dim(self):
        return self.hidden // self.heads

    def param_count(self):
        d, f, v, hd = self.hidden, self.intermediate, self.vocab_size, self.head_dim
        if self.arch == "gpt2":  # tied lm_head
            per_layer = 4 * d + (3 * d * d + 3 * d) + (d * d + d) + (d * f + f) + (f * d + d)
            return v * d + self.context * d + self.layers * per_layer + 2 * d
        kv = self.kv_heads * hd
        per_layer = 2 * d + d * d + 2 * d * kv + d * d + 3 * d * f
        return 2 * v * d + self.layers * per_layer + d


def seeded_normal(cfg, name, shape, std):
    rng = np.random.default_rng([cfg.seed, zlib.crc32(name.encode())])
    return (rng.standard_normal(shape, dtype=np.float32) * np.float32(std)).astype(np.float32)


def llama_tensor(cfg, name):
    """One Llama weight by its Hugging Face name, in torch's layout (Linear weights [out, in])."""
    d, f, hd = cfg.hidden, cfg.intermediate, cfg.head_dim
    if name == "model.embed_tokens.weight":
        return seeded_normal(cfg, name, (cfg.vocab_size, d), cfg.embed_std)
    if name == "lm_head.weight":
        return seeded_normal(cfg, name, (cfg.vocab_size, d), cfg.init_std)
    if name.endswith("norm.weight"):  # near 1, not exactly, so the scale is exercised
        return 1.0 + seeded_normal(cfg, name, (d,), 0.1)
    out_in = {"q_proj": (cfg.heads * hd, d), "k_proj": (cfg.kv_heads * hd, d),
              "v_proj": (cfg.kv_heads * hd, d), "o_proj": (d, cfg.heads * hd),
              "gate_proj": (f, d), "up_proj": (f, d), "down_proj": (d, f)}
    return seeded_normal(cfg, name, out_in[name.split(".")[-2]], cfg.init_std)


def llama_layer_names(i):
    p = f"model.layers.{i}."
    return [p + "input_layernorm.weight", p + "self_attn.q_proj.weight", p + "self_attn.k_proj.weight",
            p + "self_attn.v_proj.weight", p + "self_attn.o_proj.weight",
            p + "post_attention_layernorm.weight", p + "mlp.gate_proj.weight", p + "mlp.up_proj.weight",
            p + "mlp.down_proj.weight"]


def hf_config(cfg):
    """config.json as transformers writes it for this architecture."""
    common = dict(vocab_size=cfg.vocab_size, bos_token_id=cfg.bos, eos_token_id=cfg.eos,
                  torch_dtype="float32", transformers_version="4.40.0", use_cache=True)
    if cfg.arch == "gpt2":
        return dict(common, architectures=["GPT2LMHeadModel"], model_type="gpt2", n_embd=cfg.hidden,
                    n_layer=cfg.layers, n_head=cfg.heads, n_inner=cfg.intermediate, n_positions=cfg.context,
                    n_ctx=cfg.context, activation_function="gelu_new", layer_norm_epsilon=cfg.eps,
                    resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, scale_attn_weights=True,
                    tie_word_embeddings=True, initializer_range=cfg.init_std)
    return dict(common, architectures=["LlamaForCausalLM"], model_type="llama", hidden_size=cfg.hidden,
                intermediate_size=cfg.intermediate, num_hidden_layers=cfg.layers,
                num_attention_heads=cfg.heads, num_key_value_heads=cfg.kv_heads, head_dim=cfg.head_dim,
                max_position_embeddings=cfg.context, rope_theta=cfg.rope_theta, rope_scaling=None,
                rms_norm_eps=cfg.eps, hidden_act="silu", attention_bias=False, mlp_bias=False,
                tie_word_embeddings=False, initializer_range=cfg.init_std, pad_token_id=cfg.pad)


def generation_config(cfg):
    return dict(bos_token_id=cfg.bos, eos_token_id=cfg.eos, pad_token_id=cfg.pad, max_length=cfg.context,
                do_sample=False, transformers_version="4.40.0")
