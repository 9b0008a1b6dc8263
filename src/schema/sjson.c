/* The schema part's JSON tree: a single-pass parser into an arena, equality
 * as JSON Schema defines it, and compact serialisation. */
#include "sjson.h"

#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- arena ---- */

struct tki_arena_chunk {
  tki_arena_chunk *next;
  size_t cap, used;
  _Alignas(16) unsigned char data[];
};

void tki_arena_init(tki_arena *a) {
  a->head = NULL;
  a->hint = 0;
}

void *tki_arena_alloc(tki_arena *a, size_t size) {
  size = (size + 15) & ~(size_t)15;
  if (size == 0) size = 16;
  tki_arena_chunk *c = a->head;
  if (!c || c->cap - c->used < size) {
    size_t cap = c ? c->cap * 2 : (a->hint > 4096 ? a->hint : 4096);
    if (cap < size) cap = size;
    if (cap > ((size_t)-1) / 2) return NULL;
    tki_arena_chunk *n = tki_malloc(sizeof *n + cap);
    if (!n) return NULL;
    n->next = c;
    n->cap = cap;
    n->used = 0;
    a->head = n;
    c = n;
  }
  void *p = c->data + c->used;
  c->used += size;
  return p;
}

char *tki_arena_strndup(tki_arena *a, const char *s, size_t len) {
  char *p = tki_arena_alloc(a, len + 1);
  if (!p) return NULL;
  if (len) memcpy(p, s, len);
  p[len] = '\0';
  return p;
}

void tki_arena_reset(tki_arena *a) {
  tki_arena_chunk *c = a->head;
  if (!c) return;
  if (!c->next) { /* one chunk: keep it for the next use */
    c->used = 0;
    return;
  }
  size_t total = 0;
  while (c) {
    tki_arena_chunk *next = c->next;
    total += c->cap;
    tki_free(c);
    c = next;
  }
  a->head = NULL;
  a->hint = total;
}

void tki_arena_free(tki_arena *a) {
  tki_arena_chunk *c = a->head;
  while (c) {
    tki_arena_chunk *next = c->next;
    tki_free(c);
    c = next;
  }
  a->head = NULL;
  a->hint = 0;
}

/* ---- parser ---- */

typedef struct pstate {
  tki_sj_parser *p;
  tki_arena *arena;
  const char *s;
  size_t len, pos;
  uint32_t max_depth;
  const char *what;
  char *err;
  int status;
} pstate;

void tki_sj_parser_free(tki_sj_parser *p) {
  tki_free(p->vals);
  tki_free(p->mems);
  memset(p, 0, sizeof *p);
}

static int fail_at(pstate *st, int status, size_t off, const char *msg) {
  size_t line, col;
  tki_line_col(st->s, st->len, off, &line, &col);
  st->status = status;
  return tki_fail_at(status, (int64_t)off, NULL, "%s: %s at line %zu, column %zu (byte %zu)",
                     st->what, msg, line, col, off);
}

static void skip_ws(pstate *st) {
  const char *s = st->s;
  size_t i = st->pos, n = st->len;
  while (i < n && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')) i++;
  st->pos = i;
}

static int hex4(const char *s, unsigned *out) {
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    char c = s[i];
    v <<= 4;
    if (c >= '0' && c <= '9')
      v |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f')
      v |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
      v |= (unsigned)(c - 'A' + 10);
    else
      return 0;
  }
  *out = v;
  return 1;
}

