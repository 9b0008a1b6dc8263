// The ajv side of the schema benchmark (see bench_schema.sh).
//   node ajv_bench.js emit SUITE_DIR CASES.json   write the workloads
//   node ajv_bench.js time CASES.json C.json      time ajv, print the table
// Workloads: every schema/document group of the JSON Schema Test Suite
// (draft 2020-12) that ajv compiles, and a generated set of structured-output
// replies (valid ones and typical model mistakes) for three schemas.
'use strict';
const fs = require('fs');
const path = require('path');
const Ajv2020 = require('ajv/dist/2020');

function newAjv() {
  // format as an annotation, first error only, as tokenomy runs in this bench;
  // multipleOfPrecision so that 34.23 counts as a multiple of 0.01 (without it
  // ajv divides in doubles and rejects it: 34.23 / 0.01 = 3423.0000000000005)
  return new Ajv2020({ strict: false, allErrors: false, validateFormats: false, multipleOfPrecision: 9 });
}

// ---- emit ----

function rng(seed) { // mulberry32: deterministic documents
  return () => {
    seed |= 0; seed = (seed + 0x6D2B79F5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ticketSchema = {
  type: 'object',
  properties: {
    intent: { enum: ['refund', 'exchange', 'question', 'complaint', 'other'] },
    confidence: { type: 'number', minimum: 0, maximum: 1 },
    customer: {
      type: 'object',
      properties: {
        name: { type: 'string', minLength: 1, maxLength: 80 },
        email: { type: 'string', pattern: '^[^@\\s]+@[^@\\s]+\\.[a-z]{2,}$' },
        tier: { enum: ['free', 'pro', 'enterprise'] },
      },
      required: ['name', 'email'],
      additionalProperties: false,
    },
    items: {
      type: 'array', maxItems: 20,
      items: {
        type: 'object',
        properties: {
          sku: { type: 'string', pattern: '^[A-Z]{3}-[0-9]{4}$' },
          qty: { type: 'integer', minimum: 1, maximum: 99 },
          price: { type: 'number', exclusiveMinimum: 0, multipleOf: 0.01 },
        },
        required: ['sku', 'qty'],
        additionalProperties: false,
      },
    },
    tags: { type: 'array', items: { type: 'string', maxLength: 24 }, uniqueItems: true, maxItems: 8 },
    reply: { type: 'string', maxLength: 2000 },
    escalate: { type: 'boolean' },
    followup: { anyOf: [{ type: 'null' }, { type: 'string', format: 'date' }] },
  },
  required: ['intent', 'confidence', 'customer', 'items', 'reply', 'escalate'],
  additionalProperties: false,
};

const toolSchema = {
  oneOf: [
    {
      type: 'object',
      properties: {
        tool: { const: 'search' },
        args: {
          type: 'object',
          properties: { query: { type: 'string', minLength: 1 }, limit: { type: 'integer', minimum: 1, maximum: 50 } },
          required: ['query'], additionalProperties: false,
        },
      },
      required: ['tool', 'args'], additionalProperties: false,
    },
    {
      type: 'object',
      properties: {
        tool: { const: 'send_email' },
        args: {
          type: 'object',
          properties: {
            to: { type: 'array', items: { type: 'string', pattern: '^[^@]+@[^@]+$' }, minItems: 1 },
            subject: { type: 'string', maxLength: 120 },
            body: { type: 'string' },
          },
          required: ['to', 'subject', 'body'], additionalProperties: false,
        },
      },
      required: ['tool', 'args'], additionalProperties: false,
    },
    {
      type: 'object',
      properties: { tool: { const: 'finish' }, args: { type: 'object', maxProperties: 0 } },
      required: ['tool'], additionalProperties: false,
    },
  ],
};

const outlineSchema = {
  $defs: {
    section: {
      type: 'object',
      properties: {
        title: { type: 'string', minLength: 1, maxLength: 100 },
        points: { type: 'array', items: { type: 'string' }, maxItems: 10 },
        children: { type: 'array', items: { $ref: '#/$defs/section' } },
      },
      required: ['title'], additionalProperties: false,
    },
  },
  type: 'object',
  properties: { doc: { type: 'string' }, sections: { type: 'array', items: { $ref: '#/$defs/section' }, minItems: 1 } },
  required: ['doc', 'sections'],
};

const words = ('the order arrived late and the box was damaged please refund my card thanks ' +
  'can you check where my package is i would like to swap the size for a larger one').split(' ');

function sentence(r, n) {
  const out = [];
  for (let i = 0; i < n; i++) out.push(words[Math.floor(r() * words.length)]);
  return out.join(' ');
}
const pick = (r, a) => a[Math.floor(r() * a.length)];

function ticket(r) {
  const items = [];
  const n = 1 + Math.floor(r() * 4);
  for (let i = 0; i < n; i++) {
    items.push({ sku: 'ABC-' + String(1000 + Math.floor(r() * 9000)), qty: 1 + Math.floor(r() * 5),
      price: (1 + Math.floor(r() * 10000)) / 100 }); // whole cents, as a model writes them
  }
  return {
    intent: pick(r, ['refund', 'exchange', 'question', 'complaint', 'other']),
    confidence: Math.round(r() * 100) / 100,
    customer: { name: sentence(r, 2), email: 'user' + Math.floor(r() * 1000) + '@example.com', tier: pick(r, ['free', 'pro', 'enterprise']) },
    items,
    tags: ['shipping', 'billing', 'size'].slice(0, Math.floor(r() * 4)),
    reply: sentence(r, 20 + Math.floor(r() * 40)),
    escalate: r() < 0.2,
    followup: r() < 0.5 ? null : '2025-01-0' + (1 + Math.floor(r() * 9)),
  };
}

function tool(r) {
  const k = Math.floor(r() * 3);
  if (k === 0) return { tool: 'search', args: { query: sentence(r, 4), limit: 1 + Math.floor(r() * 20) } };
  if (k === 1) return { tool: 'send_email', args: { to: ['a@b.io', 'c@d.io'].slice(0, 1 + Math.floor(r() * 2)), subject: sentence(r, 5), body: sentence(r, 30) } };
  return { tool: 'finish', args: {} };
}

function outline(r, depth = 0) {
  const sec = () => {
    const s = { title: sentence(r, 3), points: [sentence(r, 6), sentence(r, 6)] };
    if (depth < 2 && r() < 0.5) s.children = outline(r, depth + 1).sections;
    return s;
  };
  const sections = [];
  for (let i = 0; i < 1 + Math.floor(r() * 3); i++) sections.push(sec());
  return { doc: sentence(r, 3), sections };
}

// Typical model mistakes: a wrong type, a missing field, an extra field, a bad string.
function mutate(r, doc) {
  const d = JSON.parse(JSON.stringify(doc));
  const target = (d.args && typeof d.args === 'object') ? d.args : d;
  const keys = Object.keys(target);
  switch (Math.floor(r() * 4)) {
    case 0: if (keys.length) target[pick(r, keys)] = 12345; else target.extra = 1; break;
    case 1: if (keys.length) delete target[pick(r, keys)]; else target.extra = 1; break;
    case 2: target.unexpected_field = 'x'; break;
    default: if ('customer' in d) d.customer.email = 'not an email'; else target.extra = [1];
  }
  return d;
}

function generated(r, schema, make, count) {
  const ajv = newAjv();
  const v = ajv.compile(schema);
  const docs = [], valid = [];
  for (let i = 0; i < count; i++) {
    let d = make(r);
    if (r() < 0.2) d = mutate(r, d);
    docs.push(d);
    valid.push(v(d)); // expected verdicts come from the generator's intent, checked by ajv
  }
  return { label: 'generated', schema, docs, valid };
}

function emit(suiteDir, out) {
  const suite = [];
  for (const f of fs.readdirSync(suiteDir).filter((x) => x.endsWith('.json')).sort()) {
    for (const g of JSON.parse(fs.readFileSync(path.join(suiteDir, f), 'utf8'))) {
      try { newAjv().compile(g.schema); } catch (e) { continue; } // ajv cannot: not compared
      suite.push({ label: f + ': ' + g.description, schema: g.schema,
        docs: g.tests.map((t) => t.data), valid: g.tests.map((t) => t.valid) });
    }
  }
  const r = rng(12345);
  const so = [generated(r, ticketSchema, ticket, 600), generated(r, toolSchema, tool, 600),
    generated(r, outlineSchema, (x) => outline(x), 600)];
  fs.writeFileSync(out, JSON.stringify({ workloads: [
    { name: 'test suite (draft 2020-12)', groups: suite },
    { name: 'structured-output replies', groups: so },
  ] }));
}

// ---- time ----

// CPU time of the process in ns (user + system), as the C side measures
// its thread's CPU time: time spent descheduled on a shared machine is not ours.
function cpuNs() {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

// Seven rounds of at least 100 ms of CPU after a warm-up; the fastest round
// counts (as on the C side: the minimum is the least disturbed).
function timeLoop(fn, perPass) {
  const warm = cpuNs();
  while (cpuNs() - warm < 300e6) fn(); // let V8 optimise
  let best = Infinity;
  for (let round = 0; round < 7; round++) {
    let passes = 0;
    const t0 = cpuNs();
    let t = t0;
    while (passes < 2 || t - t0 < 100e6) {
      fn();
      passes++;
      t = cpuNs();
    }
    best = Math.min(best, (t - t0) / (passes * perPass));
  }
  return best;
}

function fmt(ns) { return ns.toFixed(0).padStart(9) + ' ns'; }

function time(casesFile, cFile) {
  const cases = JSON.parse(fs.readFileSync(casesFile, 'utf8'));
  const c = JSON.parse(fs.readFileSync(cFile, 'utf8'));
  console.log('\nschema validation, per document (lower is better); ratio = ajv / tokenomy (> 1: tokenomy faster)');
  console.log('workload                      groups  docs | tokenomy validate |  ajv validate | ratio | tokenomy parse |  JSON.parse | both agree with expected');
  for (const res of c.workloads) {
    const w = cases.workloads[res.index];
    const groups = res.used.map((i) => w.groups[i]);
    const texts = [], validators = [], parsed = [];
    let expected = 0, docs = 0;
    for (const g of groups) {
      const v = newAjv().compile(g.schema);
      for (let i = 0; i < g.docs.length; i++) {
        texts.push(JSON.stringify(g.docs[i]));
        validators.push(v);
        parsed.push(g.docs[i]);
        docs++;
        if (v(g.docs[i]) === g.valid[i]) expected++;
      }
    }
    let sink = 0;
    const validateNs = timeLoop(() => { for (let i = 0; i < docs; i++) sink += validators[i](parsed[i]) ? 1 : 0; }, docs);
    const parseNs = timeLoop(() => { for (let i = 0; i < docs; i++) sink += JSON.parse(texts[i]) === null ? 1 : 0; }, docs);
    if (sink < 0) console.log(sink);
    const ratio = validateNs / res.validate_ns;
    console.log(`${w.name.padEnd(28)} ${String(groups.length).padStart(6)} ${String(docs).padStart(5)} |` +
      ` ${fmt(res.validate_ns).padStart(17)} | ${fmt(validateNs).padStart(13)} | ${ratio.toFixed(2).padStart(4)}x |` +
      ` ${fmt(res.parse_ns).padStart(14)} | ${fmt(parseNs).padStart(11)} | tokenomy ${res.agree}/${res.docs}, ajv ${expected}/${docs}`);
  }
  console.log('tokenomy: tkn_schema_compile once per schema, validation of pre-parsed documents (max_errors 1);');
  console.log('ajv 8 (ajv/dist/2020, strict off, formats as annotations, first error only, multipleOfPrecision 9) on the same pre-parsed documents.');
  console.log("verdicts: the suite's own for the suite; ajv's for the generated replies (about 20% are mutated to be invalid).");
}

const [mode, a, b] = process.argv.slice(2);
if (mode === 'emit') emit(a, b);
else if (mode === 'time') time(a, b);
else { console.error('usage: ajv_bench.js emit SUITE_DIR OUT | time CASES C_RESULTS'); process.exit(2); }
