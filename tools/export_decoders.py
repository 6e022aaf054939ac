#!/usr/bin/python3
"""Exports the decoder (LLM) test models with seeded weights, in the forms real exporters write, and
PyTorch's greedy decoding of seeded prompts as the reference.

usage: /usr/bin/python3 tools/export_decoders.py OUT_DIR [--only NAME[,NAME...]] [--force] [--list]

Models (architectures in tools/decoders/torch_models.py, weights seeded by tensor name):
    gpt2_tiny              GPT-2, 4 layers, 4 heads, d 128, vocab 1024, context 256 (Optimum with-past form)
    llama_tiny             Llama, 4 layers, 8 query / 2 kv heads of 16, d 128, SwiGLU 384, vocab 1024
    llama_tiny_merged      llama_tiny as Optimum's merged decoder: If on `use_cache_branch`
    llama_tiny_genai       llama_tiny as onnxruntime-genai's model builder writes it (com.microsoft
                           SimplifiedLayerNormalization, RotaryEmbedding, GroupQueryAttention, MatMul)
    llama_tiny_genai_int4  the same with MatMulNBits (4 bits, block 32, asymmetric) projections
    llama_bench_0p5b       on request only: ~0.68 B parameters (d 1536, 24 layers, 12/2 heads, vocab 32000),
                           external data, fp32 with-past form plus genai_int4/ (the GenAI form, 4 bits,
                           accuracy_level 4 as the GenAI builder writes for CPU)

Each folder OUT_DIR/<name>/ holds
    model.onnx (+ model.onnx.data for the large model)
    config.json, generation_config.json           as transformers writes them (HF key names)
    tokenizer.json, tokenizer_config.json         a tokenizer trained on tests/generate/corpus.txt with the
                                                  model's vocabulary size and special ids (tools/tokenizer_files)
    genai_config.json                             genai forms only, in onnxruntime-genai's schema
    expected/greedy.json                          the reference below
    expected/<case>_prefill_logits.npy            float32 [batch, prompt_len, vocab]: logits of the prefill
    meta.json                                     generator version, time, sizes, op histogram, variety

Graph contract (Optimum forms): inputs input_ids [batch_size, sequence_length] int64, attention_mask
[batch_size, past_sequence_length + sequence_length] int64, position_ids [batch_size, sequence_length] int64,
past_key_values.{i}.key / .value [batch_size, kv_heads, past_sequence_length, head_dim] float32 (a zero
length past is valid: the prefill); merged adds use_cache_branch bool [1] (false: prefill). Outputs logits
[batch_size, sequence_length, vocab] float32, present.{i}.key / .value [.., total, head_dim].
GenAI forms: the same names without position_ids' padding freedom: GroupQueryAttention reads the valid
length of row b as sum(attention_mask[b]) and assumes those tokens come first, so batches are right-padded
there (the ORT check does so; tokens per row must still equal the left-padded reference).

expected/greedy.json (schema 1):
    {"schema": 1, "model": NAME, "reference": "pytorch fp32 ..." (what produced it),
     "max_new_tokens": 64, "stop_at_eos": false (every row gets exactly max_new_tokens),
     "padding": "left", "pad_token_id", "bos_token_id", "eos_token_id",
     "position_ids": the rule as words (cumsum(mask) - 1, 1 on padding),
     "cases": [{"name": "bos_only" | "short" | "long" | "batch2_left_padded",
                "input_ids": [[int]] (B x S, left-padded with pad_token_id), "attention_mask": [[0|1]],
                "new_tokens": [[int]] (B x max_new_tokens, greedy argmax with the KV cache, equal to the
                full-recompute loop), "prefill_logits": "expected/<case>_prefill_logits.npy",
                "min_margin": smallest top1 - top2 logit over the steps (how robust an exact match is),
                "variety": [{"distinct": n, "longest_repeat": n}] per row}]}

A folder whose meta.json has the model's current version is reused (cache); folders are built under a
temporary name and renamed into place when complete; --force re-exports.
"""
import argparse
import collections
import os
import shutil
import sys
import time
import warnings

try:
    import numpy as np
    import onnx
    import torch
except ImportError as e:  # pragma: no cover - environment problem, say so clearly
    sys.exit(f"export_decoders.py: {e}; run it with /usr/bin/python3 (needs python3-torch, python3-onnx)")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from decoders import genai_form, optimum_form  # noqa: E402
