#!/usr/bin/python3
"""Exports the real-architecture test models from PyTorch to ONNX (opset 17) with PyTorch's own outputs.

usage: /usr/bin/python3 tools/export_models.py OUT_DIR [--only NAME[,NAME...]] [--force] [--list]
       /usr/bin/python3 tools/export_models.py --update-example   # rewrites examples/tiny_cnn/

For each model this writes

    OUT_DIR/<name>/model.onnx
    OUT_DIR/<name>/inputs/<input_name>.npy       deterministic inputs (seeded numpy RNG)
    OUT_DIR/<name>/expected/<output_name>.npy    PyTorch's outputs on those inputs (eval mode, float32)
    OUT_DIR/<name>/meta.json                     generator version, export time, sizes, op histogram

Weights are random but seeded (no downloads), so every run produces the same models. A model folder whose
meta.json carries the current version for that model is reused as is (a cache), so re-runs are fast; a
folder is built under a temporary name and renamed into place only when complete, so an interrupted run
never leaves a half-written model behind. --force re-exports.

Must run under /usr/bin/python3 (Debian's python3-torch, python3-torchvision, python3-onnx).
"""
import argparse
import collections
import json
import math
import os
import shutil
import sys
import time
import warnings
import zlib

import numpy as np

try:
    import onnx
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    import torchvision
except ImportError as e:  # pragma: no cover - environment problem, say so clearly
    sys.exit(f"export_models.py: {e}; run it with /usr/bin/python3 (needs python3-torch, "
             f"python3-torchvision, python3-onnx)")

OPSET = 17
# torch.onnx's UserWarnings here are known and harmless for these models (LSTM batch-size advice with
# static shapes, "shape inference of prim::Constant is missing", constant folding with
# TrainingMode.PRESERVE on a model that is in eval mode); they would only bury the summary lines.
warnings.filterwarnings("ignore", category=UserWarning, module=r"torch\.onnx")
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE_DIR = os.path.join(REPO_ROOT, "examples", "tiny_cnn")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model_cache import op_histogram, read_meta, requested_names  # noqa: E402


def rng_for(name):
    """A numpy RNG seeded from the model name (stable across runs and Python versions)."""
    return np.random.default_rng(zlib.crc32(name.encode()))


def randomize_batchnorm(model, seed):
    """Gives every BatchNorm random (seeded) running statistics and affine parameters, so BN is not the
    identity it is after torchvision's initialisation."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                n = m.num_features
                m.weight.copy_(torch.rand(n, generator=g) + 0.5)            # U(0.5, 1.5)
                m.bias.copy_(torch.randn(n, generator=g) * 0.1)             # N(0, 0.1)
                m.running_mean.copy_(torch.randn(n, generator=g) * 0.1)     # N(0, 0.1)
                m.running_var.copy_(torch.rand(n, generator=g) * 1.5 + 0.5)  # U(0.5, 2.0)
    return model


def image_input(name, batch, size=224):
    return rng_for(name).standard_normal((batch, 3, size, size)).astype(np.float32)


# ----------------------------------------------------------------------------------------------------
# Model definitions. Each builder returns a dict:
#   model: the torch module (eval mode), inputs: {name: np.ndarray} in forward() argument order,
#   outputs: [names], dynamic_axes (optional), training (optional torch.onnx.TrainingMode).
# ----------------------------------------------------------------------------------------------------

def build_resnet50(name, batch):
    torch.manual_seed(0)
    model = randomize_batchnorm(torchvision.models.resnet50(weights=None), seed=1).eval()
    return dict(model=model, inputs={"input": image_input(name, batch)}, outputs=["output"],
                dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})


def build_mobilenetv2(name):
    torch.manual_seed(0)
    model = randomize_batchnorm(torchvision.models.mobilenet_v2(weights=None), seed=2).eval()
    return dict(model=model, inputs={"input": image_input(name, 1)}, outputs=["output"])


class SlowPathAttention(nn.Module):
    """Runs the wrapped model with autograd on. torch 1.13's nn.MultiheadAttention takes a fused "fast path"
    in eval mode without grad, and that fused op cannot be exported to ONNX; with grad on it takes the
    plain path (same math), which exports as MatMul/Softmax."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        with torch.enable_grad():
            return self.inner(x)


