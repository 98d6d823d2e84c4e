// Shared by the tiktoken helpers of bench/ (_tiktoken_encode.js, _tiktoken_ordinary.js): the npm
// package (WASM build) from data/npm, and a loop that times one call RUNS times.
'use strict';
const path = require('path');
const { get_encoding } = require(path.join(__dirname, '..', 'data', 'npm', 'node_modules', 'tiktoken'));

// Calls fn() runs times; returns its last result and the sorted wall and CPU seconds of the calls
// (CPU: the process's, which is the call's: WASM runs on this one thread).
function timeRuns(fn, runs) {
  const times = [], cpus = [];
  let out;
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint(), c0 = process.cpuUsage();
    out = fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
    const c = process.cpuUsage(c0);
    cpus.push((c.user + c.system) / 1e6);
  }
  times.sort((a, b) => a - b);
  cpus.sort((a, b) => a - b);
  return { out, times, cpus };
}

module.exports = { get_encoding, timeRuns };
