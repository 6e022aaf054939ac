#!/usr/bin/env node
// ONNX Runtime as the second reference for the decoder test models: runs the KV-cache greedy loop of every
// case of MODEL_DIR/expected/greedy.json in ORT and checks the tokens equal PyTorch's, and the prefill
// logits are close (the models come from tools/export_decoders.py).
//
// usage: node tests/decoders/ort_greedy.js MODEL_DIR [MODEL_DIR ...] [--atol A] [--print]
//
// Forms, told apart by the model folder: Optimum with-past (left padding as in greedy.json, zero-length
// past on the prefill), merged (adds use_cache_branch: false on the prefill, true after), and the ORT GenAI
// form (genai_config.json present): GroupQueryAttention takes row b's valid length as sum(mask[b]) with the
// tokens first, so those prompts are right-padded and each row's logits read at its own last position.
// Exit status: 0 all equal, 1 a mismatch or onnxruntime-node not installed, 2 a usage or load problem.
'use strict';
const fs = require('fs');
const path = require('path');

const {loadOrt, readNpyFloat32, Decoder} = require('./ort_decoder.js');

async function checkModel(ort, dir, opts) {
  const ref = JSON.parse(fs.readFileSync(path.join(dir, 'expected', 'greedy.json')));
  const session = await ort.InferenceSession.create(path.join(dir, 'model.onnx'),
                                                    {intraOpNumThreads: 1, interOpNumThreads: 1});
  const dec = new Decoder(ort, session, dir);
  let ok = true;
  for (const c of ref.cases) {
    const got = await dec.greedy(c, ref.max_new_tokens);
    const expected = readNpyFloat32(path.join(dir, c.prefill_logits));
    let maxDiff = 0;
    const s = expected.shape[1];
    got.lens.forEach((n, b) => {
      for (let j = 0; j < n; ++j) {
        const e = (b * s + (s - n + j)) * dec.vocab, a = (b * got.width + got.validIndex(b, j)) * dec.vocab;
        for (let v = 0; v < dec.vocab; ++v) {
          maxDiff = Math.max(maxDiff, Math.abs(got.prefill[a + v] - expected.data[e + v]));
        }
      }
    });
    const agree = got.tokens.map((row, b) => {
      const exp = c.new_tokens[b];
      const first = row.findIndex((tok, i) => tok !== exp[i]);
      return first < 0 ? row.length : first;
    });
    const equal = agree.every((n) => n === ref.max_new_tokens);
    const logitsOk = maxDiff <= opts.atol;
    ok = ok && equal && logitsOk;
    console.log(`${path.basename(dir)}/${c.name}: tokens ${equal ? 'equal' : 'DIFFER'} ` +
                `(agree for ${agree.join(', ')} of ${ref.max_new_tokens}), prefill logits max |diff| ` +
                `${maxDiff.toExponential(2)}${logitsOk ? '' : ' > atol'}, min margin ${c.min_margin}`);
    if (opts.print || !equal) {
      console.log(`  ort:     ${JSON.stringify(got.tokens)}\n  pytorch: ${JSON.stringify(c.new_tokens)}`);
    }
  }
  return ok;
}

async function main() {
  const argv = process.argv.slice(2);
  const opts = {atol: 1e-3, print: false};
  const dirs = [];
  for (let i = 0; i < argv.length; ++i) {
    if (argv[i] === '--atol') opts.atol = Number(argv[++i]);
    else if (argv[i] === '--print') opts.print = true;
    else dirs.push(argv[i]);
  }
  if (!dirs.length) {
    console.error('usage: ort_greedy.js MODEL_DIR [MODEL_DIR ...] [--atol A] [--print]');
    process.exit(2);
  }
  const ort = loadOrt();
  let ok = true;
  for (const dir of dirs) ok = (await checkModel(ort, dir, opts)) && ok;
  process.exit(ok ? 0 : 1);
}

main().catch((e) => {
  console.error(`ort_greedy: ${e.stack || e}`);
  process.exit(2);
});
