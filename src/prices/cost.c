/* The cost of a call: tokens of each kind times the price of that kind, in
 * integer picodollars.  The rules (which price applies, tiers, batch
 * discounts stacking with cache prices) are documented in prices.h. */
#include <string.h>

#include "prices_internal.h"

__extension__ typedef __int128 i128;

TKI_DEFINE_INIT(tkn_cost_init, tkn_cost, cost, TKN_COST_VERSION,
                TKN_COST_INIT)

int tkn_usage_check(const tkn_usage *u) {
  if (!u) return tki_fail(TKN_ERR_INVALID, "usage: NULL");
  if (u->version != TKN_USAGE_VERSION)
    return tki_fail(TKN_ERR_VERSION, "usage: unknown version %u", (unsigned)u->version);
  /* the bound tkn_usage_parse applies too: beyond 2^53 a count is not a
   * token count any provider reports, and sums of a few cannot overflow */
  const int64_t max = (int64_t)1 << 53;
  const int64_t c[] = {u->input_tokens,         u->cache_read_tokens, u->cache_write_5m_tokens,
                       u->cache_write_1h_tokens, u->output_tokens,     u->reasoning_tokens};
  for (size_t i = 0; i < sizeof c / sizeof *c; i++)
    if (c[i] < 0 || c[i] > max)
      return tki_fail(TKN_ERR_INVALID, "usage: a token count of %lld (0 to 2^53 allowed)",
                      (long long)c[i]);
  int64_t cached;
  if (tki_add_i64(u->cache_read_tokens, u->cache_write_5m_tokens, &cached) ||
      tki_add_i64(cached, u->cache_write_1h_tokens, &cached))
    return tki_fail(TKN_ERR_INVALID, "usage: the cache counts overflow");
  if (cached > u->input_tokens)
    return tki_fail(TKN_ERR_INVALID, "usage: %lld cached input tokens of %lld input tokens",
                    (long long)cached, (long long)u->input_tokens);
  if (u->reasoning_tokens > u->output_tokens)
    return tki_fail(TKN_ERR_INVALID, "usage: %lld reasoning tokens of %lld output tokens",
                    (long long)u->reasoning_tokens, (long long)u->output_tokens);
  return TKN_OK;
}

/* ---- exact fractions of a picodollar ---- */

/* An exact amount of money: num / den picodollars, den > 0, num >= 0. */
typedef struct frac {
  i128 num, den;
} frac;

static i128 gcd128(i128 a, i128 b) {
  while (b) {
    i128 t = a % b;
    a = b;
    b = t;
  }
  return a;
}

static int mul128(i128 a, i128 b, i128 *out) { return __builtin_mul_overflow(a, b, out); }

/* *acc += x, exactly; TKN_ERR_OVERFLOW if a 128-bit step would overflow. */
static int frac_add(frac *acc, frac x) {
  if (acc->den <= 0 || x.den <= 0) return TKN_ERR_INVALID; /* never: denominators are > 0 */
  i128 g = gcd128(acc->den, x.den), l, a, b;
  if (mul128(acc->den / g, x.den, &l) || mul128(acc->num, l / acc->den, &a) ||
      mul128(x.num, l / x.den, &b) || __builtin_add_overflow(a, b, &acc->num))
    return TKN_ERR_OVERFLOW;
  acc->den = l;
  g = gcd128(acc->num, acc->den);
  if (g > 1) acc->num /= g, acc->den /= g;
  return TKN_OK;
}

/* Round half up to a whole picodollar that fits int64. */
static int frac_round(frac f, int64_t *out) {
  i128 q = f.num / f.den, r = f.num % f.den;
  if (r >= f.den - r) q++; /* r / den >= 1/2 */
  if (q > INT64_MAX) return TKN_ERR_OVERFLOW;
  *out = (int64_t)q;
  return TKN_OK;
}

/* A rate (picodollars per million tokens) scaled by num/den (the batch
 * discount; 1/1 otherwise). */
typedef struct rate {
  int64_t per_mtok, num, den;
} rate;

/* tokens x rate, exactly: tokens x per_mtok x num / (1e6 x den). */
static int term(int64_t tokens, rate r, frac *out) {
  i128 v;
  if (mul128((i128)tokens * r.per_mtok, r.num, &v)) return TKN_ERR_OVERFLOW;
  out->num = v;
  out->den = (i128)1000000 * r.den;
  return TKN_OK;
}

