// Runs an ONNX model in ONNX Runtime (onnxruntime-node, CPU execution provider) on inputs from
// a safetensors file and writes its outputs to another, with the time of each run: the second
// referee of tools/compare_ort.py.
//   node tools/ort_run.js ORT_PACKAGE MODEL.onnx IN.safetensors OUT.safetensors REPS THREADS
// ORT_PACKAGE is the onnxruntime-node folder (npm install --ignore-scripts onnxruntime-node).
// Prints one JSON line: {"ms": [per run], "median_ms": m, "first_ms": f, "threads": t}.
'use strict';
const fs = require('fs');

const [pkg, modelPath, inPath, outPath, repsArg, threadsArg] = process.argv.slice(2);
if (!outPath) {
  console.error('usage: node tools/ort_run.js ORT_PACKAGE MODEL.onnx IN.safetensors OUT.safetensors [REPS] [THREADS]');
  process.exit(2);
}
const ort = require(pkg);
const reps = Number(repsArg || 5), threads = Number(threadsArg || 0);

// safetensors dtype -> [ort type, typed array, element bytes]
const TYPES = {
  F32: ['float32', Float32Array, 4],
  I64: ['int64', BigInt64Array, 8],
  I32: ['int32', Int32Array, 4],
  BOOL: ['bool', Uint8Array, 1],
  U8: ['uint8', Uint8Array, 1],
};
const FROM_ORT = {float32: 'F32', int64: 'I64', int32: 'I32', bool: 'BOOL', uint8: 'U8'};

function readSafetensors(path) {
  const raw = fs.readFileSync(path);
  const n = Number(raw.readBigUInt64LE(0));
  const header = JSON.parse(raw.subarray(8, 8 + n).toString('utf8'));
  const base = 8 + n, out = {};
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const t = TYPES[info.dtype];
    if (!t) throw new Error(`${path}: tensor '${name}' has dtype ${info.dtype}, which this tool does not pass to ONNX Runtime`);
    const [b, e] = info.data_offsets;
    const bytes = Uint8Array.from(raw.subarray(base + b, base + e));  // aligned copy
    out[name] = new ort.Tensor(t[0], new t[1](bytes.buffer), info.shape);
  }
  return out;
}

function writeSafetensors(path, tensors) {
  const header = {}, parts = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const dtype = FROM_ORT[t.type];
    if (!dtype) throw new Error(`output '${name}' has type ${t.type}, which this tool does not write`);
    const bytes = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    header[name] = {dtype, shape: t.dims, data_offsets: [offset, offset + bytes.length]};
    parts.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  while ((8 + json.length) % 8) json += ' ';
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  fs.writeFileSync(path, Buffer.concat([len, Buffer.from(json), ...parts]));
}

(async () => {
  const options = {graphOptimizationLevel: 'all'};
  if (threads > 0) options.intraOpNumThreads = threads;
  const session = await ort.InferenceSession.create(modelPath, options);
  const feeds = readSafetensors(inPath);
  let t0 = process.hrtime.bigint();
  let out = await session.run(feeds);
  const first = Number(process.hrtime.bigint() - t0) / 1e6;
  const ms = [];
  for (let i = 0; i < reps; ++i) {
    t0 = process.hrtime.bigint();
    out = await session.run(feeds);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  writeSafetensors(outPath, out);
  const sorted = [...ms].sort((a, b) => a - b);
  console.log(JSON.stringify({ms, median_ms: sorted.length ? sorted[sorted.length >> 1] : first, first_ms: first, threads}));
})().catch((e) => {
  console.error(`ort_run: ${e.message || e}`);
  process.exit(1);
});
