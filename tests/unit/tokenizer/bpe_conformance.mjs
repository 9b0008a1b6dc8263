// Conformance of the built-in BPE encodings with tiktoken (npm, the WASM
// build of OpenAI's Rust code): build a corpus of a few MB from what a Debian
// machine has (prose from /usr/share/doc, man pages, C headers, translations
// in many scripts from /usr/share/locale and /usr/share/i18n), encode every
// document with both, and compare every id, for cl100k_base and o200k_base.
//
// usage: node bpe_conformance.mjs NPM_DIR BPE_DUMP WORK_DIR
//   NPM_DIR:  folder where tests/tools/npm-peer.sh installed tiktoken
//   BPE_DUMP: the bpe_dump helper (tests/unit/tokenizer/bpe_dump.c)
//   WORK_DIR: scratch folder for the corpus and the ids
// Then long single pieces (no split point: the encoder's long-piece path),
// made here from a seeded generator: random letters, one repeated letter, a
// few-letter alphabet, Cyrillic letters, and letter-only tokens of the table
// end to end (which make the encoder's first choices fail often).
// Exit status 0 when every id matches, 1 otherwise (the first differences are
// printed with their context).  The corpus is built by bpe_corpus.mjs and
// kept in WORK_DIR/corpus.bin (documents: u32 length + bytes) for a rerun.
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { buildCorpus, writeDocs } from "./bpe_corpus.mjs";

const [npmDir, dumpExe, workDir] = process.argv.slice(2);
if (!workDir) {
  console.error("usage: node bpe_conformance.mjs NPM_DIR BPE_DUMP WORK_DIR");
  process.exit(2);
}
const require = createRequire(path.join(npmDir, "package.json"));
const { get_encoding } = require("tiktoken");

function readIds(file) {
  const b = fs.readFileSync(file);
  const out = [];
  for (let o = 0; o < b.length;) {
    const n = b.readUInt32LE(o);
    o += 4;
    out.push(new Uint32Array(b.buffer.slice(b.byteOffset + o, b.byteOffset + o + 4 * n)));
    o += 4 * n;
  }
  return out;
}

// Long pieces: seeded, so a failure reproduces.
function longPieces(enc) {
  let seed = 20261128;
  const rnd = (k) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % k;
  };
  const pick = (alphabet, n) => Array.from({ length: n }, () => alphabet[rnd(alphabet.length)]).join("");
  const lower = "abcdefghijklmnopqrstuvwxyz";
  const letterTokens = [];
  const dec = new TextDecoder("utf-8", { fatal: true });
  for (let id = 0; id < 100000 && letterTokens.length < 20000; id += 1 + rnd(3)) {
    let t;
    try { t = dec.decode(enc.decode(new Uint32Array([id]))); } catch { continue; }
    if (/^[A-Za-z]+$/.test(t)) letterTokens.push(t);
  }
  const tokensEndToEnd = (n) => {
    let s = "";
    while (s.length < n) s += letterTokens[rnd(letterTokens.length)];
    return s;
  };
  return [pick(lower, 6000), "a".repeat(6000), "Z".repeat(777), pick("ab", 5000),
          pick(lower + lower.toUpperCase(), 4000), pick("абвгдежзийклмнопрстуфхцчшщыэюя", 2500),
          tokensEndToEnd(6000), tokensEndToEnd(3000).toLowerCase()]
    .map((text) => ({ kind: "long", text }));
}

fs.mkdirSync(workDir, { recursive: true });
const docs = buildCorpus();
{
  const enc = get_encoding("cl100k_base");
  docs.push(...longPieces(enc));
  enc.free();
}
const corpusFile = path.join(workDir, "corpus.bin");
writeDocs(corpusFile, docs);
const total = docs.reduce((s, d) => s + Buffer.byteLength(d.text), 0);
console.log(`corpus: ${docs.length} documents, ${(total / 1e6).toFixed(2)} MB in ${corpusFile}`);

let failed = 0;
for (const name of ["cl100k_base", "o200k_base"]) {
  const idsFile = path.join(workDir, `ids-${name}.bin`);
  const r = spawnSync(dumpExe, [name, corpusFile, idsFile], { stdio: "inherit" });
  if (r.status === 77) {
    console.log("SKIP: the library was built without embedded ranks (-Dembed_ranks=false)");
    process.exit(77);
  }
  if (r.status !== 0) {
    console.log(`FAIL ${name}: bpe_dump exited with ${r.status}`);
    failed++;
    continue;
  }
  const ours = readIds(idsFile);
  const enc = get_encoding(name);
  let tokens = 0, bad = 0;
  for (let i = 0; i < docs.length; i++) {
    const theirs = enc.encode(docs[i].text);
    tokens += theirs.length;
    const mine = ours[i] || new Uint32Array(0);
    let k = 0;
    while (k < theirs.length && k < mine.length && theirs[k] === mine[k]) k++;
    if (k === theirs.length && k === mine.length) continue;
    if (++bad <= 5) {
      const ctx = (ids) => JSON.stringify(new TextDecoder().decode(enc.decode(ids)));
      console.log(`MISMATCH ${name} document ${i} at id ${k}: tiktoken ${Array.from(theirs.slice(k, k + 6))} ${ctx(theirs.slice(k, k + 6))}, ours ${Array.from(mine.slice(k, k + 6))} ${ctx(mine.slice(Math.max(0, k), k + 6))}; before: ${ctx(theirs.slice(Math.max(0, k - 8), k))}`);
    }
  }
  enc.free();
  console.log(`${bad ? "FAIL" : "ok"} ${name}: ${docs.length - bad}/${docs.length} documents identical, ${tokens} tokens compared`);
  if (bad) failed++;
}
process.exit(failed ? 1 : 0);
