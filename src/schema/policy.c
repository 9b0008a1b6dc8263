/* What the host does around a structured-output call: how many tokens the
 * reply can need at most (output caps), whether a reply ran into its cap, and
 * what to do after a reply fails validation (retry policy). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "schema_internal.h"

/* ---- output caps ---- */

#define UNB (-1) /* unbounded */
#define CAP_MAX_DEPTH 256

typedef struct capctx {
  const tkn_tokenizer *tok;
  int64_t per_cp;
  int64_t quotes, braces, brackets, comma, colon, tnull, tbool;
  int status;
  const snode *visiting[CAP_MAX_DEPTH];
  int depth;
} capctx;

static int64_t count(capctx *c, const char *s, size_t n) {
  int64_t t = 0;
  int rc = tkn_tokenizer_count(c->tok, s, n, &t);
  if (rc && !c->status) c->status = rc;
  return rc ? 0 : t;
}

static int64_t add(capctx *c, int64_t a, int64_t b) {
  if (a == UNB || b == UNB) return UNB;
  int64_t r;
  if (tki_add_i64(a, b, &r)) {
    if (!c->status) c->status = TKN_ERR_OVERFLOW;
    return 0;
  }
  return r;
}

static int64_t mul(capctx *c, int64_t a, uint64_t k) {
  if (a == UNB) return UNB;
  if (k > INT64_MAX) k = INT64_MAX;
  int64_t r;
  if (tki_mul_i64(a, (int64_t)k, &r)) {
    if (!c->status) c->status = TKN_ERR_OVERFLOW;
    return 0;
  }
  return r;
}

static int64_t bmin(int64_t a, int64_t b) {
  if (a == UNB) return b;
  if (b == UNB) return a;
  return a < b ? a : b;
}

static int64_t bmax(int64_t a, int64_t b) {
  if (a == UNB || b == UNB) return UNB;
  return a > b ? a : b;
}

static int64_t value_tokens(capctx *c, const tki_sj *v) {
  tki_buf b;
  tki_buf_init(&b);
  tki_sj_write(v, &b);
  if (b.failed) {
    tki_buf_free(&b);
    if (!c->status) c->status = TKN_ERR_NOMEM;
    return 0;
  }
  int64_t t = count(c, b.data ? b.data : "", b.len);
  tki_buf_free(&b);
  return t;
}

static int64_t cap_node(capctx *c, const snode *n, uint8_t types);

/* Characters of the longest integer in [lo, hi]: each is at most one token. */
static int64_t integer_cap(const snode *n) {
  double lo = -INFINITY, hi = INFINITY;
  if (n->flags & K_MIN) lo = ceil(n->minimum);
  if (n->flags & K_XMIN) lo = fmax(lo, floor(n->xminimum) + 1);
  if (n->flags & K_MAX) hi = floor(n->maximum);
  if (n->flags & K_XMAX) hi = fmin(hi, ceil(n->xmaximum) - 1);
  const double big = 9007199254740992.0;
  if (!(fabs(lo) < big) || !(fabs(hi) < big)) return UNB;
  if (lo > hi) return 0;
  char a[40], b[40];
  snprintf(a, sizeof a, "%.0f", lo);
  snprintf(b, sizeof b, "%.0f", hi);
  size_t la = strlen(a), lb = strlen(b);
  return (int64_t)(la > lb ? la : lb);
}

static int64_t array_cap(capctx *c, const snode *n) {
  uint64_t most = UINT64_MAX;
  if (n->flags & K_MAXITEMS) most = n->max_items;
  if (n->items && n->items->boolean == 0 && n->nprefix < most) most = n->nprefix;
  if (most == UINT64_MAX) return UNB;
  int64_t total = add(c, c->brackets, most ? mul(c, c->comma, most - 1) : 0);
  uint64_t np = n->nprefix < most ? n->nprefix : most;
  for (uint64_t i = 0; i < np && total != UNB; i++) total = add(c, total, cap_node(c, n->prefix[i], 0x7F));
  if (most > np) total = add(c, total, n->items ? mul(c, cap_node(c, n->items, 0x7F), most - np) : UNB);
  return total;
}

static int64_t object_cap(capctx *c, const snode *n) {
  if (!n->additional || n->additional->boolean != 0 || n->npats) return UNB;
  int64_t total = c->braces;
  uint32_t present = 0;
  for (uint32_t i = 0; i < n->nprops && total != UNB; i++) {
    const snode *p = n->props[i].node;
    if (p->boolean == 0) continue; /* can never appear */
    tki_sj key;
    memset(&key, 0, sizeof key);
    key.type = TKI_SJ_STRING;
    key.u.str = n->props[i].key;
    key.n = n->props[i].klen;
    total = add(c, total, add(c, value_tokens(c, &key), add(c, c->colon, cap_node(c, p, 0x7F))));
    present++;
  }
  if (present > 1) total = add(c, total, mul(c, c->comma, present - 1));
  return total;
}

