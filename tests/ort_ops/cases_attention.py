"""Attention family cases: ONNX Attention and RotaryEmbedding (opset 23) and the com.microsoft
GroupQueryAttention, MultiHeadAttention, Attention and RotaryEmbedding ops, over their input forms, plus
malformed nodes Tessera must refuse."""
import numpy as np
from onnx import TensorProto, helper

from ort_ops_cases import MustFail, Tolerance, make_model, rng, value

F32, F16, BOOL = TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.BOOL
I32, I64 = TensorProto.INT32, TensorProto.INT64
NP = {F32: np.float32, F16: np.float16, I32: np.int32, I64: np.int64, BOOL: np.bool_}
TOL = Tolerance(2e-5, 2e-4)
TOL16 = Tolerance(3e-3, 3e-3)
MS = {"": 17, "com.microsoft": 1}


def _model(name, op, ins, outs, attrs, opsets, domain=""):
    """ins: [(name, elem_type, array or None for an omitted input)]; outs: [(name, elem_type, rank)]."""
    node = helper.make_node(op, [n if a is not None else "" for n, _, a in ins], [o for o, _, _ in outs],
                            domain=domain or None, **attrs)
    inputs = [value(n, t, a.shape) for n, t, a in ins if a is not None]
    model = make_model([node], inputs, [value(o, t, rank=r) for o, t, r in outs if o], opsets)
    return name, model, {n: a for n, _, a in ins if a is not None}


def _rand(r, shape, elem=F32, lo=-1.0, hi=1.0):
    return r.uniform(lo, hi, shape).astype(NP[elem])


def _caches(r, positions, half):
    """cos/sin of random angles: any table is a valid rotation."""
    angles = r.uniform(-3.0, 3.0, (positions, half))
    return np.cos(angles).astype(np.float32), np.sin(angles).astype(np.float32)


def onnx_attention_cases():
    specs = [
        # name, B, Hq, Hkv, S, L, P, D, Dv, rank3, attrs, mask kind, elem
        ("mha4d", 2, 4, 4, 5, 7, 0, 8, 8, False, {}, None, F32),
        ("gqa4d", 2, 8, 2, 6, 6, 0, 16, 16, False, {"is_causal": 1}, None, F32),
        ("mqa3d", 1, 4, 1, 3, 9, 0, 8, 4, True, {}, None, F32),
        ("causal_past_decode", 2, 4, 2, 1, 1, 11, 8, 8, False, {"is_causal": 1}, None, F32),
        ("causal_past_prefill", 1, 2, 2, 4, 4, 5, 8, 8, False, {"is_causal": 1}, None, F32),
        ("bool_mask_2d", 2, 2, 2, 4, 6, 0, 8, 8, False, {}, "bool2", F32),
        ("float_mask_4d", 2, 2, 2, 3, 5, 2, 8, 8, False, {}, "float4", F32),
        ("scale_softcap", 1, 2, 2, 5, 5, 0, 8, 8, False, {"scale": 0.5, "softcap": 2.0}, None, F32),
        ("softcap_causal", 1, 2, 1, 6, 6, 0, 8, 8, True, {"softcap": 3.0, "is_causal": 1}, None, F32),
        ("fp16", 2, 4, 2, 5, 5, 0, 8, 8, False, {"is_causal": 1}, None, F16),
        ("bool_mask_softcap", 1, 2, 2, 4, 6, 0, 8, 8, False, {"softcap": 1.5}, "bool2", F32),
        ("long_cache_decode", 1, 8, 2, 1, 1, 300, 32, 32, False, {"is_causal": 1}, None, F32),
    ]
    # Mode 1 (scores after the mask) is left to the unit tests: ONNX Runtime 1.31 returns the unmasked
    # product there, unlike the spec.
    for mode in (0, 2, 3):
        specs.append((f"qk_output_mode{mode}", 1, 2, 2, 3, 4, 0, 8, 8, False, {"qk_matmul_output_mode": mode},
                      "float4", F32))
    for name, B, hq, hkv, S, L, P, D, Dv, rank3, attrs, mask, elem in specs:
        name = "Attention23_" + name
        r = rng(name)
        if rank3:
            q, k, v = _rand(r, (B, S, hq * D), elem), _rand(r, (B, L, hkv * D), elem), _rand(r, (B, L, hkv * Dv), elem)
            attrs = dict(attrs, q_num_heads=hq, kv_num_heads=hkv)
        else:
            q, k, v = _rand(r, (B, hq, S, D), elem), _rand(r, (B, hkv, L, D), elem), _rand(r, (B, hkv, L, Dv), elem)
        m, mt = None, F32
        if mask == "bool2":
            m, mt = r.uniform(size=(S, P + L)) > 0.3, BOOL
            m[:, 0] = True
        elif mask == "float4":
            m, mt = _rand(r, (B, 1, S, P + L), elem, -2.0, 2.0), elem
        pk = _rand(r, (B, hkv, P, D), elem) if P else None
        pv = _rand(r, (B, hkv, P, Dv), elem) if P else None
        outs = [("Y", elem, 3 if rank3 else 4)]
        if P:
            outs += [("present_key", elem, 4), ("present_value", elem, 4)]
        if "qk_matmul_output_mode" in attrs:
            outs += [("", elem, 0), ("", elem, 0), ("qk", elem, 4)]
        ins = [("Q", elem, q), ("K", elem, k), ("V", elem, v), ("attn_mask", mt, m), ("past_key", elem, pk),
               ("past_value", elem, pv)]
        while ins[-1][2] is None:
            ins.pop()
        yield (*_model(name, "Attention", ins, outs, attrs, {"": 23}), TOL16 if elem == F16 else TOL)
    r = rng("Attention23_bad")
    q, k = _rand(r, (1, 3, 2, 8)), _rand(r, (1, 2, 2, 8))
    yield (*_model("Attention23_bad_head_ratio", "Attention", [("Q", F32, q), ("K", F32, k), ("V", F32, k)],
                   [("Y", F32, 4)], {}, {"": 23}), MustFail("not a multiple of kv_num_heads"))
    yield (*_model("Attention23_bad_mode", "Attention", [("Q", F32, q), ("K", F32, q), ("V", F32, q)],
                   [("Y", F32, 4)], {"qk_matmul_output_mode": 7}, {"": 23}), MustFail("qk_matmul_output_mode"))
    q3 = _rand(r, (1, 2, 16))
    yield (*_model("Attention23_3d_without_heads", "Attention", [("Q", F32, q3), ("K", F32, q3), ("V", F32, q3)],
                   [("Y", F32, 3)], {}, {"": 23}), MustFail("q_num_heads"))


