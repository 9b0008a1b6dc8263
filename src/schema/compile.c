/* Compiling a JSON Schema (draft 2020-12) into snode trees: every keyword is
 * checked once here, regular expressions are compiled, $ref is resolved to a
 * node, and a keyword we do not implement stops the compile by name, so no
 * schema is ever half-enforced. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "schema_internal.h"

typedef struct mapent {
  const tki_sj *dom;
  snode *node;
} mapent;

typedef struct cctx {
  tkn_schema *s;
  const tki_sj *root;
  const char *root_id;
  uint32_t root_id_len;
  char *err;
  int status;
  mapent *map;
  size_t mapcap, mapn;
  snode **nodes; /* every node, for the cycle search */
  size_t nnodes, capnodes;
  snode **refs; /* nodes with a $ref to resolve */
  size_t nrefs, caprefs;
  pcre2_compile_context *pctx;
} cctx;

/* ---- pcre2 memory ---- */

static void *pcre_malloc(size_t n, void *u) {
  (void)u;
  return tki_malloc(n);
}
static void pcre_free(void *p, void *u) {
  (void)u;
  tki_free(p);
}
pcre2_general_context *tki_schema_pcre2_context(void) {
  return pcre2_general_context_create(pcre_malloc, pcre_free, NULL);
}

/* ---- helpers ---- */

static int nomem(cctx *c) {
  c->status = TKN_ERR_NOMEM;
  return tki_fail(TKN_ERR_NOMEM, "schema: out of memory");
}

static int bad(cctx *c, int status, const char *path, const char *kw, const char *what) {
  c->status = status;
  return tki_fail(status, "schema: \"%s\" at %s/%s: %s", kw, path, kw, what);
}

static int push(cctx *c, void *arrp, size_t *n, size_t *cap, void *item) {
  void ***arr = arrp;
  if (*n == *cap && tki_grow((void **)arr, cap, *n + 1, sizeof(void *))) return nomem(c);
  (*arr)[(*n)++] = item;
  return TKN_OK;
}

/* "#/a" + "b/c" -> "#/a/b~1c" */
static const char *path_join(cctx *c, const char *base, const char *seg, size_t len) {
  size_t bl = strlen(base), extra = 0;
  for (size_t i = 0; i < len; i++) extra += seg[i] == '/' || seg[i] == '~';
  char *p = tki_arena_alloc(&c->s->arena, bl + 1 + len + extra + 1);
  if (!p) return NULL;
  memcpy(p, base, bl);
  size_t k = bl;
  p[k++] = '/';
  for (size_t i = 0; i < len; i++) {
    if (seg[i] == '/') {
      p[k++] = '~';
      p[k++] = '1';
    } else if (seg[i] == '~') {
      p[k++] = '~';
      p[k++] = '0';
    } else {
      p[k++] = seg[i];
    }
  }
  p[k] = '\0';
  return p;
}

static const char *path_index(cctx *c, const char *base, const char *kw, uint32_t i) {
  char seg[96];
  snprintf(seg, sizeof seg, "%s/%u", kw, i);
  size_t bl = strlen(base), sl = strlen(seg);
  char *p = tki_arena_alloc(&c->s->arena, bl + 1 + sl + 1);
  if (!p) return NULL;
  memcpy(p, base, bl);
  p[bl] = '/';
  memcpy(p + bl + 1, seg, sl + 1);
  return p;
}

static size_t hashptr(const void *p, size_t cap) {
  uintptr_t x = (uintptr_t)p;
  x ^= x >> 17;
  x *= (uintptr_t)0x9E3779B97F4A7C15ull;
  return (size_t)(x >> 7) & (cap - 1);
}

static snode *map_get(cctx *c, const tki_sj *dom) {
  if (!c->mapcap) return NULL;
  for (size_t i = hashptr(dom, c->mapcap);; i = (i + 1) & (c->mapcap - 1)) {
    if (!c->map[i].dom) return NULL;
    if (c->map[i].dom == dom) return c->map[i].node;
  }
}

static int map_put(cctx *c, const tki_sj *dom, snode *node) {
  if ((c->mapn + 1) * 2 > c->mapcap) {
    size_t ncap = c->mapcap ? c->mapcap * 2 : 64;
    mapent *nm = tki_calloc(ncap, sizeof *nm);
    if (!nm) return nomem(c);
    for (size_t j = 0; j < c->mapcap; j++) {
      if (!c->map[j].dom) continue;
      size_t i = hashptr(c->map[j].dom, ncap);
      while (nm[i].dom) i = (i + 1) & (ncap - 1);
      nm[i] = c->map[j];
    }
    tki_free(c->map);
    c->map = nm;
    c->mapcap = ncap;
  }
  size_t i = hashptr(dom, c->mapcap);
  while (c->map[i].dom) i = (i + 1) & (c->mapcap - 1);
  c->map[i].dom = dom;
  c->map[i].node = node;
  c->mapn++;
  return TKN_OK;
}

static int key_is(const tki_sj_member *m, const char *s) {
  size_t n = strlen(s);
  return m->klen == n && memcmp(m->key, s, n) == 0;
}

/* ---- keywords ---- */

