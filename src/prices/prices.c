/* The price table: loading LiteLLM's model_prices_and_context_window.json
 * exactly, and finding a model by name.
 *
 * cJSON checks the text and gives the structure, but it turns numbers into
 * doubles, which cannot hold 1e-7 exactly.  So the loader walks the text a
 * second time in step with the cJSON tree (members come in the same order in
 * both) and hands the original characters of each price to the exact decimal
 * converter. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prices_internal.h"
#include "prices_names.h"

#define PRICES_MAX_DEPTH 64
#define MAX_NAME 256
#define RATE_SCALE 18 /* USD per token -> picodollars per million tokens */
#define MAX_ALIAS_HOPS 8

/* ---- the fields we read ---- */

typedef struct field_def {
  const char *name;
  uint32_t bit;
  size_t offset; /* of the int64_t in tkn_model_price */
  int kind;      /* 0..5: a price that tiers may override (the TKN_PRICE_ bit index); -1 not */
  int is_price;  /* 1: USD per token (scaled by 1e18); 0: an integer count */
} field_def;

#define F(n, b, m, k, p) {n, b, offsetof(tkn_model_price, m), k, p}
static const field_def k_fields[] = {
    F("input_cost_per_token", TKN_PRICE_INPUT, input_per_mtok, 0, 1),
    F("output_cost_per_token", TKN_PRICE_OUTPUT, output_per_mtok, 1, 1),
    F("output_cost_per_reasoning_token", TKN_PRICE_REASONING, reasoning_per_mtok, 2, 1),
    F("cache_read_input_token_cost", TKN_PRICE_CACHE_READ, cache_read_per_mtok, 3, 1),
    F("cache_creation_input_token_cost", TKN_PRICE_CACHE_WRITE_5M, cache_write_5m_per_mtok, 4, 1),
    F("cache_creation_input_token_cost_above_1hr", TKN_PRICE_CACHE_WRITE_1H,
      cache_write_1h_per_mtok, 5, 1),
    F("input_cost_per_token_batches", TKN_PRICE_INPUT_BATCH, input_batch_per_mtok, -1, 1),
    F("output_cost_per_token_batches", TKN_PRICE_OUTPUT_BATCH, output_batch_per_mtok, -1, 1),
    F("cache_read_input_token_cost_batches", TKN_PRICE_CACHE_READ_BATCH, cache_read_batch_per_mtok,
      -1, 1),
    F("cache_creation_input_token_cost_batches", TKN_PRICE_CACHE_WRITE_BATCH,
      cache_write_batch_per_mtok, -1, 1),
    F("max_input_tokens", TKN_PRICE_MAX_INPUT, max_input_tokens, -1, 0),
    F("max_output_tokens", TKN_PRICE_MAX_OUTPUT, max_output_tokens, -1, 0),
    F("prompt_cache_min_tokens", TKN_PRICE_CACHE_MIN, prompt_cache_min_tokens, -1, 0),
};
#undef F
#define N_FIELDS (sizeof k_fields / sizeof k_fields[0])
#define N_KINDS 6 /* the first six fields: the prices a tier can set */

static const size_t k_tier_off[N_KINDS] = {
    offsetof(tkn_price_tier, input_per_mtok),      offsetof(tkn_price_tier, output_per_mtok),
    offsetof(tkn_price_tier, reasoning_per_mtok),  offsetof(tkn_price_tier, cache_read_per_mtok),
    offsetof(tkn_price_tier, cache_write_5m_per_mtok),
    offsetof(tkn_price_tier, cache_write_1h_per_mtok)};

static const field_def *field_named(const char *name, size_t n) {
  for (size_t k = 0; k < N_FIELDS; k++)
    if (strlen(k_fields[k].name) == n && memcmp(k_fields[k].name, name, n) == 0)
      return &k_fields[k];
  return NULL;
}

/* "<price>_above_<N>k_tokens" with <price> one of the six tierable prices:
 * the price's field and the threshold N x 1000, else NULL. */
static const field_def *tier_field(const char *name, int64_t *threshold) {
  static const char suffix[] = "k_tokens";
  size_t n = strlen(name), sl = sizeof suffix - 1;
  if (n < sl || strcmp(name + n - sl, suffix) != 0) return NULL;
  size_t d = n - sl;
  while (d > 0 && name[d - 1] >= '0' && name[d - 1] <= '9') d--;
  size_t digits = n - sl - d;
  if (digits == 0 || digits > 9 || d < 7 || memcmp(name + d - 7, "_above_", 7) != 0) return NULL;
  const field_def *f = field_named(name, d - 7);
  if (!f || f->kind < 0) return NULL;
  int64_t v = 0;
  for (size_t i = d; i < n - sl; i++) v = v * 10 + (name[i] - '0');
  *threshold = v * 1000;
  return f;
}

/* Fields that carry money, by name; the ones not read are reported. */
static int is_money_field(const char *name) {
  return strstr(name, "cost") || strstr(name, "pric") || strstr(name, "multiplier");
}

/* ---- a scanner over text cJSON has already accepted ---- */

typedef struct scan {
  const char *s;
  size_t len, pos;
} scan;

static void sc_ws(scan *sc) {
  while (sc->pos < sc->len && (unsigned char)sc->s[sc->pos] <= 0x20) sc->pos++;
}

static void sc_string(scan *sc) { /* at the opening quote */
  sc->pos++;
  while (sc->pos < sc->len && sc->s[sc->pos] != '"') sc->pos += sc->s[sc->pos] == '\\' ? 2 : 1;
  sc->pos++;
}

static void sc_value(scan *sc) {
  char c = sc->pos < sc->len ? sc->s[sc->pos] : '\0';
  if (c == '"') {
    sc_string(sc);
  } else if (c == '{' || c == '[') {
    int depth = 0;
    while (sc->pos < sc->len) {
      c = sc->s[sc->pos];
      if (c == '"') {
        sc_string(sc);
        continue;
      }
      sc->pos++;
      if (c == '{' || c == '[') depth++;
      if ((c == '}' || c == ']') && --depth == 0) break;
    }
  } else { /* number or literal */
    while (sc->pos < sc->len) {
      c = sc->s[sc->pos];
      if (c == ',' || c == '}' || c == ']' || (unsigned char)c <= 0x20) break;
      sc->pos++;
    }
  }
}

