// Which code points does the built-in pre-tokeniser classify differently from
// tiktoken (npm)?  Every scalar value U+0000..U+10FFFF is put in contexts that
// reveal its class under both patterns (letter, upper/lower letter, mark,
// number, white space, punctuation), encoded by both, and the differing code
// points are listed with their ranges.  Not a test (it takes about a minute):
// run it when utf8proc or tiktoken changes, and update the README note.
//
// usage: node bpe_unicode_sweep.mjs NPM_DIR BPE_DUMP WORK_DIR
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";

const [npmDir, dumpExe, workDir] = process.argv.slice(2);
const require = createRequire(path.join(npmDir, "package.json"));
const { get_encoding } = require("tiktoken");

const probe = (c) => `a${c}a 1${c}1 !${c}! A${c}a ${c}${c}x ${c} 'S${c}`;
const cps = [];
for (let cp = 0; cp <= 0x10ffff; cp++) if (cp < 0xd800 || cp > 0xdfff) cps.push(cp);
fs.mkdirSync(workDir, { recursive: true });
const bufs = [];
for (const cp of cps) {
  const b = Buffer.from(probe(String.fromCodePoint(cp)), "utf8");
  const h = Buffer.alloc(4);
  h.writeUInt32LE(b.length);
  bufs.push(h, b);
}
const docsFile = path.join(workDir, "sweep.bin");
fs.writeFileSync(docsFile, Buffer.concat(bufs));
for (const name of ["cl100k_base", "o200k_base"]) {
  const idsFile = path.join(workDir, `sweep-${name}.bin`);
  const r = spawnSync(dumpExe, [name, docsFile, idsFile], { stdio: "inherit" });
  if (r.status !== 0) process.exit(1);
  const b = fs.readFileSync(idsFile);
  const enc = get_encoding(name);
  const diff = [];
  let o = 0;
  for (const cp of cps) {
    const n = b.readUInt32LE(o);
    o += 4;
    const mine = new Uint32Array(b.buffer.slice(b.byteOffset + o, b.byteOffset + o + 4 * n));
    o += 4 * n;
    const theirs = enc.encode(probe(String.fromCodePoint(cp)));
    if (theirs.length !== mine.length || theirs.some((v, i) => v !== mine[i])) diff.push(cp);
  }
  enc.free();
  const ranges = [];
  for (const cp of diff) {
    const last = ranges[ranges.length - 1];
    if (last && last[1] === cp - 1) last[1] = cp;
    else ranges.push([cp, cp]);
  }
  const hex = (v) => "U+" + v.toString(16).toUpperCase().padStart(4, "0");
  console.log(`${name}: ${diff.length} code points differ` +
              (ranges.length ? ": " + ranges.map(([a, z]) => (a === z ? hex(a) : `${hex(a)}..${hex(z)}`)).join(", ") : ""));
}
