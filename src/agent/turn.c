/* One agent turn, as ARCHITECTURE.md draws it: budget, route, assemble, call,
 * validate / retry / escalate, cascade, meter, commit.  Every decision is
 * written to the trace as it is taken. */
#include <stdio.h>
#include <string.h>

#include "../conv/conv_swap.h"
#include "agent_internal.h"

/* How a turn ends; the host sees the names (agent.h lists them). */
typedef enum finish_reason {
  FIN_STOP,
  FIN_LENGTH,
  FIN_TOOL_CALLS,
  FIN_BUDGET_EXCEEDED,
  FIN_VALIDATION_FAILED,
  FIN_ERROR,
} finish_reason;
static const char *const finish_names[] = {"stop", "length", "tool_calls", "budget_exceeded",
                                           "validation_failed", "error"};

/* What the pruning did to the work copy, to be applied to the caller's conversation. */
typedef struct prune_plan {
  uint8_t *keep;        /* per original message */
  size_t n;
  int summary;          /* a summary message was inserted */
  size_t summary_index; /* in the pruned conversation */
  int32_t summary_role;
  uint8_t *cleared;     /* per original message: its content was cleared (mask / clear /
                           policy), NULL if none was */
} prune_plan;

typedef struct turn {
  tkn_agent *a;
  const tkn_agent_turn_options *opts;
  tkn_conv *conv;             /* the caller's conversation: changed only by the apply phase */
  tkn_agent_result *res;      /* what the turn returns */
  tkn_conv *work;             /* the history as sent (pruned, re-asks appended) */
  tki_buf trace;              /* the "steps" array being written */
  int nsteps;
  tkn_agent_stats st;
  tkn_llm_response *resp;
  tki_lstr summary;           /* the text of the last summary written */
  int32_t tier;               /* current tier (-1 without a router) */
  const char *model;
  const char *tier_name;
  const char *reason;
  uint32_t attempt;
  int64_t brief_words;        /* > 0: the budget halved the cap; ask for this many words at most */
  int failed;                 /* a library failure: the status to return */
  int64_t cap;                /* the output cap of the turn's calls */
  int closed;                 /* the budget stopped the turn: a hand-over, no (more) calls */
  int unrouted;               /* no model available: finish "error" */
  finish_reason finish;
  prune_plan plan;
  tkn_prune_ledger ledger;    /* the policy's ledger during the turn (kept if it succeeds) */
  int ledger_used;
  tkn_router_decision decision;
  tkn_router_cascade *cascade; /* escalation by confidence, when the rule allows it */
  tkn_schema_result *sres;    /* the last validation's errors (the re-ask) */
  int32_t base_tier;          /* the tier the call loop started on */
  uint32_t failures;          /* invalid answers (the schema retry plan) */
  uint32_t host_fails;        /* failed calls on the current model */
  uint32_t purpose;           /* of the next call (TKN_LLM_PURPOSE_*) */
  uint32_t *tools;            /* the catalogue tools selected (agent.o.toolsel) */
  size_t n_tools;
  int tools_chosen;           /* the selection was made: the calls carry it */
} turn;

/* ---- trace helpers ---- */

static void step_begin(turn *t, const char *name) {
  tki_buf_puts(&t->trace, t->nsteps++ ? ",{\"step\":" : "{\"step\":");
  tki_buf_json_string(&t->trace, name, strlen(name));
}
static void kv_str(turn *t, const char *k, const char *v, size_t len) {
  tki_buf_printf(&t->trace, ",\"%s\":", k);
  if (v)
    tki_buf_json_string(&t->trace, v, len);
  else
    tki_buf_puts(&t->trace, "null");
}
static void kv_cstr(turn *t, const char *k, const char *v) {
  kv_str(t, k, v, v ? strlen(v) : 0);
}
static void kv_int(turn *t, const char *k, int64_t v) {
  tki_buf_printf(&t->trace, ",\"%s\":%lld", k, (long long)v);
}
static void kv_num(turn *t, const char *k, double v) {
  tki_buf_printf(&t->trace, ",\"%s\":%.4f", k, v);
}
static void kv_usd(turn *t, const char *k, int64_t units) {
  char usd[TKN_USD_BUFLEN];
  if (tkn_usd_format(units, usd, sizeof usd, NULL) != TKN_OK) usd[0] = '\0';
  kv_cstr(t, k, usd);
}
static void step_end(turn *t) {
  tki_buf_putc(&t->trace, '}');
}

static int lib_fail(turn *t, int rc, const char *what, const char *detail) {
  if (!t->failed) {
    t->failed = rc;
    if (!detail) detail = tki_error_status() == rc ? tki_error_message() : tkn_strerror(rc);
    tki_fail(rc, "%s: %s", what, detail);
  }
  return rc;
}

/* ---- small pieces ---- */

static const char *level_name(int32_t level) {
  return level == TKN_BUDGET_HARD ? "hard" : level == TKN_BUDGET_SOFT ? "soft" : "ok";
}

/* The model of tier `tier` (the first not cooling down, from that tier up). */
static int model_of_tier(const tkn_router *r, int32_t tier, int32_t *got_tier, const char **model) {
  if (tier < 0) return TKN_ERR_INVALID;
  return tkn_router_tier_model(r, (size_t)tier, got_tier, model);
}

static int64_t count_text(turn *t, const char *model, const char *s, size_t len) {
  int64_t n = 0;
  const tkn_llm_callbacks *cb = &t->a->o.llm;
  if (cb->count_tokens && model &&
      cb->count_tokens(model, strlen(model), s, len, &n, cb->user) == 0 && n >= 0)
    return n;
  if (tkn_tokenizer_count(t->a->tok, s, len, &n) != TKN_OK) n = (int64_t)(len / 4);
  return n;
}

/* What a call could cost: input at the input price, the cap at the output price. */
static int64_t estimate_money(turn *t, const char *model, int64_t input, int64_t cap) {
  tkn_model_price p = TKN_MODEL_PRICE_INIT;
  if (tkn_prices_lookup(t->a->prices, model, strlen(model), &p) != TKN_OK) return 0;
  tkn_usage u = TKN_USAGE_INIT;
  tkn_cost c = TKN_COST_INIT;
  u.input_tokens = input > 0 ? input : 0;
  u.output_tokens = cap > 0 ? cap : 0;
  int rc = tkn_prices_compute(&p, &u, &c);
  if (rc == TKN_ERR_OVERFLOW) return INT64_MAX;
  return rc == TKN_OK ? c.total : 0;
}

/* ---- the model call ---- */

/* Counts of one call into the turn's stats: each count is at most 2^53
 * (tkn_usage_check), the sums saturate rather than wrap. */
static void sat_add(int64_t *acc, int64_t v) {
  if (tki_add_i64(*acc, v, acc)) *acc = INT64_MAX;
}

static void add_usage(turn *t, const tkn_usage *u, int64_t cost) {
  sat_add(&t->st.input_tokens, u->input_tokens);
  sat_add(&t->st.cached_tokens, u->cache_read_tokens);
  sat_add(&t->st.cache_write_tokens, u->cache_write_5m_tokens);
  sat_add(&t->st.cache_write_tokens, u->cache_write_1h_tokens);
  sat_add(&t->st.output_tokens, u->output_tokens);
  sat_add(&t->st.cost, cost);
}

typedef struct call_out {
  int ok;            /* the host answered */
  int32_t fail;      /* error class when !ok */
  tkn_usage usage;
  int64_t cost;
  int refused;       /* the budget refused the reservation */
} call_out;

/* The prompt of one call over `history`: the agent's pieces, the history,
 * the turn's dynamic tail and the economy note (a summary request carries
 * only what it summarises, not the agent's prefix). */
static int build_prompt(turn *t, tkn_conv *history, uint32_t purpose, tkn_prompt **p) {
  tkn_agent *a = t->a;
  int own = purpose != TKN_LLM_PURPOSE_SUMMARY;
  tkn_prompt_builder *b = NULL;
  int rc = tkn_prompt_builder_new(&b, NULL);
  if (rc) return lib_fail(t, rc, "assemble", NULL);
  size_t n_pieces = own ? a->n_pieces : 0;
  for (size_t i = 0; i < n_pieces && !rc; i++) {
    const tki_piece *pc = &a->pieces[i];
    rc = pc->is_tool ? tkn_prompt_builder_add_tool(b, pc->text, pc->text_len, NULL)
                     : tkn_prompt_builder_add_text(b, pc->kind, pc->stability, pc->name,
                                                   pc->name_len, pc->text, pc->text_len, NULL);
  }
  if (!rc && own && t->tools_chosen) rc = tki_agent_tools_add(a, b, t->tools, t->n_tools);
  if (!rc) rc = tkn_prompt_builder_set_history(b, history, TKN_STABILITY_SESSION, NULL);
  if (!rc && own && t->opts->dynamic && t->opts->dynamic_len)
    rc = tkn_prompt_builder_add_text(b, TKN_SEG_DYNAMIC, TKN_STABILITY_VOLATILE, "tail", 4,
                                     t->opts->dynamic, t->opts->dynamic_len, NULL);
  if (!rc && own && t->brief_words > 0) {
    /* the cap was halved: say so, so the answer is short rather than cut off
     * (dynamic, at the end: the cached prefix is not touched) */
    char brief[96];
    int bl = snprintf(brief, sizeof brief, "Answer in at most %lld words: the budget is low.",
                      (long long)t->brief_words);
    rc = tkn_prompt_builder_add_text(b, TKN_SEG_DYNAMIC, TKN_STABILITY_VOLATILE, "economy", 7,
                                     brief, (size_t)bl, NULL);
  }
  if (!rc) rc = tkn_prompt_assemble(p, b, a->tok);
  tkn_prompt_builder_free(b);
  if (rc) return lib_fail(t, rc, "assemble", tki_error_message());
  return TKN_OK;
}

/* The request body of one call: the prompt assembled and rendered for the
 * provider (the "assemble" step); *in_tokens is the prompt's size. */