/* Move to the value of the next member: past ws, the key, ws, ':' and ws. */
static void sc_member(scan *sc) {
  sc_ws(sc);
  if (sc->pos < sc->len && sc->s[sc->pos] == ',') sc->pos++;
  sc_ws(sc);
  sc_string(sc);
  sc_ws(sc);
  sc->pos++; /* ':' */
  sc_ws(sc);
}

/* ---- loading ---- */

static int load_aliases(tkn_prices *p, const char *json, size_t len, char err[TKI_ERRLEN]);

static void free_entry(tki_price_entry *e) {
  tki_free(e->key);
  tki_free(e->provider);
  tki_free(e->skip_reason);
  tki_free(e->written_key);
  tki_free(e->alias_of);
}

void tkn_prices_free(tkn_prices *p) {
  if (!p) return;
  for (size_t i = 0; i < p->count; i++) free_entry(&p->entries[i]);
  tki_free(p->entries);
  for (size_t i = 0; i < p->unmodelled_count; i++) {
    tki_free(p->unmodelled[i].field);
    tki_free(p->unmodelled[i].first_key);
  }
  tki_free(p->unmodelled);
  tki_free(p->unmodelled_index);
  tki_free(p->skipped_list);
  for (size_t i = 0; i < p->alias_count; i++) tki_free(p->alias_names[i]);
  tki_free(p->alias_names);
  tki_free(p->alias_lens);
  tki_free(p->alias_targets);
  tki_free(p->alias_index);
  tki_free(p->index);
  tki_free(p);
}

TKI_DEFINE_INIT(tkn_prices_options_init, tkn_prices_options, opts, TKN_PRICES_OPTIONS_VERSION,
                TKN_PRICES_OPTIONS_INIT)

TKI_DEFINE_INIT(tkn_model_price_init, tkn_model_price, price, TKN_MODEL_PRICE_VERSION,
                TKN_MODEL_PRICE_INIT)

static void ascii_lower(char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] >= 'A' && s[i] <= 'Z') s[i] = (char)(s[i] - 'A' + 'a');
}

/* Count one unmodelled money field of `model`. */
static int note_unmodelled(tkn_prices *p, const char *field, const char *model) {
  size_t fl = strlen(field);
  if (p->unmodelled_count * 2 + 2 > p->unmodelled_icap) {
    size_t cap = p->unmodelled_icap ? p->unmodelled_icap * 2 : 64;
    uint32_t *idx = tki_calloc(cap, sizeof *idx);
    tki_unmodelled *arr = tki_realloc(p->unmodelled, cap * sizeof *arr);
    if (!idx || !arr) {
      tki_free(idx);
      if (arr) p->unmodelled = arr;
      return TKN_ERR_NOMEM;
    }
    p->unmodelled = arr;
    for (size_t i = 0; i < p->unmodelled_count; i++) {
      const char *f = arr[i].field;
      size_t s = (size_t)tki_hash64(f, strlen(f), 2) & (cap - 1);
      while (idx[s]) s = (s + 1) & (cap - 1);
      idx[s] = (uint32_t)(i + 1);
    }
    tki_free(p->unmodelled_index);
    p->unmodelled_index = idx;
    p->unmodelled_icap = cap;
  }
  size_t mask = p->unmodelled_icap - 1, s = (size_t)tki_hash64(field, fl, 2) & mask;
  for (; p->unmodelled_index[s]; s = (s + 1) & mask) {
    tki_unmodelled *u = &p->unmodelled[p->unmodelled_index[s] - 1];
    if (strcmp(u->field, field) == 0) {
      u->entries++;
      return TKN_OK;
    }
  }
  tki_unmodelled u = {tki_strndup(field, fl), tki_strndup(model, strlen(model)), 1};
  if (!u.field || !u.first_key) {
    tki_free(u.field);
    tki_free(u.first_key);
    return TKN_ERR_NOMEM;
  }
  p->unmodelled[p->unmodelled_count++] = u;
  p->unmodelled_index[s] = (uint32_t)p->unmodelled_count;
  return TKN_OK;
}

/* A price written with more significant digits than a binary double holds
 * (DBL_DIG, 15) is a double printed in full, e.g. 2.0000000000000002e-07 for
 * $0.20 / Mtok.  Read such text at 15 significant digits, rounded half up, in
 * decimal (never through a double): TKN_OK and *v when that is exact at
 * RATE_SCALE, TKN_ERR_UNSUPPORTED otherwise (8/7 USD per Mtok stays a fault). */
