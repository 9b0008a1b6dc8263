/* The price table: loading LiteLLM's model_prices_and_context_window.json
 * exactly, and finding a model by name.
 *
 * cJSON checks the text and gives the structure, but it turns numbers into
 * doubles, which cannot hold 1e-7 exactly.  So the loader walks the text a
 * second time in step with the cJSON tree (members come in the same order in
 * both) and hands the original characters of each price to the exact decimal
 * converter. */
#include <string.h>

#include "prices_internal.h"

#define PRICES_MAX_DEPTH 64
#define MAX_NAME 256

/* ---- the fields we read ---- */

typedef struct field_def {
  const char *name;
  uint32_t bit;
  size_t offset;  /* of the int64_t in tkn_model_price */
  int is_price;   /* 1: USD per token (scaled by 1e12); 0: an integer count */
} field_def;

#define F(n, b, m, p) {n, b, offsetof(tkn_model_price, m), p}
static const field_def k_fields[] = {
    F("input_cost_per_token", TKN_PRICE_INPUT, input, 1),
    F("output_cost_per_token", TKN_PRICE_OUTPUT, output, 1),
    F("output_cost_per_reasoning_token", TKN_PRICE_REASONING, reasoning, 1),
    F("cache_read_input_token_cost", TKN_PRICE_CACHE_READ, cache_read, 1),
    F("cache_creation_input_token_cost", TKN_PRICE_CACHE_WRITE_5M, cache_write_5m, 1),
    F("cache_creation_input_token_cost_above_1hr", TKN_PRICE_CACHE_WRITE_1H, cache_write_1h, 1),
    F("input_cost_per_token_batches", TKN_PRICE_INPUT_BATCH, input_batch, 1),
    F("output_cost_per_token_batches", TKN_PRICE_OUTPUT_BATCH, output_batch, 1),
    F("input_cost_per_token_above_200k_tokens", TKN_PRICE_TIER_INPUT, tier_input, 1),
    F("output_cost_per_token_above_200k_tokens", TKN_PRICE_TIER_OUTPUT, tier_output, 1),
    F("cache_read_input_token_cost_above_200k_tokens", TKN_PRICE_TIER_CACHE_READ,
      tier_cache_read, 1),
    F("cache_creation_input_token_cost_above_200k_tokens", TKN_PRICE_TIER_CACHE_WRITE_5M,
      tier_cache_write_5m, 1),
    F("cache_creation_input_token_cost_above_1hr_above_200k_tokens",
      TKN_PRICE_TIER_CACHE_WRITE_1H, tier_cache_write_1h, 1),
    F("max_input_tokens", TKN_PRICE_MAX_INPUT, max_input_tokens, 0),
    F("max_output_tokens", TKN_PRICE_MAX_OUTPUT, max_output_tokens, 0),
    F("prompt_cache_min_tokens", TKN_PRICE_CACHE_MIN, prompt_cache_min_tokens, 0),
};
#undef F
#define N_FIELDS (sizeof k_fields / sizeof k_fields[0])

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

static void free_entries(tkn_prices *p) {
  for (size_t i = 0; i < p->count; i++) {
    tki_free(p->entries[i].key);
    tki_free(p->entries[i].provider);
  }
  tki_free(p->entries);
  p->entries = NULL;
  p->count = 0;
}

void tkn_prices_free(tkn_prices *p) {
  if (!p) return;
  free_entries(p);
  for (size_t i = 0; i < p->alias_count; i++) tki_free(p->alias_names[i]);
  tki_free(p->alias_names);
  tki_free(p->alias_lens);
  tki_free(p->alias_targets);
  tki_free(p->alias_index);
  tki_free(p->index);
  tki_free(p->bare_index);
  tki_free(p);
}

int tkn_prices_options_init(tkn_prices_options *opts, uint32_t version) {
  if (!opts) return TKN_ERR_INVALID;
  if (version != TKN_PRICES_OPTIONS_VERSION) return TKN_ERR_VERSION;
  tkn_prices_options d = TKN_PRICES_OPTIONS_INIT;
  *opts = d;
  return TKN_OK;
}

int tkn_model_price_init(tkn_model_price *price, uint32_t version) {
  if (!price) return TKN_ERR_INVALID;
  if (version != TKN_MODEL_PRICE_VERSION) return TKN_ERR_VERSION;
  tkn_model_price d = TKN_MODEL_PRICE_INIT;
  *price = d;
  return TKN_OK;
}

