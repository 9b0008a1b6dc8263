/* Router config: JSON in, a compiled immutable router out.  Every error names
 * the JSON path it is about.  Conditions become a tree (kept for explain) and
 * flat short-circuit bytecode over interned attribute ids (for decide);
 * constant sub-conditions are folded, which is also how a rule that can never
 * match is found. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "router_internal.h"

typedef struct cctx {
  tkn_router *r;
  char *err;
  size_t cap_models, cap_attrs, cap_opnds, cap_code, cap_nodes, cap_children;
  size_t rule_nodes; /* nodes of the rule being compiled */
} cctx;

static const char *type_name(const cJSON *j) {
  if (cJSON_IsString(j)) return "a string";
  if (cJSON_IsNumber(j)) return "a number";
  if (cJSON_IsBool(j)) return "a boolean";
  if (cJSON_IsNull(j)) return "null";
  if (cJSON_IsArray(j)) return "an array";
  if (cJSON_IsObject(j)) return "an object";
  return "an invalid value";
}

static int wrong_type(cctx *c, const char *path, const char *want, const cJSON *j) {
  (void)c;
  return tki_fail(TKN_ERR_SCHEMA, "router config: %s: expected %s, got %s", path, want,
                 type_name(j));
}

static int nomem(cctx *c) {
  (void)c;
  return tki_fail(TKN_ERR_NOMEM, "router config: out of memory");
}

/* Reject keys outside `allowed` and repeated keys. */
static int check_keys(cctx *c, const cJSON *obj, const char *path, const char *const *allowed,
                      size_t n) {
  (void)c;
  for (const cJSON *m = obj->child; m; m = m->next) {
    size_t k = 0;
    while (k < n && strcmp(allowed[k], m->string) != 0) k++;
    if (k == n)
      return tki_fail(TKN_ERR_SCHEMA, "router config: %s.%s: unknown key", path,
                     m->string);
    for (const cJSON *o = obj->child; o != m; o = o->next)
      if (strcmp(o->string, m->string) == 0)
        return tki_fail(TKN_ERR_DUPLICATE, "router config: %s.%s: duplicate key", path,
                       m->string);
  }
  return TKN_OK;
}

static int get_int(cctx *c, const cJSON *j, const char *path, long lo, long hi, long *out) {
  if (!cJSON_IsNumber(j)) return wrong_type(c, path, "an integer", j);
  double v = j->valuedouble;
  if (v != floor(v) || v < (double)lo || v > (double)hi)
    return tki_fail(TKN_ERR_SCHEMA, "router config: %s: expected an integer in [%ld, %ld]",
                   path, lo, hi);
  *out = (long)v;
  return TKN_OK;
}

static int get_num(cctx *c, const cJSON *j, const char *path, double lo, double hi, double *out) {
  if (!cJSON_IsNumber(j)) return wrong_type(c, path, "a number", j);
  double v = j->valuedouble;
  if (!(v >= lo && v <= hi))
    return tki_fail(TKN_ERR_SCHEMA, "router config: %s: expected a number in [%g, %g]",
                   path, lo, hi);
  *out = v;
  return TKN_OK;
}

static int get_name(cctx *c, const cJSON *j, const char *path, const char **out) {
  if (!cJSON_IsString(j)) return wrong_type(c, path, "a string", j);
  if (!j->valuestring[0])
    return tki_fail(TKN_ERR_SCHEMA, "router config: %s: empty string", path);
  *out = j->valuestring;
  return TKN_OK;
}

static int rstr_dup(tki_rstr *d, const char *s) {
  d->len = strlen(s);
  d->s = tki_strndup(s, d->len);
  if (!d->s) return tki_fail(TKN_ERR_NOMEM, "out of memory");
  d->hash = tki_hash64(d->s, d->len, 0);
  return TKN_OK;
}

static int32_t find_tier(const tkn_router *r, const char *name) {
  for (size_t i = 0; i < r->n_tiers; i++)
    if (strcmp(r->tiers[i].name.s, name) == 0) return (int32_t)i;
  return -1;
}

static int tier_ref(cctx *c, const cJSON *j, const char *path, int32_t *out) {
  const char *name = NULL;
  int rc = get_name(c, j, path, &name);
  if (rc) return rc;
  *out = find_tier(c->r, name);
  if (*out < 0)
    return tki_fail(TKN_ERR_NOT_FOUND, "router config: %s: unknown tier '%s'", path,
                   name);
  return TKN_OK;
}

/* ---- tiers and models ---- */

static int intern_model(cctx *c, const char *name, uint32_t *id) {
  tkn_router *r = c->r;
  for (size_t i = 0; i < r->n_models; i++)
    if (strcmp(r->models[i].name.s, name) == 0) {
      *id = (uint32_t)i;
      return TKN_OK;
    }
  if (tki_grow((void **)&r->models, &c->cap_models, r->n_models + 1, sizeof *r->models))
    return nomem(c);
  tki_model *m = &r->models[r->n_models];
  memset(m, 0, sizeof *m);
  if (rstr_dup(&m->name, name)) return nomem(c);
  *id = (uint32_t)r->n_models++;
  return TKN_OK;
}

