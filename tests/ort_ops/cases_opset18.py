"""Opset 18-26 cases: ops introduced after ONNX 1.12 (Swish, TensorScatter, GroupNormalization, CumProd,
BitCast, Col2Im, AffineGrid, DeformConv, CenterCropPad, ...) and the newer forms of existing ops (Reduce* with
`axes` as an input, ReduceMin/Max on booleans, Split with num_outputs, Pad with axes and wrap, Scatter
reductions min/max, Resize with antialias / keep_aspect_ratio_policy / axes, GridSample-20 in every mode,
padding and rank).

Each case carries its own numpy reference where the op's math is short enough to state here (float64,
from the specification), so it is checked even where ONNX Runtime does not run the op; where ORT runs it,
ORT is checked against the same reference."""
import numpy as np
from onnx import TensorProto, helper

from ort_ops_cases import MustFail, Tolerance, make_model, rng, value

F32, F16, I64 = TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.INT64
BOOL, I32 = TensorProto.BOOL, TensorProto.INT32
TOL = Tolerance(1e-5, 1e-5)


def _one(name, op, ins, outs, opset, attrs=None, inits=(), domain=""):
    """ins: [(name, elem_type, array)] graph inputs; outs: [(name, elem_type, rank)]; inits: TensorProtos
    (named inputs of the node that are not graph inputs)."""
    init_names = [t.name for t in inits]
    node_inputs = [n for n, _, _ in ins] + init_names
    node = helper.make_node(op, node_inputs, [o for o, _, _ in outs], domain=domain or None, **(attrs or {}))
    model = make_model([node], [value(n, t, a.shape) for n, t, a in ins], [value(o, t, rank=r) for o, t, r in outs],
                       {domain or "": opset}, initializers=inits)
    return model, {n: a for n, _, a in ins}


def _int64s(name, values):
    return helper.make_tensor(name, I64, [len(values)], list(values))


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def swish_cases():
    for alpha in (1.0, 0.5):
        name = f"Swish24_alpha{alpha}"
        x = rng(name).uniform(-8, 8, (3, 17)).astype(np.float32)
        model, inputs = _one(name, "Swish", [("x", F32, x)], [("y", F32, 2)], 24, {"alpha": alpha})
        ref = (x.astype(np.float64) * _sigmoid(alpha * x.astype(np.float64))).astype(np.float32)
        yield name, model, inputs, TOL, {"y": ref}


def _tensor_scatter_ref(past, update, write, axis, circular):
    out = past.copy()
    max_len, length = past.shape[axis], update.shape[axis]
    for b in range(past.shape[0]):
        for s in range(length):
            pos = (write[b] + s) % max_len if circular else write[b] + s
            dst = [b] + [slice(None)] * (past.ndim - 1)
            src = [b] + [slice(None)] * (past.ndim - 1)
            dst[axis], src[axis] = pos, s
            out[tuple(dst)] = update[tuple(src)]
    return out


def tensor_scatter_cases():
    forms = (("linear_axis-2", (2, 3, 8, 4), (2, 3, 2, 4), -2, "linear", [1, 6]),
             ("circular_axis2", (2, 3, 5, 4), (2, 3, 3, 4), 2, "circular", [4, 1]),
             ("linear_no_write_indices", (3, 6, 2), (3, 4, 2), 1, "linear", None))
    for label, past_shape, update_shape, axis, mode, write in forms:
        name = f"TensorScatter24_{label}"
        r = rng(name)
        past = r.standard_normal(past_shape).astype(np.float32)
        update = r.standard_normal(update_shape).astype(np.float32)
        ins = [("past", F32, past), ("update", F32, update)]
        if write is not None:
            ins.append(("write", I64, np.array(write, np.int64)))
        model, inputs = _one(name, "TensorScatter", ins, [("present", F32, len(past_shape))], 24,
                             {"axis": axis, "mode": mode})
        ref = _tensor_scatter_ref(past, update, write or [0] * past_shape[0], axis, mode == "circular")
        yield name, model, inputs, 0.0, {"present": ref}
    name = "TensorScatter24_linear_write_past_the_end"
    past, update = np.zeros((2, 4, 3), np.float32), np.ones((2, 2, 3), np.float32)
    model, inputs = _one(name, "TensorScatter", [("past", F32, past), ("update", F32, update),
                                                 ("write", I64, np.array([0, 3], np.int64))],
                         [("present", F32, 3)], 24, {"axis": 1})
    yield name, model, inputs, MustFail("write_indices")


