/* Validating documents against a compiled schema.  The schema is only read;
 * everything a validation writes (the parsed document, errors, regex match
 * data) lives in the caller's tkn_schema_result, so threads can share one
 * schema.  Sub-schemas whose failure is not itself an error (anyOf branches,
 * if, not, contains) are evaluated "quietly": they stop at the first failure
 * and record nothing. */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "schema_internal.h"

#define MAX_EVAL_DEPTH 2048 /* nested evaluations; about 224 bytes of stack each */

/* Message kinds: the text is written only when someone asks for it, so a
 * failing document costs a few copies, not printf calls. */
enum {
  M_FALSE, M_TYPE, M_CONST, M_ENUM, M_MINIMUM, M_MAXIMUM, M_XMIN, M_XMAX, M_MULT, M_MINLEN,
  M_MAXLEN, M_PATTERN, M_REGEX_LIMIT, M_MINITEMS, M_MAXITEMS, M_UNIQUE, M_ITEMS, M_MINCONT,
  M_MAXCONT, M_MINPROPS, M_MAXPROPS, M_ADDITIONAL, M_REQUIRED, M_DEPREQ, M_ANYOF, M_ONEOF_NONE,
  M_ONEOF_MANY, M_NOT, M_DEPTH
};

typedef struct rerr {
  int kind;
  double a, b;                  /* numbers the message needs */
  size_t path, keyword, schema; /* offsets into strings */
  size_t arg1, arg2;            /* string arguments (offsets), SIZE_MAX if none */
  size_t message;               /* offset into text once formatted */
} rerr;

struct tkn_schema_result {
  tki_arena arena;
  tki_sj_parser parser;
  tki_buf strings; /* paths, keywords and string arguments of the errors */
  tki_buf text;    /* formatted messages, on demand */
  int formatted;   /* text and err hold the messages of errs */
  rerr *errs;
  size_t nerrs, caperrs;
  pcre2_general_context *gctx;
  pcre2_match_data *md;
  pcre2_match_context *mctx;
  uint64_t max_work; /* 0: TKN_SCHEMA_DEFAULT_MAX_WORK */
  int status;
  char err[TKI_ERRLEN];
};

/* A step of the instance path, on the C stack. */
typedef struct pseg {
  const struct pseg *up;
  const char *key; /* NULL for an array index */
  uint32_t klen;
  uint32_t index;
} pseg;

typedef struct vctx {
  tkn_schema_result *res;
  int quiet, stop, status;
  uint32_t max_errors, depth;
  int closed;              /* a check gave up: the document fails whatever else passed */
  uint64_t work, max_work; /* steps spent and allowed (status TKN_ERR_LIMIT past it) */
} vctx;

/* Spend n steps of the validation's work budget; 0 once it is spent. */
static int spend(vctx *c, uint64_t n) {
  if (c->work + n > c->max_work || c->work + n < c->work) {
    c->work = c->max_work;
    if (!c->status) c->status = TKN_ERR_LIMIT;
    c->stop = 1;
    return 0;
  }
  c->work += n;
  return 1;
}

/* A check that gave up (a regular expression past its limits) fails the
 * document even where a failure would otherwise pass it (under not, in an
 * anyOf branch, in if or contains): it is recorded loudly and ends the
 * validation. */
static void give_up(vctx *c) {
  c->closed = 1;
  c->stop = 1;
}

/* ---- errors ---- */

static void put_index(tki_buf *b, uint32_t i) {
  char t[12];
  int k = 12;
  do {
    t[--k] = (char)('0' + i % 10);
    i /= 10;
  } while (i);
  tki_buf_append(b, t + k, (size_t)(12 - k));
}

static void put_pointer(tki_buf *b, const pseg *at) {
  const pseg *chain[520];
  size_t n = 0;
  for (const pseg *p = at; p && n < sizeof chain / sizeof chain[0]; p = p->up) chain[n++] = p;
  while (n-- > 0) {
    const pseg *p = chain[n];
    tki_buf_putc(b, '/');
    if (!p->key) {
      put_index(b, p->index);
      continue;
    }
    for (uint32_t i = 0; i < p->klen; i++) {
      char ch = p->key[i];
      if (ch == '~')
        tki_buf_append(b, "~0", 2);
      else if (ch == '/')
        tki_buf_append(b, "~1", 2);
      else
        tki_buf_putc(b, ch);
    }
  }
}

/* Up to 40 bytes of s, cut at a character boundary, "..." if cut. */
static size_t put_excerpt(tki_buf *b, const char *s, size_t n) {
  size_t off = b->len;
  if (n > 40) {
    size_t k = 40;
    while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80) k--;
    tki_buf_append(b, s, k);
    tki_buf_append(b, "...", 3);
  } else {
    tki_buf_append(b, s, n);
  }
  tki_buf_putc(b, '\0');
  return off;
}