#define DOUBLE_DIGITS 15
static int read_double_artefact(const char *text, size_t n, int64_t *v) {
  char digits[64];
  size_t nd = 0, i = 0, frac = 0;
  int seen_point = 0;
  if (i < n && text[i] == '-') return TKN_ERR_UNSUPPORTED; /* negative: a fault anyway */
  for (; i < n && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.'); i++) {
    if (text[i] == '.') {
      seen_point = 1;
      continue;
    }
    frac += (size_t)seen_point;
    if (nd == 0 && text[i] == '0') continue; /* leading zeros are not significant */
    if (nd == sizeof digits - 1) return TKN_ERR_UNSUPPORTED;
    digits[nd++] = text[i];
  }
  if (nd <= DOUBLE_DIGITS) return TKN_ERR_UNSUPPORTED;
  long exp10 = 0;
  if (i < n && (text[i] == 'e' || text[i] == 'E')) {
    char tail[16];
    size_t tl = n - i - 1;
    if (tl == 0 || tl >= sizeof tail) return TKN_ERR_UNSUPPORTED;
    memcpy(tail, text + i + 1, tl);
    tail[tl] = '\0';
    char *end = NULL;
    exp10 = strtol(tail, &end, 10);
    if (*end) return TKN_ERR_UNSUPPORTED;
  } else if (i != n) {
    return TKN_ERR_UNSUPPORTED;
  }
  /* value = digits x 10^(exp10 - frac); keep DOUBLE_DIGITS of them */
  exp10 += (long)(nd - DOUBLE_DIGITS) - (long)frac;
  int carry = digits[DOUBLE_DIGITS] >= '5';
  for (size_t k = DOUBLE_DIGITS; k-- > 0 && carry;) {
    carry = digits[k] == '9';
    digits[k] = carry ? '0' : (char)(digits[k] + 1);
  }
  char out[64];
  int len = snprintf(out, sizeof out, "%s%.*se%ld", carry ? "1" : "", DOUBLE_DIGITS, digits,
                     exp10);
  if (len <= 0 || (size_t)len >= sizeof out) return TKN_ERR_UNSUPPORTED;
  return tki_decimal_scaled(out, (size_t)len, RATE_SCALE, v);
}

/* One price or count at text [text, text+n) into *dst.  err gets the reason. */
static int read_number(const char *field, int is_price, const cJSON *item, const char *text,
                       size_t n, const char *model, int64_t *dst, char err[TKI_ERRLEN]) {
  if (!cJSON_IsNumber(item))
    return tki_err(err, TKN_ERR_SCHEMA, "prices: model \"%s\": field %s is not a number", model,
                   field);
  int64_t v;
  int rc = tki_decimal_scaled(text, n, is_price ? RATE_SCALE : 0, &v);
  if (rc == TKN_ERR_UNSUPPORTED && is_price && read_double_artefact(text, n, &v) == TKN_OK)
    rc = TKN_OK;
  if (rc == TKN_OK && v < 0)
    return tki_err(err, TKN_ERR_SCHEMA, "prices: model \"%s\": field %s is negative (%.*s)", model,
                   field, (int)n, text);
  if (rc == TKN_ERR_UNSUPPORTED)
    return tki_err(err, rc,
                   is_price ? "prices: model \"%s\": %s = %.*s is not exact at 1e-18 USD per token"
                            " (nor at a double's 15 digits)"
                            : "prices: model \"%s\": %s = %.*s is not an integer",
                   model, field, (int)n, text);
  if (rc == TKN_ERR_OVERFLOW)
    return tki_err(err, rc, "prices: model \"%s\": %s = %.*s is out of range", model, field,
                   (int)n, text);
  if (rc != TKN_OK)
    return tki_err(err, TKN_ERR_PARSE, "prices: model \"%s\": %s = %.*s is not a decimal number",
                   model, field, (int)n, text);
  *dst = v;
  return TKN_OK;
}

/* The tier of `threshold` in *price, made if new (kept sorted). */
static int tier_at(tkn_model_price *price, int64_t threshold, const char *model,
                   tkn_price_tier **out, char err[TKI_ERRLEN]) {
  uint32_t i = 0;
  while (i < price->tier_count && price->tiers[i].threshold < threshold) i++;
  if (i < price->tier_count && price->tiers[i].threshold == threshold) {
    *out = &price->tiers[i];
    return TKN_OK;
  }
  if (price->tier_count == TKN_PRICE_MAX_TIERS)
    return tki_err(err, TKN_ERR_SCHEMA, "prices: model \"%s\": more than %d price tiers", model,
                   TKN_PRICE_MAX_TIERS);
  memmove(&price->tiers[i + 1], &price->tiers[i], (price->tier_count - i) * sizeof *price->tiers);
  tkn_price_tier t = {0};
  t.threshold = threshold;
  price->tiers[i] = t;
  price->tier_count++;
  *out = &price->tiers[i];
  return TKN_OK;
}

static int set_tier_price(tkn_price_tier *t, int kind, int64_t v) {
  memcpy((char *)t + k_tier_off[kind], &v, sizeof v);
  t->has |= 1u << kind;
  return TKN_OK;
}

/* What read_entry gathers besides the prices. */
typedef struct entry_read {
  tkn_prices *p;
  const char *model;
  tkn_model_price price;
  const char *provider;
  const char *alias_of;
} entry_read;

/* Walk the object at sc (at its '{', `obj` its cJSON twin), calling fn on
 * each member with the text of its value. */
typedef int (*member_fn)(entry_read *r, const cJSON *item, const scan *sc, size_t v0, void *arg,
                         char err[TKI_ERRLEN]);
static int walk_object(scan *sc, const cJSON *obj, member_fn fn, entry_read *r, void *arg,
                       char err[TKI_ERRLEN]) {
  sc->pos++; /* '{' */
  for (const cJSON *f = obj->child; f; f = f->next) {
    sc_member(sc);
    size_t v0 = sc->pos;
    sc_value(sc);
    if (!f->string || cJSON_IsNull(f)) continue; /* LiteLLM writes null for "unknown" */
    int rc = fn(r, f, sc, v0, arg, err);
    if (rc != TKN_OK) return rc;
  }
  sc_ws(sc);
  sc->pos++; /* '}' */
  return TKN_OK;
}

/* One range of "tiered_pricing": {"range": [lo, hi], prices...}. */
typedef struct range_read {
  int64_t lo;
  int has_range;
  int by_results; /* priced by search results ("max_results_range"), not tokens */
  uint32_t has;
  int64_t v[N_KINDS];
} range_read;

