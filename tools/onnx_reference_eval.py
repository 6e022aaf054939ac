#!/usr/bin/python3
"""A small, slow, independent ONNX evaluator (numpy, float64) for checking the generated test models.

usage: /usr/bin/python3 tools/onnx_reference_eval.py MODEL_DIR [MODEL_DIR ...] [--rtol R] [--atol A]

Runs model.onnx on inputs/*.npy node by node, following the ONNX operator specifications, and compares
every graph output with expected/*.npy using the same rule as tests/models/compare_model.py
(|actual - expected| <= atol * max(1, max|expected|) + rtol * |expected|). A MODEL_DIR may also be a folder
of model folders. This is how the references written by export_models.py (PyTorch's outputs) and
make_legacy_models.py (numpy's) are checked against what the ONNX graph itself says, with no ONNX runtime:
wrong gate orders, attribute defaults or input wiring show up as mismatches.

It covers only the ops those models use (see OPS); an unknown op is reported, not guessed. Conv, pooling
and Erf use torch in float64; LSTM and GRU are implemented from the spec's equations.
"""
import argparse
import os
import sys
import time

import numpy as np
import onnx
from onnx import numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_legacy_models as L  # noqa: E402  (reference Resize/Slice/Pad/ConvTranspose/BatchNorm)

TENSOR_DTYPES = {1: np.float32, 2: np.uint8, 3: np.int8, 5: np.int16, 6: np.int32, 7: np.int64, 9: np.bool_,
                 10: np.float16, 11: np.float64}


def torch_():
    import torch
    return torch


