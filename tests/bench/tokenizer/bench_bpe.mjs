// Benchmark of the built-in BPE encodings against the JavaScript peers, all
// run here on the same bytes, printed side by side with ratios:
//   - tiktoken (npm; WASM build of OpenAI's Rust code), gpt-tokenizer,
//     js-tiktoken: single-thread throughput, encode and count, per kind of
//     text and overall, cl100k_base and o200k_base;
//   - adversarial input (one piece without a split point: random letters, one
//     letter, '=' or spaces repeated): ours at 64 KB, 256 KB and 1 MB, with
//     the time per byte at 1 MB over that at 64 KB (1.00x when linear); the
//     peers on random letters at 16 KB and 32 KB (js-tiktoken: 4 and 8 KB;
//     they are quadratic);
//   - ours: load time and memory of each encoding from the embedded data, and
//     two threads sharing one tokenizer against one thread.
// Ours: median of 3 passes, run just before and just after each peer's
// pass (the mean of the two), each pass on a new tokenizer (its piece cache
// empty: cold), and below with the cache off and warm; peers: one pass after
// a warm-up.  Ratios are of
// CPU time (ours: the thread's CLOCK_THREAD_CPUTIME_ID; peers:
// process.cpuUsage(), user + system), which the load of a busy machine does
// not distort; wall-clock figures are printed beside them.
//
// usage: node bench_bpe.mjs NPM_DIR BENCH_BPE WORK_DIR
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { buildCorpus, writeDocs } from "../../unit/tokenizer/bpe_corpus.mjs";

const [npmDir, benchExe, workDir] = process.argv.slice(2);
if (!workDir) {
  console.error("usage: node bench_bpe.mjs NPM_DIR BENCH_BPE WORK_DIR");
  process.exit(2);
}
const require = createRequire(path.join(npmDir, "package.json"));
const version = (p) =>
  JSON.parse(fs.readFileSync(path.join(npmDir, "node_modules", p, "package.json"), "utf8")).version;
const ENCODINGS = ["cl100k_base", "o200k_base"];

// ---- the corpus ----
fs.mkdirSync(workDir, { recursive: true });
const docs = buildCorpus(() => {});
const kinds = [];
for (let i = 0; i < docs.length; i++) {
  const last = kinds[kinds.length - 1];
  if (last && last.name === docs[i].kind) last.end = i + 1;
  else kinds.push({ name: docs[i].kind, start: i, end: i + 1 });
}
const corpusFile = path.join(workDir, "corpus.bin");
writeDocs(corpusFile, docs);
const bytesOf = (a, z) => docs.slice(a, z).reduce((s, d) => s + Buffer.byteLength(d.text), 0);
const total = bytesOf(0, docs.length);
console.log(`input: ${docs.length} documents, ${(total / 1e6).toFixed(2)} MB built from /usr/share ` +
            `(bpe_corpus.mjs; kept in ${corpusFile}), each encoded by one call`);
for (const k of kinds)
  console.log(`  ${k.name.padEnd(12)} ${String(k.end - k.start).padStart(4)} documents ${(bytesOf(k.start, k.end) / 1e6).toFixed(2)} MB`);
console.log(`rerun: meson test -C <builddir> --benchmark --suite bench -v tokenizer_bpe`);
console.log(`   or: node tests/bench/tokenizer/bench_bpe.mjs NPM_DIR <builddir>/tests/bench/tokenizer/bench_bpe WORK_DIR\n`);

// ---- ours ----
function runOurs(args, file = corpusFile) {
  const r = spawnSync(benchExe, [file, ...args], { encoding: "utf8", maxBuffer: 1 << 24 });
  if (r.status !== 0) {
    console.error(r.stderr);
    process.exit(1);
  }
  const out = {};
  for (const line of r.stdout.split("\n")) {
    const [k, v] = line.split(" ");
    if (k) out[k] = k.endsWith(".loadavg") ? v.replaceAll("_", " ") : Number(v);
  }
  return out;
}
// cache: the piece cache "cold" (empty when each timed pass starts: the
// default, text seen once), "warm" (filled by a pass over the same documents)
// or "off"
const oursPass = (e, mode, a, z, cache = "cold", file = corpusFile) =>
  runOurs(["pass", e, mode, String(a), String(z), cache], file);

// The translations again, cut into messages of about 300 characters (at a
// line end), each encoded by one call: how a host counting chat messages
// calls, where a call is too short for its own memo of repeated words.
const msgs = [];
for (const k of kinds.filter((x) => x.name === "translations"))
  for (const d of docs.slice(k.start, k.end))
    for (let o = 0; o < d.text.length;) {
      let e = Math.min(d.text.length, o + 300);
      while (e < d.text.length && d.text[e] !== "\n") e++;
      msgs.push({ kind: "messages", text: d.text.slice(o, e) });
      o = e;
    }