/* ---- which price applies ---- */

enum { K_INPUT, K_OUTPUT, K_REASONING, K_CACHE_READ, K_WRITE_5M, K_WRITE_1H, K_COUNT };
/* TKN_PRICE_INPUT .. TKN_PRICE_CACHE_WRITE_1H are bits 0..5 in this order. */
static const size_t k_base_off[K_COUNT] = {
    offsetof(tkn_model_price, input_per_mtok),      offsetof(tkn_model_price, output_per_mtok),
    offsetof(tkn_model_price, reasoning_per_mtok),  offsetof(tkn_model_price, cache_read_per_mtok),
    offsetof(tkn_model_price, cache_write_5m_per_mtok),
    offsetof(tkn_model_price, cache_write_1h_per_mtok)};
static const size_t k_tier_off[K_COUNT] = {
    offsetof(tkn_price_tier, input_per_mtok),      offsetof(tkn_price_tier, output_per_mtok),
    offsetof(tkn_price_tier, reasoning_per_mtok),  offsetof(tkn_price_tier, cache_read_per_mtok),
    offsetof(tkn_price_tier, cache_write_5m_per_mtok),
    offsetof(tkn_price_tier, cache_write_1h_per_mtok)};

static int64_t read_i64(const void *base, size_t off) {
  int64_t v;
  memcpy(&v, (const char *)base + off, sizeof v);
  return v;
}

/* The price of kind k in tier t (-1: no tier): the highest tier at or below
 * t that prices it, else the base price.  0 if nothing prices it. */
static int kind_price(const tkn_model_price *p, int t, int k, int64_t *out) {
  for (; t >= 0; t--)
    if (p->tiers[t].has & (1u << k)) {
      *out = read_i64(&p->tiers[t], k_tier_off[k]);
      return 1;
    }
  if (!(p->has & (1u << k))) return 0;
  *out = read_i64(p, k_base_off[k]);
  return 1;
}