from decoders.config import DecoderConfig  # noqa: E402
from decoders.nbits import dequantize_like_nbits  # noqa: E402
from decoders.reference import ReferenceCache, write_configs, write_greedy, write_json  # noqa: E402
from decoders.torch_models import build_torch  # noqa: E402
from model_cache import op_histogram, read_meta, requested_names  # noqa: E402

warnings.filterwarnings("ignore", category=UserWarning, module=r"torch\.onnx")
warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)

GPT2_TINY = DecoderConfig(arch="gpt2", vocab_size=1024, hidden=128, layers=4, heads=4, kv_heads=4,
                          intermediate=512, context=256, bos=1023, eos=1023, pad=1023,
                          init_std=0.3, embed_std=0.1, seed=2)
LLAMA_TINY = DecoderConfig(arch="llama", vocab_size=1024, hidden=128, layers=4, heads=8, kv_heads=2,
                           intermediate=384, context=256, eps=1e-5, bos=1, eos=2, pad=0,
                           init_std=0.05, embed_std=1.0, seed=3)
LLAMA_BENCH = DecoderConfig(arch="llama", vocab_size=32000, hidden=1536, layers=24, heads=12, kv_heads=2,
                            intermediate=4096, context=2048, eps=1e-5, bos=1, eos=2, pad=0,
                            init_std=0.02, embed_std=1.0, seed=4)
BENCH_STEPS = 8
REFERENCES = ReferenceCache()


def torch_reference(name, cfg, key=None, model_fn=None, steps=64, cross_check=True):
    return REFERENCES.get(key or name, name, cfg, model_fn or (lambda: build_torch(cfg)), steps, cross_check)


def build_optimum(name, cfg, out_dir):
    model = build_torch(cfg)
    optimum_form.export(model, cfg, os.path.join(out_dir, "model.onnx"), past=True)
    return "pytorch fp32, KV-cache loop (cross-checked by full recompute)", torch_reference(name, cfg)


def build_gpt2_tiny(name, out_dir):
    return GPT2_TINY, build_optimum(name, GPT2_TINY, out_dir)


def build_llama_tiny(name, out_dir):
    return LLAMA_TINY, build_optimum("llama_tiny", LLAMA_TINY, out_dir)


def build_llama_tiny_merged(name, out_dir):
    model = build_torch(LLAMA_TINY)
    with_past, without = (os.path.join(out_dir, f) for f in ("with_past.onnx", "without_past.onnx"))
    optimum_form.export(model, LLAMA_TINY, with_past, past=True)
    optimum_form.export(model, LLAMA_TINY, without, past=False)
    optimum_form.merge(with_past, without, os.path.join(out_dir, "model.onnx"))
    os.remove(with_past)
    os.remove(without)
    return LLAMA_TINY, ("pytorch fp32, KV-cache loop (cross-checked by full recompute)",
                        torch_reference("llama_tiny", LLAMA_TINY))


def build_llama_tiny_genai(name, out_dir, bits=None):
    genai_form.write(LLAMA_TINY, out_dir, bits=bits)
    if bits is None:
        return LLAMA_TINY, ("pytorch fp32, KV-cache loop (cross-checked by full recompute)",
                            torch_reference("llama_tiny", LLAMA_TINY))

    def dequantized():  # the exact math of MatMulNBits at accuracy level 0: fp32 on dequantized weights
        return dequantize_like_nbits(build_torch(LLAMA_TINY), bits)
    return LLAMA_TINY, (f"pytorch fp32 on the {bits}-bit dequantized weights, KV-cache loop",
                        torch_reference("llama_tiny", LLAMA_TINY, key=f"llama_tiny_int{bits}",
                                        model_fn=dequantized))


def build_llama_bench(name, out_dir):
    """0.68 B parameters: the with-past form by torch.onnx.export (weights moved into one model.onnx.data),
    the GenAI int4 form by the onnx helper from weights generated per tensor; the reference is a short
    decode by the torch module."""
    cfg = LLAMA_BENCH
    print(f"{name}: {cfg.param_count():,} parameters", flush=True)
    model = build_torch(cfg)
    optimum_form.export_external(model, cfg, out_dir)
    cases = torch_reference(name, cfg, model_fn=lambda: model, steps=BENCH_STEPS, cross_check=False)
    del model
    genai_dir = os.path.join(out_dir, "genai_int4")
    genai_form.write(cfg, genai_dir, bits=4, accuracy_level=4)
    cases = [c for c in cases if c[0] in ("short", "batch2_left_padded")]
    write_configs(genai_dir, cfg)

    def dequantized():
        return dequantize_like_nbits(build_torch(cfg), 4)
    int4 = torch_reference(name, cfg, key=name + "_int4", model_fn=dequantized, steps=BENCH_STEPS,
                           cross_check=False)
    write_greedy(genai_dir, name + "_genai_int4", cfg, [c for c in int4 if c[0] in ("short",
                 "batch2_left_padded")], "pytorch fp32 on the 4-bit dequantized weights, KV-cache loop")
    return cfg, ("pytorch fp32, KV-cache loop", cases)


