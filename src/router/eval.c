/* Evaluating conditions: the bytecode loop behind tkn_router_decide, and the
 * tree walk behind tkn_router_explain.  Both share leaf_eval; the loop has
 * its own copies of eq and the numeric comparisons with the operand in the
 * instruction, and a randomised unit test checks the two always agree. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router_internal.h"

/* Equal bytes; names and values are short, where a loop beats a call. */
static inline int bytes_eq(const char *a, const char *b, size_t n) {
  if (n > 32) return memcmp(a, b, n) == 0;
  for (size_t i = 0; i < n; i++)
    if (a[i] != b[i]) return 0;
  return 1;
}

static inline int str_eq(const tki_rstr *a, const tki_rstr *b) {
  return a->hash == b->hash && a->len == b->len && bytes_eq(a->s, b->s, a->len);
}

static inline int has_prefix(const tki_rstr *s, const tki_rstr *p) {
  return s->len >= p->len && bytes_eq(s->s, p->s, p->len);
}

static int has_substring(const tki_rstr *s, const tki_rstr *p) {
  if (p->len == 0) return 1;
  if (s->len < p->len) return 0;
  const char *end = s->s + (s->len - p->len);
  for (const char *q = s->s; q <= end; q++) {
    q = memchr(q, (unsigned char)p->s[0], (size_t)(end - q) + 1);
    if (!q) return 0;
    if (memcmp(q, p->s, p->len) == 0) return 1;
  }
  return 0;
}

static inline int scalar_eq(const tki_tval *v, const tki_operand *o) {
  switch (v->type) {
    case TKI_V_STRING: return o->kind == TKI_V_STRING && str_eq(&v->str, &o->str);
    case TKI_V_NUMBER: return o->kind == TKI_V_NUMBER && v->num == o->num;
    case TKI_V_BOOL: return o->kind == TKI_V_BOOL && v->b == o->b;
    default: return 0;
  }
}

static inline int str_in(const tki_rstr *s, const tki_operand *o, uint32_t n) {
  for (uint32_t i = 0; i < n; i++)
    if (o[i].kind == TKI_V_STRING && str_eq(s, &o[i].str)) return 1;
  return 0;
}

static inline int value_in(const tki_tval *v, const tki_operand *o, uint32_t n) {
  if (v->type == TKI_V_LIST) {
    for (size_t k = 0; k < v->n; k++)
      if (str_in(&v->items[k], o, n)) return 1;
    return 0;
  }
  for (uint32_t i = 0; i < n; i++)
    if (scalar_eq(v, &o[i])) return 1;
  return 0;
}

static inline int string_test(const tki_tval *v, const tki_rstr *p, int (*test)(const tki_rstr *,
                                                                          const tki_rstr *)) {
  if (v->type == TKI_V_STRING) return test(&v->str, p);
  if (v->type == TKI_V_LIST)
    for (size_t k = 0; k < v->n; k++)
      if (test(&v->items[k], p)) return 1;
  return 0;
}

/* The one leaf test behind both evaluators; inlined into the decision loop. */
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline int leaf_eval(const tkn_router *r, int op, uint32_t opnd, uint32_t nopnd,
                            const tki_tval *v) {
  const tki_operand *o = &r->opnds[opnd];
  int num = v && v->type == TKI_V_NUMBER;
  switch (op) {
    case TKI_OP_EQ: return v && scalar_eq(v, o);
    case TKI_OP_NE: return !(v && scalar_eq(v, o));
    case TKI_OP_IN: return v && value_in(v, o, nopnd);
    case TKI_OP_NOT_IN: return !(v && value_in(v, o, nopnd));
    case TKI_OP_LT: return num && v->num < o->num;
    case TKI_OP_LE: return num && v->num <= o->num;
    case TKI_OP_GT: return num && v->num > o->num;
    case TKI_OP_GE: return num && v->num >= o->num;
    case TKI_OP_EXISTS: return (v != NULL) == (o->b != 0);
    case TKI_OP_PRESENT: return v != NULL;
    case TKI_OP_CONTAINS:
      if (!v) return 0;
      if (v->type == TKI_V_LIST) return value_in(v, o, 1);
      return v->type == TKI_V_STRING && has_substring(&v->str, &o->str);
    case TKI_OP_PREFIX: return v && string_test(v, &o->str, has_prefix);
    default: return 0;
  }
}