static size_t put_utf8(char *d, unsigned cp) {
  if (cp < 0x80) {
    d[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    d[0] = (char)(0xC0 | (cp >> 6));
    d[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    d[0] = (char)(0xE0 | (cp >> 12));
    d[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    d[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  d[0] = (char)(0xF0 | (cp >> 18));
  d[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  d[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  d[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/* At the opening quote: a string, unescaped into the arena only if needed. */
static int parse_string(pstate *st, const char **out, uint32_t *outlen) {
  const char *s = st->s;
  size_t start = st->pos + 1, i = start, n = st->len;
  while (i < n) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\' || c < 0x20) break;
    i++;
  }
  if (i < n && s[i] == '"') {
    if (i - start > UINT32_MAX) return fail_at(st, TKN_ERR_LIMIT, start, "string too long");
    *out = s + start;
    *outlen = (uint32_t)(i - start);
    st->pos = i + 1;
    return TKN_OK;
  }
  /* Escapes: the unescaped text is never longer than the escaped one. */
  size_t end = i;
  while (end < n && s[end] != '"') {
    if (s[end] == '\\') end++;
    end++;
  }
  if (end >= n) return fail_at(st, TKN_ERR_PARSE, st->pos, "unterminated string");
  if (end - start > UINT32_MAX) return fail_at(st, TKN_ERR_LIMIT, start, "string too long");
  char *d = tki_arena_alloc(st->arena, end - start + 1);
  if (!d) {
    st->status = TKN_ERR_NOMEM;
    return tki_fail(TKN_ERR_NOMEM, "%s: out of memory", st->what);
  }
  size_t k = i - start;
  memcpy(d, s + start, k);
  while (i < end) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20) return fail_at(st, TKN_ERR_PARSE, i, "control character in string");
    if (c != '\\') {
      d[k++] = (char)c;
      i++;
      continue;
    }
    char e = s[i + 1];
    switch (e) {
      case '"': d[k++] = '"'; break;
      case '\\': d[k++] = '\\'; break;
      case '/': d[k++] = '/'; break;
      case 'b': d[k++] = '\b'; break;
      case 'f': d[k++] = '\f'; break;
      case 'n': d[k++] = '\n'; break;
      case 'r': d[k++] = '\r'; break;
      case 't': d[k++] = '\t'; break;
      case 'u': {
        unsigned cp, lo;
        if (i + 6 > end || !hex4(s + i + 2, &cp))
          return fail_at(st, TKN_ERR_PARSE, i, "bad \\u escape");
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          if (i + 12 > end || s[i + 6] != '\\' || s[i + 7] != 'u' || !hex4(s + i + 8, &lo) ||
              lo < 0xDC00 || lo > 0xDFFF)
            return fail_at(st, TKN_ERR_UTF8, i, "unpaired surrogate escape");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          i += 6;
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          return fail_at(st, TKN_ERR_UTF8, i, "unpaired surrogate escape");
        }
        k += put_utf8(d + k, cp);
        i += 6;
        continue;
      }
      default: return fail_at(st, TKN_ERR_PARSE, i, "bad escape in string");
    }
    i += 2;
  }
  d[k] = '\0';
  *out = d;
  *outlen = (uint32_t)k;
  st->pos = end + 1;
  return TKN_OK;
}

static int parse_number(pstate *st, tki_sj *v) {
  const char *s = st->s;
  size_t i = st->pos, n = st->len, start = i;
  int neg = 0, simple = 1;
  if (i < n && s[i] == '-') {
    neg = 1;
    i++;
  }
  if (i >= n || s[i] < '0' || s[i] > '9') return fail_at(st, TKN_ERR_PARSE, start, "bad number");
  size_t dstart = i;
  uint64_t acc = 0;
  if (s[i] == '0') {
    i++;
  } else {
    while (i < n && s[i] >= '0' && s[i] <= '9') acc = acc * 10 + (uint64_t)(s[i++] - '0');
  }
  if (i - dstart > 18) simple = 0;
  if (i < n && s[i] == '.') {
    simple = 0;
    i++;
    if (i >= n || s[i] < '0' || s[i] > '9') return fail_at(st, TKN_ERR_PARSE, start, "bad number");
    while (i < n && s[i] >= '0' && s[i] <= '9') i++;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    simple = 0;
    i++;
    if (i < n && (s[i] == '+' || s[i] == '-')) i++;
    if (i >= n || s[i] < '0' || s[i] > '9') return fail_at(st, TKN_ERR_PARSE, start, "bad number");
    while (i < n && s[i] >= '0' && s[i] <= '9') i++;
  }
  v->type = TKI_SJ_NUMBER;
  st->pos = i;
  if (simple) {
    v->u.num = neg ? -(double)acc : (double)acc;
    v->is_int = 1;
    return TKN_OK;
  }
  char local[64], *buf = local;
  size_t tl = i - start;
  if (tl >= sizeof local) {
    buf = tki_arena_alloc(st->arena, tl + 1);
    if (!buf) {
      st->status = TKN_ERR_NOMEM;
      return tki_fail(TKN_ERR_NOMEM, "%s: out of memory", st->what);
    }
  }
  memcpy(buf, s + start, tl);
  buf[tl] = '\0';
  /* strtod follows LC_NUMERIC; JSON always uses '.' */
  const char *dp = localeconv()->decimal_point;
  if (dp && dp[0] && dp[0] != '.' && !dp[1]) {
    char *dot = strchr(buf, '.');
    if (dot) *dot = dp[0];
  }
  double d = strtod(buf, NULL);
  v->u.num = d;
  v->is_int = isfinite(d) && d == floor(d);
  return TKN_OK;
}

static int nomem(pstate *st) {
  st->status = TKN_ERR_NOMEM;
  return tki_fail(TKN_ERR_NOMEM, "%s: out of memory", st->what);
}

static int parse_value(pstate *st, tki_sj *v, uint32_t depth);

static int parse_array(pstate *st, tki_sj *v, uint32_t depth) {
  tki_sj_parser *p = st->p;
  size_t base = p->nvals;
  st->pos++; /* [ */
  skip_ws(st);
  if (st->pos < st->len && st->s[st->pos] == ']') {
    st->pos++;
  } else {
    for (;;) {
      if (p->nvals == p->capvals &&
          tki_grow((void **)&p->vals, &p->capvals, p->nvals + 1, sizeof *p->vals))
        return nomem(st);
      tki_sj item;
      memset(&item, 0, sizeof item);
      if (parse_value(st, &item, depth + 1)) return st->status;
      p->vals[p->nvals++] = item;
      skip_ws(st);
      if (st->pos >= st->len) return fail_at(st, TKN_ERR_PARSE, st->pos, "unterminated array");
      char c = st->s[st->pos++];
      if (c == ']') break;
      if (c != ',') return fail_at(st, TKN_ERR_PARSE, st->pos - 1, "expected ',' or ']'");
      skip_ws(st);
    }
  }
  size_t count = p->nvals - base;
  v->type = TKI_SJ_ARRAY;
  v->n = (uint32_t)count;
  v->u.items = NULL;
  if (count) {
    v->u.items = tki_arena_alloc(st->arena, count * sizeof(tki_sj));
    if (!v->u.items) return nomem(st);
    memcpy(v->u.items, p->vals + base, count * sizeof(tki_sj));
  }
  p->nvals = base;
  return TKN_OK;
}

static int parse_object(pstate *st, tki_sj *v, uint32_t depth) {
  tki_sj_parser *p = st->p;
  size_t base = p->nmems;
  st->pos++; /* { */
  skip_ws(st);
  if (st->pos < st->len && st->s[st->pos] == '}') {
    st->pos++;
  } else {
    for (;;) {
      if (st->pos >= st->len || st->s[st->pos] != '"')
        return fail_at(st, TKN_ERR_PARSE, st->pos, "expected a string key");
      if (p->nmems == p->capmems &&
          tki_grow((void **)&p->mems, &p->capmems, p->nmems + 1, sizeof *p->mems))
        return nomem(st);
      tki_sj_member m;
      memset(&m, 0, sizeof m);
      if (parse_string(st, &m.key, &m.klen)) return st->status;
      skip_ws(st);
      if (st->pos >= st->len || st->s[st->pos] != ':')
        return fail_at(st, TKN_ERR_PARSE, st->pos, "expected ':'");
      st->pos++;
      skip_ws(st);
      if (parse_value(st, &m.val, depth + 1)) return st->status;
      p->mems[p->nmems++] = m;
      skip_ws(st);
      if (st->pos >= st->len) return fail_at(st, TKN_ERR_PARSE, st->pos, "unterminated object");
      char c = st->s[st->pos++];
      if (c == '}') break;
      if (c != ',') return fail_at(st, TKN_ERR_PARSE, st->pos - 1, "expected ',' or '}'");
      skip_ws(st);
    }
  }
  size_t count = p->nmems - base;
  v->type = TKI_SJ_OBJECT;
  v->n = (uint32_t)count;
  v->u.members = NULL;
  if (count) {
    v->u.members = tki_arena_alloc(st->arena, count * sizeof(tki_sj_member));
    if (!v->u.members) return nomem(st);
    memcpy(v->u.members, p->mems + base, count * sizeof(tki_sj_member));
  }
  p->nmems = base;
  return TKN_OK;
}

static int literal(pstate *st, const char *word, size_t wl) {
  if (st->len - st->pos < wl || memcmp(st->s + st->pos, word, wl) != 0)
    return fail_at(st, TKN_ERR_PARSE, st->pos, "unexpected character");
  st->pos += wl;
  return TKN_OK;
}

static int parse_value(pstate *st, tki_sj *v, uint32_t depth) {
  if (st->pos >= st->len) return fail_at(st, TKN_ERR_PARSE, st->pos, "unexpected end of input");
  char c = st->s[st->pos];
  switch (c) {
    case '{':
    case '[':
      if (depth >= st->max_depth) {
        char msg[64];
        snprintf(msg, sizeof msg, "nesting deeper than %u levels", st->max_depth);
        return fail_at(st, TKN_ERR_LIMIT, st->pos, msg);
      }
      return c == '{' ? parse_object(st, v, depth) : parse_array(st, v, depth);
    case '"':
      v->type = TKI_SJ_STRING;
      return parse_string(st, &v->u.str, &v->n);
    case 't':
      v->type = TKI_SJ_BOOL;
      v->boolean = 1;
      return literal(st, "true", 4);
    case 'f':
      v->type = TKI_SJ_BOOL;
      v->boolean = 0;
      return literal(st, "false", 5);
    case 'n':
      v->type = TKI_SJ_NULL;
      return literal(st, "null", 4);
    default:
      if (c == '-' || (c >= '0' && c <= '9')) return parse_number(st, v);
      return fail_at(st, TKN_ERR_PARSE, st->pos, "unexpected character");
  }
}

int tki_sj_parse(tki_sj_parser *p, tki_arena *arena, const char *json, size_t len,
                 size_t max_len, uint32_t max_depth, const char *what, tki_sj *out,
                 char err[TKI_ERRLEN]) {
  memset(out, 0, sizeof *out);
  if (!json && len) return tki_err(err, TKN_ERR_INVALID, "%s: json is NULL with a length", what);
  if (len > max_len)
    return tki_err(err, TKN_ERR_LIMIT, "%s: %zu bytes exceeds the limit of %zu bytes", what, len,
                   max_len);
  pstate st = {p, arena, json ? json : "", len, 0, max_depth, what, err, TKN_OK};
  const char *nul = len ? memchr(json, '\0', len) : NULL;
  if (nul) return fail_at(&st, TKN_ERR_PARSE, (size_t)(nul - json), "NUL byte");
  size_t bad;
  if (!tki_utf8_valid(json, len, &bad)) return fail_at(&st, TKN_ERR_UTF8, bad, "invalid UTF-8");
  p->nvals = p->nmems = 0;
  skip_ws(&st);
  if (st.pos == len) return fail_at(&st, TKN_ERR_PARSE, len, "empty input");
  if (parse_value(&st, out, 0)) return st.status;
  skip_ws(&st);
  if (st.pos < len) return fail_at(&st, TKN_ERR_PARSE, st.pos, "unexpected text after the JSON value");
  return TKN_OK;
}

/* ---- equality, lookup, serialisation ---- */

const tki_sj *tki_sj_get(const tki_sj *obj, const char *key, size_t klen) {
  if (obj->type != TKI_SJ_OBJECT) return NULL;
  for (uint32_t i = obj->n; i-- > 0;) {
    const tki_sj_member *m = &obj->u.members[i];
    if (m->klen == klen && memcmp(m->key, key, klen) == 0) return &m->val;
  }
  return NULL;
}

int tki_sj_equal(const tki_sj *a, const tki_sj *b) {
  if (a->type != b->type) return 0;
  switch (a->type) {
    case TKI_SJ_NULL: return 1;
    case TKI_SJ_BOOL: return a->boolean == b->boolean;
    case TKI_SJ_NUMBER: return a->u.num == b->u.num;
    case TKI_SJ_STRING: return a->n == b->n && memcmp(a->u.str, b->u.str, a->n) == 0;
    case TKI_SJ_ARRAY:
      if (a->n != b->n) return 0;
      for (uint32_t i = 0; i < a->n; i++)
        if (!tki_sj_equal(&a->u.items[i], &b->u.items[i])) return 0;
      return 1;
    case TKI_SJ_OBJECT:
      if (a->n != b->n) return 0;
      for (uint32_t i = 0; i < a->n; i++) {
        const tki_sj_member *m = &a->u.members[i];
        const tki_sj *o = tki_sj_get(b, m->key, m->klen);
        if (!o || !tki_sj_equal(&m->val, o)) return 0;
      }
      return 1;
  }
  return 0;
}

size_t tki_sj_codepoints(const char *s, size_t len) {
  size_t n = 0;
  for (size_t i = 0; i < len; i++) n += ((unsigned char)s[i] & 0xC0) != 0x80;
  return n;
}

void tki_sj_number_text(double d, char out[40]) {
  if (d == 0) {
    strcpy(out, "0");
    return;
  }
  if (d == floor(d) && fabs(d) < 9007199254740992.0) {
    snprintf(out, 40, "%.0f", d);
    return;
  }
  const char *dp = localeconv()->decimal_point;
  char raw[40];
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(raw, sizeof raw, "%.*g", prec, d);
    if (strtod(raw, NULL) == d || prec == 17) break;
  }
  /* strtod and printf follow LC_NUMERIC; JSON always uses '.' */
  memcpy(out, raw, sizeof raw);
  if (dp && dp[0] && dp[0] != '.' && !dp[1]) {
    char *x = strchr(out, dp[0]);
    if (x) *x = '.';
  }
}

int tki_sj_write(const tki_sj *v, tki_buf *out) {
  switch (v->type) {
    case TKI_SJ_NULL: return tki_buf_append(out, "null", 4);
    case TKI_SJ_BOOL: return v->boolean ? tki_buf_append(out, "true", 4) : tki_buf_append(out, "false", 5);
    case TKI_SJ_NUMBER: {
      char t[40];
      tki_sj_number_text(v->u.num, t);
      return tki_buf_puts(out, t);
    }
    case TKI_SJ_STRING: return tki_buf_json_string(out, v->u.str, v->n);
    case TKI_SJ_ARRAY:
      tki_buf_putc(out, '[');
      for (uint32_t i = 0; i < v->n; i++) {
        if (i) tki_buf_putc(out, ',');
        tki_sj_write(&v->u.items[i], out);
      }
      return tki_buf_putc(out, ']');
    case TKI_SJ_OBJECT:
      tki_buf_putc(out, '{');
      for (uint32_t i = 0; i < v->n; i++) {
        if (i) tki_buf_putc(out, ',');
        tki_buf_json_string(out, v->u.members[i].key, v->u.members[i].klen);
        tki_buf_putc(out, ':');
        tki_sj_write(&v->u.members[i].val, out);
      }
      return tki_buf_putc(out, '}');
  }
  return TKN_ERR_INVALID;
}