static int parse_tier(cctx *c, const cJSON *j, size_t i) {
  static const char *const keys[] = {"name", "models", "threshold"};
  char path[64];
  snprintf(path, sizeof path, "$.tiers[%zu]", i);
  if (!cJSON_IsObject(j)) return wrong_type(c, path, "an object", j);
  int rc = check_keys(c, j, path, keys, 3);
  if (rc) return rc;
  char sub[96];
  tkn_router *r = c->r;
  tki_tier *t = &r->tiers[i];
  const cJSON *name = cJSON_GetObjectItemCaseSensitive(j, "name");
  snprintf(sub, sizeof sub, "%s.name", path);
  if (!name) return tki_fail(TKN_ERR_SCHEMA, "router config: %s: missing", sub);
  const char *nm = NULL;
  if ((rc = get_name(c, name, sub, &nm))) return rc;
  if (find_tier(r, nm) >= 0)
    return tki_fail(TKN_ERR_DUPLICATE, "router config: %s: tier '%s' defined twice", sub,
                   nm);
  t->threshold = 0.5;
  const cJSON *th = cJSON_GetObjectItemCaseSensitive(j, "threshold");
  snprintf(sub, sizeof sub, "%s.threshold", path);
  if (th && (rc = get_num(c, th, sub, 0.0, 1.0, &t->threshold))) return rc;
  const cJSON *models = cJSON_GetObjectItemCaseSensitive(j, "models");
  snprintf(sub, sizeof sub, "%s.models", path);
  if (!models) return tki_fail(TKN_ERR_SCHEMA, "router config: %s: missing", sub);
  if (!cJSON_IsArray(models)) return wrong_type(c, sub, "an array of model names", models);
  int n = cJSON_GetArraySize(models);
  if (n == 0) return tki_fail(TKN_ERR_SCHEMA, "router config: %s: no model", sub);
  if (n > TKI_R_MAX_MODELS_PER_TIER)
    return tki_fail(TKN_ERR_LIMIT, "router config: %s: more than %d models", sub,
                   TKI_R_MAX_MODELS_PER_TIER);
  t->models = tki_calloc((size_t)n, sizeof *t->models);
  if (!t->models) return nomem(c);
  int k = 0;
  for (const cJSON *m = models->child; m; m = m->next, k++) {
    char mp[128];
    snprintf(mp, sizeof mp, "%s[%d]", sub, k);
    const char *mn = NULL;
    uint32_t id = 0;
    if ((rc = get_name(c, m, mp, &mn)) || (rc = intern_model(c, mn, &id))) return rc;
    for (size_t q = 0; q < t->n_models; q++)
      if (t->models[q] == id)
        return tki_fail(TKN_ERR_DUPLICATE, "router config: %s: model '%s' listed twice",
                       mp, mn);
    t->models[t->n_models++] = id;
  }
  if (rstr_dup(&t->name, nm)) return nomem(c);
  r->n_tiers++;
  return TKN_OK;
}

static int parse_tiers(cctx *c, const cJSON *j) {
  if (!j) return tki_fail(TKN_ERR_SCHEMA, "router config: $.tiers: missing");
  if (!cJSON_IsArray(j)) return wrong_type(c, "$.tiers", "an array", j);
  int n = cJSON_GetArraySize(j);
  if (n == 0) return tki_fail(TKN_ERR_SCHEMA, "router config: $.tiers: no tier");
  if (n > TKI_R_MAX_TIERS)
    return tki_fail(TKN_ERR_LIMIT, "router config: $.tiers: more than %d tiers",
                   TKI_R_MAX_TIERS);
  c->r->tiers = tki_calloc((size_t)n, sizeof *c->r->tiers);
  if (!c->r->tiers) return nomem(c);
  c->r->tiers_cap = (size_t)n;
  size_t i = 0;
  for (const cJSON *t = j->child; t; t = t->next, i++) {
    int rc = parse_tier(c, t, i);
    if (rc) return rc;
  }
  return TKN_OK;
}

/* ---- cascade and failures ---- */

