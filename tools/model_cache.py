"""What the model exporters (export_models.py, export_decoders.py) share: choosing the models a command
line asks for, reading a cached model folder's meta.json, and the op histogram recorded in it.

A cached folder is OUT_DIR/<name>/ with a meta.json whose "version" is the exporter's version for that
model; each exporter decides which files a complete folder must hold.
"""
import collections
import json
import os

import onnx


def requested_names(parser, args, models, on_request):
    """The names `--only` asks for (comma-separated), or every model not exported only on request."""
    if not args.only:
        return [n for n in models if n not in on_request]
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in names if n not in models]
    if unknown:
        parser.error(f"unknown model(s) {', '.join(unknown)}; known: {', '.join(models)}")
    return names


def read_meta(model_dir):
    """The folder's meta.json, or None when it is missing or unreadable (then the model is re-exported)."""
    try:
        with open(os.path.join(model_dir, "meta.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def op_histogram(model_proto):
    """{op: count} over the graph and every subgraph, most frequent first; other domains as 'domain::Op'."""
    counts = collections.Counter()

    def walk(graph):
        for node in graph.node:
            counts[(node.domain + "::" if node.domain else "") + node.op_type] += 1
            for attr in node.attribute:
                if attr.type == onnx.AttributeProto.GRAPH:
                    walk(attr.g)
                for g in attr.graphs:
                    walk(g)

    walk(model_proto.graph)
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