static void ascii_lower(char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] >= 'A' && s[i] <= 'Z') s[i] = (char)(s[i] - 'A' + 'a');
}

/* Read one field's value (text at [v0, v1)) into *price.  err gets the reason. */
static int read_field(const field_def *f, const cJSON *item, const char *text, size_t n,
                      const char *model, tkn_model_price *price, char err[TKI_ERRLEN]) {
  if (cJSON_IsNull(item)) return TKN_OK; /* LiteLLM writes null for "unknown" */
  if (!cJSON_IsNumber(item))
    return tki_err(err, TKN_ERR_SCHEMA, "prices: model \"%s\": field %s is not a number", model,
                   f->name);
  int64_t v;
  int rc = tki_decimal_scaled(text, n, f->is_price ? 12 : 0, &v);
  if (rc == TKN_OK && v < 0)
    return tki_err(err, TKN_ERR_SCHEMA, "prices: model \"%s\": field %s is negative (%.*s)", model,
                   f->name, (int)n, text);
  if (rc == TKN_ERR_UNSUPPORTED)
    return tki_err(err, rc,
                   f->is_price
                       ? "prices: model \"%s\": %s = %.*s is finer than 1e-12 USD per token"
                       : "prices: model \"%s\": %s = %.*s is not an integer",
                   model, f->name, (int)n, text);
  if (rc == TKN_ERR_OVERFLOW)
    return tki_err(err, rc, "prices: model \"%s\": %s = %.*s is out of range", model, f->name,
                   (int)n, text);
  if (rc != TKN_OK)
    return tki_err(err, TKN_ERR_PARSE, "prices: model \"%s\": %s = %.*s is not a decimal number",
                   model, f->name, (int)n, text);
  *(int64_t *)((char *)price + f->offset) = v;
  price->has |= f->bit;
  return TKN_OK;
}

/* Parse one model entry (sc at its '{', `obj` its cJSON twin) into *e. */
static int read_entry(scan *sc, const cJSON *obj, const char *model, tki_price_entry *e,
                      char err[TKI_ERRLEN]) {
  tkn_model_price price = TKN_MODEL_PRICE_INIT;
  const char *provider = "";
  sc->pos++; /* '{' */
  for (const cJSON *f = obj->child; f; f = f->next) {
    sc_member(sc);
    size_t v0 = sc->pos;
    sc_value(sc);
    if (!f->string) continue;
    if (strcmp(f->string, "litellm_provider") == 0) {
      if (cJSON_IsString(f)) provider = f->valuestring;
      else if (!cJSON_IsNull(f))
        return tki_err(err, TKN_ERR_SCHEMA,
                       "prices: model \"%s\": litellm_provider is not a string", model);
      continue;
    }
    for (size_t k = 0; k < N_FIELDS; k++) {
      if (strcmp(f->string, k_fields[k].name) != 0) continue;
      int rc = read_field(&k_fields[k], f, sc->s + v0, sc->pos - v0, model, &price, err);
      if (rc != TKN_OK) return rc;
      break;
    }
  }
  sc_ws(sc);
  sc->pos++; /* '}' */
  size_t plen = strlen(provider);
  char *pcopy = tki_strndup(provider, plen);
  if (!pcopy) return tki_err(err, TKN_ERR_NOMEM, "prices: out of memory");
  ascii_lower(pcopy, plen);
  e->provider = pcopy;
  e->provider_len = plen;
  e->price = price;
  return TKN_OK;
}

static size_t slot_of(const uint32_t *index, size_t cap, const tki_price_entry *entries,
                      const char *key, size_t len, int bare) {
  size_t mask = cap - 1, i = (size_t)tki_hash64(key, len, 0) & mask;
  for (;;) {
    uint32_t v = index[i];
    if (!v) return i;
    const tki_price_entry *e = &entries[v - 1];
    const char *k = e->key;
    size_t kl = e->key_len;
    if (bare) {
      const char *slash = strrchr(k, '/');
      kl -= (size_t)(slash + 1 - k);
      k = slash + 1;
    }
    if (kl == len && memcmp(k, key, len) == 0) return i;
    i = (i + 1) & mask;
  }
}

