#!/usr/bin/python3
"""Builds small ONNX models in the style of older exporters (paddle2onnx, early PyTorch/TF converters):
opsets 9, 10 and 11, IR version 6 or lower, ops and op versions whose semantics changed later.

usage: /usr/bin/python3 tools/make_legacy_models.py OUT_DIR [--only NAME[,NAME...]] [--list] [--no-cross-check]

Each model is written as OUT_DIR/<name>/model.onnx, inputs/<input>.npy and expected/<output>.npy (the same
layout as tools/export_models.py). The expected outputs come from the numpy reference implementations in
this file (computed in float64, stored as float32). Unless --no-cross-check is given, every reference is
first checked against an independent implementation: PyTorch (conv_transpose, interpolate, batch_norm,
pad, softmax), numpy's own slicing, and the reference resize code shipped with onnx's backend tests; a
disagreement is an error and nothing is written for that model.

Generation takes a second or two, so models are always rebuilt (each folder is written under a temporary
name and renamed into place).
"""
import argparse
import collections
import os
import shutil
import sys

import numpy as np

try:
    import onnx
    from onnx import TensorProto, helper, numpy_helper
except ImportError as e:  # pragma: no cover
    sys.exit(f"make_legacy_models.py: {e}; run it with /usr/bin/python3 (needs python3-onnx)")

INT64_MAX = np.iinfo(np.int64).max
INT64_MIN = np.iinfo(np.int64).min
IR_FOR_OPSET = {9: 4, 10: 5, 11: 6}

# ----------------------------------------------------------------------------------------------------
# numpy reference implementations (float64 inside)
# ----------------------------------------------------------------------------------------------------


def f32(v):
    """An attribute value as the float32 the model stores."""
    return float(np.float32(v))


def ref_hardsigmoid(x, alpha=0.2, beta=0.5):
    return np.clip(f32(alpha) * x.astype(np.float64) + f32(beta), 0.0, 1.0)


def ref_clip(x, lo=None, hi=None):
    y = x.astype(np.float64)
    if lo is not None:
        y = np.maximum(y, f32(lo))
    if hi is not None:
        y = np.minimum(y, f32(hi))
    return y