/* Largest of the types the node allows, by their own keywords. */
static int64_t type_cap(capctx *c, const snode *n, uint8_t t) {
  int64_t most = 0;
  if (t & TY_NULL) most = bmax(most, c->tnull);
  if (t & TY_BOOL) most = bmax(most, c->tbool);
  if (t & TY_NUM) most = UNB;
  else if (t & TY_INT) most = bmax(most, integer_cap(n));
  if (t & TY_STR)
    most = bmax(most, (n->flags & K_MAXLEN) ? add(c, c->quotes, mul(c, c->per_cp, n->max_len)) : UNB);
  if (t & TY_ARR) most = bmax(most, array_cap(c, n));
  if (t & TY_OBJ) most = bmax(most, object_cap(c, n));
  return most;
}

static int64_t list_max(capctx *c, snode *const *list, uint32_t n, uint8_t types) {
  int64_t most = 0;
  for (uint32_t i = 0; i < n && most != UNB; i++) most = bmax(most, cap_node(c, list[i], types));
  return most;
}

/* Every constraint bounds the output on its own; the tightest one wins.
 * `types` are the types the enclosing schema allows (an allOf branch without
 * "type" inherits its parent's). */
static int64_t cap_node(capctx *c, const snode *n, uint8_t types) {
  if (n->boolean == 1) return UNB;
  if (n->boolean == 0) return 0;
  for (int i = 0; i < c->depth; i++)
    if (c->visiting[i] == n) return UNB; /* recursion: no fixed size */
  if (c->depth == CAP_MAX_DEPTH || c->status) return UNB;
  c->visiting[c->depth++] = n;
  if (n->flags & K_TYPE) types &= n->types;
  int64_t best = UNB;
  if (n->flags & K_CONST) best = bmin(best, value_tokens(c, n->cnst));
  if (n->flags & K_ENUM) {
    int64_t most = 0;
    for (uint32_t i = 0; i < n->enums->n; i++) most = bmax(most, value_tokens(c, &n->enums->u.items[i]));
    best = bmin(best, most);
  }
  best = bmin(best, type_cap(c, n, types));
  if (n->ref) best = bmin(best, cap_node(c, n->ref, types));
  for (uint32_t i = 0; i < n->nall; i++) best = bmin(best, cap_node(c, n->all_of[i], types));
  if (n->nany) best = bmin(best, list_max(c, n->any_of, n->nany, types));
  if (n->none) best = bmin(best, list_max(c, n->one_of, n->none, types));
  if (n->if_) {
    int64_t with_if = cap_node(c, n->if_, types);
    int64_t with_then = n->then_ ? bmin(with_if, cap_node(c, n->then_, types)) : with_if;
    int64_t with_else = n->else_ ? cap_node(c, n->else_, types) : UNB;
    best = bmin(best, bmax(with_then, with_else));
  }
  c->depth--;
  return best;
}

TKI_DEFINE_INIT(tkn_schema_cap_options_init, tkn_schema_cap_options, opts, TKN_SCHEMA_CAP_OPTIONS_VERSION,
                TKN_SCHEMA_CAP_OPTIONS_INIT)

int tkn_schema_output_cap(const tkn_schema *s, const tkn_tokenizer *tok,
                          const tkn_schema_cap_options *opts, int64_t *max_tokens,
                          uint32_t *flags) {
  if (!s || !tok || !max_tokens || !flags)
    return tki_fail_null("tkn_schema_output_cap",
                         !s ? "schema" : !tok ? "tok" : !max_tokens ? "max_tokens" : "flags");
  *max_tokens = 0;
  *flags = 0;
  tkn_schema_cap_options o = TKN_SCHEMA_CAP_OPTIONS_INIT;
  if (opts) {
    if (opts->version != TKN_SCHEMA_CAP_OPTIONS_VERSION) return tki_fail(TKN_ERR_VERSION, "tkn_schema_output_cap: unknown version");
    o = *opts;
    if (o.tokens_per_code_point == 0)
      return tki_fail(TKN_ERR_INVALID, "tkn_schema_output_cap: opts->tokens_per_code_point is 0");
  }
  capctx *c = tki_calloc(1, sizeof *c);
  if (!c) return tki_fail(TKN_ERR_NOMEM, "tkn_schema_output_cap: out of memory");
  c->tok = tok;
  c->per_cp = o.tokens_per_code_point;
  c->quotes = count(c, "\"\"", 2);
  c->braces = count(c, "{}", 2);
  c->brackets = count(c, "[]", 2);
  c->comma = count(c, ",", 1);
  c->colon = count(c, ":", 1);
  c->tnull = count(c, "null", 4);
  c->tbool = count(c, "false", 5);
  int64_t t = count(c, "true", 4);
  if (t > c->tbool) c->tbool = t;
  int64_t cap = c->status ? 0 : cap_node(c, s->root, 0x7F);
  int rc = c->status;
  tki_free(c);
  if (rc) return rc;
  if (cap == UNB)
    *flags |= TKN_SCHEMA_CAP_UNBOUNDED;
  else
    *max_tokens = cap;
  return TKN_OK;
}