static int range_member(entry_read *r, const cJSON *f, const scan *sc, size_t v0, void *arg,
                        char err[TKI_ERRLEN]) {
  range_read *rr = arg;
  if (strcmp(f->string, "range") == 0) {
    const cJSON *lo = cJSON_IsArray(f) ? f->child : NULL;
    if (!lo || !cJSON_IsNumber(lo) || !lo->next || lo->valuedouble < 0 ||
        lo->valuedouble > 1e15 || lo->valuedouble != (double)(int64_t)lo->valuedouble)
      return tki_err(err, TKN_ERR_SCHEMA,
                     "prices: model \"%s\": tiered_pricing range is not [lo, hi] in tokens",
                     r->model);
    rr->lo = (int64_t)lo->valuedouble;
    rr->has_range = 1;
    return TKN_OK;
  }
  if (strcmp(f->string, "max_results_range") == 0) {
    rr->by_results = 1;
    return TKN_OK;
  }
  const field_def *fd = field_named(f->string, strlen(f->string));
  if (fd && fd->kind >= 0 && fd->kind != 5) {
    char name[96];
    snprintf(name, sizeof name, "tiered_pricing.%s", fd->name);
    int rc = read_number(name, 1, f, sc->s + v0, sc->pos - v0, r->model, &rr->v[fd->kind], err);
    if (rc == TKN_OK) rr->has |= 1u << fd->kind;
    return rc;
  }
  if (is_money_field(f->string)) {
    char name[160];
    snprintf(name, sizeof name, "tiered_pricing.%.140s", f->string);
    if (note_unmodelled(r->p, name, r->model) != TKN_OK)
      return tki_err(err, TKN_ERR_NOMEM, "prices: out of memory");
  }
  return TKN_OK;
}

/* "tiered_pricing": the range from 0 sets the base prices, a range from
 * lo > 0 a tier above lo tokens. */
static int read_tiered_pricing(entry_read *r, const cJSON *arr, const scan *outer, size_t v0,
                               char err[TKI_ERRLEN]) {
  if (!cJSON_IsArray(arr))
    return tki_err(err, TKN_ERR_SCHEMA, "prices: model \"%s\": tiered_pricing is not an array",
                   r->model);
  scan sc = {outer->s, outer->len, v0 + 1}; /* past '[' */
  for (const cJSON *el = arr->child; el; el = el->next) {
    sc_ws(&sc);
    if (sc.pos < sc.len && sc.s[sc.pos] == ',') sc.pos++;
    sc_ws(&sc);
    if (!cJSON_IsObject(el))
      return tki_err(err, TKN_ERR_SCHEMA,
                     "prices: model \"%s\": tiered_pricing holds a non-object", r->model);
    range_read rr = {0};
    int rc = walk_object(&sc, el, range_member, r, &rr, err);
    if (rc != TKN_OK) return rc;
    if (!rr.has_range && rr.by_results) {
      /* search pricing by result count: not a token price */
      if (note_unmodelled(r->p, "tiered_pricing.max_results_range", r->model) != TKN_OK)
        return tki_err(err, TKN_ERR_NOMEM, "prices: out of memory");
      continue;
    }
    if (!rr.has_range)
      return tki_err(err, TKN_ERR_SCHEMA, "prices: model \"%s\": a tiered_pricing entry has no range",
                     r->model);
    for (int k = 0; k < N_KINDS; k++) {
      if (!(rr.has & (1u << k))) continue;
      if (rr.lo == 0) {
        memcpy((char *)&r->price + k_fields[k].offset, &rr.v[k], sizeof rr.v[k]);
        r->price.has |= k_fields[k].bit;
      } else {
        tkn_price_tier *t = NULL;
        if ((rc = tier_at(&r->price, rr.lo, r->model, &t, err)) != TKN_OK) return rc;
        if (t) set_tier_price(t, k, rr.v[k]);
      }
    }
  }
  return TKN_OK;
}

static int entry_member(entry_read *r, const cJSON *f, const scan *sc, size_t v0, void *arg,
                        char err[TKI_ERRLEN]) {
  (void)arg;
  const char *name = f->string;
  if (strcmp(name, "litellm_provider") == 0 || strcmp(name, "alias_of") == 0) {
    if (!cJSON_IsString(f))
      return tki_err(err, TKN_ERR_SCHEMA, "prices: model \"%s\": %s is not a string", r->model,
                     name);
    if (name[0] == 'l') r->provider = f->valuestring;
    else r->alias_of = f->valuestring;
    return TKN_OK;
  }
  if (strcmp(name, "tiered_pricing") == 0) return read_tiered_pricing(r, f, sc, v0, err);
  const char *text = sc->s + v0;
  size_t n = sc->pos - v0;
  const field_def *fd = field_named(name, strlen(name));
  if (fd) {
    int64_t v;
    int rc = read_number(name, fd->is_price, f, text, n, r->model, &v, err);
    if (rc != TKN_OK) return rc;
    memcpy((char *)&r->price + fd->offset, &v, sizeof v);
    r->price.has |= fd->bit;
    return TKN_OK;
  }
  int64_t threshold;
  if ((fd = tier_field(name, &threshold))) {
    int64_t v;
    tkn_price_tier *t = NULL;
    int rc = read_number(name, 1, f, text, n, r->model, &v, err);
    if (rc == TKN_OK) rc = tier_at(&r->price, threshold, r->model, &t, err);
    if (rc == TKN_OK && t) set_tier_price(t, fd->kind, v);
    return rc;
  }
  if (is_money_field(name) && note_unmodelled(r->p, name, r->model) != TKN_OK)
    return tki_err(err, TKN_ERR_NOMEM, "prices: out of memory");
  return TKN_OK;
}

/* Parse one model entry (sc at its '{', `obj` its cJSON twin) into *e. */
static int read_entry(tkn_prices *p, scan *sc, const cJSON *obj, const char *model,
                      tki_price_entry *e, char err[TKI_ERRLEN]) {
  entry_read r = {p, model, TKN_MODEL_PRICE_INIT, "", NULL};
  int rc = walk_object(sc, obj, entry_member, &r, NULL, err);
  if (rc != TKN_OK) return rc;
  size_t plen = strlen(r.provider);
  e->provider = tki_strndup(r.provider, plen);
  e->alias_of = r.alias_of ? tki_strndup(r.alias_of, strlen(r.alias_of)) : NULL;
  if (!e->provider || (r.alias_of && !e->alias_of)) {
    tki_free(e->provider);
    e->provider = NULL;
    return tki_err(err, TKN_ERR_NOMEM, "prices: out of memory");
  }
  ascii_lower(e->provider, plen);
  if (e->alias_of) ascii_lower(e->alias_of, strlen(e->alias_of));
  e->provider_len = plen;
  e->price = r.price;
  return TKN_OK;
}