enum {
  KW_UNKNOWN = 0, KW_TYPE, KW_ENUM, KW_CONST, KW_PROPERTIES, KW_REQUIRED, KW_ADDITIONAL,
  KW_PATTERNPROPS, KW_PROPNAMES, KW_MINPROPS, KW_MAXPROPS, KW_DEPREQ, KW_DEPSCHEMAS, KW_ITEMS,
  KW_PREFIX, KW_CONTAINS, KW_MINCONT, KW_MAXCONT, KW_MINITEMS, KW_MAXITEMS, KW_UNIQUE,
  KW_MINIMUM, KW_MAXIMUM, KW_XMIN, KW_XMAX, KW_MULT, KW_MINLEN, KW_MAXLEN, KW_PATTERN,
  KW_ANYOF, KW_ALLOF, KW_ONEOF, KW_NOT, KW_IF, KW_THEN, KW_ELSE, KW_REF, KW_DEFS, KW_SCHEMA,
  KW_ID, KW_ANNOTATION
};

static const struct {
  const char *name;
  int id;
} keywords[] = {
    {"type", KW_TYPE},
    {"enum", KW_ENUM},
    {"const", KW_CONST},
    {"properties", KW_PROPERTIES},
    {"required", KW_REQUIRED},
    {"additionalProperties", KW_ADDITIONAL},
    {"patternProperties", KW_PATTERNPROPS},
    {"propertyNames", KW_PROPNAMES},
    {"minProperties", KW_MINPROPS},
    {"maxProperties", KW_MAXPROPS},
    {"dependentRequired", KW_DEPREQ},
    {"dependentSchemas", KW_DEPSCHEMAS},
    {"items", KW_ITEMS},
    {"prefixItems", KW_PREFIX},
    {"contains", KW_CONTAINS},
    {"minContains", KW_MINCONT},
    {"maxContains", KW_MAXCONT},
    {"minItems", KW_MINITEMS},
    {"maxItems", KW_MAXITEMS},
    {"uniqueItems", KW_UNIQUE},
    {"minimum", KW_MINIMUM},
    {"maximum", KW_MAXIMUM},
    {"exclusiveMinimum", KW_XMIN},
    {"exclusiveMaximum", KW_XMAX},
    {"multipleOf", KW_MULT},
    {"minLength", KW_MINLEN},
    {"maxLength", KW_MAXLEN},
    {"pattern", KW_PATTERN},
    {"anyOf", KW_ANYOF},
    {"allOf", KW_ALLOF},
    {"oneOf", KW_ONEOF},
    {"not", KW_NOT},
    {"if", KW_IF},
    {"then", KW_THEN},
    {"else", KW_ELSE},
    {"$ref", KW_REF},
    {"$defs", KW_DEFS},
    {"$schema", KW_SCHEMA},
    {"$id", KW_ID},
    /* annotations: no effect on validation */
    {"format", KW_ANNOTATION},
    {"title", KW_ANNOTATION},
    {"description", KW_ANNOTATION},
    {"default", KW_ANNOTATION},
    {"examples", KW_ANNOTATION},
    {"$comment", KW_ANNOTATION},
    {"deprecated", KW_ANNOTATION},
    {"readOnly", KW_ANNOTATION},
    {"writeOnly", KW_ANNOTATION},
    {"contentMediaType", KW_ANNOTATION},
    {"contentEncoding", KW_ANNOTATION},
    {"contentSchema", KW_ANNOTATION},
};

static int keyword_id(const tki_sj_member *m) {
  for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
    if (key_is(m, keywords[i].name)) return keywords[i].id;
  if (m->klen >= 2 && m->key[0] == 'x' && m->key[1] == '-') return KW_ANNOTATION;
  return KW_UNKNOWN;
}

static snode *compile_node(cctx *c, const tki_sj *dom, const char *path, int is_root);

static snode *sub(cctx *c, const tki_sj *dom, const char *path, const char *kw) {
  const char *p = path_join(c, path, kw, strlen(kw));
  if (!p) {
    nomem(c);
    return NULL;
  }
  return compile_node(c, dom, p, 0);
}

static int nonneg_int(cctx *c, const tki_sj *v, const char *path, const char *kw,
                      uint64_t *out) {
  if (v->type != TKI_SJ_NUMBER || !v->is_int || v->u.num < 0)
    return bad(c, TKN_ERR_SCHEMA, path, kw, "must be a non-negative integer");
  *out = v->u.num >= 18446744073709551615.0 ? UINT64_MAX : (uint64_t)v->u.num;
  return TKN_OK;
}

static int number(cctx *c, const tki_sj *v, const char *path, const char *kw, double *out) {
  if (v->type != TKI_SJ_NUMBER) return bad(c, TKN_ERR_SCHEMA, path, kw, "must be a number");
  *out = v->u.num;
  return TKN_OK;
}

