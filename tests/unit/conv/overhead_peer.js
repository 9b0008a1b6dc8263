// Conformance: tokenomy's per-message overhead (3 per message, 1 per name,
// 3 to prime the reply, 3 + function name + arguments per tool call) against
// the npm package openai-chat-tokens, which implements OpenAI's published
// counting.  Both sides use the same string counts (cl100k_base through
// js-tiktoken, the peer's own dependency), so only the overhead and the choice
// of what is counted are compared.
//
//   node overhead_peer.js NPM_DIR COUNT_LOOKUP_BINARY SOURCE_ROOT WORK_DIR
'use strict';
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const [npmDir, lookupBin, srcRoot, workDir] = process.argv.slice(2);
const peer = require(path.join(npmDir, 'node_modules', 'openai-chat-tokens'));

// A tool call in the peer's (legacy) form: one function_call per message.
function toPeer(messages) {
  return messages.map((m) => {
    const p = { role: m.role, content: m.content || '' };
    if (m.name) p.name = m.name;
    if (m.tool_calls) p.function_call = { name: m.tool_calls[0].function.name, arguments: m.tool_calls[0].function.arguments };
    return p;
  });
}

function strings(messages) {
  const out = new Set();
  for (const m of messages) {
    out.add(m.role);
    out.add(typeof m.content === 'string' ? m.content : '');
    if (m.name) out.add(m.name);
    for (const c of m.tool_calls || []) { out.add(c.function.name); out.add(c.function.arguments); }
  }
  return out;
}

const demo = JSON.parse(fs.readFileSync(path.join(srcRoot, 'examples/data/support-conversation.json'))).messages;
const cases = {
  'system and user': [
    { role: 'system', content: 'You are a helpful assistant.' },
    { role: 'user', content: 'How many tokens does this conversation use?' },
  ],
  'names': [
    { role: 'system', name: 'example_user', content: 'New synergies will help drive top-line growth.' },
    { role: 'system', name: 'example_assistant', content: 'Things working well together will increase revenue.' },
    { role: 'user', name: 'ann', content: "This late pivot means we don't have time to boil the ocean." },
  ],
  'assistant tool call': [
    { role: 'user', content: 'Where is order NW-48213?' },
    { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_order', arguments: '{"order_id":"NW-48213"}' } }] },
    { role: 'assistant', content: 'It shipped on 2 May.' },
  ],
  'unicode': [
    { role: 'user', content: 'Grüße aus Köln! 東京は日本の首都です。 Привет 👋' },
    { role: 'assistant', content: '¡Hola! ¿Qué tal?' },
  ],
  // the bundled demo without tool results (the peer predates tool messages)
  // and with single tool calls only (the peer knows one function_call a message)
  'demo conversation': demo.filter((m) => m.role !== 'tool' && !(m.tool_calls && m.tool_calls.length > 1)),
};

let failed = 0;
for (const [name, messages] of Object.entries(cases)) {
  const counts = {};
  for (const s of strings(messages)) counts[s] = peer.stringTokens(s);
  const file = path.join(workDir, 'overhead-case.json');
  fs.writeFileSync(file, JSON.stringify({ messages, counts }));
  const ours = execFileSync(lookupBin, [file]).toString().trim().split(' ').map(Number);
  const want = peer.promptTokensEstimate({ messages: toPeer(messages) });
  const perPeer = toPeer(messages).map((m) => peer.messageTokensEstimate(m));
  const ok = ours[0] === want && perPeer.every((n, i) => n === ours[i + 1]);
  if (!ok) failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}: tokenomy ${ours[0]}, openai-chat-tokens ${want}` +
              (ok ? '' : ` (per message: tokenomy ${ours.slice(1).join(',')}; peer ${perPeer.join(',')})`));
}
process.exit(failed ? 1 : 0);