static int render_request(turn *t, tkn_conv *history, const char *model, int64_t cap,
                          uint32_t purpose, char **body, size_t *body_len, int64_t *in_tokens) {
  tkn_prompt *p = NULL;
  int rc = build_prompt(t, history, purpose, &p);
  if (rc) return rc;
  tkn_render_options ro = TKN_RENDER_OPTIONS_INIT;
  ro.provider = t->a->o.provider;
  ro.model = model;
  ro.model_len = strlen(model);
  ro.max_tokens = cap;
  if (purpose != TKN_LLM_PURPOSE_SUMMARY && t->opts->cache_key) {
    ro.cache_key = t->opts->cache_key;
    ro.cache_key_len = t->opts->cache_key_len;
  }
  rc = tkn_prompt_render(p, &ro, body, body_len);
  if (rc) {
    tkn_prompt_free(p);
    return lib_fail(t, rc, "render", tki_error_message());
  }
  *in_tokens = tkn_prompt_tokens(p);
  step_begin(t, "assemble");
  kv_int(t, "tokens", *in_tokens);
  kv_int(t, "blocks", (int64_t)tkn_prompt_block_count(p));
  kv_int(t, "lint_findings", (int64_t)tkn_prompt_finding_count(p));
  tki_buf_printf(&t->trace, ",\"prefix_version\":\"%016llx\",\"fingerprint\":\"%016llx\"",
                 (unsigned long long)tkn_prompt_version(p),
                 (unsigned long long)tkn_prompt_fingerprint(p));
  step_end(t);
  tkn_prompt_free(p);
  return TKN_OK;
}

/* Structured output: ask OpenAI for it natively (the schema also goes to
 * the host in the request, for other providers). */
static int add_response_format(turn *t, char **body, size_t *body_len, const char *schema_json,
                               size_t schema_len) {
  if (!schema_json || t->a->o.provider != TKN_PROVIDER_OPENAI || !*body_len ||
      (*body)[*body_len - 1] != '}')
    return TKN_OK;
  tki_buf nb;
  tki_buf_init(&nb);
  tki_buf_append(&nb, *body, *body_len - 1);
  tki_buf_puts(&nb, ",\"response_format\":{\"type\":\"json_schema\",\"json_schema\":"
                    "{\"name\":\"answer\",\"schema\":");
  tki_buf_append(&nb, schema_json, schema_len);
  tki_buf_puts(&nb, "}}}");
  size_t nl = 0;
  char *n = tki_buf_steal(&nb, &nl);
  tki_free(*body);
  *body = n;
  *body_len = nl;
  if (!n) return lib_fail(t, TKN_ERR_NOMEM, "render", "out of memory");
  return TKN_OK;
}

/* Budget: reserve what the call could use.  A refusal is a "budget_refused"
 * step and co->refused, not a failure. */
static int reserve_call(turn *t, const char *model, int64_t in_tokens, int64_t cap,
                        tkn_budget_reservation **res, call_out *co) {
  tkn_agent *a = t->a;
  if (!a->o.budget) return TKN_OK;
  tkn_budget_amount amt = TKN_BUDGET_AMOUNT_INIT;
  amt.input_tokens = in_tokens;
  amt.output_tokens = cap;
  amt.money = estimate_money(t, model, in_tokens, cap);
  int rc = tkn_budget_reserve(a->o.budget, &amt, res);
  if (rc == TKN_ERR_BUDGET) {
    char bw[TKI_ERRLEN];
    snprintf(bw, sizeof bw, "%s", tki_error_message());
    step_begin(t, "budget_refused");
    kv_int(t, "input_tokens", in_tokens);
    kv_int(t, "output_cap", cap);
    kv_cstr(t, "why", bw);
    step_end(t);
    co->refused = 1;
    return TKN_OK;
  }
  if (rc) return lib_fail(t, rc, "budget reserve", tki_error_message());
  return TKN_OK;
}

/* Call the host's complete() with the request for `body`. */
static int call_host(turn *t, const char *model, const char *tier_name, int64_t cap,
                     uint32_t purpose, const char *body, size_t body_len, int64_t in_tokens) {
  tkn_agent *a = t->a;
  tkn_llm_request rq;
  memset(&rq, 0, sizeof rq);
  rq.version = TKN_LLM_REQUEST_VERSION;
  rq.provider = a->o.provider;
  rq.model = model;
  rq.model_len = strlen(model);
  rq.body = body;
  rq.body_len = body_len;
  rq.max_output_tokens = cap;
  rq.response_schema = purpose == TKN_LLM_PURPOSE_SUMMARY ? NULL : t->opts->schema_json;
  rq.response_schema_len = rq.response_schema ? t->opts->schema_json_len : 0;
  rq.workflow = a->workflow.len ? a->workflow.s : NULL;
  rq.workflow_len = a->workflow.len;
  rq.tenant = a->tenant.len ? a->tenant.s : NULL;
  rq.tenant_len = a->tenant.len;
  rq.task_type = t->opts->task_type;
  rq.task_type_len = t->opts->task_type ? t->opts->task_type_len : 0;
  rq.tier = tier_name;
  rq.tier_len = tier_name ? strlen(tier_name) : 0;
  rq.purpose = purpose;
  rq.attempt = ++t->attempt;
  rq.batch = t->opts->batch ? 1 : 0;
  rq.input_tokens = in_tokens;
  tkn_llm_response_clear(t->resp);
  return a->o.llm.complete(&rq, t->resp, a->o.llm.user);
}

/* The "call" step of the trace. */
static void trace_call(turn *t, const char *model, const char *tier_name, int64_t cap,
                       uint32_t purpose, const call_out *co, int reported, int crc,
                       const tkn_model_price *mp) {
  const tkn_usage *u = &co->usage;
  step_begin(t, "call");
  kv_int(t, "attempt", t->attempt);
  kv_cstr(t, "purpose", purpose == TKN_LLM_PURPOSE_TURN      ? "turn"
                        : purpose == TKN_LLM_PURPOSE_RETRY   ? "retry"
                        : purpose == TKN_LLM_PURPOSE_CASCADE ? "cascade"
                                                             : "summary");
  kv_cstr(t, "model", model);
  kv_cstr(t, "tier", tier_name);
  kv_int(t, "output_cap", cap);
  tki_buf_printf(&t->trace, ",\"ok\":%s", co->ok ? "true" : "false");
  if (!co->ok) {
    const char *m = NULL;
    size_t ml = 0;
    tkn_llm_response_error(t->resp, &m, &ml);
    kv_cstr(t, "error_class", tkn_llm_fail_name(co->fail));
    kv_str(t, "error", m, ml);
  }
  tki_buf_printf(&t->trace, ",\"usage_reported\":%s", reported ? "true" : "false");
  kv_int(t, "input_tokens", u->input_tokens);
  kv_int(t, "cached_tokens", u->cache_read_tokens);
  kv_int(t, "cache_write_tokens", u->cache_write_5m_tokens + u->cache_write_1h_tokens);
  kv_int(t, "output_tokens", u->output_tokens);
  tki_buf_printf(&t->trace, ",\"batch\":%s", (u->flags & TKN_USAGE_BATCH) ? "true" : "false");
  kv_usd(t, "cost_usd", co->cost);
  if (!crc) kv_str(t, "priced_as", mp->name, mp->name_len);
  if (crc == TKN_ERR_NOT_FOUND)
    kv_cstr(t, "cost_note", "model not in the price table: cost 0");
  else if (crc == TKN_ERR_UNSUPPORTED)
    kv_cstr(t, "cost_note", "the price table skipped this model when it loaded: cost 0");
  else if (crc)
    kv_cstr(t, "cost_note", tkn_strerror(crc));
  size_t fl = 0;
  const char *fr = tkn_llm_response_finish_reason(t->resp, &fl);
  if (fl) kv_str(t, "provider_finish", fr, fl);
  step_end(t);
}

/* After the host answered (hrc: its status): the call's usage (the host's,
 * else our counts), its cost, the stats and the "call" step.  The price
 * lookup's status is returned (TKN_ERR_OVERFLOW: the cost cannot be stated). */
static int account_call(turn *t, const char *model, const char *tier_name, int64_t cap,
                        uint32_t purpose, int hrc, int64_t in_tokens, call_out *co) {
  t->st.calls++;
  size_t clen = 0;
  const char *content = tkn_llm_response_content(t->resp, &clen);
  co->ok = hrc == 0;
  if (!co->ok) {
    co->fail = tkn_llm_response_error(t->resp, NULL, NULL);
    if (co->fail == TKN_LLM_FAIL_NONE) co->fail = TKN_LLM_FAIL_SERVER;
    t->st.failed_calls++;
  }
  tkn_usage u = TKN_USAGE_INIT;
  int reported = tkn_llm_response_usage(t->resp, &u) == TKN_OK;
  if (!reported && co->ok) {
    /* no usage from the host: our own counts, cache unknown */
    u.input_tokens = in_tokens;
    u.output_tokens = count_text(t, model, content, clen);
    if (t->resp->batched) u.flags |= TKN_USAGE_BATCH;
  }
  co->usage = u;
  tkn_cost cost = TKN_COST_INIT;
  tkn_model_price mp = TKN_MODEL_PRICE_INIT;
  int crc = tkn_prices_lookup(t->a->prices, model, strlen(model), &mp);
  if (crc == TKN_OK) crc = tkn_prices_compute(&mp, &u, &cost);
  co->cost = crc == TKN_OK ? cost.total : 0;
  add_usage(t, &u, co->cost);
  trace_call(t, model, tier_name, cap, purpose, co, reported, crc, &mp);
  return crc;
}

/* Assemble the prompt over `history`, render it, reserve, call, meter and
 * commit.  Library failures set t->failed; the host's failures are in *co.
 * The turn's schema goes with every call but a summary's. */
static int do_call(turn *t, tkn_conv *history, const char *model, const char *tier_name,
                   int64_t cap, uint32_t purpose, call_out *co) {
  memset(co, 0, sizeof *co);
  co->fail = TKN_LLM_FAIL_NONE;
  char *body = NULL;
  size_t body_len = 0;
  int64_t in_tokens = 0;
  const char *schema = purpose == TKN_LLM_PURPOSE_SUMMARY ? NULL : t->opts->schema_json;
  int rc = render_request(t, history, model, cap, purpose, &body, &body_len, &in_tokens);
  if (!rc) rc = add_response_format(t, &body, &body_len, schema, t->opts->schema_json_len);
  tkn_budget_reservation *res = NULL;
  if (!rc) rc = reserve_call(t, model, in_tokens, cap, &res, co);
  if (rc || co->refused) {
    tki_free(body);
    return rc;
  }
  int hrc = call_host(t, model, tier_name, cap, purpose, body, body_len, in_tokens);
  tki_free(body);
  int crc = account_call(t, model, tier_name, cap, purpose, hrc, in_tokens, co);
  if (crc == TKN_ERR_OVERFLOW) {
    /* a cost that cannot be stated is not free: the turn stops here */
    tkn_budget_release(res);
    return lib_fail(t, crc, "cost", "the call's cost does not fit in int64 picodollars");
  }
  if (!res) return TKN_OK;
  /* budget: commit what was really spent */
  tkn_budget_amount act = TKN_BUDGET_AMOUNT_INIT;
  act.input_tokens = co->usage.input_tokens;
  act.output_tokens = co->usage.output_tokens;
  act.money = co->cost;
  rc = tkn_budget_commit(res, &act);
  if (rc) {
    tkn_budget_release(res);
    return lib_fail(t, rc, "budget commit", tki_error_message());
  }
  return TKN_OK;
}