static size_t slot_of(const uint32_t *index, size_t cap, const tki_price_entry *entries,
                      const char *key, size_t len) {
  size_t mask = cap - 1, i = (size_t)tki_hash64(key, len, 0) & mask;
  for (;;) {
    uint32_t v = index[i];
    if (!v) return i;
    const tki_price_entry *e = &entries[v - 1];
    if (e->key_len == len && memcmp(e->key, key, len) == 0) return i;
    i = (i + 1) & mask;
  }
}

static int build_index(tkn_prices *p) {
  size_t cap = 16;
  while (cap < p->count * 2 + 2) cap *= 2;
  p->index = tki_calloc(cap, sizeof *p->index);
  if (!p->index) return tki_fail(TKN_ERR_NOMEM, "out of memory");
  p->index_cap = cap;
  for (size_t i = 0; i < p->count; i++) {
    tki_price_entry *e = &p->entries[i];
    size_t s = slot_of(p->index, cap, p->entries, e->key, e->key_len);
    p->index[s] = (uint32_t)(i + 1); /* a later duplicate key wins */
  }
  return TKN_OK;
}

static const tki_price_entry *find_key(const tkn_prices *p, const char *key, size_t len) {
  if (len == 0 || !p->index_cap) return NULL;
  uint32_t v = p->index[slot_of(p->index, p->index_cap, p->entries, key, len)];
  return v ? &p->entries[v - 1] : NULL;
}

/* Store the entry `name` as skipped with `reason` (a tombstone). */
static int add_tombstone(tkn_prices *p, const char *name, const char *reason) {
  tki_price_entry *e = &p->entries[p->count];
  size_t nl = strlen(name);
  e->key = tki_strndup(name, nl);
  e->written_key = tki_strndup(name, nl);
  e->skip_reason = tki_strndup(reason, strlen(reason));
  e->provider = tki_strndup("", 0);
  if (!e->key || !e->written_key || !e->skip_reason || !e->provider) {
    free_entry(e);
    memset(e, 0, sizeof *e);
    return TKN_ERR_NOMEM;
  }
  ascii_lower(e->key, nl);
  e->key_len = nl;
  p->count++;
  return TKN_OK;
}

/* Turn a loaded entry into a tombstone (a fault found after reading it). */
static int skip_loaded(tki_price_entry *e, const char *reason) {
  char *r = tki_strndup(reason, strlen(reason));
  char *w = tki_strndup(e->key, e->key_len);
  if (!r || !w) {
    tki_free(r);
    tki_free(w);
    return TKN_ERR_NOMEM;
  }
  e->skip_reason = r;
  e->written_key = w;
  return TKN_OK;
}

/* Resolve every alias_of to its target's prices. */
static int resolve_alias_of(tkn_prices *p, int skip_invalid, char err[TKI_ERRLEN]) {
  for (size_t i = 0; i < p->count; i++) {
    tki_price_entry *e = &p->entries[i];
    if (!e->alias_of || e->skip_reason) continue;
    const tki_price_entry *t = e;
    char why[TKI_ERRLEN] = "";
    for (int hops = 0; t->alias_of && !why[0]; hops++) {
      const tki_price_entry *next = find_key(p, t->alias_of, strlen(t->alias_of));
      if (hops == MAX_ALIAS_HOPS || next == e)
        tki_err(why, TKN_ERR_SCHEMA, "prices: model \"%s\": alias_of forms a loop or a chain over %d",
                e->key, MAX_ALIAS_HOPS);
      else if (!next)
        tki_err(why, TKN_ERR_SCHEMA, "prices: model \"%s\": alias_of names missing key \"%s\"",
                e->key, t->alias_of);
      else if (next->skip_reason)
        tki_err(why, TKN_ERR_SCHEMA, "prices: model \"%s\": alias_of names skipped key \"%s\"",
                e->key, t->alias_of);
      else
        t = next;
    }
    if (why[0]) {
      if (!skip_invalid) return tki_err(err, TKN_ERR_SCHEMA, "%s", why);
      if (skip_loaded(e, why) != TKN_OK) return tki_err(err, TKN_ERR_NOMEM, "prices: out of memory");
      continue;
    }
    e->price = t->price; /* name/provider: the target's, as set before */
  }
  /* The alias_of texts are not needed any more; an entry with one is resolved. */
  for (size_t i = 0; i < p->count; i++) {
    tki_price_entry *e = &p->entries[i];
    if (e->alias_of && !e->skip_reason) {
      tki_free(e->alias_of);
      e->alias_of = NULL;
    }
  }
  return TKN_OK;
}

static int list_skipped(tkn_prices *p) {
  size_t n = 0;
  for (size_t i = 0; i < p->count; i++) n += p->entries[i].skip_reason != NULL;
  p->skipped_list = tki_calloc(n ? n : 1, sizeof *p->skipped_list);
  if (!p->skipped_list) return TKN_ERR_NOMEM;
  for (size_t i = 0; i < p->count; i++)
    if (p->entries[i].skip_reason) p->skipped_list[p->skipped++] = (uint32_t)i;
  p->loaded = p->count - p->skipped;
  return TKN_OK;
}

