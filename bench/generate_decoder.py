#!/usr/bin/python3
"""Decoder speed, batch 1: prefill ms and decode ms/token of `tessera generate` against onnxruntime-node
running the same model in its KV-cache loop (bench/ort_decode_timing.js), in the same run, at 1 and 2
threads; and decode against the memory-bandwidth bound.

usage: /usr/bin/python3 bench/generate_decoder.py [--models small,0p5b] [--threads 1,2] [--prompt-len 64]
                                                [--new-tokens 32] [--rounds 3] [--write-results]

Models (tools/export_decoders.py writes them into build/models/decoders, exporting what is missing):
  small  llama_tiny (fp32, Optimum with-past) and llama_tiny_genai_int4 (GenAI form, MatMulNBits)
  0p5b   llama_bench_0p5b: 0.68 B parameters, fp32 with-past in external data, and its genai_int4/ form
         (4-bit MatMulNBits, block 32, accuracy_level 4, external data)

Each round runs Tessera then ORT on every (model, threads) pair, so both see the same machine load; the
table gives the medians over rounds. The bound: the bytes one decode step must read (every initializer
but the embedding table, of which one row, plus the KV cache at the mean context) divided by this
machine's streaming read bandwidth at that thread count (bench/read_bandwidth.c, best of 6 passes over
1 GiB). Goals (issue: generation): Tessera <= 0.8x ORT's ms/token, decode <= 1.5x the bound.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import onnx

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build")
MODELS_DIR = os.path.join(BUILD, "models", "decoders")
FORMS = {
    "small": [("llama_tiny", "llama_tiny", "fp32"), ("llama_tiny_genai_int4", "llama_tiny_genai_int4", "int4")],
    "0p5b": [("llama_bench_0p5b", "llama_bench_0p5b", "fp32"),
             ("llama_bench_0p5b", os.path.join("llama_bench_0p5b", "genai_int4"), "int4")],
}


def run(cmd, **kw):
    out = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if out.returncode != 0:
        sys.exit(f"generate_decoder: {' '.join(cmd)} failed ({out.returncode}):\n{out.stderr[-2000:]}")
    return out.stdout


def read_bandwidth(threads):
    exe = os.path.join(BUILD, "bench", "read_bandwidth")
    src = os.path.join(ROOT, "bench", "read_bandwidth.c")
    if not os.path.exists(exe) or os.path.getmtime(exe) < os.path.getmtime(src):
        os.makedirs(os.path.dirname(exe), exist_ok=True)
        run(["cc", "-O3", "-march=native", "-fopenmp", src, "-o", exe])
    return float(run([exe, str(threads)]).strip())


def step_bytes(model_dir, cfg, context):
    """Bytes one decode step reads: initializers (one row of each Gather-ed table) plus the KV cache."""
    model = onnx.load(os.path.join(model_dir, "model.onnx"), load_external_data=False)
    gathered = {n.input[0] for n in model.graph.node if n.op_type in ("Gather", "GatherBlockQuantized")}
    total = 0
    for t in model.graph.initializer:
        if t.data_location == onnx.TensorProto.EXTERNAL:
            size = int({e.key: e.value for e in t.external_data}["length"])
        else:
            size = len(t.raw_data) or onnx.numpy_helper.to_array(t).nbytes
        if t.name in gathered and t.dims:
            size //= max(1, t.dims[0])
        total += size
    layers = cfg.get("num_hidden_layers", cfg.get("n_layer"))
    kv_heads = cfg.get("num_key_value_heads", cfg.get("n_head"))
    head_dim = cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]
    return total + layers * 2 * kv_heads * head_dim * 4 * context


def ensure_models(names):
    missing = [n for n in names if not os.path.exists(os.path.join(MODELS_DIR, n, "model.onnx"))]
    if missing:
        print(f"exporting {','.join(missing)} (the 0.5 B one takes minutes and ~6 GB of memory)", flush=True)
        subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "tools", "export_decoders.py"), MODELS_DIR,
                        "--only", ",".join(missing)], check=True)


def tessera_once(model_dir, prompt, new_tokens, threads):
    shared = ["--shared-kv-buffer"] if os.path.exists(os.path.join(model_dir, "genai_config.json")) else []
    out = run([os.path.join(BUILD, "tessera"), "generate", model_dir, "--prompt-ids", ",".join(map(str, prompt)),
               "--max-new-tokens", str(new_tokens), "--threads", str(threads), "--ignore-eos", "--warmup", "--json",
               *shared])
    d = json.loads(out)
    return d["prefill_ms"], d["decode_ms_per_token"], d["tokens"]


def ort_once(model_dir, prompt, new_tokens, threads):
    out = run(["node", os.path.join(ROOT, "bench", "ort_decode_timing.js"), model_dir, "--prompt-ids",
               ",".join(map(str, prompt)), "--new-tokens", str(new_tokens), "--threads", str(threads)])
    d = json.loads(out)
    return d["prefill_ms"], d["decode_ms_per_token"], d["tokens"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="small,0p5b")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--prompt-len", type=int, default=64)
    ap.add_argument("--new-tokens", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--write-results", action="store_true", help="replace the section in bench/RESULTS.md")
    args = ap.parse_args()
    threads = [int(t) for t in args.threads.split(",")]
    forms = [f for m in args.models.split(",") for f in FORMS[m]]
    ensure_models(sorted({name for name, _, _ in forms}))
    bandwidth = {t: read_bandwidth(t) for t in threads}
    print("read bandwidth: " + ", ".join(f"{t} thread(s) {bw:.1f} GB/s" for t, bw in bandwidth.items()), flush=True)
    samples = {}
    for r in range(args.rounds):
        for name, rel, kind in forms:
            model_dir = os.path.join(MODELS_DIR, rel)
            cfg = json.load(open(os.path.join(model_dir, "config.json")))
            prompt = [3 + (7 * i + 11) % (cfg["vocab_size"] - 3) for i in range(args.prompt_len)]
            for t in threads:
                key = (rel, kind, t)
                entry = samples.setdefault(key, {"tessera": [], "ort": [], "cfg": cfg, "dir": model_dir})
                entry["tessera"].append(tessera_once(model_dir, prompt, args.new_tokens, t))
                entry["ort"].append(ort_once(model_dir, prompt, args.new_tokens, t))
                print(f"round {r + 1}: {rel} {t}t tessera {entry['tessera'][-1][1]:.2f} ms/token, "
                      f"ort {entry['ort'][-1][1]:.2f} ms/token", flush=True)
    rows = []
    load = os.getloadavg()[0]
    for (rel, kind, t), e in samples.items():
        med = lambda runs, i: statistics.median(x[i] for x in runs)  # noqa: E731
        context = args.prompt_len + args.new_tokens / 2
        bytes_per_token = step_bytes(e["dir"], e["cfg"], context)
        bound_ms = bytes_per_token / (bandwidth[t] * 1e9) * 1e3
        t_tok, o_tok = e["tessera"][-1][2], e["ort"][-1][2]
        agree = next((i for i, (a, b) in enumerate(zip(t_tok, o_tok)) if a != b), len(t_tok))
        rows.append(dict(model=rel, weights=kind, threads=t, tessera_prefill_ms=med(e["tessera"], 0),
                         ort_prefill_ms=med(e["ort"], 0), tessera_ms_per_token=med(e["tessera"], 1),
                         ort_ms_per_token=med(e["ort"], 1), bytes_per_token=bytes_per_token, bound_ms=bound_ms,
                         tokens_agree=agree, tokens=len(t_tok)))
    header = ("| model | weights | threads | prefill ms (Tessera / ORT) | decode ms/token (Tessera / ORT) | ratio | "
              "MB read per token | bound ms | decode / bound | greedy tokens equal |\n" + "|---" * 10 + "|")
    lines = [header]
    for r in rows:
        lines.append(f"| {r['model']} | {r['weights']} | {r['threads']} | {r['tessera_prefill_ms']:.1f} / "
                     f"{r['ort_prefill_ms']:.1f} | {r['tessera_ms_per_token']:.2f} / {r['ort_ms_per_token']:.2f} | "
                     f"{r['tessera_ms_per_token'] / r['ort_ms_per_token']:.2f}x | {r['bytes_per_token'] / 1e6:.1f} | "
                     f"{r['bound_ms']:.2f} | {r['tessera_ms_per_token'] / r['bound_ms']:.2f}x | "
                     f"{r['tokens_agree']} of {r['tokens']} |")
    table = "\n".join(lines)
    print(table)
    os.makedirs(os.path.join(BUILD, "bench"), exist_ok=True)
    with open(os.path.join(BUILD, "bench", "generate_decoder.json"), "w") as f:
        json.dump(dict(rows=rows, bandwidth_gbps=bandwidth, load_average=load, args=vars(args)), f, indent=1)
    if args.write_results:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from results_file import replace_section
        cmd = ("/usr/bin/python3 bench/generate_decoder.py --models " + args.models + " --threads " + args.threads +
               f" --prompt-len {args.prompt_len} --new-tokens {args.new_tokens} --rounds {args.rounds}")
        section = (f"## Decoder speed against ONNX Runtime and the bandwidth bound\n\n`{cmd}` on "
                   f"{time.strftime('%Y-%m-%d')}, load average {load:.1f} at the end (a shared 2-core machine; "
                   f"medians of {args.rounds} alternating rounds). Read bandwidth: " +
                   ", ".join(f"{t} thread(s) {bw:.1f} GB/s" for t, bw in bandwidth.items()) +
                   f". Prompt {args.prompt_len} tokens, {args.new_tokens} greedy tokens; ORT feeds each step's "
                   "present outputs back as past; Tessera runs the GenAI forms with --shared-kv-buffer (one cache "
                   "buffer written in place, as ORT GenAI does); both run a short untimed generation first.\n\n" +
                   table + "\n")
        print("wrote", replace_section("## Decoder speed against ONNX Runtime", section))


if __name__ == "__main__":
    main()
