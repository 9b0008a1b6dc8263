/* The agent: construction, prompt pieces, the tool-cache helper and the
 * result object.  The turn itself is in turn.c. */
#include <stddef.h>
#include <string.h>

#include "../prune/prune_internal.h"
#include "agent_internal.h"

TKI_DEFINE_INIT_V1(tkn_agent_options_init, tkn_agent_options, opts, TKN_AGENT_OPTIONS_VERSION,
                   TKN_AGENT_OPTIONS_INIT, toolsel)

TKI_DEFINE_INIT(tkn_agent_turn_options_init, tkn_agent_turn_options, opts, TKN_AGENT_TURN_OPTIONS_VERSION,
                TKN_AGENT_TURN_OPTIONS_INIT)

static int copy_lstr(tki_lstr *dst, const char *s, size_t len) {
  dst->s = tki_strndup(s ? s : "", s ? len : 0);
  dst->len = s ? len : 0;
  return dst->s ? TKN_OK : TKN_ERR_NOMEM;
}

/* A part the agent makes for itself failed: its failure, with context. */
static int fail_new(tkn_agent *a, int rc, const char *msg) {
  tkn_agent_free(a);
  if (rc == TKN_ERR_NOMEM) return tki_fail(rc, "agent: %s: out of memory", msg);
  tki_fail_prefix("agent: %s: ", msg);
  return rc;
}

/* The agent's pruning options: the host's (a version 1 or 2 struct upgraded,
 * with degrade 0 as those versions had), else score mode (policy_by_default
 * may then choose the policy). */
static tkn_prune_options prune_options(const tkn_prune_options *given) {
  tkn_prune_options p = TKN_PRUNE_OPTIONS_INIT;
  if (given) {
    /* an older version's fields as they are, the rest their defaults (checked) */
    (void)tki_prune_options_norm(given, &p);
  } else {
    p.mode = TKN_PRUNE_SCORE;
  }
  return p;
}

/* Without the host's pruning options: the cache-economics policy when the
 * model's input and cache-read prices are known (a clear then pays for itself
 * at the call that makes it), score mode otherwise.  With a router the model
 * of a call is known only after pruning (the turn prunes in its budget phase,
 * before it routes), so the policy decides at the prices of the router's
 * dearest model (by input price) that has both prices: the decision depends
 * on the ratio of cache-read (and write) to input prices, and the dearest
 * model is where a wrong decision costs most. */
static void policy_by_default(tkn_agent *a) {
  tkn_model_price p = TKN_MODEL_PRICE_INIT;
  int found = 0;
  size_t n = a->o.router ? tkn_router_model_count(a->o.router) : 1;
  for (size_t i = 0; i < n; i++) {
    const char *m = a->o.router ? tkn_router_model_name(a->o.router, i) : a->model.s;
    size_t len = a->o.router ? (m ? strlen(m) : 0) : a->model.len;
    tkn_model_price q = TKN_MODEL_PRICE_INIT;
    if (!m || !len || tkn_prices_lookup(a->prices, m, len, &q) != TKN_OK) continue;
    if (!(q.has & TKN_PRICE_INPUT) || q.input_per_mtok <= 0 || !(q.has & TKN_PRICE_CACHE_READ) ||
        q.cache_read_per_mtok <= 0)
      continue;
    if (!found || q.input_per_mtok > p.input_per_mtok) p = q;
    found = 1;
  }
  if (!found) return;
  a->prune.mode = TKN_PRUNE_POLICY;
  a->prune.price_input_per_mtok = p.input_per_mtok;
  a->prune.price_cache_read_per_mtok = p.cache_read_per_mtok;
  int anthropic = a->o.provider == TKN_PROVIDER_ANTHROPIC;
  /* Anthropic writes the prefix at a premium and caches it exactly; OpenAI
   * caches 128-token blocks and writes at the input price */
  if (anthropic && (p.has & TKN_PRICE_CACHE_WRITE_5M))
    a->prune.price_cache_write_per_mtok = p.cache_write_5m_per_mtok;
  a->prune.cache_block_tokens = anthropic ? 0 : 128;
  /* a clear may count on the next call, risking only what the conversation's
   * clears so far saved (on the recorded traces: -5.5% against -5.2% at once) */
  a->prune.horizon_calls = 1;
  a->prune.ledger = &a->own_ledger;
}

