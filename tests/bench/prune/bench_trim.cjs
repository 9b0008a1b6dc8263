// The LangChain side of the prune benchmark: trimMessages (strategy last) on
// each conversation of the file, with the shared counter and a per-message
// count cache, timed in CPU time (process.cpuUsage).  Prints "version V" then one
// "trim <ms> <kept>" line per conversation, the median of RUNS runs (each
// counts every message once: trimMessages works on fresh copies).
// usage: node bench_trim.cjs CONVS.json NPM_DIR
"use strict";
const fs = require("fs");
const path = require("path");
const { createRequire } = require("module");

const [file, npmDir] = process.argv.slice(2);
const RUNS = 3;
const req = createRequire(path.join(npmDir, "noop.js"));
const lc = req("@langchain/core/messages");
console.log("version " + req("@langchain/core/package.json").version + "/node-" + process.version);

function count(s) {
  let ws = 0, other = 0;
  for (let i = 0; i < s.length; i++) {
    const ch = s.charCodeAt(i);
    if (ch === 32 || ch === 10 || ch === 9 || ch === 13) ws++;
    else other++;
  }
  return ws + Math.floor((other + 3) / 4);
}

function build(messages, fixed) {
  return messages.map((m, i) => {
    const id = "m" + i;
    let n = count(m.role);
    for (const c of m.tool_calls || []) n += count(c.function.name) + count(c.function.arguments);
    if (m.tool_call_id) n += count(m.tool_call_id);
    fixed.set(id, n);
    const content = typeof m.content === "string" ? m.content : "";
    if (m.role === "system") return new lc.SystemMessage({ content, id });
    if (m.role === "user") return new lc.HumanMessage({ content, id });
    if (m.role === "tool") return new lc.ToolMessage({ content, id, tool_call_id: m.tool_call_id });
    return new lc.AIMessage({
      content, id,
      tool_calls: (m.tool_calls || []).map((c) => ({
        id: c.id, name: c.function.name, args: JSON.parse(c.function.arguments), type: "tool_call",
      })),
    });
  });
}

async function main() {
  const convs = JSON.parse(fs.readFileSync(file, "utf8"));
  for (const conv of convs) {
    const fixed = new Map();
    const msgs = build(conv.messages, fixed);
    // A per-message count cache, as a user counting with a real tokenizer
    // would keep: a WeakMap keyed by the message object.  trimMessages copies
    // the messages once per call and hands the same copies to every call of
    // the counter, so each message is counted once per trim and every later
    // call only sums cached numbers.  (A Map keyed by the message id, tried
    // too, is 5x slower: hashing the id strings costs more than the count.)
    const cache = new WeakMap();
    const counter = (list) => {
      let sum = 0;
      for (const m of list) {
        let n = cache.get(m);
        if (n === undefined) {
          n = fixed.get(m.id) + count(typeof m.content === "string" ? m.content : "");
          cache.set(m, n);
        }
        sum += n;
      }
      return sum;
    };
    const times = [];
    let kept = 0;
    for (let r = 0; r < RUNS; r++) {
      const t0 = process.cpuUsage();
      const out = await lc.trimMessages(msgs, { maxTokens: conv.maxTokens, tokenCounter: counter, strategy: "last" });
      const t = process.cpuUsage(t0);
      times.push((t.user + t.system) / 1000);
      kept = out.length;
    }
    times.sort((a, b) => a - b);
    console.log(`trim ${times[Math.floor(times.length / 2)].toFixed(3)} ${kept}`);
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
