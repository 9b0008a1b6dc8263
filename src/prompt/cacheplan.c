/* The prompt-cache planner: replays a stream of requests against a model of
 * one provider's prompt cache (OpenAI automatic prefix caching, Anthropic
 * breakpoints with TTLs, Gemini explicit context caches) and accounts the
 * input cost exactly, in pico-USD.  Each request is simulated in two phases,
 * a pure lookup and a commit, so that a request that fails (bad input,
 * overflow, out of memory) leaves the planner as it was. */
#include <stdio.h>
#include <string.h>

#include "prompt_internal.h"

#define TTL_5M_MS 300000
#define TTL_1H_MS 3600000
#define ANTHROPIC_LOOKBACK 20
#define OPENAI_STEP 128
#define MAX_STATS 32

typedef struct entry {
  uint64_t key;
  int64_t last;   /* OpenAI: last use */
  int64_t expiry; /* Anthropic: expiry time */
  uint32_t ttl;
  uint32_t used;
} entry;

typedef struct seg_stat {
  char name[TKN_PROMPT_MAX_NAME + 1];
  uint32_t lint_kinds;
  int64_t changes;
} seg_stat;

/* What add_prompt knows about a request's segments (for advice). */
typedef struct seg_desc {
  const char *name;
  size_t name_len;
  uint32_t lint_kinds;
} seg_desc;

struct tkn_cacheplan {
  tkn_cacheplan_options o;
  int64_t min, pin, pread, pw5, pw1, pstore;
  entry *map;
  size_t mapcap, mapn;
  uint64_t *prev_fp; /* the previous request's block fingerprints */
  size_t prev_n, prev_cap;
  int64_t last_t;
  uint64_t prev_version;
  int has_prev;
  /* totals */
  int64_t requests, input, cached, written, cost_without, cost_with, storage;
  int64_t prefix_changes, expired, below_min, below_min_tokens;
  /* Gemini's explicit cache */
  int gem_active;
  uint64_t gem_fp;
  int64_t gem_tokens, gem_created, gem_expiry, gem_caches, gem_reads;
  /* advice */
  seg_stat stats[MAX_STATS];
  size_t nstats;
  char order_issue[256];
};

/* ---- a fingerprint -> entry map (open addressing) ---- */

static size_t slot_of(const tkn_cacheplan *c, uint64_t key) {
  size_t mask = c->mapcap - 1, i = (size_t)(key * 0x9E3779B97F4A7C15ULL) & mask;
  while (c->map[i].used && c->map[i].key != key) i = (i + 1) & mask;
  return i;
}

static entry *find(const tkn_cacheplan *c, uint64_t key) {
  if (!c->mapcap) return NULL;
  entry *e = &c->map[slot_of(c, key)];
  return e->used ? e : NULL;
}

/* Room for `extra` more entries (load <= 1/2), so that inserts cannot fail. */
static int reserve(tkn_cacheplan *c, size_t extra) {
  size_t need = c->mapn + extra;
  if (need <= c->mapcap / 2) return TKN_OK;
  size_t cap = c->mapcap ? c->mapcap : 64;
  while (cap / 2 < need) {
    if (cap > SIZE_MAX / 4 / sizeof(entry)) return tki_fail(TKN_ERR_NOMEM, "out of memory");
    cap *= 2;
  }
  entry *old = c->map;
  size_t oldcap = c->mapcap;
  entry *m = tki_calloc(cap, sizeof *m);
  if (!m) return tki_fail(TKN_ERR_NOMEM, "out of memory");
  c->map = m;
  c->mapcap = cap;
  for (size_t i = 0; i < oldcap; i++)
    if (old[i].used) c->map[slot_of(c, old[i].key)] = old[i];
  tki_free(old);
  return TKN_OK;
}

static entry *upsert(tkn_cacheplan *c, uint64_t key) {
  entry *e = &c->map[slot_of(c, key)];
  if (!e->used) {
    memset(e, 0, sizeof *e);
    e->used = 1;
    e->key = key;
    c->mapn++;
  }
  return e;
}

/* ---- options ---- */

TKI_DEFINE_INIT(tkn_cacheplan_options_init, tkn_cacheplan_options, opts, TKN_CACHEPLAN_OPTIONS_VERSION,
                TKN_CACHEPLAN_OPTIONS_INIT)