def build_vit(name):
    """torchvision's ViT-B/16 (12 layers, hidden 768, 224x224 patches of 16): the transformer of the
    benchmark suite."""
    torch.manual_seed(0)
    model = torchvision.models.vit_b_16(weights=None).eval()
    with torch.no_grad():  # torchvision zero-initialises the head; seeded values make its output informative
        model.heads.head.weight.normal_(0, 0.02, generator=torch.Generator().manual_seed(6))
    return dict(model=SlowPathAttention(model), inputs={"input": image_input(name, 1)}, outputs=["output"])


def build_vit_small(name):
    """A small ViT of torchvision's own architecture (4 layers, hidden 192, 6 heads, 64x64 images in patches
    of 16): the transformer the model and distributed tests run, since ViT-B/16 takes minutes to export."""
    torch.manual_seed(0)
    model = torchvision.models.VisionTransformer(image_size=64, patch_size=16, num_layers=4, num_heads=6,
                                                 hidden_dim=192, mlp_dim=768, num_classes=100).eval()
    with torch.no_grad():  # the head is zero-initialised; seeded values make its output informative
        model.heads.head.weight.normal_(0, 0.02, generator=torch.Generator().manual_seed(6))
    return dict(model=SlowPathAttention(model), inputs={"input": image_input(name, 2, size=64)}, outputs=["output"],
                dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})


class BertSelfAttention(nn.Module):
    def __init__(self, hidden, heads):
        super().__init__()
        self.heads, self.head_dim = heads, hidden // heads
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)

    def split(self, x):  # [B, S, H] -> [B, heads, S, head_dim]
        b, s, _ = x.shape
        return x.view(b, s, self.heads, self.head_dim).permute(0, 2, 1, 3)

    def forward(self, x, mask_bias):
        q, k, v = self.split(self.query(x)), self.split(self.key(x)), self.split(self.value(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_dim) + mask_bias
        probs = torch.softmax(scores, dim=-1)
        ctx = torch.matmul(probs, v).permute(0, 2, 1, 3).contiguous()
        b, s = ctx.shape[0], ctx.shape[1]
        return ctx.view(b, s, self.heads * self.head_dim)


class BertLayer(nn.Module):
    def __init__(self, hidden, heads, intermediate, eps):
        super().__init__()
        self.attention = BertSelfAttention(hidden, heads)
        self.attention_out = nn.Linear(hidden, hidden)
        self.attention_norm = nn.LayerNorm(hidden, eps=eps)
        self.intermediate = nn.Linear(hidden, intermediate)
        self.gelu = nn.GELU()  # exact (erf) form
        self.output = nn.Linear(intermediate, hidden)
        self.output_norm = nn.LayerNorm(hidden, eps=eps)

    def forward(self, x, mask_bias):
        x = self.attention_norm(x + self.attention_out(self.attention(x, mask_bias)))
        return self.output_norm(x + self.output(self.gelu(self.intermediate(x))))


class BertEncoder(nn.Module):
    """BERT-base encoder in plain torch: embeddings (word + position + token type 0) -> LayerNorm ->
    12 x [self-attention with additive -10000 mask bias, post-LN, GELU feed-forward, post-LN]."""

    def __init__(self, vocab=30522, hidden=768, layers=12, heads=12, intermediate=3072, max_pos=512,
                 type_vocab=2, eps=1e-12):
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab, hidden)
        self.position_embeddings = nn.Embedding(max_pos, hidden)
        self.token_type_embeddings = nn.Embedding(type_vocab, hidden)
        self.embedding_norm = nn.LayerNorm(hidden, eps=eps)
        self.layers = nn.ModuleList(BertLayer(hidden, heads, intermediate, eps) for _ in range(layers))
        self.register_buffer("position_ids", torch.arange(max_pos).unsqueeze(0), persistent=False)

    def forward(self, input_ids, attention_mask):
        seq = input_ids.shape[1]
        position_ids = self.position_ids[:, :seq]
        token_type_ids = torch.zeros_like(input_ids)
        x = (self.word_embeddings(input_ids) + self.position_embeddings(position_ids)
             + self.token_type_embeddings(token_type_ids))
        x = self.embedding_norm(x)
        mask_bias = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * -10000.0
        for layer in self.layers:
            x = layer(x, mask_bias)
        return x