/* Record a call on the meter; validation is TKN_METER_VALIDATION_*. */
static int meter_call(turn *t, const char *model, const char *tier_name, const call_out *co,
                      uint32_t validation) {
  tkn_agent *a = t->a;
  if (!a->o.meter) return TKN_OK;
  tkn_meter_call mc = TKN_METER_CALL_INIT;
  mc.success = co->ok ? 1 : 0;
  mc.validation = validation;
  mc.workflow = a->workflow.s;
  mc.workflow_len = a->workflow.len;
  mc.tenant = a->tenant.s;
  mc.tenant_len = a->tenant.len;
  mc.task_type = t->opts->task_type;
  mc.task_type_len = t->opts->task_type ? t->opts->task_type_len : 0;
  mc.model = model;
  mc.model_len = strlen(model);
  mc.tier = tier_name;
  mc.tier_len = tier_name ? strlen(tier_name) : 0;
  mc.routing_reason = t->reason;
  mc.routing_reason_len = t->reason ? strlen(t->reason) : 0;
  mc.usage = co->usage;
  mc.cost = co->cost;
  int rc = tkn_meter_record(a->o.meter, &mc);
  if (rc) {
    return lib_fail(t, rc, "meter", tki_error_message());
  }
  return TKN_OK;
}

/* ---- summaries ---- */

/* "role: text" lines of the given messages of conv. */
static int transcript(tkn_conv *conv, const size_t *idx, size_t n, tki_buf *out) {
  for (size_t k = 0; k < n; k++) {
    const char *s = NULL;
    size_t len = 0;
    if (tkn_conv_text(conv, idx[k], &s, &len)) continue;
    const char *role = tkn_role_name(tkn_conv_role(conv, idx[k]));
    tki_buf_printf(out, "%s: ", role ? role : "?");
    tki_buf_append(out, s, len);
    tki_buf_putc(out, '\n');
  }
  return out->failed ? TKN_ERR_NOMEM : TKN_OK;
}

/* Without a model: the first line of each message, cut to fit.  Used when
 * the budget forbids any call and the host has no summariser. */
static int extractive(const char *text, size_t len, int64_t max_tokens, tki_buf *out) {
  size_t budget_bytes = max_tokens > 0 ? (size_t)max_tokens * 4 : 256;
  tki_buf_puts(out, "Summary of the conversation so far (extract):\n");
  size_t i = 0;
  while (i < len && out->len < budget_bytes) {
    size_t e = i;
    while (e < len && text[e] != '\n') e++;
    size_t take = e - i;
    if (take > 160) {
      take = 160;
      while (take > 0 && ((unsigned char)text[i + take] & 0xC0) == 0x80) take--;
    }
    tki_buf_puts(out, "- ");
    tki_buf_append(out, text + i, take);
    tki_buf_putc(out, '\n');
    i = e + 1;
  }
  return out->failed ? TKN_ERR_NOMEM : TKN_OK;
}

/* ---- the fact ledger ----
 * Summarisers, small models most of all, drop exact identifiers: an order
 * number, a tracking number, a name.  Those are what later turns ask for, so
 * they are taken out of the summarised text deterministically and the ones
 * the summary left out are appended to it verbatim. */

#define LEDGER_MAX_ITEMS 40

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static int is_upper(unsigned char c) { return c >= 'A' && c <= 'Z'; }
static int is_lower(unsigned char c) { return c >= 'a' && c <= 'z'; }
static int is_tokch(unsigned char c) {
  return is_digit(c) || is_upper(c) || is_lower(c) || c == '-' || c == '_' || c == '.' ||
         c == '/' || c == '@' || c == '#' || c == ':' || c == '+' || c >= 0x80;
}

static int contains(const char *hay, size_t hl, const char *needle, size_t nl) {
  if (!nl) return 1;
  for (size_t i = 0; i + nl <= hl; i++)
    if (hay[i] == needle[0] && !memcmp(hay + i, needle, nl)) return 1;
  return 0;
}

/* Add an item ("\n"-framed in items) unless it is there already. */
static void ledger_add(tki_buf *items, size_t *n, const char *s, size_t len) {
  if (*n >= LEDGER_MAX_ITEMS || len < 3 || len > 64) return;
  char key[70];
  key[0] = '\n';
  memcpy(key + 1, s, len);
  key[len + 1] = '\n';
  if (items->len && contains(items->data, items->len, key, len + 2)) return;
  if (!items->len) tki_buf_putc(items, '\n');
  tki_buf_append(items, s, len);
  tki_buf_putc(items, '\n');
  (*n)++;
}

/* Identifiers (tokens that mix letters and digits: ORD-10442, 1Z84..., KB-0412;
 * e-mail addresses) and names (two or more capitalised words in a row), in
 * order of first appearance.  Dates and times, plain numbers and
 * snake_case keys are left out: they are not what a later turn asks for by
 * name, and they would crowd the ledger. */
static int ledger_items(const char *text, size_t len, tki_buf *items) {
  size_t n = 0, i = 0;
  size_t run_start = 0, run_end = 0, run_words = 0;
  while (i < len && n < LEDGER_MAX_ITEMS) {
    while (i < len && !is_tokch((unsigned char)text[i])) i++;
    size_t b = i;
    while (i < len && is_tokch((unsigned char)text[i])) i++;
    size_t e = i;
    while (e > b && strchr(".:-/_+#", text[e - 1])) e--;
    if (e <= b) continue;
    size_t digits = 0, letters = 0, uppers = 0, under = 0, at = 0, datech = 0;
    for (size_t k = b; k < e; k++) {
      unsigned char c = (unsigned char)text[k];
      digits += is_digit(c);
      letters += is_upper(c) || is_lower(c);
      uppers += is_upper(c);
      under += c == '_';
      at += c == '@';
      datech += is_digit(c) || c == '-' || c == ':' || c == 'T' || c == 'Z' || c == '.' || c == '+';
    }
    size_t len_tok = e - b;
    int word = is_upper((unsigned char)text[b]) && uppers == 1 && letters == len_tok && len_tok >= 2;
    if (word) {
      /* a capitalised word continues the run when only one space separates them */
      if (run_words && run_end + 1 == b && text[run_end] == ' ') {
        run_end = e;
        run_words++;
      } else {
        if (run_words >= 2) ledger_add(items, &n, text + run_start, run_end - run_start);
        run_start = b;
        run_end = e;
        run_words = 1;
      }
      continue;
    }
    if (run_words >= 2) ledger_add(items, &n, text + run_start, run_end - run_start);
    run_words = 0;
    int snake = under && !uppers;
    int date = datech == len_tok && len_tok >= 8 && is_digit((unsigned char)text[b]);
    if ((digits && letters && !snake && !date) || (at && letters && memchr(text + b, '.', len_tok)))
      ledger_add(items, &n, text + b, len_tok);
  }
  if (run_words >= 2) ledger_add(items, &n, text + run_start, run_end - run_start);
  return items->failed ? TKN_ERR_NOMEM : TKN_OK;
}

/* The summarise prompt's list of identifiers to keep ("" if none). */
static void ledger_hint(const tki_buf *items, tki_buf *out) {
  if (!items->len) return;
  tki_buf_puts(out, "Keep these identifiers and names verbatim:");
  const char *p = items->data + 1, *end = items->data + items->len;
  while (p < end) {
    const char *q = memchr(p, '\n', (size_t)(end - p));
    if (!q) break;
    tki_buf_puts(out, " ");
    tki_buf_append(out, p, (size_t)(q - p));
    tki_buf_puts(out, q + 1 < end ? ";" : ".");
    p = q + 1;
  }
  tki_buf_puts(out, "\n");
}

/* Make t->summary fit `room` tokens (room <= 0: no limit) with every ledger
 * item of the source in it: the items the summary lacks are appended as
 * "Kept verbatim: ...", the prose is cut to leave them room (they take at
 * most two thirds of it). */
static int summary_with_ledger(turn *t, const tki_buf *items, int64_t room) {
  tki_buf led;
  tki_buf_init(&led);
  const char *p = items->len ? items->data + 1 : NULL, *end = items->len ? items->data + items->len : NULL;
  int any = 0;
  int64_t appended = 0;
  while (p && p < end) {
    const char *q = memchr(p, '\n', (size_t)(end - p));
    if (!q) break;
    size_t il = (size_t)(q - p);
    if (!contains(t->summary.s, t->summary.len, p, il)) {
      size_t mark = led.len;
      tki_buf_puts(&led, any ? "; " : "Kept verbatim: ");
      tki_buf_append(&led, p, il);
      if (room > 0 && count_text(t, NULL, led.data, led.len) > room * 2 / 3) {
        led.len = mark; /* no room for more */
        break;
      }
      any = 1;
      appended++;
    }
    p = q + 1;
  }
  if (led.failed) {
    tki_buf_free(&led);
    return lib_fail(t, TKN_ERR_NOMEM, "summary", "out of memory");
  }
  int64_t led_tokens = any ? count_text(t, NULL, led.data, led.len) + 2 : 0;
  size_t cut = t->summary.len;
  if (room > 0) {
    int64_t prose_room = room - led_tokens;
    while (cut > 0 && count_text(t, NULL, t->summary.s, cut) > prose_room) {
      cut = cut * 3 / 4;
      while (cut > 0 && ((unsigned char)t->summary.s[cut] & 0xC0) == 0x80) cut--;
    }
  }
  if (!any) {
    t->summary.len = cut;
    t->summary.s[cut] = '\0';
    tki_buf_free(&led);
    return TKN_OK;
  }
  tki_buf full;
  tki_buf_init(&full);
  tki_buf_append(&full, t->summary.s, cut);
  if (cut) tki_buf_puts(&full, "\n");
  tki_buf_append(&full, led.data, led.len);
  tki_buf_puts(&full, ".");
  tki_buf_free(&led);
  size_t fl = 0;
  char *f = tki_buf_steal(&full, &fl);
  if (!f) return lib_fail(t, TKN_ERR_NOMEM, "summary", "out of memory");
  tki_free(t->summary.s);
  t->summary.s = f;
  t->summary.len = fl;
  step_begin(t, "ledger");
  kv_int(t, "identifiers_appended", appended);
  step_end(t);
  return TKN_OK;
}

/* The longest prefix of s (cut at a character) of at most max_tokens tokens
 * (max_tokens <= 0: all of it). */
static size_t cut_to_tokens(turn *t, const char *s, size_t len, int64_t max_tokens) {
  if (max_tokens <= 0) return len;
  /* a token is rarely longer than 64 bytes: no need to count megabytes */
  if ((uint64_t)len / 64 > (uint64_t)max_tokens) len = (size_t)max_tokens * 64;
  while (len > 0 && count_text(t, NULL, s, len) > max_tokens) {
    len = len * 3 / 4;
    while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80) len--;
  }
  return len;
}