/* price * num / den, rounded half up, for the derived prices. */
static int64_t derive(int64_t price, int64_t num, int64_t den) {
  __int128 v = ((__int128)price * num + den / 2) / den;
  return v > INT64_MAX ? -1 : (int64_t)v;
}

/* The first field of valid-looking options that is out of its range. */
static const char *bad_option(const tkn_cacheplan_options *o) {
  if (o->provider < TKN_PROVIDER_OPENAI || o->provider > TKN_PROVIDER_GEMINI)
    return "opts->provider is not a TKN_PROVIDER_* value";
  if (o->price_input <= 0) return "opts->price_input is not positive";
  if (o->min_cache_tokens < 0) return "opts->min_cache_tokens is negative";
  if (o->openai_idle_ms <= 0) return "opts->openai_idle_ms is not positive";
  if (o->gemini_ttl_ms <= 0) return "opts->gemini_ttl_ms is not positive";
  if (o->price_cache_read < 0) return "opts->price_cache_read is negative";
  if (o->price_cache_write_5m < 0) return "opts->price_cache_write_5m is negative";
  if (o->price_cache_write_1h < 0) return "opts->price_cache_write_1h is negative";
  if (o->price_storage_hour < 0) return "opts->price_storage_hour is negative";
  return "opts->model is NULL with a length";
}

int tkn_cacheplan_new(tkn_cacheplan **out, const tkn_cacheplan_options *opts) {
  if (!out) return tki_fail(TKN_ERR_INVALID, "tkn_cacheplan_new: out is NULL");
  *out = NULL;
  if (!opts) return tki_fail(TKN_ERR_INVALID, "tkn_cacheplan_new: opts is NULL");
  if (opts->version != TKN_CACHEPLAN_OPTIONS_VERSION) return tki_fail(TKN_ERR_VERSION, "tkn_cacheplan_new: unknown version");
  tkn_cacheplan_options norm = *opts; /* model_len may be TKN_NUL_TERMINATED */
  norm.model_len = tki_len(norm.model, norm.model_len);
  const tkn_cacheplan_options *o = &norm;
  if (o->provider < TKN_PROVIDER_OPENAI || o->provider > TKN_PROVIDER_GEMINI ||
      o->price_input <= 0 || o->min_cache_tokens < 0 || o->openai_idle_ms <= 0 ||
      o->gemini_ttl_ms <= 0 || o->price_cache_read < 0 || o->price_cache_write_5m < 0 ||
      o->price_cache_write_1h < 0 || o->price_storage_hour < 0 || (!o->model && o->model_len))
    return tki_fail(TKN_ERR_INVALID, "tkn_cacheplan_new: %s", bad_option(o));
  /* no model and no minimum: 1024, the smallest documented minimum of each provider */
  int64_t min = o->min_cache_tokens ? o->min_cache_tokens : 1024;
  if (!o->min_cache_tokens && o->model && o->model_len &&
      tkn_prompt_min_cache_tokens(o->provider, o->model, o->model_len, &min) != TKN_OK)
    return tki_fail_prefix("tkn_cacheplan_new: ");
  tkn_cacheplan *c = tki_calloc(1, sizeof *c);
  if (!c) return tki_fail(TKN_ERR_NOMEM, "tkn_cacheplan_new: out of memory");
  c->o = *o;
  c->o.model = NULL; /* not kept: the caller's string may not outlive us */
  c->o.model_len = 0;
  c->min = min;
  c->pin = o->price_input;
  static const int64_t read_pct[4] = {0, 50, 10, 25};
  c->pread = o->price_cache_read ? o->price_cache_read : derive(c->pin, read_pct[o->provider], 100);
  c->pw5 = o->price_cache_write_5m ? o->price_cache_write_5m : derive(c->pin, 125, 100);
  c->pw1 = o->price_cache_write_1h ? o->price_cache_write_1h : derive(c->pin, 200, 100);
  c->pstore = o->price_storage_hour ? o->price_storage_hour : 1000000;
  if (c->pread < 0 || c->pw5 < 0 || c->pw1 < 0) {
    tki_free(c);
    return tki_fail(TKN_ERR_OVERFLOW, "tkn_cacheplan_new: integer overflow");
  }
  *out = c;
  return TKN_OK;
}

void tkn_cacheplan_free(tkn_cacheplan *c) {
  if (!c) return;
  tki_free(c->map);
  tki_free(c->prev_fp);
  tki_free(c);
}


