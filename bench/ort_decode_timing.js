#!/usr/bin/env node
// Times ONNX Runtime on a decoder of tools/export_decoders.py in its KV-cache loop, batch 1: a prefill of
// the prompt, then greedy decode steps, each step's present outputs fed back as past (ORT's own loop).
// The prompt is the same deterministic id sequence bench/generate_decoder.py gives Tessera.
//
// usage: node bench/ort_decode_timing.js MODEL_DIR --prompt-ids 1,2,3 --new-tokens N --threads T
// Prints one JSON object: {prefill_ms, decode_ms_per_token, tokens}. A first run of the same prompt for
// 2 tokens (session warm-up) is not timed.
'use strict';
const path = require('path');
const {loadOrt, argmaxRow, Decoder} = require('../tests/decoders/ort_decoder.js');

async function generate(dec, prompt, newTokens) {
  const width = prompt.length;
  const t0 = process.hrtime.bigint();
  let out = await dec.step([prompt], [prompt.map(() => 1)], [prompt.map((_, j) => j)], null, false);
  const t1 = process.hrtime.bigint();
  const tokens = [];
  let row = (width - 1) * dec.vocab;
  for (let t = 0; t < newTokens; ++t) {
    const next = argmaxRow(out.logits.data, row, dec.vocab);
    tokens.push(next);
    if (t === newTokens - 1) break;
    const total = width + t + 1;
    out = await dec.step([[next]], [Array(total).fill(1)], [[width + t]], out, true);
    row = 0;
  }
  const t2 = process.hrtime.bigint();
  return {prefill_ms: Number(t1 - t0) / 1e6,
          decode_ms_per_token: newTokens > 1 ? Number(t2 - t1) / 1e6 / (newTokens - 1) : 0, tokens};
}

async function main() {
  const argv = process.argv.slice(2);
  const opts = {threads: 1, newTokens: 32, prompt: null, dir: null};
  for (let i = 0; i < argv.length; ++i) {
    if (argv[i] === '--threads') opts.threads = Number(argv[++i]);
    else if (argv[i] === '--new-tokens') opts.newTokens = Number(argv[++i]);
    else if (argv[i] === '--prompt-ids') opts.prompt = argv[++i].split(',').map(Number);
    else opts.dir = argv[i];
  }
  if (!opts.dir || !opts.prompt) {
    console.error('usage: ort_decode_timing.js MODEL_DIR --prompt-ids 1,2,3 --new-tokens N --threads T');
    process.exit(2);
  }
  const ort = loadOrt();
  const session = await ort.InferenceSession.create(path.join(opts.dir, 'model.onnx'),
                                                    {intraOpNumThreads: opts.threads, interOpNumThreads: 1});
  const dec = new Decoder(ort, session, opts.dir);
  await generate(dec, opts.prompt, 2);  // warm-up: the same prompt, as Tessera's --warmup
  console.log(JSON.stringify(await generate(dec, opts.prompt, opts.newTokens)));
}

main().catch((e) => {
  console.error(`ort_decode_timing: ${e.stack || e}`);
  process.exit(2);
});
