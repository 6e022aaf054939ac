"""Softmax, LogSoftmax and Hardmax cases: both axis conventions (opset 11 coerces to 2-D) and a bad axis."""
from onnx import TensorProto, helper

from ort_ops_cases import MustFail, make_model, rng, value


def _case(op, opset, shape, axis):
    name = f"{op}_opset{opset}_{'x'.join(map(str, shape))}_axis{axis}"
    node = helper.make_node(op, ["x"], ["y"], axis=axis)
    model = make_model([node], [value("x", TensorProto.FLOAT, shape)],
                       [value("y", TensorProto.FLOAT, rank=len(shape))], {"": opset})
    x = rng(name).uniform(-20, 20, shape).astype("float32")
    return name, model, {"x": x}


def cases():
    for op in ("Softmax", "LogSoftmax", "Hardmax"):
        for opset, shape, axis in ((13, (3, 37), -1), (13, (2, 5, 7), 1), (11, (2, 3, 9), 1)):
            yield (*_case(op, opset, shape, axis), 1e-5)
    name, model, inputs = _case("Softmax", 13, (2, 3), 2)
    yield name, model, inputs, MustFail("axis")