/* ---- one request ---- */

typedef struct req {
  const tkn_cacheplan_block *b;
  size_t n;
  int64_t *cum; /* cumulative tokens at the end of each block */
  int64_t t, input;
  size_t static_end; /* last STATIC_END block, or SIZE_MAX */
  /* lookup results */
  int64_t cached, w5, w1, gem_write, storage_add, cost_with, cost_without;
  int64_t read_billed; /* Gemini: prefix tokens billed at the cached price */
  size_t hit; /* block of the hit, or SIZE_MAX */
  int expired, below_min;
  int auto_bp; /* Anthropic: no flagged breakpoint means the last block */
  int64_t stable_tokens;
} req;

static int64_t ttl_ms(uint32_t ttl) { return ttl == TKN_CACHE_TTL_1H ? TTL_1H_MS : TTL_5M_MS; }

/* Storage of `tokens` for `ms`, pico-USD, rounded half up; -1 on overflow. */
static int64_t storage_cost(const tkn_cacheplan *c, int64_t tokens, int64_t ms) {
  if (ms <= 0) return 0;
  __int128 v = (__int128)tokens * c->pstore;
  if (v > INT64_MAX) return -1;
  v = (v * ms + TTL_1H_MS / 2) / TTL_1H_MS;
  return v > INT64_MAX ? -1 : (int64_t)v;
}

static void lookup_openai(const tkn_cacheplan *c, req *r) {
  int64_t matched = 0;
  int stale = 0;
  for (size_t k = r->n; k-- > 0;) {
    if (r->cum[k] < c->min) break;
    const entry *e = find(c, r->b[k].fingerprint);
    if (!e) continue;
    if (r->t - e->last <= c->o.openai_idle_ms) {
      matched = r->cum[k];
      r->hit = k;
      break;
    }
    stale = 1;
  }
  r->cached = matched / OPENAI_STEP * OPENAI_STEP;
  r->expired = !matched && stale;
  r->stable_tokens = r->static_end == SIZE_MAX ? r->input : r->cum[r->static_end];
}

static void commit_openai(tkn_cacheplan *c, const req *r) {
  for (size_t k = 0; k < r->n; k++)
    if (r->cum[k] >= c->min) upsert(c, r->b[k].fingerprint)->last = r->t;
}

/* Anthropic breakpoints of the request: flagged blocks, or the last one. */
static size_t an_breakpoints(const req *r, size_t *bp) {
  size_t n = 0;
  for (size_t k = 0; k < r->n && n < 4; k++)
    if (r->b[k].flags & TKN_CACHEPLAN_BREAKPOINT) bp[n++] = k;
  if (n == 0 && r->n && r->auto_bp) bp[n++] = r->n - 1;
  return n;
}

static void lookup_anthropic(const tkn_cacheplan *c, req *r) {
  size_t bp[4];
  size_t nbp = an_breakpoints(r, bp);
  int64_t best = 0;
  int stale = 0;
  for (size_t i = 0; i < nbp; i++) {
    size_t lo = bp[i] + 1 > ANTHROPIC_LOOKBACK ? bp[i] + 1 - ANTHROPIC_LOOKBACK : 0;
    for (size_t k = bp[i] + 1; k-- > lo;) {
      const entry *e = find(c, r->b[k].fingerprint);
      if (!e || r->cum[k] < c->min) continue;
      if (e->expiry >= r->t) {
        if (r->cum[k] > best) {
          best = r->cum[k];
          r->hit = k;
        }
        break;
      }
      stale = 1;
    }
  }
  r->cached = best;
  r->expired = !best && stale;
  int64_t covered = best;
  r->stable_tokens = 0;
  for (size_t i = 0; i < nbp; i++) {
    int64_t end = r->cum[bp[i]];
    if (end > r->stable_tokens) r->stable_tokens = end;
    if (end < c->min || end <= covered) continue;
    if (r->b[bp[i]].flags & TKN_CACHEPLAN_TTL_1H) r->w1 += end - covered;
    else r->w5 += end - covered;
    covered = end;
  }
}

