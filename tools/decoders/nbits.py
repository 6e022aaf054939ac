"""Block-wise asymmetric quantization into com.microsoft MatMulNBits' layout.

For a weight W [N, K] (torch Linear layout: one row per output) and block size bs, K is cut into
n_blocks = ceil(K / bs) blocks per row. Per block: scale = (max - min) / (2^bits - 1) over the block with 0
included in the range, zero_point = round(-min / scale), q = clip(round(w / scale) + zero_point).
    B            uint8 [N, n_blocks, bs * bits / 8]   two 4-bit values a byte, the lower index in the low nibble
    scales       float32 [N * n_blocks]
    zero_points  uint8 [N * ceil(n_blocks * bits / 8)]  packed the same way, each row padded to whole bytes
and MatMulNBits(A, B, scales, zero_points) computes A @ dequant(B).T with dequant = (q - zero_point) * scale.
"""
import numpy as np
import torch


def quantize(w, bits=4, block=32):
    if bits != 4:
        raise ValueError("only 4-bit packing is implemented")
    n, k = w.shape
    n_blocks = -(-k // block)
    padded = np.zeros((n, n_blocks * block), np.float32)
    padded[:, :k] = w
    blocks = padded.reshape(n, n_blocks, block)
    lo = np.minimum(blocks.min(axis=2), 0.0)
    hi = np.maximum(blocks.max(axis=2), 0.0)
    levels = (1 << bits) - 1
    scale = ((hi - lo) / levels).astype(np.float32)
    scale = np.where(scale == 0, np.float32(1.0), scale).astype(np.float32)
    zp = np.clip(np.round(-lo / scale), 0, levels).astype(np.uint8)
    q = np.clip(np.round(blocks / scale[:, :, None]) + zp[:, :, None], 0, levels).astype(np.uint8)
    packed = (q[:, :, 0::2] | (q[:, :, 1::2] << 4)).astype(np.uint8)          # [N, n_blocks, block/2]
    zp_padded = np.zeros((n, n_blocks + (n_blocks & 1)), np.uint8)
    zp_padded[:, :n_blocks] = zp
    zp_packed = (zp_padded[:, 0::2] | (zp_padded[:, 1::2] << 4)).astype(np.uint8)
    return packed, scale.reshape(-1), zp_packed.reshape(-1)


def dequantize(packed, scales, zp_packed, k, bits=4, block=32):
    n, n_blocks, _ = packed.shape
    q = np.empty((n, n_blocks, block), np.float32)
    q[:, :, 0::2] = packed & 0x0F
    q[:, :, 1::2] = packed >> 4
    zp_rows = zp_packed.reshape(n, -1)
    zp = np.empty((n, zp_rows.shape[1] * 2), np.float32)
    zp[:, 0::2] = zp_rows & 0x0F
    zp[:, 1::2] = zp_rows >> 4
    w = (q - zp[:, :n_blocks, None]) * scales.reshape(n, n_blocks)[:, :, None]
    return w.reshape(n, n_blocks * block)[:, :k].astype(np.float32)


def round_trip(w, bits=4, block=32):
    return dequantize(*quantize(w, bits, block), w.shape[1], bits, block)


def dequantize_like_nbits(model, bits=4, block=32):
    """Replaces every Linear weight of a torch Llama (projections, MLP, lm_head; not the embedding) by its
    quantize-dequantize round trip: the reference for the MatMulNBits graph."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.Linear):
                w = module.weight.numpy()
                module.weight.copy_(torch.from_numpy(round_trip(w, bits, block)))
    return model