/* "a.b[0].c": keys separated by dots, [n] indices after a key or first. */
static int parse_path(cctx *c, const char *s, const char *where) {
  tkn_router *r = c->r;
  size_t len = strlen(s), cap = 0;
  size_t i = 0;
  int need_key = 0; /* after a dot */
  while (i < len) {
    tki_pstep st = {NULL, 0};
    if (s[i] == '[') {
      if (need_key) goto bad;
      size_t j = ++i;
      size_t v = 0;
      while (i < len && s[i] >= '0' && s[i] <= '9' && i - j < 9) v = v * 10 + (size_t)(s[i++] - '0');
      if (i == j || i >= len || s[i] != ']') goto bad;
      i++;
      st.index = v;
    } else if (s[i] == '.') {
      if (i == 0 || need_key) goto bad;
      need_key = 1;
      i++;
      continue;
    } else {
      if (i > 0 && !need_key) goto bad; /* a key must follow a dot */
      size_t j = i;
      while (i < len && s[i] != '.' && s[i] != '[' && s[i] != ']') i++;
      if (i < len && s[i] == ']') goto bad;
      st.key = tki_strndup(s + j, i - j);
      if (!st.key) return nomem(c);
    }
    need_key = 0;
    if (tki_grow((void **)&r->path, &cap, r->n_path + 1, sizeof *r->path)) {
      tki_free(st.key);
      return nomem(c);
    }
    r->path[r->n_path++] = st;
  }
  if (need_key || r->n_path == 0) goto bad;
  r->path_text = tki_strndup(s, len);
  return r->path_text ? TKN_OK : nomem(c);
bad:
  return tki_fail(TKN_ERR_SCHEMA,
                 "router config: %s: malformed path '%s' (keys joined by dots, [n] indices)",
                 where, s);
}

static int parse_cascade(cctx *c, const cJSON *j) {
  static const char *const keys[] = {"max_escalations", "confidence_path"};
  tkn_router *r = c->r;
  r->max_escalations = (int32_t)r->n_tiers - 1;
  const char *path = "confidence";
  if (j) {
    if (!cJSON_IsObject(j)) return wrong_type(c, "$.cascade", "an object", j);
    int rc = check_keys(c, j, "$.cascade", keys, 2);
    if (rc) return rc;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "max_escalations");
    long v;
    if (m) {
      if ((rc = get_int(c, m, "$.cascade.max_escalations", 0, TKI_R_MAX_TIERS, &v))) return rc;
      r->max_escalations = (int32_t)v;
    }
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "confidence_path");
    if (p && (rc = get_name(c, p, "$.cascade.confidence_path", &path))) return rc;
  }
  return parse_path(c, path, "$.cascade.confidence_path");
}

static int parse_failures(cctx *c, const cJSON *j) {
  static const char *const keys[] = {"allowed_fails", "window_s", "cooldown_s", "retries"};
  static const int32_t default_retries[TKN_LLM_FAIL__COUNT] = {2, 2, 2, 0, 0, 0};
  tkn_router *r = c->r;
  r->allowed_fails = 3;
  r->window_s = 60;
  r->cooldown_s = 5;
  memcpy(r->retries, default_retries, sizeof r->retries);
  if (j) {
    if (!cJSON_IsObject(j)) return wrong_type(c, "$.failures", "an object", j);
    int rc = check_keys(c, j, "$.failures", keys, 4);
    if (rc) return rc;
    long v;
    const cJSON *m;
    if ((m = cJSON_GetObjectItemCaseSensitive(j, "allowed_fails"))) {
      if ((rc = get_int(c, m, "$.failures.allowed_fails", 1, 1000, &v))) return rc;
      r->allowed_fails = (int32_t)v;
    }
    if ((m = cJSON_GetObjectItemCaseSensitive(j, "window_s"))) {
      if ((rc = get_int(c, m, "$.failures.window_s", 1, 86400, &v))) return rc;
      r->window_s = (int32_t)v;
    }
    if ((m = cJSON_GetObjectItemCaseSensitive(j, "cooldown_s")) &&
        (rc = get_num(c, m, "$.failures.cooldown_s", 0.0, 86400.0, &r->cooldown_s)))
      return rc;
    if ((m = cJSON_GetObjectItemCaseSensitive(j, "retries"))) {
      const char *names[TKN_LLM_FAIL__COUNT];
      for (int k = 0; k < TKN_LLM_FAIL__COUNT; k++) names[k] = tkn_llm_fail_name(k);
      if (!cJSON_IsObject(m)) return wrong_type(c, "$.failures.retries", "an object", m);
      if ((rc = check_keys(c, m, "$.failures.retries", names, TKN_LLM_FAIL__COUNT))) return rc;
      for (const cJSON *e = m->child; e; e = e->next) {
        char p[96];
        snprintf(p, sizeof p, "$.failures.retries.%s", e->string);
        if ((rc = get_int(c, e, p, 0, 100, &v))) return rc;
        r->retries[tkn_llm_fail_from_name(e->string, strlen(e->string))] = (int32_t)v;
      }
    }
  }
  r->window_ms = (int64_t)r->window_s * 1000;
  r->cooldown_ms = (int64_t)llround(r->cooldown_s * 1000.0);
  return TKN_OK;
}

/* ---- conditions ---- */

static const char *const op_names[] = {NULL, "eq", "ne", "in", "not_in", "lt", "le", "gt",
                                       "ge", "exists", "contains", "prefix"};

const char *tki_op_name(int op) {
  return op >= TKI_OP_EQ && op <= TKI_OP_PREFIX ? op_names[op] : "?";
}