static int load(tkn_prices *p, const char *json, size_t len, const tkn_prices_options *o,
                char err[TKI_ERRLEN]) {
  cJSON *root = NULL;
  int rc = tki_json_parse(json, len, o->max_bytes > SIZE_MAX ? SIZE_MAX : (size_t)o->max_bytes,
                          PRICES_MAX_DEPTH, "prices", &root, err);
  if (rc != TKN_OK) return rc;
  if (!cJSON_IsObject(root)) {
    cJSON_Delete(root);
    return tki_err(err, TKN_ERR_SCHEMA, "prices: the top level is not a JSON object");
  }
  size_t n = 0;
  for (const cJSON *c = root->child; c; c = c->next) n++;
  if (n >= UINT32_MAX / 4) {
    cJSON_Delete(root);
    return tki_err(err, TKN_ERR_LIMIT, "prices: too many models");
  }
  p->entries = tki_calloc(n ? n : 1, sizeof *p->entries);
  if (!p->entries) {
    cJSON_Delete(root);
    return tki_err(err, TKN_ERR_NOMEM, "prices: out of memory");
  }
  scan sc = {json, len, 0};
  sc_ws(&sc);
  sc.pos++; /* '{' */
  char entry_err[TKI_ERRLEN];
  for (const cJSON *c = root->child; c; c = c->next) {
    sc_member(&sc);
    size_t v0 = sc.pos;
    const char *name = c->string ? c->string : "";
    if (strcmp(name, "sample_spec") == 0) {
      sc_value(&sc);
      continue;
    }
    size_t nl = strlen(name);
    int erc = TKN_OK;
    if (nl == 0 || nl > MAX_NAME) {
      erc = tki_err(entry_err, TKN_ERR_SCHEMA, "prices: a model name of %zu bytes (1 to %d allowed)",
                    nl, MAX_NAME);
      sc_value(&sc);
    } else if (!cJSON_IsObject(c)) {
      erc = tki_err(entry_err, TKN_ERR_SCHEMA, "prices: model \"%s\" is not a JSON object", name);
      sc_value(&sc);
    } else {
      tki_price_entry *e = &p->entries[p->count];
      erc = read_entry(p, &sc, c, name, e, entry_err);
      if (erc == TKN_OK) {
        e->key = tki_strndup(name, nl);
        if (!e->key) {
          free_entry(e);
          memset(e, 0, sizeof *e);
          erc = tki_err(entry_err, TKN_ERR_NOMEM, "prices: out of memory");
        } else {
          ascii_lower(e->key, nl);
          e->key_len = nl;
          p->count++;
        }
      } else {
        sc.pos = v0;
        sc_value(&sc);
      }
    }
    if (erc != TKN_OK) {
      if (erc == TKN_ERR_NOMEM || !o->skip_invalid) {
        cJSON_Delete(root);
        tki_copy_err(err, TKI_ERRLEN, entry_err);
        return erc;
      }
      if (nl > 0 && nl <= MAX_NAME ? add_tombstone(p, name, entry_err) != TKN_OK
                                   : add_tombstone(p, "", entry_err) != TKN_OK) {
        cJSON_Delete(root);
        return tki_err(err, TKN_ERR_NOMEM, "prices: out of memory");
      }
    }
  }
  cJSON_Delete(root);
  /* Point the public name/provider fields at the stored strings. */
  for (size_t i = 0; i < p->count; i++) {
    tki_price_entry *e = &p->entries[i];
    e->price.name = e->key;
    e->price.name_len = e->key_len;
    e->price.provider = e->provider;
    e->price.provider_len = e->provider_len;
  }
  if (build_index(p) != TKN_OK) return tki_err(err, TKN_ERR_NOMEM, "prices: out of memory");
  if ((rc = resolve_alias_of(p, (int)o->skip_invalid, err)) != TKN_OK) return rc;
  if (list_skipped(p) != TKN_OK) return tki_err(err, TKN_ERR_NOMEM, "prices: out of memory");
  if (o->aliases) return load_aliases(p, o->aliases, o->aliases_len, err);
  return TKN_OK;
}

int tkn_prices_load(tkn_prices **out, const char *json, size_t len,
                    const tkn_prices_options *opts) {
  len = tki_len(json, len);
  char err[TKI_ERRLEN] = "";
  if (out) *out = NULL;
  tkn_prices_options o = TKN_PRICES_OPTIONS_INIT;
  int rc = TKN_OK;
  if (!out || (!json && len)) {
    rc = tki_err(err, TKN_ERR_INVALID, "prices: %s", !out ? "out is NULL"
                                                          : "json is NULL with a length");
  } else if (opts && opts->version != TKN_PRICES_OPTIONS_VERSION) {
    rc = tki_err(err, TKN_ERR_VERSION, "prices: unknown options version %u",
                 (unsigned)opts->version);
  } else if (opts && opts->skip_invalid > 1) {
    rc = tki_err(err, TKN_ERR_INVALID, "prices: skip_invalid must be 0 or 1");
  } else if (opts && !opts->aliases && opts->aliases_len &&
             opts->aliases_len != TKN_NUL_TERMINATED) {
    rc = tki_err(err, TKN_ERR_INVALID, "prices: aliases is NULL with a length");
  } else {
    if (opts) o = *opts;
    o.aliases_len = tki_len(o.aliases, o.aliases_len);
    tkn_prices *p = tki_calloc(1, sizeof *p);
    if (!p) {
      rc = tki_err(err, TKN_ERR_NOMEM, "prices: out of memory");
    } else {
      rc = load(p, json ? json : "", len, &o, err);
      if (rc == TKN_OK) *out = p;
      else tkn_prices_free(p);
    }
  }
  return rc;
}

int tkn_prices_new_default(tkn_prices **out) {
  if (!out) return tki_fail_null("tkn_prices_new_default", "out");
  return tkn_prices_load(out, tki_default_prices_json, tki_default_prices_json_len, NULL);
}

const char *tkn_prices_default_json(size_t *len) {
  if (len) *len = tki_default_prices_json_len;
  return tki_default_prices_json;
}

size_t tkn_prices_count(const tkn_prices *p) { return p ? p->loaded : 0; }
size_t tkn_prices_skipped(const tkn_prices *p) { return p ? p->skipped : 0; }

