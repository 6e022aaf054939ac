"""The Hugging Face Optimum / transformers.js forms: torch.onnx.export of the "decoder with past" model,
the "without past" model, and the merged decoder that chooses between them with an If on
`use_cache_branch` (built with the onnx helper, since torch 1.13 cannot export that branch)."""
import hashlib
import os
import shutil

import onnx
import torch
from onnx import helper

OPSET = 17
BATCH, SEQ, TOTAL = "batch_size", "sequence_length", "past_sequence_length + sequence_length"


def io_names(cfg, past):
    inputs = ["input_ids", "attention_mask", "position_ids"]
    outputs = ["logits"]
    for i in range(cfg.layers):
        if past:
            inputs += [f"past_key_values.{i}.key", f"past_key_values.{i}.value"]
        outputs += [f"present.{i}.key", f"present.{i}.value"]
    return inputs, outputs


def dynamic_axes(cfg, past):
    axes = {"input_ids": {0: BATCH, 1: SEQ}, "position_ids": {0: BATCH, 1: SEQ},
            "attention_mask": {0: BATCH, 1: TOTAL if past else SEQ}, "logits": {0: BATCH, 1: SEQ}}
    for i in range(cfg.layers):
        for kind in ("key", "value"):
            if past:
                axes[f"past_key_values.{i}.{kind}"] = {0: BATCH, 2: "past_sequence_length"}
            axes[f"present.{i}.{kind}"] = {0: BATCH, 2: TOTAL if past else SEQ}
    return axes


class WithoutPast(torch.nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, input_ids, attention_mask, position_ids):
        return self.inner(input_ids, attention_mask, position_ids)


def export(model, cfg, path, past=True):
    """Exports with dummy shapes batch 2, sequence 3, past 4 (all dynamic). The graph takes its positions
    from the attention mask's length, so it also runs with a zero-length past (checked in ORT)."""
    batch, seq, past_len = 2, 3, 4 if past else 0
    ids = torch.randint(3, cfg.vocab_size - 1, (batch, seq), generator=torch.Generator().manual_seed(0))
    mask = torch.ones(batch, past_len + seq, dtype=torch.int64)
    pos = torch.arange(past_len, past_len + seq).expand(batch, seq).contiguous()
    args = [ids, mask, pos]
    if past:
        args += [torch.randn(batch, cfg.kv_heads, past_len, cfg.head_dim) for _ in range(2 * cfg.layers)]
    inputs, outputs = io_names(cfg, past)
    torch.onnx.export(model if past else WithoutPast(model), tuple(args), path, opset_version=OPSET,
                      do_constant_folding=True, input_names=inputs, output_names=outputs,
                      dynamic_axes=dynamic_axes(cfg, past))


def export_external(model, cfg, out_dir):
    """export() for a model over protobuf's 2 GB: torch writes one file per tensor; they are gathered into
    out_dir/model.onnx.data beside a small model.onnx."""
    scratch = os.path.join(out_dir, "torch_export")
    os.makedirs(scratch)
    export(model, cfg, os.path.join(scratch, "model.onnx"), past=True)
    proto = onnx.load(os.path.join(scratch, "model.onnx"))  # reads the external tensors in
    shutil.rmtree(scratch)
    onnx.save_model(proto, os.path.join(out_dir, "model.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="model.onnx.data", size_threshold=1024)


def _branch(graph, prefix, shared, keep):
    """Turns a whole exported graph into an If branch: its inputs become outer-scope references (names
    kept), every other value is renamed under `prefix`, initializers move to `shared` (deduplicated by
    content, so the two branches share weights)."""
    rename = {}
    for init in graph.initializer:
        digest = hashlib.sha1(init.raw_data or init.SerializeToString()).hexdigest()[:16]
        key = (digest, init.data_type, tuple(init.dims))
        if key not in shared:
            shared[key] = onnx.TensorProto()
            shared[key].CopyFrom(init)
            shared[key].name = f"{prefix}{init.name}"
        rename[init.name] = shared[key].name
    for node in graph.node:
        for out in node.output:
            if out and out not in keep:
                rename.setdefault(out, prefix + out)
    nodes = []
    for node in graph.node:
        n = onnx.NodeProto()
        n.CopyFrom(node)
        n.name = prefix + (node.name or node.op_type)
        n.input[:] = [rename.get(x, x) for x in node.input]
        n.output[:] = [rename.get(x, x) for x in node.output]
        nodes.append(n)
    outputs = []
    for o in graph.output:
        vi = onnx.ValueInfoProto()
        vi.CopyFrom(o)
        vi.name = rename[o.name]
        outputs.append(vi)
    return helper.make_graph(nodes, prefix.rstrip("/"), [], outputs)


def merge(with_past_path, without_past_path, path):
    """Optimum's merged decoder: inputs of the with-past model plus `use_cache_branch` bool [1]; one If
    whose then-branch is the with-past graph and else-branch the without-past graph (past inputs are
    still required but unread there: feed zero-length ones on the first step)."""
    with_past, without = onnx.load(with_past_path), onnx.load(without_past_path)
    shared = {}
    then_g = _branch(with_past.graph, "with_past/", shared, keep=set())
    else_g = _branch(without.graph, "without_past/", shared, keep=set())
    outputs = [o.name for o in with_past.graph.output]
    cond = helper.make_tensor_value_info("use_cache_branch", onnx.TensorProto.BOOL, [1])
    graph_outputs = []
    for o in with_past.graph.output:
        dims = [d.dim_param or d.dim_value for d in o.type.tensor_type.shape.dim]
        if o.name.startswith("present."):
            dims[2] = "total_sequence_length"  # past + new on one branch, new only on the other
        graph_outputs.append(helper.make_tensor_value_info(o.name, o.type.tensor_type.elem_type, dims))
    node = helper.make_node("If", ["use_cache_branch"], outputs, name="optimum::if",
                            then_branch=then_g, else_branch=else_g)
    graph = helper.make_graph([node], "merged_decoder", list(with_past.graph.input) + [cond],
                              graph_outputs, initializer=list(shared.values()))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="tessera-export-decoders")
    model.ir_version = with_past.ir_version
    onnx.save(model, path)