def ref_conv_transpose(x, w, b=None, strides=None, pads=None, output_padding=None, dilations=None,
                       group=1):
    """ConvTranspose by its definition: every input pixel scatters kernel * value into the output.
    x: [N, C_in, *spatial], w: [C_in, C_out / group, *kernel]; pads = [begin..., end...]."""
    x, w = x.astype(np.float64), w.astype(np.float64)
    nd = x.ndim - 2
    n, cin = x.shape[:2]
    cout_g, kernel = w.shape[1], w.shape[2:]
    strides = strides or [1] * nd
    dilations = dilations or [1] * nd
    pads = pads or [0] * (2 * nd)
    output_padding = output_padding or [0] * nd
    in_sp = x.shape[2:]
    full = [(in_sp[i] - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 + output_padding[i]
            for i in range(nd)]
    out = np.zeros((n, cout_g * group, *full))
    cin_g = cin // group
    for g in range(group):
        xg = x[:, g * cin_g:(g + 1) * cin_g]
        wg = w[g * cin_g:(g + 1) * cin_g]
        for k in np.ndindex(*kernel):
            contrib = np.tensordot(xg, wg[(slice(None), slice(None)) + k], axes=([1], [0]))
            contrib = np.moveaxis(contrib, -1, 1)  # [N, C_out_g, *in_sp]
            idx = tuple(slice(k[i] * dilations[i], k[i] * dilations[i] + (in_sp[i] - 1) * strides[i] + 1,
                              strides[i]) for i in range(nd))
            out[(slice(None), slice(g * cout_g, (g + 1) * cout_g)) + idx] += contrib
    crop = tuple(slice(pads[i], full[i] - pads[nd + i]) for i in range(nd))
    out = out[(slice(None), slice(None)) + crop]
    if b is not None:
        out += b.astype(np.float64).reshape((1, -1) + (1,) * nd)
    return out


def ref_conv(x, w, b=None, stride=1, pad=0):
    """2-D convolution (square stride/pad), by sliding the kernel."""
    x, w = x.astype(np.float64), w.astype(np.float64)
    x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    n, c, h, wd = x.shape
    co, _, kh, kw = w.shape
    oh, ow = (h - kh) // stride + 1, (wd - kw) // stride + 1
    out = np.zeros((n, co, oh, ow))
    for i in range(kh):
        for j in range(kw):
            patch = x[:, :, i:i + (oh - 1) * stride + 1:stride, j:j + (ow - 1) * stride + 1:stride]
            out += np.einsum("nchw,oc->nohw", patch, w[:, :, i, j])
    if b is not None:
        out += b.astype(np.float64).reshape(1, -1, 1, 1)
    return out


def _source_coords(in_len, out_len, scale, mode, roi=None):
    """ONNX Resize's coordinate transform: output index -> position in the input (float64)."""
    o = np.arange(out_len, dtype=np.float64)
    if mode == "asymmetric":
        return o / scale
    if mode == "half_pixel":
        return (o + 0.5) / scale - 0.5
    if mode == "pytorch_half_pixel":
        return (o + 0.5) / scale - 0.5 if out_len > 1 else np.zeros(out_len) - 0.5
    if mode == "align_corners":
        return o * (in_len - 1) / (out_len - 1) if out_len > 1 else np.zeros(out_len)
    if mode == "tf_crop_and_resize":
        start, end = roi
        if out_len > 1:
            return start * (in_len - 1) + o * (end - start) * (in_len - 1) / (out_len - 1)
        return np.full(out_len, 0.5 * (start + end) * (in_len - 1))
    raise ValueError(mode)


def _round_nearest(x, nearest_mode):
    if nearest_mode == "floor":
        return np.floor(x)
    if nearest_mode == "ceil":
        return np.ceil(x)
    frac = x - np.floor(x)
    if nearest_mode == "round_prefer_floor":
        return np.where(frac > 0.5, np.ceil(x), np.floor(x))
    if nearest_mode == "round_prefer_ceil":
        return np.where(frac >= 0.5, np.ceil(x), np.floor(x))
    raise ValueError(nearest_mode)


def ref_resize(x, mode="nearest", scales=None, sizes=None, coordinate_transformation_mode="asymmetric",
               nearest_mode="floor", roi=None, extrapolation_value=0.0):
    """Resize/Upsample, one axis at a time (nearest and linear are separable). With `sizes`, the scale
    of an axis is out/in; with `scales`, out = floor(in * scale). roi = [starts..., ends...]."""
    y = x.astype(np.float64)
    nd = x.ndim
    for axis in range(nd):
        in_len = x.shape[axis]
        if sizes is not None:
            out_len = int(sizes[axis])
            scale = out_len / in_len
        else:
            scale = f32(scales[axis])
            out_len = int(np.floor(in_len * scale))
        if out_len == in_len and coordinate_transformation_mode != "tf_crop_and_resize":
            continue  # identity for every mode except crop-and-resize
        axis_roi = None if roi is None else (float(roi[axis]), float(roi[nd + axis]))
        src = _source_coords(in_len, out_len, scale, coordinate_transformation_mode, axis_roi)
        outside = (src < 0) | (src > in_len - 1)
        moved = np.moveaxis(y, axis, 0)
        if mode == "nearest":
            idx = np.clip(_round_nearest(src, nearest_mode), 0, in_len - 1).astype(np.int64)
            res = moved[idx]
        elif mode == "linear":
            s = np.clip(src, 0, in_len - 1)
            i0 = np.floor(s).astype(np.int64)
            i1 = np.minimum(i0 + 1, in_len - 1)
            t = (s - i0).reshape((-1,) + (1,) * (nd - 1))
            res = moved[i0] * (1 - t) + moved[i1] * t
        else:
            raise ValueError(mode)
        if coordinate_transformation_mode == "tf_crop_and_resize":
            res = np.where(outside.reshape((-1,) + (1,) * (nd - 1)), extrapolation_value, res)
        y = np.moveaxis(res, 0, axis)
    return y


def ref_slice(x, starts, ends, axes=None, steps=None):
    """ONNX Slice, by its clamping rules (not by Python slicing, which the cross-check uses)."""
    axes = list(range(len(starts))) if axes is None else list(axes)
    steps = [1] * len(starts) if steps is None else list(steps)
    y = x
    for s, e, a, st in zip(starts, ends, axes, steps):
        a = a + x.ndim if a < 0 else a
        dim = x.shape[a]
        s = s + dim if s < 0 else s
        e = e + dim if e < 0 else e
        if st > 0:
            s, e = min(max(s, 0), dim), min(max(e, 0), dim)
        else:
            s, e = min(max(s, 0), dim - 1), min(max(e, -1), dim - 1)
        y = np.take(y, np.arange(s, e, st, dtype=np.int64), axis=a)
    return y


def ref_batchnorm(x, scale, bias, mean, var, eps):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    x = x.astype(np.float64)
    r = lambda v: v.astype(np.float64).reshape(shape)  # noqa: E731
    return (x - r(mean)) / np.sqrt(r(var) + f32(eps)) * r(scale) + r(bias)


def ref_pad(x, pads, mode="constant", value=0.0):
    nd = x.ndim
    width = [(int(pads[i]), int(pads[nd + i])) for i in range(nd)]
    if mode == "constant":
        return np.pad(x.astype(np.float64), width, mode="constant", constant_values=f32(value))
    return np.pad(x.astype(np.float64), width, mode={"reflect": "reflect", "edge": "edge"}[mode])


def ref_softmax_v11(x, axis=1, log=False):
    """Softmax-1/11 semantics: the input is coerced to 2-D [prod(dims[:axis]), prod(dims[axis:])]."""
    axis = axis + x.ndim if axis < 0 else axis
    flat = x.astype(np.float64).reshape(int(np.prod(x.shape[:axis])), -1)
    flat = flat - flat.max(axis=1, keepdims=True)
    if log:
        out = flat - np.log(np.exp(flat).sum(axis=1, keepdims=True))
    else:
        e = np.exp(flat)
        out = e / e.sum(axis=1, keepdims=True)
    return out.reshape(x.shape)


# ----------------------------------------------------------------------------------------------------
# Independent cross-checks
# ----------------------------------------------------------------------------------------------------

CROSS_CHECKS = []  # (model name, description, reference, independent) collected by the builders


def cross(model, what, ours, theirs, atol=1e-5):
    CROSS_CHECKS.append((model, what, np.asarray(ours, dtype=np.float64), theirs, atol))


def run_cross_checks(names):
    failures = 0
    count = collections.Counter()
    for model, what, ours, theirs, atol in CROSS_CHECKS:
        if model not in names:
            continue
        try:
            other = np.asarray(theirs(), dtype=np.float64)
        except ImportError as e:  # torch missing: say so, but the references stand
            print(f"  skip cross-check {model}/{what}: {e}")
            continue
        if other.shape != ours.shape or not np.allclose(ours, other, rtol=1e-5, atol=atol):
            diff = np.abs(ours - other).max() if other.shape == ours.shape else "shape"
            print(f"CROSS-CHECK FAILED {model}/{what}: shapes {ours.shape} vs {other.shape}, max diff {diff}")
            failures += 1
        count[model] += 1
    return failures, count


def torch_():
    import torch  # noqa: F401  (imported lazily: only the cross-checks need it)
    return torch


def onnx_resize_ref(x, mode, coordinate_transformation_mode, nearest_mode="round_prefer_floor",
                    scales=None, sizes=None, roi=None, extrapolation_value=0.0):
    """The reference resize from onnx's own backend test cases (slow: pure Python per element)."""
    from onnx.backend.test.case.node import resize as R
    if mode == "nearest":
        coeffs = lambda r: R.nearest_coeffs(r, mode=nearest_mode)  # noqa: E731
    else:
        coeffs = R.linear_coeffs
    kw = dict(coordinate_transformation_mode=coordinate_transformation_mode)
    if roi is not None:
        kw.update(roi=np.asarray(roi, dtype=np.float64), extrapolation_value=extrapolation_value)
    return R.interpolate_nd(x.astype(np.float64), coeffs,
                            scale_factors=None if scales is None else np.asarray(scales, np.float32),
                            output_size=sizes, **kw)


# ----------------------------------------------------------------------------------------------------
# Model building helpers
# ----------------------------------------------------------------------------------------------------

NP_TO_ONNX = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.int64): TensorProto.INT64,
              np.dtype(np.float64): TensorProto.DOUBLE, np.dtype(np.int32): TensorProto.INT32}


def tensor(name, value):
    return numpy_helper.from_array(np.asarray(value), name)


def const_node(output, value):
    return helper.make_node("Constant", [], [output], value=tensor(output + "_value", value))