static int intern_attr(cctx *c, const char *name, const char *path, uint32_t *id) {
  tkn_router *r = c->r;
  for (size_t i = 0; i < r->n_attrs; i++)
    if (strcmp(r->attrs[i].s, name) == 0) {
      *id = (uint32_t)i;
      return TKN_OK;
    }
  if (r->n_attrs >= TKI_R_MAX_ATTRS)
    return tki_fail(TKN_ERR_LIMIT, "router config: %s: more than %d distinct attributes",
                   path, TKI_R_MAX_ATTRS);
  if (tki_grow((void **)&r->attrs, &c->cap_attrs, r->n_attrs + 1, sizeof *r->attrs))
    return nomem(c);
  if (rstr_dup(&r->attrs[r->n_attrs], name)) return nomem(c);
  *id = (uint32_t)r->n_attrs++;
  return TKN_OK;
}

static int add_operand(cctx *c, const cJSON *j, const char *path, int want_string) {
  tkn_router *r = c->r;
  tki_operand o;
  memset(&o, 0, sizeof o);
  if (cJSON_IsString(j)) {
    o.kind = TKI_V_STRING;
  } else if (want_string) {
    return wrong_type(c, path, "a string", j);
  } else if (cJSON_IsNumber(j)) {
    o.kind = TKI_V_NUMBER;
    o.num = j->valuedouble;
  } else if (cJSON_IsBool(j)) {
    o.kind = TKI_V_BOOL;
    o.b = cJSON_IsTrue(j);
  } else {
    return wrong_type(c, path, "a string, number or boolean", j);
  }
  if (tki_grow((void **)&r->opnds, &c->cap_opnds, r->n_opnds + 1, sizeof *r->opnds))
    return nomem(c);
  if (o.kind == TKI_V_STRING && rstr_dup(&o.str, j->valuestring)) return nomem(c);
  r->opnds[r->n_opnds++] = o;
  return TKN_OK;
}

static int new_node(cctx *c, const char *path, uint32_t *id) {
  tkn_router *r = c->r;
  if (++c->rule_nodes > TKI_R_MAX_NODES)
    return tki_fail(TKN_ERR_LIMIT, "router config: %s: condition has more than %d nodes",
                   path, TKI_R_MAX_NODES);
  if (tki_grow((void **)&r->nodes, &c->cap_nodes, r->n_nodes + 1, sizeof *r->nodes))
    return nomem(c);
  tki_node *n = &r->nodes[r->n_nodes];
  memset(n, 0, sizeof *n);
  n->path = tki_strndup(path, strlen(path));
  if (!n->path) return nomem(c);
  *id = (uint32_t)r->n_nodes++;
  return TKN_OK;
}

static int parse_leaf(cctx *c, const cJSON *j, const char *path, uint32_t *out) {
  const cJSON *attr = NULL, *opj = NULL;
  int op = 0;
  for (const cJSON *m = j->child; m; m = m->next) {
    if (strcmp(m->string, "attr") == 0) {
      if (attr)
        return tki_fail(TKN_ERR_DUPLICATE, "router config: %s.attr: duplicate key", path);
      attr = m;
      continue;
    }
    int k = TKI_OP_EQ;
    while (k <= TKI_OP_PREFIX && strcmp(op_names[k], m->string) != 0) k++;
    if (k > TKI_OP_PREFIX) {
      if (!strcmp(m->string, "all") || !strcmp(m->string, "any") || !strcmp(m->string, "not"))
        return tki_fail(TKN_ERR_SCHEMA, "router config: %s.%s: a combinator must be "
                       "the only key of its object", path, m->string);
      return tki_fail(TKN_ERR_SCHEMA, "router config: %s.%s: unknown key", path,
                     m->string);
    }
    if (opj)
      return tki_fail(TKN_ERR_SCHEMA,
                     "router config: %s.%s: more than one operator (already '%s')", path,
                     m->string, opj->string);
    opj = m;
    op = k;
  }
  char sub[600];
  if (!attr)
    return tki_fail(TKN_ERR_SCHEMA,
                   "router config: %s: expected \"attr\" and an operator, or all/any/not", path);
  snprintf(sub, sizeof sub, "%s.attr", path);
  const char *name = NULL;
  int rc = get_name(c, attr, sub, &name);
  if (rc) return rc;
  if (!opj)
    return tki_fail(TKN_ERR_SCHEMA,
                   "router config: %s: missing an operator (eq, ne, in, not_in, lt, le, gt, ge, "
                   "exists, contains, prefix)", path);
  snprintf(sub, sizeof sub, "%s.%s", path, opj->string);
  uint32_t aid = 0, id = 0;
  if ((rc = intern_attr(c, name, sub, &aid)) || (rc = new_node(c, path, &id))) return rc;
  tkn_router *r = c->r;
  uint32_t first = (uint32_t)r->n_opnds, n = 0;
  switch (op) {
    case TKI_OP_LT:
    case TKI_OP_LE:
    case TKI_OP_GT:
    case TKI_OP_GE:
      if (!cJSON_IsNumber(opj)) return wrong_type(c, sub, "a number", opj);
      rc = add_operand(c, opj, sub, 0);
      n = 1;
      break;
    case TKI_OP_EXISTS:
      if (!cJSON_IsBool(opj)) return wrong_type(c, sub, "a boolean", opj);
      rc = add_operand(c, opj, sub, 0);
      n = 1;
      break;
    case TKI_OP_CONTAINS:
    case TKI_OP_PREFIX:
      rc = add_operand(c, opj, sub, 1);
      n = 1;
      break;
    case TKI_OP_IN:
    case TKI_OP_NOT_IN: {
      if (!cJSON_IsArray(opj)) return wrong_type(c, sub, "an array of values", opj);
      int cnt = cJSON_GetArraySize(opj);
      if (cnt == 0) return tki_fail(TKN_ERR_SCHEMA, "router config: %s: empty list", sub);
      if (cnt > TKI_R_MAX_SET)
        return tki_fail(TKN_ERR_LIMIT, "router config: %s: more than %d values", sub,
                       TKI_R_MAX_SET);
      int k = 0;
      for (const cJSON *e = opj->child; !rc && e; e = e->next, k++) {
        char ep[640];
        snprintf(ep, sizeof ep, "%s[%d]", sub, k);
        rc = add_operand(c, e, ep, 0);
      }
      n = (uint32_t)cnt;
      break;
    }
    default: /* eq, ne */
      rc = add_operand(c, opj, sub, 0);
      n = 1;
  }
  if (rc) return rc;
  tki_node *nd = &r->nodes[id];
  nd->kind = TKI_N_LEAF;
  nd->op = op;
  nd->attr = aid;
  nd->opnd = first;
  nd->nopnd = n;
  *out = id;
  return TKN_OK;
}