static int type_bits(cctx *c, const tki_sj *v, const char *path, uint8_t *out) {
  static const struct {
    const char *n;
    uint8_t bits;
  } names[] = {{"null", TY_NULL},  {"boolean", TY_BOOL}, {"integer", TY_INT},
               {"number", TY_NUM | TY_INT}, {"string", TY_STR}, {"array", TY_ARR},
               {"object", TY_OBJ}};
  const tki_sj *list = v;
  uint32_t n = 1;
  if (v->type == TKI_SJ_ARRAY) {
    list = v->u.items;
    n = v->n;
  }
  uint8_t bits = 0;
  for (uint32_t i = 0; i < n; i++) {
    const tki_sj *t = &list[i];
    if (t->type != TKI_SJ_STRING)
      return bad(c, TKN_ERR_SCHEMA, path, "type", "must be a type name or a list of them");
    size_t j;
    for (j = 0; j < sizeof names / sizeof names[0]; j++)
      if (t->n == strlen(names[j].n) && memcmp(t->u.str, names[j].n, t->n) == 0) break;
    if (j == sizeof names / sizeof names[0]) {
      char msg[160];
      snprintf(msg, sizeof msg, "unknown type \"%.*s\"", (int)(t->n > 40 ? 40 : t->n), t->u.str);
      return bad(c, TKN_ERR_SCHEMA, path, "type", msg);
    }
    bits |= names[j].bits;
  }
  *out = bits;
  return TKN_OK;
}

/* ECMA-262 spellings PCRE2 10.42 does not know: long general-category names
 * (\p{Letter}, \p{gc=Letter}, \p{Script=Greek}), and ASCII-only \d and \w. */
static const char *const gc_names[][2] = {
    {"Letter", "L"}, {"Cased_Letter", "L&"}, {"Uppercase_Letter", "Lu"},
    {"Lowercase_Letter", "Ll"}, {"Titlecase_Letter", "Lt"}, {"Modifier_Letter", "Lm"},
    {"Other_Letter", "Lo"}, {"Mark", "M"}, {"Combining_Mark", "M"}, {"Nonspacing_Mark", "Mn"},
    {"Spacing_Mark", "Mc"}, {"Enclosing_Mark", "Me"}, {"Number", "N"},
    {"Decimal_Number", "Nd"}, {"digit", "Nd"}, {"Letter_Number", "Nl"}, {"Other_Number", "No"},
    {"Punctuation", "P"}, {"punct", "P"}, {"Connector_Punctuation", "Pc"},
    {"Dash_Punctuation", "Pd"}, {"Open_Punctuation", "Ps"}, {"Close_Punctuation", "Pe"},
    {"Initial_Punctuation", "Pi"}, {"Final_Punctuation", "Pf"}, {"Other_Punctuation", "Po"},
    {"Symbol", "S"}, {"Math_Symbol", "Sm"}, {"Currency_Symbol", "Sc"},
    {"Modifier_Symbol", "Sk"}, {"Other_Symbol", "So"}, {"Separator", "Z"},
    {"Space_Separator", "Zs"}, {"Line_Separator", "Zl"}, {"Paragraph_Separator", "Zp"},
    {"Other", "C"}, {"Control", "Cc"}, {"Cntrl", "Cc"}, {"Format", "Cf"}, {"Surrogate", "Cs"},
    {"Private_Use", "Co"}, {"Unassigned", "Cn"}};

static void put_property(tki_buf *b, char pp, const char *name, size_t n) {
  const char *eq = memchr(name, '=', n);
  if (eq) { /* gc=X, General_Category=X, sc=X, Script=X, scx=X: PCRE2 wants X */
    n -= (size_t)(eq + 1 - name);
    name = eq + 1;
  }
  for (size_t i = 0; i < sizeof gc_names / sizeof gc_names[0]; i++)
    if (strlen(gc_names[i][0]) == n && memcmp(gc_names[i][0], name, n) == 0) {
      name = gc_names[i][1];
      n = strlen(name);
      break;
    }
  tki_buf_putc(b, '\\');
  tki_buf_putc(b, pp);
  tki_buf_putc(b, '{');
  tki_buf_append(b, name, n);
  tki_buf_putc(b, '}');
}

static void translate_regex(const char *s, size_t len, tki_buf *b) {
  int in_class = 0;
  for (size_t i = 0; i < len; i++) {
    char ch = s[i];
    if (ch != '\\' || i + 1 >= len) {
      if (ch == '[' && !in_class) in_class = 1;
      else if (ch == ']' && in_class) in_class = 0;
      tki_buf_putc(b, ch);
      continue;
    }
    char e = s[++i];
    if ((e == 'p' || e == 'P') && i + 1 < len && s[i + 1] == '{') {
      const char *close = memchr(s + i + 2, '}', len - i - 2);
      if (close) {
        put_property(b, e, s + i + 2, (size_t)(close - (s + i + 2)));
        i = (size_t)(close - s);
        continue;
      }
    }
    if (e == 'd') {
      tki_buf_puts(b, in_class ? "0-9" : "[0-9]");
    } else if (e == 'w') {
      tki_buf_puts(b, in_class ? "A-Za-z0-9_" : "[A-Za-z0-9_]");
    } else if (e == 'D' && !in_class) {
      tki_buf_puts(b, "[^0-9]");
    } else if (e == 'W' && !in_class) {
      tki_buf_puts(b, "[^A-Za-z0-9_]");
    } else {
      tki_buf_putc(b, '\\');
      tki_buf_putc(b, e);
    }
  }
}

