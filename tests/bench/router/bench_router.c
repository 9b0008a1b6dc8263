/* Benchmark: one routing decision over 32 rules (issue 5 target: under
 * 200 ns), through the public API of the shared library.  Side by side: the
 * same rules evaluated by walking the parsed config JSON for every decision
 * (what a host without a compiled form does), and the ratio.
 *
 * Rerun: meson test -C build --benchmark --suite bench -v router
 *    or: build/tests/bench/router/bench_router [iterations] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <tokenomy.h>

/* The status of a call, its tkn_error_last() message copied into buf. */
static inline int keep_err(int rc, char *buf, size_t len) {
  if (buf && len) snprintf(buf, len, "%s", rc ? tkn_error_last()->message : "");
  return rc;
}

#define N_RULES 32

/* CPU time of this thread: on a shared machine, time spent descheduled is
 * not the router's. */
static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* 31 rules that do not match the task (each fails on its last test, so
 * every leaf is evaluated), then one that does. */
static char *make_config(void) {
  size_t cap = 1 << 16, len = 0;
  char *s = malloc(cap);
  len += (size_t)snprintf(s + len, cap - len,
                          "{\"tiers\":[{\"name\":\"small\",\"models\":[\"mini\",\"haiku\"]},"
                          "{\"name\":\"medium\",\"models\":[\"4o\"]},{\"name\":\"large\","
                          "\"models\":[\"o3\"]}],\"default_tier\":\"medium\",\"rules\":[");
  for (int i = 0; i < N_RULES - 1; i++) {
    const char *tier = i % 3 == 0 ? "small" : i % 3 == 1 ? "medium" : "large";
    switch (i % 4) {
      case 0:
        len += (size_t)snprintf(s + len, cap - len,
                                "{\"when\":{\"all\":[{\"attr\":\"input_tokens\",\"lt\":%d},"
                                "{\"attr\":\"kind\",\"eq\":\"kind%d\"}]},\"tier\":\"%s\"},",
                                100000 + i, i, tier);
        break;
      case 1:
        len += (size_t)snprintf(s + len, cap - len,
                                "{\"when\":{\"any\":[{\"attr\":\"tags\",\"contains\":\"tag%d\"},"
                                "{\"attr\":\"customer\",\"prefix\":\"cust%d:\"}]},\"tier\":\"%s\"},",
                                i, i, tier);
        break;
      case 2:
        len += (size_t)snprintf(s + len, cap - len,
                                "{\"when\":{\"attr\":\"lang\",\"in\":[\"l%da\",\"l%db\",\"l%dc\"]},"
                                "\"tier\":\"%s\"},",
                                i, i, i, tier);
        break;
      default:
        len += (size_t)snprintf(s + len, cap - len,
                                "{\"when\":{\"all\":[{\"attr\":\"region\",\"ne\":\"us\"},"
                                "{\"not\":{\"attr\":\"tools\",\"eq\":false}}]},\"tier\":\"%s\"},",
                                tier);
    }
  }
  len += (size_t)snprintf(s + len, cap - len,
                          "{\"when\":{\"all\":[{\"attr\":\"kind\",\"eq\":\"chat\"},"
                          "{\"attr\":\"priority\",\"ge\":2},{\"not\":{\"attr\":\"tools\","
                          "\"eq\":true}}]},\"tier\":\"large\",\"reason\":\"last rule\"}]}");
  return s;
}

/* Matches rule 0: the best case, one rule evaluated. */
static const char *TASK0 = "{\"kind\":\"kind0\",\"input_tokens\":10}";

static const char *TASK =
    "{\"kind\":\"chat\",\"input_tokens\":5000,\"tags\":[\"a\",\"b\",\"c\"],"
    "\"customer\":\"acme:1\",\"lang\":\"en\",\"priority\":3,\"tools\":false,\"region\":\"eu\"}";

/* ---- the side-by-side: walk the JSON config for each decision ---- */

static int json_eq(const cJSON *a, const cJSON *b) {
  if (cJSON_IsString(a) && cJSON_IsString(b)) return strcmp(a->valuestring, b->valuestring) == 0;
  if (cJSON_IsNumber(a) && cJSON_IsNumber(b)) return a->valuedouble == b->valuedouble;
  if (cJSON_IsBool(a) && cJSON_IsBool(b)) return cJSON_IsTrue(a) == cJSON_IsTrue(b);
  return 0;
}