static int parse_cond(cctx *c, const cJSON *j, const char *path, uint32_t *out) {
  if (!cJSON_IsObject(j)) return wrong_type(c, path, "a condition object", j);
  const cJSON *m = j->child;
  if (!m)
    return tki_fail(TKN_ERR_SCHEMA,
                   "router config: %s: empty condition (use {\"all\": []} for always)", path);
  int kind = !strcmp(m->string, "all") ? TKI_N_ALL
             : !strcmp(m->string, "any") ? TKI_N_ANY
             : !strcmp(m->string, "not") ? TKI_N_NOT
                                         : 0;
  if (!kind) return parse_leaf(c, j, path, out);
  if (m->next)
    return tki_fail(TKN_ERR_SCHEMA,
                   "router config: %s.%s: a combinator must be the only key of its object", path,
                   m->next->string);
  char sub[600];
  int rc;
  uint32_t id;
  if (kind == TKI_N_NOT) {
    snprintf(sub, sizeof sub, "%s.not", path);
    uint32_t child;
    if ((rc = new_node(c, path, &id)) || (rc = parse_cond(c, m, sub, &child))) return rc;
    tkn_router *r = c->r;
    if (tki_grow((void **)&r->children, &c->cap_children, r->n_children + 1,
                 sizeof *r->children))
      return nomem(c);
    r->nodes[id].kind = TKI_N_NOT;
    r->nodes[id].first = (uint32_t)r->n_children;
    r->nodes[id].count = 1;
    r->children[r->n_children++] = child;
    *out = id;
    return TKN_OK;
  }
  snprintf(sub, sizeof sub, "%s.%s", path, m->string);
  if (!cJSON_IsArray(m)) return wrong_type(c, sub, "an array of conditions", m);
  if ((rc = new_node(c, path, &id))) return rc;
  int n = cJSON_GetArraySize(m);
  uint32_t *kids = n ? tki_calloc((size_t)n, sizeof *kids) : NULL;
  if (n && !kids) return nomem(c);
  int k = 0;
  for (const cJSON *e = m->child; !rc && e; e = e->next, k++) {
    char ep[640];
    snprintf(ep, sizeof ep, "%s[%d]", sub, k);
    rc = parse_cond(c, e, ep, &kids[k]);
  }
  tkn_router *r = c->r;
  if (!rc && tki_grow((void **)&r->children, &c->cap_children, r->n_children + (size_t)n + 1,
                      sizeof *r->children))
    rc = nomem(c);
  if (!rc) {
    r->nodes[id].kind = kind;
    r->nodes[id].first = (uint32_t)r->n_children;
    r->nodes[id].count = (uint32_t)n;
    if (n) memcpy(&r->children[r->n_children], kids, (size_t)n * sizeof *kids);
    r->n_children += (size_t)n;
    *out = id;
  }
  tki_free(kids);
  return rc;
}