static int compile_regex(cctx *c, const char *src, size_t len, const char *path, const char *kw,
                         pcre2_code **out, int *jit) {
  int errcode;
  PCRE2_SIZE erroff;
  uint32_t opt = PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY | PCRE2_ALT_BSUX |
                 PCRE2_NO_UTF_CHECK;
  tki_buf t;
  tki_buf_init(&t);
  translate_regex(src, len, &t);
  if (tki_buf_reserve(&t, 1)) {
    tki_buf_free(&t);
    return nomem(c);
  }
  pcre2_code *re = pcre2_compile((PCRE2_SPTR)t.data, t.len, opt, &errcode, &erroff, c->pctx);
  int same = t.len == len && memcmp(t.data, src, len) == 0; /* offsets refer to t */
  tki_buf_free(&t);
  if (!re) {
    if (errcode == PCRE2_ERROR_NOMEMORY || errcode == PCRE2_ERROR_HEAP_FAILED) return nomem(c);
    PCRE2_UCHAR msg[160];
    pcre2_get_error_message(errcode, msg, sizeof msg);
    char where[48] = "";
    if (same) snprintf(where, sizeof where, " at offset %zu", (size_t)erroff);
    char full[300];
    snprintf(full, sizeof full, "invalid regular expression /%.*s/: %s%s",
             (int)(len > 60 ? 60 : len), src, (const char *)msg, where);
    return bad(c, TKN_ERR_SCHEMA, path, kw, full);
  }
  if (push(c, &c->s->codes, &c->s->ncodes, &c->s->capcodes, re)) {
    pcre2_code_free(re);
    return c->status;
  }
  /* JIT is an optimisation: without it (no memory, no support) matching still works. */
  *jit = pcre2_jit_compile(re, PCRE2_JIT_COMPLETE) == 0;
  *out = re;
  return TKN_OK;
}

/* The decimal a double was written as, d = digits / 10^k with the fewest
 * decimals k <= 22 (0.01 -> 1 / 100): the double nearest digits / 10^k is d. */
static void decimal_digits(double d, double *digits, double *scale) {
  double p = 1;
  *digits = 0;
  *scale = 0;
  for (int k = 0; k <= 22; k++, p *= 10) {
    double r = nearbyint(d * p);
    if (fabs(r) >= 9007199254740992.0) return;
    if (r / p == d) {
      *digits = r;
      *scale = p;
      return;
    }
  }
}

static int schema_list(cctx *c, const tki_sj *v, const char *path, const char *kw,
                       snode ***out, uint32_t *n) {
  if (v->type != TKI_SJ_ARRAY || v->n == 0)
    return bad(c, TKN_ERR_SCHEMA, path, kw, "must be a non-empty array of schemas");
  snode **arr = tki_arena_alloc(&c->s->arena, v->n * sizeof *arr);
  if (!arr) return nomem(c);
  for (uint32_t i = 0; i < v->n; i++) {
    const char *p = path_index(c, path, kw, i);
    if (!p) return nomem(c);
    arr[i] = compile_node(c, &v->u.items[i], p, 0);
    if (!arr[i]) return c->status;
  }
  *out = arr;
  *n = v->n;
  return TKN_OK;
}

/* Object of schemas ("properties", "dependentSchemas", "$defs"). */
static int schema_map(cctx *c, const tki_sj *v, const char *path, const char *kw, sprop **out,
                      uint32_t *n) {
  if (v->type != TKI_SJ_OBJECT) return bad(c, TKN_ERR_SCHEMA, path, kw, "must be an object of schemas");
  const char *kp = path_join(c, path, kw, strlen(kw));
  if (!kp) return nomem(c);
  sprop *arr = v->n ? tki_arena_alloc(&c->s->arena, v->n * sizeof *arr) : NULL;
  if (v->n && !arr) return nomem(c);
  for (uint32_t i = 0; i < v->n; i++) {
    const tki_sj_member *m = &v->u.members[i];
    const char *p = path_join(c, kp, m->key, m->klen);
    if (!p) return nomem(c);
    arr[i].key = m->key;
    arr[i].klen = m->klen;
    arr[i].node = compile_node(c, &m->val, p, 0);
    if (!arr[i].node) return c->status;
  }
  if (out) *out = arr;
  if (n) *n = v->n;
  return TKN_OK;
}

static int prop_cmp(const sprop *a, const sprop *b) {
  if (a->klen != b->klen) return a->klen < b->klen ? -1 : 1;
  return memcmp(a->key, b->key, a->klen);
}

/* Sorted by (length, bytes) for binary search; a repeated key keeps the last. */
static void sort_props(sprop *p, uint32_t *n) {
  for (uint32_t i = 1; i < *n; i++) {
    sprop x = p[i];
    uint32_t j = i;
    while (j > 0 && prop_cmp(&p[j - 1], &x) > 0) {
      p[j] = p[j - 1];
      j--;
    }
    p[j] = x;
  }
  uint32_t k = 0;
  for (uint32_t i = 0; i < *n; i++) {
    if (k && prop_cmp(&p[k - 1], &p[i]) == 0)
      p[k - 1] = p[i];
    else
      p[k++] = p[i];
  }
  *n = k;
}

