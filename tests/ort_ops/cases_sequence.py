"""Sequence-op cases: models whose inputs and outputs are tensors but whose middle is sequences
(SplitToSequence in every form, ConcatFromSequence with and without a new axis, SequenceConstruct/Empty/
Insert/Erase/At/Length with positions from either end, a Loop carrying a sequence, SequenceMap with a body),
each with its numpy reference, plus a position out of range that Tessera must refuse."""
import numpy as np
from onnx import TensorProto, helper

from ort_ops_cases import MustFail, make_model, rng, value

F32, I64 = TensorProto.FLOAT, TensorProto.INT64


def _const(name, values, dtype=I64):
    arr = np.asarray(values)
    return helper.make_node("Constant", [], [name], value=helper.make_tensor(name + "_t", dtype, arr.shape,
                                                                              arr.flatten().tolist()))


def split_cases():
    x = rng("split").standard_normal((3, 5, 2)).astype(np.float32)
    for opset in (11, 24):
        # No split, keepdims=0, negative axis: the last piece along axis 1.
        nodes = [helper.make_node("SplitToSequence", ["x"], ["s"], axis=-2, keepdims=0), _const("p", -1),
                 helper.make_node("SequenceAt", ["s", "p"], ["y"]), helper.make_node("SequenceLength", ["s"], ["n"])]
        model = make_model(nodes, [value("x", F32, x.shape)], [value("y", F32, rank=2), value("n", I64, rank=0)],
                           {"": opset})
        yield f"split_unit_pieces_squeezed_opset{opset}", model, {"x": x}, 0.0, {"y": x[:, -1, :],
                                                                               "n": np.array(5, np.int64)}
    # Scalar split 2 along axis 1 (pieces 2, 2, 1), joined again along the same axis.
    nodes = [_const("k", 2), helper.make_node("SplitToSequence", ["x", "k"], ["s"], axis=1),
             helper.make_node("ConcatFromSequence", ["s"], ["y"], axis=1), _const("p", 2),
             helper.make_node("SequenceAt", ["s", "p"], ["last"])]
    model = make_model(nodes, [value("x", F32, x.shape)], [value("y", F32, rank=3), value("last", F32, rank=3)],
                       {"": 17})
    yield "split_scalar_then_concat", model, {"x": x}, 0.0, {"y": x, "last": x[:, 4:5, :]}
    # Listed lengths [1, 0, 4] along axis 1, the middle (empty) piece and the count.
    nodes = [_const("lens", [1, 0, 4]), helper.make_node("SplitToSequence", ["x", "lens"], ["s"], axis=1),
             _const("p", -2), helper.make_node("SequenceAt", ["s", "p"], ["empty"]),
             _const("q", 2), helper.make_node("SequenceAt", ["s", "q"], ["big"])]
    model = make_model(nodes, [value("x", F32, x.shape)], [value("empty", F32, rank=3), value("big", F32, rank=3)],
                       {"": 17})
    yield "split_listed_lengths", model, {"x": x}, 0.0, {"empty": x[:, 1:1, :], "big": x[:, 1:, :]}
    # keepdims=0 pieces stacked again on a new last axis: a transpose of x's axes (1, 2) -> (2, 1).
    nodes = [helper.make_node("SplitToSequence", ["x"], ["s"], axis=1, keepdims=0),
             helper.make_node("ConcatFromSequence", ["s"], ["y"], axis=-1, new_axis=1)]
    model = make_model(nodes, [value("x", F32, x.shape)], [value("y", F32, rank=3)], {"": 17})
    yield "split_then_stack_new_axis", model, {"x": x}, 0.0, {"y": np.transpose(x, (0, 2, 1))}


