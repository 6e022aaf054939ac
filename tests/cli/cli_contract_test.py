#!/usr/bin/python3
"""Command-line contract of `tessera run` and `tessera inspect`, including every kind of bad input.

Each bad input must end with exit status 1 (bad model or data) or 2 (bad command line) and exactly one
line on stderr that starts with "tessera: " and names what is at fault; never a crash, hang or OOM kill.

usage: cli_contract_test.py PATH/TO/tessera
"""
import json
import os
import random
import subprocess
import sys
import tempfile
import unittest

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

TESSERA = None
SEED = int(os.environ.get("TESSERA_TEST_SEED", random.randrange(1 << 30)))


def relu_model(input_name="x", output_name="y", dims=(2, 3), opset=17):
    graph = helper.make_graph(
        [helper.make_node("Relu", [input_name], [output_name], name="relu1")], "g",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, list(dims))],
        [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, list(dims))])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


class CliContractTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tessera_cli_")

    def path(self, name):
        return os.path.join(self.dir, name)

    def save_model(self, model, name="model.onnx"):
        p = self.path(name)
        with open(p, "wb") as f:
            f.write(model.SerializeToString() if hasattr(model, "SerializeToString") else model)
        return p

    def save_npy(self, array, name="x.npy"):
        p = self.path(name)
        np.save(p, array)
        return p

    def tessera(self, *args, timeout=60):
        return subprocess.run([TESSERA, *args], capture_output=True, text=True, timeout=timeout)

    def assert_fails(self, result, code, *needles):
        self.assertEqual(result.returncode, code, f"stdout={result.stdout!r} stderr={result.stderr!r}")
        lines = result.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, f"expected one line on stderr, got {result.stderr!r}")
        self.assertTrue(lines[0].startswith("tessera: "), lines[0])
        for needle in needles:
            self.assertIn(needle, lines[0])

    def run_relu(self, model_path, *extra):
        x = self.save_npy(np.random.default_rng(SEED).standard_normal((2, 3)).astype(np.float32))
        return self.tessera("run", model_path, "--input", f"x={x}", "--output-dir", self.path("out"), *extra)

    # --- valid use ---------------------------------------------------------------------------------

    def test_run_writes_sanitized_output_names(self):
        model = self.save_model(relu_model("in:0", "out/0"))
        x = np.random.default_rng(SEED).standard_normal((2, 3)).astype(np.float32)
        result = self.tessera("run", model, "--input", f"in_0={self.save_npy(x)}", "--output-dir",
                              self.path("out"), "--threads", "1")
        self.assertEqual(result.returncode, 0, result.stderr)
        y = np.load(self.path("out/out_0.npy"))
        np.testing.assert_array_equal(y, np.maximum(x, 0))

    def sequence_model(self):
        """xs (a sequence of [r, 3] floats) -> joined ([n, 3]) and pieces (its rows, a sequence)."""
        seq_in = helper.make_sequence_type_proto(helper.make_tensor_type_proto(TensorProto.FLOAT, ["r", 3]))
        seq_out = helper.make_sequence_type_proto(helper.make_tensor_type_proto(TensorProto.FLOAT, [3]))
        graph = helper.make_graph(
            [helper.make_node("ConcatFromSequence", ["xs"], ["joined"], axis=0),
             helper.make_node("SplitToSequence", ["joined"], ["pieces"], axis=0, keepdims=0)], "g",
            [helper.make_value_info("xs", seq_in)],
            [helper.make_tensor_value_info("joined", TensorProto.FLOAT, ["n", 3]),
             helper.make_value_info("pieces", seq_out)])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        model.ir_version = 8
        return self.save_model(model)

    def test_run_sequence_input_and_output_as_folders_of_numbered_npy(self):
        model = self.sequence_model()
        rng = np.random.default_rng(SEED)
        parts = [rng.standard_normal((r, 3)).astype(np.float32) for r in (2, 1)]
        os.makedirs(self.path("xs"))
        for i, part in enumerate(parts):
            np.save(self.path(f"xs/{i}.npy"), part)
        result = self.tessera("run", model, "--input", f"xs={self.path('xs')}", "--output-dir", self.path("out"),
                              "--threads", "1")
        self.assertEqual(result.returncode, 0, result.stderr)
        joined = np.concatenate(parts)
        np.testing.assert_array_equal(np.load(self.path("out/joined.npy")), joined)
        self.assertEqual(sorted(os.listdir(self.path("out/pieces"))), ["0.npy", "1.npy", "2.npy"])
        np.testing.assert_array_equal(np.load(self.path("out/pieces/2.npy")), joined[2])

    def test_run_sequence_folder_with_a_gap_is_refused(self):
        model = self.sequence_model()
        os.makedirs(self.path("xs"))
        np.save(self.path("xs/1.npy"), np.zeros((1, 3), np.float32))
        self.assert_fails(self.tessera("run", model, "--input", f"xs={self.path('xs')}", "--output-dir",
                                       self.path("out")), 1, "input 'xs'", "without a gap")

    def test_run_float8_input_and_output_through_raw_code_npy(self):
        # numpy has no float8: the .npy holds the codes as uint8 (core/npy.h), in and out alike.
        float8e4m3fn = 17
        graph = helper.make_graph(
            [helper.make_node("Transpose", ["x"], ["t"], name="transpose1", perm=[1, 0]),
             helper.make_node("Cast", ["t"], ["f"], name="cast1", to=TensorProto.FLOAT)], "g",
            [helper.make_tensor_value_info("x", float8e4m3fn, [2, 3])],
            [helper.make_tensor_value_info("t", float8e4m3fn, [3, 2]),
             helper.make_tensor_value_info("f", TensorProto.FLOAT, [3, 2])])
        model = self.save_model(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)]))
        rng = np.random.default_rng(SEED)
        codes = rng.integers(0, 256, size=(2, 3), dtype=np.uint8)
        codes[(codes & 0x7F) == 0x7F] = 0x38  # NaN codes compare unequal: use 1.0 instead

        def decode(c):  # e4m3fn: bias 7, 3 mantissa bits, subnormals at exponent 0
            c = c.astype(np.int64)
            e, m = (c >> 3) & 0xF, c & 0x7
            v = np.where(e == 0, m / 8.0 * 2.0 ** -6, (1 + m / 8.0) * 2.0 ** (e - 7))
            return np.where(c & 0x80, -v, v).astype(np.float32)

        for round_trip in range(2):
            x = self.save_npy(codes, f"x{round_trip}.npy")
            out = self.path(f"out{round_trip}")
            result = self.tessera("run", model, "--input", f"x={x}", "--output-dir", out)
            self.assertEqual(result.returncode, 0, result.stderr)
            t = np.load(os.path.join(out, "t.npy"))
            self.assertEqual(t.dtype, np.uint8)
            np.testing.assert_array_equal(t, codes.T)
            np.testing.assert_array_equal(np.load(os.path.join(out, "f.npy")), decode(codes.T))
            codes = t.T.copy()  # the output file is valid input again
        wrong = self.tessera("run", model, "--input", f"x={self.save_npy(codes.astype(np.int16), 'w.npy')}",
                             "--output-dir", self.path("outw"))
        self.assert_fails(wrong, 1, "x")

    def test_run_int4_and_bfloat16_inputs_through_npy(self):
        # int4 travels as int8 values -8..7, bfloat16 as its uint16 bit patterns (core/npy.h).
        int4, bfloat16 = 22, 16
        graph = helper.make_graph(
            [helper.make_node("Identity", ["w"], ["w_copy"], name="id1"),
             helper.make_node("Cast", ["w"], ["wf"], name="cast_w", to=TensorProto.FLOAT),
             helper.make_node("Cast", ["b"], ["bf"], name="cast_b", to=TensorProto.FLOAT)], "g",
            [helper.make_tensor_value_info("w", int4, [5]), helper.make_tensor_value_info("b", bfloat16, [3])],
            [helper.make_tensor_value_info("w_copy", int4, [5]),
             helper.make_tensor_value_info("wf", TensorProto.FLOAT, [5]),
             helper.make_tensor_value_info("bf", TensorProto.FLOAT, [3])])
        model = self.save_model(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)]))
        w = np.random.default_rng(SEED).integers(-8, 8, size=5).astype(np.int8)
        b = np.array([1.0, -2.5, 3.0e38], np.float32)
        b_bits = (b.view(np.uint32) >> 16).astype(np.uint16)  # exact in bfloat16
        out = self.path("out")
        result = self.tessera("run", model, "--input", f"w={self.save_npy(w, 'w.npy')}",
                              "--input", f"b={self.save_npy(b_bits, 'b.npy')}", "--output-dir", out)
        self.assertEqual(result.returncode, 0, result.stderr)
        copy = np.load(os.path.join(out, "w_copy.npy"))
        self.assertEqual(copy.dtype, np.int8)
        np.testing.assert_array_equal(copy, w)
        np.testing.assert_array_equal(np.load(os.path.join(out, "wf.npy")), w.astype(np.float32))
        b_back = (b_bits.astype(np.uint32) << 16).view(np.float32)
        np.testing.assert_array_equal(np.load(os.path.join(out, "bf.npy")), b_back)
        bad = self.tessera("run", model, "--input", f"w={self.save_npy(np.array([0, 1, 2, 3, 9], np.int8), 'w9.npy')}",
                           "--input", f"b={self.path('b.npy')}", "--output-dir", self.path("out9"))
        self.assert_fails(bad, 1, "input 'w'", "element 4 is 9")

    def test_inspect_reports_io_ops_and_parameters(self):
        result = self.tessera("inspect", self.save_model(relu_model()))
        self.assertEqual(result.returncode, 0, result.stderr)
        for needle in ("x: float32 [2,3]", "y: float32 [2,3]", "Relu", "parameters", "FLOPs"):
            self.assertIn(needle, result.stdout)

    def test_inspect_and_plan_take_ops_newer_than_the_onnx_checker(self):
        # SimplifiedLayerNormalization in the default domain, as ONNX Runtime's exporters write it: the
        # ONNX library's checker does not know it, Tessera has a kernel, so every command must load it.
        scale = numpy_helper.from_array(np.ones(4, np.float32), "scale")
        graph = helper.make_graph(
            [helper.make_node("SimplifiedLayerNormalization", ["x", "scale"], ["y"], name="norm", axis=-1,
                              epsilon=1e-5)], "g",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4])], [scale])
        model = self.save_model(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]))
        result = self.tessera("inspect", model)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("SimplifiedLayerNormalization", result.stdout)
        result = self.tessera("plan", model, "--ranks", "2")
        self.assertEqual(result.returncode, 0, result.stderr)

    # --- bad model files -----------------------------------------------------------------------------

    def test_missing_model_file(self):
        self.assert_fails(self.run_relu(self.path("nope.onnx")), 1, "nope.onnx")

    def test_empty_model_file(self):
        self.assert_fails(self.run_relu(self.save_model(b"")), 1, "model.onnx", "empty")

    def test_random_bytes(self):
        rng = random.Random(SEED)
        for trial in range(20):
            data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 2048)))
            result = self.run_relu(self.save_model(data))
            self.assertIn(result.returncode, (1,), f"seed {SEED} trial {trial}: {result.stderr!r}")

    def test_truncated_model(self):
        data = relu_model().SerializeToString()
        for cut in (1, len(data) // 3, len(data) // 2, len(data) - 1):
            self.assert_fails(self.run_relu(self.save_model(data[:cut])), 1, "model.onnx")

    def test_unknown_op_names_op_domain_and_node(self):
        graph = helper.make_graph([helper.make_node("FrobnicateTensor", ["x"], ["y"], name="mystery",
                                                    domain="com.example")], "g",
                                  [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                        helper.make_opsetid("com.example", 1)])
        self.assert_fails(self.run_relu(self.save_model(model)), 1, "FrobnicateTensor", "com.example", "mystery")

    def test_graph_cycle(self):
        graph = helper.make_graph([helper.make_node("Add", ["x", "c"], ["a"], name="first"),
                                   helper.make_node("Relu", ["a"], ["c"], name="second")], "g",
                                  [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
                                  [helper.make_tensor_value_info("a", TensorProto.FLOAT, [2, 3])])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        self.assert_fails(self.run_relu(self.save_model(model)), 1, "model.onnx")

    def test_initializer_shorter_than_dims(self):
        w = helper.make_tensor("w", TensorProto.FLOAT, [2, 3], np.zeros(6, np.float32).tobytes(), raw=True)
        w.raw_data = w.raw_data[:-4]
        graph = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"], name="add")], "g",
                                  [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])], [w])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        self.assert_fails(self.run_relu(self.save_model(model)), 1, "'w'")

    def test_external_data_outside_model_folder(self):
        os.makedirs(self.path("inner"))
        with open(self.path("secret.bin"), "wb") as f:
            f.write(b"\0" * 24)
        w = helper.make_tensor("w", TensorProto.FLOAT, [2, 3], [0.0] * 6)
        w.ClearField("float_data")
        w.data_location = TensorProto.EXTERNAL
        w.external_data.add(key="location", value="../secret.bin")
        graph = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"], name="add")], "g",
                                  [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])], [w])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        self.assert_fails(self.run_relu(self.save_model(model, "inner/model.onnx")), 1, "outside")

    # --- bad inputs ------------------------------------------------------------------------------------

    def test_missing_input(self):
        result = self.tessera("run", self.save_model(relu_model()), "--output-dir", self.path("out"))
        self.assert_fails(result, 1, "missing input 'x'")

    def test_unknown_input_name(self):
        x = self.save_npy(np.zeros((2, 3), np.float32))
        result = self.tessera("run", self.save_model(relu_model()), "--input", f"nothere={x}", "--output-dir",
                              self.path("out"))
        self.assert_fails(result, 1, "nothere")

    def test_wrong_dtype(self):
        x = self.save_npy(np.zeros((2, 3), np.int64))
        result = self.tessera("run", self.save_model(relu_model()), "--input", f"x={x}", "--output-dir",
                              self.path("out"))
        self.assert_fails(result, 1, "'x'", "float32", "int64")

    def test_wrong_rank(self):
        x = self.save_npy(np.zeros((2, 3, 1), np.float32))
        result = self.tessera("run", self.save_model(relu_model()), "--input", f"x={x}", "--output-dir",
                              self.path("out"))
        self.assert_fails(result, 1, "'x'", "rank")

    def test_corrupt_npy(self):
        p = self.path("bad.npy")
        np.save(p, np.zeros((2, 3), np.float32))
        with open(p, "r+b") as f:
            f.truncate(os.path.getsize(p) - 5)
        result = self.tessera("run", self.save_model(relu_model()), "--input", f"x={p}", "--output-dir",
                              self.path("out"))
        self.assert_fails(result, 1, "bad.npy")

    def test_absurd_allocation_is_refused(self):
        # ConstantOfShape with a shape fed at run time: 10^6 x 10^6 floats would be 4 TB.
        graph = helper.make_graph([helper.make_node("ConstantOfShape", ["shape"], ["y"], name="huge")], "g",
                                  [helper.make_tensor_value_info("shape", TensorProto.INT64, [2])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["a", "b"])])
        model = self.save_model(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]))
        shape = self.save_npy(np.array([1000000, 1000000], np.int64), "shape.npy")
        result = self.tessera("run", model, "--input", f"shape={shape}", "--output-dir", self.path("out"))
        self.assert_fails(result, 1, "huge")

    def test_run_stream_writes_the_outputs_and_the_streamed_time(self):
        model = self.save_model(relu_model())
        result = self.run_relu(model, "--threads", "1", "--repeat", "3", "--stream")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertRegex(result.stdout, r"streamed 3 batches in [0-9.]+ ms: [0-9.]+ ms per batch, [0-9.]+ samples/s")
        x = np.load(self.path("x.npy"))
        np.testing.assert_array_equal(np.load(self.path("out/y.npy")), np.maximum(x, 0))

    def test_run_op_times_lists_the_ops_of_the_timed_runs(self):
        model = self.save_model(relu_model())
        result = self.run_relu(model, "--threads", "1", "--repeat", "3", "--op-times")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("op times on rank 0 over runs 2-3", result.stdout)
        self.assertRegex(result.stdout, r"\n  Relu +1 nodes +[0-9.]+ ms per batch +[0-9.]+%")
        streamed = self.run_relu(model, "--threads", "1", "--repeat", "3", "--stream", "--op-times")
        self.assertEqual(streamed.returncode, 0, streamed.stderr)
        self.assertIn("op times on rank 0 over the stream of 3 batches", streamed.stdout)

    def test_bench_reports_the_openmp_wait_policy(self):
        model = self.save_model(relu_model())
        base = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}

        def wait_of(extra):
            r = subprocess.run([TESSERA, "bench", model, "--iters", "2", "--warmup", "1", "--json"],
                               env={**base, **extra}, capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            return json.loads(r.stdout.strip().splitlines()[-1])["openmp_wait"]

        # A rank of an MPI job sleeps at once: its peers share the cores.
        self.assertEqual(wait_of({"OMPI_COMM_WORLD_SIZE": "2"}), "sleep")
        # The caller's choice is kept.
        self.assertEqual(wait_of({"OMP_WAIT_POLICY": "ACTIVE"}), "spin")
        self.assertEqual(wait_of({"GOMP_SPINCOUNT": "1000"}), "spin 1000, then sleep")
        # Otherwise it depends on whether another task wanted the cores at start.
        self.assertIn(wait_of({}), ("sleep", "spin 200000, then sleep"))

    # --- bad command lines -----------------------------------------------------------------------------

    def test_usage_errors_exit_2(self):
        model = self.save_model(relu_model())
        self.assert_fails(self.tessera("run", model), 2, "--output-dir")
        self.assert_fails(self.tessera("run", model, "--output-dir", "o", "--bogus"), 2, "--bogus")
        self.assert_fails(self.tessera("run", model, "--output-dir", "o", "--threads", "zero"), 2, "--threads")
        self.assert_fails(self.tessera("run", model, "--output-dir", "o", "--input", "novalue"), 2, "NAME=FILE")
        self.assert_fails(self.tessera("run", model, "--output-dir", "o", "--stream"), 2, "--stream needs --repeat")
        self.assertEqual(self.tessera("frobnicate").returncode, 2)

    def test_bad_replica_lists_exit_2_naming_the_fault(self):
        self.assert_fails(self.tessera("serve", "--replicas", "ftp://h:1"), 2, "must be http:// or https://")
        self.assert_fails(self.tessera("serve", "--replicas", "http://h:1,,http://h:2"), 2, "empty item")
        self.assert_fails(self.tessera("serve", "--replicas", "http://h:1,http://h:1"), 2, "given twice")
        self.assert_fails(self.tessera("serve", "--replicas", "http://h:0"), 2, "port '0'")
        self.assert_fails(self.tessera("serve", "--replicas", "http://h:1", "--model-repo", "r"), 2, "--model-repo")
        self.assert_fails(self.tessera("serve", "--health-interval-ms", "100"), 2, "with --replicas")


if __name__ == "__main__":
    TESSERA = os.path.abspath(sys.argv.pop(1))
    print(f"cli contract tests (seed {SEED}; set TESSERA_TEST_SEED to reproduce)")
    unittest.main(verbosity=2)
