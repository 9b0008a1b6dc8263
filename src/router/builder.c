/* The router builder: collects a config as a JSON document, piece by piece,
 * and compiles it with the same code as a JSON config, so both paths accept
 * and reject exactly the same things with the same JSON paths in errors. */
#include <math.h>
#include <string.h>

#include "router_internal.h"

struct tkn_router_builder {
  cJSON *root;
};

int tkn_router_builder_new(tkn_router_builder **out) {
  if (!out) return tki_fail(TKN_ERR_INVALID, "tkn_router_builder_new: out is NULL");
  *out = NULL;
  tkn_router_builder *b = tki_calloc(1, sizeof *b);
  if (!b) return tki_fail(TKN_ERR_NOMEM, "tkn_router_builder_new: out of memory");
  b->root = cJSON_CreateObject();
  if (!b->root) {
    tki_free(b);
    return tki_fail(TKN_ERR_NOMEM, "tkn_router_builder_new: out of memory");
  }
  *out = b;
  return TKN_OK;
}

void tkn_router_builder_free(tkn_router_builder *b) {
  if (!b) return;
  cJSON_Delete(b->root);
  tki_free(b);
}

static int nomem(tkn_router_builder *b) {
  (void)b;
  return tki_fail(TKN_ERR_NOMEM, "router builder: out of memory");
}

/* A cJSON string from (s, len), which must be UTF-8 without NUL bytes. */
static int make_string(tkn_router_builder *b, const char *what, const char *s, size_t len,
                       cJSON **out) {
  *out = NULL;
  if (!s && len) return tki_fail(TKN_ERR_INVALID, "router builder: %s: NULL", what);
  if (!s) s = "";
  if (memchr(s, '\0', len))
    return tki_fail(TKN_ERR_INVALID, "router builder: %s: contains a NUL byte", what);
  size_t bad;
  if (!tki_utf8_valid(s, len, &bad))
    return tki_fail(TKN_ERR_UTF8, "router builder: %s: invalid UTF-8 at byte %zu", what,
                   bad);
  char *c = tki_strndup(s, len);
  if (!c) return nomem(b);
  *out = cJSON_CreateString(c);
  tki_free(c);
  return *out ? TKN_OK : nomem(b);
}

/* The array member `key` of the root, created empty if missing. */
static cJSON *root_array(cJSON *root, const char *key) {
  cJSON *a = cJSON_GetObjectItemCaseSensitive(root, key);
  if (a) return a;
  a = cJSON_CreateArray();
  if (a && !cJSON_AddItemToObject(root, key, a)) {
    cJSON_Delete(a);
    a = NULL;
  }
  return a;
}

/* Every change is made on a copy of the document that replaces it only on
 * success, so a failed call leaves the builder as it was. */
static cJSON *begin(tkn_router_builder *b) {
  cJSON *c = cJSON_Duplicate(b->root, 1);
  if (!c) nomem(b);
  return c;
}

static int commit(tkn_router_builder *b, cJSON *copy, int rc) {
  if (rc) {
    cJSON_Delete(copy);
    return rc;
  }
  cJSON_Delete(b->root);
  b->root = copy;
  return TKN_OK;
}

/* Attach `item` under `key` of `obj` (replacing), or free it. */
static int put(tkn_router_builder *b, cJSON *obj, const char *key, cJSON *item) {
  if (!item) return nomem(b);
  if (cJSON_GetObjectItemCaseSensitive(obj, key))
    return cJSON_ReplaceItemInObjectCaseSensitive(obj, key, item) ? TKN_OK
                                                                  : (cJSON_Delete(item), nomem(b));
  return cJSON_AddItemToObject(obj, key, item) ? TKN_OK : (cJSON_Delete(item), nomem(b));
}