/* The options checked before anything is made. */
static int check_options(const tkn_agent_options *opts) {
  if (opts->llm.version != TKN_LLM_CALLBACKS_VERSION) {
    return tki_fail(TKN_ERR_VERSION, "agent options: llm callbacks of an unknown version");
  }
  if (!opts->llm.complete) {
    return tki_fail(TKN_ERR_INVALID, "agent options: llm.complete is required");
  }
  if (!opts->router && (!opts->model || !opts->model_len)) {
    return tki_fail(TKN_ERR_INVALID, "agent options: a router or a model is required");
  }
  if (tki_provider_check(opts->provider, 0)) {
    int rc = tki_fail(tki_provider_check(opts->provider, 0), "agent options: provider %d: %s",
                      (int)opts->provider, tki_provider_why(opts->provider));
    return rc;
  }
  if (opts->output_cap <= 0 || opts->max_context_tokens < 0) {
    return tki_fail(TKN_ERR_INVALID,
                    "agent options: output_cap must be > 0 and max_context_tokens >= 0");
  }
  if (opts->context_target_tokens < 0 || (opts->context_target_tokens > 0 &&
                                           opts->context_target_tokens > opts->max_context_tokens)) {
    return tki_fail(TKN_ERR_INVALID, "agent options: context_target_tokens must be >= 0 and at most "
                 "max_context_tokens");
  }
  tkn_schema_retry_step probe;
  if (tkn_schema_retry_next(&opts->retry, 1, &probe) != TKN_OK) {
    return tki_fail(TKN_ERR_INVALID, "agent options: retry options out of range (see schema.h)");
  }
  if (opts->toolsel) {
    if (!opts->toolsel_k || opts->toolsel_reserved)
      return tki_fail(TKN_ERR_INVALID, "agent options: toolsel_k must be >= 1 and "
                      "toolsel_reserved 0 with a tool catalogue");
    if (!opts->toolsel_always && opts->toolsel_always_n)
      return tki_fail(TKN_ERR_INVALID, "agent options: toolsel_always is NULL with a count");
    size_t ntools = tkn_toolsel_count(opts->toolsel);
    for (size_t i = 0; i < opts->toolsel_always_n; i++)
      if (opts->toolsel_always[i] >= ntools)
        return tki_fail(TKN_ERR_INVALID, "agent options: toolsel_always[%zu] = %u is not a tool "
                        "of the catalogue (%zu tools)", i, (unsigned)opts->toolsel_always[i],
                        ntools);
  }
  if (opts->prune && (opts->prune->version < 1 ||
                      opts->prune->version > TKN_PRUNE_OPTIONS_VERSION)) {
    return tki_fail(TKN_ERR_VERSION, "agent options: prune options of an unknown version");
  }
  return TKN_OK;
}

/* A model the price table does not know costs 0 per call: under a hard
 * money limit the budget would never stop it (a typo, "gpt-4o-typo", spends
 * without bound).  Every model the agent can call (the fixed one, or every
 * model of every router tier) is checked: refused at creation, not found at
 * the bill. */
static int check_price(const tkn_agent *a, const char *model) {
  tkn_model_price mp = TKN_MODEL_PRICE_INIT;
  int rc = tkn_prices_lookup(a->prices, model, strlen(model), &mp);
  if (rc == TKN_OK) return TKN_OK;
  return tki_fail(rc, "agent options: %smodel \"%s\" has no price in the table (%s), so the "
                  "budget's money limit could not stop its calls; give prices that have it",
                  a->o.router ? "router " : "", model,
                  rc == TKN_ERR_UNSUPPORTED ? "its entry was skipped" : "not found");
}

static int check_priced(const tkn_agent *a) {
  if (!a->o.budget) return TKN_OK;
  tkn_budget_state st = TKN_BUDGET_STATE_INIT;
  if (tkn_budget_status(a->o.budget, &st) != TKN_OK) return tkn_error_last()->status;
  if (st.money_remaining == TKN_BUDGET_UNLIMITED) return TKN_OK;
  if (!a->o.router) return a->model.s ? check_price(a, a->model.s) : TKN_OK;
  size_t n = tkn_router_model_count(a->o.router);
  for (size_t i = 0; i < n; i++) {
    int rc = check_price(a, tkn_router_model_name(a->o.router, i));
    if (rc) return rc;
  }
  return TKN_OK;
}