# name -> (version, builder). Bump a version when its model, weights or prompts change.
MODELS = collections.OrderedDict([
    ("gpt2_tiny", (2, build_gpt2_tiny)),
    ("llama_tiny", (2, build_llama_tiny)),
    ("llama_tiny_merged", (2, build_llama_tiny_merged)),
    ("llama_tiny_genai", (2, build_llama_tiny_genai)),
    ("llama_tiny_genai_int4", (2, lambda n, d: build_llama_tiny_genai(n, d, bits=4))),
    ("llama_bench_0p5b", (2, build_llama_bench)),
])
ON_REQUEST = {"llama_bench_0p5b"}




def is_complete(model_dir, version):
    meta = read_meta(model_dir)
    return bool(meta) and meta.get("version") == version and all(
        os.path.isfile(os.path.join(model_dir, f)) for f in meta.get("files", []))


def export_one(name, version, builder, out_dir):
    final_dir = os.path.join(out_dir, name)
    tmp_dir = os.path.join(out_dir, f".tmp-{name}-{os.getpid()}")
    shutil.rmtree(tmp_dir, ignore_errors=True)
    os.makedirs(tmp_dir)
    try:
        start = time.time()
        cfg, (reference, cases) = builder(name, tmp_dir)
        write_configs(tmp_dir, cfg)
        summary = write_greedy(tmp_dir, name, cfg, cases, reference)
        model_path = os.path.join(tmp_dir, "model.onnx")
        # SimplifiedLayerNormalization is ORT's contrib op in the ONNX domain, which the checker refuses;
        # ORT runs those forms in tests/decoders.
        if not os.path.exists(os.path.join(tmp_dir, "genai_config.json")):
            onnx.checker.check_model(model_path)  # path form: works with external data
        proto = onnx.load(model_path, load_external_data=False)
        if proto.opset_import[0].version != optimum_form.OPSET:
            raise RuntimeError(f"{name}: exported at opset {proto.opset_import[0].version}")
        files = sorted(os.path.relpath(os.path.join(d, f), tmp_dir)
                       for d, _, fs in os.walk(tmp_dir) for f in fs)
        meta = dict(name=name, version=version, opset=optimum_form.OPSET,
                    seconds=round(time.time() - start, 2), parameters=cfg.param_count(),
                    model_bytes=os.path.getsize(model_path),
                    data_bytes=sum(os.path.getsize(os.path.join(tmp_dir, f)) for f in files
                                   if f.endswith(".data")),
                    inputs={i.name: onnx.TensorProto.DataType.Name(i.type.tensor_type.elem_type).lower()
                            for i in proto.graph.input},
                    outputs=[o.name for o in proto.graph.output], ops=op_histogram(proto),
                    greedy=summary, files=files + ["meta.json"], torch=torch.__version__,
                    onnx=onnx.__version__)
        write_json(os.path.join(tmp_dir, "meta.json"), meta)
        if os.path.exists(final_dir):
            shutil.rmtree(final_dir)
        os.rename(tmp_dir, final_dir)
        return meta
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)


def describe(meta, cached):
    state = "cached" if cached else f"exported in {meta['seconds']:.1f} s"
    print(f"{meta['name']}: {state}; {meta['parameters']:,} parameters; model.onnx "
          f"{meta['model_bytes'] / 1e6:.2f} MB (+{meta['data_bytes'] / 1e6:.0f} MB external)", flush=True)
    print(f"  greedy: {meta['greedy']}", flush=True)
    print(f"  ops: {', '.join(f'{k} {v}' for k, v in meta['ops'].items())}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out_dir", nargs="?")
    parser.add_argument("--only", help="comma-separated model names (default: all but the on-request ones)")
    parser.add_argument("--force", action="store_true", help="re-export even when cached")
    parser.add_argument("--list", action="store_true", help="list the model names and exit")
    args = parser.parse_args()
    if args.list:
        print("\n".join(f"{n}{' (on request)' if n in ON_REQUEST else ''}" for n in MODELS))
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
        describe(export_one(name, version, builder, args.out_dir), cached=False)
    print(f"export_decoders: {len(names)} model(s) ready in {args.out_dir} ({time.time() - total:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