static void commit_anthropic(tkn_cacheplan *c, const req *r) {
  size_t bp[4];
  size_t nbp = an_breakpoints(r, bp);
  if (r->hit != SIZE_MAX) {
    entry *e = upsert(c, r->b[r->hit].fingerprint);
    e->expiry = r->t + ttl_ms(e->ttl);
  }
  for (size_t i = 0; i < nbp; i++) {
    if (r->cum[bp[i]] < c->min) continue;
    entry *e = upsert(c, r->b[bp[i]].fingerprint);
    e->ttl = (r->b[bp[i]].flags & TKN_CACHEPLAN_TTL_1H) ? TKN_CACHE_TTL_1H : TKN_CACHE_TTL_5M;
    e->expiry = r->t + ttl_ms(e->ttl);
  }
}

static int lookup_gemini(const tkn_cacheplan *c, req *r) {
  if (r->static_end == SIZE_MAX) return TKN_OK;
  int64_t p = r->cum[r->static_end];
  uint64_t fp = r->b[r->static_end].fingerprint;
  r->stable_tokens = p;
  if (p < c->min) return TKN_OK;
  if (c->gem_active && c->gem_fp == fp && r->t < c->gem_expiry) {
    r->cached = r->read_billed = p;
    r->hit = r->static_end;
    return TKN_OK;
  }
  r->expired = c->gem_active && c->gem_fp == fp;
  if (c->gem_active) {
    int64_t until = r->t < c->gem_expiry ? r->t : c->gem_expiry;
    r->storage_add = storage_cost(c, c->gem_tokens, until - c->gem_created);
    if (r->storage_add < 0) return TKN_ERR_OVERFLOW;
  }
  /* the request that creates the cache reads it at the cached price, but it
   * is no hit: the prefix was just paid for in full */
  r->gem_write = p;
  r->read_billed = p;
  return TKN_OK;
}

static void commit_gemini(tkn_cacheplan *c, const req *r) {
  if (r->gem_write) {
    c->gem_active = 1;
    c->gem_fp = r->b[r->static_end].fingerprint;
    c->gem_tokens = r->gem_write;
    c->gem_created = r->t;
    c->gem_expiry = r->t + c->o.gemini_ttl_ms;
    c->gem_caches++;
  }
  if (r->read_billed) c->gem_reads++;
}

/* cost_with and cost_without of the request; TKN_ERR_OVERFLOW if too big. */
static int price_request(const tkn_cacheplan *c, req *r) {
  int64_t read = c->o.provider == TKN_PROVIDER_GEMINI ? r->read_billed : r->cached;
  int64_t uncached = r->input - read - r->w5 - r->w1;
  int64_t a, b, d, e, f, g;
  if (tki_mul_i64(r->input, c->pin, &r->cost_without) || tki_mul_i64(read, c->pread, &a) ||
      tki_mul_i64(r->w5, c->pw5, &b) || tki_mul_i64(r->w1, c->pw1, &d) ||
      tki_mul_i64(uncached, c->pin, &e) || tki_mul_i64(r->gem_write, c->pin, &f) ||
      tki_add_i64(a, b, &g) || tki_add_i64(g, d, &g) || tki_add_i64(g, e, &g) ||
      tki_add_i64(g, f, &g) || tki_add_i64(g, r->storage_add, &r->cost_with))
    return TKN_ERR_OVERFLOW;
  return TKN_OK;
}

/* The first block whose fingerprint differs from the previous request's. */
static size_t first_diff(const tkn_cacheplan *c, const req *r) {
  size_t k = 0;
  while (k < r->n && k < c->prev_n && r->b[k].fingerprint == c->prev_fp[k]) k++;
  return k;
}

static void note_change(tkn_cacheplan *c, const req *r, const seg_desc *segs, size_t nseg) {
  size_t k = first_diff(c, r);
  if (k >= r->n) return;
  uint32_t si = r->b[k].segment;
  char name[TKN_PROMPT_MAX_NAME + 1];
  uint32_t kinds = 0;
  if (segs && si < nseg) {
    size_t len = segs[si].name_len > TKN_PROMPT_MAX_NAME ? TKN_PROMPT_MAX_NAME : segs[si].name_len;
    memcpy(name, segs[si].name, len);
    name[len] = '\0';
    kinds = segs[si].lint_kinds;
  } else if (si != TKN_PROMPT_NONE) {
    snprintf(name, sizeof name, "#%u", si);
  } else {
    snprintf(name, sizeof name, "block %zu", k);
  }
  for (size_t i = 0; i < c->nstats; i++) {
    if (strcmp(c->stats[i].name, name) == 0) {
      c->stats[i].changes++;
      c->stats[i].lint_kinds |= kinds;
      return;
    }
  }
  if (c->nstats == MAX_STATS) return;
  seg_stat *s = &c->stats[c->nstats++];
  memcpy(s->name, name, sizeof name);
  s->lint_kinds = kinds;
  s->changes = 1;
}