class Model:
    def __init__(self, name, opset, doc, ir_version=None):
        self.name, self.opset, self.doc = name, opset, doc
        self.ir_version = ir_version or IR_FOR_OPSET[opset]
        self.nodes, self.inputs, self.initializers, self.outputs = [], {}, {}, {}
        self.initializers_as_inputs = False

    def input(self, name, value):
        self.inputs[name] = np.asarray(value)
        return name

    def init(self, name, value, dtype=None):
        self.initializers[name] = np.asarray(value, dtype=dtype)
        return name

    def node(self, op, inputs, outputs, **attrs):
        self.nodes.append(helper.make_node(op, inputs, outputs, name=f"{op}_{len(self.nodes)}", **attrs))
        return outputs[0] if len(outputs) == 1 else outputs

    def output(self, name, value):
        self.outputs[name] = np.asarray(value).astype(np.float32) if np.asarray(value).dtype.kind == "f" \
            else np.asarray(value)
        return name

    def build(self):
        vi = lambda n, v: helper.make_tensor_value_info(n, NP_TO_ONNX[v.dtype], list(v.shape))  # noqa: E731
        graph_inputs = [vi(n, v) for n, v in self.inputs.items()]
        if self.initializers_as_inputs:  # IR 3 style: every initializer is also a graph input
            graph_inputs += [vi(n, v) for n, v in self.initializers.items()]
        graph = helper.make_graph(self.nodes, self.name, graph_inputs,
                                  [vi(n, v) for n, v in self.outputs.items()],
                                  [tensor(n, v) for n, v in self.initializers.items()])
        graph.doc_string = self.doc
        model = helper.make_model(graph, producer_name="tessera-legacy-models", producer_version="1",
                                  opset_imports=[helper.make_opsetid("", self.opset)],
                                  ir_version=self.ir_version)
        onnx.checker.check_model(model)
        # Shape inference must agree with the reference shapes where it has an opinion.
        inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
        for o in inferred.graph.output:
            dims = [d.dim_value if d.HasField("dim_value") else None for d in o.type.tensor_type.shape.dim]
            if any(d is not None for d in dims) and dims != list(self.outputs[o.name].shape):
                raise RuntimeError(f"{self.name}: inferred shape of {o.name} is {dims}, "
                                   f"reference {list(self.outputs[o.name].shape)}")
        return model


def randn(rng, *shape, scale=1.0):
    return (scale * rng.standard_normal(shape)).astype(np.float32)


# ----------------------------------------------------------------------------------------------------
# The models
# ----------------------------------------------------------------------------------------------------

def activations_opset9():
    m = Model("activations_opset9", 9, "HardSigmoid-6 with alpha/beta, the paddle2onnx hard_swish pattern "
              "(x * HardSigmoid(x, 1/6, 0.5)), Clip-6 with min/max attributes and with max only.")
    rng = np.random.default_rng(9)
    x = m.input("input", randn(rng, 2, 3, 4, 5, scale=3.0))
    xv = m.inputs[x]
    m.output("hardsigmoid", ref_hardsigmoid(xv, 0.3, 0.4))
    m.node("HardSigmoid", [x], ["hardsigmoid"], alpha=0.3, beta=0.4)
    hs = m.node("HardSigmoid", [x], ["hs_gate"], alpha=1.0 / 6, beta=0.5)
    m.node("Mul", [x, hs], ["hardswish"])
    m.output("hardswish", xv.astype(np.float64) * ref_hardsigmoid(xv, 1.0 / 6, 0.5))
    m.node("Clip", [x], ["clip"], min=-0.5, max=0.8)
    m.output("clip", ref_clip(xv, -0.5, 0.8))
    m.node("Clip", [x], ["clip_max_only"], max=0.25)
    m.output("clip_max_only", ref_clip(xv, None, 0.25))
    cross(m.name, "hardswish", m.outputs["hardswish"],
          lambda: torch_().nn.functional.hardswish(torch_().from_numpy(xv)).numpy(), atol=1e-6)
    cross(m.name, "hardsigmoid", m.outputs["hardsigmoid"],
          lambda: torch_().clamp(0.3 * torch_().from_numpy(xv).double() + 0.4, 0, 1).numpy(), atol=1e-6)
    return m


def activations_opset10():
    m = Model("activations_opset10", 10, "HardSigmoid-6 with default alpha/beta, Clip-6 as ReLU6 "
              "(min=0, max=6 attributes) and Clip-6 with no attributes (no bounds).")
    rng = np.random.default_rng(10)
    x = m.input("input", randn(rng, 1, 4, 6, 6, scale=4.0))
    xv = m.inputs[x]
    m.node("HardSigmoid", [x], ["hardsigmoid"])
    m.output("hardsigmoid", ref_hardsigmoid(xv))
    m.node("Clip", [x], ["relu6"], min=0.0, max=6.0)
    m.output("relu6", ref_clip(xv, 0.0, 6.0))
    m.node("Clip", [x], ["clip_unbounded"])
    m.output("clip_unbounded", xv)
    cross(m.name, "relu6", m.outputs["relu6"],
          lambda: torch_().nn.functional.relu6(torch_().from_numpy(xv)).numpy(), atol=0)
    return m


def clip_opset11():
    m = Model("clip_opset11", 11, "Clip-11 with min/max as inputs: both (initializers), min only, "
              "max only (min given as ''), neither, and min from a 0-d graph input; HardSigmoid too.")
    rng = np.random.default_rng(11)
    x = m.input("input", randn(rng, 2, 3, 8, scale=3.0))
    xv = m.inputs[x]
    lo, hi = m.init("min", np.float32(-1.25)), m.init("max", np.float32(0.75))
    m.node("Clip", [x, lo, hi], ["clip"])
    m.output("clip", ref_clip(xv, -1.25, 0.75))
    m.node("Clip", [x, lo], ["clip_min_only"])
    m.output("clip_min_only", ref_clip(xv, -1.25, None))
    m.node("Clip", [x, "", hi], ["clip_max_only"])
    m.output("clip_max_only", ref_clip(xv, None, 0.75))
    m.node("Clip", [x], ["clip_none"])
    m.output("clip_none", xv)
    dyn_lo = m.input("clip_min", np.array(-0.5, dtype=np.float32))
    m.node("Clip", [x, dyn_lo, hi], ["clip_dynamic_min"])
    m.output("clip_dynamic_min", ref_clip(xv, -0.5, 0.75))
    m.node("HardSigmoid", [x], ["hardsigmoid"], alpha=0.25, beta=0.625)
    m.output("hardsigmoid", ref_hardsigmoid(xv, 0.25, 0.625))
    cross(m.name, "clip", m.outputs["clip"],
          lambda: torch_().clamp(torch_().from_numpy(xv), -1.25, 0.75).numpy(), atol=0)
    return m


def torch_conv_transpose(x, w, b, strides, pads, output_padding, dilations, group):
    """conv_transpose2d/1d with zero padding, then the (possibly asymmetric) ONNX pads cropped off."""
    torch = torch_()
    nd = x.ndim - 2
    fn = {1: torch.nn.functional.conv_transpose1d, 2: torch.nn.functional.conv_transpose2d}[nd]
    y = fn(torch.from_numpy(x).double(), torch.from_numpy(w).double(),
           None if b is None else torch.from_numpy(b).double(), stride=tuple(strides), padding=0,
           output_padding=tuple(output_padding), groups=group, dilation=tuple(dilations)).numpy()
    crop = tuple(slice(pads[i], y.shape[2 + i] - pads[nd + i]) for i in range(nd))
    return y[(slice(None), slice(None)) + crop]