static const tki_tval *lookup(const tkn_router *r, const tkn_task *t, uint32_t attr) {
  if (!t) return NULL;
  const tki_rstr *a = &r->attrs[attr];
  for (size_t i = 0; i < t->n; i++)
    if (str_eq(&t->attrs[i].name, a)) return &t->attrs[i];
  return NULL;
}

/* slot[id] = the task's value of interned attribute id, or NULL: one probe
 * of the router's attribute table per task attribute. */
static inline void bind(const tkn_router *r, const tkn_task *t, const tki_tval **slot) {
  for (size_t i = 0; i < r->n_attrs; i++) slot[i] = NULL;
  if (!t) return;
  for (size_t i = 0; i < t->n; i++) {
    const tki_tval *v = &t->attrs[i];
    size_t k = v->name.hash & r->attr_mask;
    uint16_t id;
    while ((id = r->attr_table[k]) != 0) {
      if (str_eq(&r->attrs[id - 1], &v->name)) {
        slot[id - 1] = v;
        break;
      }
      k = (k + 1) & r->attr_mask;
    }
  }
}

int32_t tki_router_match(const tkn_router *r, const tkn_task *t) {
  const tki_tval *slot[TKI_R_MAX_ATTRS];
  bind(r, t, slot);
  const tki_insn *code = r->code;
  const tki_operand *opnds = r->opnds;
  uint32_t pc = r->entry;
  while (!(pc & TKI_PC_MATCH)) {
    const tki_insn *in = &code[pc];
    const tki_tval *v = slot[in->attr];
    int ok;
    switch (in->code) {
      case TKI_OP_EQ_STR:
        ok = v && v->type == TKI_V_STRING && v->str.hash == in->u.hash &&
             v->str.len == in->len && bytes_eq(v->str.s, in->s, in->len);
        break;
      case TKI_OP_EQ_NUM: ok = v && v->type == TKI_V_NUMBER && v->num == in->u.num; break;
      case TKI_OP_EQ_BOOL: ok = v && v->type == TKI_V_BOOL && (uint32_t)v->b == in->len; break;
      case TKI_OP_LT: ok = v && v->type == TKI_V_NUMBER && v->num < in->u.num; break;
      case TKI_OP_LE: ok = v && v->type == TKI_V_NUMBER && v->num <= in->u.num; break;
      case TKI_OP_GT: ok = v && v->type == TKI_V_NUMBER && v->num > in->u.num; break;
      case TKI_OP_GE: ok = v && v->type == TKI_V_NUMBER && v->num >= in->u.num; break;
      case TKI_OP_PRESENT: ok = v != NULL; break;
      case TKI_OP_IN_STR:
        if (v && v->type == TKI_V_STRING) {
          const tki_operand *o = opnds + in->a;
          ok = 0;
          for (uint32_t k = 0; k < in->n && !ok; k++) ok = str_eq(&v->str, &o[k].str);
        } else {
          ok = v && v->type == TKI_V_LIST && value_in(v, opnds + in->a, in->n);
        }
        break;
      case TKI_OP_PREFIX_STR:
        if (v && v->type == TKI_V_STRING)
          ok = v->str.len >= in->len && bytes_eq(v->str.s, in->s, in->len);
        else
          ok = v && v->type == TKI_V_LIST && string_test(v, &opnds[in->a].str, has_prefix);
        break;
      case TKI_OP_CONTAINS_STR:
        ok = 0;
        if (v && v->type == TKI_V_LIST) {
          for (size_t k = 0; k < v->n && !ok; k++)
            ok = v->items[k].hash == in->u.hash && v->items[k].len == in->len &&
                 bytes_eq(v->items[k].s, in->s, in->len);
        } else if (v && v->type == TKI_V_STRING) {
          ok = has_substring(&v->str, &opnds[in->a].str);
        }
        break;
      default: ok = leaf_eval(r, in->code, in->a, in->n, v); /* in over mixed types */
    }
    pc = ok ? in->t : in->f;
  }
  return pc == TKI_PC_NONE ? -1 : (int32_t)(pc & ~TKI_PC_MATCH);
}

/* ---- explain ---- */

void tki_buf_double(tki_buf *b, double v) {
  if (!isfinite(v)) {
    tki_buf_puts(b, "null");
    return;
  }
  char s[40];
  snprintf(s, sizeof s, "%.15g", v);
  if (strtod(s, NULL) != v) snprintf(s, sizeof s, "%.17g", v);
  tki_buf_puts(b, s);
}