/* The host summariser's call is metered and charged like the library's own:
 * its usage (or our counts of what it read and wrote), priced at the agent's
 * model. A charge the budget refuses is noted in the trace (the money is
 * spent already); a cost that overflows fails the turn. */
static int charge_host_summary(turn *t, const char *text, size_t len, const char *sum,
                               size_t sl) {
  tkn_agent *a = t->a;
  call_out co;
  memset(&co, 0, sizeof co);
  co.ok = 1;
  co.fail = TKN_LLM_FAIL_NONE;
  tkn_usage u = TKN_USAGE_INIT;
  if (tkn_llm_response_usage(t->resp, &u) != TKN_OK) {
    u.input_tokens = count_text(t, NULL, text, len);
    u.output_tokens = count_text(t, NULL, sum, sl);
  }
  co.usage = u;
  const char *model = a->model.s;
  tkn_cost cost = TKN_COST_INIT;
  int crc = tkn_prices_cost(a->prices, model, strlen(model), &u, &cost);
  if (crc == TKN_ERR_OVERFLOW)
    return lib_fail(t, crc, "cost", "the host summariser's cost does not fit in int64 picodollars");
  co.cost = crc == TKN_OK ? cost.total : 0;
  add_usage(t, &u, co.cost);
  step_begin(t, "host_summariser");
  kv_cstr(t, "priced_as", model);
  kv_int(t, "input_tokens", u.input_tokens);
  kv_int(t, "output_tokens", u.output_tokens);
  kv_usd(t, "cost_usd", co.cost);
  if (a->o.budget) {
    tkn_budget_amount act = TKN_BUDGET_AMOUNT_INIT;
    act.input_tokens = u.input_tokens;
    act.output_tokens = u.output_tokens;
    act.money = co.cost;
    int brc = tkn_budget_charge(a->o.budget, &act);
    if (brc && brc != TKN_ERR_BUDGET) {
      step_end(t);
      return lib_fail(t, brc, "budget charge", tki_error_message());
    }
    if (brc) kv_cstr(t, "budget", "charge refused: over the hard limit");
  }
  step_end(t);
  return meter_call(t, model, NULL, &co, TKN_METER_VALIDATION_NONE);
}

/* The host's summariser, when it has one: 1 if it wrote the summary into
 * *out (held to max_tokens, charged), 0 if it failed (in the trace), or a
 * negative status when charging it failed the turn. */
static int summary_by_host(turn *t, const char *text, size_t len, int64_t max_tokens,
                           tki_buf *out) {
  tkn_agent *a = t->a;
  tkn_llm_response_clear(t->resp);
  if (a->o.llm.summarise(text, len, max_tokens, t->resp, a->o.llm.user) == 0) {
    size_t cl = 0;
    const char *c = tkn_llm_response_content(t->resp, &cl);
    /* the summary is held to its token limit whatever the host sent */
    cl = cut_to_tokens(t, c, cl, max_tokens);
    tki_buf_append(out, c, cl);
    return charge_host_summary(t, text, len, c, cl) ? -1 : 1;
  }
  /* a failed summariser: its class and message go to the trace, and the
   * next way stands in */
  const char *m = NULL;
  size_t ml = 0;
  int32_t cls = tkn_llm_response_error(t->resp, &m, &ml);
  step_begin(t, "host_summariser");
  tki_buf_puts(&t->trace, ",\"ok\":false");
  kv_cstr(t, "error_class",
          tkn_llm_fail_name(cls == TKN_LLM_FAIL_NONE ? TKN_LLM_FAIL_SERVER : cls));
  kv_str(t, "error", m, ml);
  step_end(t);
  return 0;
}

/* The request of a cheap-tier summary: the instruction, the identifiers to
 * keep (items, may be NULL), then the text, as one user message in *sc. */
static int summary_request(tkn_conv **sc, const char *text, size_t len, int64_t max_tokens,
                           const tki_buf *items) {
  int rc = tkn_conv_new(sc);
  tki_buf ask;
  tki_buf_init(&ask);
  tki_buf_printf(&ask,
                 "Summarise this conversation in at most %lld tokens. Keep every name, "
                 "number, identifier and decision.\n",
                 (long long)max_tokens);
  if (items) ledger_hint(items, &ask);
  tki_buf_puts(&ask, "\n");
  tki_buf_append(&ask, text, len);
  if (!rc && ask.failed) rc = TKN_ERR_NOMEM;
  if (!rc) rc = tkn_conv_append_text(*sc, TKN_ROLE_USER, ask.data, ask.len);
  tki_buf_free(&ask);
  return rc;
}

/* complete() on the cheapest tier: 1 if it wrote the summary into *out, 0 if
 * it could not (the extract stands in), or a negative status when the turn
 * failed (t->failed). */
static int summary_by_model(turn *t, const char *text, size_t len, int64_t max_tokens,
                            const tki_buf *items, tki_buf *out) {
  tkn_agent *a = t->a;
  const char *model = a->model.s;
  const char *tier_name = NULL;
  int32_t got = -1;
  if (a->o.router) {
    int mrc = model_of_tier(a->o.router, 0, &got, &model);
    if (mrc == TKN_ERR_NOMEM) return lib_fail(t, mrc, "summary", "out of memory"), -1;
    if (mrc) model = NULL; /* every cheap model cooling down: the extract stands in */
    tier_name = model ? tkn_router_tier_name(a->o.router, (size_t)got) : NULL;
  }
  tkn_conv *sc = NULL;
  int rc = model ? summary_request(&sc, text, len, max_tokens, items) : TKN_ERR_NOT_FOUND;
  /* out of memory ends the turn; any other reason not to ask (no model for
   * the cheap tier) leaves the extract to stand in */
  if (rc == TKN_ERR_NOMEM) lib_fail(t, rc, "summary", "out of memory");
  int done = 0;
  if (!rc) {
    call_out co;
    rc = do_call(t, sc, model, tier_name, max_tokens > 0 ? max_tokens : 256,
                 TKN_LLM_PURPOSE_SUMMARY, &co);
    if (!rc && co.ok && !co.refused) {
      size_t cl = 0;
      const char *c = tkn_llm_response_content(t->resp, &cl);
      tki_buf_append(out, c, cl);
      done = 1;
    }
    /* a failure to meter is recorded in t->failed, checked below */
    if (!rc && !co.refused) (void)meter_call(t, model, tier_name, &co, TKN_METER_VALIDATION_NONE);
  }
  tkn_conv_free(sc);
  return t->failed ? -1 : done;
}

/* Summarise `text`: the host's summariser, else complete() on the cheapest
 * tier (allow_model), else an extract.  The summary goes to t->summary.
 * `items` (may be NULL) are the identifiers to name in the model's prompt. */
static int summarise_text(turn *t, const char *text, size_t len, int64_t max_tokens,
                          int allow_model, const tki_buf *items) {
  const char *how = "extract";
  tki_buf out;
  tki_buf_init(&out);
  int done = 0;
  if (t->a->o.llm.summarise && (done = summary_by_host(t, text, len, max_tokens, &out)) > 0)
    how = "host_summariser";
  if (done == 0 && allow_model &&
      (done = summary_by_model(t, text, len, max_tokens, items, &out)) > 0)
    how = "cheap_tier";
  if (done < 0) {
    tki_buf_free(&out);
    return t->failed ? t->failed : TKN_ERR_NOMEM;
  }
  if (!done && extractive(text, len, max_tokens, &out)) {
    tki_buf_free(&out);
    return lib_fail(t, TKN_ERR_NOMEM, "summary", "out of memory");
  }
  size_t sl = 0;
  char *s = tki_buf_steal(&out, &sl);
  if (!s) return lib_fail(t, TKN_ERR_NOMEM, "summary", "out of memory");
  tki_free(t->summary.s);
  t->summary.s = s;
  t->summary.len = sl;
  t->st.summaries++;
  step_begin(t, "summarise");
  kv_cstr(t, "how", how);
  kv_int(t, "source_bytes", (int64_t)len);
  kv_int(t, "summary_tokens", count_text(t, NULL, s, sl));
  step_end(t);
  return TKN_OK;
}

/* The pruner's summariser: through summarise_text. */
static int prune_summarise_cb(tkn_conv *conv, const size_t *dropped, size_t n, int64_t max_tokens,
                              const char **text, size_t *len, void *user) {
  turn *t = user;
  tki_buf src;
  tki_buf_init(&src);
  if (transcript(conv, dropped, n, &src)) {
    tki_buf_free(&src);
    lib_fail(t, TKN_ERR_NOMEM, "summary", "out of memory"); /* the turn fails, not just the summary */
    return 1;
  }
  /* the message overhead is part of max_tokens: leave room for it */
  int64_t room = max_tokens > 24 ? max_tokens - 12 : max_tokens / 2;
  if (room < 1) room = 1;
  tki_buf items;
  tki_buf_init(&items);
  int rc = ledger_items(src.data ? src.data : "", src.len, &items);
  if (rc) lib_fail(t, rc, "summary", "out of memory");
  if (!rc) rc = summarise_text(t, src.data ? src.data : "", src.len, room, 1, &items);
  tki_buf_free(&src);
  /* identifiers the summary dropped are appended; a summary longer than its
   * room would be refused by the pruner: the prose is cut to fit */
  if (!rc) rc = summary_with_ledger(t, &items, room);
  tki_buf_free(&items);
  if (rc) return 1;
  *text = t->summary.s;
  *len = t->summary.len;
  return 0;
}

/* ---- pruning ---- */

/* Tokens of what score and summarise modes must keep when the last `keep`
 * turns are kept: system and developer messages, pinned ones, and every
 * message from the keep-th last user message on. */
static int64_t must_keep_tokens(tkn_conv *c, const int64_t *per, size_t n, uint32_t keep,
                                int keep_system) {
  size_t from = n, users = 0;
  while (from > 0 && users < keep) {
    from--;
    if (tkn_conv_role(c, from) == TKN_ROLE_USER) users++;
  }
  int64_t sum = 0;
  for (size_t i = 0; i < n; i++) {
    int role = tkn_conv_role(c, i);
    if (i >= from || tkn_conv_pinned(c, i) ||
        (keep_system && (role == TKN_ROLE_SYSTEM || role == TKN_ROLE_DEVELOPER)))
      sum += per[i];
  }
  return sum;
}

/* The pruner's options for this turn: the agent's, in summarise mode when
 * the budget forces a summary; *room is the summary's room (0 without one). */