static int walk(const cJSON *c, const cJSON *task) {
  const cJSON *m = c->child;
  if (!strcmp(m->string, "all") || !strcmp(m->string, "any")) {
    int all = !strcmp(m->string, "all");
    for (const cJSON *e = m->child; e; e = e->next)
      if (walk(e, task) != all) return !all;
    return all;
  }
  if (!strcmp(m->string, "not")) return !walk(m, task);
  const cJSON *attr = cJSON_GetObjectItemCaseSensitive(c, "attr");
  const cJSON *op = attr == m ? m->next : m;
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(task, attr->valuestring);
  const char *o = op->string;
  if (!strcmp(o, "eq")) return v && json_eq(v, op);
  if (!strcmp(o, "ne")) return !(v && json_eq(v, op));
  if (!strcmp(o, "in")) {
    if (!v) return 0;
    for (const cJSON *e = op->child; e; e = e->next)
      if (json_eq(v, e)) return 1;
    return 0;
  }
  if (!strcmp(o, "lt")) return v && cJSON_IsNumber(v) && v->valuedouble < op->valuedouble;
  if (!strcmp(o, "ge")) return v && cJSON_IsNumber(v) && v->valuedouble >= op->valuedouble;
  if (!strcmp(o, "contains")) {
    if (!v) return 0;
    if (cJSON_IsString(v)) return strstr(v->valuestring, op->valuestring) != NULL;
    for (const cJSON *e = v->child; e; e = e->next)
      if (json_eq(e, op)) return 1;
    return 0;
  }
  if (!strcmp(o, "prefix"))
    return v && cJSON_IsString(v) &&
           !strncmp(v->valuestring, op->valuestring, strlen(op->valuestring));
  return 0;
}

static int walk_rules(const cJSON *rules, const cJSON *task) {
  int i = 0;
  for (const cJSON *r = rules->child; r; r = r->next, i++)
    if (walk(cJSON_GetObjectItemCaseSensitive(r, "when"), task)) return i;
  return -1;
}

int main(int argc, char **argv) {
  long iters = argc > 1 ? atol(argv[1]) : 2000000;
  if (iters < 1) iters = 1;
  char *cfg = make_config();
  char err[512];
  tkn_router *r;
  if (keep_err(tkn_router_new_json(&r, cfg, strlen(cfg), NULL), err, sizeof err)) {
    fprintf(stderr, "config: %s\n", err);
    return 1;
  }
  tkn_task *t;
  if (keep_err(tkn_task_from_json(&t, TASK, strlen(TASK)), err, sizeof err)) {
    fprintf(stderr, "task: %s\n", err);
    return 1;
  }
  tkn_task *first;
  if (keep_err(tkn_task_from_json(&first, TASK0, strlen(TASK0)), err, sizeof err)) return 1;
  cJSON *root = cJSON_Parse(cfg), *task = cJSON_Parse(TASK);
  const cJSON *rules = cJSON_GetObjectItemCaseSensitive(root, "rules");

  tkn_router_decision d = TKN_ROUTER_DECISION_INIT;
  tkn_router_decide(r, t, &d);
  int walked = walk_rules(rules, task);
  if (d.rule != N_RULES - 1 || walked != d.rule) {
    fprintf(stderr, "the two evaluators disagree: %d vs %d\n", d.rule, walked);
    return 1;
  }

  double best_c = 1e9, best_w = 1e9, best_0 = 1e9;
  volatile int sink = 0;
  for (int round = 0; round < 5; round++) {
    double t0 = now_s();
    for (long i = 0; i < iters; i++) {
      tkn_router_decide(r, t, &d);
      sink += d.rule;
    }
    double t1 = now_s();
    long witers = iters / 10 + 1;
    for (long i = 0; i < witers; i++) sink += walk_rules(rules, task);
    double t2 = now_s();
    for (long i = 0; i < iters; i++) {
      tkn_router_decide(r, first, &d);
      sink += d.rule;
    }
    double t3 = now_s();
    double c = (t1 - t0) / (double)iters * 1e9, w = (t2 - t1) / (double)witers * 1e9;
    double z = (t3 - t2) / (double)iters * 1e9;
    if (z < best_0) best_0 = z;
    if (c < best_c) best_c = c;
    if (w < best_w) best_w = w;
  }
  (void)sink;

  printf("router: one decision over %d rules (the match is the last rule, so all 32 are\n"
         "evaluated: 8 task attributes, 57 leaf tests of eq/ne/in/lt/ge/contains/prefix\n"
         "under all/any/not), best of 5 rounds of %ld decisions, thread CPU time\n",
         N_RULES, iters);
  printf("  task:   %s\n", TASK);
  printf("  config: %zu bytes, generated in tests/bench/router/bench_router.c\n", strlen(cfg));
  printf("\n  %-44s %12s\n", "evaluator", "ns/decision");
  printf("  %-44s %12.1f\n", "tokenomy tkn_router_decide (compiled)", best_c);
  printf("  %-44s %12.1f\n", "walking the config JSON per decision", best_w);
  printf("  %-44s %12.1fx\n", "speed-up (walk / compiled)", best_w / best_c);
  printf("  %-44s %12.2f  (%s)\n", "compiled vs the 200 ns target", best_c / 200.0,
         best_c < 200.0 ? "under target" : "OVER target");
  printf("  %-44s %12.1f\n", "best case: rule 0 matches (task below)", best_0);
  printf("  task:   %s\n", TASK0);
  printf("\nrerun: meson test -C build --benchmark --suite bench -v router\n"
         "   or: build/tests/bench/router/bench_router [iterations]\n");
  cJSON_Delete(root);
  cJSON_Delete(task);
  tkn_task_free(t);
  tkn_task_free(first);
  tkn_router_free(r);
  free(cfg);
  return 0;
}