/* ---- near the limit ---- */

int tkn_schema_near_limit(const char *stop_reason, size_t stop_len, int64_t used, int64_t cap,
                          uint32_t *flags) {
  stop_len = tki_len(stop_reason, stop_len);
  if (!flags) return tki_fail_null("tkn_schema_near_limit", "flags");
  if (!stop_reason && stop_len)
    return tki_fail(TKN_ERR_INVALID, "tkn_schema_near_limit: stop_reason is NULL with a length");
  if (used < 0)
    return tki_fail(TKN_ERR_INVALID, "tkn_schema_near_limit: used is negative (%lld)",
                    (long long)used);
  *flags = 0;
  static const char *const stopped[] = {"length", "max_tokens", "MAX_TOKENS", "max_output_tokens"};
  for (size_t i = 0; stop_reason && i < sizeof stopped / sizeof stopped[0]; i++)
    if (strlen(stopped[i]) == stop_len && memcmp(stopped[i], stop_reason, stop_len) == 0)
      *flags |= TKN_SCHEMA_NEAR_STOPPED;
  /* used / cap >= 0.9  <=>  used >= cap - floor(cap / 10), without overflow */
  if (cap > 0 && used >= cap - cap / 10) *flags |= TKN_SCHEMA_NEAR_RATIO;
  return TKN_OK;
}

/* ---- retry policy ---- */

TKI_DEFINE_INIT(tkn_schema_retry_options_init, tkn_schema_retry_options, opts, TKN_SCHEMA_RETRY_OPTIONS_VERSION,
                TKN_SCHEMA_RETRY_OPTIONS_INIT)

static uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

static uint32_t tier_after(const tkn_schema_retry_options *o, uint32_t failures) {
  if (!o->escalate_after) return 0;
  uint32_t t = failures / o->escalate_after;
  return t < o->max_escalations ? t : o->max_escalations;
}

int tkn_schema_retry_next(const tkn_schema_retry_options *o, uint32_t failures,
                          tkn_schema_retry_step *step) {
  if (!o || !step) return tki_fail_null("tkn_schema_retry_next", !o ? "opts" : "step");
  if (failures == 0)
    return tki_fail(TKN_ERR_INVALID, "tkn_schema_retry_next: failures is 0 (counted from 1)");
  if (o->version != TKN_SCHEMA_RETRY_OPTIONS_VERSION) return tki_fail(TKN_ERR_VERSION, "tkn_schema_retry_next: unknown version");
  if (o->max_attempts < 1 || o->max_attempts > 100 || o->base_delay_ms < 0 ||
      o->max_delay_ms < o->base_delay_ms)
    return tki_fail(TKN_ERR_INVALID, "tkn_schema_retry_next: %s",
                    o->max_attempts < 1 || o->max_attempts > 100
                        ? "opts->max_attempts is not in [1, 100]"
                    : o->base_delay_ms < 0 ? "opts->base_delay_ms is negative"
                                           : "opts->max_delay_ms is less than opts->base_delay_ms");
  memset(step, 0, sizeof *step);
  step->attempt = failures + 1;
  step->tier = tier_after(o, failures);
  if (failures >= o->max_attempts) {
    step->action = TKN_SCHEMA_RETRY_GIVE_UP;
    step->tier = tier_after(o, failures - 1);
    return TKN_OK;
  }
  if (step->tier > tier_after(o, failures - 1)) {
    step->action = TKN_SCHEMA_RETRY_ESCALATE; /* another model: no reason to wait */
    return TKN_OK;
  }
  step->action = TKN_SCHEMA_RETRY_SAME_TIER;
  uint32_t on_tier = failures - step->tier * o->escalate_after; /* >= 1 */
  uint32_t k = on_tier - 1;
  int64_t ceiling = o->max_delay_ms;
  if (k < 62 && o->base_delay_ms <= (o->max_delay_ms >> k)) ceiling = o->base_delay_ms << k;
  uint64_t r = splitmix64(o->seed ^ splitmix64(failures));
  step->delay_ms = (int64_t)(r % ((uint64_t)ceiling + 1)); /* full jitter */
  return TKN_OK;
}
