// Runs rnnc's exported ONNX graphs in ONNX Runtime and compares them with rnnc's own numbers.
//
// usage: node tools/onnx/ort_check.js DIR
//
// DIR holds cases written by tests/test_onnx.c:
//   NAME.onnx + NAME.ref.safetensors: the tensors "in.X" are fed as the graph's input X, and each
//     "out.Y" is rnnc's value of output Y; ONNX Runtime's must agree within
//     |ort - rnnc| <= 1e-4 * max(1, |rnnc|) at every element (shapes must be equal too).
//   NAME.greedy.safetensors beside NAME.encoder.onnx and NAME.decoder.onnx: greedy decoding run
//     through the two graphs (encoder, then one decoder step at a time from <bos> = 1, the argmax
//     over ids >= <eos> = 2 fed back, as rnnc_s2s_greedy) must give rnnc's tokens ("tokens",
//     (B, max_len), -1 after each row's end; "src", "src_lengths").
// Prints one line per check and exits 1 if any fails. Needs onnxruntime-node in
// tools/onnx/node_modules (scripts/install-onnxruntime.sh).
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require(path.join(__dirname, 'node_modules', 'onnxruntime-node'));

const TOL = 1e-4;

// A safetensors file: { name: { dtype, shape, data (typed array) } }.
function readSafetensors(file) {
  const buf = fs.readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  const base = 8 + n;
  const out = {};
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const [a, b] = t.data_offsets;
    const bytes = buf.subarray(base + a, base + b);
    const copy = new Uint8Array(bytes); // aligned copy
    let data;
    if (t.dtype === 'F32') data = new Float32Array(copy.buffer);
    else if (t.dtype === 'I64') data = new BigInt64Array(copy.buffer);
    else throw new Error(`${file}: tensor ${name} has dtype ${t.dtype}`);
    out[name] = { dtype: t.dtype, shape: t.shape, data };
  }
  return out;
}

function toOrt(t) {
  return new ort.Tensor(t.dtype === 'F32' ? 'float32' : 'int64', t.data, t.shape);
}

let failures = 0;
function report(ok, line) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${line}`);
  if (!ok) failures++;
}

// The largest |a - b| / max(1, |b|), or Infinity when the shapes differ.
function relErr(got, want) {
  if (got.dims.length !== want.shape.length || got.dims.some((d, i) => Number(d) !== want.shape[i])) return Infinity;
  let worst = 0;
  for (let i = 0; i < want.data.length; i++) {
    const e = Math.abs(got.data[i] - want.data[i]) / Math.max(1, Math.abs(want.data[i]));
    if (!(e <= worst)) worst = e; // NaN propagates as the worst
  }
  return worst;
}

async function session(file) {
  return ort.InferenceSession.create(file, { intraOpNumThreads: 1, interOpNumThreads: 1 });
}

async function checkRef(dir, name) {
  const ref = readSafetensors(path.join(dir, `${name}.ref.safetensors`));
  const sess = await session(path.join(dir, `${name}.onnx`));
  const feeds = {};
  for (const [k, t] of Object.entries(ref)) if (k.startsWith('in.')) feeds[k.slice(3)] = toOrt(t);
  const missing = sess.inputNames.filter((n) => !(n in feeds));
  if (missing.length) { report(false, `${name}: no reference input for ${missing.join(', ')}`); return; }
  const res = await sess.run(feeds);
  const outs = Object.keys(ref).filter((k) => k.startsWith('out.')).map((k) => k.slice(4));
  if (outs.length !== sess.outputNames.length) {
    report(false, `${name}: the graph has outputs ${sess.outputNames.join(', ')}, the reference ${outs.join(', ')}`);
  }
  for (const o of outs) {
    if (!(o in res)) { report(false, `${name}: no output ${o}`); continue; }
    const e = relErr(res[o], ref[`out.${o}`]);
    report(e <= TOL, `${name} ${o} [${ref[`out.${o}`].shape.join(', ')}]: max relative error ${e.toExponential(2)} (limit ${TOL})`);
  }
}

async function checkGreedy(dir, name) {
  const g = readSafetensors(path.join(dir, `${name}.greedy.safetensors`));
  const enc = await session(path.join(dir, `${name}.encoder.onnx`));
  const dec = await session(path.join(dir, `${name}.decoder.onnx`));
  const [B, maxLen] = g.tokens.shape;
  const e = await enc.run({ src: toOrt(g.src), src_lengths: toOrt(g.src_lengths) });
  const lstm = dec.inputNames.includes('c0');
  let h = e.h0, c = lstm ? e.c0 : null;
  let ids = new BigInt64Array(B).fill(1n); // <bos>
  const got = Array.from({ length: B }, () => []);
  const done = new Array(B).fill(false);
  for (let t = 0; t < maxLen && done.some((d) => !d); t++) {
    const feeds = { ids: new ort.Tensor('int64', ids, [B, 1]), h0: h };
    if (lstm) feeds.c0 = c;
    const r = await dec.run(feeds);
    const V = Number(r.logits.dims[2]);
    const next = new BigInt64Array(B);
    for (let b = 0; b < B; b++) {
      const row = r.logits.data.subarray(b * V, (b + 1) * V);
      let best = 2; // <pad> and <bos> are never outputs
      for (let v = 3; v < V; v++) if (row[v] > row[best]) best = v;
      next[b] = BigInt(best);
      if (done[b]) continue;
      if (best === 2) done[b] = true;
      else got[b].push(best);
    }
    ids = next;
    h = r.hn;
    if (lstm) c = r.cn;
  }
  let same = true;
  for (let b = 0; b < B; b++) {
    const want = [];
    for (let t = 0; t < maxLen; t++) {
      const v = Number(g.tokens.data[b * maxLen + t]);
      if (v < 0) break;
      want.push(v);
    }
    if (want.join(' ') !== got[b].join(' ')) {
      same = false;
      console.log(`  row ${b}: rnnc [${want.join(' ')}], ONNX Runtime [${got[b].join(' ')}]`);
    }
  }
  report(same, `${name} greedy decoding through the encoder and decoder graphs: ${B} sources, the same tokens as rnnc`);
}

async function main() {
  const dir = process.argv[2];
  if (!dir) { console.error('usage: node ort_check.js DIR'); process.exit(2); }
  const files = fs.readdirSync(dir).sort();
  let n = 0;
  for (const f of files) {
    if (f.endsWith('.ref.safetensors')) { await checkRef(dir, f.slice(0, -'.ref.safetensors'.length)); n++; }
    if (f.endsWith('.greedy.safetensors')) { await checkGreedy(dir, f.slice(0, -'.greedy.safetensors'.length)); n++; }
  }
  if (n === 0) report(false, `${dir}: no cases`);
  console.log(`ort_check: onnxruntime-node ${ort.env.versions.node}, ${n} cases, ${failures} failed checks`);
  process.exit(failures ? 1 : 0);
}

main().catch((e) => { console.log(`FAIL ${e.message}`); process.exit(1); });
