"""Llama in the form onnxruntime-genai's model builder writes, built with the onnx helper from the seeded
weights (config.llama_tensor), plus its genai_config.json.

Per layer: SkipSimplifiedLayerNormalization (com.microsoft; SimplifiedLayerNormalization for the first),
q/k/v projections (MatMul on [K, N] weights, or MatMulNBits), RotaryEmbedding (com.microsoft, rotate_half,
cos/sin caches [context, head_dim / 2] gathered by position_ids), GroupQueryAttention (com.microsoft, the
growing-buffer form: past [B, kv, P, D] in, present [B, kv, P + S, D] out; seqlens_k = sum(mask) - 1 as
int32 [B], total_sequence_length = mask length as an int32 scalar), o_proj, SwiGLU as Sigmoid * Mul.
"""
import json
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .config import llama_layer_names, llama_tensor
from .nbits import quantize

OPSET = 17
MS = "com.microsoft"


class Graph:
    def __init__(self):
        self.nodes, self.inits = [], []

    def const(self, name, array):
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def op(self, op_type, inputs, outputs, name, domain="", **attrs):
        outs = outputs if isinstance(outputs, list) else [outputs]
        self.nodes.append(helper.make_node(op_type, inputs, outs, name=name, domain=domain, **attrs))
        return outputs


def projection(g, x, weight_name, w, bits, out):
    """x @ w.T for a torch-layout weight w [N, K]."""
    n, k = w.shape
    base = weight_name.replace(".weight", "")
    if bits is None:
        return g.op("MatMul", [x, g.const(weight_name, w.T)], out, f"/{base}/MatMul")
    packed, scales, zp = quantize(w, bits, 32)
    return g.op("MatMulNBits", [x, g.const(base + ".qweight", packed), g.const(base + ".scales", scales),
                                g.const(base + ".qzeros", zp)], out, f"/{base}/MatMulNBits", domain=MS,
                K=k, N=n, bits=bits, block_size=32, accuracy_level=0)


def rope_caches(cfg):
    inv_freq = 1.0 / cfg.rope_theta ** (np.arange(0, cfg.head_dim, 2, dtype=np.float32) / cfg.head_dim)
    freqs = np.arange(cfg.context, dtype=np.float32)[:, None] * inv_freq[None, :]
    return np.cos(freqs).astype(np.float32), np.sin(freqs).astype(np.float32)