static int node_eval(const tkn_router *r, const tkn_task *t, uint32_t id) {
  const tki_node *n = &r->nodes[id];
  switch (n->kind) {
    case TKI_N_LEAF: return leaf_eval(r, n->op, n->opnd, n->nopnd, lookup(r, t, n->attr));
    case TKI_N_NOT: return !node_eval(r, t, r->children[n->first]);
    case TKI_N_ALL:
      for (uint32_t i = 0; i < n->count; i++)
        if (!node_eval(r, t, r->children[n->first + i])) return 0;
      return 1;
    default: /* any */
      for (uint32_t i = 0; i < n->count; i++)
        if (node_eval(r, t, r->children[n->first + i])) return 1;
      return 0;
  }
}

static void put_operand(tki_buf *b, const tki_operand *o) {
  if (o->kind == TKI_V_STRING) tki_buf_json_string(b, o->str.s, o->str.len);
  else if (o->kind == TKI_V_NUMBER) tki_buf_double(b, o->num);
  else tki_buf_puts(b, o->b ? "true" : "false");
}

static void put_value(tki_buf *b, const tki_tval *v) {
  switch (v ? v->type : 0) {
    case TKI_V_STRING: tki_buf_json_string(b, v->str.s, v->str.len); break;
    case TKI_V_NUMBER: tki_buf_double(b, v->num); break;
    case TKI_V_BOOL: tki_buf_puts(b, v->b ? "true" : "false"); break;
    case TKI_V_LIST:
      tki_buf_putc(b, '[');
      for (size_t i = 0; i < v->n; i++) {
        if (i) tki_buf_putc(b, ',');
        tki_buf_json_string(b, v->items[i].s, v->items[i].len);
      }
      tki_buf_putc(b, ']');
      break;
    default: tki_buf_puts(b, "null");
  }
}

static const char *failed_phrase(int op) {
  switch (op) {
    case TKI_OP_EQ: return "is not equal to";
    case TKI_OP_NE: return "is equal to";
    case TKI_OP_IN: return "is not in";
    case TKI_OP_NOT_IN: return "is in";
    case TKI_OP_LT: return "is not <";
    case TKI_OP_LE: return "is not <=";
    case TKI_OP_GT: return "is not >";
    case TKI_OP_GE: return "is not >=";
    case TKI_OP_CONTAINS: return "does not contain";
    default: return "does not start with";
  }
}

/* The "why" of a false leaf, as a JSON string. */
static void put_why(tki_buf *b, const tkn_router *r, const tki_node *n, const tki_tval *v) {
  tki_buf w;
  tki_buf_init(&w);
  const tki_rstr *a = &r->attrs[n->attr];
  int numeric = n->op >= TKI_OP_LT && n->op <= TKI_OP_GE;
  if (n->op == TKI_OP_EXISTS) {
    tki_buf_printf(&w, "attribute '%s' is %s", a->s, v ? "present" : "missing");
  } else if (!v) {
    tki_buf_printf(&w, "attribute '%s' is missing", a->s);
  } else if (numeric && v->type != TKI_V_NUMBER) {
    put_value(&w, v);
    tki_buf_puts(&w, " is not a number");
  } else if ((n->op == TKI_OP_CONTAINS || n->op == TKI_OP_PREFIX) && v->type != TKI_V_STRING &&
             v->type != TKI_V_LIST) {
    put_value(&w, v);
    tki_buf_puts(&w, " is neither a string nor a list");
  } else {
    put_value(&w, v);
    tki_buf_printf(&w, " %s ", failed_phrase(n->op));
    if (n->op == TKI_OP_IN || n->op == TKI_OP_NOT_IN) tki_buf_putc(&w, '[');
    for (uint32_t i = 0; i < n->nopnd; i++) {
      if (i) tki_buf_putc(&w, ',');
      put_operand(&w, &r->opnds[n->opnd + i]);
    }
    if (n->op == TKI_OP_IN || n->op == TKI_OP_NOT_IN) tki_buf_putc(&w, ']');
  }
  if (w.failed) b->failed = 1;
  tki_buf_json_string(b, w.data ? w.data : "", w.len);
  tki_buf_free(&w);
}

