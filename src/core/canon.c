/* Canonical JSON: the same value always serialises to the same bytes, so a
 * prompt prefix or a tool-cache key does not change with key order, spacing or
 * number spelling. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../internal.h"

/* Digit k of a number's significand, read across its integer and fraction
 * parts. */
static char digit_at(const char *ip, size_t il, const char *fp, size_t k) {
  return k < il ? ip[k] : fp[k - il];
}

static int put_zeros(tki_buf *out, int64_t n) {
  for (; n > 0; n--)
    if (tki_buf_putc(out, '0')) return TKN_ERR_NOMEM;
  return TKN_OK;
}

/* The largest exponent the canonical spelling writes (12 digits).  The
 * writer refuses a value whose exponent, once the significand is normalised,
 * is beyond it, rather than the exponent as written: 9999.99e999999999999 is
 * 9.99999e+1000000000002, which no longer fits, while 0.01e1000000000001 is
 * 1e+999999999999, which does.  So every spelling written reads back. */
#define MAX_EXP INT64_C(999999999999)

/* A decimal number (JSON grammar, or printf's %g) in its one canonical
 * spelling, exactly: the significand's digits without leading or trailing
 * zeros, placed by the exponent. */
static int put_decimal(tki_buf *out, const char *s, size_t n) {
  size_t i = 0;
  int neg = 0;
  if (i < n && s[i] == '-') neg = 1, i++;
  const char *ip = s + i, *fp = "";
  size_t il = 0, fl = 0;
  while (i < n && s[i] >= '0' && s[i] <= '9') i++, il++;
  if (i < n && s[i] == '.') {
    fp = s + ++i;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++, fl++;
  }
  int64_t e = 0;
  int huge = 0;
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    int eneg = 0;
    i++;
    if (i < n && (s[i] == '+' || s[i] == '-')) eneg = s[i++] == '-';
    while (i < n && s[i] == '0') i++;
    for (size_t d = 0; i < n && s[i] >= '0' && s[i] <= '9'; i++, d++) {
      if (d >= 15) huge = 1; /* past MAX_EXP whatever the significand's length */
      else e = e * 10 + (s[i] - '0');
    }
    if (eneg) e = -e;
  }
  size_t total = il + fl, lead = 0, trail = total;
  while (lead < total && digit_at(ip, il, fp, lead) == '0') lead++;
  if (lead == total) return tki_buf_putc(out, '0'); /* any zero, -0 included */
  if (huge) return TKN_ERR_INVALID; /* beyond MAX_EXP */
  while (digit_at(ip, il, fp, trail - 1) == '0') trail--;
  int64_t k = (int64_t)(trail - lead);
  int64_t exp = e - (int64_t)fl + (int64_t)(total - trail); /* value = D x 10^exp */
  int64_t point = k + exp;                                    /* digits before the point */
  if (point - 1 > MAX_EXP || 1 - point > MAX_EXP) return TKN_ERR_INVALID;
  if (neg) tki_buf_putc(out, '-');
  int rc = TKN_OK;
  if (exp >= 0 && exp < 22) {
    for (size_t d = lead; d < trail && !rc; d++) rc = tki_buf_putc(out, digit_at(ip, il, fp, d));
    if (!rc) rc = put_zeros(out, exp);
  } else if (exp < 0 && point > 0) {
    for (size_t d = lead; d < trail && !rc; d++) {
      if ((int64_t)(d - lead) == point) rc = tki_buf_putc(out, '.');
      if (!rc) rc = tki_buf_putc(out, digit_at(ip, il, fp, d));
    }
  } else if (exp < 0 && point > -6) {
    rc = tki_buf_append(out, "0.", 2);
    if (!rc) rc = put_zeros(out, -point);
    for (size_t d = lead; d < trail && !rc; d++) rc = tki_buf_putc(out, digit_at(ip, il, fp, d));
  } else {
    rc = tki_buf_putc(out, digit_at(ip, il, fp, lead));
    if (!rc && k > 1) rc = tki_buf_putc(out, '.');
    for (size_t d = lead + 1; d < trail && !rc; d++) rc = tki_buf_putc(out, digit_at(ip, il, fp, d));
    if (!rc) rc = tki_buf_printf(out, "e%c%lld", point - 1 < 0 ? '-' : '+',
                                 (long long)(point - 1 < 0 ? 1 - point : point - 1));
  }
  return rc;
}