/* 1 always true, 0 never true, -1 depends on the task. */
static int node_const(const tkn_router *r, uint32_t id) {
  const tki_node *n = &r->nodes[id];
  if (n->kind == TKI_N_LEAF) return -1;
  if (n->kind == TKI_N_NOT) {
    int v = node_const(r, r->children[n->first]);
    return v < 0 ? -1 : !v;
  }
  int absorbing = n->kind == TKI_N_ALL ? 0 : 1, all_neutral = 1;
  for (uint32_t i = 0; i < n->count; i++) {
    int v = node_const(r, r->children[n->first + i]);
    if (v == absorbing) return absorbing;
    if (v < 0) all_neutral = 0;
  }
  return all_neutral ? !absorbing : -1;
}

/* Code for node `id` that continues at `t` when it holds and at `f` when it
 * does not; *entry is where it starts.  Children are compiled last to first
 * so that each one's successors already exist. */
static int emit_node(cctx *c, uint32_t id, uint32_t t, uint32_t f, uint32_t *entry) {
  tkn_router *r = c->r;
  int k = node_const(r, id);
  if (k >= 0) {
    *entry = k ? t : f;
    return TKN_OK;
  }
  const tki_node n = r->nodes[id];
  int rc = TKN_OK;
  if (n.kind == TKI_N_NOT) return emit_node(c, r->children[n.first], f, t, entry);
  if (n.kind == TKI_N_ALL || n.kind == TKI_N_ANY) {
    uint32_t e = n.kind == TKI_N_ALL ? t : f;
    for (uint32_t i = n.count; !rc && i-- > 0;) {
      uint32_t ch = r->children[n.first + i];
      rc = n.kind == TKI_N_ALL ? emit_node(c, ch, e, f, &e) : emit_node(c, ch, t, e, &e);
    }
    *entry = e;
    return rc;
  }
  tki_insn in;
  memset(&in, 0, sizeof in);
  in.code = (uint16_t)n.op;
  in.attr = (uint16_t)n.attr;
  in.a = n.opnd;
  in.n = n.nopnd;
  in.t = t;
  in.f = f;
  int negate = 0;
  if (n.op == TKI_OP_NE) {
    in.code = TKI_OP_EQ;
    negate = 1;
  } else if (n.op == TKI_OP_NOT_IN) {
    in.code = TKI_OP_IN;
    negate = 1;
  } else if (n.op == TKI_OP_EXISTS) {
    in.code = TKI_OP_PRESENT;
    negate = !r->opnds[n.opnd].b;
  }
  if (negate) {
    in.t = f;
    in.f = t;
  }
  /* the operand goes into the instruction: one load less per test */
  const tki_operand *o = &r->opnds[n.opnd];
  if (in.code == TKI_OP_EQ) {
    if (o->kind == TKI_V_STRING) {
      in.code = TKI_OP_EQ_STR;
      in.u.hash = o->str.hash;
      in.s = o->str.s;
      in.len = (uint32_t)o->str.len;
    } else if (o->kind == TKI_V_NUMBER) {
      in.code = TKI_OP_EQ_NUM;
      in.u.num = o->num;
    } else {
      in.code = TKI_OP_EQ_BOOL;
      in.len = (uint32_t)o->b;
    }
  } else if (in.code >= TKI_OP_LT && in.code <= TKI_OP_GE) {
    in.u.num = o->num;
  } else if (in.code == TKI_OP_IN) {
    uint32_t k = 0;
    while (k < n.nopnd && r->opnds[n.opnd + k].kind == TKI_V_STRING) k++;
    if (k == n.nopnd) in.code = TKI_OP_IN_STR;
  } else if (in.code == TKI_OP_PREFIX || in.code == TKI_OP_CONTAINS) {
    in.code = in.code == TKI_OP_PREFIX ? TKI_OP_PREFIX_STR : TKI_OP_CONTAINS_STR;
    in.u.hash = o->str.hash;
    in.s = o->str.s;
    in.len = (uint32_t)o->str.len;
  }
  if (r->n_code >= TKI_PC_MATCH) return tki_fail(TKN_ERR_LIMIT, "router config: too many tests");
  if (tki_grow((void **)&r->code, &c->cap_code, r->n_code + 1, sizeof *r->code)) return nomem(c);
  *entry = (uint32_t)r->n_code;
  r->code[r->n_code++] = in;
  return TKN_OK;
}

/* The table a decision uses to bind a task's attributes to interned ids. */
static int build_attr_table(cctx *c) {
  tkn_router *r = c->r;
  size_t size = 8;
  while (size < 2 * r->n_attrs) size *= 2;
  r->attr_table = tki_calloc(size, sizeof *r->attr_table);
  if (!r->attr_table) return nomem(c);
  r->attr_mask = size - 1;
  for (size_t i = 0; i < r->n_attrs; i++) {
    size_t k = r->attrs[i].hash & r->attr_mask;
    while (r->attr_table[k]) k = (k + 1) & r->attr_mask;
    r->attr_table[k] = (uint16_t)(i + 1);
  }
  return TKN_OK;
}

