/* The cost of a call: tokens of each kind times the price of that kind, in
 * integer picodollars.  The rules (which price applies, tiers, batch
 * discounts stacking with cache prices) are documented in prices.h. */
#include <string.h>

#include "prices_internal.h"

__extension__ typedef __int128 i128;

int tkn_cost_init(tkn_cost *cost, uint32_t version) {
  if (!cost) return TKN_ERR_INVALID;
  if (version != TKN_COST_VERSION) return TKN_ERR_VERSION;
  tkn_cost d = TKN_COST_INIT;
  *cost = d;
  return TKN_OK;
}

int tkn_usage_check(const tkn_usage *u) {
  if (!u) return TKN_ERR_INVALID;
  if (u->version != TKN_USAGE_VERSION) return TKN_ERR_VERSION;
  if (u->input_tokens < 0 || u->cache_read_tokens < 0 || u->cache_write_5m_tokens < 0 ||
      u->cache_write_1h_tokens < 0 || u->output_tokens < 0 || u->reasoning_tokens < 0)
    return TKN_ERR_INVALID;
  int64_t cached;
  if (tki_add_i64(u->cache_read_tokens, u->cache_write_5m_tokens, &cached) ||
      tki_add_i64(cached, u->cache_write_1h_tokens, &cached))
    return TKN_ERR_INVALID;
  if (cached > u->input_tokens || u->reasoning_tokens > u->output_tokens) return TKN_ERR_INVALID;
  return TKN_OK;
}

/* A price scaled by num/den (the batch discount), kept as a fraction. */
typedef struct rate {
  int64_t price, num, den;
} rate;

/* tokens x price x num / den, rounded half up, into *out. */
static int term(int64_t tokens, rate r, int64_t *out) {
  i128 v = (i128)tokens * r.price; /* < 2^126: both factors < 2^63 */
  if (r.num != r.den) {
    /* v < 2^126 and num < 2^63 would overflow; divide first when needed. */
    i128 lim = (((i128)1) << 126) / (r.num ? r.num : 1);
    if (v > lim) return TKN_ERR_OVERFLOW;
    v = (v * r.num + r.den / 2) / r.den;
  }
  if (v > INT64_MAX) return TKN_ERR_OVERFLOW;
  *out = (int64_t)v;
  return TKN_OK;
}

static int64_t pick(const tkn_model_price *p, uint32_t bit, int64_t v, int64_t fallback) {
  return (p->has & bit) ? v : fallback;
}

