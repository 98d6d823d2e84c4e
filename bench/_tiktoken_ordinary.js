#!/usr/bin/env node
// Helper of bench/cli_encode_vs_tiktoken.sh: times tiktoken's in-process encode_ordinary (npm
// package, WASM build) of FILE RUNS times and prints the id count and the best and median seconds;
// with IDS.npy (rnnc tokenizer encode --format binary of the same FILE) it also says whether the
// ids are identical; cpu_s is the least CPU time of a call. Usage: node bench/_tiktoken_ordinary.js ENCODING FILE RUNS [IDS.npy]
'use strict';
const fs = require('fs');
const { get_encoding, timeRuns } = require('./_tiktoken_common.js');
const [name, file, runsArg, idsFile] = process.argv.slice(2);
const runs = Number(runsArg || 3);
const text = fs.readFileSync(file, 'utf8');
const enc = get_encoding(name);
const { out: ids, times, cpus } = timeRuns(() => enc.encode_ordinary(text), runs);
let match = 'skipped';
if (idsFile) {
  // .npy 1.0: magic (6), version (2), header length (u16 LE), header, then little-endian u32 ids
  const b = fs.readFileSync(idsFile);
  const off = 10 + b.readUInt16LE(8);
  const n = (b.length - off) / 4;
  match = n === ids.length ? 'yes' : `no (rnnc ${n} ids, tiktoken ${ids.length})`;
  for (let i = 0; i < n && match === 'yes'; i++)
    if (b.readUInt32LE(off + 4 * i) !== ids[i]) match = `no (first difference at id ${i})`;
}
console.log(`tiktoken bytes=${Buffer.byteLength(text)} ids=${ids.length} best_s=${times[0].toFixed(4)} median_s=${times[Math.floor(runs / 2)].toFixed(4)} cpu_s=${cpus[0].toFixed(4)} match=${match}`);
