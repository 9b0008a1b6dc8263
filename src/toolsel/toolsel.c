/* The tool catalogue: tool definitions in the order added, an inverted index
 * of their BM25 documents (each term: the tools holding it, with counts),
 * ranked for a query and selected in catalogue order (toolsel.h says why).
 * The index is built as tools are added, so a search only reads it and
 * costs the postings of the query's terms, not the catalogue's size. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "prompt/prompt_internal.h"
#include "tokenomy/toolsel.h"

#define DEF_MAX_DEPTH 64
#define TERM_MAX 64

typedef struct term {
  const char *p; /* its bytes while sorting (the text no longer grows then) */
  uint32_t off;  /* into the tool's term text */
  uint32_t len;
  uint32_t tf;  /* occurrences in the document */
} term;

typedef struct tool {
  char *name;  /* NUL-terminated copies, NULs inside unmasked */
  size_t name_len;
  char *desc;
  size_t desc_len;
  char *json;  /* the neutral definition: canonical {"description","name","parameters"} */
  size_t json_len;
  uint64_t length; /* terms in the document, repeats included */
} tool;

typedef struct posting {
  uint32_t tool, tf;
} posting;

/* One term of the vocabulary and the tools holding it, in catalogue order. */
typedef struct vterm {
  char *s;
  size_t len;
  posting *p;
  size_t n, cap;
} vterm;

struct tkn_toolsel {
  tkn_toolsel_options opts;
  tool *tools;
  size_t n, cap;
  uint64_t total_length; /* sum of the documents' lengths, for avgdl */
  vterm *vocab;
  size_t nvocab, vocabcap;
  uint32_t *slots; /* open addressing: vocab index + 1, 0 empty */
  size_t nslots;   /* a power of two, or 0 */
};

TKI_DEFINE_INIT(tkn_toolsel_options_init, tkn_toolsel_options, opts, TKN_TOOLSEL_OPTIONS_VERSION,
                TKN_TOOLSEL_OPTIONS_INIT)

/* ---- terms ---- */

/* A list of terms under construction: bytes and (off, len) pairs. */
typedef struct terms {
  tki_buf text;
  term *v;
  size_t n, cap;
  int failed;
} terms;

static int is_stop_word(const char *t, size_t len) {
  static const char *const stop[] = {
      "an",   "and",  "are",  "as",     "at",   "be",   "but",  "by",   "can",   "do",
      "for",  "from", "has",  "have",   "if",   "in",   "is",   "it",   "its",   "me",
      "my",   "no",   "not",  "of",     "on",   "or",   "our",  "please", "so",  "that",
      "the",  "this", "to",   "was",    "we",   "what", "when", "will", "with",  "would",
      "you",  "your"};
  for (size_t i = 0; i < sizeof stop / sizeof stop[0]; i++)
    if (strlen(stop[i]) == len && memcmp(stop[i], t, len) == 0) return 1;
  return 0;
}

/* One raw term (already lower-cased): the stop list and the plural rule. */
static void terms_push(terms *ts, const char *t, size_t len) {
  if (len < 2 || is_stop_word(t, len)) return;
  if (len >= 4 && t[len - 1] == 's' && t[len - 2] != 's') len--;
  if (ts->failed || tki_grow((void **)&ts->v, &ts->cap, ts->n + 1, sizeof *ts->v)) {
    ts->failed = 1;
    return;
  }
  size_t off = ts->text.len;
  if (tki_buf_append(&ts->text, t, len)) {
    ts->failed = 1;
    return;
  }
  ts->v[ts->n++] = (term){NULL, (uint32_t)off, (uint32_t)len, 1};
}

static int word_byte(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
}