static int string_array(cctx *c, const tki_sj *v, const char *path, const char *kw) {
  if (v->type != TKI_SJ_ARRAY) return bad(c, TKN_ERR_SCHEMA, path, kw, "must be an array of strings");
  for (uint32_t i = 0; i < v->n; i++) {
    if (v->u.items[i].type != TKI_SJ_STRING)
      return bad(c, TKN_ERR_SCHEMA, path, kw, "must be an array of strings");
    for (uint32_t j = 0; j < i; j++)
      if (tki_sj_equal(&v->u.items[i], &v->u.items[j]))
        return bad(c, TKN_ERR_SCHEMA, path, kw, "must not repeat a name");
  }
  return TKN_OK;
}

static int is_2020_12(const tki_sj *v) {
  static const char uri[] = "https://json-schema.org/draft/2020-12/schema";
  size_t n = sizeof uri - 1;
  if (v->type != TKI_SJ_STRING) return 0;
  if (v->n == n && memcmp(v->u.str, uri, n) == 0) return 1;
  return v->n == n + 1 && memcmp(v->u.str, uri, n) == 0 && v->u.str[n] == '#';
}

static int keyword(cctx *c, snode *n, const tki_sj_member *m, const char *path, int is_root) {
  const tki_sj *v = &m->val;
  char kwbuf[64];
  snprintf(kwbuf, sizeof kwbuf, "%.*s", (int)(m->klen > 60 ? 60 : m->klen), m->key);
  const char *kw = kwbuf;
  int id = keyword_id(m);
  switch (id) {
    case KW_UNKNOWN:
      c->status = TKN_ERR_UNSUPPORTED;
      return tki_fail(TKN_ERR_UNSUPPORTED,
                     "schema: unsupported keyword \"%s\" at %s/%s (it would not be enforced)", kw,
                     path, kw);
    case KW_ANNOTATION: return TKN_OK;
    case KW_SCHEMA:
      if (!is_root)
        return bad(c, TKN_ERR_UNSUPPORTED, path, kw, "$schema is supported only at the root");
      if (!is_2020_12(v))
        return bad(c, TKN_ERR_UNSUPPORTED, path, kw,
                   "only https://json-schema.org/draft/2020-12/schema is supported");
      return TKN_OK;
    case KW_ID:
      if (!is_root)
        return bad(c, TKN_ERR_UNSUPPORTED, path, kw,
                   "$id below the root (embedded schema resources) is not supported");
      if (v->type != TKI_SJ_STRING) return bad(c, TKN_ERR_SCHEMA, path, kw, "must be a string");
      c->root_id = v->u.str;
      c->root_id_len = v->n;
      return TKN_OK;
    case KW_TYPE:
      n->flags |= K_TYPE;
      return type_bits(c, v, path, &n->types);
    case KW_ENUM:
      if (v->type != TKI_SJ_ARRAY) return bad(c, TKN_ERR_SCHEMA, path, kw, "must be an array");
      n->flags |= K_ENUM;
      n->enums = v;
      return TKN_OK;
    case KW_CONST:
      n->flags |= K_CONST;
      n->cnst = v;
      return TKN_OK;
    case KW_PROPERTIES:
      if (schema_map(c, v, path, kw, &n->props, &n->nprops)) return c->status;
      sort_props(n->props, &n->nprops);
      return TKN_OK;
    case KW_REQUIRED: return string_array(c, v, path, kw); /* resolved after properties */
    case KW_ADDITIONAL: return (n->additional = sub(c, v, path, kw)) ? TKN_OK : c->status;
    case KW_PROPNAMES: return (n->property_names = sub(c, v, path, kw)) ? TKN_OK : c->status;
    case KW_ITEMS: return (n->items = sub(c, v, path, kw)) ? TKN_OK : c->status;
    case KW_CONTAINS: return (n->contains = sub(c, v, path, kw)) ? TKN_OK : c->status;
    case KW_NOT: n->has_applicators = 1; return (n->not_ = sub(c, v, path, kw)) ? TKN_OK : c->status;
    case KW_IF: n->has_applicators = 1; return (n->if_ = sub(c, v, path, kw)) ? TKN_OK : c->status;
    case KW_THEN: return (n->then_ = sub(c, v, path, kw)) ? TKN_OK : c->status;
    case KW_ELSE: return (n->else_ = sub(c, v, path, kw)) ? TKN_OK : c->status;
    case KW_PATTERNPROPS: {
      if (v->type != TKI_SJ_OBJECT) return bad(c, TKN_ERR_SCHEMA, path, kw, "must be an object of schemas");
      const char *kp = path_join(c, path, kw, strlen(kw));
      if (!kp) return nomem(c);
      n->pats = v->n ? tki_arena_alloc(&c->s->arena, v->n * sizeof *n->pats) : NULL;
      if (v->n && !n->pats) return nomem(c);
      for (uint32_t i = 0; i < v->n; i++) {
        const tki_sj_member *pm = &v->u.members[i];
        if (compile_regex(c, pm->key, pm->klen, path, kw, &n->pats[i].re, &n->pats[i].jit))
          return c->status;
        n->pats[i].src = pm->key;
        n->pats[i].srclen = pm->klen;
        const char *p = path_join(c, kp, pm->key, pm->klen);
        if (!p) return nomem(c);
        n->pats[i].node = compile_node(c, &pm->val, p, 0);
        if (!n->pats[i].node) return c->status;
        n->npats = i + 1;
      }
      return TKN_OK;
    }
    case KW_MINPROPS: n->flags |= K_MINPROPS; return nonneg_int(c, v, path, kw, &n->min_props);
    case KW_MAXPROPS: n->flags |= K_MAXPROPS; return nonneg_int(c, v, path, kw, &n->max_props);
    case KW_MINITEMS: n->flags |= K_MINITEMS; return nonneg_int(c, v, path, kw, &n->min_items);
    case KW_MAXITEMS: n->flags |= K_MAXITEMS; return nonneg_int(c, v, path, kw, &n->max_items);
    case KW_MINLEN: n->flags |= K_MINLEN; return nonneg_int(c, v, path, kw, &n->min_len);
    case KW_MAXLEN: n->flags |= K_MAXLEN; return nonneg_int(c, v, path, kw, &n->max_len);
    case KW_MINCONT: n->flags |= K_MINCONT; return nonneg_int(c, v, path, kw, &n->min_contains);
    case KW_MAXCONT: n->flags |= K_MAXCONT; return nonneg_int(c, v, path, kw, &n->max_contains);
    case KW_DEPREQ: {
      if (v->type != TKI_SJ_OBJECT) return bad(c, TKN_ERR_SCHEMA, path, kw, "must be an object of string arrays");
      n->dep_required = v->n ? tki_arena_alloc(&c->s->arena, v->n * sizeof *n->dep_required) : NULL;
      if (v->n && !n->dep_required) return nomem(c);
      for (uint32_t i = 0; i < v->n; i++) {
        const tki_sj_member *dm = &v->u.members[i];
        if (string_array(c, &dm->val, path, kw)) return c->status;
        n->dep_required[i].key = dm->key;
        n->dep_required[i].klen = dm->klen;
        n->dep_required[i].n = dm->val.n;
        n->dep_required[i].names = dm->val.u.items;
      }
      n->ndep_required = v->n;
      return TKN_OK;
    }
    case KW_DEPSCHEMAS: return schema_map(c, v, path, kw, &n->dep_schemas, &n->ndep_schemas);
    case KW_DEFS: return schema_map(c, v, path, kw, NULL, NULL);
    case KW_PREFIX: return schema_list(c, v, path, kw, &n->prefix, &n->nprefix);
    case KW_ALLOF: n->has_applicators = 1; return schema_list(c, v, path, kw, &n->all_of, &n->nall);
    case KW_ANYOF: n->has_applicators = 1; return schema_list(c, v, path, kw, &n->any_of, &n->nany);
    case KW_ONEOF: n->has_applicators = 1; return schema_list(c, v, path, kw, &n->one_of, &n->none);
    case KW_UNIQUE:
      if (v->type != TKI_SJ_BOOL) return bad(c, TKN_ERR_SCHEMA, path, kw, "must be true or false");
      if (v->boolean) n->flags |= K_UNIQUE;
      return TKN_OK;
    case KW_MINIMUM: n->flags |= K_MIN; return number(c, v, path, kw, &n->minimum);
    case KW_MAXIMUM: n->flags |= K_MAX; return number(c, v, path, kw, &n->maximum);
    case KW_XMIN: n->flags |= K_XMIN; return number(c, v, path, kw, &n->xminimum);
    case KW_XMAX: n->flags |= K_XMAX; return number(c, v, path, kw, &n->xmaximum);
    case KW_MULT:
      n->flags |= K_MULT;
      if (number(c, v, path, kw, &n->multiple_of)) return c->status;
      if (!(n->multiple_of > 0) || !isfinite(n->multiple_of))
        return bad(c, TKN_ERR_SCHEMA, path, kw, "must be a number greater than 0");
      decimal_digits(n->multiple_of, &n->mult_digits, &n->mult_scale);
      return TKN_OK;
    case KW_PATTERN:
      if (v->type != TKI_SJ_STRING) return bad(c, TKN_ERR_SCHEMA, path, kw, "must be a string");
      n->flags |= K_PATTERN;
      n->pattern_src = v->u.str;
      n->pattern_len = v->n;
      return compile_regex(c, v->u.str, v->n, path, kw, &n->pattern, &n->pattern_jit);
    case KW_REF:
      if (v->type != TKI_SJ_STRING) return bad(c, TKN_ERR_SCHEMA, path, kw, "must be a string");
      n->ref_text = tki_arena_strndup(&c->s->arena, v->u.str, v->n);
      if (!n->ref_text) return nomem(c);
      n->has_applicators = 1;
      return push(c, &c->refs, &c->nrefs, &c->caprefs, n);
  }
  return TKN_OK;
}

