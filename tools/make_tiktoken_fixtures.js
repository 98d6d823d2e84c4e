#!/usr/bin/env node
// Writes tests/golden/tiktoken_cases.json: texts and the ids tiktoken (npm package, WASM build)
// gives them with r50k_base, p50k_base, cl100k_base and o200k_base. tests/test_bpe.c compares
// rnnc's ids with these exactly.
//
//   node tools/make_tiktoken_fixtures.js        (needs data/, from scripts/fetch-data.sh)
//
// Cases: hand-picked hard inputs (CJK, Korean, emoji and ZWJ sequences, combining marks, space
// runs, newlines, CRLF, digits, contractions in both cases, special-token text, mixed scripts),
// a few SOTU paragraphs, seeded random strings over an adversarial alphabet, and long single pieces
// (which take tiktoken's merge loop quadratic time, so they stay at tens of KB). Big inputs are
// described by a recipe (seed + alphabet + size) that the C test rebuilds, with tiktoken's id
// count and an FNV-1a-64 hash of the ids instead of the ids themselves.
'use strict';
const fs = require('fs');
const path = require('path');
const root = path.join(__dirname, '..');
const { get_encoding } = require(path.join(root, 'data', 'npm', 'node_modules', 'tiktoken'));

const NAMES = ['r50k_base', 'p50k_base', 'cl100k_base', 'o200k_base'];
const enc = Object.fromEntries(NAMES.map((n) => [n, get_encoding(n)]));

// xorshift32, the generator the C test reimplements for recipes.
function rng(seed) {
  let x = seed >>> 0 || 1;
  return () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x; };
}

// FNV-1a 64 over the ids as little-endian uint32.
function fnv(ids) {
  let h = 0xcbf29ce484222325n;
  const P = 0x100000001b3n, M = (1n << 64n) - 1n;
  for (const id of ids) for (let k = 0; k < 4; k++) { h ^= BigInt((id >>> (8 * k)) & 255); h = (h * P) & M; }
  return h.toString(16).padStart(16, '0');
}

// Builds a recipe string: atoms picked by xorshift32 until at least `bytes` UTF-8 bytes.
function recipe(seed, alphabet, bytes) {
  const next = rng(seed);
  const parts = [];
  let n = 0;
  while (n < bytes) { const a = alphabet[next() % alphabet.length]; parts.push(a); n += Buffer.byteLength(a); }
  return parts.join('');
}