int tkn_router_builder_add_tier(tkn_router_builder *b, const char *name, size_t name_len,
                                const char *const *models, const size_t *lens, size_t n_models,
                                double threshold) {
  name_len = tki_len(name, name_len);
  if (!b) return tki_fail(TKN_ERR_INVALID, "tkn_router_builder_add_tier: b is NULL");
  if (n_models && (!models || !lens))
    return tki_fail(TKN_ERR_INVALID, "router builder: tier: NULL model list");
  if (!isfinite(threshold))
    return tki_fail(TKN_ERR_INVALID, "router builder: tier: threshold is not finite");
  cJSON *tier = cJSON_CreateObject(), *s = NULL, *arr = NULL;
  if (!tier) return nomem(b);
  int rc = make_string(b, "tier name", name, name_len, &s);
  if (!rc) rc = put(b, tier, "name", s);
  if (!rc) {
    arr = cJSON_CreateArray();
    rc = put(b, tier, "models", arr);
  }
  for (size_t i = 0; !rc && i < n_models; i++) {
    rc = make_string(b, "model name", models[i], tki_len(models[i], lens[i]), &s);
    if (!rc && !cJSON_AddItemToArray(arr, s)) {
      cJSON_Delete(s);
      rc = nomem(b);
    }
  }
  if (!rc) rc = put(b, tier, "threshold", cJSON_CreateNumber(threshold));
  cJSON *root = rc ? NULL : begin(b);
  if (!rc && !root) rc = TKN_ERR_NOMEM;
  cJSON *tiers = rc ? NULL : root_array(root, "tiers");
  if (!rc && !tiers) rc = nomem(b);
  if (!rc && !cJSON_AddItemToArray(tiers, tier)) rc = nomem(b);
  if (rc) cJSON_Delete(tier);
  return root ? commit(b, root, rc) : rc;
}

TKI_DEFINE_INIT(tkn_router_rule_init, tkn_router_rule, rule, TKN_ROUTER_RULE_VERSION,
                TKN_ROUTER_RULE_INIT)

int tkn_router_builder_add_rule(tkn_router_builder *b, const tkn_router_rule *rule) {
  if (!b || !rule) return tki_fail_null("tkn_router_builder_add_rule", !b ? "b" : "rule");
  if (rule->version != TKN_ROUTER_RULE_VERSION)
    return tki_fail(TKN_ERR_VERSION, "router builder: rule: unknown version %u",
                   (unsigned)rule->version);
  tkn_router_rule norm = *rule; /* the lengths may be TKN_NUL_TERMINATED */
  norm.when_len = tki_len(norm.when, norm.when_len);
  norm.tier_len = tki_len(norm.tier, norm.tier_len);
  norm.reason_len = tki_len(norm.reason, norm.reason_len);
  norm.shadow_tier_len = tki_len(norm.shadow_tier, norm.shadow_tier_len);
  rule = &norm;
  if (!isfinite(rule->shadow_rate))
    return tki_fail(TKN_ERR_INVALID, "router builder: rule: shadow_rate is not finite");
  cJSON *obj = cJSON_CreateObject(), *s = NULL;
  if (!obj) return nomem(b);
  int rc = TKN_OK;
  if (rule->when && rule->when_len) {
    cJSON *when = NULL;
    rc = tki_json_parse(rule->when, rule->when_len, TKI_R_CONFIG_MAX, TKI_R_DEPTH_MAX,
                        "router builder: rule condition", &when, NULL);
    if (!rc) rc = put(b, obj, "when", when);
  }
  if (!rc) rc = make_string(b, "rule tier", rule->tier, rule->tier_len, &s);
  if (!rc) rc = put(b, obj, "tier", s);
  if (!rc && rule->reason) {
    rc = make_string(b, "rule reason", rule->reason, rule->reason_len, &s);
    if (!rc) rc = put(b, obj, "reason", s);
  }
  if (!rc && rule->shadow_rate != 0)
    rc = put(b, obj, "shadow_rate", cJSON_CreateNumber(rule->shadow_rate));
  if (!rc && rule->shadow_tier) {
    rc = make_string(b, "rule shadow tier", rule->shadow_tier, rule->shadow_tier_len, &s);
    if (!rc) rc = put(b, obj, "shadow_tier", s);
  }
  if (!rc && rule->cascade) rc = put(b, obj, "cascade", cJSON_CreateTrue());
  cJSON *root = rc ? NULL : begin(b);
  if (!rc && !root) rc = TKN_ERR_NOMEM;
  cJSON *rules = rc ? NULL : root_array(root, "rules");
  if (!rc && !rules) rc = nomem(b);
  if (!rc && !cJSON_AddItemToArray(rules, obj)) rc = nomem(b);
  if (rc) cJSON_Delete(obj);
  return root ? commit(b, root, rc) : rc;
}

int tkn_router_builder_set_default_tier(tkn_router_builder *b, const char *name, size_t len) {
  len = tki_len(name, len);
  if (!b) return tki_fail_null("tkn_router_builder_set_default_tier", "b");
  cJSON *s;
  int rc = make_string(b, "default tier name", name, len, &s);
  if (rc) return rc;
  cJSON *root = begin(b);
  if (!root) {
    cJSON_Delete(s);
    return tki_fail(TKN_ERR_NOMEM, "tkn_router_builder_set_default_tier: out of memory");
  }
  return commit(b, root, put(b, root, "default_tier", s));
}