const msgsFile = path.join(workDir, "messages.bin");
writeDocs(msgsFile, msgs);

// ---- peers ----
const { get_encoding } = require("tiktoken");
const jsTiktoken = require("js-tiktoken");
const peers = {};
for (const e of ENCODINGS) {
  const tk = get_encoding(e);
  const gt = require(`gpt-tokenizer/cjs/encoding/${e}`);
  const jt = jsTiktoken.getEncoding(e);
  peers[e] = {
    [`tiktoken@${version("tiktoken")}`]: { encode: (t) => tk.encode(t), count: (t) => tk.encode(t).length },
    [`gpt-tokenizer@${version("gpt-tokenizer")}`]: { encode: (t) => gt.encode(t), count: (t) => gt.countTokens(t) },
    [`js-tiktoken@${version("js-tiktoken")}`]: { encode: (t) => jt.encode(t), count: (t) => jt.encode(t).length },
  };
}

const cpuSecs = (u) => (u.user + u.system) / 1e6;
function timePeer(fn, a, z, list = docs) {
  for (let i = a; i < Math.min(z, a + 5); i++) fn(list[i].text); // warm-up
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let tokens = 0;
  for (let i = a; i < z; i++) {
    const v = fn(list[i].text);
    tokens += typeof v === "number" ? v : v.length;
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  return { secs, cpu: cpuSecs(process.cpuUsage(c0)), tokens };
}

const mbps = (bytes, secs) => (bytes / secs / 1e6).toFixed(1).padStart(7);
const ratio = (x) => (x >= 100 ? x.toFixed(0) : x.toFixed(1)).padStart(6) + "x";
let allOk = true;
console.log(`load average before the runs: ${fs.readFileSync("/proc/loadavg", "utf8").trim()}`);
console.log("MB/s of CPU time (ratio ours / peer, of CPU time), then [MB/s of wall-clock time]\n");
for (const mode of ["encode", "count"]) {
  for (const e of ENCODINGS) {
    const names = Object.keys(peers[e]);
    console.log(`${mode} ${e}: MB/s CPU [wall] (ours / peer = ratio of CPU time)`);
    console.log(`  ${"kind".padEnd(12)} ${"ours".padStart(15)}  ` + names.map((n) => n.padStart(34)).join("  "));
    for (const k of kinds.concat([{ name: "all", start: 0, end: docs.length }])) {
      const bytes = bytesOf(k.start, k.end);
      let secsSum = 0, cpuSum = 0, runs = 0, tokens = -1;
      const cells = names.map((n) => {
        const before = oursPass(e, mode, k.start, k.end);
        const p = timePeer(peers[e][n][mode], k.start, k.end);
        const after = oursPass(e, mode, k.start, k.end);
        const secs = (before.secs + after.secs) / 2, cpu = (before.cpu + after.cpu) / 2;
        secsSum += secs;
        cpuSum += cpu;
        runs++;
        tokens = before.tokens;
        if (p.tokens !== tokens) {
          allOk = false;
          return `tokens differ: ${p.tokens}`.padStart(34);
        }
        return `${mbps(bytes, p.cpu)} [${mbps(bytes, p.secs)}] = ${ratio(p.cpu / cpu)}`.padStart(34);
      });
      console.log(`  ${k.name.padEnd(12)} ${mbps(bytes, cpuSum / runs)} [${mbps(bytes, secsSum / runs)}]  ${cells.join("  ")}`);
    }
    console.log("");
  }
}

// ---- the piece cache: off, cold and warm against tiktoken ----
// The tables above are ours with the cache cold.  Here, for the non-Latin
// translations and the whole corpus, the ratio to tiktoken with the cache
// off, cold (each pass from an empty cache: what one pass over new text
// costs) and warm (a second pass over the same documents), each measured
// just before and after one tiktoken pass.
{
  const tk = Object.keys(peers[ENCODINGS[0]])[0];
  console.log(`piece cache: ratio of CPU time, ours / ${tk} (ours: MB/s CPU)`);
  const parts = kinds.filter((k) => k.name === "translations")
    .concat([{ name: "all", start: 0, end: docs.length },
             { name: "messages", start: 0, end: msgs.length, list: msgs, file: msgsFile }]);
  console.log(`  (messages: the translations in ${msgs.length} calls of about 300 characters)`);
  for (const mode of ["encode", "count"])
    for (const e of ENCODINGS)
      for (const k of parts) {
        const list = k.list || docs;
        const bytes = list.slice(k.start, k.end).reduce((s, d) => s + Buffer.byteLength(d.text), 0);
        const cells = ["off", "cold", "warm"].map((cache) => {
          const before = oursPass(e, mode, k.start, k.end, cache, k.file);
          const p = timePeer(peers[e][tk][mode], k.start, k.end, list);
          const after = oursPass(e, mode, k.start, k.end, cache, k.file);
          const cpu = (before.cpu + after.cpu) / 2;
          if (p.tokens !== before.tokens || after.tokens !== before.tokens) allOk = false;
          return `${cache} ${ratio(p.cpu / cpu)} (${mbps(bytes, cpu).trim()})`;
        });
        console.log(`  ${mode} ${e} ${k.name.padEnd(12)} ${cells.join("   ")}`);
      }
  console.log("");
}

// ---- adversarial input ----
function letters(n) {
  let x = 12345, s = "";
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    s += String.fromCharCode(97 + ((x >>> 16) % 26));
  }
  return s;
}
const ours = runOurs(["extras"]);
console.log("adversarial: one piece without a split point, count (CPU seconds, ns per byte; [wall seconds])");
for (const e of ENCODINGS) {
  const what = { random: "random letters", repeated: "one letter    ", equals: "'=' repeated  ",
                 spaces: "spaces        " };
  for (const kind of Object.keys(what)) {
    const sizes = [64 << 10, 256 << 10, 1 << 20];
    const perByte = (n) => ours[`adversarial.${e}.${kind}.${n}.cpu`] / n;
    const cells = sizes.map((n) => {
      const s = ours[`adversarial.${e}.${kind}.${n}.cpu`];
      const w = ours[`adversarial.${e}.${kind}.${n}.secs`];
      return `${n >> 10} KB ${s.toFixed(4)} s (${(perByte(n) * 1e9).toFixed(0)} ns/B) [${w.toFixed(4)}]`;
    });
    console.log(`  ours ${e} ${what[kind]}: ${cells.join(", ")}; time per byte at 1 MB over 64 KB: ` +
                `${(perByte(1 << 20) / perByte(64 << 10)).toFixed(2)}x (1.00x: linear)`);
  }
  for (const n of Object.keys(peers[e])) {
    const sizes = n.startsWith("js-tiktoken") ? [4 << 10, 8 << 10] : [16 << 10, 32 << 10];
    const cells = sizes.map((size) => {
      const text = letters(size);
      const c0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      peers[e][n].count(text);
      const w = Number(process.hrtime.bigint() - t0) / 1e9;
      const s = cpuSecs(process.cpuUsage(c0));
      return `${size >> 10} KB ${s.toFixed(3)} s (${((s / size) * 1e9).toFixed(0)} ns/B) [${w.toFixed(3)}]`;
    });
    console.log(`  ${n} ${e} random letters: ${cells.join(", ")}`);
  }
}
console.log("");

