#!/usr/bin/python3
"""Writes op_versions_24.txt: every operator of the default ONNX domain (opsets 1-24) and of ai.onnx.ml
(opsets 1-5), with the opset versions at which each was introduced or changed.

usage: /usr/bin/python3 tests/conformance/make_op_versions.py [OUT]   (default: op_versions_24.txt beside it)

The installed onnx (Debian's 1.12) knows opsets up to 17 and ai.onnx.ml up to 3; the later versions below
are transcribed from the ONNX operator changelog (docs/Changelog.md, "Version N of the default ONNX
operator set", and the per-operator pages of onnx.ai/onnx/operators). Ops introduced after opset 24
that the project tracks anyway (CumProd, BitCast: opset 26) are listed under LATER so the audit can say
so instead of calling them missing.
"""
import os
import sys

import onnx.defs

# Opset -> ops introduced or changed in that opset of the default domain (after 17).
DEFAULT_DOMAIN_CHANGES = {
    18: "BitwiseAnd BitwiseNot BitwiseOr BitwiseXor CenterCropPad Col2Im GroupNormalization LpPool Mish "
        "OptionalGetElement OptionalHasElement Pad ReduceL1 ReduceL2 ReduceLogSum ReduceLogSumExp ReduceMax "
        "ReduceMean ReduceMin ReduceProd ReduceSumSquare Resize ScatterElements ScatterND Split",
    19: "AveragePool Cast CastLike Constant DeformConv DequantizeLinear Equal Identity If Loop Pad QuantizeLinear "
        "Reshape Resize Scan Shape Size",
    20: "AffineGrid ConstantOfShape DFT Gelu GridSample ImageDecoder IsInf IsNaN ReduceMax ReduceMin "
        "RegexFullMatch StringConcat StringSplit",
    21: "Cast CastLike Constant ConstantOfShape DequantizeLinear Flatten GroupNormalization Identity If Loop Pad "
        "QLinearMatMul QuantizeLinear Reshape Scan Shape Size Squeeze Transpose Unsqueeze",
    22: "Acos Acosh Asin Asinh Atan Atanh AveragePool Bernoulli Conv ConvTranspose Cos Cosh DeformConv Det "
        "Dropout Elu EyeLike GRU GlobalAveragePool GlobalLpPool GlobalMaxPool GridSample HardSigmoid HardSwish "
        "InstanceNormalization LSTM LpNormalization LpPool MaxPool MaxRoiPool MaxUnpool Mish Multinomial "
        "NegativeLogLikelihoodLoss RNN RandomNormal RandomNormalLike RandomUniform RandomUniformLike RoiAlign "
        "Round Selu Sin Sinh Softplus Softsign Tan ThresholdedRelu",
    23: "Attention Cast CastLike Constant ConstantOfShape DequantizeLinear Flatten Identity If Loop Pad "
        "QuantizeLinear RMSNormalization Reshape RotaryEmbedding Scan Shape Size Squeeze Transpose Unsqueeze",
    24: "Attention Cast CastLike Constant ConstantOfShape DequantizeLinear Flatten Identity If Loop Pad "
        "QuantizeLinear Reshape Scan Shape Size SplitToSequence Squeeze Swish TensorScatter TopK Transpose "
        "Unsqueeze",
}
ML_CHANGES = {4: "LabelEncoder", 5: "TreeEnsemble"}
# Deprecated in the newer opsets (no new version; a model at that opset may not use them).
DEPRECATED = {("ai.onnx.ml", "TreeEnsembleClassifier"): 5, ("ai.onnx.ml", "TreeEnsembleRegressor"): 5,
              ("ai.onnx", "Scatter"): 11, ("ai.onnx", "Upsample"): 10}
# Ops whose definition is a function body (a runtime may expand them instead of having a kernel).
NEW_FUNCTIONS = {"CenterCropPad", "Mish", "GroupNormalization", "Gelu", "AffineGrid", "Swish", "RMSNormalization",
                 "RotaryEmbedding", "Attention"}
LATER = {"CumProd": 26, "BitCast": 26}


def collect():
    table = {}  # (domain, op) -> {"versions": set, "function": bool}
    for s in onnx.defs.get_all_schemas_with_history():
        domain = s.domain or "ai.onnx"
        if domain not in ("ai.onnx", "ai.onnx.ml"):
            continue
        entry = table.setdefault((domain, s.name), {"versions": set(), "function": False})
        entry["versions"].add(s.since_version)
        entry["function"] |= bool(s.has_function or getattr(s, "has_context_dependent_function", False))
    for changes, domain in ((DEFAULT_DOMAIN_CHANGES, "ai.onnx"), (ML_CHANGES, "ai.onnx.ml")):
        for opset, ops in changes.items():
            for op in ops.split():
                entry = table.setdefault((domain, op), {"versions": set(), "function": False})
                entry["versions"].add(opset)
                entry["function"] |= op in NEW_FUNCTIONS
    return table


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                             "op_versions_24.txt")
    table = collect()
    lines = ["# Every operator of ai.onnx (opsets 1-24) and ai.onnx.ml (opsets 1-5) with the opset versions at which",
             "# it was introduced or changed, newest first. Written by make_op_versions.py (onnx 1.12's schemas plus",
             "# the ONNX changelog for opsets 18-24); read by op_coverage (tests/conformance/op_coverage.cc).",
             "# Columns: domain op versions flags   flags: function (defined by a function body), deprecated@N,",
             "# later@N (introduced after opset 24; listed so the audit can name it)."]
    for (domain, op), entry in sorted(table.items()):
        flags = []
        if entry["function"]:
            flags.append("function")
        if (domain, op) in DEPRECATED:
            flags.append(f"deprecated@{DEPRECATED[(domain, op)]}")
        versions = ",".join(str(v) for v in sorted(entry["versions"], reverse=True))
        lines.append(f"{domain} {op} {versions} {' '.join(flags) or '-'}".rstrip())
    for op, opset in sorted(LATER.items()):
        lines.append(f"ai.onnx {op} {opset} later@{opset}")
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {len(table) + len(LATER)} ops to {out}")


if __name__ == "__main__":
    main()