static int resolve_required(cctx *c, snode *n, const tki_sj *req) {
  n->nrequired = req->n;
  if (!req->n) return TKN_OK;
  n->required = tki_arena_alloc(&c->s->arena, req->n * sizeof *n->required);
  if (!n->required) return nomem(c);
  for (uint32_t i = 0; i < req->n; i++) {
    sreq *r = &n->required[i];
    r->key = req->u.items[i].u.str;
    r->klen = req->u.items[i].n;
    r->prop = -1;
    for (uint32_t j = 0; j < n->nprops; j++)
      if (n->props[j].klen == r->klen && memcmp(n->props[j].key, r->key, r->klen) == 0)
        r->prop = (int32_t)j;
  }
  return TKN_OK;
}

static snode *compile_node(cctx *c, const tki_sj *dom, const char *path, int is_root) {
  snode *n = map_get(c, dom);
  if (n) return n;
  n = tki_arena_alloc(&c->s->arena, sizeof *n);
  if (!n) {
    nomem(c);
    return NULL;
  }
  memset(n, 0, sizeof *n);
  n->path = path;
  n->boolean = -1;
  if (map_put(c, dom, n) || push(c, &c->nodes, &c->nnodes, &c->capnodes, n)) return NULL;
  if (dom->type == TKI_SJ_BOOL) {
    n->boolean = (int8_t)dom->boolean;
    return n;
  }
  if (dom->type != TKI_SJ_OBJECT) {
    c->status = TKN_ERR_SCHEMA;
    tki_fail(TKN_ERR_SCHEMA, "schema: %s must be an object or a boolean", path);
    return NULL;
  }
  const tki_sj *req = NULL;
  for (uint32_t i = 0; i < dom->n; i++) {
    const tki_sj_member *m = &dom->u.members[i];
    if (keyword(c, n, m, path, is_root)) return NULL;
    if (key_is(m, "required")) req = &m->val;
  }
  if (req && resolve_required(c, n, req)) return NULL;
  return n;
}