/* Append the reasons a false node is false. */
static void node_reasons(tki_buf *b, const tkn_router *r, const tkn_task *t, uint32_t id,
                         int *first) {
  const tki_node *n = &r->nodes[id];
  if (n->kind == TKI_N_ALL || n->kind == TKI_N_ANY) {
    for (uint32_t i = 0; i < n->count; i++) {
      uint32_t ch = r->children[n->first + i];
      if (!node_eval(r, t, ch)) node_reasons(b, r, t, ch, first);
    }
    if (n->count == 0) { /* any of nothing */
      tki_buf_puts(b, *first ? "" : ",");
      *first = 0;
      tki_buf_puts(b, "{\"path\":");
      tki_buf_json_string(b, n->path, strlen(n->path));
      tki_buf_puts(b, ",\"op\":\"any\",\"why\":\"no alternative\"}");
    }
    return;
  }
  tki_buf_puts(b, *first ? "" : ",");
  *first = 0;
  tki_buf_puts(b, "{\"path\":");
  tki_buf_json_string(b, n->path, strlen(n->path));
  if (n->kind == TKI_N_NOT) {
    tki_buf_puts(b, ",\"op\":\"not\",\"why\":\"the negated condition holds\"}");
    return;
  }
  const tki_tval *v = lookup(r, t, n->attr);
  const tki_rstr *a = &r->attrs[n->attr];
  tki_buf_puts(b, ",\"attr\":");
  tki_buf_json_string(b, a->s, a->len);
  tki_buf_printf(b, ",\"op\":\"%s\",\"expected\":", tki_op_name(n->op));
  if (n->op == TKI_OP_IN || n->op == TKI_OP_NOT_IN) tki_buf_putc(b, '[');
  for (uint32_t i = 0; i < n->nopnd; i++) {
    if (i) tki_buf_putc(b, ',');
    put_operand(b, &r->opnds[n->opnd + i]);
  }
  if (n->op == TKI_OP_IN || n->op == TKI_OP_NOT_IN) tki_buf_putc(b, ']');
  tki_buf_puts(b, ",\"actual\":");
  put_value(b, v);
  tki_buf_puts(b, ",\"why\":");
  put_why(b, r, n, v);
  tki_buf_putc(b, '}');
}

int tkn_router_explain(const tkn_router *r, const tkn_task *t, char **out, size_t *out_len) {
  if (!r || !out) return tki_fail_null("tkn_router_explain", !r ? "router" : "out");
  *out = NULL;
  if (out_len) *out_len = 0;
  tkn_router_decision d = TKN_ROUTER_DECISION_INIT;
  int drc = tkn_router_decide(r, t, &d);
  int32_t match = tki_router_match(r, t);
  tki_buf b;
  tki_buf_init(&b);
  tki_buf_printf(&b, "{\"rule\":%d,\"tier\":", (int)match);
  int32_t rt = match >= 0 ? r->rules[match].tier : r->default_tier;
  tki_buf_json_string(&b, r->tiers[rt].name.s, r->tiers[rt].name.len);
  tki_buf_puts(&b, ",\"model\":");
  if (drc == TKN_OK) {
    tki_buf_json_string(&b, d.model, strlen(d.model));
    if (d.tier != rt) {
      tki_buf_puts(&b, ",\"failover_tier\":");
      tki_buf_json_string(&b, d.tier_name, strlen(d.tier_name));
    }
  } else {
    tki_buf_puts(&b, "null,\"error\":\"every model from the tier up is cooling down\"");
  }
  tki_buf_puts(&b, ",\"rules\":[");
  for (size_t i = 0; i < r->n_rules; i++) {
    const tki_rule *ru = &r->rules[i];
    int m = ru->node_root == UINT32_MAX || node_eval(r, t, ru->node_root);
    tki_buf_printf(&b, "%s{\"index\":%zu,\"tier\":", i ? "," : "", i);
    tki_buf_json_string(&b, r->tiers[ru->tier].name.s, r->tiers[ru->tier].name.len);
    tki_buf_printf(&b, ",\"matched\":%s", m ? "true" : "false");
    if (m && (int32_t)i == match) tki_buf_puts(&b, ",\"chosen\":true");
    if (!m) {
      int first = 1;
      tki_buf_puts(&b, ",\"failed\":[");
      node_reasons(&b, r, t, ru->node_root, &first);
      tki_buf_putc(&b, ']');
    }
    tki_buf_putc(&b, '}');
  }
  tki_buf_puts(&b, "]}");
  return tki_buf_give(&b, out, out_len, "tkn_router_explain");
}