/* Record an error (not in quiet mode): copies what the message needs. */
static int fail_args(vctx *c, const snode *n, const char *kw, const pseg *at, int kind, double a,
                     double bnum, const char *s1, size_t l1, const char *s2, size_t l2) {
  if (c->quiet || c->stop) return 0;
  tkn_schema_result *r = c->res;
  if (r->nerrs == r->caperrs &&
      tki_grow((void **)&r->errs, &r->caperrs, r->nerrs + 1, sizeof *r->errs)) {
    c->status = TKN_ERR_NOMEM;
    c->stop = 1;
    return 0;
  }
  tki_buf *b = &r->strings;
  rerr e;
  e.kind = kind;
  e.a = a;
  e.b = bnum;
  e.path = b->len;
  put_pointer(b, at);
  tki_buf_putc(b, '\0');
  e.keyword = b->len;
  tki_buf_puts(b, kw);
  tki_buf_putc(b, '\0');
  e.schema = b->len;
  tki_buf_puts(b, n->path);
  tki_buf_putc(b, '/');
  tki_buf_puts(b, kw);
  tki_buf_putc(b, '\0');
  e.arg1 = s1 ? put_excerpt(b, s1, l1) : SIZE_MAX;
  e.arg2 = s2 ? put_excerpt(b, s2, l2) : SIZE_MAX;
  e.message = SIZE_MAX;
  if (b->failed) {
    c->status = TKN_ERR_NOMEM;
    c->stop = 1;
    return 0;
  }
  r->errs[r->nerrs++] = e;
  if (r->nerrs >= c->max_errors) c->stop = 1;
  return 0;
}

static int fail(vctx *c, const snode *n, const char *kw, const pseg *at, int kind, double a,
                double b) {
  return fail_args(c, n, kw, at, kind, a, b, NULL, 0, NULL, 0);
}

/* 0..6: null boolean integer number string array object */
static int type_code(const tki_sj *v) {
  switch (v->type) {
    case TKI_SJ_NULL: return 0;
    case TKI_SJ_BOOL: return 1;
    case TKI_SJ_NUMBER: return v->is_int ? 2 : 3;
    case TKI_SJ_STRING: return 4;
    case TKI_SJ_ARRAY: return 5;
    default: return 6;
  }
}
static const char *const type_names[] = {"null", "boolean", "integer", "number",
                                          "string", "array", "object"};

static void type_list(uint8_t bits, char *out, size_t cap) {
  static const struct {
    uint8_t bit;
    const char *name;
  } t[] = {{TY_OBJ, "object"}, {TY_ARR, "array"}, {TY_STR, "string"}, {TY_NUM, "number"},
           {TY_INT, "integer"}, {TY_BOOL, "boolean"}, {TY_NULL, "null"}};
  size_t k = 0;
  out[0] = '\0';
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    if (!(bits & t[i].bit)) continue;
    if (t[i].bit == TY_INT && (bits & TY_NUM)) continue;
    k += (size_t)snprintf(out + k, cap - k, "%s%s", k ? " or " : "", t[i].name);
    if (k >= cap) break;
  }
}

/* ---- checks ---- */

static int type_ok(uint8_t bits, const tki_sj *v) {
  switch (v->type) {
    case TKI_SJ_NULL: return bits & TY_NULL;
    case TKI_SJ_BOOL: return bits & TY_BOOL;
    case TKI_SJ_NUMBER: return (bits & TY_NUM) || ((bits & TY_INT) && v->is_int);
    case TKI_SJ_STRING: return bits & TY_STR;
    case TKI_SJ_ARRAY: return bits & TY_ARR;
    default: return bits & TY_OBJ;
  }
}

/* x is a multiple of multipleOf, reading both as the decimals they were
 * written as (19.99 is a multiple of 0.01, though 19.99 / 0.01 is
 * 1998.9999999999998 in doubles): with m = M / 10^k, x is a multiple iff
 * x = X / 10^k for an integer X (x has at most k decimals) and M divides X.
 * Exact while x * 10^k stays below 2^53; beyond, the quotient x / m decides,
 * and a double that large is always integral. */
static int is_multiple(const snode *n, double x) {
  const double big = 9007199254740992.0;
  if (x == 0) return 1;
  if (n->mult_scale > 0) {
    double X = x * n->mult_scale;
    if (fabs(X) < big) {
      double r = nearbyint(X);
      if (r / n->mult_scale != x) return 0; /* more decimals than multipleOf */
      return (int64_t)r % (int64_t)n->mult_digits == 0; /* both integers below 2^53 */
    }
  }
  double q = x / n->multiple_of;
  if (!isfinite(q)) return 0;
  return fabs(q - nearbyint(q)) <= 1e-9;
}

static int v_node(vctx *c, const snode *n, const tki_sj *v, const pseg *at);

#define CHECK(expr)                       \
  do {                                    \
    if (!(expr)) {                        \
      ok = 0;                             \
      if (c->quiet || c->stop) return 0;  \
    }                                     \
  } while (0)

static int v_number(vctx *c, const snode *n, const tki_sj *v, const pseg *at) {
  int ok = 1;
  double x = v->u.num;
  uint32_t f = n->flags;
  if ((f & K_MIN) && !(x >= n->minimum))
    CHECK(fail(c, n, "minimum", at, M_MINIMUM, x, n->minimum));
  if ((f & K_MAX) && !(x <= n->maximum))
    CHECK(fail(c, n, "maximum", at, M_MAXIMUM, x, n->maximum));
  if ((f & K_XMIN) && !(x > n->xminimum))
    CHECK(fail(c, n, "exclusiveMinimum", at, M_XMIN, x, n->xminimum));
  if ((f & K_XMAX) && !(x < n->xmaximum))
    CHECK(fail(c, n, "exclusiveMaximum", at, M_XMAX, x, n->xmaximum));
  if ((f & K_MULT) && !is_multiple(n, x))
    CHECK(fail(c, n, "multipleOf", at, M_MULT, x, n->multiple_of));
  return ok;
}

#define REGEX_MATCH_LIMIT 10000000u /* steps of one match before it gives up */

static int match_once(vctx *c, pcre2_code *re, int jit, const char *s, size_t len,
                      uint32_t limit) {
  tkn_schema_result *r = c->res;
  pcre2_set_match_limit(r->mctx, limit);
  return jit ? pcre2_jit_match(re, (PCRE2_SPTR)s, len, 0, 0, r->md, r->mctx)
             : pcre2_match(re, (PCRE2_SPTR)s, len, 0, PCRE2_NO_UTF_CHECK, r->md, r->mctx);
}