/* One program for all rules: rule i continues with rule i+1 when false. */
static int emit_rules(cctx *c) {
  tkn_router *r = c->r;
  uint32_t next = TKI_PC_NONE;
  for (size_t i = r->n_rules; i-- > 0;) {
    const tki_rule *ru = &r->rules[i];
    uint32_t match = TKI_PC_MATCH | (uint32_t)i;
    if (ru->node_root == UINT32_MAX) {
      next = match;
      continue;
    }
    int rc = emit_node(c, ru->node_root, match, next, &next);
    if (rc) return rc;
  }
  r->entry = next;
  return TKN_OK;
}

static int parse_rule(cctx *c, const cJSON *j, size_t i) {
  static const char *const keys[] = {"when", "tier", "reason", "shadow_rate", "shadow_tier",
                                     "cascade"};
  tkn_router *r = c->r;
  tki_rule *ru = &r->rules[i];
  char path[64], sub[96];
  snprintf(path, sizeof path, "$.rules[%zu]", i);
  if (!cJSON_IsObject(j)) return wrong_type(c, path, "an object", j);
  int rc = check_keys(c, j, path, keys, 6);
  if (rc) return rc;
  ru->node_root = UINT32_MAX;
  ru->shadow_tier = -1;
  const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "tier");
  snprintf(sub, sizeof sub, "%s.tier", path);
  if (!m) return tki_fail(TKN_ERR_SCHEMA, "router config: %s: missing", sub);
  if ((rc = tier_ref(c, m, sub, &ru->tier))) return rc;
  const char *reason = "";
  if ((m = cJSON_GetObjectItemCaseSensitive(j, "reason"))) {
    snprintf(sub, sizeof sub, "%s.reason", path);
    if (!cJSON_IsString(m)) return wrong_type(c, sub, "a string", m);
    reason = m->valuestring;
  }
  if ((m = cJSON_GetObjectItemCaseSensitive(j, "cascade"))) {
    snprintf(sub, sizeof sub, "%s.cascade", path);
    if (!cJSON_IsBool(m)) return wrong_type(c, sub, "a boolean", m);
    ru->cascade = cJSON_IsTrue(m);
  }
  if ((m = cJSON_GetObjectItemCaseSensitive(j, "shadow_rate"))) {
    snprintf(sub, sizeof sub, "%s.shadow_rate", path);
    if ((rc = get_num(c, m, sub, 0.0, 1.0, &ru->shadow_rate))) return rc;
  }
  if ((m = cJSON_GetObjectItemCaseSensitive(j, "shadow_tier"))) {
    snprintf(sub, sizeof sub, "%s.shadow_tier", path);
    if ((rc = tier_ref(c, m, sub, &ru->shadow_tier))) return rc;
    if (ru->shadow_tier <= ru->tier)
      return tki_fail(TKN_ERR_SCHEMA,
                     "router config: %s: '%s' is not stronger than the rule's tier", sub,
                     m->valuestring);
  } else if ((size_t)ru->tier + 1 < r->n_tiers) {
    ru->shadow_tier = ru->tier + 1;
  }
  if (ru->shadow_rate > 0 && ru->shadow_tier < 0)
    return tki_fail(TKN_ERR_SCHEMA,
                   "router config: %s.shadow_rate: no stronger tier to shadow with", path);
  ru->shadow_cut = (uint64_t)(ru->shadow_rate * 9007199254740992.0); /* 2^53 */
  ru->reason = tki_strndup(reason, strlen(reason));
  if (!ru->reason) return nomem(c);
  ru->constant = 1;
  if ((m = cJSON_GetObjectItemCaseSensitive(j, "when"))) {
    snprintf(sub, sizeof sub, "%s.when", path);
    c->rule_nodes = 0;
    if ((rc = parse_cond(c, m, sub, &ru->node_root))) return rc;
    ru->constant = node_const(r, ru->node_root);
    if (ru->constant == 0)
      return tki_fail(TKN_ERR_STATE,
                     "router config: %s: the condition is never true, the rule can never match",
                     sub);
  }
  for (size_t k = 0; k < i; k++)
    if (r->rules[k].constant == 1)
      return tki_fail(TKN_ERR_STATE,
                     "router config: %s: can never match: $.rules[%zu] always matches", path, k);
  r->n_rules++;
  return TKN_OK;
}

static int parse_rules(cctx *c, const cJSON *j) {
  if (!j) return TKN_OK;
  if (!cJSON_IsArray(j)) return wrong_type(c, "$.rules", "an array", j);
  int n = cJSON_GetArraySize(j);
  if (n > TKI_R_MAX_RULES)
    return tki_fail(TKN_ERR_LIMIT, "router config: $.rules: more than %d rules",
                   TKI_R_MAX_RULES);
  if (n == 0) return TKN_OK;
  c->r->rules = tki_calloc((size_t)n, sizeof *c->r->rules);
  if (!c->r->rules) return nomem(c);
  c->r->rules_cap = (size_t)n;
  size_t i = 0;
  for (const cJSON *e = j->child; e; e = e->next, i++) {
    int rc = parse_rule(c, e, i);
    if (rc) return rc;
  }
  return TKN_OK;
}

