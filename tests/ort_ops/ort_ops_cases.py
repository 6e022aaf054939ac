"""The registry of ONNX Runtime cross-check cases: one module per op family, tests/ort_ops/cases_<family>.py.

A family module exposes `cases()`, a generator of

    (name, model, inputs, expect) or (name, model, inputs, expect, reference)

- name: unique within the family; becomes a folder name (letters, digits, '.', '_', '-').
- model: an onnx ModelProto (build it with onnx.helper; `make_model` below sets the IR version and opsets).
- inputs: {graph input name: numpy array}, drawn from a seeded numpy Generator so that a case is the same
  on every run (use `rng(name)`).
- expect: a float (absolute and relative tolerance alike), a `Tolerance(atol, rtol)`, or
  `MustFail("fragment")`: Tessera must refuse the model (nonzero exit) with the fragment in its error.
- reference (optional): {graph output name: numpy array}, the case's own numpy reference (float64 math
  from the op's specification). Tessera is compared with it as well as with ORT; where ORT does not run
  the op (older than the opset, or no kernel) the reference alone decides, and where ORT runs it, ORT's
  outputs are checked against the reference too, so the reference itself is cross-checked.

compare_ops.py writes each case as a folder, runs ONNX Runtime (ort_run.js) and `tessera run` on it and
compares. Only /usr/bin/python3's onnx and numpy are needed; the onnx package may be older than the
opsets a case uses (the models are built with onnx.helper, which does not check schemas).
"""
import dataclasses
import importlib
import os
import re
import sys
import zlib

import numpy as np
from onnx import helper

HERE = os.path.dirname(os.path.abspath(__file__))
NAME_RE = re.compile(r"^[A-Za-z0-9._-]+$")


@dataclasses.dataclass(frozen=True)
class Tolerance:
    atol: float
    rtol: float


@dataclasses.dataclass(frozen=True)
class MustFail:
    fragment: str  # a piece of Tessera's error message (case-sensitive)


@dataclasses.dataclass
class Case:
    family: str
    name: str
    model: object
    inputs: dict
    expect: object  # Tolerance or MustFail
    reference: dict = None  # output name -> numpy array, or None


def rng(name):
    """A numpy Generator seeded from the case name: stable across runs, different per case."""
    return np.random.default_rng(zlib.crc32(name.encode()))


def make_model(nodes, inputs, outputs, opsets, initializers=(), ir_version=10):
    """A model of one graph. `opsets` maps domain ('' for ONNX) to version; inputs/outputs are ValueInfos."""
    graph = helper.make_graph(list(nodes), "case", list(inputs), list(outputs), initializer=list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets.items()])
    model.ir_version = ir_version
    return model


def value(name, elem_type, shape=None, rank=None):
    """A graph input/output ValueInfo: `shape` as given, or `rank` symbolic dims (outputs whose shape the
    kernel decides; the ONNX checker wants a shape on every graph output)."""
    if shape is None:
        shape = [f"{name}_{d}" for d in range(rank or 0)]
    return helper.make_tensor_value_info(name, elem_type, list(shape))


def families():
    """Names of every family module in this folder, sorted."""
    return sorted(f[len("cases_"):-3] for f in os.listdir(HERE) if f.startswith("cases_") and f.endswith(".py"))


def _expectation(expect):
    if isinstance(expect, (Tolerance, MustFail)):
        return expect
    if isinstance(expect, (int, float)):
        return Tolerance(float(expect), float(expect))
    raise TypeError(f"expectation must be a float, Tolerance or MustFail, got {expect!r}")


def load(family):
    """Every case of one family, checked for well-formed names and inputs."""
    if HERE not in sys.path:
        sys.path.insert(0, HERE)
    module = importlib.import_module("cases_" + family)
    seen = set()
    out = []
    for name, model, inputs, expect, *rest in module.cases():
        if not NAME_RE.match(name):
            raise ValueError(f"{family}: case name {name!r} must match {NAME_RE.pattern}")
        if name in seen:
            raise ValueError(f"{family}: case {name!r} appears twice")
        seen.add(name)
        declared = {i.name for i in model.graph.input} - {i.name for i in model.graph.initializer}
        if set(inputs) != declared:
            raise ValueError(f"{family}/{name}: inputs {sorted(inputs)} differ from the graph's {sorted(declared)}")
        reference = rest[0] if rest else None
        if reference is not None and set(reference) != {o.name for o in model.graph.output}:
            raise ValueError(f"{family}/{name}: reference outputs {sorted(reference)} differ from the graph's")
        out.append(Case(family, name, model, {k: np.asarray(v) for k, v in inputs.items()}, _expectation(expect),
                        {k: np.asarray(v) for k, v in reference.items()} if reference is not None else None))
    return out