/* A match runs first under a small limit, linear in the string (what almost
 * every match needs); only a match that needs more runs again, under the
 * full limit or what is left of the work budget, and spends all of it: so
 * many strings that each take nearly the full limit still end within the
 * budget. TKN_ERR_LIMIT when the match gave up (the caller fails the
 * document), TKN_ERR_NOMEM, else TKN_OK with *matched. */
static int match(vctx *c, pcre2_code *re, int jit, const char *s, size_t len, int *matched) {
  *matched = 0;
  if (!spend(c, len + 1)) return TKN_OK; /* c->status says why */
  uint64_t small = 1000 + 16 * (uint64_t)len;
  int rc = match_once(c, re, jit, s, len, small < REGEX_MATCH_LIMIT ? (uint32_t)small : REGEX_MATCH_LIMIT);
  if (rc == PCRE2_ERROR_MATCHLIMIT && small < REGEX_MATCH_LIMIT) {
    uint64_t left = c->max_work - c->work;
    uint32_t limit = left < REGEX_MATCH_LIMIT ? (uint32_t)left : REGEX_MATCH_LIMIT;
    rc = match_once(c, re, jit, s, len, limit);
    spend(c, limit);
    if (rc == PCRE2_ERROR_MATCHLIMIT && limit < REGEX_MATCH_LIMIT) return TKN_OK; /* budget */
  }
  if (rc >= 0) {
    *matched = 1;
    return TKN_OK;
  }
  if (rc == PCRE2_ERROR_NOMATCH) return TKN_OK;
  if (rc == PCRE2_ERROR_NOMEMORY || rc == PCRE2_ERROR_HEAP_FAILED) return TKN_ERR_NOMEM;
  return TKN_ERR_LIMIT; /* match or depth limit: the document fails, said so */
}

/* Record a regular expression that gave up, loudly (even inside not or
 * anyOf), and end the validation. */
static int regex_gave_up(vctx *c, const snode *n, const char *kw, const pseg *at,
                         const char *src, size_t srclen) {
  int q = c->quiet;
  c->quiet = 0;
  fail_args(c, n, kw, at, M_REGEX_LIMIT, 0, 0, src, srclen, NULL, 0);
  c->quiet = q;
  give_up(c);
  return 0;
}

static int v_string(vctx *c, const snode *n, const tki_sj *v, const pseg *at) {
  int ok = 1;
  uint32_t f = n->flags;
  if (f & (K_MINLEN | K_MAXLEN)) {
    /* code points <= bytes: count only when the bytes do not decide */
    size_t bytes = v->n, cps = (size_t)-1;
    if ((f & K_MINLEN) && bytes < n->min_len)
      cps = bytes;
    else if (((f & K_MINLEN) && bytes / 4 < n->min_len) || ((f & K_MAXLEN) && bytes > n->max_len))
      cps = tki_sj_codepoints(v->u.str, v->n); /* a code point is 1 to 4 bytes */
    if ((f & K_MINLEN) && cps < n->min_len)
      CHECK(fail(c, n, "minLength", at, M_MINLEN, (double)cps, (double)n->min_len));
    if ((f & K_MAXLEN) && cps != (size_t)-1 && cps > n->max_len)
      CHECK(fail(c, n, "maxLength", at, M_MAXLEN, (double)cps, (double)n->max_len));
  }
  if (f & K_PATTERN) {
    int m, rc = match(c, n->pattern, n->pattern_jit, v->u.str, v->n, &m);
    if (rc == TKN_ERR_NOMEM) {
      c->status = rc;
      c->stop = 1;
      return 0;
    }
    if (rc) return regex_gave_up(c, n, "pattern", at, n->pattern_src, n->pattern_len);
    if (c->status) return 0;
    if (!m)
      CHECK(fail_args(c, n, "pattern", at, M_PATTERN, 0, 0, v->u.str, v->n, n->pattern_src,
                      n->pattern_len));
  }
  return ok;
}

/* ---- uniqueItems: hashing, so n items cost about n log n, not n^2 ---- */