def group_norm_cases():
    for opset, per_channel in ((21, True), (18, False)):
        name = f"GroupNormalization{opset}_{'per_channel' if per_channel else 'per_group'}"
        r = rng(name)
        n, c, groups = 2, 6, 3
        x = r.standard_normal((n, c, 4, 5)).astype(np.float32) * 3 + 1
        count = c if per_channel else groups
        scale = r.uniform(0.5, 2, count).astype(np.float32)
        bias = r.uniform(-1, 1, count).astype(np.float32)
        model, inputs = _one(name, "GroupNormalization", [("x", F32, x), ("scale", F32, scale), ("bias", F32, bias)],
                             [("y", F32, 4)], opset, {"num_groups": groups, "epsilon": 1e-4})
        xg = x.astype(np.float64).reshape(n, groups, -1)
        norm = ((xg - xg.mean(-1, keepdims=True)) / np.sqrt(xg.var(-1, keepdims=True) + 1e-4)).reshape(x.shape)
        s = scale if per_channel else np.repeat(scale, c // groups)
        b = bias if per_channel else np.repeat(bias, c // groups)
        ref = (norm * s.reshape(1, c, 1, 1) + b.reshape(1, c, 1, 1)).astype(np.float32)
        yield name, model, inputs, Tolerance(1e-5, 1e-4), {"y": ref}


def cumprod_bitcast_cases():
    for exclusive in (0, 1):
        for reverse in (0, 1):
            name = f"CumProd26_exclusive{exclusive}_reverse{reverse}"
            x = rng(name).uniform(0.5, 1.5, (3, 6)).astype(np.float32)
            model, inputs = _one(name, "CumProd", [("x", F32, x)], [("y", F32, 2)], 26,
                                 {"exclusive": exclusive, "reverse": reverse},
                                 inits=[helper.make_tensor("axis", I64, [], [1])])
            v = x.astype(np.float64)[:, ::-1] if reverse else x.astype(np.float64)
            c = np.cumprod(v, axis=1)
            if exclusive:
                c = np.concatenate([np.ones((3, 1)), c[:, :-1]], axis=1)
            ref = (c[:, ::-1] if reverse else c).astype(np.float32)
            yield name, model, inputs, TOL, {"y": ref}
    name = "BitCast26_float_to_int32"
    x = rng(name).standard_normal((4, 5)).astype(np.float32)
    model, inputs = _one(name, "BitCast", [("x", F32, x)], [("y", I32, 2)], 26, {"to": I32})
    yield name, model, inputs, 0.0, {"y": x.view(np.int32)}
    name = "BitCast26_width_mismatch"
    model, inputs = _one(name, "BitCast", [("x", F32, x)], [("y", I64, 2)], 26, {"to": I64})
    yield name, model, inputs, MustFail("keeps the width")


REDUCE_REFS = {
    "ReduceSum": lambda x, a, k: np.sum(x, axis=a, keepdims=k),
    "ReduceMean": lambda x, a, k: np.mean(x, axis=a, keepdims=k),
    "ReduceMax": lambda x, a, k: np.max(x, axis=a, keepdims=k),
    "ReduceMin": lambda x, a, k: np.min(x, axis=a, keepdims=k),
    "ReduceProd": lambda x, a, k: np.prod(x, axis=a, keepdims=k),
    "ReduceL1": lambda x, a, k: np.sum(np.abs(x), axis=a, keepdims=k),
    "ReduceL2": lambda x, a, k: np.sqrt(np.sum(x * x, axis=a, keepdims=k)),
    "ReduceLogSum": lambda x, a, k: np.log(np.sum(x, axis=a, keepdims=k)),
    "ReduceLogSumExp": lambda x, a, k: np.log(np.sum(np.exp(x), axis=a, keepdims=k)),
    "ReduceSumSquare": lambda x, a, k: np.sum(x * x, axis=a, keepdims=k),
}


def reduce_cases():
    for op, ref in REDUCE_REFS.items():
        opset = 13 if op == "ReduceSum" else 18
        for axes, keepdims in (([1], 0), ([0, -1], 1)):
            name = f"{op}{opset}_axes_input_{'_'.join(map(str, axes))}_keepdims{keepdims}"
            x = rng(name).uniform(0.5, 2.0, (3, 4, 5)).astype(np.float32)
            model, inputs = _one(name, op, [("x", F32, x)], [("y", F32, 3 - (0 if keepdims else len(axes)))], opset,
                                 {"keepdims": keepdims}, inits=[_int64s("axes", axes)])
            out = ref(x.astype(np.float64), tuple(axes), bool(keepdims)).astype(np.float32)
            yield name, model, inputs, Tolerance(1e-5, 1e-5), {"y": out}
        name = f"{op}{opset}_empty_axes_noop"
        x = rng(name).uniform(0.5, 2.0, (2, 3)).astype(np.float32)
        model, inputs = _one(name, op, [("x", F32, x)], [("y", F32, 2)], opset, {"noop_with_empty_axes": 1},
                             inits=[helper.make_tensor("axes", I64, [0], [])])
        # An empty axes list with noop_with_empty_axes reduces over no axis: each element on its own
        # (ReduceSumSquare squares it, ReduceLogSum takes its log), which numpy's axis=() computes too.
        out = ref(x.astype(np.float64), (), True).astype(np.float32)
        yield name, model, inputs, Tolerance(1e-6, 1e-6), {"y": out}
    for op, fn in (("ReduceMax", np.any), ("ReduceMin", np.all)):
        name = f"{op}20_bool"
        x = rng(name).uniform(size=(3, 4)) > 0.4
        model, inputs = _one(name, op, [("x", BOOL, x)], [("y", BOOL, 2)], 20, {"keepdims": 1},
                             inits=[_int64s("axes", [1])])
        yield name, model, inputs, 0.0, {"y": fn(x, axis=1, keepdims=True)}


def split_pad_cases():
    for dim, parts in ((7, 3), (8, 4), (5, 3)):
        name = f"Split18_num_outputs{parts}_dim{dim}"
        x = rng(name).standard_normal((2, dim)).astype(np.float32)
        outs = [(f"y{i}", F32, 2) for i in range(parts)]
        model, inputs = _one(name, "Split", [("x", F32, x)], outs, 18, {"axis": 1, "num_outputs": parts})
        chunk = -(-dim // parts)
        yield name, model, inputs, 0.0, {f"y{i}": x[:, i * chunk:(i + 1) * chunk] for i in range(parts)}
    for mode in ("constant", "reflect", "edge", "wrap"):
        opset = 19 if mode == "wrap" else 18
        name = f"Pad{opset}_axes_{mode}"
        x = rng(name).standard_normal((2, 3, 4)).astype(np.float32)
        pads = [1, 2, 2, 1]  # begin of axes (-1, 1), then their ends
        inits = [_int64s("pads", pads), helper.make_tensor("cv", F32, [], [0.5]), _int64s("axes", [-1, 1])]
        model, inputs = _one(name, "Pad", [("x", F32, x)], [("y", F32, 3)], opset, {"mode": mode}, inits=inits)
        width = [(0, 0), (2, 1), (1, 2)]
        kw = {"constant_values": 0.5} if mode == "constant" else {}
        ref = np.pad(x, width, mode={"edge": "edge", "reflect": "reflect", "wrap": "wrap"}.get(mode, "constant"), **kw)
        yield name, model, inputs, 0.0, {"y": ref}


def scatter_cases():
    for reduction in ("min", "max"):
        name = f"ScatterElements18_{reduction}"
        r = rng(name)
        data = r.standard_normal((4, 5)).astype(np.float32)
        idx = r.integers(0, 4, (3, 5)).astype(np.int64)
        upd = r.standard_normal((3, 5)).astype(np.float32)
        model, inputs = _one(name, "ScatterElements", [("d", F32, data), ("i", I64, idx), ("u", F32, upd)],
                             [("y", F32, 2)], 18, {"axis": 0, "reduction": reduction})
        ref = data.copy()
        f = np.minimum if reduction == "min" else np.maximum
        for a in range(3):
            for b in range(5):
                ref[idx[a, b], b] = f(ref[idx[a, b], b], upd[a, b])
        yield name, model, inputs, 0.0, {"y": ref}
        name = f"ScatterND18_{reduction}"
        data = r.standard_normal((4, 3)).astype(np.float32)
        idx = np.array([[1], [3], [1]], np.int64)
        upd = r.standard_normal((3, 3)).astype(np.float32)
        model, inputs = _one(name, "ScatterND", [("d", F32, data), ("i", I64, idx), ("u", F32, upd)],
                             [("y", F32, 2)], 18, {"reduction": reduction})
        ref = data.copy()
        for k in range(3):
            ref[idx[k, 0]] = f(ref[idx[k, 0]], upd[k])
        yield name, model, inputs, 0.0, {"y": ref}


def resize_cases():
    # ORT-only references: antialiased filters and aspect-ratio policies are longer than a case should be.
    empty = helper.make_tensor("roi", F32, [0], [])
    for mode in ("linear", "cubic"):
        name = f"Resize18_antialias_{mode}"
        x = rng(name).standard_normal((1, 2, 12, 10)).astype(np.float32)
        inits = [empty, helper.make_tensor("scales", F32, [4], [1, 1, 0.5, 0.4])]
        model, inputs = _one(name, "Resize", [("x", F32, x)], [("y", F32, 4)], 18, {"mode": mode, "antialias": 1},
                             inits=inits)
        yield name, model, inputs, Tolerance(1e-5, 1e-4)
    for policy in ("not_larger", "not_smaller"):
        name = f"Resize18_keep_aspect_{policy}_axes"
        x = rng(name).standard_normal((1, 2, 6, 8)).astype(np.float32)
        inits = [empty, helper.make_tensor("scales", F32, [0], []), _int64s("sizes", [9, 9])]
        model, inputs = _one(name, "Resize", [("x", F32, x)], [("y", F32, 4)], 18,
                             {"mode": "linear", "keep_aspect_ratio_policy": policy, "axes": [2, 3]}, inits=inits)
        yield name, model, inputs, Tolerance(1e-5, 1e-4)
    name = "Resize19_half_pixel_symmetric_scales_axes"
    x = rng(name).standard_normal((1, 1, 5, 7)).astype(np.float32)
    inits = [empty, helper.make_tensor("scales", F32, [2], [1.7, 0.6])]
    model, inputs = _one(name, "Resize", [("x", F32, x)], [("y", F32, 4)], 19,
                         {"mode": "linear", "coordinate_transformation_mode": "half_pixel_symmetric", "axes": [3, 2]},
                         inits=inits)
    yield name, model, inputs, Tolerance(1e-5, 1e-4)


def center_crop_pad_cases():
    for label, shape, target in (("crop", (6, 7, 3), [4, 5]), ("pad", (3, 2, 3), [6, 5]), ("mixed", (6, 2, 3), [3, 5])):
        name = f"CenterCropPad18_{label}"
        x = rng(name).standard_normal(shape).astype(np.float32)
        model, inputs = _one(name, "CenterCropPad", [("x", F32, x)], [("y", F32, 3)], 18, {"axes": [0, 1]},
                             inits=[_int64s("shape", target)])
        ref = np.zeros(tuple(target) + shape[2:], np.float32)
        src, dst = [], []
        for size, want in zip(shape[:2], target):
            if size >= want:
                start = (size - want) // 2
                src.append(slice(start, start + want))
                dst.append(slice(0, want))
            else:
                start = (want - size) // 2
                src.append(slice(0, size))
                dst.append(slice(start, start + size))
        ref[tuple(dst)] = x[tuple(src)]
        yield name, model, inputs, 0.0, {"y": ref}


def layer_norm_cases():
    name = "LayerNormalization17_float16_stash_type1"
    r = rng(name)
    x = r.standard_normal((3, 16)).astype(np.float16)
    scale, bias = r.uniform(0.5, 1.5, 16).astype(np.float16), r.uniform(-1, 1, 16).astype(np.float16)
    model, inputs = _one(name, "LayerNormalization", [("x", F16, x), ("s", F16, scale), ("b", F16, bias)],
                         [("y", F16, 2)], 17, {"axis": -1, "stash_type": 1})
    x64 = x.astype(np.float64)
    norm = (x64 - x64.mean(-1, keepdims=True)) / np.sqrt(x64.var(-1, keepdims=True) + 1e-5)
    yield name, model, inputs, Tolerance(2e-3, 2e-3), {"y": (norm * scale + bias).astype(np.float16)}


def cases():
    for family in (swish_cases, tensor_scatter_cases, group_norm_cases, cumprod_bitcast_cases, reduce_cases,
                   split_pad_cases, scatter_cases, resize_cases, center_crop_pad_cases, layer_norm_cases):
        yield from family()
    yield from _later_cases()


def _affine_grid_ref(theta, size, align_corners):
    spatial = size[2:]
    axes = []
    for n in spatial:
        if align_corners:
            axes.append(np.linspace(-1.0, 1.0, n) if n > 1 else np.array([-1.0]))
        else:
            axes.append((np.arange(n) * 2.0 + 1.0) / n - 1.0)
    mesh = np.meshgrid(*axes, indexing="ij")  # (D,) H, W
    coords = [mesh[-1], mesh[-2]] + ([mesh[0]] if len(spatial) == 3 else [])  # x, y[, z]
    base = np.stack(coords + [np.ones_like(mesh[0])], axis=-1)
    return np.einsum("...k,nrk->n...r", base, theta.astype(np.float64)).astype(np.float32)


def affine_grid_cases():
    for dims, align in ((2, 0), (2, 1), (3, 0)):
        name = f"AffineGrid20_{dims}d_align_corners{align}"
        r = rng(name)
        size = [2, 3, 4, 5] if dims == 2 else [2, 1, 3, 4, 2]
        theta = r.uniform(-1, 1, (2, dims, dims + 1)).astype(np.float32)
        model, inputs = _one(name, "AffineGrid", [("theta", F32, theta)], [("grid", F32, dims + 2)], 20,
                             {"align_corners": align}, inits=[_int64s("size", size)])
        yield name, model, inputs, TOL, {"grid": _affine_grid_ref(theta, size, align)}


def _col2im_ref(x, image, block, dilations, pads, strides):
    n, cb, _ = x.shape
    c = cb // int(np.prod(block))
    padded = [image[d] + pads[d] + pads[len(image) + d] for d in range(len(image))]
    grid = [(padded[d] - dilations[d] * (block[d] - 1) - 1) // strides[d] + 1 for d in range(len(image))]
    out = np.zeros([n, c] + [p for p in padded])
    cols = x.astype(np.float64).reshape([n, c] + list(block) + grid)
    for kidx in np.ndindex(*block):
        for pidx in np.ndindex(*grid):
            at = tuple(pidx[d] * strides[d] + kidx[d] * dilations[d] for d in range(len(image)))
            out[(slice(None), slice(None)) + at] += cols[(slice(None), slice(None)) + kidx + pidx]
    crop = tuple(slice(pads[d], pads[d] + image[d]) for d in range(len(image)))
    return out[(slice(None), slice(None)) + crop].astype(np.float32)


def col2im_cases():
    forms = (("2d_plain", [5, 5], [2, 2], [1, 1], [0, 0, 0, 0], [1, 1]),
             ("2d_stride_pad_dilation", [6, 7], [3, 2], [2, 1], [1, 0, 2, 1], [2, 1]),
             ("3d", [3, 4, 3], [2, 2, 1], [1, 1, 1], [0, 0, 0, 0, 0, 0], [1, 2, 1]))
    for label, image, block, dil, pads, strides in forms:
        name = f"Col2Im18_{label}"
        dims = len(image)
        grid = [(image[d] + pads[d] + pads[dims + d] - dil[d] * (block[d] - 1) - 1) // strides[d] + 1
                for d in range(dims)]
        x = rng(name).standard_normal((2, 3 * int(np.prod(block)), int(np.prod(grid)))).astype(np.float32)
        model, inputs = _one(name, "Col2Im", [("x", F32, x)], [("y", F32, 2 + dims)], 18,
                             {"dilations": dil, "pads": pads, "strides": strides},
                             inits=[_int64s("image", image), _int64s("block", block)])
        yield name, model, inputs, TOL, {"y": _col2im_ref(x, image, block, dil, pads, strides)}


def _bilinear_zero(img, h, w):
    height, width = img.shape
    if h <= -1 or h >= height or w <= -1 or w >= width:
        return 0.0
    h0, w0 = int(np.floor(h)), int(np.floor(w))
    lh, lw = h - h0, w - w0

    def at(y, x):
        return float(img[y, x]) if 0 <= y < height and 0 <= x < width else 0.0
    return ((1 - lh) * (1 - lw) * at(h0, w0) + (1 - lh) * lw * at(h0, w0 + 1) + lh * (1 - lw) * at(h0 + 1, w0)
            + lh * lw * at(h0 + 1, w0 + 1))


def _deform_conv_ref(x, w, offset, bias, mask, stride, pad, dil, group, offset_group):
    n, c, height, width = x.shape
    oc, _, kh, kw = w.shape
    oh, ow = offset.shape[2:]
    y = np.zeros((n, oc, oh, ow))
    cpg, opg = c // group, oc // group
    for b, o, py, px in np.ndindex(n, oc, oh, ow):
        g = o // opg
        acc = 0.0
        for ci in range(cpg):
            ch = g * cpg + ci
            og = ch // (c // offset_group)
            for i, j in np.ndindex(kh, kw):
                tap = i * kw + j
                dy = offset[b, og * 2 * kh * kw + 2 * tap, py, px]
                dx = offset[b, og * 2 * kh * kw + 2 * tap + 1, py, px]
                hh = py * stride[0] - pad[0] + i * dil[0] + dy
                ww = px * stride[1] - pad[1] + j * dil[1] + dx
                m = 1.0 if mask is None else mask[b, og * kh * kw + tap, py, px]
                acc += w[o, ci, i, j] * _bilinear_zero(x[b, ch], hh, ww) * m
        y[b, o, py, px] = acc + (0.0 if bias is None else bias[o])
    return y.astype(np.float32)


def _linear_zero_nd(img, at):
    """r-linear sample of img at the point `at`, zero outside (and 0 at or beyond one pixel outside)."""
    if any(a <= -1 or a >= n for a, n in zip(at, img.shape)):
        return 0.0
    low = [int(np.floor(a)) for a in at]
    total = 0.0
    for corner in np.ndindex(*([2] * len(at))):
        idx = [lo + c for lo, c in zip(low, corner)]
        weight = np.prod([(a - lo) if c else (1 - (a - lo)) for a, lo, c in zip(at, low, corner)])
        if all(0 <= i < n for i, n in zip(idx, img.shape)):
            total += weight * float(img[tuple(idx)])
    return total


def _deform_conv_nd_ref(x, w, offset, stride, pad, dil):
    """DeformConv of any spatial rank, group and offset_group 1, no bias or mask: the spec's sum, plainly."""
    r = x.ndim - 2
    kernel, out_dims = w.shape[2:], offset.shape[2:]
    y = np.zeros((x.shape[0], w.shape[0]) + tuple(out_dims))
    for b, o in np.ndindex(x.shape[0], w.shape[0]):
        for pos in np.ndindex(*out_dims):
            acc = 0.0
            for ci in range(x.shape[1]):
                for t, tap in enumerate(np.ndindex(*kernel)):
                    at = [pos[d] * stride[d] - pad[d] + tap[d] * dil[d] + offset[(b, r * t + d) + pos]
                          for d in range(r)]
                    acc += w[(o, ci) + tap] * _linear_zero_nd(x[b, ci], at)
            y[(b, o) + pos] = acc
    return y.astype(np.float32)


def deform_conv_nd_cases():
    # 1-D and 3-D (the spec's DeformConv is N-D); where ORT has only the 2-D kernel the reference decides.
    for label, in_dims, k, stride, pad, dil in (("1d", (9,), (3,), [2], [1, 0], [1]),
                                                ("3d", (3, 4, 5), (2, 2, 3), [1, 1, 2], [0, 1, 1, 0, 0, 1], [1, 2, 1])):
        name = f"DeformConv19_{label}"
        r = rng(name)
        x = r.standard_normal((1, 2) + in_dims).astype(np.float32)
        w = r.standard_normal((3, 2) + k).astype(np.float32)
        rank = len(in_dims)
        out_dims = tuple((in_dims[d] + pad[d] + pad[rank + d] - (dil[d] * (k[d] - 1) + 1)) // stride[d] + 1
                         for d in range(rank))
        offset = (r.standard_normal((1, rank * int(np.prod(k))) + out_dims) * 1.5).astype(np.float32)
        model, inputs = _one(name, "DeformConv", [("x", F32, x), ("w", F32, w), ("offset", F32, offset)],
                             [("y", F32, rank + 2)], 19, {"strides": stride, "pads": pad, "dilations": dil,
                                                          "kernel_shape": list(k)})
        yield name, model, inputs, Tolerance(1e-4, 1e-4), {"y": _deform_conv_nd_ref(x, w, offset, stride, pad, dil)}


def deform_conv_cases():
    forms = (("plain", 1, 1, False, False, [1, 1], [0, 0, 0, 0], [1, 1]),
             ("bias_mask_stride_pad", 1, 1, True, True, [2, 1], [1, 1, 1, 0], [1, 1]),
             ("groups_offset_groups_dilation", 2, 2, True, False, [1, 1], [1, 1, 1, 1], [2, 1]))
    for label, group, offset_group, bias, mask, stride, pad, dil in forms:
        name = f"DeformConv19_{label}"
        r = rng(name)
        n, c, h, wd, oc, k = 1, 4, 5, 6, 4, 3
        x = r.standard_normal((n, c, h, wd)).astype(np.float32)
        w = r.standard_normal((oc, c // group, k, k)).astype(np.float32)
        oh = (h + pad[0] + pad[2] - (dil[0] * (k - 1) + 1)) // stride[0] + 1
        ow = (wd + pad[1] + pad[3] - (dil[1] * (k - 1) + 1)) // stride[1] + 1
        offset = (r.standard_normal((n, offset_group * 2 * k * k, oh, ow)) * 1.5).astype(np.float32)
        ins = [("x", F32, x), ("w", F32, w), ("offset", F32, offset)]
        b = r.standard_normal(oc).astype(np.float32) if bias else None
        m = r.uniform(0, 1, (n, offset_group * k * k, oh, ow)).astype(np.float32) if mask else None
        if bias or mask:
            ins.append(("b", F32, b if bias else np.zeros(oc, np.float32)))
        if mask:
            ins.append(("mask", F32, m))
        model, inputs = _one(name, "DeformConv", ins, [("y", F32, 4)], 19,
                             {"group": group, "offset_group": offset_group, "strides": stride, "pads": pad,
                              "dilations": dil, "kernel_shape": [k, k]})
        ref = _deform_conv_ref(x, w, offset, b, m, stride, pad, dil, group, offset_group)
        yield name, model, inputs, Tolerance(1e-4, 1e-4), {"y": ref}


def grid_sample_cases():
    # ORT-only references: GridSample's padding and rounding rules are ORT's (and PyTorch's).
    for rank in (4, 5):
        for mode in (("nearest", "linear", "cubic") if rank == 4 else ("nearest", "linear")):
            for padding in ("zeros", "border", "reflection"):
                for align in (0, 1):
                    name = f"GridSample20_{rank}d_{mode}_{padding}_align{align}"
                    r = rng(name)
                    x = r.standard_normal((1, 2, 4, 5) if rank == 4 else (1, 2, 3, 4, 5)).astype(np.float32)
                    grid_shape = (1, 3, 4, 2) if rank == 4 else (1, 2, 3, 4, 3)
                    grid = r.uniform(-1.3, 1.3, grid_shape).astype(np.float32)
                    model, inputs = _one(name, "GridSample", [("x", F32, x), ("grid", F32, grid)], [("y", F32, rank)],
                                         20, {"mode": mode, "padding_mode": padding, "align_corners": align})
                    yield name, model, inputs, Tolerance(1e-5, 1e-4)


def upsample1_cases():
    # Opset 1 (height_scale/width_scale attributes): ORT has no kernel this old, so the reference decides.
    name = "Upsample1_nearest_2x3"
    x = rng(name).standard_normal((1, 2, 3, 4)).astype(np.float32)
    model, inputs = _one(name, "Upsample", [("x", F32, x)], [("y", F32, 4)], 1,
                         {"height_scale": 2.0, "width_scale": 3.0, "mode": "nearest"})
    yield name, model, inputs, 0.0, {"y": np.repeat(np.repeat(x, 2, axis=2), 3, axis=3)}
    # Opset 10 (deprecated there, computed as opset 9; ORT refuses the deprecated op): scales as an
    # initializer, nearest and linear.
    for mode in ("nearest", "linear"):
        name = f"Upsample10_{mode}_2x3"
        x = rng(name).standard_normal((1, 2, 3, 4)).astype(np.float32)
        scales = helper.make_tensor("scales", F32, [4], [1.0, 1.0, 2.0, 3.0])
        model, inputs = _one(name, "Upsample", [("x", F32, x)], [("y", F32, 4)], 10, {"mode": mode},
                             inits=[scales])
        if mode == "nearest":
            yield name, model, inputs, 0.0, {"y": np.repeat(np.repeat(x, 2, axis=2), 3, axis=3)}
        else:
            yield name, model, inputs, Tolerance(1e-5, 1e-5), {"y": _upsample_linear(x, [2, 3]).astype(np.float32)}


def _upsample_linear(x, scales):
    """Upsample's linear mode on the last len(scales) axes: source x_out / scale (asymmetric), clamped."""
    y = x.astype(np.float64)
    for k, scale in enumerate(scales):
        axis = x.ndim - len(scales) + k
        n = y.shape[axis]
        src = np.arange(int(n * scale)) / scale
        lo = np.minimum(np.floor(src).astype(int), n - 1)
        hi = np.minimum(lo + 1, n - 1)
        w = (src - lo).reshape([-1 if a == axis else 1 for a in range(y.ndim)])
        y = np.take(y, lo, axis=axis) * (1 - w) + np.take(y, hi, axis=axis) * w
    return y


def _later_cases():
    yield from upsample1_cases()
    yield from grid_sample_cases()
    yield from affine_grid_cases()
    yield from col2im_cases()
    yield from deform_conv_cases()
    yield from deform_conv_nd_cases()
