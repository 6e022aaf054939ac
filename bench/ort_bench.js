#!/usr/bin/env node
// The peer side of the benchmark suite: times one model with ONNX Runtime's CPU provider under the same
// contract as `tessera bench` (deterministic inputs, warm-up, median/p90/min, throughput, peak RSS) and
// prints one JSON object as its last line, so bench/run_suite.py can put both engines in one table.
//
// usage: node bench/ort_bench.js MODEL [--shape NAME=1x3x224x224 ...] [--threads N] [--iters N] [--warmup N]
//                                [--profile PREFIX]
//
// --profile writes ONNX Runtime's own per-node trace (enableProfiling) to PREFIX_<date>.json and prints its
// path on stderr; bench/ort_profile.py sums it by op type, for comparison with `tessera bench --profile`.
//
// Inputs follow tessera bench's rules: shapes from --shape, else from the model with symbolic dims 1 for
// the first and 128 for the others; floats uniform in [-1, 1), integers in [0, 100), bools true.
// ONNX Runtime comes from bench/.ort (installed by run_suite.py with `npm install --ignore-scripts`).
'use strict';
const path = require('path');

function loadOrt() {
  const local = path.join(__dirname, '.ort', 'node_modules', 'onnxruntime-node');
  try {
    return require(local);
  } catch (e) {
    console.error(`ort_bench: onnxruntime-node is not installed in ${local} (run bench/run_suite.py once): ${e.message}`);
    process.exit(2);
  }
}

function parseArgs(argv) {
  const args = {model: null, shapes: {}, threads: 1, iters: 20, warmup: 3, profile: null};
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--shape') {
      const [name, dims] = value().split('=');
      args.shapes[name] = dims.split('x').map(Number);
    } else if (a === '--threads') args.threads = Number(value());
    else if (a === '--iters') args.iters = Number(value());
    else if (a === '--warmup') args.warmup = Number(value());
    else if (a === '--profile') args.profile = value();
    else if (!args.model) args.model = a;
    else throw new Error(`unexpected argument ${a}`);
  }
  if (!args.model) throw new Error('usage: ort_bench.js MODEL [--shape NAME=DIMS] [--threads N] [--iters N] [--warmup N]');
  return args;
}

// The same xorshift64 sequence as tessera bench (src/cli/bench_command.cc), so both engines see the
// same input values.
function makeInput(ort, meta, shape, seed) {
  const mask = 0xFFFFFFFFFFFFFFFFn;
  let state = (BigInt(seed) * 0x9E3779B97F4A7C15n + 1n) & mask;
  const next = () => {
    state ^= (state << 13n) & mask;
    state ^= state >> 7n;
    state ^= (state << 17n) & mask;
    return state;
  };
  const n = shape.reduce((a, b) => a * b, 1);
  switch (meta.type) {
    case 'float32': {
      const data = new Float32Array(n);
      for (let i = 0; i < n; ++i) data[i] = Number(next() % 20000n) / 10000 - 1;
      return new ort.Tensor('float32', data, shape);
    }
    case 'int64': {
      const data = new BigInt64Array(n);
      for (let i = 0; i < n; ++i) data[i] = next() % 100n;
      return new ort.Tensor('int64', data, shape);
    }
    case 'int32': {
      const data = new Int32Array(n);
      for (let i = 0; i < n; ++i) data[i] = Number(next() % 100n);
      return new ort.Tensor('int32', data, shape);
    }
    case 'bool':
      return new ort.Tensor('bool', new Uint8Array(n).fill(1), shape);
    default:
      throw new Error(`input '${meta.name}' has dtype ${meta.type}, which ort_bench does not generate`);
  }
}

function percentile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * (sorted.length - 1) + 0.5))];
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const ort = loadOrt();
  const session = await ort.InferenceSession.create(args.model, {
    intraOpNumThreads: args.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    ...(args.profile ? {enableProfiling: true, profileFilePrefix: args.profile} : {}),
  });
  const feeds = {};
  let seed = 1;
  let batch = 1;
  session.inputMetadata.forEach((meta, index) => {
    let shape = args.shapes[meta.name];
    if (!shape) {
      let symbolic = 0;
      shape = meta.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : (symbolic++ === 0 ? 1 : 128)));
    }
    if (index === 0 && shape.length > 0) batch = shape[0];
    feeds[meta.name] = makeInput(ort, meta, shape, seed++);
  });
  const times = [];
  const total = args.warmup + args.iters;
  for (let i = 0; i < total; ++i) {
    const start = process.hrtime.bigint();
    await session.run(feeds);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (i >= args.warmup) times.push(ms);
    if (process.stderr.isTTY) process.stderr.write(`\rort_bench: ${i + 1}/${total}`);
  }
  if (process.stderr.isTTY) process.stderr.write('\n');
  if (args.profile) {
    session.endProfiling();  // onnxruntime-node returns no path: the file is PREFIX_<date>.json
    console.error(`ort_bench: profile written to ${args.profile}_*.json`);
  }
  times.sort((a, b) => a - b);
  const median = percentile(times, 0.5);
  const result = {
    engine: 'onnxruntime',
    version: require(path.join(__dirname, '.ort', 'node_modules', 'onnxruntime-node', 'package.json')).version,
    threads: args.threads,
    median_ms: median,
    p90_ms: percentile(times, 0.9),
    min_ms: times[0],
    throughput_per_s: (1000 / median) * Math.max(1, batch),
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
  };
  console.log(JSON.stringify(result));
}

main().catch((e) => {
  console.error(`ort_bench: ${e.message}`);
  process.exit(1);
});