static int build_index(tkn_prices *p) {
  size_t cap = 16;
  while (cap < p->count * 2 + 2) cap *= 2;
  p->index = tki_calloc(cap, sizeof *p->index);
  p->bare_index = tki_calloc(cap, sizeof *p->bare_index);
  if (!p->index || !p->bare_index) return TKN_ERR_NOMEM;
  p->index_cap = cap;
  for (size_t i = 0; i < p->count; i++) {
    tki_price_entry *e = &p->entries[i];
    size_t s = slot_of(p->index, cap, p->entries, e->key, e->key_len, 0);
    p->index[s] = (uint32_t)(i + 1); /* a later duplicate key wins */
    const char *slash = strrchr(e->key, '/');
    if (slash && slash[1]) {
      size_t bl = e->key_len - (size_t)(slash + 1 - e->key);
      s = slot_of(p->bare_index, cap, p->entries, slash + 1, bl, 1);
      if (!p->bare_index[s]) p->bare_index[s] = (uint32_t)(i + 1); /* the first wins */
    }
  }
  return TKN_OK;
}

int tki_prices_json_parse(const char *json, size_t len, size_t max_len, int max_depth,
                          const char *what, cJSON **out, char err[TKI_ERRLEN]) {
  int rc = tki_json_parse(json, len, max_len, max_depth, what, out, err);
  if (rc == TKN_ERR_PARSE) {
    cJSON *again = cJSON_ParseWithLength(json, len);
    if (again) {
      cJSON_Delete(again);
      return tki_err(err, TKN_ERR_NOMEM, "%s: out of memory while parsing", what);
    }
  }
  return rc;
}