def convtranspose_opset9():
    m = Model("convtranspose_opset9", 9, "ConvTranspose-1 with strides, symmetric pads and output_padding "
              "(with bias); and grouped, dilated, with asymmetric pads and output_padding (no bias).")
    rng = np.random.default_rng(90)
    x = m.input("input", randn(rng, 1, 4, 5, 6))
    xv = m.inputs[x]
    w1 = m.init("w1", randn(rng, 4, 3, 3, 3, scale=0.5))
    b1 = m.init("b1", randn(rng, 3, scale=0.5))
    a1 = dict(strides=[2, 2], pads=[1, 1, 1, 1], output_padding=[1, 1], dilations=[1, 1], group=1)
    m.node("ConvTranspose", [x, w1, b1], ["deconv"], kernel_shape=[3, 3], **a1)
    m.output("deconv", ref_conv_transpose(xv, m.initializers[w1], m.initializers[b1], **a1))
    w2 = m.init("w2", randn(rng, 4, 2, 3, 2, scale=0.5))
    a2 = dict(strides=[2, 3], pads=[0, 1, 1, 0], output_padding=[1, 2], dilations=[1, 2], group=2)
    m.node("ConvTranspose", [x, w2], ["deconv_grouped"], **a2)
    m.output("deconv_grouped", ref_conv_transpose(xv, m.initializers[w2], None, **a2))
    cross(m.name, "deconv", m.outputs["deconv"],
          lambda: torch_conv_transpose(xv, m.initializers[w1], m.initializers[b1], **a1))
    cross(m.name, "deconv_grouped", m.outputs["deconv_grouped"],
          lambda: torch_conv_transpose(xv, m.initializers[w2], None, **a2))
    return m


def convtranspose_opset11():
    m = Model("convtranspose_opset11", 11, "1-D ConvTranspose-11 (vocoder-style upsampling: kernel 8, "
              "stride 4, pads 2) and a 2-D one with stride 3, kernel 2 (no overlap) and output_padding.")
    rng = np.random.default_rng(110)
    x = m.input("input", randn(rng, 2, 6, 10))
    xv = m.inputs[x]
    w = m.init("w", randn(rng, 6, 4, 8, scale=0.3))
    b = m.init("b", randn(rng, 4, scale=0.3))
    a = dict(strides=[4], pads=[2, 2], output_padding=[0], dilations=[1], group=1)
    m.node("ConvTranspose", [x, w, b], ["deconv1d"], kernel_shape=[8], strides=[4], pads=[2, 2])
    m.output("deconv1d", ref_conv_transpose(xv, m.initializers[w], m.initializers[b], **a))
    x2 = m.input("image", randn(rng, 1, 3, 4, 5))
    x2v = m.inputs[x2]
    w2 = m.init("w2", randn(rng, 3, 2, 2, 2, scale=0.5))
    a2 = dict(strides=[3, 3], pads=[0, 0, 0, 0], output_padding=[2, 1], dilations=[1, 1], group=1)
    m.node("ConvTranspose", [x2, w2], ["deconv2d"], strides=[3, 3], output_padding=[2, 1])
    m.output("deconv2d", ref_conv_transpose(x2v, m.initializers[w2], None, **a2))
    cross(m.name, "deconv1d", m.outputs["deconv1d"],
          lambda: torch_conv_transpose(xv, m.initializers[w], m.initializers[b], **a))
    cross(m.name, "deconv2d", m.outputs["deconv2d"],
          lambda: torch_conv_transpose(x2v, m.initializers[w2], None, **a2))
    return m


def torch_interpolate(x, mode, align_corners=None, scale_factor=None, size=None):
    torch = torch_()
    kw = dict(mode=mode)
    if mode != "nearest":
        kw["align_corners"] = align_corners
    if scale_factor is not None:
        kw.update(scale_factor=scale_factor, recompute_scale_factor=False)
    else:
        kw["size"] = size
    return torch.nn.functional.interpolate(torch.from_numpy(x).double(), **kw).numpy()


def upsample_opset9():
    m = Model("upsample_opset9", 9, "Upsample-9 (scales as an input): nearest x(2,3) with scales from an "
              "initializer, linear x2 with scales from a Constant node, linear x(1.5,2.5). Upsample-9 "
              "uses asymmetric coordinates (x_in = x_out / scale) and floor for nearest.")
    rng = np.random.default_rng(91)
    x = m.input("input", randn(rng, 1, 2, 4, 6))
    xv = m.inputs[x]
    s1 = m.init("scales_nearest", np.array([1, 1, 2, 3], np.float32))
    m.node("Upsample", [x, s1], ["nearest"], mode="nearest")
    m.output("nearest", ref_resize(xv, "nearest", scales=[1, 1, 2, 3]))
    m.nodes.append(const_node("scales_linear", np.array([1, 1, 2, 2], np.float32)))
    m.node("Upsample", [x, "scales_linear"], ["linear"], mode="linear")
    m.output("linear", ref_resize(xv, "linear", scales=[1, 1, 2, 2]))
    s3 = m.init("scales_fractional", np.array([1, 1, 1.5, 2.5], np.float32))
    m.node("Upsample", [x, s3], ["linear_fractional"], mode="linear")
    m.output("linear_fractional", ref_resize(xv, "linear", scales=[1, 1, 1.5, 2.5]))
    cross(m.name, "nearest/torch", m.outputs["nearest"],
          lambda: torch_interpolate(xv, "nearest", scale_factor=(2.0, 3.0)), atol=0)
    for out, sc in (("linear", [1, 1, 2, 2]), ("linear_fractional", [1, 1, 1.5, 2.5])):
        cross(m.name, f"{out}/onnx-ref", m.outputs[out],
              lambda sc=sc: onnx_resize_ref(xv, "linear", "asymmetric", scales=sc))
    return m


