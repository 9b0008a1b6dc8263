/* Tasks: the attributes routing conditions read.  Each attribute keeps the
 * hash of its name so the router finds it with one integer compare in the
 * common case. */
#include <math.h>
#include <string.h>

#include "router_internal.h"

static void rstr_free(tki_rstr *s) {
  tki_free(s->s);
  s->s = NULL;
}

static int rstr_set(tki_rstr *dst, const char *s, size_t len) {
  dst->s = tki_strndup(s ? s : "", len);
  if (!dst->s) return tki_fail(TKN_ERR_NOMEM, "out of memory");
  dst->len = len;
  dst->hash = tki_hash64(dst->s, len, 0);
  return TKN_OK;
}

static void tval_clear_value(tki_tval *v) {
  rstr_free(&v->str);
  for (size_t i = 0; i < v->n; i++) rstr_free(&v->items[i]);
  tki_free(v->items);
  v->items = NULL;
  v->n = 0;
}

int tkn_task_new(tkn_task **out) {
  if (!out) return tki_fail(TKN_ERR_INVALID, "tkn_task_new: out is NULL");
  *out = tki_calloc(1, sizeof **out);
  return *out ? TKN_OK : tki_fail(TKN_ERR_NOMEM, "tkn_task_new: out of memory");
}

void tkn_task_free(tkn_task *t) {
  if (!t) return;
  for (size_t i = 0; i < t->n; i++) {
    tval_clear_value(&t->attrs[i]);
    rstr_free(&t->attrs[i].name);
  }
  tki_free(t->attrs);
  tki_free(t->id);
  tki_free(t);
}

const tki_tval *tki_task_find(const tkn_task *t, const char *name, size_t len, uint64_t hash) {
  for (size_t i = 0; i < t->n; i++) {
    const tki_tval *v = &t->attrs[i];
    if (v->name.hash == hash && v->name.len == len && memcmp(v->name.s, name, len) == 0)
      return v;
  }
  return NULL;
}

static int check_name(tkn_task *t, const char *name, size_t len) {
  (void)t;
  if (!name || len == 0) return tki_fail(TKN_ERR_INVALID, "task: empty attribute name");
  size_t bad;
  if (!tki_utf8_valid(name, len, &bad))
    return tki_fail(TKN_ERR_UTF8, "task: attribute name is not UTF-8 (byte %zu)", bad);
  return TKN_OK;
}

static int check_text(tkn_task *t, const char *name, size_t nlen, const char *s, size_t len) {
  (void)t;
  if (!s && len) return tki_fail(TKN_ERR_INVALID, "task: %.*s: NULL value", (int)nlen, name);
  size_t bad;
  if (len && !tki_utf8_valid(s, len, &bad))
    return tki_fail(TKN_ERR_UTF8, "task: %.*s: value is not UTF-8 (byte %zu)", (int)nlen,
                   name, bad);
  return TKN_OK;
}

/* Store a fully built value `nv` (which owns its strings) under `name`,
 * replacing an old one.  On failure nv is freed and the task is unchanged. */
static int put(tkn_task *t, const char *name, size_t len, tki_tval *nv) {
  uint64_t h = tki_hash64(name, len, 0);
  tki_tval *old = (tki_tval *)tki_task_find(t, name, len, h);
  if (old) {
    tval_clear_value(old);
    nv->name = old->name;
    *old = *nv;
    return TKN_OK;
  }
  int rc = TKN_OK;
  if (t->n >= TKI_TASK_MAX_ATTRS)
    rc = tki_fail(TKN_ERR_LIMIT, "task: more than %d attributes", TKI_TASK_MAX_ATTRS);
  else if (tki_grow((void **)&t->attrs, &t->cap, t->n + 1, sizeof *t->attrs) ||
           rstr_set(&nv->name, name, len))
    rc = tki_fail(TKN_ERR_NOMEM, "task: out of memory");
  if (rc) {
    tval_clear_value(nv);
    return rc;
  }
  t->attrs[t->n++] = *nv;
  return TKN_OK;
}

