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

fs.mkdirSync(workDir, { recursive: true });
const docs = buildCorpus();
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
