// Batch-1 next-token steps of an exported rnnc language model in ONNX Runtime (onnxruntime-node
// from tools/onnx/node_modules), for bench/onnx_vs_rnnc.sh: each step runs the graph on one id
// ([1, 1]) with the state the previous step returned, then draws the next id from the logits
// (softmax at temperature 1, one draw), as rnnc's generator does. The session: intra-op threads as
// given, one inter-op thread, sequential execution, every graph optimisation.
//
// usage: node bench/_ort_steps.js MODEL.onnx LAYERS HIDDEN THREADS TOKENS REPEATS
// prints: impl=ort threads=N tokens=T repeats=R median_tok_s=... best_tok_s=... checksum=...
'use strict';
const path = require('path');
const ort = require(path.join(__dirname, '..', 'tools', 'onnx', 'node_modules', 'onnxruntime-node'));

async function main() {
  const [file, ...nums] = process.argv.slice(2);
  const [L, H, threads, tokens, repeats] = nums.map(Number);
  const sess = await ort.InferenceSession.create(file, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const lstm = sess.inputNames.includes('c0');
  let seed = 7n;
  const rand = () => { // xorshift64*, a uniform in [0, 1)
    seed ^= seed >> 12n; seed ^= (seed << 25n) & 0xffffffffffffffffn; seed ^= seed >> 27n;
    return Number(((seed * 0x2545f4914f6cdd1dn) & 0xffffffffffffffffn) >> 11n) / 2 ** 53;
  };
  const rates = [];
  let checksum = 0;
  for (let rep = 0; rep <= repeats; rep++) { // repeat 0 warms up
    let h = new ort.Tensor('float32', new Float32Array(L * H), [L, 1, H]);
    let c = new ort.Tensor('float32', new Float32Array(L * H), [L, 1, H]);
    const ids = new BigInt64Array(1);
    ids[0] = 1n;
    const t0 = process.hrtime.bigint();
    for (let k = 0; k < tokens; k++) {
      const feeds = { ids: new ort.Tensor('int64', ids, [1, 1]), h0: h };
      if (lstm) feeds.c0 = c;
      const r = await sess.run(feeds);
      const lg = r.logits.data;
      let mx = -Infinity;
      for (let v = 0; v < lg.length; v++) if (lg[v] > mx) mx = lg[v];
      let sum = 0;
      for (let v = 0; v < lg.length; v++) sum += Math.exp(lg[v] - mx);
      let u = rand() * sum, id = lg.length - 1;
      for (let v = 0; v < lg.length; v++) { u -= Math.exp(lg[v] - mx); if (u <= 0) { id = v; break; } }
      ids[0] = BigInt(id);
      checksum += id;
      h = r.hn;
      if (lstm) c = r.cn;
    }
    const dt = Number(process.hrtime.bigint() - t0) / 1e9;
    if (rep > 0) rates.push(tokens / dt);
  }
  rates.sort((a, b) => a - b);
  console.log(`impl=ort threads=${threads} tokens=${tokens} repeats=${repeats} ` +
              `median_tok_s=${rates[Math.floor(repeats / 2)].toFixed(1)} best_tok_s=${rates[repeats - 1].toFixed(1)} ` +
              `checksum=${checksum} ort=${ort.env.versions.node}`);
}

main().catch((e) => { console.error(`_ort_steps: ${e.message}`); process.exit(1); });