static int add_request(tkn_cacheplan *c, int64_t t, const tkn_cacheplan_block *blocks, size_t n,
                       const seg_desc *segs, size_t nseg, int auto_bp) {
  if (n && !blocks) return tki_fail(TKN_ERR_INVALID, "cacheplan: blocks are NULL");
  if (n > TKN_CACHEPLAN_MAX_BLOCKS)
    return tki_fail(TKN_ERR_LIMIT, "cacheplan: %zu blocks (limit %d)", n,
                   TKN_CACHEPLAN_MAX_BLOCKS);
  if (c->requests && t < c->last_t)
    return tki_fail(TKN_ERR_INVALID,
                   "cacheplan: request %lld at %lld ms is before the previous one (%lld ms)",
                   (long long)c->requests, (long long)t, (long long)c->last_t);
  req r;
  memset(&r, 0, sizeof r);
  r.b = blocks;
  r.n = n;
  r.t = t;
  r.hit = r.static_end = SIZE_MAX;
  r.auto_bp = auto_bp;
  r.cum = tki_calloc(n ? n : 1, sizeof *r.cum);
  if (!r.cum) return tki_fail(TKN_ERR_NOMEM, "cacheplan: out of memory");
  int rc = TKN_OK;
  size_t nbp = 0;
  for (size_t k = 0; k < n && !rc; k++) {
    if (blocks[k].tokens < 0)
      rc = tki_fail(TKN_ERR_INVALID, "cacheplan: block %zu has %lld tokens", k,
                   (long long)blocks[k].tokens);
    else if (tki_add_i64(r.input, blocks[k].tokens, &r.input))
      rc = tki_fail(TKN_ERR_OVERFLOW, "cacheplan: token count overflows at block %zu", k);
    r.cum[k] = r.input;
    if (blocks[k].flags & TKN_CACHEPLAN_STATIC_END) r.static_end = k;
    if (blocks[k].flags & TKN_CACHEPLAN_BREAKPOINT) nbp++;
  }
  if (!rc && nbp > 4 && c->o.provider == TKN_PROVIDER_ANTHROPIC)
    rc = tki_fail(TKN_ERR_INVALID, "cacheplan: %zu breakpoints (Anthropic allows 4)", nbp);
  if (!rc && (reserve(c, n + 1) ||
              (n && tki_grow((void **)&c->prev_fp, &c->prev_cap, n, sizeof *c->prev_fp))))
    rc = tki_fail(TKN_ERR_NOMEM, "cacheplan: out of memory");
  if (!rc) {
    switch (c->o.provider) {
    case TKN_PROVIDER_OPENAI: lookup_openai(c, &r); break;
    case TKN_PROVIDER_ANTHROPIC: lookup_anthropic(c, &r); break;
    default: rc = lookup_gemini(c, &r); break;
    }
  }
  if (!rc) rc = price_request(c, &r);
  int64_t cached, written, without, with, storage, input;
  if (!rc && (tki_add_i64(c->cached, r.cached, &cached) ||
              tki_add_i64(c->written, r.w5 + r.w1 + r.gem_write, &written) ||
              tki_add_i64(c->cost_without, r.cost_without, &without) ||
              tki_add_i64(c->cost_with, r.cost_with, &with) ||
              tki_add_i64(c->storage, r.storage_add, &storage) ||
              tki_add_i64(c->input, r.input, &input)))
    rc = TKN_ERR_OVERFLOW;
  if (rc == TKN_ERR_OVERFLOW) tki_fail(rc, "cacheplan: a cost or token total overflows");
  if (rc) {
    tki_free(r.cum);
    return rc;
  }
  /* commit */
  switch (c->o.provider) {
  case TKN_PROVIDER_OPENAI: commit_openai(c, &r); break;
  case TKN_PROVIDER_ANTHROPIC: commit_anthropic(c, &r); break;
  default: commit_gemini(c, &r); break;
  }
  uint64_t version = r.static_end == SIZE_MAX ? 0 : blocks[r.static_end].fingerprint;
  if (c->has_prev && version != c->prev_version) {
    c->prefix_changes++;
    note_change(c, &r, segs, nseg);
  }
  if (r.stable_tokens < c->min) {
    c->below_min++;
    c->below_min_tokens = r.stable_tokens;
  }
  c->expired += r.expired;
  c->cached = cached;
  c->written = written;
  c->cost_without = without;
  c->cost_with = with;
  c->storage = storage;
  c->input = input;
  c->requests++;
  c->last_t = t;
  c->prev_version = version;
  c->has_prev = 1;
  for (size_t k = 0; k < n; k++) {
    c->prev_fp[k] = blocks[k].fingerprint;
  }
  c->prev_n = n;
  tki_free(r.cum);
  return TKN_OK;
}

