// The corpus of the native-peer benchmark, by kind of text: English prose,
// source code, markup (man pages, HTML, Markdown), CJK and other scripts
// (bpe_corpus.mjs's estimator corpus, built from /usr/share), JSON (the real
// agent traces of shared/traces when present, else JSON files under
// /usr/share), and long runs (seeded: runs of random letters, of one letter,
// of digits, of '=' and of spaces, each of 2-8 KB with no split point).
// Writes WORK_DIR/corpus.bin (u32 length + bytes per document) and
// WORK_DIR/kinds.json ([{name, first, end, bytes}]).
// usage: node bench_native_corpus.mjs WORK_DIR [TRACES_JSON]
import fs from "node:fs";
import path from "node:path";
import { buildEstimatorCorpus, walk, take, writeDocs } from "../../unit/tokenizer/bpe_corpus.mjs";

const [workDir, traces] = process.argv.slice(2);
fs.mkdirSync(workDir, { recursive: true });
// the estimator corpus's Markdown counts as markup here, and its JSON kinds
// are left out: this benchmark's JSON is the traces' (or /usr/share's) below
const docs = buildEstimatorCorpus(() => {})
  .filter((d) => d.kind !== "json" && d.kind !== "json-compact")
  .map((d) => (d.kind === "markdown" ? { kind: "markup", text: d.text } : d));

let json = [];
if (traces && fs.existsSync(traces)) {
  const data = JSON.parse(fs.readFileSync(traces, "utf8"));
  const list = [data.tools, ...(data.trajectories || [])].filter(Boolean);
  let bytes = 0;
  for (const r of list) {
    if (bytes > 600e3) break;
    const t = JSON.stringify(r, null, 1);
    json.push(t);
    bytes += Buffer.byteLength(t);
  }
} else {
  json = take(walk("/usr/share", (p) => p.endsWith(".json")), 600e3, (p) => fs.readFileSync(p, "utf8"), 16 * 1024);
}
for (const t of json) docs.push({ kind: "json", text: t });
const jsonSource = traces && fs.existsSync(traces) ? "the tau-bench traces" : "JSON files under /usr/share";

let seed = 20261202;
const rnd = (k) => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return (seed >>> 8) % k;
};
const pick = (alphabet, n) => Array.from({ length: n }, () => alphabet[rnd(alphabet.length)]).join("");
for (let i = 0; i < 40; i++) {
  const n = 2048 + rnd(6144);
  const kinds = [() => pick("abcdefghijklmnopqrstuvwxyz", n), () => "a".repeat(n), () => pick("0123456789", n),
                 () => "=".repeat(n), () => " ".repeat(n) + "x"];
  docs.push({ kind: "long-runs", text: kinds[i % kinds.length]() });
}

const order = ["prose", "code", "json", "markup", "cjk", "other-scripts", "long-runs"];
docs.sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind));
const kinds = [];
docs.forEach((d, i) => {
  const last = kinds[kinds.length - 1];
  const bytes = Buffer.byteLength(d.text);
  if (last && last.name === d.kind) {
    last.end = i + 1;
    last.bytes += bytes;
  } else {
    kinds.push({ name: d.kind, first: i, end: i + 1, bytes });
  }
});
writeDocs(path.join(workDir, "corpus.bin"), docs);
fs.writeFileSync(path.join(workDir, "kinds.json"), JSON.stringify(kinds));
console.log(`corpus: prose, code, markup, CJK and other scripts from /usr/share; JSON from ${jsonSource}; ` +
            "long runs generated (seeded)");