def build_graph(cfg, bits=None):
    g = Graph()
    hd, L = cfg.head_dim, cfg.layers
    f32, i64 = TensorProto.FLOAT, TensorProto.INT64
    inputs = [helper.make_tensor_value_info("input_ids", i64, ["batch_size", "sequence_length"]),
              helper.make_tensor_value_info("attention_mask", i64, ["batch_size", "total_sequence_length"]),
              helper.make_tensor_value_info("position_ids", i64, ["batch_size", "sequence_length"])]
    outputs = [helper.make_tensor_value_info("logits", f32, ["batch_size", "sequence_length", cfg.vocab_size])]
    for i in range(L):
        for kind in ("key", "value"):
            inputs.append(helper.make_tensor_value_info(f"past_key_values.{i}.{kind}", f32,
                                                        ["batch_size", cfg.kv_heads, "past_sequence_length", hd]))
            outputs.append(helper.make_tensor_value_info(f"present.{i}.{kind}", f32,
                                                         ["batch_size", cfg.kv_heads, "total_sequence_length", hd]))

    x = g.op("Gather", [g.const("model.embed_tokens.weight", llama_tensor(cfg, "model.embed_tokens.weight")),
                        "input_ids"], "/model/embed_tokens/output_0", "/model/embed_tokens/Gather")
    # attention mask -> GQA's per-row valid length minus one, and the total length
    g.op("ReduceSum", ["attention_mask", g.const("/model/constants/axis_1", np.array([1], np.int64))],
         "/model/attn_mask_reformat/sum", "/model/attn_mask_reformat/ReduceSum", keepdims=0)
    g.op("Sub", ["/model/attn_mask_reformat/sum", g.const("/model/constants/one", np.array(1, np.int64))],
         "/model/attn_mask_reformat/sub", "/model/attn_mask_reformat/Sub")
    g.op("Cast", ["/model/attn_mask_reformat/sub"], "seqlens_k", "/model/attn_mask_reformat/Cast", to=TensorProto.INT32)
    g.op("Shape", ["attention_mask"], "/model/attn_mask_reformat/shape", "/model/attn_mask_reformat/Shape")
    g.op("Gather", ["/model/attn_mask_reformat/shape", g.const("/model/constants/index_1", np.array(1, np.int64))],
         "/model/attn_mask_reformat/total", "/model/attn_mask_reformat/Gather", axis=0)
    g.op("Cast", ["/model/attn_mask_reformat/total"], "total_seq_len", "/model/attn_mask_reformat/Cast_1",
         to=TensorProto.INT32)
    cos, sin = rope_caches(cfg)
    g.const("cos_cache", cos)
    g.const("sin_cache", sin)

    residual, mlp_out = x, None
    for i in range(L):
        names = llama_layer_names(i)
        w = {n.split(".", 3)[3].replace(".weight", ""): n for n in names}
        p = f"/model/layers.{i}"
        norm_in = g.const(w["input_layernorm"], llama_tensor(cfg, w["input_layernorm"]))
        if i == 0:
            h = g.op("SimplifiedLayerNormalization", [x, norm_in], f"{p}/input_layernorm/output_0",
                     f"{p}/input_layernorm/LayerNorm", axis=-1, epsilon=cfg.eps, stash_type=1)
        else:
            h, residual = f"{p}/input_layernorm/output_0", f"{p}/input_layernorm/output_3"
            g.op("SkipSimplifiedLayerNormalization", [mlp_out, residual_prev, norm_in], [h, "", "", residual],
                 f"{p}/input_layernorm/SkipLayerNorm", domain=MS, epsilon=cfg.eps)
        qkv = {}
        for kind in ("q", "k", "v"):
            key = f"self_attn.{kind}_proj"
            qkv[kind] = projection(g, h, w[key], llama_tensor(cfg, w[key]), bits, f"{p}/attn/{kind}_proj/output_0")
        for kind, heads in (("q", cfg.heads), ("k", cfg.kv_heads)):
            qkv[kind] = g.op("RotaryEmbedding", [qkv[kind], "position_ids", "cos_cache", "sin_cache"],
                             f"{p}/attn/{kind}_rotary/output_0", f"{p}/attn/{kind}_rotary/RotaryEmbedding",
                             domain=MS, interleaved=0, num_heads=heads)
        g.op("GroupQueryAttention", [qkv["q"], qkv["k"], qkv["v"], f"past_key_values.{i}.key",
                                     f"past_key_values.{i}.value", "seqlens_k", "total_seq_len"],
             [f"{p}/attn/GroupQueryAttention/output_0", f"present.{i}.key", f"present.{i}.value"],
             f"{p}/attn/GroupQueryAttention", domain=MS, num_heads=cfg.heads, kv_num_heads=cfg.kv_heads,
             scale=float(1.0 / np.sqrt(hd)), local_window_size=-1, do_rotary=0)
        o = projection(g, f"{p}/attn/GroupQueryAttention/output_0", w["self_attn.o_proj"],
                       llama_tensor(cfg, w["self_attn.o_proj"]), bits, f"{p}/attn/o_proj/output_0")
        h2, residual_prev = f"{p}/post_attention_layernorm/output_0", f"{p}/post_attention_layernorm/output_3"
        norm_post = g.const(w["post_attention_layernorm"], llama_tensor(cfg, w["post_attention_layernorm"]))
        g.op("SkipSimplifiedLayerNormalization", [o, residual, norm_post], [h2, "", "", residual_prev],
             f"{p}/post_attention_layernorm/SkipLayerNorm", domain=MS, epsilon=cfg.eps)
        gate, up = (projection(g, h2, w[key], llama_tensor(cfg, w[key]), bits, f"{p}/{key.replace('.', '/')}/output_0")
                    for key in ("mlp.gate_proj", "mlp.up_proj"))
        g.op("Sigmoid", [gate], f"{p}/mlp/act_fn/Sigmoid/output_0", f"{p}/mlp/act_fn/Sigmoid")
        g.op("Mul", [gate, f"{p}/mlp/act_fn/Sigmoid/output_0"], f"{p}/mlp/act_fn/output_0", f"{p}/mlp/act_fn/Mul")
        g.op("Mul", [f"{p}/mlp/act_fn/output_0", up], f"{p}/mlp/Mul/output_0", f"{p}/mlp/Mul")
        mlp_out = projection(g, f"{p}/mlp/Mul/output_0", w["mlp.down_proj"], llama_tensor(cfg, w["mlp.down_proj"]),
                             bits, f"{p}/mlp/down_proj/output_0")
    g.op("SkipSimplifiedLayerNormalization",
         [mlp_out, residual_prev, g.const("model.norm.weight", llama_tensor(cfg, "model.norm.weight"))],
         ["/model/norm/output_0", "", "", ""], "/model/norm/SkipLayerNorm", domain=MS, epsilon=cfg.eps)
    projection(g, "/model/norm/output_0", "lm_head.weight", llama_tensor(cfg, "lm_head.weight"), bits, "logits")
    graph = helper.make_graph(g.nodes, "llama_genai", inputs, outputs, initializer=g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid(MS, 1)],
                              producer_name="tessera-export-decoders")
    model.ir_version = 8
    return model