int tkn_cacheplan_add_blocks(tkn_cacheplan *c, int64_t time_ms, const tkn_cacheplan_block *blocks,
                             size_t n) {
  if (!c) return tki_fail_null("tkn_cacheplan_add_blocks", "plan");
  return add_request(c, time_ms, blocks, n, NULL, 0, 1);
}

int tkn_cacheplan_add_prompt(tkn_cacheplan *c, int64_t time_ms, const tkn_prompt *p) {
  if (!c) return tki_fail_null("tkn_cacheplan_add_prompt", "plan");
  if (!p) return tki_fail_null("tkn_cacheplan_add_prompt", "p");
  size_t n = p->nblock;
  tkn_cacheplan_block *b = tki_calloc(n ? n : 1, sizeof *b);
  seg_desc *segs = tki_calloc(p->nseg ? p->nseg : 1, sizeof *segs);
  if (!b || !segs) {
    tki_free(b);
    tki_free(segs);
    return tki_fail(TKN_ERR_NOMEM, "cacheplan: out of memory");
  }
  for (size_t k = 0; k < n; k++) {
    b[k].fingerprint = p->blocks[k].fp;
    b[k].tokens = p->blocks[k].tokens;
    b[k].segment = p->blocks[k].segment;
  }
  for (size_t si = 0; si < p->nseg; si++) {
    const tki_aseg *s = &p->segs[si];
    segs[si].name = p->arena + s->name_off;
    segs[si].name_len = s->name_len;
    segs[si].lint_kinds = s->lint_kinds;
    if (s->stability == TKN_STABILITY_STATIC && s->block_count && p->version == s->fp)
      b[s->first_block + s->block_count - 1].flags |= TKN_CACHEPLAN_STATIC_END;
  }
  if (c->o.provider == TKN_PROVIDER_ANTHROPIC) {
    uint32_t bpb[TKN_PROMPT_MAX_SEGMENTS], bpt[TKN_PROMPT_MAX_SEGMENTS];
    size_t nbp = tki_prompt_breakpoints(p, c->min, 4, bpb, bpt);
    for (size_t i = 0; i < nbp; i++)
      b[bpb[i]].flags |= TKN_CACHEPLAN_BREAKPOINT | (bpt[i] == TKN_CACHE_TTL_1H ? TKN_CACHEPLAN_TTL_1H : 0);
  }
  /* no breakpoint placed means nothing is written: no implicit last-block one */
  int rc = add_request(c, time_ms, b, n, segs, p->nseg, 0);
  if (!rc && !c->order_issue[0]) {
    for (size_t i = 0; i < p->nfinding; i++) {
      const tkn_prompt_finding *f = &p->findings[i];
      if (f->kind != TKN_ISSUE_ORDER) continue;
      const tki_aseg *s = &p->segs[f->segment], *o = &p->segs[f->other];
      snprintf(c->order_issue, sizeof c->order_issue,
               "segment `%.*s` is %s but sits before the %s segment `%.*s`: every change to it "
               "re-sends everything after it uncached; move it after `%.*s`",
               (int)(s->name_len > 40 ? 40 : s->name_len), p->arena + s->name_off,
               tkn_prompt_stability_name(s->stability), tkn_prompt_stability_name(o->stability),
               (int)(o->name_len > 40 ? 40 : o->name_len), p->arena + o->name_off,
               (int)(o->name_len > 40 ? 40 : o->name_len), p->arena + o->name_off);
      break;
    }
  }
  tki_free(b);
  tki_free(segs);
  return rc;
}

/* ---- results ---- */

