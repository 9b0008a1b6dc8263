// The Unicode sweep against tiktoken's WASM build (npm): the probes and our
// ids that bpe_unicode_sweep.py wrote (every code point in every context that
// reveals its class) are encoded again by the WASM peer, for the code points
// of wasm-subset.bin (every general-category boundary of the pinned Unicode
// data and a uniform sample; the native core checks them all), and compared
// id by id; differing code points are listed as ranges.
//
// usage: node bpe_unicode_sweep.mjs NPM_DIR WORK_DIR
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const [npmDir, workDir] = process.argv.slice(2);
const require = createRequire(path.join(npmDir, "package.json"));
const { get_encoding } = require("tiktoken");
const version = JSON.parse(fs.readFileSync(path.join(npmDir, "node_modules/tiktoken/package.json"))).version;

const docs = fs.readFileSync(path.join(workDir, "sweep.bin"));
const subsetBytes = fs.readFileSync(path.join(workDir, "wasm-subset.bin"));
const inSubset = new Uint8Array(0x110000);
for (let o = 0; o < subsetBytes.length; o += 4) inSubset[subsetBytes.readUInt32LE(o)] = 1;
// ignoreBOM: keep a leading U+FEFF (the probe of U+FEFF starts with it)
const dec = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const hex = (v) => "U+" + v.toString(16).toUpperCase().padStart(4, "0");
let failed = false;
for (const name of ["cl100k_base", "o200k_base"]) {
  const ids = fs.readFileSync(path.join(workDir, `sweep-${name}.bin`));
  const enc = get_encoding(name);
  const diff = [];
  let od = 0, oi = 0, count = 0, all = 0;
  while (od < docs.length) {
    const len = docs.readUInt32LE(od);
    const n = ids.readUInt32LE(oi);
    // the documents are the code points in order, surrogates left out
    const cp = all < 0xd800 ? all : all + 0x800;
    all++;
    if (!inSubset[cp]) {
      od += 4 + len;
      oi += 4 + 4 * n;
      continue;
    }
    const text = dec.decode(docs.subarray(od + 4, od + 4 + len));
    od += 4 + len;
    if (text.codePointAt(0) !== cp)
      throw new Error(`sweep.bin: document ${all - 1} is not U+${cp.toString(16)}`);
    const theirs = enc.encode_ordinary(text);
    let same = theirs.length === n;
    for (let k = 0; same && k < n; k++) same = theirs[k] === ids.readUInt32LE(oi + 4 + 4 * k);
    oi += 4 + 4 * n;
    if (!same) diff.push(text.codePointAt(0));
    count++;
  }
  enc.free();
  const ranges = [];
  for (const cp of diff) {
    const last = ranges[ranges.length - 1];
    if (last && last[1] === cp - 1) last[1] = cp;
    else ranges.push([cp, cp]);
  }
  console.log(`${name}: ${count} of ${all} code points (general-category boundaries, every 16th ` +
              `assigned, every 256th other), ${diff.length} differ from tiktoken ${version} (WASM)` +
              (ranges.length ? ": " + ranges.map(([a, z]) => (a === z ? hex(a) : `${hex(a)}..${hex(z)}`)).join(", ") : ""));
  failed ||= diff.length > 0;
}
process.exit(failed ? 1 : 0);