def resize_opset10():
    m = Model("resize_opset10", 10, "Resize-10 (scales input only; asymmetric coordinates): nearest x2, "
              "linear x(2,1.5), linear x0.5 (downsampling), nearest x0.5.")
    rng = np.random.default_rng(100)
    x = m.input("input", randn(rng, 1, 3, 4, 6))
    xv = m.inputs[x]
    cases = [("nearest", "nearest", [1, 1, 2, 2]), ("linear", "linear", [1, 1, 2, 1.5]),
             ("linear_down", "linear", [1, 1, 0.5, 0.5]), ("nearest_down", "nearest", [1, 1, 0.5, 0.5])]
    for out, mode, sc in cases:
        s = m.init(f"scales_{out}", np.array(sc, np.float32))
        m.node("Resize", [x, s], [out], mode=mode)
        m.output(out, ref_resize(xv, mode, scales=sc))
        if mode == "linear":
            cross(m.name, f"{out}/onnx-ref", m.outputs[out],
                  lambda sc=sc: onnx_resize_ref(xv, "linear", "asymmetric", scales=sc))
    cross(m.name, "nearest/torch", m.outputs["nearest"],
          lambda: torch_interpolate(xv, "nearest", scale_factor=(2.0, 2.0)), atol=0)
    cross(m.name, "nearest_down/torch", m.outputs["nearest_down"],
          lambda: torch_interpolate(xv, "nearest", scale_factor=(0.5, 0.5)), atol=0)
    return m


def _resize11_case(m, x, out, mode, ctm, nearest_mode=None, scales=None, sizes=None, roi=None,
                   extrapolation_value=None):
    empty = m.init("empty_f32", np.zeros((0,), np.float32)) if "empty_f32" not in m.initializers \
        else "empty_f32"
    roi_name = m.init(f"roi_{out}", np.array(roi, np.float32)) if roi is not None else empty
    inputs = [x, roi_name]
    if scales is not None:
        inputs.append(m.init(f"scales_{out}", np.array(scales, np.float32)))
    else:
        inputs += [empty, m.init(f"sizes_{out}", np.array(sizes, np.int64))]
    attrs = dict(mode=mode, coordinate_transformation_mode=ctm)
    if nearest_mode is not None:
        attrs["nearest_mode"] = nearest_mode
    if extrapolation_value is not None:
        attrs["extrapolation_value"] = extrapolation_value
    m.node("Resize", inputs, [out], **attrs)
    xv = m.inputs[x]
    kw = dict(scales=scales, sizes=sizes, coordinate_transformation_mode=ctm, roi=roi)
    if mode == "nearest":
        kw["nearest_mode"] = nearest_mode or "round_prefer_floor"
    if extrapolation_value is not None:
        kw["extrapolation_value"] = f32(extrapolation_value)
    m.output(out, ref_resize(xv, mode, **kw))
    cross(m.name, f"{out}/onnx-ref", m.outputs[out],
          lambda: onnx_resize_ref(xv, mode, ctm, nearest_mode=kw.get("nearest_mode", "round_prefer_floor"),
                                  scales=scales, sizes=sizes, roi=roi,
                                  extrapolation_value=kw.get("extrapolation_value", 0.0)))


def resize_opset11_nearest():
    m = Model("resize_opset11_nearest", 11, "Resize-11 nearest with roi/scales/sizes inputs (empty roi and "
              "scales given as empty tensors, as exporters of the time did). Ratios are exact binary "
              "fractions, so the rounding ties that nearest_mode decides happen exactly.")
    rng = np.random.default_rng(111)
    x = m.input("input", randn(rng, 1, 2, 4, 8))
    _resize11_case(m, x, "asymmetric_floor", "nearest", "asymmetric", "floor", scales=[1, 1, 2, 2])
    _resize11_case(m, x, "half_pixel_round_prefer_floor", "nearest", "half_pixel", sizes=[1, 2, 7, 10])
    _resize11_case(m, x, "align_corners_round_prefer_ceil", "nearest", "align_corners",
                   "round_prefer_ceil", sizes=[1, 2, 7, 15])
    _resize11_case(m, x, "half_pixel_ceil_down", "nearest", "half_pixel", "ceil", sizes=[1, 2, 3, 6])
    _resize11_case(m, x, "asymmetric_round_prefer_ceil", "nearest", "asymmetric", "round_prefer_ceil",
                   scales=[1, 1, 1.5, 0.5])
    xv = m.inputs[x]
    cross(m.name, "asymmetric_floor/torch", m.outputs["asymmetric_floor"],
          lambda: torch_interpolate(xv, "nearest", scale_factor=(2.0, 2.0)), atol=0)
    return m


def resize_opset11_linear():
    m = Model("resize_opset11_linear", 11, "Resize-11 linear: asymmetric (scales), half_pixel up and down "
              "(sizes), align_corners (sizes), tf_crop_and_resize with an roi reaching outside the input "
              "and extrapolation_value.")
    rng = np.random.default_rng(112)
    x = m.input("input", randn(rng, 1, 2, 4, 8))
    xv = m.inputs[x]
    _resize11_case(m, x, "asymmetric", "linear", "asymmetric", scales=[1, 1, 2, 2])
    _resize11_case(m, x, "half_pixel", "linear", "half_pixel", sizes=[1, 2, 7, 10])
    _resize11_case(m, x, "half_pixel_down", "linear", "half_pixel", sizes=[1, 2, 3, 6])
    _resize11_case(m, x, "align_corners", "linear", "align_corners", sizes=[1, 2, 7, 15])
    _resize11_case(m, x, "tf_crop_and_resize", "linear", "tf_crop_and_resize", sizes=[1, 2, 7, 8],
                   roi=[0, 0, 0.25, 0.125, 1, 1, 1.25, 0.875], extrapolation_value=-2.0)
    cross(m.name, "half_pixel/torch", m.outputs["half_pixel"],
          lambda: torch_interpolate(xv, "bilinear", align_corners=False, size=(7, 10)))
    cross(m.name, "half_pixel_down/torch", m.outputs["half_pixel_down"],
          lambda: torch_interpolate(xv, "bilinear", align_corners=False, size=(3, 6)))
    cross(m.name, "align_corners/torch", m.outputs["align_corners"],
          lambda: torch_interpolate(xv, "bilinear", align_corners=True, size=(7, 15)))
    return m