int tkn_task_set_id(tkn_task *t, const char *id, size_t len) {
  len = tki_len(id, len);
  if (!t) return tki_fail_null("tkn_task_set_id", "task");
  if (!id && len) return tki_fail(TKN_ERR_INVALID, "task: NULL id");
  char *c = tki_strndup(id ? id : "", len);
  if (!c) return tki_fail(TKN_ERR_NOMEM, "task: out of memory");
  tki_free(t->id);
  t->id = c;
  t->id_len = len;
  t->has_id = 1;
  return TKN_OK;
}

int tkn_task_set_string(tkn_task *t, const char *name, size_t name_len, const char *value,
                        size_t value_len) {
  name_len = tki_len(name, name_len);
  value_len = tki_len(value, value_len);
  if (!t) return tki_fail_null("tkn_task_set_string", "task");
  int rc = check_name(t, name, name_len);
  if (!rc) rc = check_text(t, name, name_len, value, value_len);
  if (rc) return rc;
  tki_tval nv = {0};
  nv.type = TKI_V_STRING;
  if (rstr_set(&nv.str, value, value_len)) return tki_fail(TKN_ERR_NOMEM, "task: out of memory");
  return put(t, name, name_len, &nv);
}

int tkn_task_set_number(tkn_task *t, const char *name, size_t name_len, double value) {
  name_len = tki_len(name, name_len);
  if (!t) return tki_fail_null("tkn_task_set_number", "task");
  int rc = check_name(t, name, name_len);
  if (rc) return rc;
  if (!isfinite(value))
    return tki_fail(TKN_ERR_INVALID, "task: %.*s: number is not finite", (int)name_len,
                   name);
  tki_tval nv = {0};
  nv.type = TKI_V_NUMBER;
  nv.num = value;
  return put(t, name, name_len, &nv);
}

int tkn_task_set_bool(tkn_task *t, const char *name, size_t name_len, int32_t value) {
  name_len = tki_len(name, name_len);
  if (!t) return tki_fail_null("tkn_task_set_bool", "task");
  int rc = check_name(t, name, name_len);
  if (rc) return rc;
  tki_tval nv = {0};
  nv.type = TKI_V_BOOL;
  nv.b = value != 0;
  return put(t, name, name_len, &nv);
}

int tkn_task_set_strings(tkn_task *t, const char *name, size_t name_len,
                         const char *const *values, const size_t *lens, size_t n) {
  name_len = tki_len(name, name_len);
  if (!t) return tki_fail_null("tkn_task_set_strings", "task");
  int rc = check_name(t, name, name_len);
  if (rc) return rc;
  if (n && (!values || !lens))
    return tki_fail(TKN_ERR_INVALID, "task: %.*s: NULL list (%s is NULL with n %zu)",
                    (int)name_len, name, !values ? "values" : "lens", n);
  if (n > TKI_TASK_MAX_LIST)
    return tki_fail(TKN_ERR_LIMIT, "task: %.*s: more than %d elements", (int)name_len,
                   name, TKI_TASK_MAX_LIST);
  for (size_t i = 0; i < n; i++)
    if ((rc = check_text(t, name, name_len, values[i], tki_len(values[i], lens[i])))) return rc;
  tki_tval nv = {0};
  nv.type = TKI_V_LIST;
  if (n) {
    nv.items = tki_calloc(n, sizeof *nv.items);
    if (!nv.items) return tki_fail(TKN_ERR_NOMEM, "task: out of memory");
    for (size_t i = 0; i < n; i++) {
      if (rstr_set(&nv.items[i], values[i], tki_len(values[i], lens[i]))) {
        nv.n = i;
        tval_clear_value(&nv);
        return tki_fail(TKN_ERR_NOMEM, "task: out of memory");
      }
    }
    nv.n = n;
  }
  return put(t, name, name_len, &nv);
}