static int64_t breakeven(const tkn_cacheplan *c) {
  if (c->pin <= c->pread) return 0;
  __int128 num = (__int128)c->pin * TTL_1H_MS + (__int128)c->pstore * c->o.gemini_ttl_ms;
  __int128 den = (__int128)(c->pin - c->pread) * TTL_1H_MS;
  __int128 v = num / den + 1;
  return v > INT64_MAX ? 0 : (int64_t)v;
}

/* Storage of the cache still alive, billed to its expiry. */
static int64_t live_storage(const tkn_cacheplan *c) {
  return c->gem_active ? storage_cost(c, c->gem_tokens, c->gem_expiry - c->gem_created) : 0;
}

int tkn_cacheplan_result_get(tkn_cacheplan *c, tkn_cacheplan_result *out) {
  if (!c || !out) return tki_fail_null("tkn_cacheplan_result_get", !c ? "plan" : "out");
  if (out->version != TKN_CACHEPLAN_RESULT_VERSION) return tki_fail(TKN_ERR_VERSION, "tkn_cacheplan_result_get: unknown version");
  int64_t live = live_storage(c), with, storage;
  if (live < 0 || tki_add_i64(c->cost_with, live, &with) || tki_add_i64(c->storage, live, &storage))
    return tki_fail(TKN_ERR_OVERFLOW, "cacheplan: storage cost overflows");
  memset(out, 0, sizeof *out);
  out->version = TKN_CACHEPLAN_RESULT_VERSION;
  out->provider = c->o.provider;
  out->requests = c->requests;
  out->input_tokens = c->input;
  out->cached_tokens = c->cached;
  out->written_tokens = c->written;
  out->hit_rate_ppm = c->input ? (int64_t)((__int128)c->cached * 1000000 / c->input) : 0;
  out->cost_without = c->cost_without;
  out->cost_with = with;
  out->storage_cost = storage;
  out->prefix_changes = c->prefix_changes;
  out->expired = c->expired;
  out->breakeven_requests = c->o.provider == TKN_PROVIDER_GEMINI ? breakeven(c) : 0;
  return TKN_OK;
}

/* pico-USD as dollars with 6 decimals ("$0.012345", "-$1.500000"). */
static void put_money(tki_buf *b, int64_t pico) {
  uint64_t v = pico < 0 ? (uint64_t)0 - (uint64_t)pico : (uint64_t)pico;
  uint64_t micro = v / 1000000;
  tki_buf_printf(b, "%s$%llu.%06llu", pico < 0 ? "-" : "", (unsigned long long)(micro / 1000000),
                 (unsigned long long)(micro % 1000000));
}

static void put_pct(tki_buf *b, int64_t part, int64_t whole) {
  int64_t permille = whole ? (int64_t)((__int128)part * 1000 / whole) : 0;
  tki_buf_printf(b, "%lld.%lld%%", (long long)(permille / 10), (long long)(permille % 10));
}

static const char *holds_phrase(uint32_t kinds) {
  static const uint32_t order[] = {TKN_LINT_TIMESTAMP, TKN_LINT_DATE,      TKN_LINT_TIME,
                                   TKN_LINT_UUID,      TKN_LINT_COUNTER,   TKN_LINT_HEX_ID,
                                   TKN_LINT_BASE64_ID};
  static const char *const phrase[] = {"a timestamp", "a date",      "a time",       "a UUID",
                                       "a counter",   "a hex id",    "a base64 id"};
  for (size_t i = 0; i < sizeof order / sizeof *order; i++)
    if (kinds & (1u << order[i])) return phrase[i];
  return NULL;
}

static const char *provider_name(uint32_t p) {
  return p == TKN_PROVIDER_OPENAI ? "OpenAI" : p == TKN_PROVIDER_ANTHROPIC ? "Anthropic" : "Gemini";
}

