// Runs @langchain/core's trimMessages on the cases written by trim_cases and
// compares the kept messages, one for one (identity and text), with ours.
// usage: node trim_conformance.cjs CASES.jsonl NPM_DIR
"use strict";
const fs = require("fs");
const path = require("path");
const { createRequire } = require("module");

const [casesPath, npmDir] = process.argv.slice(2);
const req = createRequire(path.join(npmDir, "noop.js"));
const lc = req("@langchain/core/messages");
const version = req("@langchain/core/package.json").version;

// The shared counter: whitespace characters + ceil(other characters / 4)
// (the generated text is ASCII, so characters are bytes).
function count(s) {
  let ws = 0, other = 0;
  for (const ch of s) {
    if (ch === " " || ch === "\n" || ch === "\t" || ch === "\r") ws++;
    else other++;
  }
  return ws + Math.floor((other + 3) / 4);
}

// What tkn_tokenizer_count_message counts besides the text, per message id.
function fixedTokens(m) {
  let n = count(m.role);
  if (m.name) n += count(m.name);
  for (const c of m.tool_calls || []) n += count(c.function.name) + count(c.function.arguments);
  if (m.tool_call_id) n += count(m.tool_call_id);
  return n;
}

function toLangChain(m, i, fixed) {
  const id = "m" + i;
  fixed.set(id, fixedTokens(m));
  const content = typeof m.content === "string" ? m.content : "";
  switch (m.role) {
    case "system":
      return new lc.SystemMessage({ content, id });
    case "user":
      return new lc.HumanMessage({ content, id });
    case "assistant":
      return new lc.AIMessage({
        content,
        id,
        tool_calls: (m.tool_calls || []).map((c) => ({
          id: c.id,
          name: c.function.name,
          args: JSON.parse(c.function.arguments),
          type: "tool_call",
        })),
      });
    case "tool":
      return new lc.ToolMessage({ content, id, tool_call_id: m.tool_call_id });
    default:
      throw new Error("unexpected role " + m.role);
  }
}

async function main() {
  const lines = fs.readFileSync(casesPath, "utf8").split("\n").filter(Boolean);
  let mismatches = 0, kept = 0, partial = 0, empty = 0, undefinedResults = 0;
  const convs = new Set();
  for (const line of lines) {
    const c = JSON.parse(line);
    convs.add(JSON.stringify(c.messages));
    const fixed = new Map();
    const msgs = c.messages.map((m, i) => toLangChain(m, i, fixed));
    const counter = (list) =>
      list.reduce((sum, m) => sum + fixed.get(m.id) + count(typeof m.content === "string" ? m.content : ""), 0);
    const o = c.opts;
    const options = { maxTokens: o.maxTokens, tokenCounter: counter, strategy: o.strategy };
    if (o.includeSystem) options.includeSystem = true;
    if (o.allowPartial) options.allowPartial = true;
    if (o.startOn) options.startOn = o.startOn;
    if (o.endOn) options.endOn = o.endOn;
    if (o.splitter === "space") options.textSplitter = (t) => t.split(/(?<= )/);
    // LangChain returns [undefined] when includeSystem is set and nothing
    // fits (it indexes an empty list); we return no messages: the same.
    const raw = await lc.trimMessages(msgs, options);
    if (raw.some((m) => m === undefined)) undefinedResults++;
    const theirs = raw.filter((m) => m !== undefined).map((m) => ({
      i: Number(m.id.slice(1)),
      content: typeof m.content === "string" ? m.content : JSON.stringify(m.content),
    }));
    const ours = c.ours;
    kept += theirs.length;
    if (theirs.length === 0) empty++;
    partial += theirs.filter((m) => m.content !== c.messages[m.i].content).length;
    if (JSON.stringify(theirs) !== JSON.stringify(ours)) {
      mismatches++;
      if (mismatches <= 5) {
        console.log(`case ${c.case} differs; options ${JSON.stringify(o)}`);
        console.log("  langchain:", JSON.stringify(theirs));
        console.log("  tokenomy: ", JSON.stringify(ours));
      }
    }
  }
  console.log(
    `trim conformance vs @langchain/core ${version}: ${lines.length} cases over ${convs.size} ` +
      `conversations, ${kept} messages kept (${partial} cut, ${empty} empty results), ` +
      `${undefinedResults} returned [undefined] for an empty result; ${mismatches} mismatches`
  );
  process.exit(mismatches === 0 && lines.length >= 500 ? 0 : 1);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
