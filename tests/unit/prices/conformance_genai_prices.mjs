// Conformance: tokenomy's usage normalisation and costs against
// @pydantic/genai-prices (its provider usage extractors and calcPrice on its
// bundled price data), on responses of OpenAI Chat/Responses, Anthropic and
// Gemini for every model of tokenomy's built-in table.
// usage: node conformance_genai_prices.mjs PEER_DIR HELPER_EXE
import { createRequire } from 'node:module'
import { spawnSync } from 'node:child_process'
import path from 'node:path'

const [peerDir, helper] = process.argv.slice(2)
const require = createRequire(path.resolve(peerDir, 'package.json'))
const gp = require('@pydantic/genai-prices')

const openai = ['gpt-4o', 'gpt-4o-2024-05-13', 'gpt-4o-mini', 'gpt-4.1', 'gpt-4.1-mini', 'gpt-4.1-nano',
  'gpt-5', 'gpt-5-mini', 'gpt-5-nano', 'o3', 'o4-mini']
const anthropic = ['claude-opus-4-5', 'claude-opus-4-1', 'claude-sonnet-4-5', 'claude-sonnet-4-20250514',
  'claude-haiku-4-5']
const gemini = ['gemini-2.5-pro', 'gemini-2.5-flash', 'gemini-2.5-flash-lite']
// The peer has no >200k tier for Claude Sonnet 4 (LiteLLM, and so tokenomy, do).
const noPeerTier = new Set(['claude-sonnet-4-20250514'])

const cases = []
const add = (format, provider, flavor, model, response, tier = false) =>
  cases.push({ format, provider, flavor, model, response, tier })

for (const m of openai) {
  const gpt4o0513 = m === 'gpt-4o-2024-05-13' // no cached price: cached tokens bill as input
  add('chat', 'openai', 'chat', m, { model: m, usage: { prompt_tokens: 1200, completion_tokens: 300 } })
  add('chat', 'openai', 'chat', m, { model: m, usage: { prompt_tokens: 5000, completion_tokens: 700,
    prompt_tokens_details: { cached_tokens: gpt4o0513 ? 0 : 1024 }, completion_tokens_details: { reasoning_tokens: 200 } } })
  add('responses', 'openai', 'responses', m, { model: m, object: 'response', usage: { input_tokens: 150000,
    input_tokens_details: { cached_tokens: gpt4o0513 ? 0 : 120000 }, output_tokens: 4000,
    output_tokens_details: { reasoning_tokens: 3000 } } })
}
for (const m of anthropic) {
  add('anthropic', 'anthropic', 'default', m, { model: m, type: 'message', usage: { input_tokens: 100, output_tokens: 50 } })
  add('anthropic', 'anthropic', 'default', m, { model: m, type: 'message', usage: { input_tokens: 100, output_tokens: 50,
    cache_read_input_tokens: 1000, cache_creation_input_tokens: 2500,
    cache_creation: { ephemeral_5m_input_tokens: 2000, ephemeral_1h_input_tokens: 500 } } })
  add('anthropic', 'anthropic', 'default', m, { model: m, usage: { input_tokens: 7, output_tokens: 9000,
    cache_read_input_tokens: 0, cache_creation_input_tokens: 3000 } })
  add('anthropic', 'anthropic', 'default', m, { model: m, usage: { input_tokens: 10000, output_tokens: 2000,
    cache_read_input_tokens: 200000, cache_creation_input_tokens: 5000,
    cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 5000 } } }, true)
}
for (const m of gemini) {
  add('gemini', 'google', 'default', m, { modelVersion: m, usageMetadata: { promptTokenCount: 1000, candidatesTokenCount: 50 } })
  add('gemini', 'google', 'default', m, { modelVersion: m, usageMetadata: { promptTokenCount: 1000,
    cachedContentTokenCount: 600, candidatesTokenCount: 50, thoughtsTokenCount: 200, toolUsePromptTokenCount: 10 } })
  add('gemini', 'google', 'default', m, { modelVersion: m, usageMetadata: { promptTokenCount: 250000,
    cachedContentTokenCount: 100000, candidatesTokenCount: 3000, thoughtsTokenCount: 1000 } }, true)
}

const input = cases.map(c => `${c.format}\t${c.model}\t${JSON.stringify(c.response)}`).join('\n') + '\n'
const run = spawnSync(helper, [], { input, encoding: 'utf8' })
if (run.status !== 0) {
  console.error(`helper failed: status ${run.status}\n${run.stderr}`)
  process.exit(1)
}
const ours = run.stdout.trim().split('\n').map(l => JSON.parse(l))

let passed = 0, failed = 0, skipped = 0
const close = (a, b) => Math.abs(a - b) <= 1e-12 + 1e-9 * Math.abs(b)
cases.forEach((c, i) => {
  const o = ours[i]
  const where = `${c.format} ${c.model} #${i}`
  const provider = gp.findProvider({ providerId: c.provider })
  const { usage } = gp.extractUsage(provider, c.response, c.flavor)
  const problems = []
  if (o.rc !== 0) problems.push(`tokenomy failed with status ${o.rc}`)
  else {
    const z = v => v ?? 0
    const want = {
      input: z(usage.input_tokens), cache_read: z(usage.cache_read_tokens),
      cache_write: z(usage.cache_write_tokens), output: z(usage.output_tokens),
      reasoning: z(usage.output_reasoning_tokens),
    }
    const got = { input: o.input, cache_read: o.cache_read, cache_write: o.cache_write_5m + o.cache_write_1h,
      output: o.output, reasoning: o.reasoning }
    for (const k of Object.keys(want)) if (want[k] !== got[k]) problems.push(`${k}: tokenomy ${got[k]}, peer ${want[k]}`)
    if (usage.cache_write_1h_tokens !== undefined && usage.cache_write_1h_tokens !== o.cache_write_1h)
      problems.push(`cache_write_1h: tokenomy ${o.cache_write_1h}, peer ${usage.cache_write_1h_tokens}`)
    if (c.tier && noPeerTier.has(c.model)) { skipped++; return }
    const price = gp.calcPrice(usage, c.model, { providerId: c.provider })
    if (!price) problems.push('peer has no price')
    else if (!close(o.cost / 1e12, price.total_price))
      problems.push(`cost: tokenomy ${o.cost_usd} USD, peer ${price.total_price} USD`)
  }
  if (problems.length) { failed++; console.log(`FAIL ${where}: ${problems.join('; ')}`) }
  else passed++
})
console.log(`genai-prices ${gp.calcPrice ? 'loaded' : ''}: ${cases.length} cases compared`)
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`)
process.exit(failed ? 1 : 0)