int tkn_cacheplan_advice(tkn_cacheplan *c, char **out, size_t *out_len) {
  if (!c || !out) return tki_fail_null("tkn_cacheplan_advice", !c ? "plan" : "out");
  *out = NULL;
  tkn_cacheplan_result r;
  memset(&r, 0, sizeof r);
  r.version = TKN_CACHEPLAN_RESULT_VERSION;
  int rc = tkn_cacheplan_result_get(c, &r);
  if (rc) return rc;
  tki_buf b;
  tki_buf_init(&b);
  if (c->prefix_changes * 10 > c->requests) {
    const seg_stat *top = NULL;
    for (size_t i = 0; i < c->nstats; i++)
      if (!top || c->stats[i].changes > top->changes) top = &c->stats[i];
    tki_buf_puts(&b, "the static prefix changed in ");
    put_pct(&b, c->prefix_changes, c->requests);
    tki_buf_puts(&b, " of requests");
    if (top) {
      const char *holds = holds_phrase(top->lint_kinds);
      tki_buf_printf(&b, ": segment `%s` %s%s", top->name, holds ? "holds " : "changed",
                     holds ? holds : "");
      tki_buf_puts(&b, holds ? "; move it to the dynamic tail, after the history"
                             : "; keep it byte-identical between requests or declare it volatile");
    }
    tki_buf_putc(&b, '\n');
  }
  if (c->below_min * 10 > c->requests) {
    tki_buf_puts(&b, "in ");
    put_pct(&b, c->below_min, c->requests);
    tki_buf_printf(&b,
                   " of requests the cacheable prefix (%lld tokens) is below the minimum "
                   "cacheable length of %lld tokens, so nothing of it is cached; put more of the "
                   "stable content (tools, instructions, reference documents) first\n",
                   (long long)c->below_min_tokens, (long long)c->min);
  }
  if (c->expired * 10 > c->requests) {
    put_pct(&b, c->expired, c->requests);
    tki_buf_puts(&b, " of requests found their unchanged prefix expired in the cache");
    if (c->o.provider == TKN_PROVIDER_ANTHROPIC) {
      tki_buf_puts(&b, "; the 1-hour TTL (set the segment's TTL to 1h) would keep it between "
                       "requests, its writes at ");
      put_money(&b, c->pw1 * 1000000);
      tki_buf_puts(&b, " instead of ");
      put_money(&b, c->pw5 * 1000000);
      tki_buf_puts(&b, " per million tokens: worth it when a prefix is read at least once "
                       "more within the hour");
    } else if (c->o.provider == TKN_PROVIDER_OPENAI) {
      tki_buf_puts(&b, "; requests are further apart than OpenAI keeps an idle prefix: send "
                       "prompt_cache_retention \"24h\" (render option cache_retention) and "
                       "a stable prompt_cache_key to keep it up to a day");
    }
    else
      tki_buf_puts(&b, "; a longer explicit-cache TTL would keep it");
    tki_buf_putc(&b, '\n');
  }
  if (c->order_issue[0]) tki_buf_printf(&b, "%s\n", c->order_issue);
  if (c->o.provider == TKN_PROVIDER_GEMINI && c->gem_caches) {
    tki_buf_printf(&b,
                   "an explicit cache of the static prefix (%lld tokens, TTL %lld min) pays for "
                   "itself from %lld requests per cache; this stream averaged %lld.%lld, so it ",
                   (long long)c->gem_tokens, (long long)(c->o.gemini_ttl_ms / 60000),
                   (long long)r.breakeven_requests, (long long)(c->gem_reads / c->gem_caches),
                   (long long)(c->gem_reads * 10 / c->gem_caches % 10));
    tki_buf_puts(&b, r.cost_with <= r.cost_without ? "saves " : "costs ");
    put_money(&b, r.cost_with <= r.cost_without ? r.cost_without - r.cost_with
                                                 : r.cost_with - r.cost_without);
    tki_buf_puts(&b, r.cost_with <= r.cost_without ? "\n" : " more than not caching\n");
  }
  tki_buf_printf(&b, "%s: token-weighted hit rate ", provider_name(c->o.provider));
  put_pct(&b, r.cached_tokens, r.input_tokens);
  tki_buf_printf(&b, " (%lld of %lld input tokens read from the cache over %lld requests); input cost ",
                 (long long)r.cached_tokens, (long long)r.input_tokens, (long long)r.requests);
  put_money(&b, r.cost_with);
  tki_buf_puts(&b, " with caching, ");
  put_money(&b, r.cost_without);
  tki_buf_puts(&b, " without");
  if (r.cost_without > 0) {
    tki_buf_puts(&b, r.cost_with <= r.cost_without ? " (saves " : " (costs ");
    put_pct(&b, r.cost_with <= r.cost_without ? r.cost_without - r.cost_with
                                              : r.cost_with - r.cost_without,
            r.cost_without);
    tki_buf_puts(&b, r.cost_with <= r.cost_without ? ")" : " more)");
  }
  tki_buf_putc(&b, '\n');
  return tki_buf_give(&b, out, out_len, "cacheplan: writing advice");
}