int tkn_prices_compute(const tkn_model_price *p, const tkn_usage *u, tkn_cost *out) {
  if (!p || !u || !out) return TKN_ERR_INVALID;
  if (p->version != TKN_MODEL_PRICE_VERSION || out->version != TKN_COST_VERSION)
    return TKN_ERR_VERSION;
  int rc = tkn_usage_check(u);
  if (rc != TKN_OK) return rc;
  if ((p->has & (TKN_PRICE_INPUT | TKN_PRICE_OUTPUT)) != (TKN_PRICE_INPUT | TKN_PRICE_OUTPUT))
    return TKN_ERR_INVALID;

  int tier = (p->has & TKN_PRICE_TIER_INPUT) && u->input_tokens > TKN_PRICES_TIER_THRESHOLD;
  int batch = (u->flags & TKN_USAGE_BATCH) != 0;

  /* Base prices of each kind, in the tier when it applies. */
  int64_t in = p->input, outp = p->output;
  int64_t cr = pick(p, TKN_PRICE_CACHE_READ, p->cache_read, in);
  int64_t w5 = pick(p, TKN_PRICE_CACHE_WRITE_5M, p->cache_write_5m, in);
  int64_t w1 = pick(p, TKN_PRICE_CACHE_WRITE_1H, p->cache_write_1h, w5);
  int64_t rs = pick(p, TKN_PRICE_REASONING, p->reasoning, outp);
  if (tier) {
    int64_t t_in = p->tier_input;
    int64_t t_out = pick(p, TKN_PRICE_TIER_OUTPUT, p->tier_output, outp);
    cr = pick(p, TKN_PRICE_TIER_CACHE_READ, p->tier_cache_read, cr);
    w5 = pick(p, TKN_PRICE_TIER_CACHE_WRITE_5M, p->tier_cache_write_5m, w5);
    w1 = pick(p, TKN_PRICE_TIER_CACHE_WRITE_1H, p->tier_cache_write_1h, w1);
    if (!(p->has & TKN_PRICE_REASONING)) rs = t_out;
    in = t_in;
    outp = t_out;
  }
  rate r_in = {in, 1, 1}, r_out = {outp, 1, 1}, r_cr = {cr, 1, 1}, r_w5 = {w5, 1, 1},
       r_w1 = {w1, 1, 1}, r_rs = {rs, 1, 1};
  if (batch) {
    if ((p->has & (TKN_PRICE_INPUT_BATCH | TKN_PRICE_OUTPUT_BATCH)) !=
        (TKN_PRICE_INPUT_BATCH | TKN_PRICE_OUTPUT_BATCH))
      return TKN_ERR_NOT_FOUND;
    /* The batch discount as a fraction of the standard price, applied to every
     * kind on its side (input side: cache reads and writes too). */
    int64_t in_num = p->input_batch, in_den = p->input;
    int64_t out_num = p->output_batch, out_den = p->output;
    if (in_den <= 0 || out_den <= 0) {
      /* A free model: the batch price is the price itself. */
      in_num = in_den = 1;
      out_num = out_den = 1;
    }
    if (!tier) {
      r_in.price = p->input_batch;
      r_out.price = p->output_batch;
    } else {
      r_in.num = in_num, r_in.den = in_den;
      r_out.num = out_num, r_out.den = out_den;
    }
    r_cr.num = r_w5.num = r_w1.num = in_num;
    r_cr.den = r_w5.den = r_w1.den = in_den;
    if (p->has & TKN_PRICE_REASONING) {
      r_rs.num = out_num, r_rs.den = out_den;
    } else {
      r_rs = r_out;
    }
  }

  int64_t plain = u->input_tokens - u->cache_read_tokens - u->cache_write_5m_tokens -
                  u->cache_write_1h_tokens;
  int64_t visible_out = u->output_tokens - u->reasoning_tokens;
  tkn_cost c = TKN_COST_INIT;
  int64_t t5, t1;
  if ((rc = term(plain, r_in, &c.input)) || (rc = term(u->cache_read_tokens, r_cr, &c.cache_read)) ||
      (rc = term(u->cache_write_5m_tokens, r_w5, &t5)) ||
      (rc = term(u->cache_write_1h_tokens, r_w1, &t1)) || (rc = tki_add_i64(t5, t1, &c.cache_write)) ||
      (rc = term(visible_out, r_out, &c.output)) ||
      (rc = term(u->reasoning_tokens, r_rs, &c.reasoning)))
    return rc;
  int64_t total = 0;
  if ((rc = tki_add_i64(total, c.input, &total)) || (rc = tki_add_i64(total, c.cache_read, &total)) ||
      (rc = tki_add_i64(total, c.cache_write, &total)) ||
      (rc = tki_add_i64(total, c.output, &total)) || (rc = tki_add_i64(total, c.reasoning, &total)))
    return rc;
  c.total = total;
  c.flags = (tier ? TKN_COST_TIER : 0) | (batch ? TKN_COST_BATCH : 0);
  *out = c;
  return TKN_OK;
}

int tkn_prices_cost(const tkn_prices *prices, const char *model, size_t len,
                    const tkn_usage *usage, tkn_cost *out) {
  if (!prices || !model || !usage || !out) return TKN_ERR_INVALID;
  tkn_model_price p = TKN_MODEL_PRICE_INIT;
  int rc = tkn_prices_lookup(prices, model, len, &p);
  if (rc != TKN_OK) return rc;
  return tkn_prices_compute(&p, usage, out);
}
