#!/usr/bin/env node
// Helper of bench/encode_vs_tiktoken.sh: encodes FILE with tiktoken (npm package, WASM build) RUNS
// times and prints the id count, an FNV-1a-64 hash of the ids (as little-endian uint32) and the
// median seconds. Usage: node bench/_tiktoken_encode.js ENCODING FILE RUNS
'use strict';
const fs = require('fs');
const { get_encoding, timeRuns } = require('./_tiktoken_common.js');
const [name, file, runsArg] = process.argv.slice(2);
const runs = Number(runsArg || 5);
const text = fs.readFileSync(file, 'utf8');
const enc = get_encoding(name);
const { out: ids, times, cpus } = timeRuns(() => enc.encode(text, 'all'), runs);
// FNV-1a 64 with two 32-bit halves (BigInt per byte would dominate the run time).
let hi = 0xcbf29ce4 >>> 0, lo = 0x84222325 >>> 0;
for (let i = 0; i < ids.length; i++) {
  const id = ids[i];
  for (let k = 0; k < 4; k++) {
    lo = (lo ^ ((id >>> (8 * k)) & 255)) >>> 0;
    // (hi:lo) * 0x100000001b3 mod 2^64 = (hi:lo) * 0x1b3 + (lo << 40)
    const l0 = (lo & 0xffff) * 0x1b3, l1 = (lo >>> 16) * 0x1b3;
    const nlo = (l0 + ((l1 & 0xffff) << 16)) >>> 0;
    const carry = Math.floor((l0 + (l1 & 0xffff) * 65536) / 4294967296) + Math.floor(l1 / 65536);
    hi = ((Math.imul(hi, 0x1b3) + carry + ((lo << 8) >>> 0)) >>> 0);
    lo = nlo;
  }
}
const hex = hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
console.log(`tiktoken bytes=${Buffer.byteLength(text)} ids=${ids.length} fnv=${hex} median_s=${times[Math.floor(runs / 2)].toFixed(4)} cpu_s=${cpus[Math.floor(runs / 2)].toFixed(4)}`);