int tkn_router_builder_set_cascade(tkn_router_builder *b, int32_t max_escalations,
                                   const char *path, size_t path_len) {
  path_len = tki_len(path, path_len);
  if (!b) return tki_fail(TKN_ERR_INVALID, "tkn_router_builder_set_cascade: b is NULL");
  cJSON *obj = cJSON_CreateObject(), *s = NULL;
  if (!obj) return nomem(b);
  int rc = TKN_OK;
  if (max_escalations >= 0)
    rc = put(b, obj, "max_escalations", cJSON_CreateNumber(max_escalations));
  if (!rc && path) {
    rc = make_string(b, "confidence path", path, path_len, &s);
    if (!rc) rc = put(b, obj, "confidence_path", s);
  }
  cJSON *root = rc ? NULL : begin(b);
  if (!rc && !root) rc = TKN_ERR_NOMEM;
  if (rc) {
    cJSON_Delete(obj);
    return rc;
  }
  return commit(b, root, put(b, root, "cascade", obj));
}

/* The "failures" object, created empty if missing. */
static cJSON *failures(cJSON *root) {
  cJSON *f = cJSON_GetObjectItemCaseSensitive(root, "failures");
  if (f) return f;
  f = cJSON_CreateObject();
  if (f && !cJSON_AddItemToObject(root, "failures", f)) {
    cJSON_Delete(f);
    f = NULL;
  }
  return f;
}

int tkn_router_builder_set_failures(tkn_router_builder *b, int32_t allowed_fails,
                                    int32_t window_s, double cooldown_s) {
  if (!b) return tki_fail(TKN_ERR_INVALID, "tkn_router_builder_set_failures: b is NULL");
  if (!isfinite(cooldown_s))
    return tki_fail(TKN_ERR_INVALID, "router builder: cooldown_s is not finite");
  cJSON *root = begin(b);
  if (!root) return tki_fail(TKN_ERR_NOMEM, "tkn_router_builder_set_failures: out of memory");
  cJSON *f = failures(root);
  int rc = f ? TKN_OK : nomem(b);
  if (!rc) rc = put(b, f, "allowed_fails", cJSON_CreateNumber(allowed_fails));
  if (!rc) rc = put(b, f, "window_s", cJSON_CreateNumber(window_s));
  if (!rc) rc = put(b, f, "cooldown_s", cJSON_CreateNumber(cooldown_s));
  return commit(b, root, rc);
}

int tkn_router_builder_set_retries(tkn_router_builder *b, int32_t cls, int32_t retries) {
  if (!b) return tki_fail_null("tkn_router_builder_set_retries", "b");
  const char *name = tkn_llm_fail_name(cls);
  if (!name)
    return tki_fail(TKN_ERR_INVALID, "router builder: unknown failure class %d", (int)cls);
  cJSON *root = begin(b);
  if (!root) return tki_fail(TKN_ERR_NOMEM, "tkn_router_builder_set_retries: out of memory");
  cJSON *f = failures(root);
  int rc = f ? TKN_OK : nomem(b);
  cJSON *r = rc ? NULL : cJSON_GetObjectItemCaseSensitive(f, "retries");
  if (!rc && !r) {
    r = cJSON_CreateObject();
    rc = put(b, f, "retries", r);
  }
  if (!rc) rc = put(b, r, name, cJSON_CreateNumber(retries));
  return commit(b, root, rc);
}

int tkn_router_builder_to_json(const tkn_router_builder *b, char **out, size_t *out_len) {
  if (!b || !out) return tki_fail_null("tkn_router_builder_to_json", !b ? "b" : "out");
  *out = NULL;
  if (out_len) *out_len = 0;
  char *s = cJSON_PrintUnformatted(b->root);
  if (!s) return tki_fail(TKN_ERR_NOMEM, "tkn_router_builder_to_json: out of memory");
  size_t len = strlen(s);
  char *c = tki_strndup(s, len);
  cJSON_free(s);
  if (!c) return tki_fail(TKN_ERR_NOMEM, "tkn_router_builder_to_json: out of memory");
  *out = c;
  if (out_len) *out_len = len;
  return TKN_OK;
}

int tkn_router_builder_build(tkn_router_builder *b, const tkn_router_options *opts,
                             tkn_router **out) {
  if (!out) return tki_fail(TKN_ERR_INVALID, "tkn_router_builder_build: out is NULL");
  *out = NULL;
  if (!b) return tki_fail(TKN_ERR_INVALID, "tkn_router_builder_build: b is NULL");
  return tki_router_compile(b->root, opts, out, NULL);
}