def build_bert(name):
    torch.manual_seed(0)
    model = BertEncoder()
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * 0.02)
                if getattr(m, "bias", None) is not None:  # small non-zero biases so they are exercised
                    m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.02)
            elif isinstance(m, nn.LayerNorm):
                m.weight.copy_(1.0 + torch.randn(m.weight.shape, generator=g) * 0.02)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.02)
    model.eval()
    rng = rng_for(name)
    seq, valid = 128, 100
    ids = rng.integers(1000, 30522, size=(1, seq), dtype=np.int64)
    ids[0, 0], ids[0, valid - 1], ids[0, valid:] = 101, 102, 0   # [CLS] ... [SEP] [PAD]...
    mask = np.zeros((1, seq), dtype=np.int64)
    mask[0, :valid] = 1
    dyn = {0: "batch", 1: "sequence"}
    return dict(model=model, inputs={"input_ids": ids, "attention_mask": mask},
                outputs=["last_hidden_state"],
                dynamic_axes={"input_ids": dyn, "attention_mask": dyn, "last_hidden_state": dyn})


class LSTMModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(input_size=128, hidden_size=256, num_layers=2, batch_first=False)

    def forward(self, x):
        output, (h_n, c_n) = self.lstm(x)
        return output, h_n, c_n


def uniform_(module, bound, seed):
    """Re-initialises every parameter U(-bound, bound): torch's default (1/sqrt(hidden)) leaves the gates
    near their linear range and the outputs tiny; this puts pre-activations at about unit scale."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.rand(p.shape, generator=g) * 2 * bound - bound)
    return module


def build_lstm(name):
    torch.manual_seed(0)
    model = uniform_(LSTMModel(), 0.15, seed=6).eval()
    x = rng_for(name).standard_normal((32, 2, 128)).astype(np.float32)
    return dict(model=model, inputs={"input": x}, outputs=["output", "h_n", "c_n"])


class BiGRUModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(input_size=64, hidden_size=96, num_layers=1, bidirectional=True)

    def forward(self, x, h0):
        return self.gru(x, h0)


def build_bigru(name):
    torch.manual_seed(0)
    model = uniform_(BiGRUModel(), 0.2, seed=7).eval()
    rng = rng_for(name)
    x = rng.standard_normal((20, 3, 64)).astype(np.float32)
    h0 = (0.5 * rng.standard_normal((2, 3, 96))).astype(np.float32)
    return dict(model=model, inputs={"input": x, "h0": h0}, outputs=["output", "h_n"])


class TinyCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(16)
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.bn1(self.conv1(x))))
        x = F.relu(self.conv2(x))
        x = torch.flatten(self.gap(x), 1)
        return torch.softmax(self.fc(x), dim=1)


def build_tiny_cnn(name):
    torch.manual_seed(0)
    model = randomize_batchnorm(TinyCNN(), seed=4).eval()
    with torch.no_grad():  # larger logits so the class probabilities are not all ~0.1
        model.fc.weight.mul_(8.0)
    x = rng_for(name).standard_normal((1, 3, 32, 32)).astype(np.float32)
    return dict(model=model, inputs={"input": x}, outputs=["output"])


def conv_bn_relu(cin, cout, stride):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class Detector(nn.Module):
    """A small CenterNet-like detector: stride-4 backbone, ConvTranspose x2 and bilinear Upsample x2
    merged with the stride-2 skip, nearest Upsample x2 merged with the stride-1 skip, 1x1 heads."""

    def __init__(self, classes=4):
        super().__init__()
        self.c1 = conv_bn_relu(3, 16, 1)     # 64x64
        self.c2 = conv_bn_relu(16, 32, 2)    # 32x32
        self.c3 = conv_bn_relu(32, 64, 2)    # 16x16 (stride 4)
        self.deconv = nn.ConvTranspose2d(64, 32, kernel_size=4, stride=2, padding=1)  # -> 32x32
        self.up_bilinear = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.fuse2 = conv_bn_relu(32 + 32 + 64, 32, 1)
        self.up_nearest = nn.Upsample(scale_factor=2, mode="nearest")             # -> 64x64
        self.fuse1 = conv_bn_relu(32 + 16, 32, 1)
        self.heatmap = nn.Conv2d(32, classes, 1)
        self.boxes = nn.Conv2d(32, 4, 1)

    def forward(self, x):
        f1 = self.c1(x)
        f2 = self.c2(f1)
        f3 = self.c3(f2)
        y = torch.cat([F.relu(self.deconv(f3)), f2, self.up_bilinear(f3)], dim=1)
        y = self.fuse2(y)
        y = self.fuse1(torch.cat([self.up_nearest(y), f1], dim=1))
        return torch.sigmoid(self.heatmap(y)), self.boxes(y)


def build_detector(name):
    torch.manual_seed(0)
    model = randomize_batchnorm(Detector(), seed=5).eval()
    with torch.no_grad():  # wider output ranges (default init leaves the heatmap at 0.5 +- 0.08)
        model.heatmap.weight.mul_(4.0)
        model.boxes.weight.mul_(4.0)
    x = rng_for(name).standard_normal((1, 3, 64, 64)).astype(np.float32)
    # PRESERVE keeps BatchNormalization nodes (EVAL would fold them into the convolutions).
    return dict(model=model, inputs={"input": x}, outputs=["heatmap", "boxes"],
                training=torch.onnx.TrainingMode.PRESERVE)


def build_mobilenetv3(name, arch, height, width):
    """torchvision's MobileNetV3 (squeeze-excitation, hardswish/hardsigmoid, depthwise 3x3 and 5x5); at
    48x192 the depthwise layers run on tiny spatial sizes, as in text-line recognisers."""
    torch.manual_seed(0)
    builder = {"small": torchvision.models.mobilenet_v3_small, "large": torchvision.models.mobilenet_v3_large}
    model = randomize_batchnorm(builder[arch](weights=None), seed=8).eval()
    x = rng_for(name).standard_normal((1, 3, height, width)).astype(np.float32)
    return dict(model=model, inputs={"input": x}, outputs=["output"])


class DBNetMobile(nn.Module):
    """A DBNet-style text detector: MobileNetV3-large features tapped at strides 4/8/16/32, an FPN (1x1
    laterals, nearest x2 top-down adds, 3x3 smoothing, nearest upsampling of each level to stride 4 and a
    Concat), and the probability head (3x3 conv, two ConvTranspose x2, sigmoid) at full resolution."""

    TAPS = (3, 6, 12, 16)  # last feature block of strides 4, 8, 16, 32 in torchvision's mobilenet_v3_large

    def __init__(self, inner=96):
        super().__init__()
        self.features = torchvision.models.mobilenet_v3_large(weights=None).features
        widths = (24, 40, 112, 960)
        self.laterals = nn.ModuleList(nn.Conv2d(c, inner, 1, bias=False) for c in widths)
        self.smooth = nn.ModuleList(nn.Conv2d(inner, inner // 4, 3, padding=1, bias=False) for _ in widths)
        quarter = inner // 4
        self.head = nn.Sequential(
            nn.Conv2d(inner, quarter, 3, padding=1, bias=False), nn.BatchNorm2d(quarter), nn.ReLU(inplace=True),
            nn.ConvTranspose2d(quarter, quarter, 2, stride=2), nn.BatchNorm2d(quarter), nn.ReLU(inplace=True),
            nn.ConvTranspose2d(quarter, 1, 2, stride=2), nn.Sigmoid())

    def forward(self, x):
        taps = []
        for i, block in enumerate(self.features):
            x = block(x)
            if i in self.TAPS:
                taps.append(x)
        lat = [conv(t) for conv, t in zip(self.laterals, taps)]
        for i in range(len(lat) - 2, -1, -1):  # top-down: coarser level upsampled and added
            lat[i] = lat[i] + F.interpolate(lat[i + 1], scale_factor=2, mode="nearest")
        levels = [conv(t) for conv, t in zip(self.smooth, lat)]
        levels = [levels[0]] + [F.interpolate(t, scale_factor=2 ** i, mode="nearest")
                                for i, t in enumerate(levels[1:], start=1)]
        return self.head(torch.cat(levels[::-1], dim=1))


def build_dbnet(name):
    torch.manual_seed(0)
    model = randomize_batchnorm(DBNetMobile(), seed=9).eval()
    x = rng_for(name).standard_normal((1, 3, 640, 640)).astype(np.float32)
    return dict(model=model, inputs={"input": x}, outputs=["probability"])


class LSTMWide(nn.Module):
    """Two stacked LSTM layers of hidden 512 over a 64-step sequence, batch 1: a recurrence whose per-step
    work (four 512x512 gate products) is small enough that threading has to split the cell itself."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(input_size=512, hidden_size=512, num_layers=2, batch_first=False)

    def forward(self, x):
        output, (h_n, c_n) = self.lstm(x)
        return output, h_n, c_n