const hard = [
  ['empty', ''],
  ['hello', 'Hello, world!'],
  ['contractions', "I'm sure you'll see they've done it, isn't it? We'd've known. 's 't 're 've 'm 'll 'd"],
  ['contractions_upper', "I'M SURE YOU'LL SEE THEY'VE DONE IT, ISN'T IT? WE'D KNOWN. 'S 'T 'RE 'VE 'M 'LL 'D Don'T"],
  ['long_s', "it'\u017f ok '\u017f'S"],
  ['digits', '0 1 12 123 1234 12345 123456 3.14159 1,000,000 2024-01-31 +44 (0)20 7946 0958 ١٢٣٤ ²³'],
  ['spaces', 'a  b   c    d\t\te      f' + ' '.repeat(40) + 'g' + ' '.repeat(17)],
  ['newlines', 'line1\nline2\n\nline3\n\n\n  indented\n\t\ttabbed\n \n \n'],
  ['crlf', 'one\r\ntwo\r\n\r\nthree \r\n four\r\r\n\n'],
  ['punct_newlines', 'end.\n\n"Quote!"\n---\n/* c */\n//\n/path/to/file\n!\r\n'],
  ['cjk', '我们的国家是一个伟大的国家。日本語のテキストも含まれています。漢字とかなカナ。'],
  ['korean', '대한민국은 민주공화국이다. 모든 권력은 국민으로부터 나온다. 한국어 텍스트'],
  ['emoji', 'I ❤️ 🍕 and 🐍! 👍🏽 🇺🇸 🏳️‍🌈 👨‍👩‍👧‍👦 👩🏾‍💻 😀😃😄😁'],
  ['combining', 'e\u0301 a\u0308 n\u0303 \u0915\u093f\u0928\u094d\u0926\u0940 Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f\u0334\u0319 \u0301\u0301abc'],
  ['mixed_scripts', 'English русский Ελληνικά עברית العربية हिन्दी ไทย 中文 日本語 한국어 Ǆemal ǅemal ǆemal ʰʲ ᾈ'],
  ['camel', 'CamelCaseWord HTTPServer getHTTPResponseCode XMLHttpRequest iPhone ÉCOLE École éCOLE'],
  ['unicode_spaces', 'a\u00a0b\u2003c\u3000d\u2028e\u2029f\u0085g\u180eh\u200bi\ufeffj \u00a0 \u3000\u3000k'],
  ['special_text', 'Hello <|endoftext|> world<|endofprompt|>x<|fim_prefix|><|fim_middle|><|fim_suffix|> <|endoftext'],
  ['code', 'def f(x):\n    return x**2 + 1  # square\n\nfor i in range(10):\n\tprint(f"{i}: {f(i)}")\n'],
  ['urls', 'https://example.com/a/b?c=d&e=f#g mailto:someone@example.org C:\\Windows\\System32'],
  ['repeats', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa ' + '!'.repeat(50) + ' ' + '0'.repeat(31)],
  ['control', '\u0000\u0001\u0007\u001b[31mred\u001b[0m\u007f'],
  ['astral', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕥𝕖𝕩𝕥 𐍈𐌰𐌹 𓀀𓁐 𠜎𠜱𠝹 \u{10D50}\u{11F04}'],
];

// A few SOTU paragraphs: the first 600 bytes of a handful of speeches.
const sotu = fs.readFileSync(path.join(root, 'data', 'sotu.txt'), 'utf8').split('\n').filter((l) => l.length > 1000);
const paragraphs = [0, 57, 120, 190, 230].map((i) => ['sotu_' + i, sotu[Math.min(i, sotu.length - 1)].slice(0, 600)]);

// Seeded random strings over adversarial atoms and random code points (no lone surrogates).
const ATOMS = ['a', 'Z', 's', 'S', 'l', 'L', ' ', ' ', '  ', '\t', '\n', '\r\n', '\r', "'", "'s", "'S", "'ll", "'LL",
  "'Ve", "'d", 'ſ', '0', '12', '3456', '.', ',', '!', '?', '/', '//', '-', '"', '(', ')', 'é', 'É', 'ǅ', 'ʰ', '中',
  '한', '\u0301', '\u0903', 'Ⅻ', '²', '٣', '\u00a0', '\u3000', '\u2028', '\u0085', '\u180e', '\u200b', '😀', '\u200d',
  '👨', '\ufe0f', '“', '”', 'Ж', 'ж', 'Σ', 'ᾈ', '<|endoftext|>', 'the', ' the', 'The', 'ing'];
function randomString(next) {
  const n = 1 + (next() % 60);
  let s = '';
  for (let i = 0; i < n; i++) {
    const pick = next() % 10;
    if (pick < 7) s += ATOMS[next() % ATOMS.length];
    else {
      let cp;
      do {
        const r = next() % 4;
        cp = r === 0 ? next() % 0x80 : r === 1 ? next() % 0x800 : r === 2 ? next() % 0x10000 : next() % 0x110000;
      } while (cp >= 0xd800 && cp <= 0xdfff);
      s += String.fromCodePoint(cp);
    }
  }
  return s;
}
const randoms = [];
{
  const next = rng(20240601);
  for (let i = 0; i < 150; i++) randoms.push(['random_' + i, randomString(next)]);
}

// Long pieces: letters only (one piece per pattern in r50k/cl100k) and lower-case only (one piece
// in o200k too), hundreds to tens of thousands of bytes: the heap merge path.
const LETTERS = ['a', 'b', 'c', 'e', 'q', 'x', 'z', 'é', 'ñ', 'ж', 'Ж', '中', 'Z', 'T'];
const LOWER = ['a', 'b', 'c', 'e', 'q', 'x', 'z', 'é', 'ñ', 'ж'];
const longs = [];
for (const [i, n] of [[0, 97], [1, 200], [2, 777], [3, 2500]]) longs.push(['long_letters_' + i, recipe(100 + i, LETTERS, n)]);
for (const [i, n] of [[0, 150], [1, 1200]]) longs.push(['long_lower_' + i, recipe(200 + i, LOWER, n)]);
longs.push(['long_same_letter', 'a'.repeat(3000)]);
// Letters whose byte pairs all occur inside tokens, so the piece cannot be cut: the queue path.
const COMMON = ['e', 't', 'a', 'o', 'i', 'n', 's', 'h', 'r', 'th', 'in', 'er'];
for (const [i, n] of [[0, 1000], [1, 4000]]) longs.push(['long_common_' + i, recipe(300 + i, COMMON, n)]);
longs.push(['long_cjk', recipe(400, ['中', '文', '字', '国', '的', '是', '人', '日', '本'], 3000)]);

function idsFor(text, special) {
  const out = {};
  for (const n of NAMES) out[n] = Array.from(special ? enc[n].encode(text, 'all') : enc[n].encode_ordinary(text));
  return out;
}

const cases = [];
for (const [name, text] of [...hard, ...paragraphs, ...randoms, ...longs]) {
  // The text also as base64 of its UTF-8, since C strings stop at U+0000.
  const c = { name, text, b64: Buffer.from(text, 'utf8').toString('base64'), ordinary: idsFor(text, false) };
  if (text.includes('<|')) c.special = idsFor(text, true);
  cases.push(c);
}

// Recipes, checked by hash. tiktoken's merge loop is quadratic in the piece length, so the 1 MB
// whitespace-free recipe mixes letters with punctuation and digits (pieces stay short for
// tiktoken); the 20 KB one is a single letter piece.
const recipes = [
  { name: 'nows_1mb', seed: 7, bytes: 1000000,
    alphabet: ['a', 'b', 'Q', 'é', '中', '한', '😀', '1', '23', '.', ',', '-', '!', "'s", "'", '/', '\u0301', 'ж', 'the', 'ing'] },
  { name: 'letters_20kb', seed: 11, bytes: 20000, alphabet: LETTERS },
];
for (const r of recipes) {
  const text = recipe(r.seed, r.alphabet, r.bytes);
  if (/\s/u.test(text)) throw new Error('recipe ' + r.name + ' has whitespace');
  r.n_ids = {};
  r.fnv1a64 = {};
  for (const n of NAMES) {
    const ids = enc[n].encode_ordinary(text);
    r.n_ids[n] = ids.length;
    r.fnv1a64[n] = fnv(ids);
  }
}

const out = {
  generator: 'tools/make_tiktoken_fixtures.js, tiktoken npm ' + require(path.join(root, 'data', 'npm', 'node_modules', 'tiktoken', 'package.json')).version,
  encodings: NAMES,
  recipe_rng: 'xorshift32 (x ^= x << 13; x ^= x >> 17; x ^= x << 5), atom = alphabet[x % size] until >= bytes',
  cases,
  recipes,
};
fs.mkdirSync(path.join(root, 'tests', 'golden'), { recursive: true });
const file = path.join(root, 'tests', 'golden', 'tiktoken_cases.json');
fs.writeFileSync(file, JSON.stringify(out) + '\n');
process.stderr.write(`wrote ${file}: ${cases.length} cases, ${recipes.length} recipes\n`);
