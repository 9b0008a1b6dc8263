/* Validating documents against a compiled schema.  The schema is only read;
 * everything a validation writes (the parsed document, errors, regex match
 * data) lives in the caller's tkn_schema_result, so threads can share one
 * schema.  Sub-schemas whose failure is not itself an error (anyOf branches,
 * if, not, contains) are evaluated "quietly": they stop at the first failure
 * and record nothing. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "schema_internal.h"

#define MAX_EVAL_DEPTH 4096

typedef struct rerr {
  size_t path, keyword, schema, message; /* offsets into strings */
} rerr;

struct tkn_schema_result {
  tki_arena arena;
  tki_sj_parser parser;
  tki_buf strings;
  rerr *errs;
  size_t nerrs, caperrs;
  pcre2_general_context *gctx;
  pcre2_match_data *md;
  pcre2_match_context *mctx;
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
} vctx;

/* ---- errors ---- */

static void put_pointer(tki_buf *b, const pseg *at) {
  const pseg *chain[520];
  size_t n = 0;
  for (const pseg *p = at; p && n < sizeof chain / sizeof chain[0]; p = p->up) chain[n++] = p;
  while (n-- > 0) {
    const pseg *p = chain[n];
    tki_buf_putc(b, '/');
    if (!p->key) {
      tki_buf_printf(b, "%u", p->index);
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

static int fail(vctx *c, const snode *n, const char *kw, const pseg *at, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

static int fail(vctx *c, const snode *n, const char *kw, const pseg *at, const char *fmt, ...) {
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
  e.path = b->len;
  put_pointer(b, at);
  tki_buf_putc(b, '\0');
  e.keyword = b->len;
  tki_buf_puts(b, kw);
  tki_buf_putc(b, '\0');
  e.schema = b->len;
  tki_buf_printf(b, "%s/%s", n->path, kw);
  tki_buf_putc(b, '\0');
  e.message = b->len;
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  tki_buf_puts(b, msg);
  tki_buf_putc(b, '\0');
  if (b->failed) {
    c->status = TKN_ERR_NOMEM;
    c->stop = 1;
    return 0;
  }
  r->errs[r->nerrs++] = e;
  if (r->nerrs >= c->max_errors) c->stop = 1;
  return 0;
}

/* A short, quoted excerpt of a string for messages. */
#define EXCERPT(s, n) (int)((n) > 40 ? 40 : (n)), (s), ((n) > 40 ? "..." : "")

static const char *type_name(const tki_sj *v) {
  switch (v->type) {
    case TKI_SJ_NULL: return "null";
    case TKI_SJ_BOOL: return "boolean";
    case TKI_SJ_NUMBER: return v->is_int ? "integer" : "number";
    case TKI_SJ_STRING: return "string";
    case TKI_SJ_ARRAY: return "array";
    default: return "object";
  }
}

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

/* x is a multiple of m: exact for integers below 2^53, otherwise the quotient
 * must be within 1e-9 of an integer (doubles cannot hold 0.1 exactly). */
static int is_multiple(double x, double m) {
  if (x == 0) return 1;
  const double big = 9007199254740992.0;
  if (x == floor(x) && m == floor(m) && fabs(x) < big && m < big) return fmod(x, m) == 0;
  double q = x / m;
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
    CHECK(fail(c, n, "minimum", at, "%.17g is less than the minimum %.17g", x, n->minimum));
  if ((f & K_MAX) && !(x <= n->maximum))
    CHECK(fail(c, n, "maximum", at, "%.17g is greater than the maximum %.17g", x, n->maximum));
  if ((f & K_XMIN) && !(x > n->xminimum))
    CHECK(fail(c, n, "exclusiveMinimum", at, "%.17g is not greater than %.17g", x, n->xminimum));
  if ((f & K_XMAX) && !(x < n->xmaximum))
    CHECK(fail(c, n, "exclusiveMaximum", at, "%.17g is not less than %.17g", x, n->xmaximum));
  if ((f & K_MULT) && !is_multiple(x, n->multiple_of))
    CHECK(fail(c, n, "multipleOf", at, "%.17g is not a multiple of %.17g", x, n->multiple_of));
  return ok;
}

static int match(vctx *c, pcre2_code *re, const char *s, size_t len, int *matched) {
  tkn_schema_result *r = c->res;
  int rc = pcre2_match(re, (PCRE2_SPTR)s, len, 0, PCRE2_NO_UTF_CHECK, r->md, r->mctx);
  if (rc >= 0) {
    *matched = 1;
    return TKN_OK;
  }
  *matched = 0;
  if (rc == PCRE2_ERROR_NOMATCH) return TKN_OK;
  if (rc == PCRE2_ERROR_NOMEMORY || rc == PCRE2_ERROR_HEAP_FAILED) return TKN_ERR_NOMEM;
  return TKN_ERR_LIMIT; /* match or depth limit: treated as not matching, said so */
}

static int v_string(vctx *c, const snode *n, const tki_sj *v, const pseg *at) {
  int ok = 1;
  uint32_t f = n->flags;
  if (f & (K_MINLEN | K_MAXLEN)) {
    /* code points <= bytes: count only when the bytes do not decide */
    size_t bytes = v->n, cps = (size_t)-1;
    if ((f & K_MINLEN) && bytes < n->min_len)
      cps = bytes;
    else if ((f & K_MINLEN) || ((f & K_MAXLEN) && bytes > n->max_len))
      cps = tki_sj_codepoints(v->u.str, v->n);
    if ((f & K_MINLEN) && cps < n->min_len)
      CHECK(fail(c, n, "minLength", at, "%zu code points, fewer than %llu", cps,
                 (unsigned long long)n->min_len));
    if ((f & K_MAXLEN) && cps != (size_t)-1 && cps > n->max_len)
      CHECK(fail(c, n, "maxLength", at, "%zu code points, more than %llu", cps,
                 (unsigned long long)n->max_len));
  }
  if (f & K_PATTERN) {
    int m, rc = match(c, n->pattern, v->u.str, v->n, &m);
    if (rc == TKN_ERR_NOMEM) {
      c->status = rc;
      c->stop = 1;
      return 0;
    }
    if (rc)
      CHECK(fail(c, n, "pattern", at, "matching /%s/ exceeded the regular-expression limits",
                 n->pattern_src));
    else if (!m)
      CHECK(fail(c, n, "pattern", at, "\"%.*s%s\" does not match /%s/", EXCERPT(v->u.str, v->n),
                 n->pattern_src));
  }
  return ok;
}

static int v_array(vctx *c, const snode *n, const tki_sj *v, const pseg *at) {
  int ok = 1;
  uint32_t f = n->flags;
  if ((f & K_MINITEMS) && v->n < n->min_items)
    CHECK(fail(c, n, "minItems", at, "%u items, fewer than %llu", v->n,
               (unsigned long long)n->min_items));
  if ((f & K_MAXITEMS) && v->n > n->max_items)
    CHECK(fail(c, n, "maxItems", at, "%u items, more than %llu", v->n,
               (unsigned long long)n->max_items));
  if (f & K_UNIQUE) {
    for (uint32_t i = 1; i < v->n; i++)
      for (uint32_t j = 0; j < i; j++)
        if (tki_sj_equal(&v->u.items[i], &v->u.items[j])) {
          CHECK(fail(c, n, "uniqueItems", at, "items %u and %u are equal", j, i));
          i = v->n;
          break;
        }
  }
  uint32_t np = n->nprefix < v->n ? n->nprefix : v->n;
  for (uint32_t i = 0; i < np; i++) {
    pseg seg = {at, NULL, 0, i};
    CHECK(v_node(c, n->prefix[i], &v->u.items[i], &seg));
  }
  if (n->items && v->n > np) {
    if (n->items->boolean == 0) {
      CHECK(fail(c, n, "items", at, "%u items, at most %u allowed", v->n, n->nprefix));
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
    for (uint32_t i = 0; i < v->n && count <= hi; i++) {
      pseg seg = {at, NULL, 0, i};
      count += (uint64_t)v_node(c, n->contains, &v->u.items[i], &seg);
    }
    c->quiet = q;
    if (c->status) return 0;
    if (count < lo)
      CHECK(fail(c, n, (f & K_MINCONT) ? "minContains" : "contains", at,
                 "%llu items match \"contains\", fewer than %llu", (unsigned long long)count,
                 (unsigned long long)lo));
    if (count > hi)
      CHECK(fail(c, n, "maxContains", at, "more than %llu items match \"contains\"",
                 (unsigned long long)hi));
  }
  return ok;
}

static int find_prop(const snode *n, const char *key, uint32_t klen) {
  const sprop *p = n->props;
  if (n->nprops <= 8) {
    for (uint32_t i = 0; i < n->nprops; i++)
      if (p[i].klen == klen && memcmp(p[i].key, key, klen) == 0) return (int)i;
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
    CHECK(fail(c, n, "minProperties", at, "%u properties, fewer than %llu", v->n,
               (unsigned long long)n->min_props));
  if ((f & K_MAXPROPS) && v->n > n->max_props)
    CHECK(fail(c, n, "maxProperties", at, "%u properties, more than %llu", v->n,
               (unsigned long long)n->max_props));
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
        int hit, rc = match(c, n->pats[k].re, m->key, m->klen, &hit);
        if (rc == TKN_ERR_NOMEM) {
          c->status = rc;
          c->stop = 1;
          return 0;
        }
        if (rc) {
          CHECK(fail(c, n, "patternProperties", at,
                     "matching /%s/ exceeded the regular-expression limits", n->pats[k].src));
          continue;
        }
        if (!hit) continue;
        matched = 1;
        CHECK(v_node(c, n->pats[k].node, &m->val, &seg));
      }
      if (!matched && n->additional) {
        if (n->additional->boolean == 0)
          CHECK(fail(c, n, "additionalProperties", at, "property \"%.*s%s\" is not allowed",
                     EXCERPT(m->key, m->klen)));
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
      CHECK(fail(c, n, "required", at, "missing required property \"%.*s%s\"",
                 EXCERPT(r->key, r->klen)));
  }
  for (uint32_t i = 0; i < n->ndep_required; i++) {
    const skeylist *d = &n->dep_required[i];
    if (!tki_sj_get(v, d->key, d->klen)) continue;
    for (uint32_t j = 0; j < d->n; j++)
      if (!tki_sj_get(v, d->names[j].u.str, d->names[j].n))
        CHECK(fail(c, n, "dependentRequired", at,
                   "property \"%.*s%s\" requires property \"%.*s%s\"", EXCERPT(d->key, d->klen),
                   EXCERPT(d->names[j].u.str, d->names[j].n)));
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
    for (uint32_t i = 0; i < n->nany && !any && !c->status; i++)
      any = quietly(c, n->any_of[i], v, at);
    if (c->status) return 0;
    if (!any) CHECK(fail(c, n, "anyOf", at, "matches none of the %u alternatives", n->nany));
  }
  if (n->none) {
    uint32_t hits = 0, first = 0, second = 0;
    for (uint32_t i = 0; i < n->none && hits < 2 && !c->status; i++)
      if (quietly(c, n->one_of[i], v, at)) {
        if (hits++ == 0)
          first = i;
        else
          second = i;
      }
    if (c->status) return 0;
    if (hits == 0)
      CHECK(fail(c, n, "oneOf", at, "matches none of the %u alternatives", n->none));
    else if (hits > 1)
      CHECK(fail(c, n, "oneOf", at, "matches alternatives %u and %u; exactly one must match",
                 first, second));
  }
  if (n->not_) {
    int m = quietly(c, n->not_, v, at);
    if (c->status) return 0;
    if (m) CHECK(fail(c, n, "not", at, "matches a schema it must not match"));
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
    return fail(c, n, "false", at, "no value is allowed here");
  }
  if (++c->depth > MAX_EVAL_DEPTH) {
    c->depth--;
    int q = c->quiet;
    c->quiet = 0;
    fail(c, n, "$ref", at, "evaluation deeper than %d schemas", MAX_EVAL_DEPTH);
    c->quiet = q;
    c->stop = 1;
    return 0;
  }
  int ok = 1;
  uint32_t f = n->flags;
  if ((f & K_TYPE) && !type_ok(n->types, v)) {
    char want[80];
    type_list(n->types, want, sizeof want);
    if (!fail(c, n, "type", at, "expected %s, got %s", want, type_name(v))) {
      ok = 0;
      if (c->quiet || c->stop) goto out;
    }
  }
  if ((f & K_CONST) && !tki_sj_equal(n->cnst, v)) {
    ok = fail(c, n, "const", at, "must equal the constant value");
    if (c->quiet || c->stop) goto out;
  }
  if (f & K_ENUM) {
    uint32_t i = 0;
    while (i < n->enums->n && !tki_sj_equal(&n->enums->u.items[i], v)) i++;
    if (i == n->enums->n) {
      ok = fail(c, n, "enum", at, "not one of the %u allowed values", n->enums->n);
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
  if (!out) return TKN_ERR_INVALID;
  tkn_schema_result *r = tki_calloc(1, sizeof *r);
  if (!r) {
    *out = NULL;
    return TKN_ERR_NOMEM;
  }
  tki_arena_init(&r->arena);
  tki_buf_init(&r->strings);
  *out = r;
  return TKN_OK;
}

void tkn_schema_result_free(tkn_schema_result *r) {
  if (!r) return;
  tki_arena_free(&r->arena);
  tki_sj_parser_free(&r->parser);
  tki_buf_free(&r->strings);
  tki_free(r->errs);
  if (r->md) pcre2_match_data_free(r->md);
  if (r->mctx) pcre2_match_context_free(r->mctx);
  if (r->gctx) pcre2_general_context_free(r->gctx);
  tki_free(r);
}

static int ensure_regex_state(tkn_schema_result *r) {
  if (r->md) return TKN_OK;
  if (!r->gctx && !(r->gctx = tki_schema_pcre2_context())) return TKN_ERR_NOMEM;
  if (!r->mctx) {
    r->mctx = pcre2_match_context_create(r->gctx);
    if (!r->mctx) return TKN_ERR_NOMEM;
    /* a pathological pattern fails the document instead of hanging the host */
    pcre2_set_match_limit(r->mctx, 10000000);
    pcre2_set_depth_limit(r->mctx, 100000);
  }
  r->md = pcre2_match_data_create(1, r->gctx);
  return r->md ? TKN_OK : TKN_ERR_NOMEM;
}

static const char *str_at(const tkn_schema_result *r, size_t off) { return r->strings.data + off; }

static void compose_errmsg(tkn_schema_result *r) {
  const rerr *e = &r->errs[0];
  const char *path = str_at(r, e->path);
  tki_err(r->err, TKN_ERR_SCHEMA, "at %s: %s: %s (schema %s)", path[0] ? path : "(root)",
          str_at(r, e->keyword), str_at(r, e->message), str_at(r, e->schema));
}

int tkn_schema_validate(const tkn_schema *s, const char *json, size_t len,
                        tkn_schema_result *r) {
  if (!r) return TKN_ERR_INVALID;
  tki_arena_reset(&r->arena);
  r->nerrs = 0;
  r->strings.len = 0;
  r->strings.failed = 0;
  r->err[0] = '\0';
  if (!s || (!json && len)) {
    r->status = tki_err(r->err, TKN_ERR_INVALID, "validate: NULL schema or text");
    return r->status;
  }
  tki_sj doc;
  int rc = tki_sj_parse(&r->parser, &r->arena, json, len, (size_t)s->opts.max_instance_bytes,
                        s->opts.max_instance_depth, "document", &doc, r->err);
  if (!rc && s->ncodes) rc = ensure_regex_state(r) ? tki_err(r->err, TKN_ERR_NOMEM, "validate: out of memory") : TKN_OK;
  if (rc) return r->status = rc;
  vctx c = {r, 0, 0, TKN_OK, s->opts.max_errors, 0};
  int ok = v_node(&c, s->root, &doc, NULL);
  if (c.status) {
    r->nerrs = 0;
    return r->status = tki_err(r->err, c.status, "validate: out of memory");
  }
  if (ok) return r->status = TKN_OK;
  if (r->nerrs == 0) /* cannot happen: every failure records in loud mode */
    return r->status = tki_err(r->err, TKN_ERR_SCHEMA, "document does not match the schema");
  compose_errmsg(r);
  return r->status = TKN_ERR_SCHEMA;
}

int tkn_schema_check(const tkn_schema *s, const char *json, size_t len, char *errbuf,
                     size_t errlen) {
  tkn_schema_result *r;
  if (tkn_schema_result_new(&r)) {
    tki_copy_err(errbuf, errlen, "validate: out of memory");
    return TKN_ERR_NOMEM;
  }
  int rc = tkn_schema_validate(s, json, len, r);
  tki_copy_err(errbuf, errlen, r->err);
  tkn_schema_result_free(r);
  return rc;
}

int tkn_schema_result_status(const tkn_schema_result *r) { return r ? r->status : TKN_ERR_INVALID; }

size_t tkn_schema_result_error_count(const tkn_schema_result *r) { return r ? r->nerrs : 0; }

int tkn_schema_result_error(const tkn_schema_result *r, size_t i, const char **instance_path,
                            const char **keyword, const char **schema_path,
                            const char **message) {
  if (!r) return TKN_ERR_INVALID;
  if (i >= r->nerrs) return TKN_ERR_NOT_FOUND;
  const rerr *e = &r->errs[i];
  if (instance_path) *instance_path = str_at(r, e->path);
  if (keyword) *keyword = str_at(r, e->keyword);
  if (schema_path) *schema_path = str_at(r, e->schema);
  if (message) *message = str_at(r, e->message);
  return TKN_OK;
}

const char *tkn_schema_result_errmsg(const tkn_schema_result *r) { return r ? r->err : ""; }

int tkn_schema_result_reask(const tkn_schema_result *r, char **out, size_t *out_len) {
  if (!r || !out) return TKN_ERR_INVALID;
  *out = NULL;
  if (out_len) *out_len = 0;
  if (r->status == TKN_OK) return TKN_ERR_STATE;
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
                     str_at(r, e->message));
    }
    tki_buf_puts(&b, "Reply again with only the corrected JSON document, with no other text.");
  }
  size_t n;
  char *text = tki_buf_steal(&b, &n);
  if (!text) return TKN_ERR_NOMEM;
  *out = text;
  if (out_len) *out_len = n;
  return TKN_OK;
}