def build_lstm_2x512(name):
    torch.manual_seed(0)
    model = uniform_(LSTMWide(), 0.06, seed=10).eval()
    x = rng_for(name).standard_normal((64, 1, 512)).astype(np.float32)
    return dict(model=model, inputs={"input": x}, outputs=["output", "h_n", "c_n"])


# name -> (version, builder). Bump a version when its model or inputs change, so caches are rebuilt.
MODELS = collections.OrderedDict([
    ("tiny_cnn", (1, build_tiny_cnn)),
    ("lstm", (2, build_lstm)),
    ("bigru", (2, build_bigru)),
    ("detector", (2, build_detector)),
    ("mobilenetv2", (1, build_mobilenetv2)),
    ("resnet50", (1, lambda n: build_resnet50(n, 1))),
    ("resnet50_b4", (1, lambda n: build_resnet50(n, 4))),
    ("bert", (1, build_bert)),
    ("vit", (1, build_vit)),
    ("vit_small", (1, build_vit_small)),
    ("mobilenetv3_small_48x192", (1, lambda n: build_mobilenetv3(n, "small", 48, 192))),
    ("mobilenetv3_small", (1, lambda n: build_mobilenetv3(n, "small", 224, 224))),
    ("mobilenetv3_large", (1, lambda n: build_mobilenetv3(n, "large", 224, 224))),
    ("dbnet_mobile", (1, build_dbnet)),
    ("lstm_2x512", (1, build_lstm_2x512)),
])
# Exported only when named with --only (the benchmark suite needs them; the model tests do not).
ON_REQUEST = {"vit"}
# Models with the same weights: resnet50_b4's model.onnx is resnet50's (dynamic batch axis), copied
# when it is already there instead of exported again.
SAME_MODEL_FILE = {"resnet50_b4": "resnet50"}