/* Split text into terms by the rule of toolsel.h. */
static void tokenise(terms *ts, const char *s, size_t len) {
  char cur[TERM_MAX];
  size_t cl = 0;
  unsigned char prev = 0;
  for (size_t i = 0; i <= len; i++) {
    unsigned char c = i < len ? (unsigned char)s[i] : 0;
    int camel = (c >= 'A' && c <= 'Z') &&
                ((prev >= 'a' && prev <= 'z') || (prev >= '0' && prev <= '9'));
    if (!word_byte(c) || camel) {
      if (cl) terms_push(ts, cur, cl);
      cl = 0;
    }
    if (word_byte(c) && cl < TERM_MAX) cur[cl++] = (char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
    prev = word_byte(c) ? c : 0;
  }
}

static int term_cmp3(const char *a, size_t al, const char *b, size_t bl) {
  int c = memcmp(a, b, al < bl ? al : bl);
  if (c) return c;
  return al < bl ? -1 : al > bl;
}

static int term_cmp(const void *x, const void *y) {
  const term *a = x, *b = y;
  return term_cmp3(a->p, a->len, b->p, b->len);
}

/* Sort the terms and fold repeats into counts; returns the total count. */
static uint64_t terms_fold(terms *ts) {
  if (!ts->n) return 0;
  for (size_t i = 0; i < ts->n; i++) ts->v[i].p = ts->text.data + ts->v[i].off;
  qsort(ts->v, ts->n, sizeof *ts->v, term_cmp);
  size_t k = 0;
  for (size_t i = 1; i < ts->n; i++) {
    term *last = &ts->v[k];
    if (term_cmp(last, &ts->v[i]) == 0)
      last->tf++;
    else
      ts->v[++k] = ts->v[i];
  }
  uint64_t total = ts->n;
  ts->n = k + 1;
  return total;
}

/* Parameter names: the keys of every "properties" object, at any depth. */
static void parameter_terms(terms *ts, const cJSON *schema, int depth) {
  if (depth > DEF_MAX_DEPTH) return;
  const cJSON *c;
  cJSON_ArrayForEach(c, schema) {
    if (cJSON_IsObject(c) && c->string && strcmp(c->string, "properties") == 0) {
      const cJSON *p;
      cJSON_ArrayForEach(p, c) {
        tokenise(ts, p->string, strlen(p->string));
      }
    }
    if (cJSON_IsObject(c) || cJSON_IsArray(c)) parameter_terms(ts, c, depth + 1);
  }
}

/* ---- the catalogue ---- */

int tkn_toolsel_new(tkn_toolsel **out, const tkn_toolsel_options *opts) {
  if (!out) return tki_fail(TKN_ERR_INVALID, "tkn_toolsel_new: out is NULL");
  *out = NULL;
  tkn_toolsel_options o = TKN_TOOLSEL_OPTIONS_INIT;
  if (opts) {
    if (opts->version != TKN_TOOLSEL_OPTIONS_VERSION)
      return tki_fail(TKN_ERR_VERSION, "tkn_toolsel_new: unknown options version %u",
                      opts->version);
    if (!isfinite(opts->k1) || opts->k1 < 0)
      return tki_fail(TKN_ERR_INVALID, "tool catalogue: k1 must be a finite number >= 0");
    if (!isfinite(opts->b) || opts->b < 0 || opts->b > 1)
      return tki_fail(TKN_ERR_INVALID, "tool catalogue: b must be between 0 and 1");
    o = *opts;
  }
  tkn_toolsel *c = tki_calloc(1, sizeof *c);
  if (!c) return tki_fail(TKN_ERR_NOMEM, "tool catalogue: out of memory");
  c->opts = o;
  *out = c;
  return TKN_OK;
}

static void tool_free(tool *t) {
  tki_free(t->name);
  tki_free(t->desc);
  tki_free(t->json);
}

void tkn_toolsel_free(tkn_toolsel *cat) {
  if (!cat) return;
  for (size_t i = 0; i < cat->n; i++) tool_free(&cat->tools[i]);
  for (size_t i = 0; i < cat->nvocab; i++) {
    tki_free(cat->vocab[i].s);
    tki_free(cat->vocab[i].p);
  }
  tki_free(cat->vocab);
  tki_free(cat->slots);
  tki_free(cat->tools);
  tki_free(cat);
}

/* ---- the inverted index ---- */

static size_t slot_of(const tkn_toolsel *cat, const char *w, size_t wl) {
  size_t mask = cat->nslots - 1;
  size_t i = (size_t)tki_hash64(w, wl, 0) & mask;
  for (;;) {
    uint32_t v = cat->slots[i];
    if (!v) return i;
    const vterm *t = &cat->vocab[v - 1];
    if (t->len == wl && memcmp(t->s, w, wl) == 0) return i;
    i = (i + 1) & mask;
  }
}

/* The vocabulary entry of a term, NULL when no tool holds it. */
static const vterm *vocab_find(const tkn_toolsel *cat, const char *w, size_t wl) {
  if (!cat->nslots) return NULL;
  uint32_t v = cat->slots[slot_of(cat, w, wl)];
  return v ? &cat->vocab[v - 1] : NULL;
}

/* The entry of a term, added (with no postings) when new; NULL: no memory. */
static vterm *vocab_get(tkn_toolsel *cat, const char *w, size_t wl) {
  if ((cat->nvocab + 1) * 2 > cat->nslots) {
    size_t ns = cat->nslots ? cat->nslots * 2 : 64;
    uint32_t *old = cat->slots;
    size_t oldn = cat->nslots;
    cat->slots = tki_calloc(ns, sizeof *cat->slots);
    if (!cat->slots) {
      cat->slots = old;
      return NULL;
    }
    cat->nslots = ns;
    for (size_t i = 0; i < oldn; i++)
      if (old[i]) {
        const vterm *t = &cat->vocab[old[i] - 1];
        cat->slots[slot_of(cat, t->s, t->len)] = old[i];
      }
    tki_free(old);
  }
  size_t i = slot_of(cat, w, wl);
  if (cat->slots[i]) return &cat->vocab[cat->slots[i] - 1];
  if (tki_grow((void **)&cat->vocab, &cat->vocabcap, cat->nvocab + 1, sizeof *cat->vocab))
    return NULL;
  char *copy = tki_strndup(w, wl);
  if (!copy) return NULL;
  cat->vocab[cat->nvocab] = (vterm){copy, wl, NULL, 0, 0};
  cat->slots[i] = (uint32_t)++cat->nvocab;
  return &cat->vocab[cat->nvocab - 1];
}

/* Index tool `idx`'s terms: room for every posting first, so that a refused
 * allocation leaves the index as it was (new terms without postings are
 * harmless: no tool holds them). */
static int index_tool(tkn_toolsel *cat, uint32_t idx, const terms *ts) {
  for (size_t j = 0; j < ts->n; j++) {
    vterm *v = vocab_get(cat, ts->v[j].p, ts->v[j].len);
    if (!v || tki_grow((void **)&v->p, &v->cap, v->n + 1, sizeof *v->p))
      return tki_fail(TKN_ERR_NOMEM, "tool catalogue: out of memory indexing a tool");
  }
  for (size_t j = 0; j < ts->n; j++) {
    /* every term is in the table now: a lookup, no allocation */
    vterm *v = &cat->vocab[cat->slots[slot_of(cat, ts->v[j].p, ts->v[j].len)] - 1];
    v->p[v->n++] = (posting){idx, ts->v[j].tf};
  }
  return TKN_OK;
}

/* The neutral definition's canonical JSON, its name and description. */
static int read_definition(const cJSON *root, size_t idx, tool *t, const cJSON **params_out) {
  const cJSON *def = NULL, *name = NULL, *desc = NULL, *params = NULL;
  int rc = tki_tool_fields(root, "tool catalogue", idx, &def, &name, &desc, &params);
  if (rc) return rc;
  tki_buf b;
  tki_buf_init(&b);
  tki_buf_puts(&b, "{");
  if (desc && cJSON_IsString(desc)) {
    tki_buf_puts(&b, "\"description\":");
    tki_buf_json_string(&b, desc->valuestring, strlen(desc->valuestring));
    tki_buf_putc(&b, ',');
  }
  tki_buf_puts(&b, "\"name\":");
  tki_buf_json_string(&b, name->valuestring, strlen(name->valuestring));
  if (params) {
    tki_buf_puts(&b, ",\"parameters\":");
    rc = tki_json_canonical(params, &b);
  }
  tki_buf_putc(&b, '}');
  if (rc || b.failed) {
    tki_buf_free(&b);
    if (rc == TKN_ERR_NOMEM || !rc)
      return tki_fail(TKN_ERR_NOMEM, "tool catalogue: out of memory reading a tool");
    return tki_fail(rc, "tool catalogue: tool `%s`: the parameter schema cannot be serialised",
                    name->valuestring);
  }
  t->json = tki_buf_steal(&b, &t->json_len);
  t->name_len = strlen(name->valuestring);
  t->name = tki_strndup(name->valuestring, t->name_len);
  const char *d = desc && cJSON_IsString(desc) ? desc->valuestring : "";
  t->desc_len = strlen(d);
  t->desc = tki_strndup(d, t->desc_len);
  if (!t->json || !t->name || !t->desc)
    return tki_fail(TKN_ERR_NOMEM, "tool catalogue: out of memory reading a tool");
  *params_out = params;
  return TKN_OK;
}

/* The tool's BM25 document: name, description, parameter names, as
 * distinct terms with counts (*ts, freed by the caller). */
static int build_document(tool *t, const cJSON *params, terms *ts) {
  tokenise(ts, t->name, t->name_len);
  tokenise(ts, t->desc, t->desc_len);
  if (params) parameter_terms(ts, params, 0);
  if (ts->failed || ts->text.failed)
    return tki_fail(TKN_ERR_NOMEM, "tool catalogue: out of memory indexing a tool");
  t->length = terms_fold(ts);
  return TKN_OK;
}

int tkn_toolsel_add(tkn_toolsel *cat, const char *json, size_t len, uint32_t *index) {
  len = tki_len(json, len);
  if (!cat) return tki_fail(TKN_ERR_INVALID, "tkn_toolsel_add: cat is NULL");
  if (!json) return tki_fail(TKN_ERR_INVALID, "tkn_toolsel_add: json is NULL");
  if (cat->n >= TKN_TOOLSEL_MAX_TOOLS)
    return tki_fail(TKN_ERR_LIMIT, "tool catalogue: more than %d tools", TKN_TOOLSEL_MAX_TOOLS);
  cJSON *root = NULL;
  int rc = tki_json_parse(json, len, TKN_TOOLSEL_MAX_DEF, DEF_MAX_DEPTH, "tool definition", &root,
                          NULL);
  if (rc) return rc;
  tool t;
  memset(&t, 0, sizeof t);
  terms ts = {{0}, NULL, 0, 0, 0};
  tki_buf_init(&ts.text);
  const cJSON *params = NULL;
  if (!cJSON_IsObject(root))
    rc = tki_fail(TKN_ERR_SCHEMA, "tool catalogue: tool %zu: not a JSON object", cat->n);
  else
    rc = read_definition(root, cat->n, &t, &params);
  if (!rc) rc = build_document(&t, params, &ts);
  cJSON_Delete(root);
  if (!rc) {
    t.name_len = tki_json_unmask_nuls(t.name, t.name_len);
    t.desc_len = tki_json_unmask_nuls(t.desc, t.desc_len);
  }
  for (size_t i = 0; !rc && i < cat->n; i++)
    if (cat->tools[i].name_len == t.name_len && memcmp(cat->tools[i].name, t.name, t.name_len) == 0)
      rc = tki_fail(TKN_ERR_DUPLICATE, "tool catalogue: tool `%s` is already in it", t.name);
  if (!rc && tki_grow((void **)&cat->tools, &cat->cap, cat->n + 1, sizeof *cat->tools))
    rc = tki_fail(TKN_ERR_NOMEM, "tool catalogue: out of memory adding a tool");
  if (!rc) rc = index_tool(cat, (uint32_t)cat->n, &ts);
  tki_buf_free(&ts.text);
  tki_free(ts.v);
  if (rc) {
    tool_free(&t);
    return rc;
  }
  cat->total_length += t.length;
  if (index) *index = (uint32_t)cat->n;
  cat->tools[cat->n++] = t;
  return TKN_OK;
}

size_t tkn_toolsel_count(const tkn_toolsel *cat) { return cat ? cat->n : 0; }

int tkn_toolsel_tool(const tkn_toolsel *cat, size_t i, const char **name, size_t *name_len,
                     const char **desc, size_t *desc_len) {
  if (!cat) return tki_fail(TKN_ERR_INVALID, "tkn_toolsel_tool: cat is NULL");
  if (i >= cat->n)
    return tki_fail(TKN_ERR_INVALID, "tkn_toolsel_tool: no tool %zu (have %zu)", i, cat->n);
  const tool *t = &cat->tools[i];
  if (name) *name = t->name;
  if (name_len) *name_len = t->name_len;
  if (desc) *desc = t->desc;
  if (desc_len) *desc_len = t->desc_len;
  return TKN_OK;
}

int tkn_toolsel_find(const tkn_toolsel *cat, const char *name, size_t len, uint32_t *index) {
  len = tki_len(name, len);
  if (!cat || !name || !index)
    return tki_fail(TKN_ERR_INVALID, "tkn_toolsel_find: %s is NULL",
                    !cat ? "cat" : !name ? "name" : "index");
  for (size_t i = 0; i < cat->n; i++)
    if (cat->tools[i].name_len == len && memcmp(cat->tools[i].name, name, len) == 0) {
      *index = (uint32_t)i;
      return TKN_OK;
    }
  return tki_fail(TKN_ERR_NOT_FOUND, "tool catalogue: no tool \"%.*s\" (%zu bytes)",
                  (int)(len > 200 ? 200 : len), name, len);
}

/* ---- ranking ---- */

static int check_query(const char *query, size_t len, const char *fn) {
  if (!query && len) return tki_fail(TKN_ERR_INVALID, "%s: query is NULL", fn);
  if (len > TKN_TOOLSEL_MAX_QUERY)
    return tki_fail(TKN_ERR_LIMIT, "%s: a query of %zu bytes (limit %zu)", fn, len,
                    TKN_TOOLSEL_MAX_QUERY);
  size_t bad;
  if (query && !tki_utf8_valid(query, len, &bad))
    return tki_fail(TKN_ERR_UTF8, "%s: the query is not UTF-8 (byte %zu)", fn, bad);
  return TKN_OK;
}

static int bm25(const tkn_toolsel *cat, const char *query, size_t len, double *scores) {
  for (size_t i = 0; i < cat->n; i++) scores[i] = 0.0;
  if (!cat->n) return TKN_OK;
  terms q = {{0}, NULL, 0, 0, 0};
  tki_buf_init(&q.text);
  if (query) tokenise(&q, query, len);
  if (q.failed || q.text.failed) {
    tki_buf_free(&q.text);
    tki_free(q.v);
    return tki_fail(TKN_ERR_NOMEM, "tool catalogue: out of memory reading the query");
  }
  terms_fold(&q);
  double k1 = cat->opts.k1, b = cat->opts.b, N = (double)cat->n;
  double avgdl = (double)cat->total_length / N;
  for (size_t j = 0; j < q.n; j++) {
    const vterm *v = vocab_find(cat, q.v[j].p, q.v[j].len);
    if (!v || !v->n) continue;
    double df = (double)v->n;
    double idf = log(1.0 + (N - df + 0.5) / (df + 0.5));
    for (size_t i = 0; i < v->n; i++) {
      double f = v->p[i].tf;
      double norm = avgdl > 0 ? (double)cat->tools[v->p[i].tool].length / avgdl : 0.0;
      scores[v->p[i].tool] += idf * f * (k1 + 1.0) / (f + k1 * (1.0 - b + b * norm));
    }
  }
  tki_buf_free(&q.text);
  tki_free(q.v);
  return TKN_OK;
}

int tkn_toolsel_scores(const tkn_toolsel *cat, const char *query, size_t len, double *scores,
                       size_t n) {
  len = tki_len(query, len);
  if (!cat || (!scores && n))
    return tki_fail(TKN_ERR_INVALID, "tkn_toolsel_scores: %s is NULL", !cat ? "cat" : "scores");
  if (n != cat->n)
    return tki_fail(TKN_ERR_INVALID, "tkn_toolsel_scores: room for %zu scores, the catalogue "
                    "has %zu tools", n, cat->n);
  int rc = check_query(query, len, "tkn_toolsel_scores");
  return rc ? rc : bm25(cat, query, len, scores);
}

/* ---- selection ---- */

typedef struct ranked {
  double score;
  uint32_t index;
} ranked;

static int by_score(const void *x, const void *y) {
  const ranked *a = x, *b = y;
  if (a->score != b->score) return a->score > b->score ? -1 : 1;
  return a->index < b->index ? -1 : a->index > b->index;
}

static int host_scores(const tkn_toolsel *cat, const char *query, size_t len, double *scores) {
  for (size_t i = 0; i < cat->n; i++) scores[i] = 0.0;
  if (cat->opts.search(cat, query, len, scores, cat->n, cat->opts.search_user))
    return tki_fail(TKN_ERR_CALLBACK, "tool catalogue: the host's search failed");
  for (size_t i = 0; i < cat->n; i++)
    if (!isfinite(scores[i]) || scores[i] < 0)
      return tki_fail(TKN_ERR_CALLBACK, "tool catalogue: the host's search gave tool `%s` the "
                      "score %g (want a finite number >= 0)", cat->tools[i].name, scores[i]);
  return TKN_OK;
}

int tkn_toolsel_select(const tkn_toolsel *cat, const char *query, size_t len, uint32_t k,
                       const uint32_t *always, size_t always_n, uint32_t *out, size_t cap,
                       size_t *n) {
  len = tki_len(query, len);
  if (!cat || !n)
    return tki_fail(TKN_ERR_INVALID, "tkn_toolsel_select: %s is NULL", !cat ? "cat" : "n");
  if (!always && always_n)
    return tki_fail(TKN_ERR_INVALID, "tkn_toolsel_select: always is NULL");
  if (!out && cap) return tki_fail(TKN_ERR_INVALID, "tkn_toolsel_select: out is NULL");
  for (size_t i = 0; i < always_n; i++)
    if (always[i] >= cat->n)
      return tki_fail(TKN_ERR_INVALID, "tkn_toolsel_select: always[%zu] is %u, the catalogue "
                      "has %zu tools", i, always[i], cat->n);
  int rc = check_query(query, len, "tkn_toolsel_select");
  if (rc) return rc;
  *n = 0;
  if (!cat->n) return TKN_OK;
  double *scores = tki_malloc(cat->n * sizeof *scores);
  ranked *r = tki_malloc(cat->n * sizeof *r);
  uint8_t *chosen = tki_calloc(cat->n, 1);
  if (!scores || !r || !chosen) {
    tki_free(scores);
    tki_free(r);
    tki_free(chosen);
    return tki_fail(TKN_ERR_NOMEM, "tool catalogue: out of memory selecting");
  }
  rc = cat->opts.search ? host_scores(cat, query, len, scores) : bm25(cat, query, len, scores);
  if (!rc) {
    size_t nc = 0; /* only the tools that match are ranked */
    for (size_t i = 0; i < cat->n; i++)
      if (scores[i] > 0) r[nc++] = (ranked){scores[i], (uint32_t)i};
    qsort(r, nc, sizeof *r, by_score);
    for (size_t i = 0; i < nc && i < k; i++) chosen[r[i].index] = 1;
    for (size_t i = 0; i < always_n; i++) chosen[always[i]] = 1;
    size_t m = 0;
    for (size_t i = 0; i < cat->n; i++) m += chosen[i];
    *n = m;
    if (m > cap) {
      rc = tki_fail(TKN_ERR_TOO_SMALL, "tkn_toolsel_select: %zu tools selected, room for %zu", m,
                    cap);
    } else {
      m = 0;
      for (size_t i = 0; i < cat->n; i++)
        if (chosen[i]) out[m++] = (uint32_t)i;
    }
  }
  tki_free(scores);
  tki_free(r);
  tki_free(chosen);
  return rc;
}

/* ---- into a prompt ---- */

static int add_deferred(tkn_prompt_builder *b, const tool *t) {
  static const char flag[] = "{\"defer_loading\":true,";
  size_t l = sizeof flag - 1 + t->json_len - 1;
  char *js = tki_malloc(l + 1);
  if (!js) return tki_fail(TKN_ERR_NOMEM, "tool catalogue: out of memory deferring a tool");
  memcpy(js, flag, sizeof flag - 1);
  memcpy(js + sizeof flag - 1, t->json + 1, t->json_len - 1);
  js[l] = '\0';
  int rc = tkn_prompt_builder_add_tool(b, js, l, NULL);
  tki_free(js);
  return rc;
}

int tkn_toolsel_add_to_builder(tkn_prompt_builder *b, const tkn_toolsel *cat,
                               const uint32_t *selected, size_t n, uint32_t mode) {
  if (!b || !cat || (!selected && n))
    return tki_fail(TKN_ERR_INVALID, "tkn_toolsel_add_to_builder: %s is NULL",
                    !b ? "b" : !cat ? "cat" : "selected");
  if (mode != TKN_TOOLSEL_DEFER_REST && mode != TKN_TOOLSEL_ONLY_SELECTED)
    return tki_fail(TKN_ERR_INVALID, "tkn_toolsel_add_to_builder: unknown mode %u", mode);
  for (size_t i = 0; i < n; i++)
    if (selected[i] >= cat->n || (i && selected[i] <= selected[i - 1]))
      return tki_fail(TKN_ERR_INVALID, "tkn_toolsel_add_to_builder: selected[%zu] = %u is %s",
                      i, selected[i], selected[i] >= cat->n ? "out of range" : "out of order");
  size_t next = 0;
  for (size_t i = 0; i < cat->n; i++) {
    int sel = next < n && selected[next] == i;
    next += sel;
    int rc = TKN_OK;
    if (sel)
      rc = tkn_prompt_builder_add_tool(b, cat->tools[i].json, cat->tools[i].json_len, NULL);
    else if (mode == TKN_TOOLSEL_DEFER_REST)
      rc = add_deferred(b, &cat->tools[i]);
    if (rc) return tki_fail_prefix("tool catalogue: adding `%s` to the prompt",
                                   cat->tools[i].name);
  }
  return TKN_OK;
}