def reshape_dynamic_opset11():
    m = Model("reshape_dynamic_opset11", 11, "Target shapes computed at run time: Shape -> Gather (1-D "
              "indices) -> Concat -> Reshape; Shape -> Gather (scalar index) -> Unsqueeze-1 -> Concat -> "
              "Reshape; Shape -> Slice-11 (negative start, INT64_MAX end) -> Concat -> Reshape; and a "
              "Reshape with 0 (copy the input dimension) and -1.")
    rng = np.random.default_rng(113)
    x = m.input("input", randn(rng, 2, 3, 4, 5))
    xv = m.inputs[x]
    y = m.node("Mul", [x, m.init("two", np.float32(2.0))], ["doubled"])
    yv = xv.astype(np.float64) * 2
    s = m.node("Shape", [x], ["shape"])
    d01 = m.node("Gather", [s, m.init("idx01", np.array([0, 1], np.int64))], ["dims01"], axis=0)
    minus1 = m.init("minus1", np.array([-1], np.int64))
    t1 = m.node("Concat", [d01, minus1], ["target1"], axis=0)
    m.node("Reshape", [y, t1], ["out_gather"])
    m.output("out_gather", yv.reshape(2, 3, -1))
    n = m.node("Gather", [s, m.init("idx0", np.array(0, np.int64))], ["batch_scalar"], axis=0)
    nu = m.node("Unsqueeze", [n], ["batch_1d"], axes=[0])
    t2 = m.node("Concat", [nu, minus1], ["target2"], axis=0)
    m.node("Reshape", [x, t2], ["out_scalar"])
    m.output("out_scalar", xv.reshape(2, -1))
    tail = m.node("Slice", [s, m.init("start_m2", np.array([-2], np.int64)),
                            m.init("end_max", np.array([INT64_MAX], np.int64))], ["tail"])
    t3 = m.node("Concat", [minus1, tail], ["target3"], axis=0)
    r3 = m.node("Reshape", [y, t3], ["reshaped3"])
    m.node("Relu", [r3], ["out_slice"])
    m.output("out_slice", np.maximum(yv.reshape(-1, 4, 5), 0))
    m.node("Reshape", [x, m.init("zero_shape", np.array([0, -1, 5], np.int64))], ["out_zero"])
    m.output("out_zero", xv.reshape(2, -1, 5))
    return m


def reshape_dynamic_opset9():
    m = Model("reshape_dynamic_opset9", 9, "Opset-9 Shape -> Gather -> Unsqueeze -> Concat -> Reshape "
              "(flatten to [N, -1]) and Shape -> Slice-1 (attributes) -> Concat -> Reshape, with the "
              "shape constants as Constant nodes (old PyTorch style).")
    rng = np.random.default_rng(92)
    x = m.input("input", randn(rng, 3, 4, 2, 3))
    xv = m.inputs[x]
    s = m.node("Shape", [x], ["shape"])
    m.nodes.append(const_node("idx0", np.array(0, np.int64)))
    m.nodes.append(const_node("minus1", np.array([-1], np.int64)))
    n = m.node("Gather", [s, "idx0"], ["batch"], axis=0)
    nu = m.node("Unsqueeze", [n], ["batch_1d"], axes=[0])
    t = m.node("Concat", [nu, "minus1"], ["target"], axis=0)
    m.node("Reshape", [x, t], ["flattened"])
    m.output("flattened", xv.reshape(3, -1))
    head = m.node("Slice", [s], ["head"], starts=[0], ends=[2], axes=[0])
    t2 = m.node("Concat", [head, "minus1"], ["target2"], axis=0)
    r = m.node("Reshape", [x, t2], ["merged"])
    m.node("Sigmoid", [r], ["merged_sigmoid"])
    m.output("merged_sigmoid", 1 / (1 + np.exp(-xv.astype(np.float64).reshape(3, 4, -1))))
    return m


def _slice_case(m, x, out, starts, ends, axes=None, steps=None, attr_form=False):
    xv = m.inputs[x]
    if attr_form:
        kw = dict(starts=starts, ends=ends)
        if axes is not None:
            kw["axes"] = axes
        m.node("Slice", [x], [out], **kw)
    else:
        ins = [x, m.init(f"{out}_starts", np.array(starts, np.int64)),
               m.init(f"{out}_ends", np.array(ends, np.int64))]
        if axes is not None or steps is not None:
            ins.append(m.init(f"{out}_axes", np.array(axes if axes is not None else range(len(starts)),
                                                      np.int64)))
        if steps is not None:
            ins.append(m.init(f"{out}_steps", np.array(steps, np.int64)))
        m.node("Slice", ins, [out])
    m.output(out, ref_slice(xv, starts, ends, axes, steps))
    # numpy basic slicing has the same semantics (it clamps too); build the index tuple directly
    index = [slice(None)] * xv.ndim
    for i, (s, e) in enumerate(zip(starts, ends)):
        a = axes[i] if axes is not None else i
        index[a] = slice(s, e, steps[i] if steps is not None else 1)
    cross(m.name, f"{out}/numpy", m.outputs[out], lambda: xv[tuple(index)], atol=0)


def arange_input(*shape):
    return (np.arange(np.prod(shape), dtype=np.float32).reshape(shape) * 0.5 - 10)


def slice_opset9():
    m = Model("slice_opset9", 9, "Slice-1 attribute form: axes given and omitted, negative starts/ends, "
              "ends of INT64_MAX and past the end of the axis.")
    x = m.input("input", arange_input(4, 5, 6))
    _slice_case(m, x, "rows_cols", [1, 0], [3, INT64_MAX], axes=[0, 2], attr_form=True)
    _slice_case(m, x, "negative", [-3], [-1], axes=[1], attr_form=True)
    _slice_case(m, x, "no_axes", [0, 1, 2], [2, 100, -1], attr_form=True)
    return m


def slice_opset10():
    m = Model("slice_opset10", 10, "Slice-10 input form: steps of 2, reversal with step -1 and end "
              "INT64_MIN, step -2, and starts/ends only (no axes/steps inputs).")
    x = m.input("input", arange_input(4, 5, 6))
    _slice_case(m, x, "step2", [0], [INT64_MAX], axes=[2], steps=[2])
    _slice_case(m, x, "reverse", [-1], [INT64_MIN], axes=[1], steps=[-1])
    _slice_case(m, x, "step_minus2", [4], [0], axes=[2], steps=[-2])
    _slice_case(m, x, "starts_ends_only", [1, 1, 1], [INT64_MAX, -1, 5])
    return m


def slice_opset11():
    m = Model("slice_opset11", 11, "Slice-11: negative axes, INT64_MAX ends, negative step to -INT64_MAX, "
              "and starts from a graph input (known only at run time).")
    x = m.input("input", arange_input(3, 4, 7))
    xv = m.inputs[x]
    _slice_case(m, x, "negative_axes", [1, -3], [INT64_MAX, INT64_MAX], axes=[-2, -1])
    _slice_case(m, x, "reverse_last", [-2], [-INT64_MAX], axes=[-1], steps=[-1])
    _slice_case(m, x, "mixed_steps", [0, 6], [3, 0], axes=[0, 2], steps=[2, -3])
    starts = m.input("starts", np.array([1, 2], np.int64))
    m.node("Slice", [x, starts, m.init("dyn_ends", np.array([4, -1], np.int64)),
                     m.init("dyn_axes", np.array([1, 2], np.int64))], ["dynamic_starts"])
    m.output("dynamic_starts", ref_slice(xv, [1, 2], [4, -1], [1, 2]))
    cross(m.name, "dynamic_starts/numpy", m.outputs["dynamic_starts"], lambda: xv[:, 1:4, 2:-1], atol=0)
    return m


