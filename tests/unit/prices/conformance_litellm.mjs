// Conformance: tokenomy's costs from the REAL LiteLLM price file (vendored,
// tests/data/litellm) against @pydantic/genai-prices (its own price data and
// calcPrice), on usage cases for every model of nine providers both know.
// The two projects keep separate price data, so each case is sorted:
//   same rates  both price the model at the same base rates (input, output,
//               and the cache and tier rates the case uses): the costs MUST
//               agree; a difference is a rule bug and fails the test;
//   rates differ the files disagree on a price: listed, not a failure;
//   one side only the model is missing (or skipped) on one side: counted.
// The test fails if fewer than 200 cases are compared at the same rates.
// usage: node conformance_litellm.mjs PEER_DIR HELPER_EXE LITELLM_JSON [--list]
import { createRequire } from 'node:module'
import { spawnSync } from 'node:child_process'
import path from 'node:path'

const [peerDir, helper, litellm, ...flags] = process.argv.slice(2)
const list = flags.includes('--list')
const require = createRequire(path.resolve(peerDir, 'package.json'))
const gp = require('@pydantic/genai-prices')

// genai-prices provider id -> how LiteLLM names that provider's models
const providers = [
  ['openai', id => id], ['anthropic', id => id], ['google', id => `gemini/${id}`],
  ['mistral', id => `mistral/${id}`], ['x-ai', id => `xai/${id}`], ['deepseek', id => `deepseek/${id}`],
  ['groq', id => `groq/${id}`], ['moonshotai', id => `moonshot/${id}`], ['novita', id => `novita/${id}`],
]
const shapes = [
  { name: 'plain', u: { input_tokens: 1000, output_tokens: 200 } },
  { name: 'cache read', u: { input_tokens: 10000, cache_read_tokens: 6000, output_tokens: 500 } },
  { name: 'cache write', u: { input_tokens: 5000, cache_read_tokens: 1000, cache_write_tokens: 2000, output_tokens: 300 } },
  { name: 'long prompt', u: { input_tokens: 300000, cache_read_tokens: 100000, output_tokens: 2000 } },
]

const cases = []
for (const [pid, name] of providers) {
  const prov = gp.findProvider({ providerId: pid })
  if (!prov) continue
  for (const m of prov.models) {
    if (m.deprecated) continue
    for (const s of shapes) cases.push({ pid, peerModel: m.id, model: name(m.id), shape: s })
  }
}
const raw = c => JSON.stringify({ input: c.shape.u.input_tokens, cache_read: c.shape.u.cache_read_tokens ?? 0,
  cache_write: c.shape.u.cache_write_tokens ?? 0, output: c.shape.u.output_tokens })
const input = cases.map(c => `raw\t${c.model}\t${raw(c)}`).join('\n') + '\n'
const run = spawnSync(helper, [litellm], { input, encoding: 'utf8', maxBuffer: 1 << 26 })
if (run.status !== 0) {
  console.error(`helper failed: status ${run.status}\n${run.stderr}`)
  process.exit(1)
}
const ours = run.stdout.trim().split('\n').map(l => JSON.parse(l))

// a peer price field in USD per million tokens -> its base and tiers
const rateOf = v => v === undefined ? undefined : typeof v === 'number' ? { base: v, tiers: [] } : v
const pico = usd => Math.round(usd * 1e12)
const close = (a, b) => Math.abs(a - b) <= 1e-12 + 1e-9 * Math.abs(b)

const counts = { same: 0, differ: 0, oursOnly: 0, peerOnly: 0, neither: 0, skipped: 0, failed: 0 }
const differ = new Map()
const sameBy = {}              // agreements by usage shape; 'tier': a >N-token price applied
const sameProviders = new Set()
cases.forEach((c, i) => {
  const o = ours[i]
  const res = gp.calcPrice(c.shape.u, c.peerModel, { providerId: c.pid })
  if (o.rc !== 0 && !res) { counts.neither++; return }
  if (o.rc !== 0) { o.rc === 9 ? counts.skipped++ : counts.peerOnly++; return }
  if (!res) { counts.oursOnly++; return }
  const mp = res.model_price
  const inR = rateOf(mp.input_mtok), outR = rateOf(mp.output_mtok)
  const crR = rateOf(mp.cache_read_mtok), cwR = rateOf(mp.cache_write_mtok)
  const u = c.shape.u
  const long = u.input_tokens > 128000
  const why = []
  if (!inR || pico(inR.base) !== o.input_per_mtok) why.push(`input ${o.input_per_mtok / 1e12} vs ${inR?.base}`)
  if (!outR || pico(outR.base) !== o.output_per_mtok) why.push(`output ${o.output_per_mtok / 1e12} vs ${outR?.base}`)
  const ourCr = (o.has & 8) ? o.cache_read_per_mtok : o.input_per_mtok
  if (u.cache_read_tokens && pico((crR ?? inR)?.base) !== ourCr) why.push(`cache read ${ourCr / 1e12} vs ${(crR ?? inR)?.base}`)
  const ourCw = (o.has & 16) ? o.cache_write_per_mtok : o.input_per_mtok
  if (u.cache_write_tokens && pico((cwR ?? inR)?.base) !== ourCw) why.push(`cache write ${ourCw / 1e12} vs ${(cwR ?? inR)?.base}`)
  // a long prompt compares only when both sides agree on whether a tier applies
  const peerTier = [inR, outR, crR].some(r => r && r.tiers.some(t => u.input_tokens > t.start))
  if (long && peerTier !== (o.tier === 1)) why.push(`tier: tokenomy ${o.tier ? 'applies one' : 'has none'}, peer ${peerTier ? 'applies one' : 'has none'}`)
  if (why.length) {
    counts.differ++
    differ.set(`${c.model}`, why.join(', '))
    return
  }
  if (close(o.cost / 1e12, res.total_price)) {
    counts.same++
    const key = o.tier === 1 ? 'tier' : c.shape.name
    sameBy[key] = (sameBy[key] ?? 0) + 1
    sameProviders.add(c.pid)
  } else {
    counts.failed++
    console.log(`FAIL ${c.model} (${c.shape.name}): tokenomy ${o.cost_usd} USD, peer ${res.total_price} USD`)
  }
})
if (list) for (const [m, why] of differ) console.log(`rates differ ${m}: ${why}`)
console.log(`${cases.length} cases over ${providers.length} providers: ${counts.same} agree at the same rates,` +
  ` ${counts.failed} disagree at the same rates, ${counts.differ} where the price data differ` +
  ` (${differ.size} models), ${counts.peerOnly} priced only by the peer, ${counts.skipped} skipped by` +
  ` tokenomy's load (a fault in the file), ${counts.oursOnly} priced only by tokenomy, ${counts.neither} by neither`)
console.log(`agreeing cases by shape: ${Object.entries(sameBy).map(([k, v]) => `${k} ${v}`).join(', ')};` +
  ` over ${sameProviders.size} providers`)
if (counts.same < 200) console.log(`FAIL: only ${counts.same} cases compared at the same rates (200 wanted)`)
// issue 15: "across providers and tiers": a tier price must be among the agreements
const tiers = sameBy.tier ?? 0
if (tiers < 10) console.log(`FAIL: only ${tiers} agreeing cases priced at a tier (10 wanted)`)
if (sameProviders.size < 5) console.log(`FAIL: agreements over ${sameProviders.size} providers (5 wanted)`)
process.exit(counts.failed || counts.same < 200 || tiers < 10 || sameProviders.size < 5 ? 1 : 0)