int tkn_agent_new(tkn_agent **out, const tkn_agent_options *opts) {
  if (out) *out = NULL;
  if (!out || !opts) return tki_fail_null("tkn_agent_new", !out ? "out" : "opts");
  if (opts->version != TKN_AGENT_OPTIONS_VERSION && opts->version != 1) {
    return tki_fail(TKN_ERR_VERSION, "agent options: unknown version");
  }
  tkn_agent_options norm = TKN_AGENT_OPTIONS_INIT;
  if (opts->version == 1) /* a version 1 struct ends before the tool selection */
    memcpy(&norm, opts, offsetof(tkn_agent_options, toolsel));
  else
    norm = *opts;
  norm.version = TKN_AGENT_OPTIONS_VERSION;
  /* the lengths may be TKN_NUL_TERMINATED */
  norm.model_len = tki_len(norm.model, norm.model_len);
  norm.workflow_len = tki_len(norm.workflow, norm.workflow_len);
  norm.tenant_len = tki_len(norm.tenant, norm.tenant_len);
  opts = &norm;
  int rc = check_options(opts);
  if (rc) return rc;
  tkn_agent *a = tki_calloc(1, sizeof *a);
  if (!a) {
    return tki_fail(TKN_ERR_NOMEM, "out of memory");
  }
  a->o = *opts;
  if (copy_lstr(&a->model, opts->model, opts->model_len) ||
      copy_lstr(&a->workflow, opts->workflow, opts->workflow_len) ||
      copy_lstr(&a->tenant, opts->tenant, opts->tenant_len))
    return fail_new(a, TKN_ERR_NOMEM, "copying the options");
  a->o.model = a->model.s;
  a->o.workflow = a->workflow.s;
  a->o.tenant = a->tenant.s;
  a->o.prune = NULL;
  a->o.toolsel_always = NULL;
  if (opts->toolsel && opts->toolsel_always_n) {
    a->always = tki_calloc(opts->toolsel_always_n, sizeof *a->always);
    if (!a->always) return fail_new(a, TKN_ERR_NOMEM, "copying the options");
    memcpy(a->always, opts->toolsel_always, opts->toolsel_always_n * sizeof *a->always);
    a->o.toolsel_always = a->always;
  }
  if (opts->tokenizer) {
    a->tok = opts->tokenizer;
  } else {
    /* the estimator calibrated for the model's encoding (a cl100k_base model
     * writes CJK in about 30% more tokens than an o200k_base one); the
     * o200k_base one when no model or an unknown one is named */
    const char *enc =
        a->model.s ? tkn_tokenizer_encoding_for_model(a->model.s, strlen(a->model.s)) : NULL;
    rc = enc ? tkn_tokenizer_new_estimator_for(&a->own_tok, enc, strlen(enc))
             : tkn_tokenizer_new_estimator(&a->own_tok);
    if (rc) return fail_new(a, rc, "cannot make the estimator tokenizer");
    a->tok = a->own_tok;
  }
  if (opts->prices) {
    a->prices = opts->prices;
  } else {
    rc = tkn_prices_new_default(&a->own_prices);
    if (rc) return fail_new(a, rc, "cannot load the built-in price table");
    a->prices = a->own_prices;
  }
  rc = check_priced(a);
  if (rc) {
    tkn_agent_free(a);
    return rc;
  }
  a->prune = prune_options(opts->prune);
  if (!opts->prune) policy_by_default(a);
  rc = tkn_prune_new(&a->pruner, a->tok);
  if (rc) return fail_new(a, rc, "cannot make the pruner");
  rc = tkn_prompt_builder_new(&a->check, NULL);
  if (rc) return fail_new(a, rc, "cannot make the prompt builder");
  *out = a;
  return TKN_OK;
}