static tkn_prune_options prune_options_for(turn *t, int64_t target, int force_summary,
                                           int64_t *room) {
  tkn_agent *a = t->a;
  tkn_prune_options po = a->prune;
  if (po.ledger) {
    /* a copy: the agent's (or the host's) ledger changes only with the conversation */
    if (!t->ledger_used) {
      int fresh = po.ledger == &a->own_ledger &&
                  (a->ledger_conv != tki_conv_serial(t->conv) ||
                   tkn_conv_count(t->conv) < a->ledger_n);
      if (fresh) memset(&t->ledger, 0, sizeof t->ledger);
      else t->ledger = *po.ledger;
      t->ledger_used = 1;
    }
    po.ledger = &t->ledger;
  }
  if (force_summary) po.mode = TKN_PRUNE_SUMMARISE;
  *room = 0;
  if (po.mode == TKN_PRUNE_SUMMARISE) {
    /* room for a useful summary (identifiers included): a third of the
     * target, at least 64 and at most 512 tokens, unless the host chose */
    if (po.summary_max_tokens <= 0) {
      int64_t r = target / 3;
      po.summary_max_tokens = r < 64 ? 64 : r > 512 ? 512 : r;
    }
    *room = po.summary_max_tokens;
    po.summarise = prune_summarise_cb;
    po.summarise_user = t;
  }
  return po;
}

/* Score and summarise modes keep the last turns whole: when they (with their
 * tool results) and the summary's room do not fit the target, only the
 * current turn is kept, and *target grows to what must be kept, but with
 * degrade on (prune.h) never past `limit` (max_context_tokens, 0: none): past
 * it the pruner degrades (clears tool results inside the kept turns, then
 * drops) rather than send more than the host's limit. */
static int grow_target(turn *t, tkn_prune_options *po, int64_t room, int64_t limit,
                       int64_t *target) {
  size_t n = tkn_conv_count(t->work);
  int64_t *per = tki_malloc((n ? n : 1) * sizeof *per);
  int64_t total = 0;
  if (!per) return lib_fail(t, TKN_ERR_NOMEM, "prune", "out of memory");
  int rc = tkn_tokenizer_count_conv(t->a->tok, t->work, &po->count, &total, per);
  if (rc) {
    tki_free(per);
    return lib_fail(t, rc, "prune", tki_error_message());
  }
  int64_t need = must_keep_tokens(t->work, per, n, po->keep_last_turns, po->keep_system) + room + 8;
  if (need > *target && po->keep_last_turns > 1) {
    po->keep_last_turns = 1;
    need = must_keep_tokens(t->work, per, n, 1, po->keep_system) + room + 8;
  }
  tki_free(per);
  if (po->degrade && limit > 0 && need > limit) need = limit;
  if (need > *target) *target = need;
  return TKN_OK;
}

/* A summarise run whose summary was not added would lose what it dropped:
 * the work copy goes back to the caller's history (inside the "prune" step). */
static int undo_prune(turn *t, tkn_conv *orig, int32_t sstat) {
  tkn_conv *back = NULL;
  int rc = tkn_conv_clone(&back, orig);
  if (rc) {
    step_end(t);
    return lib_fail(t, rc, "prune", "cannot restore the history");
  }
  tkn_conv_free(t->work);
  t->work = back;
  kv_cstr(t, "skipped", sstat == TKN_PRUNE_SUMMARY_TOO_LONG
                            ? "the summary did not fit: the history is kept rather than lost"
                            : "the summary failed: the history is kept rather than lost");
  step_end(t);
  return t->failed;
}

/* What the pruning did, kept for the apply phase and written to the
 * "prune" step (which it closes). */
static int keep_plan(turn *t, const tkn_prune_report *rep, const tkn_prune_options *po,
                     prune_plan *plan) {
  int64_t before = 0, after = 0;
  tkn_prune_report_tokens(rep, &before, &after);
  const size_t *dropped = NULL;
  size_t nd = 0;
  tkn_prune_report_dropped(rep, &dropped, &nd);
  int32_t sstat = 0;
  size_t sidx = 0;
  tkn_prune_report_summary(rep, &sstat, NULL, &sidx);
  size_t n = tkn_prune_report_count(rep);
  plan->keep = tki_malloc(n ? n : 1);
  if (!plan->keep) {
    step_end(t);
    return lib_fail(t, TKN_ERR_NOMEM, "prune", "out of memory");
  }
  memset(plan->keep, 1, n);
  for (size_t k = 0; k < nd; k++) plan->keep[dropped[k]] = 0;
  size_t ncleared = 0;
  tkn_prune_report_cleared(rep, &ncleared, NULL);
  if (ncleared) {
    plan->cleared = tki_calloc(n ? n : 1, 1);
    if (!plan->cleared) {
      step_end(t);
      return lib_fail(t, TKN_ERR_NOMEM, "prune", "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
      int32_t action = 0;
      tkn_prune_report_message(rep, i, &action, NULL, NULL);
      plan->cleared[i] = action == TKN_PRUNE_CLEARED;
    }
    int64_t ctok = 0;
    tkn_prune_report_cleared(rep, NULL, &ctok);
    kv_int(t, "cleared", (int64_t)ncleared);
    kv_int(t, "cleared_tokens", ctok);
  }
  plan->n = n;
  plan->summary = sstat == TKN_PRUNE_SUMMARY_ADDED;
  plan->summary_index = sidx;
  plan->summary_role = po->summary_role;
  kv_int(t, "tokens_before", before);
  kv_int(t, "tokens_after", after);
  kv_int(t, "dropped", (int64_t)nd);
  kv_cstr(t, "summary", sstat == TKN_PRUNE_SUMMARY_ADDED      ? "added"
                        : sstat == TKN_PRUNE_SUMMARY_FAILED   ? "failed"
                        : sstat == TKN_PRUNE_SUMMARY_TOO_LONG ? "too_long"
                        : sstat == TKN_PRUNE_SUMMARY_INVALID  ? "invalid"
                                                              : "none");
  const char *note = tkn_prune_report_note(rep);
  if (note && *note) kv_cstr(t, "note", note);
  step_end(t);
  t->st.pruned_messages += (uint32_t)nd;
  t->st.context_tokens_after = after;
  return TKN_OK;
}

/* Prune t->work to about `target` tokens (see grow_target and undo_prune).
 * `orig` is the caller's conversation t->work was cloned from. */
static int run_prune(turn *t, tkn_conv *orig, int64_t ctx, int64_t target, int force_summary,
                     prune_plan *plan) {
  int64_t room = 0;
  tkn_prune_options po = prune_options_for(t, target, force_summary, &room);
  if (po.mode == TKN_PRUNE_SCORE || po.mode == TKN_PRUNE_SUMMARISE) {
    int rc = grow_target(t, &po, room, t->a->o.max_context_tokens, &target);
    if (rc) return rc;
    if (target >= ctx) {
      step_begin(t, "prune");
      kv_int(t, "target_tokens", target);
      kv_cstr(t, "skipped", "what must be kept and the summary's room leave nothing to prune");
      step_end(t);
      return TKN_OK;
    }
  }
  po.max_tokens = target;
  tkn_prune_report *rep = NULL;
  int rc = tkn_prune_run(t->a->pruner, t->work, &po, &rep);
  int32_t decision = TKN_PRUNE_DECISION_NONE;
  if (rc == TKN_OK) tkn_prune_report_decision(rep, &decision, NULL, NULL);
  if (rc == TKN_OK && po.mode == TKN_PRUNE_POLICY && target == 0 &&
      (decision == TKN_PRUNE_DECISION_NONE || decision == TKN_PRUNE_DECISION_KEEP)) {
    /* the policy appends only: nothing to trace, the history goes as it is */
    tkn_prune_report_free(rep);
    return TKN_OK;
  }
  static const char *const modes[] = {"trim", "score", "summarise", "mask", "clear", "policy"};
  static const char *const decisions[] = {"none", "keep", "clear", "budget", "degraded"};
  step_begin(t, "prune");
  kv_cstr(t, "mode", po.mode >= 0 && po.mode <= TKN_PRUNE_POLICY ? modes[po.mode] : "?");
  if (po.mode == TKN_PRUNE_POLICY && decision >= 0 && decision <= TKN_PRUNE_DECISION_DEGRADED)
    kv_cstr(t, "decision", decisions[decision]);
  if (po.mode == TKN_PRUNE_POLICY && po.ledger) kv_int(t, "ledger_credit", po.ledger->credit);
  kv_int(t, "target_tokens", target);
  if (po.mode == TKN_PRUNE_SCORE || po.mode == TKN_PRUNE_SUMMARISE)
    kv_int(t, "keep_last_turns", po.keep_last_turns);
  if (rc == TKN_ERR_BUDGET || rc == TKN_ERR_CALLBACK) {
    /* what must be kept does not fit: send the history as it is */
    kv_cstr(t, "skipped", tki_error_message());
    step_end(t);
    return t->failed;
  }
  if (rc) {
    step_end(t);
    return t->failed ? t->failed : lib_fail(t, rc, "prune", tki_error_message());
  }
  const size_t *dropped = NULL;
  size_t nd = 0;
  int32_t sstat = 0;
  tkn_prune_report_dropped(rep, &dropped, &nd);
  tkn_prune_report_summary(rep, &sstat, NULL, NULL);
  if (po.mode == TKN_PRUNE_SUMMARISE && sstat != TKN_PRUNE_SUMMARY_ADDED && nd > 0)
    rc = undo_prune(t, orig, sstat); /* the messages would be dropped unsummarised */
  else
    rc = keep_plan(t, rep, &po, plan);
  tkn_prune_report_free(rep);
  return rc;
}

/* Make conv what the work copy became: the pruning (drops and the summary)
 * and the answer (reply_json: an OpenAI message, or NULL).  All allocations
 * come first and the one change that cannot fail (the filter) last, so a
 * failure leaves conv as it was. */
static int apply_rest(turn *t, tkn_conv *conv, const prune_plan *plan, const char *reply_json,
                      size_t reply_len) {
  size_t n = tkn_conv_count(conv);
  int pruned = plan->keep && plan->n == n;
  if (!pruned && !reply_json) return TKN_OK;
  uint8_t *keep = tki_malloc(n + 2);
  if (!keep) return lib_fail(t, TKN_ERR_NOMEM, "applying the turn", "out of memory");
  /* where the summary goes in the original order: after the k-th kept message */
  size_t at = n;
  if (pruned && plan->summary) {
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
      if (kept == plan->summary_index) {
        at = i;
        break;
      }
      if (plan->keep[i]) kept++;
    }
  }
  int rc = TKN_OK;
  if (reply_json) {
    rc = tkn_conv_insert_json(conv, n, TKN_PROVIDER_OPENAI, reply_json, reply_len);
    if (rc) {
      tki_free(keep);
      return lib_fail(t, rc, "appending the answer", tki_error_message());
    }
  }
  if (pruned && plan->summary) {
    const char *s = NULL;
    size_t len = 0;
    rc = tkn_conv_text(t->work, plan->summary_index, &s, &len);
    if (!rc) rc = tkn_conv_insert_text(conv, at, plan->summary_role, s, len);
    if (rc) {
      if (reply_json) tkn_conv_remove(conv, n);
      tki_free(keep);
      return lib_fail(t, rc, "inserting the summary", tki_error_message());
    }
  }
  if (pruned) {
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
      if (plan->summary && i == at) keep[m++] = 1;
      keep[m++] = plan->keep[i];
    }
    if (plan->summary && at == n) keep[m++] = 1;
    if (reply_json) keep[m++] = 1;
    tkn_conv_filter(conv, keep, m);
  }
  tki_free(keep);
  return TKN_OK;
}