def batchnorm_opset9():
    m = Model("batchnorm_opset9", 9, "BatchNormalization-9 (inference) on 4-D, 3-D and 2-D inputs with "
              "epsilon 1e-3 and momentum 0.9. IR version 3 style: the initializers are also listed as "
              "graph inputs (with defaults), as exporters of that time wrote them.", ir_version=3)
    m.initializers_as_inputs = True
    rng = np.random.default_rng(93)
    for out, shape in (("bn4d", (2, 4, 5, 6)), ("bn3d", (2, 4, 7)), ("bn2d", (3, 4))):
        x = m.input(f"input_{out[-2:]}", randn(rng, *shape, scale=2.0))
        p = [m.init(f"{out}_scale", (rng.random(4) + 0.5).astype(np.float32)),
             m.init(f"{out}_bias", randn(rng, 4, scale=0.5)),
             m.init(f"{out}_mean", randn(rng, 4, scale=0.5)),
             m.init(f"{out}_var", (rng.random(4) * 2 + 0.1).astype(np.float32))]
        m.node("BatchNormalization", [x] + p, [out], epsilon=1e-3, momentum=0.9)
        vals = [m.initializers[n] for n in p]
        xv = m.inputs[x]
        m.output(out, ref_batchnorm(xv, *vals, eps=1e-3))
        cross(m.name, f"{out}/torch", m.outputs[out], lambda xv=xv, vals=vals: torch_().nn.functional.batch_norm(
            torch_().from_numpy(xv).double(), torch_().from_numpy(vals[2]).double(),
            torch_().from_numpy(vals[3]).double(), torch_().from_numpy(vals[0]).double(),
            torch_().from_numpy(vals[1]).double(), training=False, eps=f32(1e-3)).numpy())
    return m


def torch_pad(x, pads, mode, value=0.0):
    """torch.nn.functional.pad one axis at a time (torch's reflect/replicate only pad trailing axes)."""
    torch = torch_()
    nd = x.ndim
    tmode = {"constant": "constant", "reflect": "reflect", "edge": "replicate"}[mode]
    kw = dict(value=f32(value)) if mode == "constant" else {}
    y = torch.from_numpy(x).double()
    for axis in range(nd):
        begin, end = int(pads[axis]), int(pads[nd + axis])
        if begin == 0 and end == 0:
            continue
        moved = y.movedim(axis, -1)
        shape = moved.shape
        padded = torch.nn.functional.pad(moved.reshape(1, -1, shape[-1]), (begin, end), mode=tmode, **kw)
        y = padded.reshape(*shape[:-1], padded.shape[-1]).movedim(-1, axis)
    return y.numpy()


def pad_opset9():
    m = Model("pad_opset9", 9, "Pad-2 attribute form (pads and value attributes): constant with value "
              "1.5, reflect, edge.")
    rng = np.random.default_rng(94)
    x = m.input("input", randn(rng, 1, 2, 4, 5))
    xv = m.inputs[x]
    cases = [("constant", "constant", [0, 0, 1, 2, 0, 0, 2, 1], 1.5),
             ("reflect", "reflect", [0, 0, 2, 1, 0, 0, 1, 3], None),
             ("edge", "edge", [0, 0, 1, 0, 0, 0, 2, 3], None)]
    for out, mode, pads, value in cases:
        kw = dict(mode=mode, pads=pads)
        if value is not None:
            kw["value"] = value
        m.node("Pad", [x], [out], **kw)
        m.output(out, ref_pad(xv, pads, mode, value or 0.0))
        cross(m.name, f"{out}/torch", m.outputs[out],
              lambda pads=pads, mode=mode, value=value: torch_pad(xv, pads, mode, value or 0.0), atol=0)
    return m


def pad_opset11():
    m = Model("pad_opset11", 11, "Pad-11 input form: pads and constant_value as inputs; constant with "
              "value, constant with the value omitted (0), reflect, edge; pads from a graph input.")
    rng = np.random.default_rng(114)
    x = m.input("input", randn(rng, 2, 3, 5))
    xv = m.inputs[x]
    cases = [("constant", "constant", [0, 1, 2, 0, 2, 1], -0.75),
             ("constant_default", "constant", [1, 0, 0, 0, 0, 3], None),
             ("reflect", "reflect", [0, 0, 3, 0, 0, 4], None),
             ("edge", "edge", [0, 2, 1, 1, 0, 2], None)]
    for out, mode, pads, value in cases:
        ins = [x, m.init(f"{out}_pads", np.array(pads, np.int64))]
        if value is not None:
            ins.append(m.init(f"{out}_value", np.float32(value)))
        m.node("Pad", ins, [out], mode=mode)
        m.output(out, ref_pad(xv, pads, mode, value or 0.0))
        cross(m.name, f"{out}/torch", m.outputs[out],
              lambda pads=pads, mode=mode, value=value: torch_pad(xv, pads, mode, value or 0.0), atol=0)
    dyn = m.input("pads", np.array([0, 0, 1, 0, 0, 2], np.int64))
    m.node("Pad", [x, dyn], ["dynamic_pads"], mode="constant")
    m.output("dynamic_pads", ref_pad(xv, [0, 0, 1, 0, 0, 2], "constant"))
    return m


def softmax_opset11():
    m = Model("softmax_opset11", 11, "Softmax-11/LogSoftmax-11 coerce the input to 2-D at `axis` (unlike "
              "opset 13, which normalises along one axis): Softmax axis=1 on 4-D normalises over C*H*W; "
              "default axis (1); LogSoftmax axis=2; Softmax axis=-1.")
    rng = np.random.default_rng(115)
    x = m.input("input", randn(rng, 2, 3, 4, 5, scale=2.0))
    xv = m.inputs[x]
    m.node("Softmax", [x], ["softmax_axis1"], axis=1)
    m.output("softmax_axis1", ref_softmax_v11(xv, 1))
    m.node("Softmax", [x], ["softmax_default"])
    m.output("softmax_default", ref_softmax_v11(xv, 1))
    m.node("LogSoftmax", [x], ["logsoftmax_axis2"], axis=2)
    m.output("logsoftmax_axis2", ref_softmax_v11(xv, 2, log=True))
    m.node("Softmax", [x], ["softmax_last"], axis=-1)
    m.output("softmax_last", ref_softmax_v11(xv, -1))
    cross(m.name, "softmax_axis1/torch", m.outputs["softmax_axis1"],
          lambda: torch_().softmax(torch_().from_numpy(xv).double().reshape(2, -1), 1).reshape(xv.shape).numpy())
    cross(m.name, "logsoftmax_axis2/torch", m.outputs["logsoftmax_axis2"],
          lambda: torch_().log_softmax(torch_().from_numpy(xv).double().reshape(6, -1), 1)
          .reshape(xv.shape).numpy())
    cross(m.name, "softmax_last/torch", m.outputs["softmax_last"],
          lambda: torch_().softmax(torch_().from_numpy(xv).double(), -1).numpy())
    return m


