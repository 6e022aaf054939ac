#!/usr/bin/env node
// ONNX Runtime (CPU) over the case folders that compare_ops.py writes: for each CASE_DIR it runs
// CASE_DIR/model.onnx on the inputs listed in CASE_DIR/inputs/index.json and writes every output to
// CASE_DIR/ort/<file>.npy, with CASE_DIR/ort/index.json mapping output names to files. When ORT refuses
// the model or a run, CASE_DIR/ort/error.txt holds its message instead and the next case goes on.
//
// usage: node tests/ort_ops/ort_run.js CASE_DIR [CASE_DIR ...]
// Exit status: 0 when every case was attempted (refusals included), 1 when onnxruntime-node is missing.
'use strict';
const fs = require('fs');
const path = require('path');

const ORT_DIR = path.join(__dirname, '..', '..', 'bench', '.ort', 'node_modules', 'onnxruntime-node');

// .npy descr (without byte order) <-> ORT tensor type and typed array.
const DTYPES = {
  f4: ['float32', Float32Array], f8: ['float64', Float64Array], f2: ['float16', Uint16Array],
  i1: ['int8', Int8Array], u1: ['uint8', Uint8Array], i2: ['int16', Int16Array], u2: ['uint16', Uint16Array],
  i4: ['int32', Int32Array], u4: ['uint32', Uint32Array], i8: ['int64', BigInt64Array],
  u8: ['uint64', BigUint64Array], b1: ['bool', Uint8Array],
};

function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(`${file}: not an .npy file`);
  const major = buf[6];
  const headerStart = major === 1 ? 10 : 12;
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const header = buf.toString('latin1', headerStart, headerStart + headerLen);
  const descr = header.match(/'descr': '([<|=])(\w\d)'/);
  if (!descr || !DTYPES[descr[2]] || header.includes("'fortran_order': True")) {
    throw new Error(`${file}: unsupported .npy header ${header}`);
  }
  const [type, Array_] = DTYPES[descr[2]];
  const shape = header.match(/'shape': \(([^)]*)\)/)[1].split(',').filter((s) => s.trim()).map(Number);
  const start = headerStart + headerLen;
  const bytes = new Uint8Array(buf.length - start);
  bytes.set(buf.subarray(start));  // a fresh buffer is aligned for every element size
  return {type, dims: shape, data: new Array_(bytes.buffer)};
}

function writeNpy(file, tensor) {
  const entry = Object.entries(DTYPES).find(([, [type]]) => type === tensor.type);
  if (!entry) throw new Error(`output type ${tensor.type} has no .npy form here`);
  const shape = tensor.dims.length === 1 ? `(${tensor.dims[0]},)` : `(${tensor.dims.join(', ')})`;
  const order = entry[0][0] === 'b' || entry[0].endsWith('1') ? '|' : '<';
  let header = `{'descr': '${order}${entry[0]}', 'fortran_order': False, 'shape': ${shape}, }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const prefix = Buffer.alloc(10);
  prefix.write('\x93NUMPY', 0, 'latin1');
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  const data = tensor.data;
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  fs.writeFileSync(file, Buffer.concat([prefix, Buffer.from(header, 'latin1'), body]));
}

async function runCase(ort, dir) {
  const outDir = path.join(dir, 'ort');
  fs.rmSync(outDir, {recursive: true, force: true});
  fs.mkdirSync(outDir);
  try {
    const index = JSON.parse(fs.readFileSync(path.join(dir, 'inputs', 'index.json')));
    const feeds = {};
    for (const [name, file] of Object.entries(index)) {
      const t = readNpy(path.join(dir, 'inputs', file));
      feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
    }
    const session = await ort.InferenceSession.create(path.join(dir, 'model.onnx'),
                                                      {intraOpNumThreads: 1, graphOptimizationLevel: 'disabled'});
    const results = await session.run(feeds);
    const written = {};
    session.outputNames.forEach((name, i) => {
      const file = `${i}.npy`;
      writeNpy(path.join(outDir, file), results[name]);
      written[name] = file;
    });
    fs.writeFileSync(path.join(outDir, 'index.json'), JSON.stringify(written));
  } catch (e) {
    fs.writeFileSync(path.join(outDir, 'error.txt'), String(e && e.message ? e.message : e));
  }
}

async function main() {
  const dirs = process.argv.slice(2);
  let ort;
  try {
    ort = require(ORT_DIR);
  } catch (e) {
    console.error(`ort_run: onnxruntime-node is not in ${ORT_DIR}; scripts/install-npm-peers.sh installs it`);
    process.exit(1);
  }
  for (const dir of dirs) await runCase(ort, dir);
}

main();