def genai_config(cfg):
    """genai_config.json in onnxruntime-genai's schema."""
    return {
        "model": {
            "bos_token_id": cfg.bos, "context_length": cfg.context, "eos_token_id": cfg.eos,
            "pad_token_id": cfg.pad, "type": "llama", "vocab_size": cfg.vocab_size,
            "decoder": {
                "session_options": {"log_id": "onnxruntime-genai", "provider_options": []},
                "filename": "model.onnx", "head_size": cfg.head_dim, "hidden_size": cfg.hidden,
                "num_attention_heads": cfg.heads, "num_hidden_layers": cfg.layers,
                "num_key_value_heads": cfg.kv_heads,
                "inputs": {"input_ids": "input_ids", "attention_mask": "attention_mask",
                           "position_ids": "position_ids", "past_key_names": "past_key_values.%d.key",
                           "past_value_names": "past_key_values.%d.value"},
                "outputs": {"logits": "logits", "present_key_names": "present.%d.key",
                            "present_value_names": "present.%d.value"},
            },
        },
        "search": {"diversity_penalty": 0.0, "do_sample": False, "early_stopping": True, "length_penalty": 1.0,
                   "max_length": cfg.context, "min_length": 0, "no_repeat_ngram_size": 0, "num_beams": 1,
                   "num_return_sequences": 1, "past_present_share_buffer": False, "repetition_penalty": 1.0,
                   "temperature": 1.0, "top_k": 1, "top_p": 1.0},
    }


def write(cfg, out_dir, bits=None, accuracy_level=0):
    """model.onnx (weights inline up to 256 MB, else in model.onnx.data) and genai_config.json.
    accuracy_level goes on every MatMulNBits: 4 (int8 compute) is what the GenAI builder writes for CPU."""
    os.makedirs(out_dir, exist_ok=True)
    model = build_graph(cfg, bits)
    for node in model.graph.node:
        for attr in node.attribute:
            if node.op_type == "MatMulNBits" and attr.name == "accuracy_level":
                attr.i = accuracy_level
    path = os.path.join(out_dir, "model.onnx")
    external = sum(t.ByteSize() for t in model.graph.initializer) > (256 << 20)
    onnx.save_model(model, path, save_as_external_data=external, all_tensors_to_one_file=True,
                    location="model.onnx.data", size_threshold=1024)
    with open(os.path.join(out_dir, "genai_config.json"), "w") as f:
        json.dump(genai_config(cfg), f, indent=4)
        f.write("\n")
