/* libFuzzer harness: the router config and JSON tasks.  The input is a
 * config, a "\n--\n" line, and a task.  Invariants: failures say why in one
 * line and return no object; a compiled router decides every task on a tier
 * it has, deterministically, and tkn_router_explain (which walks the
 * condition tree instead of the compiled program) picks the same rule. */
#include "fuzz_util.h"

#include "internal.h"
#include "tokenomy/router.h"

static int64_t fixed_clock(void *user) {
  (void)user;
  return 1000;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *cfg, *task_text;
  size_t cfg_len, task_len;
  fz_split(data, size, &cfg, &cfg_len, &task_text, &task_len);

  tkn_router_options ro = TKN_ROUTER_OPTIONS_INIT;
  ro.now_ms = fixed_clock;
  tkn_router *r = (tkn_router *)&ro;
  char err[512];
  int rc = fz_keep_err(tkn_router_new_json(&r, cfg, cfg_len, &ro), err, sizeof err);
  if (rc != TKN_OK) {
    FZ_CHECK(r == NULL);
    fz_one_line(err);
  }
  tkn_task *t = (tkn_task *)&ro;
  char terr[512];
  int trc = fz_keep_err(tkn_task_from_json(&t, task_text, task_len), terr, sizeof terr);
  if (trc != TKN_OK) {
    FZ_CHECK(t == NULL);
    fz_one_line(terr);
  }
  if (rc != TKN_OK || trc != TKN_OK) {
    tkn_router_free(r);
    tkn_task_free(t);
    return 0;
  }

  size_t tiers = tkn_router_tier_count(r);
  FZ_CHECK(tiers >= 1);
  tkn_router_decision d = TKN_ROUTER_DECISION_INIT, d2 = TKN_ROUTER_DECISION_INIT;
  rc = tkn_router_decide(r, t, &d);
  FZ_CHECK(rc == TKN_OK);
  FZ_CHECK(d.rule >= -1 && d.rule < (int32_t)tkn_router_rule_count(r));
  FZ_CHECK(d.tier >= 0 && (size_t)d.tier < tiers && d.tier >= d.rule_tier);
  FZ_CHECK(d.tier_name && strcmp(d.tier_name, tkn_router_tier_name(r, (size_t)d.tier)) == 0);
  FZ_CHECK(d.model && d.reason);
  FZ_CHECK(tkn_router_decide(r, t, &d2) == TKN_OK);
  FZ_CHECK(d2.rule == d.rule && d2.tier == d.tier && d2.shadow == d.shadow);

  char *ex = NULL;
  size_t ex_len = 0;
  rc = tkn_router_explain(r, t, &ex, &ex_len);
  FZ_CHECK(rc == TKN_OK || rc == TKN_ERR_NOMEM);
  if (rc == TKN_OK) {
    cJSON *j = NULL;
    char jerr[TKI_ERRLEN];
    FZ_CHECK(tki_json_parse(ex, ex_len, (size_t)1 << 30, 1000, "explain", &j, jerr) == TKN_OK);
    const cJSON *rule = cJSON_GetObjectItemCaseSensitive(j, "rule");
    FZ_CHECK(cJSON_IsNumber(rule));
    if ((int32_t)rule->valuedouble != d.rule) {
      fprintf(stderr, "decide chose rule %d, explain %d\n", (int)d.rule, (int)rule->valuedouble);
      abort();
    }
    cJSON_Delete(j);
    tkn_free(ex);
  }
  tkn_router_free(r);
  tkn_task_free(t);
  return 0;
}