def edit_cases():
    r = rng("edit")
    a, b, c, d = (r.standard_normal((2, 3)).astype(np.float32) for _ in range(4))
    ins = [value(n, F32, (2, 3)) for n in "abcd"]
    feeds = {"a": a, "b": b, "c": c, "d": d}
    # [a, b, c] -> insert d at -1 -> [a, b, d, c] -> erase 0 -> [b, d, c] -> concat on axis 0.
    nodes = [helper.make_node("SequenceConstruct", ["a", "b", "c"], ["s0"]), _const("i", -1),
             helper.make_node("SequenceInsert", ["s0", "d", "i"], ["s1"]), _const("e", 0),
             helper.make_node("SequenceErase", ["s1", "e"], ["s2"]),
             helper.make_node("ConcatFromSequence", ["s2"], ["y"], axis=0)]
    model = make_model(nodes, ins, [value("y", F32, rank=2)], {"": 17})
    yield "construct_insert_erase_concat", model, feeds, 0.0, {"y": np.concatenate([b, d, c], 0)}
    # SequenceEmpty, appends, an insertion at the front, the default erase (the last one), stacked.
    nodes = [helper.make_node("SequenceEmpty", [], ["s0"], dtype=F32),
             helper.make_node("SequenceInsert", ["s0", "a"], ["s1"]),
             helper.make_node("SequenceInsert", ["s1", "b"], ["s2"]), _const("front", 0),
             helper.make_node("SequenceInsert", ["s2", "c", "front"], ["s3"]),
             helper.make_node("SequenceErase", ["s3"], ["s4"]),
             helper.make_node("ConcatFromSequence", ["s4"], ["y"], axis=0, new_axis=1)]
    model = make_model(nodes, ins[:3], [value("y", F32, rank=3)], {"": 17})
    yield "empty_insert_front_erase_last_stack", model, {"a": a, "b": b, "c": c}, 0.0, {"y": np.stack([c, a])}
    nodes = [helper.make_node("SequenceConstruct", ["a", "b"], ["s"]), _const("p", 2),
             helper.make_node("SequenceAt", ["s", "p"], ["y"])]
    model = make_model(nodes, ins[:2], [value("y", F32, rank=2)], {"": 17})
    yield "at_past_the_end_fails", model, {"a": a, "b": b}, MustFail("outside [-2, 1]")


def subgraph_cases():
    x = rng("loop").standard_normal((4,)).astype(np.float32)
    # Loop of 3 iterations carrying a sequence: each appends x + i; then stacked.
    body = helper.make_graph(
        [helper.make_node("Cast", ["i"], ["fi"], to=F32), helper.make_node("Add", ["x", "fi"], ["xi"]),
         helper.make_node("SequenceInsert", ["seq_in", "xi"], ["seq_out"]),
         helper.make_node("Identity", ["cond_in"], ["cond_out"])],
        "body",
        [helper.make_tensor_value_info("i", I64, []), helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
         helper.make_value_info("seq_in", helper.make_sequence_type_proto(helper.make_tensor_type_proto(F32, None)))],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         helper.make_value_info("seq_out", helper.make_sequence_type_proto(helper.make_tensor_type_proto(F32, None)))])
    nodes = [helper.make_node("SequenceEmpty", [], ["s0"], dtype=F32), _const("m", 3),
             helper.make_node("Loop", ["m", "", "s0"], ["s"], body=body),
             helper.make_node("ConcatFromSequence", ["s"], ["y"], axis=0, new_axis=1)]
    model = make_model(nodes, [value("x", F32, x.shape)], [value("y", F32, rank=2)], {"": 17})
    yield "loop_carries_sequence", model, {"x": x}, 0.0, {"y": np.stack([x, x + 1, x + 2])}
    # SequenceMap: each piece of x (split into 4 rows) times w, then joined.
    w = rng("map").standard_normal((3,)).astype(np.float32)
    xs = rng("map_x").standard_normal((4, 3)).astype(np.float32)
    body = helper.make_graph([helper.make_node("Mul", ["e", "t"], ["o"])], "map_body",
                             [helper.make_tensor_value_info("e", F32, None),
                              helper.make_tensor_value_info("t", F32, None)],
                             [helper.make_tensor_value_info("o", F32, None)])
    nodes = [helper.make_node("SplitToSequence", ["x"], ["s"], axis=0),
             helper.make_node("SequenceMap", ["s", "w"], ["m"], body=body),
             helper.make_node("ConcatFromSequence", ["m"], ["y"], axis=0)]
    model = make_model(nodes, [value("x", F32, xs.shape), value("w", F32, w.shape)], [value("y", F32, rank=2)],
                       {"": 17})
    yield "sequence_map_mul", model, {"x": xs, "w": w}, 1e-6, {"y": xs * w}


def cases():
    yield from split_cases()
    yield from edit_cases()
    yield from subgraph_cases()