def paddle_style_block_opset9():
    m = Model("paddle_style_block_opset9", 9, "A paddle2onnx-style block: Conv (stride 2) -> "
              "BatchNormalization -> hard_swish as HardSigmoid*Mul -> Upsample x2 nearest -> Clip(0, 6) -> "
              "Pad-2 edge -> GlobalAveragePool -> Shape/Gather/Unsqueeze/Concat -> Reshape to [N, C].")
    rng = np.random.default_rng(95)
    x = m.input("image", randn(rng, 2, 3, 12, 12, scale=2.0))
    xv = m.inputs[x]
    w = m.init("conv_w", randn(rng, 8, 3, 3, 3, scale=0.4))
    b = m.init("conv_b", randn(rng, 8, scale=0.2))
    bn = [m.init("bn_scale", (rng.random(8) + 0.5).astype(np.float32)), m.init("bn_bias", randn(rng, 8)),
          m.init("bn_mean", randn(rng, 8, scale=0.3)), m.init("bn_var", (rng.random(8) + 0.5).astype(np.float32))]
    c = m.node("Conv", [x, w, b], ["conv"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    y = ref_conv(xv, m.initializers[w], m.initializers[b], stride=2, pad=1)
    cross(m.name, "conv/torch", y, lambda: torch_().nn.functional.conv2d(
        torch_().from_numpy(xv).double(), torch_().from_numpy(m.initializers[w]).double(),
        torch_().from_numpy(m.initializers[b]).double(), stride=2, padding=1).numpy())
    c = m.node("BatchNormalization", [c] + bn, ["bn"], epsilon=1e-5)
    y = ref_batchnorm(y, *[m.initializers[n] for n in bn], eps=1e-5)
    g = m.node("HardSigmoid", [c], ["hs"], alpha=1.0 / 6, beta=0.5)
    c = m.node("Mul", [c, g], ["hardswish"])
    y = y * ref_hardsigmoid(y, 1.0 / 6, 0.5)
    c = m.node("Upsample", [c, m.init("up_scales", np.array([1, 1, 2, 2], np.float32))], ["up"], mode="nearest")
    y = ref_resize(y, "nearest", scales=[1, 1, 2, 2])
    c = m.node("Clip", [c], ["relu6"], min=0.0, max=6.0)
    y = ref_clip(y, 0.0, 6.0)
    m.output("features", y)
    m.node("Identity", [c], ["features"])
    c = m.node("Pad", [c], ["padded"], mode="edge", pads=[0, 0, 1, 1, 0, 0, 1, 1])
    y = ref_pad(y, [0, 0, 1, 1, 0, 0, 1, 1], "edge")
    c = m.node("GlobalAveragePool", [c], ["gap"])
    y = y.mean(axis=(2, 3), keepdims=True)
    s = m.node("Shape", [c], ["gap_shape"])
    n = m.node("Gather", [s, m.init("i0", np.array(0, np.int64))], ["n"], axis=0)
    cdim = m.node("Gather", [s, m.init("i1", np.array(1, np.int64))], ["c"], axis=0)
    nu = m.node("Unsqueeze", [n], ["n1"], axes=[0])
    cu = m.node("Unsqueeze", [cdim], ["c1"], axes=[0])
    t = m.node("Concat", [nu, cu], ["target"], axis=0)
    m.node("Reshape", [c, t], ["pooled"])
    m.output("pooled", y.reshape(2, 8))
    return m


BUILDERS = collections.OrderedDict((f.__name__, f) for f in [
    activations_opset9, activations_opset10, clip_opset11,
    convtranspose_opset9, convtranspose_opset11,
    upsample_opset9, resize_opset10, resize_opset11_nearest, resize_opset11_linear,
    reshape_dynamic_opset9, reshape_dynamic_opset11,
    slice_opset9, slice_opset10, slice_opset11,
    batchnorm_opset9, pad_opset9, pad_opset11, softmax_opset11,
    paddle_style_block_opset9,
])


def write(model, out_dir):
    proto = model.build()
    final_dir = os.path.join(out_dir, model.name)
    tmp_dir = os.path.join(out_dir, f".tmp-{model.name}-{os.getpid()}")
    shutil.rmtree(tmp_dir, ignore_errors=True)
    try:
        os.makedirs(os.path.join(tmp_dir, "inputs"))
        os.makedirs(os.path.join(tmp_dir, "expected"))
        onnx.save(proto, os.path.join(tmp_dir, "model.onnx"))
        for n, v in model.inputs.items():
            np.save(os.path.join(tmp_dir, "inputs", f"{n}.npy"), v)
        for n, v in model.outputs.items():
            if v.dtype.kind == "f" and not np.all(np.isfinite(v)):
                raise RuntimeError(f"{model.name}: reference {n} is not finite")
            np.save(os.path.join(tmp_dir, "expected", f"{n}.npy"), v)
        if os.path.exists(final_dir):
            shutil.rmtree(final_dir)
        os.rename(tmp_dir, final_dir)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
    ops = collections.Counter(n.op_type for n in proto.graph.node)
    return os.path.getsize(os.path.join(final_dir, "model.onnx")), ops


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out_dir", nargs="?")
    parser.add_argument("--only", help="comma-separated model names (default: all)")
    parser.add_argument("--list", action="store_true", help="list the model names and exit")
    parser.add_argument("--no-cross-check", action="store_true",
                        help="skip checking the numpy references against torch/numpy/onnx references")
    args = parser.parse_args()
    if args.list:
        print("\n".join(BUILDERS))
        return 0
    if not args.out_dir:
        parser.error("OUT_DIR is required")
    names = list(BUILDERS)
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in names if n not in BUILDERS]
        if unknown:
            parser.error(f"unknown model(s) {', '.join(unknown)}; known: {', '.join(BUILDERS)}")
    models = [BUILDERS[n]() for n in names]
    checked = collections.Counter()
    if not args.no_cross_check:
        failures, checked = run_cross_checks(set(names))
        if failures:
            print(f"make_legacy_models: {failures} reference cross-check(s) failed; nothing written")
            return 1
    os.makedirs(args.out_dir, exist_ok=True)
    for m in models:
        size, ops = write(m, args.out_dir)
        print(f"{m.name}: opset {m.opset}, IR {m.ir_version}, {size} bytes, "
              f"{len(m.inputs)} input(s), {len(m.outputs)} output(s), {checked[m.name]} cross-check(s); "
              f"ops: {', '.join(f'{k} {v}' for k, v in sorted(ops.items()))}")
    print(f"make_legacy_models: {len(models)} model(s) written to {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