void tkn_agent_free(tkn_agent *a) {
  if (!a) return;
  for (size_t i = 0; i < a->n_pieces; i++) {
    tki_free(a->pieces[i].name);
    tki_free(a->pieces[i].text);
  }
  tki_free(a->pieces);
  tkn_prompt_builder_free(a->check);
  tkn_prune_free(a->pruner);
  tkn_prices_free(a->own_prices);
  tkn_tokenizer_free(a->own_tok);
  tki_free(a->model.s);
  tki_free(a->workflow.s);
  tki_free(a->tenant.s);
  tki_free(a->always);
  tki_free(a);
}

/* Room for one more piece; the copies are made before the checking builder
 * sees the piece, so a failure leaves agent and builder as they were. */
static int reserve_piece(tkn_agent *a) {
  if (a->n_pieces >= TKN_PROMPT_MAX_SEGMENTS)
    return tki_fail(TKN_ERR_LIMIT, "more than %d prompt pieces", TKN_PROMPT_MAX_SEGMENTS);
  if (tki_grow((void **)&a->pieces, &a->cap_pieces, a->n_pieces + 1, sizeof *a->pieces))
    return tki_fail(TKN_ERR_NOMEM, "out of memory");
  return TKN_OK;
}

int tkn_agent_add_text(tkn_agent *a, uint32_t kind, uint32_t stability, const char *name,
                       size_t name_len, const char *text, size_t text_len) {
  name_len = tki_len(name, name_len);
  text_len = tki_len(text, text_len);
  if (!a) return tki_fail_null("tkn_agent_add_text", "agent");
  if (atomic_load(&a->busy))
    return tki_fail(TKN_ERR_STATE, "add_text: the agent is in a turn");
  if ((!name && name_len) || (!text && text_len))
    return tki_fail(TKN_ERR_INVALID, "tkn_agent_add_text: %s is NULL with a length",
                    !name && name_len ? "name" : "text");
  int rc = reserve_piece(a);
  if (rc) return rc;
  tki_piece p = {0, kind, stability, tki_strndup(name ? name : "", name_len), name_len,
                 tki_strndup(text ? text : "", text_len), text_len};
  if (!p.name || !p.text) {
    tki_free(p.name);
    tki_free(p.text);
    return tki_fail(TKN_ERR_NOMEM, "add_text: out of memory");
  }
  rc = tkn_prompt_builder_add_text(a->check, kind, stability, p.name, name_len, p.text, text_len,
                                   NULL);
  if (rc) {
    tki_free(p.name);
    tki_free(p.text);
    return tki_fail(rc, "add_text: %s", tki_error_message());
  }
  a->pieces[a->n_pieces++] = p;
  return TKN_OK;
}

int tkn_agent_add_tool(tkn_agent *a, const char *json, size_t len) {
  len = tki_len(json, len);
  if (!a) return tki_fail_null("tkn_agent_add_tool", "agent");
  if (atomic_load(&a->busy))
    return tki_fail(TKN_ERR_STATE, "add_tool: the agent is in a turn");
  if (!json) return tki_fail_null("tkn_agent_add_tool", "json");
  int rc = reserve_piece(a);
  if (rc) return rc;
  tki_piece p = {1, TKN_SEG_TOOLS, TKN_STABILITY_STATIC, NULL, 0, tki_strndup(json, len), len};
  if (!p.text) return tki_fail(TKN_ERR_NOMEM, "add_tool: out of memory");
  rc = tkn_prompt_builder_add_tool(a->check, p.text, len, NULL);
  if (rc) {
    tki_free(p.text);
    return tki_fail(rc, "add_tool: %s", tki_error_message());
  }
  a->pieces[a->n_pieces++] = p;
  return TKN_OK;
}

