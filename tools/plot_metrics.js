#!/usr/bin/env node
// Plots rnnc training curves from one or more metrics.jsonl files as a standalone SVG:
// train loss (step lines) and dev loss (epoch lines) against training seconds, and dev TER/SER
// on a second panel. Usage: node tools/plot_metrics.js OUT.svg LABEL=RUN_DIR/metrics.jsonl ...
const fs = require("fs");
const [out, ...runs] = process.argv.slice(2);
if (!out || runs.length === 0) { console.error("usage: plot_metrics.js OUT.svg LABEL=metrics.jsonl ..."); process.exit(2); }
const colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"];
const series = runs.map((r, i) => {
  const eq = r.indexOf("=");
  const label = r.slice(0, eq), file = r.slice(eq + 1);
  const rows = fs.readFileSync(file, "utf8").split("\n").filter(Boolean).map(l => JSON.parse(l));
  let train = rows.filter(r => r.epoch === undefined).map(r => [r.seconds, r.train_loss]);
  if (train.length === 0) train = rows.filter(r => r.epoch !== undefined).map(r => [r.seconds, r.train_loss]);
  return { label, color: colors[i % colors.length], train,
           valid: rows.filter(r => r.epoch !== undefined).map(r => [r.seconds, r.valid_loss, r.valid_ter, r.valid_ser]) };
});
const W = 720, H = 300, M = { l: 55, r: 15, t: 25, b: 35 };
function panel(y0, title, lines, ymax, ylabel) {
  const xmax = Math.max(...series.flatMap(s => [...s.train, ...s.valid].map(p => p[0])), 1);
  const X = x => M.l + (x / xmax) * (W - M.l - M.r), Y = y => y0 + M.t + (1 - Math.min(y, ymax) / ymax) * (H - M.t - M.b);
  let g = `<text x="${W / 2}" y="${y0 + 16}" text-anchor="middle" font-size="13">${title}</text>`;
  g += `<line x1="${M.l}" y1="${Y(0)}" x2="${W - M.r}" y2="${Y(0)}" stroke="#000"/><line x1="${M.l}" y1="${Y(0)}" x2="${M.l}" y2="${Y(ymax)}" stroke="#000"/>`;
  for (let k = 0; k <= 4; k++) {
    const v = (ymax * k) / 4;
    g += `<text x="${M.l - 5}" y="${Y(v) + 4}" text-anchor="end" font-size="10">${v.toFixed(2)}</text>`;
    const xv = (xmax * k) / 4;
    g += `<text x="${X(xv)}" y="${Y(0) + 14}" text-anchor="middle" font-size="10">${Math.round(xv)}s</text>`;
  }
  g += `<text x="12" y="${y0 + H / 2}" font-size="11" transform="rotate(-90 12 ${y0 + H / 2})" text-anchor="middle">${ylabel}</text>`;
  for (const [pts, color, dash, name] of lines) {
    if (pts.length === 0) continue;
    g += `<polyline fill="none" stroke="${color}" stroke-width="1.5" ${dash ? 'stroke-dasharray="5,3"' : ""} points="${pts.map(p => X(p[0]).toFixed(1) + "," + Y(p[1]).toFixed(1)).join(" ")}"/>`;
    for (const p of pts.length < 30 ? pts : []) g += `<circle cx="${X(p[0]).toFixed(1)}" cy="${Y(p[1]).toFixed(1)}" r="2.5" fill="${color}"/>`;
  }
  let ly = y0 + M.t + 5;
  for (const [pts, color, dash, name] of lines) {
    if (pts.length === 0) continue;
    g += `<line x1="${W - 230}" y1="${ly}" x2="${W - 205}" y2="${ly}" stroke="${color}" stroke-width="2" ${dash ? 'stroke-dasharray="5,3"' : ""}/><text x="${W - 200}" y="${ly + 4}" font-size="11">${name}</text>`;
    ly += 15;
  }
  return g;
}
const lossMax = Math.max(...series.flatMap(s => [...s.train.map(p => p[1]), ...s.valid.map(p => p[1])]), 0.1);
const p1 = panel(0, "loss (cross-entropy per phoneme)", series.flatMap(s => [
  [s.train, s.color, false, s.label + " train"], [s.valid.map(p => [p[0], p[1]]), s.color, true, s.label + " dev"]]), Math.min(lossMax, 2), "loss");
const p2 = panel(H, "dev error rates (greedy)", series.flatMap(s => [
  [s.valid.map(p => [p[0], p[2]]), s.color, false, s.label + " TER/PER"], [s.valid.map(p => [p[0], p[3]]), s.color, true, s.label + " SER/WER"]]), 1, "rate");
fs.writeFileSync(out, `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${2 * H}" font-family="sans-serif"><rect width="100%" height="100%" fill="#fff"/>${p1}${p2}</svg>\n`);
