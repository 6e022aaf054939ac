// ONNX Runtime's side of the decoder tests and benchmarks: loads onnxruntime-node from bench/.ort and runs
// a decoder of tools/export_decoders.py in its KV-cache loop, each step's present outputs fed back as the
// next step's past (ORT's own loop; the GenAI form is right-padded, see Decoder.greedy).
// Used by tests/decoders/ort_greedy.js and bench/generate_decoder.py (through bench/ort_decode_timing.js).
'use strict';
const fs = require('fs');
const path = require('path');

const ORT_DIR = path.join(__dirname, '..', '..', 'bench', '.ort', 'node_modules', 'onnxruntime-node');

function loadOrt() {
  try {
    return require(ORT_DIR);
  } catch (e) {
    console.error(`onnxruntime-node is not in ${ORT_DIR}; scripts/install-npm-peers.sh ` +
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

module.exports = {ORT_DIR, loadOrt, readNpyFloat32, argmaxRow, Decoder};