int tkn_agent_tool(tkn_agent *a, const char *tool, size_t tool_len, const char *args,
                   size_t args_len, const char *scope_id, size_t scope_id_len,
                   tkn_agent_tool_fn run, void *user, char **value, size_t *value_len,
                   int32_t *hit) {
  tool_len = tki_len(tool, tool_len);
  args_len = tki_len(args, args_len);
  scope_id_len = tki_len(scope_id, scope_id_len);
  if (value) *value = NULL;
  if (value_len) *value_len = 0;
  if (hit) *hit = 0;
  if (!a) return tki_fail(TKN_ERR_INVALID, "tkn_agent_tool: agent is NULL");
  if (!tool || !args || !run || !value || !value_len)
    return tki_fail_null("tkn_agent_tool",
                         !tool ? "tool" : !args ? "args" : !run ? "run"
                         : !value ? "value" : "value_len");
  if (!scope_id && scope_id_len)
    return tki_fail(TKN_ERR_INVALID, "tkn_agent_tool: scope_id is NULL with a length");
  int cacheable = a->o.toolcache && tkn_toolcache_is_cacheable(a->o.toolcache, tool, tool_len);
  if (cacheable) {
    int rc = tkn_toolcache_get(a->o.toolcache, tool, tool_len, args, args_len,
                               scope_id ? scope_id : "", scope_id_len, value, value_len);
    if (rc == TKN_OK) {
      if (hit) *hit = 1;
      return TKN_OK;
    }
    if (rc != TKN_ERR_NOT_FOUND) {
      return tki_fail_prefix("tool %.*s: cache lookup failed: ", (int)tool_len, tool);
    }
  }
  const char *res = NULL;
  size_t res_len = 0;
  if (run(tool, tool_len, args, args_len, &res, &res_len, user) != 0 || (!res && res_len))
    return tki_fail(TKN_ERR_CALLBACK, "tool %.*s: the host's runner failed", (int)tool_len,
                   tool);
  char *copy = tki_strndup(res ? res : "", res_len);
  if (!copy) return tki_fail(TKN_ERR_NOMEM, "tool: out of memory");
  if (cacheable) {
    int rc = tkn_toolcache_put(a->o.toolcache, tool, tool_len, args, args_len,
                               scope_id ? scope_id : "", scope_id_len, copy, res_len, -1);
    if (rc == TKN_ERR_INVALID) /* the cache has no tokenizer: count with ours */ {
      int64_t t = 0;
      if (tkn_tokenizer_count(a->tok, copy, res_len, &t) == TKN_OK)
        rc = tkn_toolcache_put(a->o.toolcache, tool, tool_len, args, args_len,
                               scope_id ? scope_id : "", scope_id_len, copy, res_len, t);
    }
    if (rc && rc != TKN_ERR_LIMIT) {
      tki_free(copy);
      if (rc != tki_error_status()) /* the count above failed, not the put */
        return tki_fail(rc, "tool %.*s: cache store failed", (int)tool_len, tool);
      return tki_fail_prefix("tool %.*s: cache store failed: ", (int)tool_len, tool);
    }
  }
  *value = copy;
  *value_len = res_len;
  return TKN_OK;
}

/* ---- the result ---- */

void tkn_agent_result_free(tkn_agent_result *r) {
  if (!r) return;
  tki_free(r->content.s);
  tki_free(r->tool_calls.s);
  tki_free(r->model.s);
  tki_free(r->trace);
  tki_free(r);
}

static const char *lstr_get(const tki_lstr *s, size_t *len) {
  if (len) *len = s->s ? s->len : 0;
  return s->s ? s->s : "";
}

const char *tkn_agent_result_content(const tkn_agent_result *r, size_t *len) {
  if (!r) {
    if (len) *len = 0;
    return "";
  }
  return lstr_get(&r->content, len);
}

const char *tkn_agent_result_tool_calls(const tkn_agent_result *r, size_t *len) {
  if (!r) {
    if (len) *len = 0;
    return "";
  }
  return lstr_get(&r->tool_calls, len);
}

const char *tkn_agent_result_finish_reason(const tkn_agent_result *r) {
  return r && r->finish ? r->finish : "";
}

const char *tkn_agent_result_model(const tkn_agent_result *r) {
  return r ? lstr_get(&r->model, NULL) : "";
}

const char *tkn_agent_result_trace(const tkn_agent_result *r, size_t *len) {
  if (!r || !r->trace) {
    if (len) *len = 0;
    return "";
  }
  if (len) *len = r->trace_len;
  return r->trace;
}

int tkn_agent_result_stats(const tkn_agent_result *r, tkn_agent_stats *stats) {
  if (!r || !stats) return tki_fail_null("tkn_agent_result_stats", !r ? "res" : "stats");
  if (stats->version != TKN_AGENT_STATS_VERSION) return tki_fail(TKN_ERR_VERSION, "tkn_agent_result_stats: unknown version");
  *stats = r->stats;
  return TKN_OK;
}