/* ---- $ref ---- */

static int unhex(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

static int resolve_ref(cctx *c, snode *n) {
  const char *ref = n->ref_text;
  size_t len = strlen(ref);
  if (c->root_id && c->root_id_len && len >= c->root_id_len &&
      memcmp(ref, c->root_id, c->root_id_len) == 0) {
    size_t idl = c->root_id_len;
    if (c->root_id[idl - 1] == '#') idl--; /* "$id": "x#" names "x" */
    ref += idl;
    len -= idl;
  }
  if (len == 0) {
    n->ref = c->s->root;
    return TKN_OK;
  }
  if (ref[0] != '#')
    return bad(c, TKN_ERR_UNSUPPORTED, n->path, "$ref",
               "only references inside this schema (\"#\" or \"#/json/pointer\") are supported");
  /* percent-decode the fragment */
  char *frag = tki_malloc(len);
  if (!frag) return nomem(c);
  size_t fl = 0;
  for (size_t i = 1; i < len; i++) {
    int h, l;
    if (ref[i] == '%' && i + 2 < len + 0 && (h = unhex(ref[i + 1])) >= 0 &&
        (l = unhex(ref[i + 2])) >= 0) {
      frag[fl++] = (char)(h * 16 + l);
      i += 2;
    } else {
      frag[fl++] = ref[i];
    }
  }
  if (fl > 0 && frag[0] != '/') {
    tki_free(frag);
    return bad(c, TKN_ERR_UNSUPPORTED, n->path, "$ref",
               "anchor references (\"#name\", $anchor) are not supported");
  }
  const tki_sj *at = c->root;
  size_t i = 0;
  char seg[512];
  while (at && i < fl) {
    i++; /* '/' */
    size_t sl = 0;
    while (i < fl && frag[i] != '/') {
      char ch = frag[i++];
      if (ch == '~' && i < fl && (frag[i] == '0' || frag[i] == '1')) ch = frag[i++] == '0' ? '~' : '/';
      if (sl < sizeof seg) seg[sl++] = ch;
    }
    if (at->type == TKI_SJ_OBJECT) {
      at = tki_sj_get(at, seg, sl);
    } else if (at->type == TKI_SJ_ARRAY) {
      size_t idx = 0, k = 0;
      for (; k < sl && seg[k] >= '0' && seg[k] <= '9' && idx < UINT32_MAX; k++)
        idx = idx * 10 + (size_t)(seg[k] - '0');
      at = (sl && k == sl && idx < at->n && !(sl > 1 && seg[0] == '0')) ? &at->u.items[idx] : NULL;
    } else {
      at = NULL;
    }
  }
  tki_free(frag);
  if (!at)
    return bad(c, TKN_ERR_SCHEMA, n->path, "$ref", "points to no location in this schema");
  snode *target = map_get(c, at);
  if (!target) {
    /* a location not reached as a schema (under an annotation, say): compile it now */
    const char *p = tki_arena_strndup(&c->s->arena, ref, len);
    if (!p) return nomem(c);
    target = compile_node(c, at, p, 0);
    if (!target) return c->status;
  }
  n->ref = target;
  return TKN_OK;
}

/* Applicators that stay on the same instance must not form a cycle: such a
 * schema would recurse forever.  Cycles through properties/items are fine. */
static int find_cycle(cctx *c, snode *n, int depth) {
  if (n->mark == 2) return TKN_OK;
  if (depth > 2048) { /* bounds the stack here and in validation */
    c->status = TKN_ERR_LIMIT;
    return tki_fail(TKN_ERR_LIMIT,
                   "schema: at %s: a chain of more than 2048 $ref/allOf/anyOf/oneOf/not/if "
                   "applicators on one value",
                   n->path);
  }
  if (n->mark == 1) {
    c->status = TKN_ERR_SCHEMA;
    return tki_fail(TKN_ERR_SCHEMA,
                   "schema: \"$ref\" at %s: a reference cycle that never descends into the "
                   "instance (it would recurse forever)",
                   n->path);
  }
  n->mark = 1;
  snode *next[6] = {n->ref, n->not_, n->if_, n->then_, n->else_, NULL};
  for (int i = 0; i < 5; i++)
    if (next[i] && find_cycle(c, next[i], depth + 1)) return c->status;
  snode **lists[3] = {n->all_of, n->any_of, n->one_of};
  uint32_t counts[3] = {n->nall, n->nany, n->none};
  for (int l = 0; l < 3; l++)
    for (uint32_t i = 0; i < counts[l]; i++)
      if (find_cycle(c, lists[l][i], depth + 1)) return c->status;
  for (uint32_t i = 0; i < n->ndep_schemas; i++)
    if (find_cycle(c, n->dep_schemas[i].node, depth + 1)) return c->status;
  n->mark = 2;
  return TKN_OK;
}

/* ---- public ---- */

TKI_DEFINE_INIT(tkn_schema_options_init, tkn_schema_options, opts, TKN_SCHEMA_OPTIONS_VERSION,
                TKN_SCHEMA_OPTIONS_INIT)

static int effective_options(const tkn_schema_options *in, tkn_schema_options *o, char *err) {
  tkn_schema_options d = TKN_SCHEMA_OPTIONS_INIT;
  if (!in) {
    *o = d;
    return TKN_OK;
  }
  if (in->version != TKN_SCHEMA_OPTIONS_VERSION)
    return tki_err(err, TKN_ERR_VERSION, "schema options: unknown version %u", in->version);
  *o = *in;
  if (!o->max_schema_depth) o->max_schema_depth = d.max_schema_depth;
  if (!o->max_schema_bytes) o->max_schema_bytes = d.max_schema_bytes;
  if (!o->max_instance_depth) o->max_instance_depth = d.max_instance_depth;
  if (!o->max_errors) o->max_errors = d.max_errors;
  if (!o->max_instance_bytes) o->max_instance_bytes = d.max_instance_bytes;
  if (o->max_schema_depth > 512 || o->max_instance_depth > 512)
    return tki_err(err, TKN_ERR_INVALID, "schema options: a depth limit above 512");
  return TKN_OK;
}

void tkn_schema_free(tkn_schema *s) {
  if (!s) return;
  for (size_t i = 0; i < s->ncodes; i++) pcre2_code_free(s->codes[i]);
  tki_free(s->codes);
  tki_arena_free(&s->arena);
  tki_free(s);
}

int tkn_schema_compile(tkn_schema **out, const char *json, size_t len,
                       const tkn_schema_options *opts) {
  len = tki_len(json, len);
  char err[TKI_ERRLEN] = "";
  if (!out) return tki_fail_null("tkn_schema_compile", "out");
  *out = NULL;
  if (!json && len) return tki_fail(TKN_ERR_INVALID, "schema: json is NULL with a length");
  tkn_schema_options o;
  int rc = effective_options(opts, &o, err);
  if (rc) return rc;
  tkn_schema *s = tki_calloc(1, sizeof *s);
  if (!s) return tki_fail(TKN_ERR_NOMEM, "schema: out of memory");
  tki_arena_init(&s->arena);
  s->opts = o;
  cctx c;
  memset(&c, 0, sizeof c);
  c.s = s;
  c.err = err;
  tki_sj_parser parser;
  memset(&parser, 0, sizeof parser);
  tki_sj *root = NULL;
  char *text = NULL;
  if (len > o.max_schema_bytes) {
    rc = tki_err(err, TKN_ERR_LIMIT, "schema: %zu bytes exceeds the limit of %llu bytes", len,
                 (unsigned long long)o.max_schema_bytes);
    goto done;
  }
  /* the tree points into the text: keep a copy with the schema */
  text = tki_arena_strndup(&s->arena, json ? json : "", len);
  root = tki_arena_alloc(&s->arena, sizeof *root);
  if (!text || !root) {
    rc = nomem(&c);
    goto done;
  }
  rc = tki_sj_parse(&parser, &s->arena, text, len, (size_t)o.max_schema_bytes,
                    o.max_schema_depth, "schema", root, err);
  if (rc) goto done;
  c.root = root;
  pcre2_general_context *g = tki_schema_pcre2_context();
  c.pctx = g ? pcre2_compile_context_create(g) : NULL;
  if (g) pcre2_general_context_free(g);
  if (!c.pctx) {
    rc = nomem(&c);
    goto done;
  }
  pcre2_set_compile_extra_options(c.pctx, PCRE2_EXTRA_ALT_BSUX);
  s->root = compile_node(&c, root, "#", 1);
  if (!s->root) {
    rc = c.status;
    goto done;
  }
  for (size_t i = 0; i < c.nrefs; i++) /* resolving may compile more and add refs */
    if (resolve_ref(&c, c.refs[i])) {
      rc = c.status;
      goto done;
    }
  for (size_t i = 0; i < c.nnodes; i++)
    if (find_cycle(&c, c.nodes[i], 0)) {
      rc = c.status;
      goto done;
    }
  rc = TKN_OK;
done:
  if (c.pctx) pcre2_compile_context_free(c.pctx);
  tki_free(c.map);
  tki_free(c.nodes);
  tki_free(c.refs);
  tki_sj_parser_free(&parser);
  if (rc) {
    tkn_schema_free(s);
    return rc;
  }
  *out = s;
  return TKN_OK;
}
