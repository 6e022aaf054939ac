"""Contrib family cases: the com.microsoft normalization, GELU and weight-quantization ops of decoder and
encoder exports (and the ONNX RMSNormalization and Gelu they sit beside), over their input forms and
every MatMulNBits bits/block_size/zero-point combination, plus malformed nodes Tessera must refuse."""
import numpy as np
from onnx import TensorProto, helper, numpy_helper

from ort_ops_cases import MustFail, Tolerance, make_model, rng, value

F32, U8, I32, I64 = TensorProto.FLOAT, TensorProto.UINT8, TensorProto.INT32, TensorProto.INT64
TOL = Tolerance(1e-5, 1e-4)
MS = {"": 17, "com.microsoft": 1}


def _model(name, op, ins, outs, attrs, opsets, domain="", consts=()):
    """ins: [(name, elem_type, array or None)]; outs: [(name, elem_type, rank)] ('' skips an output);
    inputs named in consts become initializers."""
    node = helper.make_node(op, [n if a is not None else "" for n, _, a in ins], [o for o, _, _ in outs],
                            domain=domain or None, **attrs)
    inputs = [value(n, t, a.shape) for n, t, a in ins if a is not None and n not in consts]
    inits = [numpy_helper.from_array(a, n) for n, _, a in ins if a is not None and n in consts]
    model = make_model([node], inputs, [value(o, t, rank=r) for o, t, r in outs if o], opsets, inits)
    return name, model, {n: a for n, _, a in ins if a is not None and n not in consts}


def _rand(r, shape, lo=-1.0, hi=1.0):
    return r.uniform(lo, hi, shape).astype(np.float32)


def _norm_cases():
    for simplified in (False, True):
        op = "SkipSimplifiedLayerNormalization" if simplified else "SkipLayerNormalization"
        for broadcast in (False, True):
            for with_bias in (False, True):
                name = f"{op}_{'bcast' if broadcast else 'full'}_{'bias' if with_bias else 'nobias'}"
                r = rng(name)
                b, s, h = 2, 3, 32
                ins = [("x", F32, _rand(r, (b, s, h))), ("skip", F32, _rand(r, (s, h) if broadcast else (b, s, h))),
                       ("gamma", F32, _rand(r, (h,)))]
                if not simplified:
                    ins.append(("beta", F32, _rand(r, (h,))))
                ins.append(("bias", F32, _rand(r, (h,)) if with_bias else None))
                outs = [("y", F32, 3), ("", F32, 3), ("", F32, 3), ("sum", F32, 3)]
                yield (*_model(name, op, ins, outs, {"epsilon": 1e-5}, MS, "com.microsoft"), TOL)
    for axis in (-1, 1):
        name = f"SimplifiedLayerNormalization_axis{axis}"
        r = rng(name)
        ins = [("x", F32, _rand(r, (2, 3, 24))), ("scale", F32, _rand(r, (24,) if axis == -1 else (3, 24)))]
        yield (*_model(name, "SimplifiedLayerNormalization", ins, [("y", F32, 3)], {"axis": axis, "epsilon": 1e-5},
                       {"": 17}), TOL)
        name = f"RMSNormalization_axis{axis}"
        r = rng(name)
        ins = [("x", F32, _rand(r, (2, 3, 24))), ("scale", F32, _rand(r, (24,) if axis == -1 else (3, 24)))]
        yield (*_model(name, "RMSNormalization", ins, [("y", F32, 3)], {"axis": axis, "epsilon": 1e-5}, {"": 23}), TOL)
    name = "SkipLayerNormalization_bad_skip"
    r = rng(name)
    ins = [("x", F32, _rand(r, (2, 3, 8))), ("skip", F32, _rand(r, (3, 5))), ("gamma", F32, _rand(r, (8,))),
           ("beta", F32, _rand(r, (8,)))]
    yield (*_model(name, "SkipLayerNormalization", ins, [("y", F32, 3)], {}, MS, "com.microsoft"),
           MustFail("input 'skip'"))


def _embed_cases():
    for with_segment in (False, True):
        for with_mask in (False, True):
            for with_pos_ids in (False, True):
                name = f"EmbedLayerNormalization_seg{int(with_segment)}_mask{int(with_mask)}_pos{int(with_pos_ids)}"
                r = rng(name)
                b, s, h, vocab, positions = 2, 5, 16, 30, 8
                mask = (np.arange(s)[None, :] < np.array([[5], [3]])).astype(np.int32)
                ins = [("ids", I32, r.integers(0, vocab, (b, s), dtype=np.int32)),
                       ("seg_ids", I32, r.integers(0, 2, (b, s), dtype=np.int32) if with_segment else None),
                       ("word", F32, _rand(r, (vocab, h))), ("pos", F32, _rand(r, (positions, h))),
                       ("seg", F32, _rand(r, (2, h)) if with_segment else None),
                       ("gamma", F32, _rand(r, (h,))), ("beta", F32, _rand(r, (h,))),
                       ("mask", I32, mask if with_mask else None),
                       ("pos_ids", I32, r.integers(0, positions, (1, s), dtype=np.int32) if with_pos_ids else None)]
                outs = [("y", F32, 3), ("mask_index", I32, 1), ("sum", F32, 3)]
                yield (*_model(name, "EmbedLayerNormalization", ins, outs, {"epsilon": 1e-5}, MS, "com.microsoft",
                               consts={"word", "pos", "seg", "gamma", "beta"}), TOL)