/* The clears of the work copy carried to conv (not yet filtered: original
 * indices): a cleared tool result takes the work copy's text (the
 * placeholder), a cleared assistant message (its arguments, its thinking
 * blocks) the work copy's message.  The tool pairs stay as they were. */
static int carry_clears(turn *t, tkn_conv *conv, const prune_plan *plan) {
  int fmt = tkn_conv_source_format(conv) == TKN_PROVIDER_ANTHROPIC || t->a->prune.clear_thinking
                ? TKN_PROVIDER_ANTHROPIC
                : TKN_PROVIDER_OPENAI;
  size_t k = 0;
  int rc = TKN_OK;
  for (size_t i = 0; rc == TKN_OK && i < plan->n; i++) {
    if (!plan->keep[i]) continue;
    if (plan->cleared[i]) {
      if (tkn_conv_role(conv, i) == TKN_ROLE_TOOL) {
        const char *text = NULL;
        size_t len = 0;
        rc = tkn_conv_text(t->work, k, &text, &len);
        if (rc == TKN_OK) rc = tkn_conv_set_text(conv, i, text, len);
      } else {
        char *js = NULL;
        size_t len = 0;
        rc = tkn_conv_message_to_json(t->work, k, fmt, &js, &len);
        if (rc == TKN_OK) rc = tkn_conv_replace_json(conv, i, fmt, js, len);
        tkn_free(js);
      }
    }
    k++;
  }
  if (rc) return lib_fail(t, rc, "applying the clears", tki_error_message());
  return TKN_OK;
}

/* The pruning and the answer; with clears, all on a copy swapped in at the
 * end, so a failure leaves conv as it was. */
static int apply_to_conv(turn *t, tkn_conv *conv, const prune_plan *plan, const char *reply_json,
                         size_t reply_len) {
  if (!plan->cleared || !plan->keep || plan->n != tkn_conv_count(conv))
    return apply_rest(t, conv, plan, reply_json, reply_len);
  tkn_conv *copy = NULL;
  int rc = tkn_conv_clone(&copy, conv);
  if (rc) return lib_fail(t, rc, "applying the turn", "out of memory");
  rc = carry_clears(t, copy, plan);
  if (!rc) rc = apply_rest(t, copy, plan, reply_json, reply_len);
  if (!rc) tki_conv_swap(conv, copy);
  tkn_conv_free(copy);
  return rc;
}

/* ---- routing ---- */

static int route(turn *t, tkn_router_decision *d) {
  tkn_agent *a = t->a;
  step_begin(t, "route");
  if (!a->o.router) {
    t->model = a->model.s;
    t->tier = -1;
    t->tier_name = NULL;
    t->reason = "fixed model";
    kv_cstr(t, "model", t->model);
    kv_cstr(t, "reason", t->reason);
    step_end(t);
    return TKN_OK;
  }
  tkn_task *empty = NULL;
  const tkn_task *task = t->opts->task;
  if (!task) {
    int rc = tkn_task_new(&empty);
    if (rc) {
      step_end(t);
      return lib_fail(t, rc, "route", "out of memory");
    }
    task = empty;
  }
  int rc = tkn_router_decide(a->o.router, task, d);
  tkn_task_free(empty);
  if (rc) {
    kv_cstr(t, "error", tkn_strerror(rc));
    step_end(t);
    return rc; /* the caller turns UNAVAILABLE into finish "error" */
  }
  t->model = d->model;
  t->tier = d->tier;
  t->tier_name = d->tier_name;
  t->reason = d->reason;
  kv_int(t, "rule", d->rule);
  kv_cstr(t, "tier", d->tier_name);
  kv_cstr(t, "model", d->model);
  kv_cstr(t, "reason", d->reason);
  tki_buf_printf(&t->trace, ",\"cascade\":%s", d->cascade ? "true" : "false");
  if (d->tier != d->rule_tier) kv_int(t, "failover_from_tier", d->rule_tier);
  step_end(t);
  return TKN_OK;
}

/* ---- the turn ----
 * run_turn is the pipeline: open, budget (and the context it allows),
 * route, the call loop (failure, invalid-answer and cascade branches), close
 * (the hand-over when the budget stops the turn), trace, apply.  Each phase
 * reads and writes the turn; a library failure is recorded in t->failed and
 * ends the pipeline. */

static int set_lstr(tki_lstr *dst, const char *s, size_t len) {
  char *c = tki_strndup(s ? s : "", s ? len : 0);
  if (!c) return tki_fail(TKN_ERR_NOMEM, "out of memory");
  tki_free(dst->s);
  dst->s = c;
  dst->len = s ? len : 0;
  return TKN_OK;
}

static int provider_stopped_for_length(const char *fr, size_t fl) {
  return (fl == 6 && !memcmp(fr, "length", 6)) || (fl == 10 && !memcmp(fr, "max_tokens", 10)) ||
         (fl == 10 && !memcmp(fr, "MAX_TOKENS", 10));
}

/* The turn's output cap: the turn's, else the schema's bound, else the default. */
static int64_t choose_cap(turn *t) {
  if (t->opts->output_cap > 0) return t->opts->output_cap;
  int64_t cap = t->a->o.output_cap;
  if (t->opts->schema) {
    int64_t bound = 0;
    uint32_t flags = 0;
    if (tkn_schema_output_cap(t->opts->schema, t->a->tok, NULL, &bound, &flags) == TKN_OK &&
        !(flags & TKN_SCHEMA_CAP_UNBOUNDED) && bound > 0 && bound < cap)
      cap = bound + 8; /* a little slack for tokens the bound cannot see */
  }
  return cap;
}

/* The options checked before anything is touched; *opts gets the defaults when NULL. */
static int check_turn_options(const tkn_agent_turn_options **opts,
                              const tkn_agent_turn_options *defaults) {
  if (!*opts) *opts = defaults;
  const tkn_agent_turn_options *o = *opts;
  if (o->version != TKN_AGENT_TURN_OPTIONS_VERSION)
    return tki_fail(TKN_ERR_VERSION, "turn options: unknown version");
  if (o->schema && (!o->schema_json || !o->schema_json_len))
    return tki_fail(TKN_ERR_INVALID, "turn options: a schema needs its text (schema_json)");
  if ((!o->task_type && o->task_type_len) || (!o->dynamic && o->dynamic_len) ||
      (!o->cache_key && o->cache_key_len) || o->output_cap < 0)
    return tki_fail(TKN_ERR_INVALID, "turn options: a NULL string with a length, or a "
                                     "negative output cap");
  return TKN_OK;
}

/* Open: the work copy of the history, the response object, the result. */
static int turn_open(turn *t, tkn_agent *a, tkn_conv *conv, const tkn_agent_turn_options *opts) {
  memset(t, 0, sizeof *t);
  t->a = a;
  t->opts = opts;
  t->conv = conv;
  t->tier = -1;
  t->finish = FIN_ERROR;
  tkn_agent_stats st0 = TKN_AGENT_STATS_INIT;
  t->st = st0;
  tki_buf_init(&t->trace);
  int rc = tkn_llm_response_new(&t->resp);
  if (rc) return tki_fail(rc, "turn: out of memory");
  rc = tkn_conv_clone(&t->work, conv);
  if (rc) return tki_fail(rc, "turn: cannot copy the conversation: %s", tki_error_message());
  t->res = tki_calloc(1, sizeof *t->res);
  if (!t->res) return tki_fail(TKN_ERR_NOMEM, "turn: out of memory");
  return TKN_OK;
}

static void turn_free(turn *t) {
  tki_buf_free(&t->trace);
  tkn_router_cascade_free(t->cascade);
  tkn_schema_result_free(t->sres);
  tki_free(t->plan.keep);
  tki_free(t->plan.cleared);
  tki_free(t->summary.s);
  tki_free(t->tools);
  tkn_conv_free(t->work);
  tkn_llm_response_free(t->resp);
}

/* Context under the budget's level.  Hysteresis: the history is pruned when
 * it passes the limit, down to the (lower) target, so pruning is rare and the
 * history in between is an append-only prefix the prompt cache keeps. */
static int fit_context(turn *t, int32_t level, int64_t ctx) {
  tkn_agent *a = t->a;
  int64_t limit = a->o.max_context_tokens, target = 0;
  int64_t low = a->o.context_target_tokens > 0 ? a->o.context_target_tokens : limit / 2;
  int force_summary = 0;
  if (level == TKN_BUDGET_SOFT) {
    /* economise: with a limit, hold the history under the target (down to
     * half of it when it passes); without one, halve it */
    if (!limit)
      target = ctx / 2;
    else if (ctx > low)
      target = low / 2;
    force_summary = 1;
    t->cap = t->cap / 2 > 0 ? t->cap / 2 : 1;
    if (!t->opts->schema) t->brief_words = t->cap * 3 / 5 > 1 ? t->cap * 3 / 5 : 1;
    step_begin(t, "economise");
    kv_cstr(t, "why", "soft budget limit reached");
    kv_int(t, "output_cap", t->cap);
    kv_int(t, "context_target", target);
    step_end(t);
  } else if (limit && ctx > limit) {
    target = low;
  }
  if (target > 0) return run_prune(t, t->conv, ctx, target, force_summary, &t->plan);
  /* the policy decides at every call whether clearing old tool results pays */
  if (a->prune.mode == TKN_PRUNE_POLICY) return run_prune(t, t->conv, ctx, 0, 0, &t->plan);
  return TKN_OK;
}

/* 1. Budget: the history's size, the budget's level (a hard limit closes the
 * turn), and the context that level allows. */
