/* Canonical JSON: the same value always serialises to the same bytes, so a
 * prompt prefix or a tool-cache key does not change with key order, spacing or
 * number spelling. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../internal.h"

static int put_number(tki_buf *out, double d) {
  if (!isfinite(d)) return TKN_ERR_INVALID; /* JSON has no NaN or infinity */
  if (d == 0) return tki_buf_putc(out, '0'); /* folds -0 */
  if (floor(d) == d && fabs(d) <= 9007199254740992.0)
    return tki_buf_printf(out, "%.0f", d);
  char tmp[40];
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(tmp, sizeof tmp, "%.*g", prec, d);
    if (strtod(tmp, NULL) == d) break;
  }
  return tki_buf_puts(out, tmp);
}

static int key_cmp(const void *a, const void *b) {
  const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
  return strcmp(x->string, y->string);
}

static int put_value(const cJSON *v, tki_buf *out, int depth);

static int put_object(const cJSON *v, tki_buf *out, int depth) {
  size_t n = 0;
  for (const cJSON *c = v->child; c; c = c->next) n++;
  if (n == 0) return tki_buf_append(out, "{}", 2);
  const cJSON **items = tki_calloc(n, sizeof *items);
  if (!items) return TKN_ERR_NOMEM;
  size_t i = 0;
  for (const cJSON *c = v->child; c; c = c->next) items[i++] = c;
  qsort(items, n, sizeof *items, key_cmp);
  int rc = tki_buf_putc(out, '{');
  int first = 1;
  for (i = 0; i < n && !rc; i++) {
    /* duplicates: emit only the last in document order */
    if (i + 1 < n && strcmp(items[i]->string, items[i + 1]->string) == 0) {
      const cJSON *last = items[i];
      for (const cJSON *c = v->child; c; c = c->next)
        if (strcmp(c->string, items[i]->string) == 0) last = c;
      size_t j = i;
      while (j + 1 < n && strcmp(items[j + 1]->string, items[i]->string) == 0) j++;
      items[j] = last;
      i = j;
    }
    if (!first) tki_buf_putc(out, ',');
    first = 0;
    tki_buf_json_string(out, items[i]->string, strlen(items[i]->string));
    tki_buf_putc(out, ':');
    rc = put_value(items[i], out, depth + 1);
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
    case cJSON_Number: return put_number(out, v->valuedouble);
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