def _gelu_cases():
    r = rng("gelu")
    x, bias = _rand(r, (3, 40), -5, 5), _rand(r, (40,))
    yield (*_model("Gelu_ms", "Gelu", [("x", F32, x)], [("y", F32, 2)], {}, MS, "com.microsoft"), TOL)
    yield (*_model("BiasGelu", "BiasGelu", [("x", F32, x), ("b", F32, bias)], [("y", F32, 2)], {}, MS,
                   "com.microsoft"), TOL)
    yield (*_model("FastGelu_bias", "FastGelu", [("x", F32, x), ("b", F32, bias)], [("y", F32, 2)], {}, MS,
                   "com.microsoft"), TOL)
    yield (*_model("FastGelu_nobias", "FastGelu", [("x", F32, x)], [("y", F32, 2)], {}, MS, "com.microsoft"), TOL)
    for approximate in ("none", "tanh"):
        yield (*_model(f"Gelu20_{approximate}", "Gelu", [("x", F32, x)], [("y", F32, 2)],
                       {"approximate": approximate}, {"": 20}), TOL)
    yield (*_model("BiasGelu_bad_bias", "BiasGelu", [("x", F32, x), ("b", F32, bias[:7])], [("y", F32, 2)], {}, MS,
                   "com.microsoft"), MustFail("last dim 40"))


def _nbits_case(bits, block, zp_form, m, k, n=24):
    name = f"MatMulNBits_b{bits}_bs{block}_zp{zp_form}_M{m}_K{k}"
    r = rng(name)
    k_blocks = (k + block - 1) // block
    blob = block * bits // 8
    b = r.integers(0, 256, (n, k_blocks, blob), dtype=np.uint8)
    scales = r.uniform(0.001, 0.05, (n * k_blocks,)).astype(np.float32)
    zp = None
    if zp_form == "packed":
        zp = r.integers(0, 256, (n * ((k_blocks * bits + 7) // 8),), dtype=np.uint8)
    elif zp_form == "float":
        zp = r.uniform(0, 2 ** bits - 1, (n * k_blocks,)).astype(np.float32)
    ins = [("a", F32, _rand(r, (m, k))), ("b", U8, b), ("scales", F32, scales),
           ("zp", U8 if zp_form == "packed" else F32, zp)]
    attrs = {"K": k, "N": n, "bits": bits, "block_size": block}
    return _model(name, "MatMulNBits", ins, [("y", F32, 2)], attrs, MS, "com.microsoft", consts={"b", "scales", "zp"})


def _nbits_exact(model, a, bits, block):
    """A @ dequant(B).T in float64 for a case of _nbits_case with packed zero points."""
    init = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    b, scales, zp = init["b"], init["scales"].astype(np.float64), init["zp"]
    n, k_blocks, _ = b.shape
    q = (b.reshape(n, -1) if bits == 8 else np.stack([b & 15, b >> 4], -1).reshape(n, -1)).astype(np.float64)
    zrow = zp.reshape(n, -1)
    z = (zrow if bits == 8 else np.stack([zrow & 15, zrow >> 4], -1).reshape(n, -1))[:, :k_blocks].astype(np.float64)
    w = (q.reshape(n, k_blocks, block) - z[:, :, None]) * scales.reshape(n, k_blocks)[:, :, None]
    return a.astype(np.float64) @ w.reshape(n, -1)[:, :a.shape[1]].T


def _quant_cases():
    for bits in (4, 8):
        for block in (16, 32, 64, 128, 256):
            # ONNX Runtime's CPU kernel takes float zero points only with 4 bits.
            for zp_form in ("none", "packed", "float") if bits == 4 else ("none", "packed"):
                for m in (1, 5):
                    k = 2 * block if m == 1 else 2 * block - 5
                    yield (*_nbits_case(bits, block, zp_form, m, k), Tolerance(1e-4, 1e-4))
    # accuracy_level 4: both quantize A to int8 for decode rows, each its own way (Tessera per weight
    # block, within 0.5% of the largest exact output here and bounded by the unit tests), so the two may
    # differ by about 1% of it; the tolerance is 2%.
    for bits in (4, 8):
        for block in (16, 32, 128):
            for m in (1, 3):
                name, model, inputs = _nbits_case(bits, block, "packed", m, 4 * block)
                model.graph.node[0].attribute.append(helper.make_attribute("accuracy_level", 4))
                scale = float(np.abs(_nbits_exact(model, inputs["a"], bits, block)).max())
                yield name + "_level4", model, inputs, Tolerance(0.02 * scale, 0.0)
    name, model, inputs = _nbits_case(4, 32, "none", 1, 64)
    model.graph.node[0].attribute[2].i = 3  # bits
    yield name + "_bits3", model, inputs, MustFail("attribute 'bits' is 3")
    for bits in (4, 8):
        for with_zp in (False, True):
            name = f"GatherBlockQuantized_b{bits}_{'zp' if with_zp else 'nozp'}"
            r = rng(name)
            rows, cols, block = 10, 64, 16
            data = r.integers(0, 256, (rows, cols // 2 if bits == 4 else cols), dtype=np.uint8)
            scales = r.uniform(0.01, 0.1, (rows, cols // block)).astype(np.float32)
            zp = r.integers(0, 256, (rows, (cols // block + 1) // 2 if bits == 4 else cols // block), dtype=np.uint8)
            ins = [("data", U8, data), ("idx", I64, np.array([[3, 0], [9, 4]], dtype=np.int64)),
                   ("scales", F32, scales), ("zp", U8, zp if with_zp else None)]
            yield (*_model(name, "GatherBlockQuantized", ins, [("y", F32, 3)], {"bits": bits, "block_size": block}, MS,
                           "com.microsoft", consts={"data", "scales", "zp"}), 1e-6)


def cases():
    yield from _norm_cases()
    yield from _embed_cases()
    yield from _gelu_cases()
    yield from _quant_cases()