// ---- load and threads ----
for (const e of ENCODINGS)
  console.log(`load ${e} from embedded data: ${(ours[`load.${e}.secs`] * 1e3).toFixed(1)} ms ` +
              `(${(ours[`load.${e}.cpu`] * 1e3).toFixed(1)} ms of CPU), ` +
              `${(ours[`load.${e}.bytes`] / 1e6).toFixed(1)} MB allocated`);
for (const e of ENCODINGS) {
  const t1 = ours[`threads1.${e}.cpu`], w1 = ours[`threads1.${e}.wall`];
  const w2 = ours[`threads2.${e}.wall`];
  const c0 = ours[`threads2.${e}.cpu0`], c1 = ours[`threads2.${e}.cpu1`];
  console.log(`two threads sharing one ${e} tokenizer, each counting the whole corpus ` +
              `(shortest of 7 runs each, one and two threads in turns):`);
  console.log(`  one thread: ${w1.toFixed(3)} s wall, ${t1.toFixed(3)} s CPU; two threads: ` +
              `${w2.toFixed(3)} s wall, ${c0.toFixed(3)} s + ${c1.toFixed(3)} s CPU`);
  console.log(`  throughput of two over one: ${(2 * w1 / w2).toFixed(2)}x by wall-clock time, ` +
              `${((t1 / c0 + t1 / c1)).toFixed(2)}x by CPU time (one thread's CPU time over each ` +
              `thread's, summed: 2.00x when sharing costs a thread nothing)`);
  console.log(`  load average then: ${ours[`threads2.${e}.loadavg`]} (2 cores; the wall-clock figure ` +
              `needs two idle ones)`);
}
if (!allOk) {
  console.log("\nFAIL: a peer's token count differs from ours");
  process.exit(1);
}