int tkn_prices_skipped_at(const tkn_prices *p, size_t i, const char **key, const char **reason) {
  if (!p) return tki_fail_null("tkn_prices_skipped_at", "prices");
  if (i >= p->skipped)
    return tki_fail(TKN_ERR_INVALID, "tkn_prices_skipped_at: no skipped entry %zu", i);
  const tki_price_entry *e = &p->entries[p->skipped_list[i]];
  if (key) *key = e->written_key;
  if (reason) *reason = e->skip_reason;
  return TKN_OK;
}

size_t tkn_prices_unmodelled(const tkn_prices *p) { return p ? p->unmodelled_count : 0; }

int tkn_prices_unmodelled_at(const tkn_prices *p, size_t i, const char **field, size_t *entries,
                             const char **first_key) {
  if (!p) return tki_fail_null("tkn_prices_unmodelled_at", "prices");
  if (i >= p->unmodelled_count)
    return tki_fail(TKN_ERR_INVALID, "tkn_prices_unmodelled_at: no unmodelled field %zu", i);
  const tki_unmodelled *u = &p->unmodelled[i];
  if (field) *field = u->field;
  if (entries) *entries = u->entries;
  if (first_key) *first_key = u->first_key;
  return TKN_OK;
}

/* ---- lookup ---- */

static size_t alias_slot(const tkn_prices *p, const char *key, size_t len) {
  size_t mask = p->alias_icap - 1, i = (size_t)tki_hash64(key, len, 1) & mask;
  for (;;) {
    uint32_t v = p->alias_index[i];
    if (!v || (p->alias_lens[v - 1] == len && memcmp(p->alias_names[v - 1], key, len) == 0))
      return i;
    i = (i + 1) & mask;
  }
}

/* Rule 1: a key, else an alias. */
static const tki_price_entry *find_name(const tkn_prices *p, const char *key, size_t len) {
  const tki_price_entry *e = find_key(p, key, len);
  if (e || !p->alias_count || len == 0) return e;
  uint32_t a = p->alias_index[alias_slot(p, key, len)];
  return a ? &p->entries[p->alias_targets[a - 1]] : NULL;
}

static int is_d(char c) { return c >= '0' && c <= '9'; }

static int all_digits(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!is_d(s[i])) return 0;
  return 1;
}

size_t tki_prices_strip_date(const char *s, size_t n) {
  if (n > 9 && s[n - 9] == '-' && all_digits(s + n - 8, 8) && s[n - 8] == '2' && s[n - 7] == '0')
    return n - 9;
  if (n > 11 && s[n - 11] == '-' && all_digits(s + n - 10, 4) && s[n - 10] == '2' &&
      s[n - 9] == '0' && s[n - 6] == '-' && all_digits(s + n - 5, 2) && s[n - 3] == '-' &&
      all_digits(s + n - 2, 2))
    return n - 11;
  return n;
}

/* Rules 1-3 on one (lower-cased) name. */
static const tki_price_entry *find_core(const tkn_prices *p, const char *s, size_t n) {
  const tki_price_entry *e = find_name(p, s, n);
  if (e) return e;
  if (n > 3 && memcmp(s, "ft:", 3) == 0) {
    const char *colon = memchr(s + 3, ':', n - 3);
    return colon ? find_name(p, s, (size_t)(colon - s)) : NULL;
  }
  size_t d = tki_prices_strip_date(s, n);
  return d != n ? find_name(p, s, d) : NULL;
}

/* The provider of an entry is P, or of P's family ("vertex_ai-language-models" for P = vertex_ai). */
static int same_provider(const tki_price_entry *e, const char *prov, size_t n) {
  const char *ep = e->price.provider ? e->price.provider : "";
  size_t el = e->price.provider ? e->price.provider_len : 0;
  return el >= n && memcmp(ep, prov, n) == 0 && (el == n || ep[n] == '-');
}

/* The model makers whose own API a bare name means (rule 5). */
static const char *const k_makers[] = {"openai",   "anthropic", "gemini",     "mistral", "xai",
                                       "deepseek", "cohere",    "moonshot",   "zai",     "dashscope",
                                       "minimax",  "perplexity", "ai21"};

static const tki_price_entry *find_entry(const tkn_prices *p, const char *model, size_t len) {
  if (len == 0 || len > MAX_NAME || memchr(model, '\0', len)) return NULL;
  char name[MAX_NAME + 32];
  memcpy(name, model, len);
  ascii_lower(name, len);
  const tki_price_entry *e = find_core(p, name, len);
  if (e) return e;
  const char *slash = memchr(name, '/', len);
  if (slash) { /* rule 4 */
    size_t pl = (size_t)(slash - name);
    e = find_core(p, slash + 1, len - pl - 1);
    return e && (e->skip_reason || same_provider(e, name, pl)) ? e : NULL;
  }
  const tki_price_entry *found = NULL; /* rule 5 */
  for (size_t i = 0; i < sizeof k_makers / sizeof k_makers[0]; i++) {
    size_t ml = strlen(k_makers[i]);
    char key[MAX_NAME + 32];
    memcpy(key, k_makers[i], ml);
    key[ml] = '/';
    memcpy(key + ml + 1, name, len);
    e = find_core(p, key, ml + 1 + len);
    if (!e || !(e->skip_reason || same_provider(e, k_makers[i], ml))) continue;
    if (found && found != e) return NULL; /* two makers: ambiguous */
    found = e;
  }
  return found;
}

/* On a miss: the first key (file order) that starts with the name and goes
 * on, to say that a hand-counted length may have cut the name short. */
static const char *longer_key(const tkn_prices *p, const char *model, size_t len) {
  if (len > MAX_NAME) return NULL;
  for (size_t i = 0; i < p->count; i++) {
    const tki_price_entry *e = &p->entries[i];
    if (e->skip_reason || e->key_len <= len) continue;
    size_t j = 0;
    while (j < len && e->key[j] == ((model[j] >= 'A' && model[j] <= 'Z') ? model[j] + 32
                                                                          : model[j]))
      j++;
    if (j == len) return e->key;
  }
  return NULL;
}