int tkn_prices_compute(const tkn_model_price *p, const tkn_usage *u, tkn_cost *out) {
  if (!p || !u || !out)
    return tki_fail_null("tkn_prices_compute", !p ? "price" : !u ? "usage" : "out");
  if (p->version != TKN_MODEL_PRICE_VERSION || out->version != TKN_COST_VERSION)
    return tki_fail(TKN_ERR_VERSION, "tkn_prices_compute: unknown version");
  int rc = tkn_usage_check(u);
  if (rc != TKN_OK) return rc;
  if ((p->has & (TKN_PRICE_INPUT | TKN_PRICE_OUTPUT)) != (TKN_PRICE_INPUT | TKN_PRICE_OUTPUT) ||
      p->tier_count > TKN_PRICE_MAX_TIERS)
    return tki_fail(TKN_ERR_INVALID, "tkn_prices_compute: a price without input and output rates, or too many tiers");

  int tier = -1;
  for (uint32_t i = 0; i < p->tier_count; i++)
    if (u->input_tokens > p->tiers[i].threshold) tier = (int)i;
  int batch = (u->flags & TKN_USAGE_BATCH) != 0;

  int64_t in = 0, outp = 0, cr = 0, w5 = 0, w1 = 0, rs = 0;
  kind_price(p, tier, K_INPUT, &in);
  kind_price(p, tier, K_OUTPUT, &outp);
  if (!kind_price(p, tier, K_CACHE_READ, &cr)) cr = in;
  if (!kind_price(p, tier, K_WRITE_5M, &w5)) w5 = in;
  if (!kind_price(p, tier, K_WRITE_1H, &w1)) w1 = w5;
  int has_rs = kind_price(p, tier, K_REASONING, &rs);
  if (!has_rs) rs = outp;

  rate r_in = {in, 1, 1}, r_out = {outp, 1, 1}, r_cr = {cr, 1, 1}, r_w5 = {w5, 1, 1},
       r_w1 = {w1, 1, 1}, r_rs = {rs, 1, 1};
  if (batch) {
    if ((p->has & (TKN_PRICE_INPUT_BATCH | TKN_PRICE_OUTPUT_BATCH)) !=
        (TKN_PRICE_INPUT_BATCH | TKN_PRICE_OUTPUT_BATCH))
      return tki_fail(TKN_ERR_NOT_FOUND, "tkn_prices_compute: not found");
    /* The batch discount as a fraction of the standard price, applied to every
     * kind on its side (input side: cache reads and writes too). */
    int64_t in_num = p->input_batch_per_mtok, in_den = p->input_per_mtok;
    int64_t out_num = p->output_batch_per_mtok, out_den = p->output_per_mtok;
    if (in_den <= 0) in_num = in_den = 1; /* a free model: the batch price is the price */
    if (out_den <= 0) out_num = out_den = 1;
    int64_t g = (int64_t)gcd128(in_num, in_den);
    if (g > 1) in_num /= g, in_den /= g;
    g = (int64_t)gcd128(out_num, out_den);
    if (g > 1) out_num /= g, out_den /= g;
    if (tier < 0) {
      r_in.per_mtok = p->input_batch_per_mtok;
      r_out.per_mtok = p->output_batch_per_mtok;
    } else {
      r_in.num = in_num, r_in.den = in_den;
      r_out.num = out_num, r_out.den = out_den;
    }
    r_cr.num = r_w5.num = r_w1.num = in_num;
    r_cr.den = r_w5.den = r_w1.den = in_den;
    /* the file's own batch cache prices, where it has them (no tier) */
    if (tier < 0 && (p->has & TKN_PRICE_CACHE_READ_BATCH))
      r_cr = (rate){p->cache_read_batch_per_mtok, 1, 1};
    if (tier < 0 && (p->has & TKN_PRICE_CACHE_WRITE_BATCH))
      r_w5 = (rate){p->cache_write_batch_per_mtok, 1, 1};
    if (has_rs) {
      r_rs.num = out_num, r_rs.den = out_den;
    } else {
      r_rs = r_out;
    }
  }

  int64_t plain = u->input_tokens - u->cache_read_tokens - u->cache_write_5m_tokens -
                  u->cache_write_1h_tokens;
  int64_t visible_out = u->output_tokens - u->reasoning_tokens;
  frac f_in, f_cr, f_w5, f_w1, f_out, f_rs;
  if ((rc = term(plain, r_in, &f_in)) || (rc = term(u->cache_read_tokens, r_cr, &f_cr)) ||
      (rc = term(u->cache_write_5m_tokens, r_w5, &f_w5)) ||
      (rc = term(u->cache_write_1h_tokens, r_w1, &f_w1)) ||
      (rc = term(visible_out, r_out, &f_out)) || (rc = term(u->reasoning_tokens, r_rs, &f_rs)))
    return rc;
  frac writes = f_w5, total = f_in;
  tkn_cost c = TKN_COST_INIT;
  if ((rc = frac_add(&writes, f_w1)) || (rc = frac_add(&total, f_cr)) ||
      (rc = frac_add(&total, writes)) || (rc = frac_add(&total, f_out)) ||
      (rc = frac_add(&total, f_rs)) || (rc = frac_round(total, &c.total)) ||
      (rc = frac_round(f_in, &c.input)) || (rc = frac_round(f_cr, &c.cache_read)) ||
      (rc = frac_round(writes, &c.cache_write)) || (rc = frac_round(f_out, &c.output)) ||
      (rc = frac_round(f_rs, &c.reasoning)))
    return rc;
  c.flags = (tier >= 0 ? TKN_COST_TIER : 0) | (batch ? TKN_COST_BATCH : 0);
  *out = c;
  return TKN_OK;
}

int tkn_prices_cost(const tkn_prices *prices, const char *model, size_t len,
                    const tkn_usage *usage, tkn_cost *out) {
  len = tki_len(model, len);
  if (!prices || !model || !usage || !out)
    return tki_fail_null("tkn_prices_cost",
                         !prices ? "prices" : !model ? "model" : !usage ? "usage" : "out");
  tkn_model_price p = TKN_MODEL_PRICE_INIT;
  int rc = tkn_prices_lookup(prices, model, len, &p);
  if (rc != TKN_OK) return rc;
  return tkn_prices_compute(&p, usage, out);
}