static int phase_budget(turn *t) {
  tkn_agent *a = t->a;
  int64_t ctx = 0;
  int rc = tkn_tokenizer_count_conv(a->tok, t->work, NULL, &ctx, NULL);
  if (rc) return tki_fail(rc, "turn: cannot count the conversation: %s", tki_error_message());
  t->st.context_tokens_before = ctx;
  t->st.context_tokens_after = ctx;
  t->cap = choose_cap(t);
  tkn_budget_state bs = TKN_BUDGET_STATE_INIT;
  if (a->o.budget) {
    rc = tkn_budget_status(a->o.budget, &bs);
    if (rc) return tki_fail(rc, "turn: budget status: %s", tki_error_message());
  }
  t->st.budget_level = bs.level;
  step_begin(t, "budget");
  kv_cstr(t, "level", level_name(bs.level));
  kv_int(t, "context_tokens", ctx);
  if (a->o.budget) {
    kv_int(t, "tokens_committed", bs.tokens_committed);
    if (bs.tokens_remaining != TKN_BUDGET_UNLIMITED)
      kv_int(t, "tokens_remaining", bs.tokens_remaining);
    kv_usd(t, "money_committed_usd", bs.money_committed);
  }
  step_end(t);
  if (bs.level == TKN_BUDGET_HARD) {
    t->closed = 1;
    return TKN_OK;
  }
  return fit_context(t, bs.level, ctx);
}

/* 1b. Tools: with a catalogue, the tools for the last two turns (the
 * "tools" step); every call of the turn but a summary carries them. */
static int phase_tools(turn *t) {
  if (!t->a->o.toolsel) return TKN_OK;
  int rc = tki_agent_tools_select(t->a, t->work, &t->tools, &t->n_tools);
  if (rc) return lib_fail(t, rc, "tools", tki_error_message());
  t->tools_chosen = 1;
  step_begin(t, "tools");
  tki_agent_tools_trace(t->a, t->tools, t->n_tools, &t->trace);
  step_end(t);
  return TKN_OK;
}

/* A cascade from the routed tier, when the rule allows one and the agent has
 * a scorer: the turn starts on the cascade's first model. */
static int start_cascade(turn *t) {
  tkn_agent *a = t->a;
  tkn_router_cascade_options co = TKN_ROUTER_CASCADE_OPTIONS_INIT;
  co.start_tier = t->decision.tier;
  co.score = a->o.cascade_score;
  co.score_user = a->o.cascade_score_user;
  int rc = tkn_router_cascade_new(&t->cascade, a->o.router, &co);
  if (!rc) {
    int32_t ct = 0;
    const char *cm = NULL;
    rc = tkn_router_cascade_next(t->cascade, &ct, &cm);
    if (!rc) {
      t->tier = ct;
      t->model = cm;
      t->tier_name = tkn_router_tier_name(a->o.router, (size_t)ct);
    }
  }
  if (rc == TKN_ERR_NOMEM) return tki_fail(rc, "route: out of memory");
  if (rc) {
    /* no cascade over these tiers (every model cooling down): the turn
     * keeps the router's decision, without escalation by score */
    tkn_router_cascade_free(t->cascade);
    t->cascade = NULL;
  }
  return TKN_OK;
}

/* 2. Route: the model (and tier) of the first call.  No model available
 * ends the turn with finish "error" (t->unrouted). */
static int phase_route(turn *t) {
  t->decision = (tkn_router_decision)TKN_ROUTER_DECISION_INIT;
  int rc = route(t, &t->decision);
  if (rc == TKN_ERR_UNAVAILABLE) {
    t->unrouted = 1;
    return TKN_OK;
  }
  if (rc) {
    if (!t->failed) tki_fail(rc, "route: %s", tkn_strerror(rc));
    return rc;
  }
  if (t->a->o.router && t->decision.cascade && t->a->o.cascade) return start_cascade(t);
  return TKN_OK;
}

/* What the call loop does next. */
enum { CALL_DONE, CALL_AGAIN };

/* Failover after a failed call: the router's next decision, when it names
 * another model (the router skips models that are cooling down).  1 if the
 * turn moved. */
static int failover(turn *t) {
  tkn_agent *a = t->a;
  tkn_router_decision d2 = TKN_ROUTER_DECISION_INIT;
  const tkn_task *task = t->opts->task;
  tkn_task *empty = NULL;
  if (!task && tkn_task_new(&empty) == TKN_OK) task = empty;
  int drc = task ? tkn_router_decide(a->o.router, task, &d2) : TKN_ERR_NOMEM;
  tkn_task_free(empty);
  if (drc != TKN_OK || strcmp(d2.model, t->model) == 0) return 0;
  step_begin(t, "failover");
  kv_cstr(t, "from", t->model);
  kv_cstr(t, "to", d2.model);
  step_end(t);
  t->model = d2.model;
  t->tier = d2.tier;
  t->tier_name = d2.tier_name;
  t->host_fails = 0;
  return 1;
}

/* The failure branch: the host's call failed.  Retry the same model while
 * the router's retries allow, then fail over; a request the provider will
 * never take ends the turn. */
static int on_failed_call(turn *t, const call_out *co) {
  tkn_agent *a = t->a;
  if (meter_call(t, t->model, t->tier_name, co, TKN_METER_VALIDATION_NONE)) return CALL_DONE;
  int32_t retries = co->fail <= TKN_LLM_FAIL_SERVER ? 1 : 0;
  if (a->o.router) {
    int32_t cooled = 0;
    tkn_router_report_failure(a->o.router, t->model, strlen(t->model), co->fail, &cooled);
    if (tkn_router_retries(a->o.router, co->fail, &retries) != TKN_OK) retries = 0;
  }
  t->host_fails++;
  if (co->fail == TKN_LLM_FAIL_BAD_REQUEST || co->fail == TKN_LLM_FAIL_AUTH ||
      co->fail == TKN_LLM_FAIL_CONTENT_POLICY) {
    t->finish = FIN_ERROR;
    return CALL_DONE;
  }
  if (t->host_fails <= (uint32_t)retries) return CALL_AGAIN; /* same model again */
  if (a->o.router && failover(t)) return CALL_AGAIN;
  t->finish = FIN_ERROR;
  return CALL_DONE;
}

/* The answer of a successful call, as the response holds it. */
typedef struct answer {
  const char *content, *tool_calls, *finish;
  size_t content_len, tool_calls_len, finish_len;
} answer;

/* Validate the answer against the turn's schema; 1 when the turn must stop
 * (out of memory, in t->failed). */
static int validate_answer(turn *t, const answer *an, int *valid, uint32_t *validation) {
  int vrc = tkn_schema_validate(t->opts->schema, an->content, an->content_len, t->sres);
  *valid = vrc == TKN_OK;
  if (vrc == TKN_ERR_NOMEM) {
    lib_fail(t, vrc, "validate", "out of memory");
    return 1;
  }
  *validation = *valid ? TKN_METER_VALIDATION_PASSED : TKN_METER_VALIDATION_FAILED;
  step_begin(t, "validate");
  tki_buf_printf(&t->trace, ",\"valid\":%s", *valid ? "true" : "false");
  if (!*valid) kv_cstr(t, "error", tki_error_message());
  step_end(t);
  return 0;
}

/* The retry plan says escalate: move to the tier it names, when that is above
 * the current one and has a model.  Inside the "retry" step; 1 when the turn
 * must stop (out of memory). */
static int escalate_for_retry(turn *t, const tkn_schema_retry_step *step) {
  tkn_agent *a = t->a;
  int32_t want = t->base_tier + (int32_t)step->tier;
  int32_t top = (int32_t)tkn_router_tier_count(a->o.router) - 1;
  if (want > top) want = top;
  int32_t got = -1;
  const char *m = NULL;
  int mrc = want > t->tier ? model_of_tier(a->o.router, want, &got, &m) : TKN_ERR_NOT_FOUND;
  if (mrc == TKN_ERR_NOMEM) {
    step_end(t);
    lib_fail(t, mrc, "escalate", "out of memory");
    return 1;
  }
  if (mrc != TKN_OK) return 0;
  t->tier = got;
  t->model = m;
  t->tier_name = tkn_router_tier_name(a->o.router, (size_t)got);
  t->st.escalations++;
  kv_cstr(t, "to_tier", t->tier_name);
  kv_cstr(t, "to_model", t->model);
  if (t->cascade) {
    /* the retry plan moved the tier: the cascade no longer applies */
    tkn_router_cascade_free(t->cascade);
    t->cascade = NULL;
  }
  return 0;
}

/* Re-ask: the invalid answer and what was wrong with it join the history. */
static int reask(turn *t, const answer *an) {
  char *text = NULL;
  size_t len = 0;
  int rc = tkn_schema_result_reask(t->sres, &text, &len);
  if (!rc) rc = tkn_conv_append_text(t->work, TKN_ROLE_ASSISTANT, an->content, an->content_len);
  if (!rc) rc = tkn_conv_append_text(t->work, TKN_ROLE_USER, text, len);
  tkn_free(text);
  if (rc) return lib_fail(t, rc, "re-ask", tki_error_message());
  t->st.retries++;
  t->purpose = TKN_LLM_PURPOSE_RETRY;
  return TKN_OK;
}

/* The invalid-answer branch: the schema retry plan (same tier, escalate or
 * give up), its delay, then the re-ask. */
static int on_invalid_answer(turn *t, const answer *an) {
  tkn_agent *a = t->a;
  t->st.validation_failures++;
  t->failures++;
  tkn_schema_retry_step step;
  tkn_schema_retry_next(&a->o.retry, t->failures, &step);
  step_begin(t, "retry");
  kv_cstr(t, "action", step.action == TKN_SCHEMA_RETRY_SAME_TIER  ? "same_tier"
                       : step.action == TKN_SCHEMA_RETRY_ESCALATE ? "escalate"
                                                                  : "give_up");
  kv_int(t, "failures", t->failures);
  kv_int(t, "delay_ms", step.delay_ms);
  if (step.action == TKN_SCHEMA_RETRY_GIVE_UP) {
    step_end(t);
    t->finish = FIN_VALIDATION_FAILED;
    return CALL_DONE;
  }
  if (step.action == TKN_SCHEMA_RETRY_ESCALATE && a->o.router && t->base_tier >= 0 &&
      escalate_for_retry(t, &step))
    return CALL_DONE;
  step_end(t);
  if (step.delay_ms > 0 && a->o.sleep_ms) a->o.sleep_ms(step.delay_ms, a->o.sleep_user);
  return reask(t, an) ? CALL_DONE : CALL_AGAIN;
}

/* The cascade branch: the scorer's confidence in the answer; below the tier's
 * threshold the turn moves to the next model.  1 if it did. */
