// The estimator against exact counts, per kind of text, side by side with
// the npm package tokenx: mean absolute relative error per document
// (|estimate - exact| / exact), against cl100k_base and o200k_base (ours:
// the estimator calibrated for each, tkn_tokenizer_new_estimator_for; tokenx
// has one model), and the estimator's throughput on ASCII text.
//
// usage: node estimator_eval.mjs NPM_DIR ESTIMATOR_EVAL WORK_DIR
//   NPM_DIR: where tests/tools/npm-peer.sh installed tokenx
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { buildEstimatorCorpus, writeDocs } from "../../unit/tokenizer/bpe_corpus.mjs";

const [npmDir, evalExe, workDir] = process.argv.slice(2);
if (!workDir) {
  console.error("usage: node estimator_eval.mjs NPM_DIR ESTIMATOR_EVAL WORK_DIR");
  process.exit(2);
}
const tokenxDir = path.join(npmDir, "node_modules", "tokenx");
const tokenxVersion = JSON.parse(fs.readFileSync(path.join(tokenxDir, "package.json"), "utf8")).version;
const { estimateTokenCount } = await import(path.join(tokenxDir, "dist", "index.mjs"));

fs.mkdirSync(workDir, { recursive: true });
const docs = buildEstimatorCorpus((s) => console.log(s));
const file = path.join(workDir, "estimator-corpus.bin");
writeDocs(file, docs);
const r = spawnSync(evalExe, [file], { encoding: "utf8", maxBuffer: 1 << 26 });
if (r.status !== 0) {
  console.error(r.stderr);
  process.exit(1);
}
const rows = [];
const extra = {};
for (const line of r.stdout.split("\n")) {
  const f = line.split(" ");
  if (f[0] === "doc")
    rows[Number(f[1])] = { cl: Number(f[2]), o2: Number(f[3]), estCl: Number(f[4]), estO2: Number(f[5]) };
  else if (f[0]) extra[f[0]] = Number(f[1]);
}
const kinds = [...new Set(docs.map((d) => d.kind))];
const err = (est, exact) => Math.abs(est - exact) / Math.max(exact, 1);
console.log(`\nmean absolute error per document, by kind (lower is better; tokenx@${tokenxVersion})`);
console.log(`  ${"kind".padEnd(14)} ${"docs".padStart(5)}   ${"vs cl100k: ours".padStart(15)} ${"tokenx".padStart(7)}   ${"vs o200k: ours".padStart(14)} ${"tokenx".padStart(7)}`);
let allBetter = true;
const pct = (x) => (100 * x).toFixed(1).padStart(6) + "%";
for (const k of kinds.concat(["all"])) {
  let n = 0, oc = 0, tc = 0, oo = 0, to = 0, bias = 0;
  for (let i = 0; i < docs.length; i++) {
    if (k !== "all" && docs[i].kind !== k) continue;
    const tx = estimateTokenCount(docs[i].text);
    const row = rows[i];
    n++;
    oc += err(row.estCl, row.cl);
    tc += err(tx, row.cl);
    oo += err(row.estO2, row.o2);
    bias += (row.estO2 - row.o2) / Math.max(row.o2, 1);
    to += err(tx, row.o2);
  }
  const better = oc < tc && oo < to;
  if (k !== "all" && !better) allBetter = false;
  console.log(`  ${k.padEnd(14)} ${String(n).padStart(5)}   ${pct(oc / n).padStart(15)} ${pct(tc / n)}   ${pct(oo / n).padStart(14)} ${pct(to / n)}${better ? "" : "   (tokenx better)"}` +
              (process.env.TKN_EST_BIAS ? `  bias vs o200k ${pct(bias / n)}` : ""));
}
console.log(`\nestimator on ASCII text: ${(extra["ascii.bytes"] / 1e6).toFixed(2)} MB, ` +
            `${(extra["ascii.bytes"] / extra["ascii.secs"] / 1e9).toFixed(2)} GB/s`);
console.log(allBetter ? "ours has the lower error on every kind" : "tokenx has the lower error on some kind");