# ----------------------------------------------------------------------------------------------------



def is_complete(model_dir, version):
    meta = read_meta(model_dir)
    if not meta or meta.get("version") != version:
        return False
    files = ["model.onnx"] + [f"inputs/{n}.npy" for n in meta["inputs"]] + \
            [f"expected/{n}.npy" for n in meta["outputs"]]
    return all(os.path.isfile(os.path.join(model_dir, f)) for f in files)


def check_outputs(name, outputs):
    for out_name, value in outputs.items():
        if value.dtype.kind == "f":
            if not np.all(np.isfinite(value)):
                raise RuntimeError(f"{name}: output {out_name} has non-finite values")
            if value.size > 1 and float(value.max()) == float(value.min()):
                raise RuntimeError(f"{name}: output {out_name} is constant ({float(value.max())})")


def export_one(name, version, builder, out_dir, copy_from=None):
    """Builds model `name` into out_dir/<name>; returns its meta dict."""
    final_dir = os.path.join(out_dir, name)
    tmp_dir = os.path.join(out_dir, f".tmp-{name}-{os.getpid()}")
    shutil.rmtree(tmp_dir, ignore_errors=True)
    os.makedirs(os.path.join(tmp_dir, "inputs"))
    os.makedirs(os.path.join(tmp_dir, "expected"))
    try:
        start = time.time()
        spec = builder(name)
        model, inputs, output_names = spec["model"], spec["inputs"], spec["outputs"]
        input_names = list(inputs)
        torch_inputs = tuple(torch.from_numpy(inputs[n]) for n in input_names)

        with torch.no_grad():
            result = model(*torch_inputs)
        if isinstance(result, torch.Tensor):
            result = (result,)
        result = list(result)
        if len(result) != len(output_names):
            raise RuntimeError(f"{name}: {len(result)} outputs, {len(output_names)} names")
        outputs = {n: t.detach().numpy().astype(np.float32, copy=False) if t.is_floating_point()
                   else t.detach().numpy() for n, t in zip(output_names, result)}
        check_outputs(name, outputs)
        model_path = os.path.join(tmp_dir, "model.onnx")

        if copy_from is not None:
            shutil.copyfile(os.path.join(copy_from, "model.onnx"), model_path)
            how = f"model.onnx copied from {os.path.basename(copy_from)}"
        else:
            torch.onnx.export(model, torch_inputs, model_path, opset_version=OPSET,
                              do_constant_folding=True, input_names=input_names,
                              output_names=output_names, dynamic_axes=spec.get("dynamic_axes"),
                              training=spec.get("training", torch.onnx.TrainingMode.EVAL))
            how = "exported"
        onnx.checker.check_model(model_path)  # path form: works for any size
        proto = onnx.load(model_path)
        graph_inputs = [i.name for i in proto.graph.input]
        graph_outputs = [o.name for o in proto.graph.output]
        if graph_inputs != input_names or graph_outputs != output_names:
            raise RuntimeError(f"{name}: graph inputs {graph_inputs} / outputs {graph_outputs} do not "
                               f"match {input_names} / {output_names}")
        if proto.opset_import[0].version != OPSET:
            raise RuntimeError(f"{name}: exported at opset {proto.opset_import[0].version}")
        hist = op_histogram(proto)
        del proto

        for n, v in inputs.items():
            np.save(os.path.join(tmp_dir, "inputs", f"{n}.npy"), v)
        for n, v in outputs.items():
            np.save(os.path.join(tmp_dir, "expected", f"{n}.npy"), v)
        meta = dict(name=name, version=version, opset=OPSET, how=how,
                    seconds=round(time.time() - start, 2),
                    model_bytes=os.path.getsize(model_path),
                    inputs={n: [str(v.dtype), list(v.shape)] for n, v in inputs.items()},
                    outputs={n: [str(v.dtype), list(v.shape)] for n, v in outputs.items()},
                    ops=hist, torch=torch.__version__, torchvision=torchvision.__version__,
                    onnx=onnx.__version__)
        with open(os.path.join(tmp_dir, "meta.json"), "w") as f:
            json.dump(meta, f, indent=1)
        if os.path.exists(final_dir):
            shutil.rmtree(final_dir)
        os.rename(tmp_dir, final_dir)
        return meta
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)