/* ---- the whole config ---- */

static int compile(cctx *c, const cJSON *root) {
  static const char *const keys[] = {"tiers", "rules", "default_tier", "cascade", "failures"};
  tkn_router *r = c->r;
  if (!cJSON_IsObject(root)) return wrong_type(c, "$", "an object", root);
  int rc = check_keys(c, root, "$", keys, 5);
  if (rc) return rc;
  if ((rc = parse_tiers(c, cJSON_GetObjectItemCaseSensitive(root, "tiers")))) return rc;
  r->default_tier = (int32_t)r->n_tiers - 1;
  const cJSON *d = cJSON_GetObjectItemCaseSensitive(root, "default_tier");
  if (d && (rc = tier_ref(c, d, "$.default_tier", &r->default_tier))) return rc;
  if ((rc = parse_cascade(c, cJSON_GetObjectItemCaseSensitive(root, "cascade")))) return rc;
  if ((rc = parse_failures(c, cJSON_GetObjectItemCaseSensitive(root, "failures")))) return rc;
  if ((rc = parse_rules(c, cJSON_GetObjectItemCaseSensitive(root, "rules")))) return rc;
  if ((rc = emit_rules(c)) || (rc = build_attr_table(c))) return rc;
  for (size_t i = 0; i < r->n_models; i++) {
    r->models[i].fails = tki_calloc((size_t)r->allowed_fails, sizeof *r->models[i].fails);
    if (!r->models[i].fails) return nomem(c);
  }
  return TKN_OK;
}

static int lock_ready(const tkn_router *r) { return r->opts.version != 0; }

void tki_router_destroy(tkn_router *r) {
  if (!r) return;
  /* up to cap: a tier or rule that failed half-way still owns its parts */
  for (size_t i = 0; i < r->tiers_cap; i++) {
    tki_free(r->tiers[i].name.s);
    tki_free(r->tiers[i].models);
  }
  tki_free(r->tiers);
  for (size_t i = 0; i < r->rules_cap; i++) tki_free(r->rules[i].reason);
  tki_free(r->rules);
  for (size_t i = 0; i < r->n_models; i++) {
    tki_free(r->models[i].name.s);
    tki_free(r->models[i].fails);
  }
  tki_free(r->models);
  for (size_t i = 0; i < r->n_attrs; i++) tki_free(r->attrs[i].s);
  tki_free(r->attrs);
  tki_free(r->attr_table);
  for (size_t i = 0; i < r->n_opnds; i++) tki_free(r->opnds[i].str.s);
  tki_free(r->opnds);
  tki_free(r->code);
  for (size_t i = 0; i < r->n_nodes; i++) tki_free(r->nodes[i].path);
  tki_free(r->nodes);
  tki_free(r->children);
  for (size_t i = 0; i < r->n_path; i++) tki_free(r->path[i].key);
  tki_free(r->path);
  tki_free(r->path_text);
  if (lock_ready(r)) pthread_mutex_destroy(&r->lock);
  tki_free(r);
}

int tki_router_compile(const cJSON *root, const tkn_router_options *opts, tkn_router **out,
                       char err[TKI_ERRLEN]) {
  *out = NULL;
  tkn_router_options o = TKN_ROUTER_OPTIONS_INIT;
  if (opts) {
    if (opts->version != TKN_ROUTER_OPTIONS_VERSION)
      return tki_err(err, TKN_ERR_VERSION, "router options: unknown version %u",
                     (unsigned)opts->version);
    o = *opts;
  }
  cctx c;
  memset(&c, 0, sizeof c);
  c.err = err;
  c.r = tki_calloc(1, sizeof *c.r);
  if (!c.r) return nomem(&c);
  int rc = compile(&c, root);
  if (!rc && pthread_mutex_init(&c.r->lock, NULL) != 0)
    rc = tki_err(err, TKN_ERR_NOMEM, "router: cannot create a mutex");
  if (rc) {
    tki_router_destroy(c.r);
    return rc;
  }
  c.r->opts = o;
  *out = c.r;
  return TKN_OK;
}

int tkn_router_new_json(tkn_router **out, const char *json, size_t len,
                        const tkn_router_options *opts) {
  len = tki_len(json, len);
  if (!out) return tki_fail_null("tkn_router_new_json", "out");
  *out = NULL;
  cJSON *root = NULL;
  int rc = tki_json_parse(json, len, TKI_R_CONFIG_MAX, TKI_R_DEPTH_MAX, "router config", &root,
                          NULL);
  if (!rc) rc = tki_router_compile(root, opts, out, NULL);
  cJSON_Delete(root);
  return rc;
}