static int load(tkn_prices *p, const char *json, size_t len, const tkn_prices_options *o,
                char err[TKI_ERRLEN]) {
  cJSON *root = NULL;
  int rc = tki_prices_json_parse(json, len, o->max_bytes > SIZE_MAX ? SIZE_MAX : (size_t)o->max_bytes,
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
      erc = read_entry(&sc, c, name, e, entry_err);
      if (erc == TKN_OK) {
        e->key = tki_strndup(name, nl);
        if (!e->key) {
          tki_free(e->provider);
          e->provider = NULL;
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
      if (p->skipped++ == 0) tki_copy_err(p->skip_reason, sizeof p->skip_reason, entry_err);
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
  if (o->aliases) return load_aliases(p, o->aliases, o->aliases_len, err);
  return TKN_OK;
}

int tkn_prices_load(tkn_prices **out, const char *json, size_t len,
                    const tkn_prices_options *opts, char *errbuf, size_t errlen) {
  char err[TKI_ERRLEN] = "";
  if (out) *out = NULL;
  tkn_prices_options o = TKN_PRICES_OPTIONS_INIT;
  int rc = TKN_OK;
  if (!out || (!json && len)) {
    rc = tki_err(err, TKN_ERR_INVALID, "prices: NULL argument");
  } else if (opts && opts->version != TKN_PRICES_OPTIONS_VERSION) {
    rc = tki_err(err, TKN_ERR_VERSION, "prices: unknown options version %u",
                 (unsigned)opts->version);
  } else if (opts && opts->skip_invalid > 1) {
    rc = tki_err(err, TKN_ERR_INVALID, "prices: skip_invalid must be 0 or 1");
  } else if (opts && !opts->aliases && opts->aliases_len) {
    rc = tki_err(err, TKN_ERR_INVALID, "prices: aliases is NULL with a length");
  } else {
    if (opts) o = *opts;
    tkn_prices *p = tki_calloc(1, sizeof *p);
    if (!p) {
      rc = tki_err(err, TKN_ERR_NOMEM, "prices: out of memory");
    } else {
      rc = load(p, json ? json : "", len, &o, err);
      if (rc == TKN_OK) *out = p;
      else tkn_prices_free(p);
    }
  }
  if (rc != TKN_OK) tki_copy_err(errbuf, errlen, err);
  return rc;
}

int tkn_prices_new_default(tkn_prices **out) {
  return tkn_prices_load(out, tki_default_prices_json, tki_default_prices_json_len, NULL, NULL, 0);
}

const char *tkn_prices_default_json(size_t *len) {
  if (len) *len = tki_default_prices_json_len;
  return tki_default_prices_json;
}

size_t tkn_prices_count(const tkn_prices *p) { return p ? p->count : 0; }
size_t tkn_prices_skipped(const tkn_prices *p) { return p ? p->skipped : 0; }
const char *tkn_prices_skip_reason(const tkn_prices *p) { return p ? p->skip_reason : ""; }

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

static const tki_price_entry *find(const tkn_prices *p, const uint32_t *index, const char *key,
                                   size_t len, int bare) {
  if (len == 0) return NULL;
  size_t s = slot_of(index, p->index_cap, p->entries, key, len, bare);
  if (index[s]) return &p->entries[index[s] - 1];
  if (!bare && p->alias_count) {
    uint32_t a = p->alias_index[alias_slot(p, key, len)];
    if (a) return &p->entries[p->alias_targets[a - 1]];
  }
  return NULL;
}

static int is_d(char c) { return c >= '0' && c <= '9'; }

static size_t strip_latest(const char *s, size_t n) {
  static const char suf[] = "-latest";
  size_t k = sizeof suf - 1;
  return n > k && memcmp(s + n - k, suf, k) == 0 ? n - k : n;
}

static int all_digits(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!is_d(s[i])) return 0;
  return 1;
}

/* "-YYYYMMDD", "-YYYY-MM-DD" or "-NNN" at the end. */
static size_t strip_snapshot(const char *s, size_t n) {
  if (n > 9 && s[n - 9] == '-' && all_digits(s + n - 8, 8) && s[n - 8] == '2' && s[n - 7] == '0')
    return n - 9;
  if (n > 11 && s[n - 11] == '-' && all_digits(s + n - 10, 4) && s[n - 6] == '-' &&
      all_digits(s + n - 5, 2) && s[n - 3] == '-' && all_digits(s + n - 2, 2))
    return n - 11;
  if (n > 4 && s[n - 4] == '-' && all_digits(s + n - 3, 3)) return n - 4;
  return n;
}

/* Try a name and its rewrites (rules 1-4) against one index. */
static const tki_price_entry *find_variants(const tkn_prices *p, const uint32_t *index,
                                            const char *s, size_t n, int bare) {
  const tki_price_entry *e;
  if ((e = find(p, index, s, n, bare))) return e;
  size_t n1 = strip_latest(s, n);
  if (n1 != n && (e = find(p, index, s, n1, bare))) return e;
  size_t n2 = strip_snapshot(s, n1);
  if (n2 != n1 && (e = find(p, index, s, n2, bare))) return e;
  char d[MAX_NAME];
  int changed = 0;
  memcpy(d, s, n);
  for (size_t i = 1; i + 1 < n; i++)
    if (d[i] == '.' && is_d(d[i - 1]) && is_d(d[i + 1])) {
      d[i] = '-';
      changed = 1;
    }
  if (!changed) return NULL;
  if ((e = find(p, index, d, n, bare))) return e;
  n1 = strip_latest(d, n);
  n2 = strip_snapshot(d, n1);
  if (n2 != n && (e = find(p, index, d, n2, bare))) return e;
  return NULL;
}

static const tki_price_entry *find_entry(const tkn_prices *p, const char *model, size_t len) {
  if (len == 0 || len > MAX_NAME || memchr(model, '\0', len)) return NULL;
  char name[MAX_NAME];
  memcpy(name, model, len);
  ascii_lower(name, len);
  const tki_price_entry *e = NULL;
  size_t start = 0;
  for (;;) {
    e = find_variants(p, p->index, name + start, len - start, 0);
    if (e) break;
    const char *slash = memchr(name + start, '/', len - start);
    if (!slash) break;
    start = (size_t)(slash + 1 - name);
  }
  if (!e) e = find_variants(p, p->bare_index, name + start, len - start, 1);
  return e;
}

int tkn_prices_lookup(const tkn_prices *p, const char *model, size_t len, tkn_model_price *out) {
  if (!p || !model || !out || len == 0) return TKN_ERR_INVALID;
  if (out->version != TKN_MODEL_PRICE_VERSION) return TKN_ERR_VERSION;
  const tki_price_entry *e = find_entry(p, model, len);
  if (!e) return TKN_ERR_NOT_FOUND;
  *out = e->price;
  return TKN_OK;
}

/* Read the aliases object and index it; the table itself is complete. */
static int load_aliases(tkn_prices *p, const char *json, size_t len, char err[TKI_ERRLEN]) {
  cJSON *root = NULL;
  int rc = tki_prices_json_parse(json, len, 1u << 24, 4, "prices aliases", &root, err);
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
      if (!e) {
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