def attrs_of(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def as_str(v):
    return v.decode() if isinstance(v, bytes) else v


def fl(x):
    """Floating tensors are evaluated in float64."""
    return x.astype(np.float64) if x.dtype.kind == "f" else x


# --------------------------------------------------------------------------------------------- ops

def op_conv(ins, a, opset):
    torch = torch_()
    x, w = ins[0], ins[1]
    b = ins[2] if len(ins) > 2 and ins[2] is not None else None
    nd = x.ndim - 2
    pads = a.get("pads", [0] * 2 * nd)
    if as_str(a.get("auto_pad", "NOTSET")) not in ("NOTSET", "VALID"):
        raise NotImplementedError("Conv auto_pad SAME_*")
    x = np.pad(x, [(0, 0), (0, 0)] + [(pads[i], pads[nd + i]) for i in range(nd)])
    fn = {1: torch.nn.functional.conv1d, 2: torch.nn.functional.conv2d, 3: torch.nn.functional.conv3d}[nd]
    y = fn(torch.from_numpy(fl(x)), torch.from_numpy(fl(w)), None if b is None else torch.from_numpy(fl(b)),
           stride=tuple(a.get("strides", [1] * nd)), dilation=tuple(a.get("dilations", [1] * nd)),
           groups=a.get("group", 1))
    return [y.numpy()]


def op_conv_transpose(ins, a, opset):
    if "output_shape" in a or as_str(a.get("auto_pad", "NOTSET")) != "NOTSET":
        raise NotImplementedError("ConvTranspose output_shape/auto_pad")
    b = ins[2] if len(ins) > 2 else None
    return [L.ref_conv_transpose(ins[0], ins[1], b, strides=a.get("strides"), pads=a.get("pads"),
                                 output_padding=a.get("output_padding"), dilations=a.get("dilations"),
                                 group=a.get("group", 1))]


def op_maxpool(ins, a, opset):
    torch = torch_()
    x = ins[0]
    nd = x.ndim - 2
    k = a["kernel_shape"]
    pads = a.get("pads", [0] * 2 * nd)
    if a.get("ceil_mode", 0) or as_str(a.get("auto_pad", "NOTSET")) not in ("NOTSET", "VALID"):
        raise NotImplementedError("MaxPool ceil_mode/auto_pad")
    x = np.pad(fl(x), [(0, 0), (0, 0)] + [(pads[i], pads[nd + i]) for i in range(nd)], constant_values=-np.inf)
    fn = {1: torch.nn.functional.max_pool1d, 2: torch.nn.functional.max_pool2d}[nd]
    return [fn(torch.from_numpy(x), tuple(k), stride=tuple(a.get("strides", [1] * nd)),
               dilation=tuple(a.get("dilations", [1] * nd))).numpy()]


def op_gemm(ins, a, opset):
    A, B = fl(ins[0]), fl(ins[1])
    if a.get("transA", 0):
        A = A.T
    if a.get("transB", 0):
        B = B.T
    y = a.get("alpha", 1.0) * (A @ B)
    if len(ins) > 2 and ins[2] is not None:
        y = y + a.get("beta", 1.0) * fl(ins[2])
    return [y]


def op_softmax(ins, a, opset, log=False):
    x = fl(ins[0])
    if opset < 13:
        return [L.ref_softmax_v11(x, a.get("axis", 1), log=log)]
    axis = a.get("axis", -1)
    x = x - x.max(axis=axis, keepdims=True)
    if log:
        return [x - np.log(np.exp(x).sum(axis=axis, keepdims=True))]
    e = np.exp(x)
    return [e / e.sum(axis=axis, keepdims=True)]


def op_layernorm(ins, a, opset):
    x = fl(ins[0])
    axis = a.get("axis", -1)
    axis = axis + x.ndim if axis < 0 else axis
    axes = tuple(range(axis, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    y = (x - mean) / np.sqrt(var + L.f32(a.get("epsilon", 1e-5))) * fl(ins[1])
    if len(ins) > 2 and ins[2] is not None:
        y = y + fl(ins[2])
    return [y]


def op_clip(ins, a, opset):
    if opset < 11:
        return [L.ref_clip(ins[0], a.get("min"), a.get("max"))]
    lo = ins[1] if len(ins) > 1 and ins[1] is not None else None
    hi = ins[2] if len(ins) > 2 and ins[2] is not None else None
    y = fl(ins[0])
    if lo is not None:
        y = np.maximum(y, fl(lo))
    if hi is not None:
        y = np.minimum(y, fl(hi))
    return [y]


def axes_arg(ins, a, opset):
    if opset < 13:
        return a.get("axes")
    return list(ins[1]) if len(ins) > 1 and ins[1] is not None else None


def op_unsqueeze(ins, a, opset):
    axes = axes_arg(ins, a, opset)
    out_rank = ins[0].ndim + len(axes)
    y = ins[0]
    for ax in sorted(ax + out_rank if ax < 0 else ax for ax in axes):
        y = np.expand_dims(y, ax)
    return [y]


def op_squeeze(ins, a, opset):
    axes = axes_arg(ins, a, opset)
    if axes is None:
        return [np.squeeze(ins[0])]
    return [np.squeeze(ins[0], axis=tuple(int(ax) for ax in axes))]


def op_reshape(ins, a, opset):
    x, shape = ins[0], [int(s) for s in ins[1]]
    if not a.get("allowzero", 0):
        shape = [x.shape[i] if s == 0 else s for i, s in enumerate(shape)]
    return [x.reshape(shape)]


def op_expand(ins, a, opset):
    shape = np.broadcast_shapes(ins[0].shape, tuple(int(s) for s in ins[1]))
    return [np.broadcast_to(ins[0], shape).copy()]


def op_slice(ins, a, opset):
    if opset < 10:
        return [L.ref_slice(ins[0], a["starts"], a["ends"], a.get("axes"))]
    opt = lambda i: [int(v) for v in ins[i]] if len(ins) > i and ins[i] is not None else None  # noqa: E731
    return [L.ref_slice(ins[0], opt(1), opt(2), opt(3), opt(4))]


def op_pad(ins, a, opset):
    mode = as_str(a.get("mode", "constant"))
    if opset < 11:
        return [L.ref_pad(ins[0], a["pads"], mode, a.get("value", 0.0))]
    value = float(ins[2]) if len(ins) > 2 and ins[2] is not None else 0.0
    return [L.ref_pad(ins[0], list(ins[1]), mode, value)]


def op_resize(ins, a, opset, upsample=False):
    x = ins[0]
    mode = as_str(a.get("mode", "nearest"))
    if upsample or opset < 11:  # Upsample-9, Resize-10: scales input, asymmetric, floor for nearest
        scales = ins[1] if upsample or opset == 10 else None
        if upsample and opset < 9:
            scales = a["scales"]
        return [L.ref_resize(x, mode, scales=list(scales), coordinate_transformation_mode="asymmetric",
                             nearest_mode="floor")]
    roi = ins[1] if len(ins) > 1 and ins[1] is not None and ins[1].size else None
    scales = ins[2] if len(ins) > 2 and ins[2] is not None and ins[2].size else None
    sizes = ins[3] if len(ins) > 3 and ins[3] is not None and ins[3].size else None
    if mode not in ("nearest", "linear"):
        raise NotImplementedError(f"Resize mode {mode}")
    if a.get("exclude_outside", 0):
        raise NotImplementedError("Resize exclude_outside")
    return [L.ref_resize(x, mode, scales=None if scales is None else list(scales),
                         sizes=None if sizes is None else list(sizes),
                         coordinate_transformation_mode=as_str(a.get("coordinate_transformation_mode",
                                                                     "half_pixel")),
                         nearest_mode=as_str(a.get("nearest_mode", "round_prefer_floor")),
                         roi=roi, extrapolation_value=L.f32(a.get("extrapolation_value", 0.0)))]


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def rnn_common(ins, a, gates):
    x = fl(ins[0])
    if a.get("layout", 0):
        raise NotImplementedError("RNN layout=1")
    for key in ("activations", "clip", "activation_alpha", "activation_beta"):
        if key in a:
            raise NotImplementedError(f"RNN attribute {key}")
    if len(ins) > 4 and ins[4] is not None:
        raise NotImplementedError("RNN sequence_lens")
    w, r = fl(ins[1]), fl(ins[2])
    num_dir, hidden = w.shape[0], a["hidden_size"]
    b = fl(ins[3]) if len(ins) > 3 and ins[3] is not None else np.zeros((num_dir, 2 * gates * hidden))
    batch = x.shape[1]
    h0 = fl(ins[5]) if len(ins) > 5 and ins[5] is not None else np.zeros((num_dir, batch, hidden))
    direction = as_str(a.get("direction", "forward"))
    dirs = {"forward": [False], "reverse": [True], "bidirectional": [False, True]}[direction]
    assert len(dirs) == num_dir
    return x, w, r, b, h0, hidden, dirs


def op_lstm(ins, a, opset):
    x, w, r, b, h0, hidden, dirs = rnn_common(ins, a, 4)
    if len(ins) > 7 and ins[7] is not None:
        raise NotImplementedError("LSTM peepholes")
    if a.get("input_forget", 0):
        raise NotImplementedError("LSTM input_forget")
    c0 = fl(ins[6]) if len(ins) > 6 and ins[6] is not None else np.zeros_like(h0)
    seq = x.shape[0]
    Y = np.zeros((seq, len(dirs), x.shape[1], hidden))
    Yh, Yc = np.zeros_like(h0), np.zeros_like(h0)
    for d, reverse in enumerate(dirs):
        h, c = h0[d], c0[d]
        bias = b[d, :4 * hidden] + b[d, 4 * hidden:]
        for t in (reversed(range(seq)) if reverse else range(seq)):
            g = x[t] @ w[d].T + h @ r[d].T + bias          # gate order i, o, f, c
            i, o, f, cc = (g[:, k * hidden:(k + 1) * hidden] for k in range(4))
            c = sigmoid(f) * c + sigmoid(i) * np.tanh(cc)
            h = sigmoid(o) * np.tanh(c)
            Y[t, d] = h
        Yh[d], Yc[d] = h, c
    return [Y, Yh, Yc]


def op_gru(ins, a, opset):
    x, w, r, b, h0, hidden, dirs = rnn_common(ins, a, 3)
    lbr = a.get("linear_before_reset", 0)
    seq = x.shape[0]
    Y = np.zeros((seq, len(dirs), x.shape[1], hidden))
    Yh = np.zeros_like(h0)
    H = hidden
    for d, reverse in enumerate(dirs):
        h = h0[d]
        wb, rb = b[d, :3 * H], b[d, 3 * H:]
        for t in (reversed(range(seq)) if reverse else range(seq)):
            xw = x[t] @ w[d].T + wb                          # gate order z, r, h
            z = sigmoid(xw[:, :H] + h @ r[d][:H].T + rb[:H])
            rr = sigmoid(xw[:, H:2 * H] + h @ r[d][H:2 * H].T + rb[H:2 * H])
            if lbr:
                hh = np.tanh(xw[:, 2 * H:] + rr * (h @ r[d][2 * H:].T + rb[2 * H:]))
            else:
                hh = np.tanh(xw[:, 2 * H:] + (rr * h) @ r[d][2 * H:].T + rb[2 * H:])
            h = (1 - z) * hh + z * h
            Y[t, d] = h
        Yh[d] = h
    return [Y, Yh]


def op_cast(ins, a, opset):
    return [ins[0].astype(TENSOR_DTYPES[a["to"]])]


def op_constant_of_shape(ins, a, opset):
    v = numpy_helper.to_array(a["value"]) if "value" in a else np.zeros(1, np.float32)
    return [np.full(tuple(int(s) for s in ins[0]), v.reshape(-1)[0], dtype=v.dtype)]


def binary(fn):
    def op(ins, a, opset):
        x, y = ins
        if x.dtype.kind in "iu" and y.dtype.kind in "iu":
            return [fn(x, y)]
        return [fn(fl(x), fl(y))]
    return op


def int_div(x, y):
    if x.dtype.kind in "iu":
        return (np.trunc(x / y)).astype(x.dtype)
    return x / y


def unary(fn):
    return lambda ins, a, opset: [fn(fl(ins[0]))]


def erf(x):
    return torch_().erf(torch_().from_numpy(x)).numpy()


OPS = {
    "Identity": lambda ins, a, o: [ins[0]],
    "Constant": lambda ins, a, o: [numpy_helper.to_array(a["value"])],
    "Add": binary(np.add), "Sub": binary(np.subtract), "Mul": binary(np.multiply), "Div": binary(int_div),
    "Pow": binary(np.power),
    "Relu": unary(lambda x: np.maximum(x, 0)), "Sigmoid": unary(sigmoid), "Tanh": unary(np.tanh),
    "Erf": unary(erf), "Sqrt": unary(np.sqrt), "Exp": unary(np.exp),
    "HardSigmoid": lambda ins, a, o: [L.ref_hardsigmoid(ins[0], a.get("alpha", 0.2), a.get("beta", 0.5))],
    "Clip": op_clip,
    "Conv": op_conv, "ConvTranspose": op_conv_transpose, "MaxPool": op_maxpool,
    "GlobalAveragePool": lambda ins, a, o: [fl(ins[0]).mean(axis=tuple(range(2, ins[0].ndim)), keepdims=True)],
    "BatchNormalization": lambda ins, a, o: [L.ref_batchnorm(*ins[:5], eps=a.get("epsilon", 1e-5))],
    "Flatten": lambda ins, a, o: [ins[0].reshape(int(np.prod(ins[0].shape[:a.get("axis", 1)])), -1)],
    "Gemm": op_gemm, "MatMul": lambda ins, a, o: [np.matmul(fl(ins[0]), fl(ins[1]))],
    "Softmax": op_softmax, "LogSoftmax": lambda ins, a, o: op_softmax(ins, a, o, log=True),
    "LayerNormalization": op_layernorm,
    "Shape": lambda ins, a, o: [np.array(ins[0].shape, dtype=np.int64)],
    "Gather": lambda ins, a, o: [np.take(ins[0], ins[1].astype(np.int64), axis=a.get("axis", 0))],
    "Unsqueeze": op_unsqueeze, "Squeeze": op_squeeze, "Reshape": op_reshape, "Expand": op_expand,
    "Concat": lambda ins, a, o: [np.concatenate(ins, axis=a["axis"])],
    "Transpose": lambda ins, a, o: [np.transpose(ins[0], a.get("perm"))],
    "Cast": op_cast, "ConstantOfShape": op_constant_of_shape, "Slice": op_slice, "Pad": op_pad,
    "Resize": op_resize, "Upsample": lambda ins, a, o: op_resize(ins, a, o, upsample=True),
    "LSTM": op_lstm, "GRU": op_gru,
}


def evaluate(model, feeds):
    opset = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    values = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    values.update(feeds)
    for node in model.graph.node:
        if node.domain not in ("", "ai.onnx") or node.op_type not in OPS:
            raise NotImplementedError(f"op {node.domain}::{node.op_type} (node {node.name})")
        ins = [values[n] if n else None for n in node.input]
        outs = OPS[node.op_type](ins, attrs_of(node), opset)
        for name, v in zip(node.output, outs):
            if name:
                values[name] = np.asarray(v)
    return {o.name: values[o.name] for o in model.graph.output}


def check(model_dir, rtol, atol):
    name = os.path.basename(model_dir.rstrip("/"))
    model = onnx.load(os.path.join(model_dir, "model.onnx"))
    feeds = {f[:-4]: np.load(os.path.join(model_dir, "inputs", f))
             for f in sorted(os.listdir(os.path.join(model_dir, "inputs")))}
    start = time.time()
    try:
        outs = evaluate(model, feeds)
    except NotImplementedError as e:
        print(f"SKIP {name}: {e}")
        return True
    elapsed = time.time() - start
    ok = True
    for f in sorted(os.listdir(os.path.join(model_dir, "expected"))):
        expected = np.load(os.path.join(model_dir, "expected", f))
        actual = outs[f[:-4]]
        if actual.shape != expected.shape:
            print(f"FAIL {name}/{f}: shape {actual.shape}, expected {expected.shape}")
            ok = False
            continue
        if expected.dtype.kind in "fc":
            scale = max(1.0, float(np.abs(expected).max()) if expected.size else 1.0)
            diff = np.abs(actual.astype(np.float64) - expected.astype(np.float64))
            bad = int(np.count_nonzero(~(diff <= atol * scale + rtol * np.abs(expected.astype(np.float64)))))
            worst = float(diff.max()) if diff.size else 0.0
            print(f"{'ok' if bad == 0 else 'FAIL'} {name}/{f}: max |diff| {worst:.3g} (scale {scale:.3g}), "
                  f"{bad} out of tolerance")
            ok &= bad == 0
        else:
            same = np.array_equal(actual, expected)
            print(f"{'ok' if same else 'FAIL'} {name}/{f}: exact")
            ok &= same
    print(f"{name}: evaluated in {elapsed:.1f} s")
    return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model_dirs", nargs="+")
    parser.add_argument("--rtol", type=float, default=1e-3)
    parser.add_argument("--atol", type=float, default=1e-4)
    args = parser.parse_args()
    dirs = []
    for d in args.model_dirs:
        if os.path.exists(os.path.join(d, "model.onnx")):
            dirs.append(d)
        else:
            dirs += [os.path.join(d, s) for s in sorted(os.listdir(d))
                     if os.path.exists(os.path.join(d, s, "model.onnx"))]
    results = [check(d, args.rtol, args.atol) for d in dirs]
    print(f"onnx_reference_eval: {sum(results)} ok, {len(results) - sum(results)} failed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
