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

const ORT_DIR = path.join(__dirname, '..', '..', 'bench', '.ort', 'node_modules', 'onnxruntime-node');

function loadOrt() {
  try {
    return require(ORT_DIR);
  } catch (e) {
    console.error(`ort_greedy: onnxruntime-node is not in ${ORT_DIR}; scripts/install-npm-peers.sh ` +
                  `(run by scripts/install-deps.sh) installs it`);
    process.exit(1);
  }
}

// Reads a little-endian float32 .npy file (format 1.0 or 2.0).
function readNpyFloat32(file) {
  const buf = fs.readFileSync(file);
  if (buf.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(`${file}: not an .npy file`);
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = (major === 1 ? 10 : 12) + headerLen;
  const header = buf.toString('latin1', major === 1 ? 10 : 12, start);
  if (!header.includes("'<f4'") || header.includes("'fortran_order': True")) {
    throw new Error(`${file}: expected C-order <f4, header ${header}`);
  }
  const shape = header.match(/'shape': \(([^)]*)\)/)[1].split(',').filter((s) => s.trim()).map(Number);
  const data = new Float32Array(buf.buffer.slice(buf.byteOffset + start, buf.byteOffset + buf.length));
  return {shape, data};
}

function argmaxRow(data, offset, n) {
  let best = 0;
  for (let i = 1; i < n; ++i) if (data[offset + i] > data[offset + best]) best = i;
  return best;
}

class Decoder {
  constructor(ort, session, dir) {
    this.ort = ort;
    this.session = session;
    this.genai = fs.existsSync(path.join(dir, 'genai_config.json'));
    this.merged = session.inputNames.includes('use_cache_branch');
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json')));
    this.layers = cfg.n_layer ?? cfg.num_hidden_layers;
    this.kvHeads = cfg.num_key_value_heads ?? cfg.n_head;
    this.headDim = cfg.head_dim ?? (cfg.n_embd / cfg.n_head);
    this.vocab = cfg.vocab_size;
    this.usesPositions = session.inputNames.includes('position_ids');
  }

  int64(rows) {
    const b = rows.length, s = rows[0].length;
    return new this.ort.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [b, s]);
  }

  async step(ids, mask, positions, past, useCache) {
    const feeds = {input_ids: this.int64(ids), attention_mask: this.int64(mask)};
    if (this.usesPositions) feeds.position_ids = this.int64(positions);
    if (this.merged) feeds.use_cache_branch = new this.ort.Tensor('bool', Uint8Array.of(useCache ? 1 : 0), [1]);
    for (let i = 0; i < this.layers; ++i) {
      for (const kind of ['key', 'value']) {
        feeds[`past_key_values.${i}.${kind}`] = past ? past[`present.${i}.${kind}`] :
            new this.ort.Tensor('float32', new Float32Array(0), [ids.length, this.kvHeads, 0, this.headDim]);
      }
    }
    return this.session.run(feeds);
  }

  // Returns {tokens: [[int]], prefill: {data, lastIndex(b), validIndex(b, j)}}.
  async greedy(caseSpec, steps) {
    const rows = caseSpec.input_ids.map((r, b) => r.filter((_, j) => caseSpec.attention_mask[b][j] === 1));
    const width = caseSpec.input_ids[0].length;
    const lens = rows.map((r) => r.length);
    let ids, mask, positions;
    if (this.genai) {  // right padding, positions 0.. per row
      ids = rows.map((r) => r.concat(Array(width - r.length).fill(0)));
      mask = lens.map((n) => Array.from({length: width}, (_, j) => (j < n ? 1 : 0)));
      positions = lens.map(() => Array.from({length: width}, (_, j) => j));
    } else {
      ids = caseSpec.input_ids;
      mask = caseSpec.attention_mask;
      positions = mask.map((m) => { let c = -1; return m.map((v) => (v ? ++c : 1)); });
    }
    let out = await this.step(ids, mask, positions, null, false);
    const prefill = out.logits.data.slice();
    const lastIndex = (b) => (this.genai ? lens[b] - 1 : width - 1);
    const tokens = lens.map(() => []);
    for (let t = 0; t < steps; ++t) {
      const seq = out.logits.dims[1];
      const row = (b) => ((b * seq) + (t === 0 ? lastIndex(b) : 0)) * this.vocab;
      const next = lens.map((_, b) => argmaxRow(out.logits.data, row(b), this.vocab));
      next.forEach((tok, b) => tokens[b].push(tok));
      if (t === steps - 1) break;
      const total = width + t + 1;
      mask = lens.map((n, b) => Array.from({length: total}, (_, j) =>
        (this.genai ? (j < n + t + 1 ? 1 : 0) : (j < width ? caseSpec.attention_mask[b][j] : 1))));
      positions = lens.map((n) => [n + t]);
      out = await this.step(next.map((tok) => [tok]), mask, positions, out, true);
    }
    const validIndex = (b, j) => (this.genai ? j : width - lens[b] + j);  // j-th real prompt token
    return {tokens, prefill, lens, width, validIndex};
  }
}

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