int tkn_task_remove(tkn_task *t, const char *name, size_t name_len) {
  name_len = tki_len(name, name_len);
  if (!t) return tki_fail_null("tkn_task_remove", "task");
  if (!name && name_len)
    return tki_fail(TKN_ERR_INVALID, "tkn_task_remove: name is NULL with a length");
  if (!name) name = "";
  const tki_tval *v = tki_task_find(t, name, name_len, tki_hash64(name, name_len, 0));
  if (!v)
    return tki_fail(TKN_ERR_NOT_FOUND, "task: no attribute '%.*s'", (int)name_len, name);
  size_t i = (size_t)(v - t->attrs);
  tval_clear_value(&t->attrs[i]);
  rstr_free(&t->attrs[i].name);
  memmove(&t->attrs[i], &t->attrs[i + 1], (t->n - i - 1) * sizeof *t->attrs);
  t->n--;
  return TKN_OK;
}

size_t tkn_task_count(const tkn_task *t) { return t ? t->n : 0; }

static int load_member(tkn_task *t, const cJSON *m) {
  const char *name = m->string;
  size_t nlen = strlen(name);
  if (strcmp(name, "$id") == 0) {
    if (!cJSON_IsString(m))
      return tki_fail(TKN_ERR_SCHEMA, "task: $.$id: expected a string");
    return tkn_task_set_id(t, m->valuestring, strlen(m->valuestring));
  }
  if (tki_task_find(t, name, nlen, tki_hash64(name, nlen, 0)))
    return tki_fail(TKN_ERR_DUPLICATE, "task: $.%s: duplicate member", name);
  if (cJSON_IsString(m))
    return tkn_task_set_string(t, name, nlen, m->valuestring, strlen(m->valuestring));
  if (cJSON_IsNumber(m)) return tkn_task_set_number(t, name, nlen, m->valuedouble);
  if (cJSON_IsBool(m)) return tkn_task_set_bool(t, name, nlen, cJSON_IsTrue(m));
  if (cJSON_IsArray(m)) {
    int n = cJSON_GetArraySize(m);
    if (n > TKI_TASK_MAX_LIST)
      return tki_fail(TKN_ERR_LIMIT, "task: $.%s: more than %d elements", name,
                     TKI_TASK_MAX_LIST);
    const char **vals = tki_calloc((size_t)n + 1, sizeof *vals);
    size_t *lens = tki_calloc((size_t)n + 1, sizeof *lens);
    int rc = TKN_OK;
    if (!vals || !lens) rc = tki_fail(TKN_ERR_NOMEM, "task: out of memory");
    int i = 0;
    for (const cJSON *e = m->child; !rc && e; e = e->next, i++) {
      if (!cJSON_IsString(e))
        rc = tki_fail(TKN_ERR_SCHEMA, "task: $.%s[%d]: expected a string", name, i);
      else {
        vals[i] = e->valuestring;
        lens[i] = strlen(e->valuestring);
      }
    }
    if (!rc) rc = tkn_task_set_strings(t, name, nlen, vals, lens, (size_t)n);
    tki_free(vals);
    tki_free(lens);
    return rc;
  }
  return tki_fail(TKN_ERR_SCHEMA,
                 "task: $.%s: expected a string, number, boolean or array of strings", name);
}

int tkn_task_from_json(tkn_task **out, const char *json, size_t len) {
  len = tki_len(json, len);
  if (!out) return tki_fail_null("tkn_task_from_json", "out");
  *out = NULL;
  tkn_task *t;
  int rc = tkn_task_new(&t);
  if (rc) return rc;
  cJSON *root = NULL;
  rc = tki_json_parse(json, len, 16u << 20, 64, "task", &root, NULL);
  if (!rc && !cJSON_IsObject(root)) rc = tki_fail(TKN_ERR_SCHEMA, "task: $: expected an object");
  for (const cJSON *m = root ? root->child : NULL; !rc && m; m = m->next) rc = load_member(t, m);
  cJSON_Delete(root);
  if (rc) {
    tkn_task_free(t);
    return rc;
  }
  *out = t;
  return TKN_OK;
}