int tkn_prices_lookup(const tkn_prices *p, const char *model, size_t len, tkn_model_price *out) {
  len = tki_len(model, len);
  if (!p || !model || !out)
    return tki_fail_null("tkn_prices_lookup", !p ? "prices" : !model ? "model" : "out");
  if (len == 0) return tki_fail(TKN_ERR_INVALID, "tkn_prices_lookup: model is empty");
  if (out->version != TKN_MODEL_PRICE_VERSION) return tki_fail(TKN_ERR_VERSION, "tkn_prices_lookup: unknown version");
  const tki_price_entry *e = find_entry(p, model, len);
  if (!e) {
    const char *longer = longer_key(p, model, len);
    if (longer)
      return tki_fail(TKN_ERR_NOT_FOUND, "prices: no entry for model \"%.*s\" (%zu bytes); "
                      "it is the start of \"%.128s\": was the length counted short? "
                      "(TKN_NUL_TERMINATED reads to the NUL)",
                      (int)(len > 128 ? 128 : len), model, len, longer);
    return tki_fail(TKN_ERR_NOT_FOUND, "prices: no entry for model \"%.*s\" (%zu bytes)",
                    (int)(len > 128 ? 128 : len), model, len);
  }
  if (e->skip_reason)
    return tki_fail(TKN_ERR_UNSUPPORTED, "prices: model \"%.*s\" was skipped when loading: %s",
                    (int)(len > 128 ? 128 : len), model, e->skip_reason);
  *out = e->price;
  return TKN_OK;
}

/* Read the aliases object and index it; the table itself is complete. */
static int load_aliases(tkn_prices *p, const char *json, size_t len, char err[TKI_ERRLEN]) {
  cJSON *root = NULL;
  int rc = tki_json_parse(json, len, 1u << 24, 4, "prices aliases", &root, err);
  if (rc != TKN_OK) return rc;
  if (!cJSON_IsObject(root)) {
    cJSON_Delete(root);
    return tki_err(err, TKN_ERR_SCHEMA, "prices aliases: not a JSON object");
  }
  size_t n = 0;
  for (const cJSON *c = root->child; c; c = c->next) n++;
  size_t cap = 16;
  while (cap < n * 2 + 2) cap *= 2;
  p->alias_names = tki_calloc(n ? n : 1, sizeof *p->alias_names);
  p->alias_lens = tki_calloc(n ? n : 1, sizeof *p->alias_lens);
  p->alias_targets = tki_calloc(n ? n : 1, sizeof *p->alias_targets);
  p->alias_index = tki_calloc(cap, sizeof *p->alias_index);
  if (!p->alias_names || !p->alias_lens || !p->alias_targets || !p->alias_index) {
    cJSON_Delete(root);
    return tki_err(err, TKN_ERR_NOMEM, "prices: out of memory");
  }
  p->alias_icap = cap;
  rc = TKN_OK;
  /* Aliases become visible to lookups (p->alias_count) only once all are
   * read, so that a target cannot be another alias. */
  size_t k = 0;
  for (const cJSON *c = root->child; c && rc == TKN_OK; c = c->next) {
    size_t nl = strlen(c->string);
    if (!cJSON_IsString(c)) {
      rc = tki_err(err, TKN_ERR_SCHEMA, "prices aliases: \"%s\" is not a string", c->string);
    } else if (nl == 0 || nl > MAX_NAME) {
      rc = tki_err(err, TKN_ERR_SCHEMA, "prices aliases: an alias of %zu bytes (1 to %d allowed)",
                   nl, MAX_NAME);
    } else {
      const tki_price_entry *e = find_entry(p, c->valuestring, strlen(c->valuestring));
      if (!e || e->skip_reason) {
        rc = tki_err(err, TKN_ERR_NOT_FOUND, "prices aliases: \"%s\" names unknown model \"%s\"",
                     c->string, c->valuestring);
      } else {
        char *name = tki_strndup(c->string, nl);
        if (!name) {
          rc = tki_err(err, TKN_ERR_NOMEM, "prices: out of memory");
        } else {
          ascii_lower(name, nl);
          size_t slot = alias_slot(p, name, nl);
          p->alias_names[k] = name;
          p->alias_lens[k] = nl;
          p->alias_targets[k] = (uint32_t)(e - p->entries);
          p->alias_index[slot] = (uint32_t)(k + 1); /* a repeated alias: the last wins */
          k++;
        }
      }
    }
  }
  p->alias_count = k;
  cJSON_Delete(root);
  return rc;
}

/* ---- OpenTelemetry provider names ---- */

const char *tkn_prices_otel_provider(const char *name, size_t len) {
  len = tki_len(name, len);
  static const struct {
    const char *litellm;
    int prefix; /* 1: any name starting so */
    const char *otel;
  } map[] = {
      {"openai", 0, "openai"},          {"text-completion-openai", 0, "openai"},
      {"anthropic", 0, "anthropic"},    {"gemini", 0, "gcp.gemini"},
      {"vertex_ai", 1, "gcp.vertex_ai"}, {"bedrock", 1, "aws.bedrock"},
      {"azure_ai", 0, "azure.ai.inference"}, {"azure", 0, "azure.ai.openai"},
      {"mistral", 0, "mistral_ai"},     {"xai", 0, "x_ai"},
      {"groq", 0, "groq"},              {"deepseek", 0, "deepseek"},
      {"cohere", 1, "cohere"},          {"perplexity", 0, "perplexity"},
      {"watsonx", 1, "ibm.watsonx.ai"},
  };
  if (!name) return NULL;
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
    size_t n = strlen(map[i].litellm);
    if (map[i].prefix ? len >= n && memcmp(name, map[i].litellm, n) == 0
                      : len == n && memcmp(name, map[i].litellm, n) == 0)
      return map[i].otel;
  }
  return NULL;
}
