"""`tessera quantize` against ONNX Runtime: every mode on small models, and the command's refusals.

usage: /usr/bin/python3 tests/quantize/quantize_ort_test.py --tessera build/tessera [--keep DIR]
           [--models MODEL_CACHE/torch]     # the exported MobileNetV2, ResNet-50 and BERT instead (MODEL_CASES)

For each case a float model (MLP with MatMul and Gemm and an odd K, a 3-D activation MatMul as in an
encoder, a CNN with Conv and Gemm) is written with python3-onnx, quantized with `tessera quantize`, and
the quantized file is run by ORT (tests/ort_ops/ort_run.js, onnxruntime-node from bench/.ort) and by
`tessera run` on the same inputs. Tessera must match ORT within a tolerance per mode: float rounding for
MatMulNBits (weights); one 8-bit step of the output for dynamic and static, where the two runtimes may
round an activation exactly halfway between codes differently. The quantized-vs-float agreement (ORT on
the float model) is printed for every case and must stay above a cosine floor. Then each bad command
line must exit 2 and each bad model 1, with a message on stderr.
Exit status: 0 when every check passes, 1 otherwise.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
ORT_RUN = os.path.join(HERE, "..", "ort_ops", "ort_run.js")
SEED = 20261207


def mlp(rng):
    """x[4, 37] -> MatMul -> Relu -> Gemm(transB, bias) -> y[4, 16]; K=37 pads the last block."""
    w1 = rng.standard_normal((37, 48)).astype(np.float32) * 0.3
    w2 = rng.standard_normal((16, 48)).astype(np.float32) * 0.3
    b2 = rng.standard_normal(16).astype(np.float32)
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["h"], name="fc1"),
             helper.make_node("Relu", ["h"], ["hr"], name="relu"),
             helper.make_node("Gemm", ["hr", "w2", "b2"], ["y"], name="fc2", transB=1)]
    graph = helper.make_graph(nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 37])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 16])],
                              [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2"),
                               numpy_helper.from_array(b2, "b2")])
    return graph, {"x": (4, 37)}


def encoder(rng):
    """x[2, 5, 64] -> MatMul (q) and MatMul (k) sharing x -> Add -> Softmax-free mix -> MatMul -> y."""
    wq = rng.standard_normal((64, 64)).astype(np.float32) * 0.15
    wk = rng.standard_normal((64, 64)).astype(np.float32) * 0.15
    wo = rng.standard_normal((64, 32)).astype(np.float32) * 0.15
    nodes = [helper.make_node("MatMul", ["x", "wq"], ["q"], name="proj_q"),
             helper.make_node("MatMul", ["x", "wk"], ["k"], name="proj_k"),
             helper.make_node("Mul", ["q", "k"], ["qk"], name="mix"),
             helper.make_node("Tanh", ["qk"], ["t"], name="act"),
             helper.make_node("MatMul", ["t", "wo"], ["y"], name="proj_out")]
    graph = helper.make_graph(nodes, "encoder", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 5, 64])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 5, 32])],
                              [numpy_helper.from_array(wq, "wq"), numpy_helper.from_array(wk, "wk"),
                               numpy_helper.from_array(wo, "wo")])
    return graph, {"x": (2, 5, 64)}


def cnn(rng):
    """x[1, 3, 12, 12] -> Conv -> Relu -> Conv(stride 2) -> Relu -> Flatten -> Gemm -> y[1, 10]."""
    w1 = rng.standard_normal((8, 3, 3, 3)).astype(np.float32) * 0.3
    b1 = rng.standard_normal(8).astype(np.float32) * 0.1
    w2 = rng.standard_normal((8, 8, 3, 3)).astype(np.float32) * 0.15
    wf = rng.standard_normal((8 * 6 * 6, 10)).astype(np.float32) * 0.05
    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
             helper.make_node("Conv", ["r1", "w2"], ["c2"], name="conv2", pads=[1, 1, 1, 1], strides=[2, 2]),
             helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
             helper.make_node("Flatten", ["r2"], ["f"], name="flatten"),
             helper.make_node("Gemm", ["f", "wf"], ["y"], name="fc")]
    graph = helper.make_graph(nodes, "cnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 12, 12])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])],
                              [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(b1, "b1"),
                               numpy_helper.from_array(w2, "w2"), numpy_helper.from_array(wf, "wf")])
    return graph, {"x": (1, 3, 12, 12)}


MODELS = {"mlp": mlp, "encoder": encoder, "cnn": cnn}

# (name, model, flags, minimum cosine of quantized vs float)
CASES = [
    ("mlp_weights4", "mlp", ["--mode", "weights"], 0.99),
    ("mlp_weights4_sym_b16", "mlp", ["--mode", "weights", "--symmetric", "--block", "16"], 0.99),
    ("mlp_weights8", "mlp", ["--mode", "weights", "--bits", "8"], 0.9999),
    ("encoder_weights4_b64", "encoder", ["--mode", "weights", "--block", "64"], 0.98),  # two 4-bit layers multiplied
    ("mlp_dynamic", "mlp", ["--mode", "dynamic"], 0.999),
    ("mlp_dynamic_per_channel_sym", "mlp", ["--mode", "dynamic", "--per-channel", "--symmetric"], 0.999),
    ("encoder_dynamic", "encoder", ["--mode", "dynamic"], 0.999),
    ("mlp_static", "mlp", ["--mode", "static", "--per-channel"], 0.999),
    ("encoder_static_percentile", "encoder", ["--mode", "static", "--calibrate", "percentile"], 0.99),
    ("cnn_static", "cnn", ["--mode", "static", "--per-channel"], 0.999),
    # KL calibration on four samples clips hard (it trades the tails for resolution).
    ("cnn_static_entropy_sym", "cnn", ["--mode", "static", "--calibrate", "entropy", "--symmetric"], 0.95),
    ("cnn_static_exclude_gemm", "cnn", ["--mode", "static", "--exclude", "Gemm,conv1"], 0.999),
    ("cnn_weights_gemm_only", "cnn", ["--mode", "weights", "--bits", "8"], 0.9999),
]


def write_model(graph, path):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="quantize-test")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)


def write_samples(shapes, folder, rng, count):
    for i in range(count):
        sample = os.path.join(folder, f"sample{i}")
        os.makedirs(sample)
        for name, shape in shapes.items():
            np.save(os.path.join(sample, f"{name}.npy"), rng.standard_normal(shape).astype(np.float32))


def write_case(folder, model_path, sample_dir):
    os.makedirs(os.path.join(folder, "inputs"))
    shutil.copy(model_path, os.path.join(folder, "model.onnx"))
    index = {}
    for i, file in enumerate(sorted(os.listdir(sample_dir))):
        shutil.copy(os.path.join(sample_dir, file), os.path.join(folder, "inputs", f"{i}.npy"))
        index[file[:-len(".npy")]] = f"{i}.npy"
    with open(os.path.join(folder, "inputs", "index.json"), "w") as f:
        json.dump(index, f)


def ort_outputs(folder):
    error = os.path.join(folder, "ort", "error.txt")
    if os.path.exists(error):
        with open(error) as f:
            raise RuntimeError("ORT refused it: " + f.read().strip()[:400])
    with open(os.path.join(folder, "ort", "index.json")) as f:
        return {name: np.load(os.path.join(folder, "ort", file)) for name, file in json.load(f).items()}


def tessera_output(tessera, folder, name):
    out = os.path.join(folder, "tessera")
    cmd = [tessera, "run", os.path.join(folder, "model.onnx"), "--output-dir", out, "--threads", "2"]
    with open(os.path.join(folder, "inputs", "index.json")) as f:
        for input_name, file in json.load(f).items():
            cmd += ["--input", f"{input_name}={os.path.join(folder, 'inputs', file)}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise RuntimeError("tessera run failed: " + proc.stderr.strip())
    return np.load(os.path.join(out, name + ".npy"))


def cosine(a, b):
    a, b = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def check_cases(args, work):
    rng = np.random.default_rng(SEED)
    float_paths, sample_dirs = {}, {}
    for name, build in MODELS.items():
        graph, shapes = build(rng)
        float_paths[name] = os.path.join(work, f"{name}.onnx")
        write_model(graph, float_paths[name])
        sample_dirs[name] = os.path.join(work, f"{name}_calibration")
        write_samples(shapes, sample_dirs[name], rng, 4)
    failures, folders = [], {}
    for case, model, flags, _ in CASES:
        out = os.path.join(work, f"{case}.onnx")
        cmd = [args.tessera, "quantize", float_paths[model], out, "--calibration", sample_dirs[model]] + flags
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            failures.append(f"{case}: tessera quantize exited {proc.returncode}: {proc.stderr.strip()}")
            continue
        if "model output y" not in proc.stdout:
            failures.append(f"{case}: the report has no model output error:\n{proc.stdout}")
        folders[case] = os.path.join(work, "cases", case)
        write_case(folders[case], out, os.path.join(sample_dirs[model], "sample0"))
        folders[case + "/float"] = os.path.join(work, "cases", case + "_float")
        write_case(folders[case + "/float"], float_paths[model], os.path.join(sample_dirs[model], "sample0"))
    return failures + compare_with_ort(args, folders, [(c, f, m) for c, _, f, m in CASES])


def compare_with_ort(args, folders, cases):
    """Runs ORT on every case folder (quantized and float), Tessera on the quantized ones, and compares."""
    proc = subprocess.run(["node", ORT_RUN] + list(folders.values()), capture_output=True, text=True)
    if proc.returncode != 0:
        return [f"ort_run.js failed: {proc.stderr.strip()}"]
    failures = []
    for case, flags, min_cosine in cases:
        if case not in folders:
            continue
        try:
            ort_all = ort_outputs(folders[case])
            ort_float = ort_outputs(folders[case + "/float"])
        except RuntimeError as e:
            failures.append(f"{case}: {e}")
            continue
        for name, ort_q in ort_all.items():
            try:
                ours = tessera_output(args.tessera, folders[case], re.sub(r"[^A-Za-z0-9._-]", "_", name))
            except RuntimeError as e:
                failures.append(f"{case}: {e}")
                break
            ort_f = ort_float[name]
            peak = float(np.abs(ort_q).max())
            tolerance = 1e-4 * max(peak, 1.0) if "weights" in flags else 0.02 * peak
            diff = float(np.abs(ours - ort_q).max())
            agreement = cosine(ort_q, ort_f)
            status = "ok" if diff <= tolerance and agreement >= min_cosine else "FAIL"
            print(f"{status:4s} {case} [{name}]: tessera vs ORT max abs {diff:.3g} (tolerance {tolerance:.3g}); "
                  f"quantized vs float cosine {agreement:.6f}, max abs {float(np.abs(ort_q - ort_f).max()):.3g}",
                  flush=True)
            if status != "ok":
                failures.append(f"{case} [{name}]: tessera vs ORT {diff:.3g} > {tolerance:.3g} or cosine "
                                f"{agreement:.6f} < {min_cosine}")
    return failures


# Exported models (tools/export_models.py): (model folder, flags, minimum cosine vs float). Their inputs/
# folder is one calibration sample.
MODEL_CASES = [
    ("mobilenetv2", ["--mode", "static", "--per-channel"], 0.99),
    ("resnet50", ["--mode", "static", "--per-channel"], 0.99),
    ("bert", ["--mode", "static", "--per-channel"], 0.99),
    ("mobilenetv2", ["--mode", "weights", "--bits", "8"], 0.9999),
    ("bert", ["--mode", "dynamic", "--per-channel"], 0.99),
    ("bert", ["--mode", "weights", "--bits", "4", "--block", "32"], 0.95),
]


def check_models(args, work):
    failures, folders, cases = [], {}, []
    for i, (model, flags, min_cosine) in enumerate(MODEL_CASES):
        folder = os.path.join(args.models, model)
        case = f"{model}_{flags[1]}_{i}"
        out = os.path.join(work, case + ".onnx")
        cmd = [args.tessera, "quantize", os.path.join(folder, "model.onnx"), out, "--calibration",
               os.path.join(folder, "inputs")] + flags
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            failures.append(f"{case}: tessera quantize exited {proc.returncode}: {proc.stderr.strip()}")
            continue
        print("\n".join(line for line in proc.stdout.splitlines() if line.startswith(("mode:", "model output",
                                                                                     "initializers"))))
        folders[case] = os.path.join(work, "cases", case)
        write_case(folders[case], out, os.path.join(folder, "inputs"))
        folders[case + "/float"] = os.path.join(work, "cases", case + "_float")
        write_case(folders[case + "/float"], os.path.join(folder, "model.onnx"), os.path.join(folder, "inputs"))
        cases.append((case, flags, min_cosine))
    return failures + compare_with_ort(args, folders, cases)


def check_refusals(args, work):
    """Each bad command line exits 2, each bad model 1, with one stderr line "tessera: ..." naming the fault."""
    float_model = os.path.join(work, "mlp.onnx")
    out = os.path.join(work, "refused.onnx")
    garbage = os.path.join(work, "garbage.onnx")
    with open(garbage, "wb") as f:
        f.write(b"not a model at all")
    relu_only = os.path.join(work, "relu.onnx")
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "relu",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
    write_model(graph, relu_only)
    cases = [
        ("no arguments", [], 2, "usage"),
        ("unknown mode", [float_model, out, "--mode", "float8"], 2, "--mode"),
        ("no mode", [float_model, out], 2, "--mode"),
        ("bits 3", [float_model, out, "--mode", "weights", "--bits", "3"], 2, "--bits"),
        ("block 24", [float_model, out, "--mode", "weights", "--block", "24"], 2, "--block"),
        ("static without calibration", [float_model, out, "--mode", "static"], 2, "--calibration"),
        ("missing calibration folder", [float_model, out, "--mode", "static", "--calibration",
                                        os.path.join(work, "absent")], 2, "absent"),
        ("unknown calibration method", [float_model, out, "--mode", "static", "--calibration", work,
                                        "--calibrate", "median"], 2, "--calibrate"),
        ("missing model", [os.path.join(work, "absent.onnx"), out, "--mode", "weights"], 1, "absent.onnx"),
        ("garbage model", [garbage, out, "--mode", "weights"], 1, "garbage.onnx"),
        ("no MatMul", [relu_only, out, "--mode", "dynamic"], 1, "nothing to quantize"),
        ("everything excluded", [float_model, out, "--mode", "weights", "--exclude", "MatMul,Gemm"], 1,
         "nothing to quantize"),
    ]
    failures = []
    for name, argv, want, fragment in cases:
        proc = subprocess.run([args.tessera, "quantize"] + argv, capture_output=True, text=True, timeout=60)
        lines = proc.stderr.strip().splitlines()
        one_line = len(lines) == 1 and lines[0].startswith("tessera: ")
        ok = proc.returncode == want and fragment in proc.stderr and one_line
        print(f"{'ok' if ok else 'FAIL':4s} refusal '{name}': exit {proc.returncode}: {proc.stderr.strip()[:160]}")
        if not ok:
            failures.append(f"refusal '{name}': exit {proc.returncode} (want {want}), stderr {proc.stderr.strip()!r} "
                            f"(want '{fragment}')")
    return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tessera", required=True)
    parser.add_argument("--keep", help="work in this folder and keep it")
    parser.add_argument("--models", help="the exported models' folder: quantize those instead of the small ones")
    args = parser.parse_args()
    work = args.keep or tempfile.mkdtemp(prefix="tessera_quantize_")
    os.makedirs(work, exist_ok=True)
    try:
        if args.models:
            failures = check_models(args, work)
        else:
            failures = check_cases(args, work) + check_refusals(args, work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    for f in failures:
        print("FAIL " + f)
    print(f"quantize_ort_test: seed {SEED}: {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