def describe(meta, cached):
    ops = ", ".join(f"{k} {v}" for k, v in meta["ops"].items())
    state = "cached" if cached else f"{meta['how']} in {meta['seconds']:.1f} s"
    print(f"{meta['name']}: {state}; model.onnx {meta['model_bytes'] / 1e6:.2f} MB; "
          f"inputs {meta['inputs']}; outputs {meta['outputs']}", flush=True)
    print(f"  ops: {ops}", flush=True)


def update_example():
    """Re-exports tiny_cnn into examples/tiny_cnn (the committed demo model)."""
    parent = os.path.dirname(EXAMPLE_DIR)
    os.makedirs(parent, exist_ok=True)
    version, builder = MODELS["tiny_cnn"]
    meta = export_one("tiny_cnn", version, builder, parent)
    os.remove(os.path.join(EXAMPLE_DIR, "meta.json"))  # keep the committed folder to the 3 parts
    describe(meta, cached=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out_dir", nargs="?")
    parser.add_argument("--only", help="comma-separated model names (default: all)")
    parser.add_argument("--force", action="store_true", help="re-export even when cached")
    parser.add_argument("--list", action="store_true", help="list the model names and exit")
    parser.add_argument("--update-example", action="store_true",
                        help=f"re-export tiny_cnn into {os.path.relpath(EXAMPLE_DIR, REPO_ROOT)}/")
    args = parser.parse_args()
    if args.list:
        print("\n".join(MODELS))
        return 0
    if args.update_example:
        update_example()
        if not args.out_dir:
            return 0
    if not args.out_dir:
        parser.error("OUT_DIR is required")
    names = requested_names(parser, args, MODELS, ON_REQUEST)
    os.makedirs(args.out_dir, exist_ok=True)
    torch.set_grad_enabled(False)
    total = time.time()
    for name in names:
        version, builder = MODELS[name]
        model_dir = os.path.join(args.out_dir, name)
        if not args.force and is_complete(model_dir, version):
            describe(read_meta(model_dir), cached=True)
            continue
        copy_from = None
        source = SAME_MODEL_FILE.get(name)
        if source and is_complete(os.path.join(args.out_dir, source), MODELS[source][0]):
            copy_from = os.path.join(args.out_dir, source)
        describe(export_one(name, version, builder, args.out_dir, copy_from), cached=False)
    print(f"export_models: {len(names)} model(s) ready in {args.out_dir} ({time.time() - total:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
