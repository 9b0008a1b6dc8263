// Conformance of the meter's OpenTelemetry output (span attributes of a call,
// the gen_ai.client.token.usage and gen_ai.client.operation.duration
// histograms) with the GenAI semantic
// conventions as published in @opentelemetry/semantic-conventions
// (incubating names).
// usage: node conformance_peers.mjs PEER_DIR HELPER_EXE
import { createRequire } from 'node:module'
import { spawnSync } from 'node:child_process'
import path from 'node:path'

const [peerDir, helper] = process.argv.slice(2)
const require = createRequire(path.resolve(peerDir, 'package.json'))
const sc = require('@opentelemetry/semantic-conventions/incubating')

const run = spawnSync(helper, [], { encoding: 'utf8', maxBuffer: 64 << 20 })
if (run.status !== 0) { console.error(`helper failed: ${run.status} ${run.stderr}`); process.exit(1) }
const [, , otelText, attrsText] = run.stdout.split('\n----\n')

let passed = 0, failed = 0
const check = (ok, what) => { if (ok) passed++; else { failed++; console.log(`FAIL ${what}`) } }

// The spec's explicit bucket boundaries for gen_ai.client.token.usage.
const bounds = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864]

// ---- span attributes of one call ----
const attrs = JSON.parse(attrsText)
const known = new Set(Object.entries(sc).filter(([k]) => k.startsWith('ATTR_')).map(([, v]) => v))
for (const k of Object.keys(attrs).filter(k => k.startsWith('gen_ai.') || k.startsWith('error.')))
  check(known.has(k), `attribute ${k} is not in the semantic conventions`)
for (const name of ['ATTR_GEN_AI_OPERATION_NAME', 'ATTR_GEN_AI_PROVIDER_NAME', 'ATTR_GEN_AI_REQUEST_MODEL',
  'ATTR_GEN_AI_USAGE_INPUT_TOKENS', 'ATTR_GEN_AI_USAGE_OUTPUT_TOKENS', 'ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS',
  'ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS', 'ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS'])
  check(sc[name] in attrs, `span attributes lack ${name} (${sc[name]})`)
check(attrs[sc.ATTR_GEN_AI_OPERATION_NAME] === sc.GEN_AI_OPERATION_NAME_VALUE_CHAT, 'operation name is chat')
check(attrs[sc.ATTR_GEN_AI_PROVIDER_NAME] === sc.GEN_AI_PROVIDER_NAME_VALUE_OPENAI, 'provider value is openai')
check(attrs[sc.ATTR_GEN_AI_USAGE_INPUT_TOKENS] >= attrs[sc.ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] +
  attrs[sc.ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS], 'input tokens include cache reads and writes')

// ---- OpenTelemetry histograms (OTLP JSON) ----
const otel = JSON.parse(otelText)
const metrics = otel.resourceMetrics[0].scopeMetrics[0].metrics
const byName = Object.fromEntries(metrics.map(m => [m.name, m]))
const durBounds = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]
const providers = new Set(Object.entries(sc).filter(([k]) => k.startsWith('GEN_AI_PROVIDER_NAME_VALUE_')).map(([, v]) => v))
const types = new Set([sc.GEN_AI_TOKEN_TYPE_VALUE_INPUT, sc.GEN_AI_TOKEN_TYPE_VALUE_OUTPUT])
for (const [name, spec, unit] of [[sc.METRIC_GEN_AI_CLIENT_TOKEN_USAGE, bounds, '{token}'],
  [sc.METRIC_GEN_AI_CLIENT_OPERATION_DURATION, durBounds, 's']]) {
  const metric = byName[name]
  check(metric !== undefined, `metric ${name} present`)
  if (!metric) continue
  check(metric.unit === unit, `unit of ${name} is ${unit}`)
  check(metric.histogram.dataPoints.length > 0, `${name} has data points`)
  for (const dp of metric.histogram.dataPoints) {
    const a = Object.fromEntries(dp.attributes.map(x => [x.key, x.value.stringValue]))
    for (const k of Object.keys(a).filter(k => !k.startsWith('tokenomy.')))
      check(known.has(k), `data point attribute ${k} is not in the conventions`)
    check(a[sc.ATTR_GEN_AI_OPERATION_NAME] === sc.GEN_AI_OPERATION_NAME_VALUE_CHAT, 'operation name')
    if (name === sc.METRIC_GEN_AI_CLIENT_TOKEN_USAGE)
      check(types.has(a[sc.ATTR_GEN_AI_TOKEN_TYPE]), `token type ${a[sc.ATTR_GEN_AI_TOKEN_TYPE]}`)
    const p = a[sc.ATTR_GEN_AI_PROVIDER_NAME]
    check(p === undefined || providers.has(p), `provider value ${p}`)
    check(JSON.stringify(dp.explicitBounds) === JSON.stringify(spec), `explicit bounds of ${name} are the spec's`)
    const n = dp.bucketCounts.reduce((s, v) => s + Number(v), 0)
    check(n === Number(dp.count), 'bucket counts add up to the count')
  }
}

console.log('meter exports vs @opentelemetry/semantic-conventions 1.45.0 (incubating)')
console.log(`${passed} passed, ${failed} failed`)
process.exit(failed ? 1 : 0)