static uint64_t mix64(uint64_t x) { /* splitmix64's finaliser */
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

static int u64_cmp(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* A hash that equal values (tki_sj_equal) share: numbers by value, objects
 * as a sum over members (key order does not count). An object with a
 * repeated key (where that equality is not symmetric) sets *odd, and the
 * caller compares pairwise instead. */
static uint64_t sj_hash(vctx *c, const tki_sj *v, int *odd) {
  if (!spend(c, 1)) return 0;
  switch (v->type) {
    case TKI_SJ_NULL: return 0x6e756c6cull;
    case TKI_SJ_BOOL: return mix64(0x626f6f6cull + v->boolean);
    case TKI_SJ_NUMBER: {
      double d = v->u.num == 0 ? 0.0 : v->u.num; /* -0 == 0 */
      uint64_t bits;
      memcpy(&bits, &d, sizeof bits);
      return mix64(bits ^ 0x6e756dull);
    }
    case TKI_SJ_STRING:
      if (!spend(c, v->n / 64)) return 0;
      return tki_hash64(v->u.str, v->n, 3);
    case TKI_SJ_ARRAY: {
      uint64_t h = mix64(4 + v->n);
      for (uint32_t i = 0; i < v->n && !c->status; i++) h = mix64(h ^ sj_hash(c, &v->u.items[i], odd));
      return h;
    }
    default: {
      uint64_t h = mix64(5 + v->n);
      uint64_t *keys = v->n > 1 ? tki_malloc(v->n * sizeof *keys) : NULL;
      if (v->n > 1 && !keys) {
        c->status = TKN_ERR_NOMEM;
        c->stop = 1;
        return 0;
      }
      for (uint32_t i = 0; i < v->n && !c->status; i++) {
        const tki_sj_member *m = &v->u.members[i];
        uint64_t hk = tki_hash64(m->key, m->klen, 5);
        if (keys) keys[i] = hk;
        h += mix64(hk ^ mix64(sj_hash(c, &m->val, odd)));
      }
      if (keys && !c->status) {
        qsort(keys, v->n, sizeof *keys, u64_cmp);
        for (uint32_t i = 1; i < v->n; i++)
          if (keys[i] == keys[i - 1]) *odd = 1;
      }
      tki_free(keys);
      return h;
    }
  }
}

typedef struct hitem {
  uint64_t h;
  uint32_t i;
} hitem;

static int hitem_cmp(const void *a, const void *b) {
  const hitem *x = a, *y = b;
  if (x->h != y->h) return x->h < y->h ? -1 : 1;
  return x->i < y->i ? -1 : x->i > y->i;
}

/* The first item (lowest *di) equal to an earlier one, and the first such
 * earlier one (*dj): what comparing every pair in order finds. */
static int first_duplicate(vctx *c, const tki_sj *v, uint32_t *dj, uint32_t *di) {
  uint32_t n = v->n;
  int odd = 0, found = 0;
  hitem *hs = tki_malloc(n * sizeof *hs);
  if (!hs) {
    c->status = TKN_ERR_NOMEM;
    c->stop = 1;
    return 0;
  }
  for (uint32_t i = 0; i < n && !c->status; i++) hs[i] = (hitem){sj_hash(c, &v->u.items[i], &odd), i};
  if (c->status) goto out;
  if (odd) { /* pairwise, every comparison spent */
    for (uint32_t i = 1; i < n && !found; i++)
      for (uint32_t j = 0; j < i; j++) {
        if (!spend(c, 1)) goto out;
        if (tki_sj_equal(&v->u.items[i], &v->u.items[j])) {
          *dj = j, *di = i, found = 1;
          break;
        }
      }
    goto out;
  }
  if (!spend(c, n)) goto out;
  qsort(hs, n, sizeof *hs, hitem_cmp);
  for (uint32_t a = 0; a < n;) {
    uint32_t b = a + 1;
    while (b < n && hs[b].h == hs[a].h) b++;
    /* a run of equal hashes, in document order: each item against the
     * earlier ones until one is equal (almost always the first) */
    for (uint32_t k = a + 1; k < b; k++) {
      if (found && hs[k].i >= *di) break;
      for (uint32_t j = a; j < k; j++) {
        if (!spend(c, 1)) goto out;
        if (tki_sj_equal(&v->u.items[hs[k].i], &v->u.items[hs[j].i])) {
          *dj = hs[j].i, *di = hs[k].i, found = 1;
          break;
        }
      }
      if (found) break; /* later items of this run come after *di */
    }
    a = b;
  }
out:
  tki_free(hs);
  return found && !c->status;
}

static int v_array(vctx *c, const snode *n, const tki_sj *v, const pseg *at) {
  int ok = 1;
  uint32_t f = n->flags;
  if ((f & K_MINITEMS) && v->n < n->min_items)
    CHECK(fail(c, n, "minItems", at, M_MINITEMS, v->n, (double)n->min_items));
  if ((f & K_MAXITEMS) && v->n > n->max_items)
    CHECK(fail(c, n, "maxItems", at, M_MAXITEMS, v->n, (double)n->max_items));
  if ((f & K_UNIQUE) && v->n > 1) {
    uint32_t di = 0, dj = 0;
    int found = first_duplicate(c, v, &dj, &di);
    if (c->status) return 0;
    if (found) CHECK(fail(c, n, "uniqueItems", at, M_UNIQUE, dj, di));
  }
  uint32_t np = n->nprefix < v->n ? n->nprefix : v->n;
  for (uint32_t i = 0; i < np; i++) {
    pseg seg = {at, NULL, 0, i};
    CHECK(v_node(c, n->prefix[i], &v->u.items[i], &seg));
  }
  if (n->items && v->n > np) {
    if (n->items->boolean == 0) {
      CHECK(fail(c, n, "items", at, M_ITEMS, v->n, n->nprefix));
    } else {
      for (uint32_t i = np; i < v->n; i++) {
        pseg seg = {at, NULL, 0, i};
        CHECK(v_node(c, n->items, &v->u.items[i], &seg));
      }
    }
  }
  if (n->contains) {
    uint64_t lo = (f & K_MINCONT) ? n->min_contains : 1;
    uint64_t hi = (f & K_MAXCONT) ? n->max_contains : UINT64_MAX;
    uint64_t count = 0;
    int q = c->quiet;
    c->quiet = 1;
    for (uint32_t i = 0; i < v->n && count <= hi && !c->stop; i++) {
      pseg seg = {at, NULL, 0, i};
      count += (uint64_t)v_node(c, n->contains, &v->u.items[i], &seg);
    }
    c->quiet = q;
    if (c->status) return 0;
    if (count < lo)
      CHECK(fail(c, n, (f & K_MINCONT) ? "minContains" : "contains", at, M_MINCONT,
                 (double)count, (double)lo));
    if (count > hi)
      CHECK(fail(c, n, "maxContains", at, M_MAXCONT, (double)hi, 0));
  }
  return ok;
}

static int find_prop(const snode *n, const char *key, uint32_t klen) {
  const sprop *p = n->props;
  if (n->nprops <= 8) {
    for (uint32_t i = 0; i < n->nprops; i++)
      if (p[i].klen == klen && (klen == 0 || (p[i].key[0] == key[0] && memcmp(p[i].key, key, klen) == 0)))
        return (int)i;
    return -1;
  }
  uint32_t lo = 0, hi = n->nprops;
  while (lo < hi) {
    uint32_t mid = (lo + hi) / 2;
    int d = p[mid].klen != klen ? (p[mid].klen < klen ? -1 : 1) : memcmp(p[mid].key, key, klen);
    if (d == 0) return (int)mid;
    if (d < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return -1;
}

static int v_object(vctx *c, const snode *n, const tki_sj *v, const pseg *at) {
  int ok = 1;
  uint32_t f = n->flags;
  if ((f & K_MINPROPS) && v->n < n->min_props)
    CHECK(fail(c, n, "minProperties", at, M_MINPROPS, v->n, (double)n->min_props));
  if ((f & K_MAXPROPS) && v->n > n->max_props)
    CHECK(fail(c, n, "maxProperties", at, M_MAXPROPS, v->n, (double)n->max_props));
  uint64_t seen = 0;
  if (n->nprops || n->npats || n->additional || n->property_names) {
    for (uint32_t i = 0; i < v->n; i++) {
      const tki_sj_member *m = &v->u.members[i];
      pseg seg = {at, m->key, m->klen, 0};
      if (n->property_names) {
        tki_sj name;
        memset(&name, 0, sizeof name);
        name.type = TKI_SJ_STRING;
        name.n = m->klen;
        name.u.str = m->key;
        CHECK(v_node(c, n->property_names, &name, &seg));
      }
      int matched = 0;
      int pi = n->nprops ? find_prop(n, m->key, m->klen) : -1;
      if (pi >= 0) {
        matched = 1;
        if (pi < 64) seen |= (uint64_t)1 << pi;
        CHECK(v_node(c, n->props[pi].node, &m->val, &seg));
      }
      for (uint32_t k = 0; k < n->npats; k++) {
        int hit, rc = match(c, n->pats[k].re, n->pats[k].jit, m->key, m->klen, &hit);
        if (rc == TKN_ERR_NOMEM) {
          c->status = rc;
          c->stop = 1;
          return 0;
        }
        if (rc) return regex_gave_up(c, n, "patternProperties", at, n->pats[k].src, n->pats[k].srclen);
        if (c->status) return 0;
        if (!hit) continue;
        matched = 1;
        CHECK(v_node(c, n->pats[k].node, &m->val, &seg));
      }
      if (!matched && n->additional) {
        if (n->additional->boolean == 0)
          CHECK(fail_args(c, n, "additionalProperties", at, M_ADDITIONAL, 0, 0, m->key, m->klen,
                          NULL, 0));
        else
          CHECK(v_node(c, n->additional, &m->val, &seg));
      }
    }
  }
  for (uint32_t i = 0; i < n->nrequired; i++) {
    const sreq *r = &n->required[i];
    int present = (r->prop >= 0 && r->prop < 64) ? (int)((seen >> r->prop) & 1)
                                                 : tki_sj_get(v, r->key, r->klen) != NULL;
    if (!present)
      CHECK(fail_args(c, n, "required", at, M_REQUIRED, 0, 0, r->key, r->klen, NULL, 0));
  }
  for (uint32_t i = 0; i < n->ndep_required; i++) {
    const skeylist *d = &n->dep_required[i];
    if (!tki_sj_get(v, d->key, d->klen)) continue;
    for (uint32_t j = 0; j < d->n; j++)
      if (!tki_sj_get(v, d->names[j].u.str, d->names[j].n))
        CHECK(fail_args(c, n, "dependentRequired", at, M_DEPREQ, 0, 0, d->key, d->klen,
                        d->names[j].u.str, d->names[j].n));
  }
  for (uint32_t i = 0; i < n->ndep_schemas; i++) {
    const sprop *d = &n->dep_schemas[i];
    if (tki_sj_get(v, d->key, d->klen)) CHECK(v_node(c, d->node, v, at));
  }
  return ok;
}

static int quietly(vctx *c, const snode *n, const tki_sj *v, const pseg *at) {
  int q = c->quiet;
  c->quiet = 1;
  int r = v_node(c, n, v, at);
  c->quiet = q;
  return r;
}

static int v_applicators(vctx *c, const snode *n, const tki_sj *v, const pseg *at) {
  int ok = 1;
  if (n->ref) CHECK(v_node(c, n->ref, v, at));
  for (uint32_t i = 0; i < n->nall; i++) CHECK(v_node(c, n->all_of[i], v, at));
  if (n->nany) {
    int any = 0;
    for (uint32_t i = 0; i < n->nany && !any && !c->status && !c->stop; i++)
      any = quietly(c, n->any_of[i], v, at);
    if (c->status) return 0;
    if (!any) CHECK(fail(c, n, "anyOf", at, M_ANYOF, n->nany, 0));
  }
  if (n->none) {
    uint32_t hits = 0, first = 0, second = 0;
    for (uint32_t i = 0; i < n->none && hits < 2 && !c->status && !c->stop; i++)
      if (quietly(c, n->one_of[i], v, at)) {
        if (hits++ == 0)
          first = i;
        else
          second = i;
      }
    if (c->status) return 0;
    if (hits == 0)
      CHECK(fail(c, n, "oneOf", at, M_ONEOF_NONE, n->none, 0));
    else if (hits > 1)
      CHECK(fail(c, n, "oneOf", at, M_ONEOF_MANY, first, second));
  }
  if (n->not_) {
    int m = quietly(c, n->not_, v, at);
    if (c->status) return 0;
    if (m) CHECK(fail(c, n, "not", at, M_NOT, 0, 0));
  }
  if (n->if_) {
    int m = quietly(c, n->if_, v, at);
    if (c->status) return 0;
    if (m && n->then_) CHECK(v_node(c, n->then_, v, at));
    if (!m && n->else_) CHECK(v_node(c, n->else_, v, at));
  }
  return ok;
}

static int v_node(vctx *c, const snode *n, const tki_sj *v, const pseg *at) {
  if (n->boolean >= 0) {
    if (n->boolean) return 1;
    return fail(c, n, "false", at, M_FALSE, 0, 0);
  }
  if (!spend(c, 1)) return 0;
  if (++c->depth > MAX_EVAL_DEPTH) {
    c->depth--;
    int q = c->quiet;
    c->quiet = 0;
    fail(c, n, "$ref", at, M_DEPTH, MAX_EVAL_DEPTH, 0);
    c->quiet = q;
    c->stop = 1;
    return 0;
  }
  int ok = 1;
  uint32_t f = n->flags;
  if ((f & K_TYPE) && !type_ok(n->types, v)) {
    if (!fail(c, n, "type", at, M_TYPE, n->types, type_code(v))) {
      ok = 0;
      if (c->quiet || c->stop) goto out;
    }
  }
  if ((f & K_CONST) && !tki_sj_equal(n->cnst, v)) {
    ok = fail(c, n, "const", at, M_CONST, 0, 0);
    if (c->quiet || c->stop) goto out;
  }
  if (f & K_ENUM) {
    uint32_t i = 0;
    while (i < n->enums->n && !tki_sj_equal(&n->enums->u.items[i], v)) i++;
    if (i == n->enums->n) {
      ok = fail(c, n, "enum", at, M_ENUM, n->enums->n, 0);
      if (c->quiet || c->stop) goto out;
    }
  }
  int r = 1;
  switch (v->type) {
    case TKI_SJ_NUMBER:
      if (f & K_NUMBER_KW) r = v_number(c, n, v, at);
      break;
    case TKI_SJ_STRING:
      if (f & K_STRING_KW) r = v_string(c, n, v, at);
      break;
    case TKI_SJ_ARRAY: r = v_array(c, n, v, at); break;
    case TKI_SJ_OBJECT: r = v_object(c, n, v, at); break;
    default: break;
  }
  if (!r) {
    ok = 0;
    if (c->quiet || c->stop) goto out;
  }
  if (n->has_applicators && !v_applicators(c, n, v, at)) ok = 0;
out:
  c->depth--;
  return ok;
}

/* ---- public ---- */

int tkn_schema_result_new(tkn_schema_result **out) {
  if (!out) return tki_fail(TKN_ERR_INVALID, "tkn_schema_result_new: out is NULL");
  tkn_schema_result *r = tki_calloc(1, sizeof *r);
  if (!r) {
    *out = NULL;
    return tki_fail(TKN_ERR_NOMEM, "tkn_schema_result_new: out of memory");
  }
  tki_arena_init(&r->arena);
  tki_buf_init(&r->strings);
  tki_buf_init(&r->text);
  *out = r;
  return TKN_OK;
}

void tkn_schema_result_free(tkn_schema_result *r) {
  if (!r) return;
  tki_arena_free(&r->arena);
  tki_sj_parser_free(&r->parser);
  tki_buf_free(&r->strings);
  tki_buf_free(&r->text);
  tki_free(r->errs);
  if (r->md) pcre2_match_data_free(r->md);
  if (r->mctx) pcre2_match_context_free(r->mctx);
  if (r->gctx) pcre2_general_context_free(r->gctx);
  tki_free(r);
}

static int ensure_regex_state(tkn_schema_result *r) {
  if (r->md) return TKN_OK;
  if (!r->gctx && !(r->gctx = tki_schema_pcre2_context())) return tki_fail(TKN_ERR_NOMEM, "out of memory");
  if (!r->mctx) {
    r->mctx = pcre2_match_context_create(r->gctx);
    if (!r->mctx) return tki_fail(TKN_ERR_NOMEM, "out of memory");
    /* a pathological pattern fails the document instead of hanging the host */
    pcre2_set_match_limit(r->mctx, 10000000);
    pcre2_set_depth_limit(r->mctx, 100000);
  }
  r->md = pcre2_match_data_create(1, r->gctx);
  return r->md ? TKN_OK : TKN_ERR_NOMEM;
}

static const char *str_at(const tkn_schema_result *r, size_t off) { return r->strings.data + off; }

static void format_message_raw(tki_buf *t, const tkn_schema_result *r, const rerr *e);

/* One line, as every message: a property name or string value quoted in it
 * may hold line breaks, which become spaces (as tki_err does). */
static void format_message(tki_buf *t, const tkn_schema_result *r, const rerr *e) {
  size_t start = t->len;
  format_message_raw(t, r, e);
  if (t->failed) return;
  for (size_t i = start; i < t->len; i++)
    if (t->data[i] == '\n' || t->data[i] == '\r') t->data[i] = ' ';
}

static void format_message_raw(tki_buf *t, const tkn_schema_result *r, const rerr *e) {
  const char *s1 = e->arg1 != SIZE_MAX ? str_at(r, e->arg1) : "";
  const char *s2 = e->arg2 != SIZE_MAX ? str_at(r, e->arg2) : "";
  /* a and b are counts for some kinds and any double (negative too) for
   * others: convert only what fits, since an out-of-range conversion is UB */
  unsigned ua = (e->a >= 0 && e->a <= UINT_MAX) ? (unsigned)e->a : 0;
  unsigned ub = (e->b >= 0 && e->b <= UINT_MAX) ? (unsigned)e->b : 0;
  switch (e->kind) {
    case M_FALSE: tki_buf_puts(t, "no value is allowed here"); break;
    case M_TYPE: {
      char want[80];
      type_list((uint8_t)e->a, want, sizeof want);
      tki_buf_printf(t, "expected %s, got %s", want, type_names[(int)e->b]);
      break;
    }
    case M_CONST: tki_buf_puts(t, "must equal the constant value"); break;
    case M_ENUM: tki_buf_printf(t, "not one of the %u allowed values", ua); break;
    case M_MINIMUM: tki_buf_printf(t, "%.17g is less than the minimum %.17g", e->a, e->b); break;
    case M_MAXIMUM: tki_buf_printf(t, "%.17g is greater than the maximum %.17g", e->a, e->b); break;
    case M_XMIN: tki_buf_printf(t, "%.17g is not greater than %.17g", e->a, e->b); break;
    case M_XMAX: tki_buf_printf(t, "%.17g is not less than %.17g", e->a, e->b); break;
    case M_MULT: tki_buf_printf(t, "%.17g is not a multiple of %.17g", e->a, e->b); break;
    case M_MINLEN: tki_buf_printf(t, "%.0f code points, fewer than %.0f", e->a, e->b); break;
    case M_MAXLEN: tki_buf_printf(t, "%.0f code points, more than %.0f", e->a, e->b); break;
    case M_PATTERN: tki_buf_printf(t, "\"%s\" does not match /%s/", s1, s2); break;
    case M_REGEX_LIMIT:
      tki_buf_printf(t, "matching /%s/ exceeded the regular-expression limits", s1);
      break;
    case M_MINITEMS: tki_buf_printf(t, "%u items, fewer than %.0f", ua, e->b); break;
    case M_MAXITEMS: tki_buf_printf(t, "%u items, more than %.0f", ua, e->b); break;
    case M_UNIQUE: tki_buf_printf(t, "items %u and %u are equal", ua, ub); break;
    case M_ITEMS: tki_buf_printf(t, "%u items, at most %u allowed", ua, ub); break;
    case M_MINCONT:
      tki_buf_printf(t, "%.0f items match \"contains\", fewer than %.0f", e->a, e->b);
      break;
    case M_MAXCONT: tki_buf_printf(t, "more than %.0f items match \"contains\"", e->a); break;
    case M_MINPROPS: tki_buf_printf(t, "%u properties, fewer than %.0f", ua, e->b); break;
    case M_MAXPROPS: tki_buf_printf(t, "%u properties, more than %.0f", ua, e->b); break;
    case M_ADDITIONAL: tki_buf_printf(t, "property \"%s\" is not allowed", s1); break;
    case M_REQUIRED: tki_buf_printf(t, "missing required property \"%s\"", s1); break;
    case M_DEPREQ: tki_buf_printf(t, "property \"%s\" requires property \"%s\"", s1, s2); break;
    case M_ANYOF: tki_buf_printf(t, "matches none of the %u alternatives", ua); break;
    case M_ONEOF_NONE: tki_buf_printf(t, "matches none of the %u alternatives", ua); break;
    case M_ONEOF_MANY:
      tki_buf_printf(t, "matches alternatives %u and %u; exactly one must match", ua, ub);
      break;
    case M_NOT: tki_buf_puts(t, "matches a schema it must not match"); break;
    default: tki_buf_printf(t, "evaluation deeper than %u schemas", ua); break;
  }
  tki_buf_putc(t, '\0');
}

/* Write the messages of the last validation, once, when first asked for.
 * The result is used by one thread at a time, so filling these caches from a
 * const accessor is safe. */
static int ensure_formatted(const tkn_schema_result *cr) {
  tkn_schema_result *r = (tkn_schema_result *)cr;
  if (r->formatted || r->nerrs == 0) return TKN_OK;
  r->text.len = 0;
  r->text.failed = 0;
  for (size_t i = 0; i < r->nerrs; i++) {
    r->errs[i].message = r->text.len;
    format_message(&r->text, r, &r->errs[i]);
  }
  if (r->text.failed)
    return tki_fail(TKN_ERR_NOMEM, "document does not conform (out of memory writing the message)");
  const rerr *e = &r->errs[0];
  const char *path = str_at(r, e->path);
  snprintf(r->err, sizeof r->err, "at %s: %s: %s (schema %s)", path[0] ? path : "(root)",
           str_at(r, e->keyword), r->text.data + e->message, str_at(r, e->schema));
  r->formatted = 1;
  return TKN_OK;
}

static void reset_result(tkn_schema_result *r) {
  r->nerrs = 0;
  r->formatted = 0;
  r->strings.len = 0;
  r->strings.failed = 0;
  r->err[0] = '\0';
}

int tki_schema_validate_tree(const tkn_schema *s, const tki_sj *doc, tkn_schema_result *r) {
  reset_result(r);
  if (s->ncodes && ensure_regex_state(r))
    return r->status = tki_fail(TKN_ERR_NOMEM, "validate: out of memory");
  vctx c = {r, 0, 0, TKN_OK, s->opts.max_errors, 0, 0, 0,
            r->max_work ? r->max_work : TKN_SCHEMA_DEFAULT_MAX_WORK};
  int ok = v_node(&c, s->root, doc, NULL);
  if (c.status == TKN_ERR_LIMIT) {
    r->nerrs = 0;
    return r->status = tki_fail(TKN_ERR_LIMIT,
                               "validate: gave up after %llu steps of work (the limit set with "
                               "tkn_schema_result_set_max_work); the document is not accepted",
                               (unsigned long long)c.max_work);
  }
  if (c.status) {
    r->nerrs = 0;
    return r->status = tki_fail(c.status, "validate: out of memory");
  }
  if (ok && !c.closed) return r->status = TKN_OK;
  if (r->nerrs == 0) /* cannot happen: every failure records in loud mode */
    return r->status = tki_fail(TKN_ERR_SCHEMA, "document does not match the schema");
  /* Messages are written when asked for (tkn_schema_result_error); the last
   * error names the first one's place and keyword, which cost no formatting. */
  const rerr *e = &r->errs[0];
  const char *ptr = str_at(r, e->path);
  char path[TKI_PATHLEN];
  tki_pointer_to_jsonpath(ptr, path, sizeof path);
  r->status = tki_fail_at(TKN_ERR_SCHEMA, -1, path,
                          "document does not conform to the schema: at %s: %s (schema %s)%s",
                          ptr[0] ? ptr : "(root)", str_at(r, e->keyword), str_at(r, e->schema),
                          r->nerrs > 1 ? ", and more errors" : "");
  return r->status;
}

int tkn_schema_validate(const tkn_schema *s, const char *json, size_t len,
                        tkn_schema_result *r) {
  len = tki_len(json, len);
  if (!r) return tki_fail_null("tkn_schema_validate", "res");
  tki_arena_reset(&r->arena);
  reset_result(r);
  if (!s || (!json && len)) {
    r->status = !s ? tki_fail_null("tkn_schema_validate", "schema")
                   : tki_fail(TKN_ERR_INVALID, "validate: json is NULL with a length");
    return r->status;
  }
  tki_sj doc;
  int rc = tki_sj_parse(&r->parser, &r->arena, json, len, (size_t)s->opts.max_instance_bytes,
                        s->opts.max_instance_depth, "document", &doc, NULL);
  if (rc) {
    snprintf(r->err, sizeof r->err, "%s", tki_error_message()); /* for the re-ask */
    return r->status = rc;
  }
  return tki_schema_validate_tree(s, &doc, r);
}

int tkn_schema_check(const tkn_schema *s, const char *json, size_t len) {
  len = tki_len(json, len);
  tkn_schema_result *r;
  if (tkn_schema_result_new(&r)) return tki_fail(TKN_ERR_NOMEM, "validate: out of memory");
  int rc = tkn_schema_validate(s, json, len, r);
  if (rc == TKN_ERR_SCHEMA) { /* no result to ask: the whole first message */
    char path[TKI_PATHLEN];
    snprintf(path, sizeof path, "%s", tkn_error_last()->path);
    if (ensure_formatted(r)) rc = TKN_ERR_NOMEM;
    else tki_fail_at(rc, -1, path, "%s", r->err);
  }
  tkn_schema_result_free(r);
  return rc;
}

int tkn_schema_result_set_max_work(tkn_schema_result *r, uint64_t max_work) {
  if (!r) return tki_fail_null("tkn_schema_result_set_max_work", "res");
  r->max_work = max_work;
  return TKN_OK;
}

int tkn_schema_result_status(const tkn_schema_result *r) { return r ? r->status : TKN_ERR_INVALID; }

size_t tkn_schema_result_error_count(const tkn_schema_result *r) { return r ? r->nerrs : 0; }

int tkn_schema_result_error(const tkn_schema_result *r, size_t i, const char **instance_path,
                            const char **keyword, const char **schema_path,
                            const char **message) {
  if (!r) return tki_fail_null("tkn_schema_result_error", "res");
  if (i >= r->nerrs) return tki_fail(TKN_ERR_NOT_FOUND, "tkn_schema_result_error: not found");
  if (ensure_formatted(r)) return TKN_ERR_NOMEM; /* recorded */
  const rerr *e = &r->errs[i];
  if (instance_path) *instance_path = str_at(r, e->path);
  if (keyword) *keyword = str_at(r, e->keyword);
  if (schema_path) *schema_path = str_at(r, e->schema);
  if (message) *message = r->text.data + e->message;
  return TKN_OK;
}

int tkn_schema_result_reask(const tkn_schema_result *r, char **out, size_t *out_len) {
  if (!r || !out) return tki_fail_null("tkn_schema_result_reask", !r ? "res" : "out");
  *out = NULL;
  if (out_len) *out_len = 0;
  if (r->status == TKN_OK) return tki_fail(TKN_ERR_STATE, "tkn_schema_result_reask: not allowed in this state");
  if (ensure_formatted(r)) return TKN_ERR_NOMEM; /* recorded */
  tki_buf b;
  tki_buf_init(&b);
  if (r->nerrs == 0) {
    tki_buf_printf(&b,
                   "Your previous reply could not be used: %s.\nReply again with only a JSON "
                   "document that conforms to the required schema, with no other text.",
                   r->err);
  } else {
    tki_buf_puts(&b, "Your previous reply does not conform to the required JSON schema:\n");
    for (size_t i = 0; i < r->nerrs; i++) {
      const rerr *e = &r->errs[i];
      const char *path = str_at(r, e->path);
      tki_buf_printf(&b, "- at %s: %s: %s\n", path[0] ? path : "(root)", str_at(r, e->keyword),
                     r->text.data + e->message);
    }
    tki_buf_puts(&b, "Reply again with only the corrected JSON document, with no other text.");
  }
  return tki_buf_give(&b, out, out_len, "tkn_schema_result_reask");
}