static int cascade_escalates(turn *t, const answer *an, int valid, int64_t cost) {
  tkn_agent *a = t->a;
  int32_t state = 0;
  double conf = 0;
  if (tkn_router_cascade_report(t->cascade, an->content, an->content_len, valid, cost, &state,
                                &conf) != TKN_OK)
    return 0;
  t->st.confidence = conf;
  step_begin(t, "cascade");
  kv_num(t, "confidence", conf);
  double thr = 0;
  if (tkn_router_tier_threshold(a->o.router, (size_t)t->tier, &thr) == TKN_OK)
    kv_num(t, "threshold", thr);
  kv_cstr(t, "state", state == TKN_ROUTER_CASCADE_ACCEPTED   ? "accepted"
                      : state == TKN_ROUTER_CASCADE_ESCALATE ? "escalate"
                                                             : "exhausted");
  if (state == TKN_ROUTER_CASCADE_ESCALATE) {
    int32_t nt = 0;
    const char *nm = NULL;
    if (tkn_router_cascade_next(t->cascade, &nt, &nm) == TKN_OK) {
      kv_cstr(t, "to_model", nm);
      step_end(t);
      t->tier = nt;
      t->model = nm;
      t->tier_name = tkn_router_tier_name(a->o.router, (size_t)nt);
      t->st.escalations++;
      t->purpose = TKN_LLM_PURPOSE_CASCADE;
      return 1;
    }
    kv_cstr(t, "note", "no stronger model available: last answer kept");
  }
  step_end(t);
  return 0;
}

/* An answer came back: validate, meter, keep it, then the invalid-answer and
 * cascade branches; else the turn's finish reason from the answer. */
static int on_answer(turn *t, const call_out *co) {
  answer an;
  an.content = tkn_llm_response_content(t->resp, &an.content_len);
  an.tool_calls = tkn_llm_response_tool_calls(t->resp, &an.tool_calls_len);
  an.finish = tkn_llm_response_finish_reason(t->resp, &an.finish_len);
  int valid = 1, tools = an.tool_calls_len > 0;
  uint32_t validation = TKN_METER_VALIDATION_NONE;
  tkn_agent_result *res = t->res;
  if (t->opts->schema && !tools && validate_answer(t, &an, &valid, &validation))
    return CALL_DONE;
  if (meter_call(t, t->model, t->tier_name, co, validation)) return CALL_DONE;
  int rc;
  if ((rc = set_lstr(&res->content, an.content, an.content_len)) ||
      (rc = set_lstr(&res->tool_calls, an.tool_calls, an.tool_calls_len)) ||
      (rc = set_lstr(&res->model, t->model, strlen(t->model)))) {
    lib_fail(t, rc, "turn", "out of memory");
    return CALL_DONE;
  }
  if (!valid) return on_invalid_answer(t, &an);
  if (t->cascade && !tools && cascade_escalates(t, &an, valid, co->cost)) return CALL_AGAIN;
  if (tools)
    t->finish = FIN_TOOL_CALLS;
  else if (provider_stopped_for_length(an.finish, an.finish_len))
    t->finish = FIN_LENGTH;
  else
    t->finish = FIN_STOP;
  if (t->opts->schema && valid && !tools) t->st.validated = 1;
  return CALL_DONE;
}

/* One pass of the call loop: a call, then its branch. */
static int call_once(turn *t) {
  if (t->st.calls >= TKN_AGENT_MAX_CALLS) {
    step_begin(t, "stop");
    kv_cstr(t, "why", "call limit of the turn reached");
    step_end(t);
    t->finish = FIN_ERROR;
    return CALL_DONE;
  }
  call_out co;
  if (do_call(t, t->work, t->model, t->tier_name, t->cap, t->purpose, &co)) return CALL_DONE;
  if (co.refused) {
    t->closed = 1;
    return CALL_DONE;
  }
  t->st.output_cap = t->cap;
  if (!co.ok) return on_failed_call(t, &co);
  t->host_fails = 0;
  return on_answer(t, &co);
}

/* 3. The call loop: call, validate, retry / escalate, cascade, meter,
 * commit, until an answer is kept, the plan gives up or the budget refuses. */
static int phase_calls(turn *t) {
  t->base_tier = t->tier;
  t->purpose = TKN_LLM_PURPOSE_TURN;
  if (t->opts->schema) {
    int rc = tkn_schema_result_new(&t->sres);
    if (rc) return tki_fail(rc, "turn: out of memory");
  }
  while (call_once(t) == CALL_AGAIN) {
  }
  tkn_schema_result_free(t->sres);
  t->sres = NULL;
  return t->failed;
}

/* 4. Close: a hard limit (or a refused reservation) hands over a summary of
 * the conversation instead of an answer, with no model call. */
static int phase_close(turn *t) {
  t->finish = FIN_BUDGET_EXCEEDED;
  size_t n = tkn_conv_count(t->work);
  size_t *all = tki_malloc((n ? n : 1) * sizeof *all);
  if (!all) return tki_fail(TKN_ERR_NOMEM, "turn: out of memory");
  tki_buf src, items;
  tki_buf_init(&src);
  tki_buf_init(&items);
  for (size_t i = 0; i < n; i++) all[i] = i;
  int rc = transcript(t->work, all, n, &src);
  tki_free(all);
  if (!rc) rc = ledger_items(src.data ? src.data : "", src.len, &items);
  if (!rc) rc = summarise_text(t, src.data ? src.data : "", src.len, 256, 0, &items);
  /* the hand-over keeps every identifier of the conversation */
  if (!rc) rc = summary_with_ledger(t, &items, 0);
  tki_buf_free(&items);
  tki_buf_free(&src);
  if (rc) {
    if (!t->failed) tki_fail(rc, "turn: out of memory");
    return rc;
  }
  if (set_lstr(&t->res->content, t->summary.s, t->summary.len))
    return tki_fail(TKN_ERR_NOMEM, "turn: out of memory");
  return TKN_OK;
}

/* 5. Trace: the "commit" step, and the trace as the result holds it. */
static int phase_trace(turn *t) {
  const char *finish = finish_names[t->finish];
  t->st.tier = t->tier;
  t->res->finish = finish;
  t->res->stats = t->st;
  step_begin(t, "commit");
  kv_cstr(t, "finish_reason", finish);
  kv_int(t, "calls", t->st.calls);
  kv_int(t, "input_tokens", t->st.input_tokens);
  kv_int(t, "cached_tokens", t->st.cached_tokens);
  kv_int(t, "output_tokens", t->st.output_tokens);
  kv_usd(t, "cost_usd", t->st.cost);
  step_end(t);
  tki_buf full;
  tki_buf_init(&full);
  tki_buf_puts(&full, "{\"finish_reason\":");
  tki_buf_json_string(&full, finish, strlen(finish));
  tki_buf_puts(&full, ",\"steps\":[");
  tki_buf_append(&full, t->trace.data ? t->trace.data : "", t->trace.len);
  tki_buf_puts(&full, "]}");
  if (t->trace.failed) full.failed = 1;
  t->res->trace = tki_buf_steal(&full, &t->res->trace_len);
  if (!t->res->trace) return tki_fail(TKN_ERR_NOMEM, "turn: out of memory writing the trace");
  return TKN_OK;
}

/* 6. Apply: the caller's conversation gets the pruning, then the answer
 * (when the agent appends replies and the turn ended with one). */
static int phase_apply(turn *t) {
  tkn_agent_result *res = t->res;
  tki_buf m;
  tki_buf_init(&m);
  int append = t->a->o.append_reply &&
               (t->finish == FIN_STOP || t->finish == FIN_LENGTH || t->finish == FIN_TOOL_CALLS);
  if (append) {
    tki_buf_puts(&m, "{\"role\":\"assistant\",\"content\":");
    tki_buf_json_string(&m, res->content.s ? res->content.s : "", res->content.len);
    if (res->tool_calls.len) {
      tki_buf_puts(&m, ",\"tool_calls\":");
      tki_buf_append(&m, res->tool_calls.s, res->tool_calls.len);
    }
    tki_buf_putc(&m, '}');
    if (m.failed) {
      tki_buf_free(&m);
      return tki_fail(TKN_ERR_NOMEM, "turn: out of memory");
    }
  }
  int rc = apply_to_conv(t, t->conv, &t->plan, append ? m.data : NULL, m.len);
  tki_buf_free(&m);
  if (rc == TKN_OK && t->ledger_used && t->a->prune.ledger) {
    *t->a->prune.ledger = t->ledger;
    t->a->ledger_conv = tki_conv_serial(t->conv);
    t->a->ledger_n = tkn_conv_count(t->conv);
  }
  return rc;
}

static int run_turn(tkn_agent *a, tkn_conv *conv, const tkn_agent_turn_options *opts,
                    tkn_agent_result **out) {
  if (!conv || !out) return tki_fail_null("tkn_agent_turn", !conv ? "conv" : "out");
  tkn_agent_turn_options defaults = TKN_AGENT_TURN_OPTIONS_INIT;
  int rc = check_turn_options(&opts, &defaults);
  if (rc) return rc;
  turn t;
  rc = turn_open(&t, a, conv, opts);
  if (!rc) rc = phase_budget(&t);
  if (!rc && !t.closed) rc = phase_tools(&t);
  if (!rc && !t.closed) rc = phase_route(&t);
  if (!rc && !t.closed && !t.unrouted) rc = phase_calls(&t);
  if (!rc && t.closed) rc = phase_close(&t);
  if (!rc) rc = phase_trace(&t);
  if (!rc) rc = phase_apply(&t);
  if (t.failed) rc = t.failed;
  if (rc) {
    tkn_agent_result_free(t.res);
    t.res = NULL;
  }
  turn_free(&t);
  *out = t.res;
  return rc;
}

/* A turn runs alone on its agent: a call back into it from one of the host's
 * callbacks (or from a second thread) would change the pieces and the
 * conversation under the running turn and vanish from its stats. */
int tkn_agent_turn(tkn_agent *a, tkn_conv *conv, const tkn_agent_turn_options *opts,
                   tkn_agent_result **out) {
  if (out) *out = NULL;
  if (!a) return tki_fail(TKN_ERR_INVALID, "turn: agent is NULL");
  if (atomic_exchange(&a->busy, 1))
    return tki_fail(TKN_ERR_STATE, "turn: the agent is already running a turn");
  tkn_agent_turn_options norm; /* the lengths may be TKN_NUL_TERMINATED */
  if (opts && opts->version == TKN_AGENT_TURN_OPTIONS_VERSION) {
    norm = *opts;
    norm.task_type_len = tki_len(norm.task_type, norm.task_type_len);
    norm.schema_json_len = tki_len(norm.schema_json, norm.schema_json_len);
    norm.dynamic_len = tki_len(norm.dynamic, norm.dynamic_len);
    norm.cache_key_len = tki_len(norm.cache_key, norm.cache_key_len);
    opts = &norm;
  }
  int rc = run_turn(a, conv, opts, out);
  atomic_store(&a->busy, 0);
  return rc;
}
