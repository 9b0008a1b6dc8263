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
// Exit status 0 when every id matches, 1 otherwise (the first differences are
// printed with their context).  The corpus is also kept in WORK_DIR/corpus.bin
// for the benchmark (documents: u32 length + bytes).
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";

const [npmDir, dumpExe, workDir] = process.argv.slice(2);
if (!workDir) {
  console.error("usage: node bpe_conformance.mjs NPM_DIR BPE_DUMP WORK_DIR");
  process.exit(2);
}
const require = createRequire(path.join(npmDir, "package.json"));
const { get_encoding } = require("tiktoken");

export function walk(dir, pred, out = []) {
  let entries;
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, pred, out);
    else if (e.isFile() && pred(p)) out.push(p);
  }
  return out;
}

// Take files spread evenly over the sorted list until `budget` bytes.
function take(files, budget, read, maxDoc = 48 * 1024) {
  const docs = [];
  if (!files.length) return docs;
  let used = 0;
  const step = Math.max(1, Math.floor(files.length / 400));
  for (let round = 0; round < step && used < budget; round++)
    for (let i = round; i < files.length && used < budget; i += step) {
      let text;
      try {
        text = read(files[i]);
      } catch {
        continue;
      }
      if (!text || text.includes("<|")) continue; // special-token text is refused by both
      if (text.length > maxDoc) text = text.slice(0, maxDoc);
      docs.push(text);
      used += Buffer.byteLength(text);
    }
  return docs;
}

const utf8 = (p) => fs.readFileSync(p, "utf8");
const gz = (p) => zlib.gunzipSync(fs.readFileSync(p)).toString("utf8");

// Translated messages of a gettext catalog (.mo): the msgstr strings.
function moStrings(p) {
  const b = fs.readFileSync(p);
  const le = b.readUInt32LE(0) === 0x950412de;
  const u32 = (o) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const n = u32(8), tOff = u32(16);
  const parts = [];
  for (let i = 0; i < n; i++) {
    const len = u32(tOff + 8 * i), off = u32(tOff + 8 * i + 4);
    parts.push(b.subarray(off, off + len).toString("utf8").replace(/\0/g, "\n"));
  }
  return parts.join("\n\n");
}

// Locale sources spell characters as <Uxxxx>: turn them into the characters.
function localeText(p) {
  return utf8(p).replace(/<U([0-9A-Fa-f]{4,6})>/g, (_, h) => {
    const cp = parseInt(h, 16);
    return cp >= 0xd800 && cp <= 0xdfff ? "?" : String.fromCodePoint(cp);
  });
}

function buildCorpus() {
  const docs = [];
  const add = (kind, list) => {
    let bytes = 0;
    for (const d of list) bytes += Buffer.byteLength(d);
    console.log(`corpus: ${kind}: ${list.length} documents, ${(bytes / 1e6).toFixed(2)} MB`);
    docs.push(...list);
  };
  add("prose (/usr/share/doc)",
      take(walk("/usr/share/doc", (p) => /(copyright|README[^/]*|NEWS|\.txt)$/.test(p) && !p.endsWith(".gz")), 900e3, utf8));
  add("man pages (/usr/share/man, zcat)",
      take(walk("/usr/share/man", (p) => p.endsWith(".gz")), 900e3, gz));
  add("source code (/usr/include, /usr/share/**/*.py|pl|sh)",
      take(walk("/usr/include", (p) => /\.(h|hpp)$/.test(p)).concat(
           walk("/usr/share", (p) => /\.(py|pl|pm|sh)$/.test(p) && !p.startsWith("/usr/share/doc"))), 900e3, utf8));
  add("translations (/usr/share/locale/*.mo)",
      take(walk("/usr/share/locale", (p) => p.endsWith(".mo")), 900e3, moStrings));
  add("locale data (/usr/share/i18n/locales)",
      take(walk("/usr/share/i18n/locales", () => true), 300e3, localeText));
  return docs;
}

function writeDocs(file, docs) {
  const bufs = [];
  for (const d of docs) {
    const b = Buffer.from(d, "utf8");
    const h = Buffer.alloc(4);
    h.writeUInt32LE(b.length);
    bufs.push(h, b);
  }
  fs.writeFileSync(file, Buffer.concat(bufs));
}

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

fs.mkdirSync(workDir, { recursive: true });
const docs = buildCorpus();
const corpusFile = path.join(workDir, "corpus.bin");
writeDocs(corpusFile, docs);
const total = docs.reduce((s, d) => s + Buffer.byteLength(d), 0);
console.log(`corpus: ${docs.length} documents, ${(total / 1e6).toFixed(2)} MB in ${corpusFile}`);

let failed = 0;
for (const name of ["cl100k_base", "o200k_base"]) {
  const idsFile = path.join(workDir, `ids-${name}.bin`);
  const r = spawnSync(dumpExe, [name, corpusFile, idsFile], { stdio: "inherit" });
  if (r.status !== 0) {
    console.log(`FAIL ${name}: bpe_dump exited with ${r.status}`);
    failed++;
    continue;
  }
  const ours = readIds(idsFile);
  const enc = get_encoding(name);
  let tokens = 0, bad = 0;
  for (let i = 0; i < docs.length; i++) {
    const theirs = enc.encode(docs[i]);
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