/* Parsed numbers that a double may not hold keep their text (see
 * tki_json_parse); the others are read from the double, in its shortest
 * spelling that reads back the same, then spelled canonically like text. */
static int put_number(tki_buf *out, const cJSON *v) {
  if (v->valuestring) return put_decimal(out, v->valuestring, strlen(v->valuestring));
  double d = v->valuedouble;
  if (!isfinite(d)) return TKN_ERR_INVALID; /* JSON has no NaN or infinity */
  if (d == 0) return tki_buf_putc(out, '0'); /* folds -0 */
  if (floor(d) == d && fabs(d) <= 9007199254740992.0) return tki_buf_printf(out, "%.0f", d);
  char tmp[40];
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(tmp, sizeof tmp, "%.*g", prec, d);
    if (strtod(tmp, NULL) == d) break;
  }
  return put_decimal(out, tmp, strlen(tmp));
}

typedef struct {
  const cJSON *item;
  size_t order; /* place in the document: the last duplicate wins */
} member;

static int member_cmp(const void *a, const void *b) {
  const member *x = a, *y = b;
  int c = strcmp(x->item->string, y->item->string);
  if (c) return c;
  return x->order < y->order ? -1 : x->order > y->order;
}

static int put_value(const cJSON *v, tki_buf *out, int depth);

static int put_object(const cJSON *v, tki_buf *out, int depth) {
  size_t n = 0;
  for (const cJSON *c = v->child; c; c = c->next) n++;
  if (n == 0) return tki_buf_append(out, "{}", 2);
  member *items = tki_calloc(n, sizeof *items);
  if (!items) return tki_fail(TKN_ERR_NOMEM, "out of memory");
  size_t i = 0;
  for (const cJSON *c = v->child; c; c = c->next, i++) items[i] = (member){c, i};
  qsort(items, n, sizeof *items, member_cmp);
  int rc = tki_buf_putc(out, '{');
  int first = 1;
  for (i = 0; i < n && !rc; i++) {
    if (i + 1 < n && strcmp(items[i].item->string, items[i + 1].item->string) == 0)
      continue; /* a later duplicate follows */
    if (!first) tki_buf_putc(out, ',');
    first = 0;
    const char *key = items[i].item->string;
    tki_buf_json_string(out, key, strlen(key));
    tki_buf_putc(out, ':');
    rc = put_value(items[i].item, out, depth + 1);
  }
  tki_free(items);
  if (!rc) rc = tki_buf_putc(out, '}');
  return rc;
}

static int put_value(const cJSON *v, tki_buf *out, int depth) {
  if (depth > 1000) return TKN_ERR_LIMIT;
  switch (v->type & 0xFF) {
    case cJSON_NULL: return tki_buf_append(out, "null", 4);
    case cJSON_False: return tki_buf_append(out, "false", 5);
    case cJSON_True: return tki_buf_append(out, "true", 4);
    case cJSON_Number: return put_number(out, v);
    case cJSON_String:
      return tki_buf_json_string(out, v->valuestring, strlen(v->valuestring));
    case cJSON_Raw: return tki_buf_puts(out, v->valuestring);
    case cJSON_Array: {
      int rc = tki_buf_putc(out, '[');
      for (const cJSON *c = v->child; c && !rc; c = c->next) {
        if (c != v->child) tki_buf_putc(out, ',');
        rc = put_value(c, out, depth + 1);
      }
      return rc ? rc : tki_buf_putc(out, ']');
    }
    case cJSON_Object: return put_object(v, out, depth);
    default: return TKN_ERR_INVALID;
  }
}

int tki_json_canonical(const cJSON *value, tki_buf *out) {
  if (!value || !out) return TKN_ERR_INVALID;
  int rc = put_value(value, out, 0);
  if (!rc && out->failed) rc = TKN_ERR_NOMEM;
  return rc;
}

int tki_json_canonicalize(const char *json, size_t len, size_t max_len, int max_depth,
                          const char *what, tki_buf *out, char err[TKI_ERRLEN]) {
  cJSON *root = NULL;
  int rc = tki_json_parse(json, len, max_len, max_depth, what, &root, err);
  if (rc) return rc;
  rc = tki_json_canonical(root, out);
  cJSON_Delete(root);
  if (rc == TKN_ERR_NOMEM) return tki_err(err, rc, "%s: out of memory", what);
  if (rc) return tki_err(err, rc, "%s: cannot be written canonically", what);
  return TKN_OK;
}