def gqa_cases():
    specs = [
        # name, B, H, Hkv, S, P (past rows), lengths (tokens per row, or None: all equal), rotary, extra attrs
        ("prompt", 2, 4, 2, 5, 0, None, None, {}),
        ("prompt_right_padded", 2, 4, 2, 6, 0, [6, 4], None, {}),
        ("decode", 2, 8, 2, 1, 9, None, None, {}),
        ("decode_ragged", 3, 4, 1, 1, 12, [13, 7, 10], None, {}),
        ("continue_prompt", 1, 4, 2, 3, 5, None, None, {}),
        ("packed_qkv", 2, 4, 2, 4, 0, None, None, {}),
        ("rotary", 1, 4, 2, 3, 4, None, "half", {}),
        ("rotary_decode_interleaved", 2, 4, 2, 1, 6, None, "interleaved", {}),
        ("rotary_interleaved_prompt", 1, 4, 4, 5, 0, None, "interleaved", {}),
        ("local_window", 1, 4, 2, 8, 0, None, None, {"local_window_size": 3}),
        ("softcap_scale", 1, 2, 1, 4, 3, None, None, {"softcap": 5.0, "scale": 0.3}),
        ("long_decode", 1, 8, 2, 1, 255, None, None, {}),
        ("fp16_decode", 2, 4, 2, 1, 7, None, None, {}),
    ]
    for name, B, H, Hkv, S, P, lengths, rotary, extra in specs:
        name = "GroupQueryAttention_" + name
        r = rng(name)
        D = 32 if rotary == "interleaved" else 16
        E = F16 if "fp16" in name else F32
        tokens = np.array(lengths if lengths else [P + S] * B, dtype=np.int32)
        total = S if P == 0 else int(tokens.max())
        attrs = dict(extra, num_heads=H, kv_num_heads=Hkv)
        if name.endswith("packed_qkv"):
            qkv = [("query", E, _rand(r, (B, S, (H + 2 * Hkv) * D), E)), ("key", E, None), ("value", E, None)]
        else:
            qkv = [("query", E, _rand(r, (B, S, H * D), E)), ("key", E, _rand(r, (B, S, Hkv * D), E)),
                   ("value", E, _rand(r, (B, S, Hkv * D), E))]
        past = [("past_key", E, _rand(r, (B, Hkv, P, D), E) if P else None),
                ("past_value", E, _rand(r, (B, Hkv, P, D), E) if P else None)]
        ins = qkv + past + [("seqlens_k", I32, tokens - 1), ("total_sequence_length", I32, np.array(total, np.int32))]
        if rotary:
            # ORT wants rotary_dim / 2 a multiple of 8: a full rotation here, half the head when interleaved.
            cos, sin = _caches(r, 64, D // 2 if rotary == "half" else D // 4)
            ins += [("cos_cache", F32, cos), ("sin_cache", F32, sin)]
            attrs.update(do_rotary=1, rotary_interleaved=int(rotary == "interleaved"))
        # Present rows past a ragged row's tokens are not defined by ORT: only the output is compared there.
        outs = [("output", E, 3)] + ([("present_key", E, 4), ("present_value", E, 4)] if not lengths else
                                      [("pk", E, 0), ("pv", E, 0)])
        n, m, feeds = _model(name, "GroupQueryAttention", ins, outs, attrs, MS, "com.microsoft")
        if lengths:
            del m.graph.output[1:]
        yield n, m, feeds, TOL16 if E == F16 else TOL
    r = rng("GroupQueryAttention_bad")
    q = _rand(r, (1, 2, 3 * 8))
    ins = [("query", F32, q), ("key", F32, _rand(r, (1, 2, 8))), ("value", F32, _rand(r, (1, 2, 8))), ("pk", F32, None),
           ("pv", F32, None), ("seqlens_k", I32, np.array([1], np.int32)),
           ("total_sequence_length", I32, np.array(2, np.int32))]
    outs = [("output", F32, 3), ("present_key", F32, 4), ("present_value", F32, 4)]
    yield (*_model("GroupQueryAttention_bad_heads", "GroupQueryAttention", ins, outs,
                   {"num_heads": 3, "kv_num_heads": 2}, MS, "com.microsoft"), MustFail("multiple of kv_num_heads"))
    ins64 = ins[:5] + [("seqlens_k", I64, np.array([1], np.int64))] + ins[6:]
    yield (*_model("GroupQueryAttention_seqlens_int64", "GroupQueryAttention", ins64, outs,
                   {"num_heads": 3, "kv_num_heads": 1}, MS, "com.microsoft"), MustFail("seqlens_k must be int32"))
    ins_long = ins[:5] + [("seqlens_k", I32, np.array([9], np.int32))] + ins[6:]
    yield (*_model("GroupQueryAttention_seqlens_past_total", "GroupQueryAttention", ins_long, outs,
                   {"num_heads": 3, "kv_num_heads": 1}, MS, "com.microsoft"), MustFail("does not fit"))


def mha_cases():
    specs = [
        # name, B, H, S, L, P, D, Dv, form, bias, key padding mask, attention_bias, unidirectional
        ("plain", 2, 4, 5, 7, 0, 8, 8, "3d", False, None, False, 0),
        ("bias_lengths_mask", 2, 2, 4, 6, 0, 8, 4, "3d", True, "lengths", False, 0),
        ("raw_mask_attention_bias", 2, 2, 3, 5, 0, 8, 8, "3d", False, "raw", True, 0),
        ("past_unidirectional", 2, 2, 3, 3, 4, 8, 8, "3d", True, None, False, 1),
        ("decode_past_mask", 2, 4, 1, 1, 6, 8, 8, "3d", False, "raw", False, 1),
        ("bnsh_kv", 1, 2, 4, 9, 0, 8, 8, "bnsh", False, None, True, 0),
        # ORT's CPU kernel has no packed QKV or packed KV forms: the unit tests cover them.
    ]
    for name, B, H, S, L, P, D, Dv, form, bias, mask, abias, uni in specs:
        name = "MultiHeadAttention_" + name
        r = rng(name)
        total = P + L
        q, k, v = _rand(r, (B, S, H * D)), _rand(r, (B, L, H * D)), _rand(r, (B, L, H * Dv))
        if form == "bnsh":
            k, v = _rand(r, (B, H, L, D)), _rand(r, (B, H, L, Dv))
        elif form == "qkv":
            q, k, v = _rand(r, (B, S, H, 3, D)), None, None
        elif form == "kv":
            k, v = _rand(r, (B, L, H, 2, D)), None
        m = None
        if mask == "lengths":
            m = r.integers(1, total + 1, (B,)).astype(np.int32)
        elif mask == "raw":
            m = (r.uniform(size=(B, total)) > 0.3).astype(np.int32)
            m[:, 0] = 1
        ins = [("query", F32, q), ("key", F32, k), ("value", F32, v),
               ("bias", F32, _rand(r, (H * (2 * D + Dv),)) if bias else None), ("key_padding_mask", I32, m),
               ("attention_bias", F32, _rand(r, (1, H, S, total)) if abias else None),
               ("past_key", F32, _rand(r, (B, H, P, D)) if P else None),
               ("past_value", F32, _rand(r, (B, H, P, Dv)) if P else None)]
        while ins[-1][2] is None:
            ins.pop()
        outs = [("output", F32, 3)] + ([("present_key", F32, 4), ("present_value", F32, 4)] if P else [])
        yield (*_model(name, "MultiHeadAttention", ins, outs, {"num_heads": H, "unidirectional": uni}, MS,
                       "com.microsoft"), TOL)
    r = rng("MultiHeadAttention_bad")
    yield (*_model("MultiHeadAttention_bad_key", "MultiHeadAttention",
                   [("query", F32, _rand(r, (1, 2, 8))), ("key", F32, _rand(r, (1, 3, 6))),
                    ("value", F32, _rand(r, (1, 3, 8)))],
                   [("output", F32, 3)], {"num_heads": 2}, MS, "com.microsoft"), MustFail("key [1,3,6]"))


def bert_attention_cases():
    specs = [
        # name, B, S, hidden_in, H, (q, k, v) sizes, mask form, P, unidirectional
        ("plain", 2, 5, 16, 2, (16, 16, 16), None, 0, 0),
        ("mask_lengths", 2, 6, 12, 3, (12, 12, 12), "lengths", 0, 0),
        ("mask_ranges", 2, 6, 8, 2, (8, 8, 8), "ranges", 0, 0),
        ("mask_raw_2d", 3, 4, 8, 2, (8, 8, 8), "raw2", 0, 0),
        ("mask_raw_3d", 2, 4, 8, 2, (8, 8, 8), "raw3", 0, 0),
        ("qkv_hidden_sizes", 1, 5, 10, 2, (8, 8, 12), None, 0, 0),
        ("past_unidirectional", 2, 3, 8, 2, (8, 8, 8), None, 4, 1),
    ]
    for name, B, S, hin, H, (qh, kh, vh), mask, P, uni in specs:
        name = "BertAttention_" + name
        r = rng(name)
        total = P + S
        m = None
        if mask == "lengths":
            m = r.integers(1, total + 1, (B,)).astype(np.int32)
        elif mask == "ranges":
            m = np.concatenate([r.integers(3, total + 1, (B,)), r.integers(0, 3, (B,))]).astype(np.int32)
        elif mask in ("raw2", "raw3"):
            m = (r.uniform(size=(B, total) if mask == "raw2" else (B, S, total)) > 0.3).astype(np.int32)
            m[..., 0] = 1
        ins = [("input", F32, _rand(r, (B, S, hin))), ("weights", F32, _rand(r, (hin, qh + kh + vh), F32, -0.5, 0.5)),
               ("bias", F32, _rand(r, (qh + kh + vh,))), ("mask_index", I32, m),
               ("past", F32, _rand(r, (2, B, H, P, qh // H)) if P else None)]
        while ins[-1][2] is None:
            ins.pop()
        attrs = {"num_heads": H, "unidirectional": uni}
        if (qh, kh, vh) != (qh, qh, qh):
            attrs["qkv_hidden_sizes"] = [qh, kh, vh]
        outs = [("output", F32, 3)] + ([("present", F32, 5)] if P else [])
        yield (*_model(name, "Attention", ins, outs, attrs, MS, "com.microsoft"), Tolerance(5e-5, 5e-4))
    r = rng("BertAttention_bad")
    yield (*_model("BertAttention_bad_weights", "Attention",
                   [("input", F32, _rand(r, (1, 2, 8))), ("weights", F32, _rand(r, (8, 20))),
                    ("bias", F32, _rand(r, (20,)))],
                   [("output", F32, 3)], {"num_heads": 3}, MS, "com.microsoft"), MustFail("multiple of num_heads"))


def rotary_cases():
    specs = [
        # name, microsoft, B, H, S, D, rotary_dim, interleaved, rank, position form
        ("ms_3d_half", True, 2, 2, 5, 16, 0, 0, 3, "ids"),
        ("ms_4d_interleaved", True, 2, 3, 4, 8, 0, 1, 4, "ids"),
        ("ms_partial_offset", True, 1, 2, 6, 16, 8, 0, 3, "offset"),
        ("onnx_4d_ids", False, 2, 2, 5, 16, 0, 0, 4, "ids"),
        ("onnx_3d_interleaved_partial", False, 2, 4, 3, 8, 4, 1, 3, "ids"),
        ("onnx_no_ids", False, 2, 2, 4, 8, 0, 0, 4, "none"),
    ]
    for name, ms, B, H, S, D, rd, inter, rank, pos in specs:
        name = "RotaryEmbedding_" + name
        r = rng(name)
        half = (rd or D) // 2
        x = _rand(r, (B, S, H * D) if rank == 3 else (B, H, S, D))
        if pos == "none":
            angles = r.uniform(-3, 3, (B, S, half))
            cos, sin, ids = np.cos(angles).astype(np.float32), np.sin(angles).astype(np.float32), None
        else:
            cos, sin = _caches(r, 32, half)
            ids = r.integers(0, 32, (B, S)).astype(np.int64) if pos == "ids" else np.array([7], np.int64)
        attrs = {"interleaved": inter}
        if rd:
            attrs["rotary_embedding_dim"] = rd
        if rank == 3 and (rd or not ms):
            attrs["num_heads"] = H
        if ms:
            ins = [("input", F32, x), ("position_ids", I64, ids), ("cos_cache", F32, cos), ("sin_cache", F32, sin)]
            yield (*_model(name, "RotaryEmbedding", ins, [("output", F32, rank)], attrs, MS, "com.microsoft"), TOL)
        else:
            ins = [("X", F32, x), ("cos_cache", F32, cos), ("sin_cache", F32, sin), ("position_ids", I64, ids)]
            if ids is None:
                ins.pop()
            yield (*_model(name, "RotaryEmbedding", ins, [("Y", F32, rank)], attrs, {"": 23}), TOL)
    r = rng("RotaryEmbedding_bad")
    cos, sin = _caches(r, 8, 3)
    yield (*_model("RotaryEmbedding_bad_cache_width", "RotaryEmbedding",
                   [("X", F32, _rand(r, (1, 2, 3, 8))), ("cos_cache", F32, cos), ("sin_cache", F32, sin),
                    ("position_ids", I64, np.zeros((1, 3), np.int64))], [("Y", F32, 4)], {}, {"": 23}),
           MustFail("rotary_dim / 2"))


def fused_pattern_cases():
    """Plain-op attention as torch 1.13 exports it, which Tessera fuses into one node (attention_fusion)."""
    specs = (("gpt2_where_mask", 2, 3, 5, 4, 16, True), ("plain_scale", 1, 4, 7, 0, 8, False))
    for name, B, H, S, P, D, where in specs:
        name = "FusedAttentionPattern_" + name
        r = rng(name)
        L = S + P
        nodes = [helper.make_node("Transpose", ["k"], ["kt"], perm=[0, 1, 3, 2]),
                 helper.make_node("MatMul", ["q", "kt"], ["s"]), helper.make_node("Div", ["s", "c"], ["d"])]
        inputs = {"q": _rand(r, (B, H, S, D)), "k": _rand(r, (B, H, L, D)), "v": _rand(r, (B, H, L, D))}
        scores = "d"
        if where:
            nodes += [helper.make_node("Where", ["cond", "d", "fill"], ["w"]),
                      helper.make_node("Add", ["w", "mask"], ["a"])]
            inputs["cond"] = np.tril(np.ones((S, L), bool), k=P)
            inputs["mask"] = _rand(r, (B, 1, 1, L), F32, -2.0, 0.0)
            scores = "a"
        nodes += [helper.make_node("Softmax", [scores], ["p"], axis=-1), helper.make_node("MatMul", ["p", "v"], ["y"])]
        types = {"cond": BOOL}
        model = make_model(nodes, [value(n, types.get(n, F32), a.shape) for n, a in inputs.items()],
                           [value("y", F32, (B, H, S, D))], {"": 17},
                           [helper.make_tensor("c", F32, [], [float(np.sqrt(D))]),
                            helper.make_tensor("fill", F32, [], [float(np.finfo(np.float32).min)])])
        yield name, model, inputs, TOL


def cases():
    yield from onnx_attention_cases()
    yield from gqa_cases()
    yield from mha_cases()
    yield from bert_attention_cases()
    yield from rotary_cases()
    yield from fused_pattern_cases()
