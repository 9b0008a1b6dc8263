/* tokenomy simulate: replay a workload of agent workflows through the full
 * agent turn against the simulated model, over several seeds, in several
 * configurations: three baselines a user would otherwise run (a naive agent
 * with a stable prompt on the provider's automatic caching; the same agent
 * stamping each request with the time first, as a labelled worst case; the
 * cheapest model everywhere), the optimised run, routing with and without the
 * cascade, and the optimised run without each technique (or every
 * combination of techniques, for exact Shapley shares).  Quality is always
 * beside cost: wrong, truncated and over-brief answers count as wrong. */
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define T_PRUNE 1u   /* budgets + context pruning */
#define T_ROUTE 2u   /* routing to the cheapest capable tier, cascade */
#define T_CACHE 4u   /* cache-friendly prompt: static prefix first */
#define T_BATCH 8u   /* batch for latency-insensitive work */
#define T_CAPS 16u   /* output caps and structured output */
#define T_TOOLC 32u  /* tool-result cache: re-fetches served from it */
#define T_ALL 63u

static const struct {
  unsigned bit;
  const char *name;
} TECHNIQUES[] = {{T_PRUNE, "budgets + context pruning"},
                  {T_ROUTE, "routing + cascade"},
                  {T_CACHE, "prompt caching of static prefixes"},
                  {T_BATCH, "batch for latency-insensitive work"},
                  {T_CAPS, "output caps + structured output"},
                  {T_TOOLC, "tool-result cache"}};
#define N_TECH 6

/* One configuration of a run. */
typedef struct run_cfg {
  const char *key, *name;
  unsigned tech;
  int volatile_first;  /* the naive prompt starts with the time and a request id */
  int cheap;           /* without routing: the cheapest model, not the baseline's */
  int no_cascade;      /* with routing: never escalate on low confidence */
} run_cfg;

static const char HELP[] =
    "usage: tokenomy simulate [--workload NAME|FILE] [--seed N] [--seeds K] [--shapley]\n"
    "                         [--json] [--export-meter FILE] [--export-baseline-meter FILE]\n"
    "                         [--dump-workload]\n"
    "\n"
    "Replay a workload of agent workflows through the full agent turn against a\n"
    "built-in deterministic simulated model (no keys, no network), over K seeds, and\n"
    "print per configuration the mean and range of cost and of wrong answers, the\n"
    "cost per correct answer, and which configurations are on the cost/quality\n"
    "Pareto front.  Configurations: the baseline (a naive agent with a stable prompt\n"
    "on the provider's automatic caching: frontier model, full history, the\n"
    "reference in the system text, the time last); the same agent stamping the time\n"
    "and a request id first (worst case: it never reuses a cached prefix); the\n"
    "cheapest model everywhere; the optimised run (six techniques); routing with\n"
    "and without the cascade; and the optimised run without each technique, whose\n"
    "cost differences give each technique's share (leave-one-out, with the\n"
    "interaction remainder), or with --shapley exact Shapley shares over all 64\n"
    "combinations.  Every run is costed with the same prompt-cache model and exact\n"
    "o200k counts.  Wrong answers include answers cut by an output cap and answers\n"
    "shorter than their task needs; cascade confidence separates right from wrong\n"
    "answers only as well as the workload's confidence_auroc (0.7) says.\n"
    "\n"
    "  --workload W      support-agent (default), document-pipeline, code-reviewer,\n"
    "                    or a workload JSON file (README, section 'Workload format')\n"
    "  --seed N          the first seed (1); seeds N..N+K-1 generate the bundled\n"
    "                    workload and drive the simulated model\n"
    "  --seeds K         how many seeds (10)\n"
    "  --shapley         exact Shapley attribution (64 runs per seed)\n"
    "  --json            the figures as JSON instead of tables\n"
    "  --export-meter F  write the first seed's optimised run's meter export (JSON)\n"
    "  --export-baseline-meter F  the same for the baseline run (for `tokenomy report\n"
    "                    --baseline F`: baseline beside optimised)\n"
    "                    to F, for `tokenomy report`\n"
    "  --dump-workload   print the first seed's workload JSON and stop\n";

typedef struct run_stats {
  int64_t turns, calls, input, cached, cache_write, output, cost;
  int64_t validated, passed, escalations, retries, val_failures, facts_lost, wrong;
  int64_t budget_exceeded, pruned, summaries, batch_calls, errors, truncated;
  int64_t degraded;     /* answers cut by a cap or shorter than the task needs */
  int64_t tool_hits;    /* tool calls served by the tool-result cache */
  double auroc;         /* realised AUROC of the reported confidences */
  /* the measures of the table of expected reductions */
  int64_t long_input;   /* input tokens of workflows over 8 turns */
  int64_t struct_out;   /* output tokens of task types with a schema */
  int64_t batch_cost;   /* cost of the latency-insensitive turns */
  int64_t input_cost;   /* input-side cost at list prices (cache reads at their price) */
  int64_t input_cost_all_cached; /* the same input, every token a cache read: caching's floor */
  int64_t input_cost_uncached;   /* the same input, no token a cache read */
  int64_t model_calls[SIM_MAX_MODELS];
  char model_names[SIM_MAX_MODELS][64];
  size_t n_models;
  char err[512];
} run_stats;

typedef struct ctx {
  cJSON *wl;
  uint64_t seed;
  const tkn_tokenizer *tok;
  const tkn_prices *prices;
  tkn_router *router;
  const char *baseline;
  char cheap[64];       /* the model with the lowest input price */
  const char *export_path;          /* the optimised run's meter export */
  const char *export_baseline_path; /* the baseline run's */
} ctx;

static const char *str(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double num(const cJSON *o, const char *k, double dflt) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

/* The system text: instructions, then (optimised) the brevity rule, then
 * (without the cache-friendly layout) the reference documents in the same
 * text; the worst case puts a timestamp and request id first. */
static char *system_text(const ctx *c, const run_cfg *cfg, int64_t now_ms, const char *req_id) {
  unsigned tech = cfg->tech;
  const char *sys = str(c->wl, "system"), *ref = str(c->wl, "reference"),
             *brev = str(c->wl, "brevity");
  size_t cap = strlen(sys) + (ref ? strlen(ref) : 0) + (brev ? strlen(brev) : 0) + 256;
  char *b = malloc(cap);
  if (!b) return NULL;
  size_t o = 0;
  if (cfg->volatile_first)
    o += (size_t)snprintf(b + o, cap - o, "Current time: %lld. Request id: %s.\n\n",
                          (long long)(now_ms / 1000), req_id);
  o += (size_t)snprintf(b + o, cap - o, "%s", sys);
  if ((tech & T_CAPS) && brev) o += (size_t)snprintf(b + o, cap - o, " %s", brev);
  if (ref && (tech & T_CACHE) == 0) snprintf(b + o, cap - o, "\n\n%s", ref);
  return b;
}

static int add_pieces(const ctx *c, tkn_agent *a, const run_cfg *cfg, int64_t now_ms,
                      const char *req_id) {
  unsigned tech = cfg->tech;
  const cJSON *t;
  cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(c->wl, "tools")) {
    char *js = cJSON_PrintUnformatted(t);
    int rc = js ? tkn_agent_add_tool(a, js, strlen(js)) : TKN_ERR_NOMEM;
    free(js);
    if (rc) return rc;
  }
  char *sys = system_text(c, cfg, now_ms, req_id);
  if (!sys) return TKN_ERR_NOMEM;
  int rc = tkn_agent_add_text(a, TKN_SEG_STATIC, TKN_STABILITY_STATIC, "system", 6, sys,
                              strlen(sys));
  free(sys);
  const char *ref = str(c->wl, "reference");
  if (!rc && ref && (tech & T_CACHE))
    rc = tkn_agent_add_text(a, TKN_SEG_REFERENCE, TKN_STABILITY_STATIC, "reference", 9, ref,
                            strlen(ref));
  return rc;
}

/* The answer's self-reported confidence ("confidence": 0.8 in JSON, or
 * "Confidence 0.8" in prose), as the cascade's scorer. */
static int score_confidence(const char *content, size_t len, double *confidence, void *user) {
  (void)user;
  const char *k = NULL;
  for (size_t i = 0; i + 10 <= len && !k; i++)
    if (!strncmp(content + i, "onfidence", 9)) k = content + i + 9;
  if (!k) return 1;
  while (k < content + len && (*k == '"' || *k == ':' || *k == ' ')) k++;
  char buf[16];
  size_t n = 0;
  while (k + n < content + len && n < sizeof buf - 1 && ((k[n] >= '0' && k[n] <= '9') || k[n] == '.')) n++;
  if (!n) return 1;
  memcpy(buf, k, n);
  buf[n] = '\0';
  *confidence = strtod(buf, NULL);
  return 0;
}

static tkn_agent *make_agent(const ctx *c, sim *s, const run_cfg *cfg, const cJSON *flow,
                             tkn_budget *budget, tkn_meter *meter, tkn_toolcache *tc,
                             const tkn_prune_options *po, int64_t now_ms, const char *req_id,
                             char *err, size_t errlen) {
  unsigned tech = cfg->tech;
  const cJSON *opt = cJSON_GetObjectItemCaseSensitive(c->wl, "optimise");
  tkn_agent_options o = TKN_AGENT_OPTIONS_INIT;
  o.llm.complete = sim_complete;
  o.llm.user = s;
  o.tokenizer = c->tok;
  o.prices = c->prices;
  o.meter = meter;
  if (tech & T_ROUTE) {
    o.router = c->router;
    o.cascade_score = score_confidence;
    o.cascade = !cfg->no_cascade;
  } else {
    o.model = cfg->cheap ? c->cheap : c->baseline;
    o.model_len = strlen(o.model);
  }
  o.toolcache = tc;
  if (tech & T_PRUNE) {
    o.budget = budget;
    o.max_context_tokens = (int64_t)num(opt, "max_context_tokens", 1800);
    o.context_target_tokens = (int64_t)num(opt, "context_target_tokens", 0);
    o.prune = po;
  }
  o.output_cap = (tech & T_CAPS) ? 1024 : 4096;
  o.workflow = str(flow, "workflow");
  o.workflow_len = strlen(o.workflow);
  o.tenant = str(flow, "tenant");
  o.tenant_len = o.tenant ? strlen(o.tenant) : 0;
  tkn_agent *a = NULL;
  if (cli_keep_err(tkn_agent_new(&a, &o), err, errlen)) return NULL;
  if (add_pieces(c, a, cfg, now_ms, req_id)) {
    snprintf(err, errlen, "prompt pieces: %s", tkn_error_last()->message);
    tkn_agent_free(a);
    return NULL;
  }
  return a;
}

static int set_task(tkn_task *task, const cJSON *turn) {
  const char *type = str(turn, "task_type");
  int rc = tkn_task_set_string(task, "task_type", 9, type, strlen(type));
  const cJSON *tags = cJSON_GetObjectItemCaseSensitive(turn, "tags");
  const char *vals[16];
  size_t lens[16], n = 0;
  const cJSON *t;
  cJSON_ArrayForEach(t, tags) {
    if (n < 16 && cJSON_IsString(t)) {
      vals[n] = t->valuestring;
      lens[n++] = strlen(t->valuestring);
    }
  }
  if (!rc) rc = tkn_task_set_strings(task, "tags", 4, vals, lens, n);
  return rc;
}

/* Add the figures of one tkn_agent_turn to the run's. */
static void add_stats(run_stats *rs, const tkn_agent_result *r, int long_flow, int structured,
                      int batch) {
  tkn_agent_stats st = TKN_AGENT_STATS_INIT;
  tkn_agent_result_stats(r, &st);
  rs->calls += st.calls;
  rs->input += st.input_tokens;
  rs->cached += st.cached_tokens;
  rs->cache_write += st.cache_write_tokens;
  rs->output += st.output_tokens;
  rs->cost += st.cost;
  if (long_flow) rs->long_input += st.input_tokens;
  if (structured) rs->struct_out += st.output_tokens;
  if (batch) rs->batch_cost += st.cost;
  rs->escalations += st.escalations;
  rs->retries += st.retries;
  rs->val_failures += st.validation_failures;
  rs->pruned += st.pruned_messages;
  rs->summaries += st.summaries;
}

static int64_t sim_clock(void *user) {
  return *(const int64_t *)user;
}

/* The host runs the turn's tool (tkn_agent_tool's callback). */
static int run_tool(const char *tool, size_t tool_len, const char *args, size_t args_len,
                    const char **result, size_t *result_len, void *user) {
  (void)tool, (void)tool_len, (void)args, (void)args_len;
  const char *r = user;
  *result = r;
  *result_len = strlen(r);
  return 0;
}

/* Tools whose names say they only read are cacheable; the rest act. */
static int read_only(const char *name) {
  return !strncmp(name, "lookup", 6) || !strncmp(name, "search", 6) || !strncmp(name, "read", 4) ||
         !strncmp(name, "fetch", 5);
}

/* The host ran the tool the model asked for: its result, as a "tool"
 * message answering the first call's id. */
static int append_tool_result(tkn_conv *conv, const tkn_agent_result *r, const char *result) {
  if (!result) return TKN_ERR_NOMEM;
  size_t tl = 0;
  const char *tc = tkn_agent_result_tool_calls(r, &tl);
  cJSON *calls = cJSON_ParseWithLength(tc, tl);
  const cJSON *id = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(calls, 0), "id");
  cJSON *m = cJSON_CreateObject();
  cJSON_AddStringToObject(m, "role", "tool");
  cJSON_AddStringToObject(m, "tool_call_id", cJSON_IsString(id) ? id->valuestring : "call_0");
  cJSON_AddStringToObject(m, "content", result ? result : "");
  char *js = cJSON_PrintUnformatted(m);
  cJSON_Delete(m);
  cJSON_Delete(calls);
  int rc = js ? tkn_conv_insert_json(conv, tkn_conv_count(conv), TKN_PROVIDER_OPENAI, js, strlen(js))
              : TKN_ERR_NOMEM;
  free(js);
  return rc;
}

/* One run: the simulated model and the parts the agents of every workflow
 * borrow, with the workload's compiled schemas. */
typedef struct run_state {
  const ctx *c;
  const run_cfg *cfg;
  run_stats *rs;
  sim s; /* its address is the agents' llm.user and the tool cache's clock */
  tkn_toolcache *tc;
  tkn_meter *meter;
  tkn_prune_options po;
  const cJSON *opt, *schemas, *caps;
  tkn_schema *compiled[32]; /* one per task type */
  const char *compiled_type[32];
  char *compiled_text[32];
  size_t n_compiled;
} run_state;

/* One workflow across its turns. */
typedef struct flow_state {
  const cJSON *flow;
  tkn_budget *budget;
  tkn_conv *conv;
  tkn_agent *agent; /* NULL in the worst case, which makes an agent per request */
  int long_flow;
} flow_state;

static tkn_agent *flow_agent(run_state *st, const flow_state *fs, int64_t now_ms,
                             const char *req_id) {
  return make_agent(st->c, &st->s, st->cfg, fs->flow, fs->budget, st->meter, st->tc, &st->po,
                    now_ms, req_id, st->rs->err, sizeof st->rs->err);
}

/* The tool-result cache: the read-only tools cacheable for the workload's TTL. */
static int run_toolcache(run_state *st) {
  tkn_toolcache_options tco = TKN_TOOLCACHE_OPTIONS_INIT;
  tco.clock = sim_clock;
  tco.clock_user = &st->s.now_ms;
  int64_t ttl = (int64_t)num(st->c->wl, "tool_ttl_ms", 600000);
  int rc = tkn_toolcache_new(&st->tc, &tco);
  const cJSON *t;
  cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(st->c->wl, "tools")) {
    const char *name = str(t, "name");
    if (!rc && name)
      rc = tkn_toolcache_set_policy(st->tc, name, strlen(name), read_only(name), ttl,
                                    TKN_TOOLCACHE_SCOPE_RUN);
  }
  if (rc) snprintf(st->rs->err, sizeof st->rs->err, "tool cache: %s", tkn_strerror(rc));
  return rc ? 2 : 0;
}

static int run_schemas(run_state *st) {
  const cJSON *sc;
  cJSON_ArrayForEach(sc, st->schemas) {
    if (st->n_compiled == 32) break;
    char *js = cJSON_PrintUnformatted(sc);
    char e[256];
    if (!js || cli_keep_err(tkn_schema_compile(&st->compiled[st->n_compiled], js, strlen(js),
                                               NULL),
                            e, sizeof e)) {
      snprintf(st->rs->err, sizeof st->rs->err, "workload: schemas.%s: %s", sc->string,
               js ? e : "out of memory");
      free(js);
      return 2;
    }
    st->compiled_type[st->n_compiled] = sc->string;
    st->compiled_text[st->n_compiled++] = js;
  }
  return 0;
}

/* 0, or 2 with rs->err set; run_close frees what was made either way. */
static int run_open(run_state *st, const ctx *c, const run_cfg *cfg, run_stats *rs) {
  memset(st, 0, sizeof *st);
  memset(rs, 0, sizeof *rs);
  st->c = c;
  st->cfg = cfg;
  st->rs = rs;
  if (sim_init(&st->s, c->wl, c->seed, c->tok, c->prices, (cfg->tech & T_BATCH) != 0)) {
    snprintf(rs->err, sizeof rs->err, "out of memory");
    return 2;
  }
  if ((cfg->tech & T_TOOLC) && run_toolcache(st)) return 2;
  tkn_meter_options mo = TKN_METER_OPTIONS_INIT;
  mo.prices = c->prices;
  if (tkn_meter_new(&st->meter, &mo)) {
    snprintf(rs->err, sizeof rs->err, "cannot make the meter");
    return 2;
  }
  st->opt = cJSON_GetObjectItemCaseSensitive(c->wl, "optimise");
  tkn_prune_options po = TKN_PRUNE_OPTIONS_INIT;
  po.mode = TKN_PRUNE_SUMMARISE; /* the middle is summarised through the cheap tier */
  po.keep_last_turns = (uint32_t)num(st->opt, "keep_last_turns", 2);
  st->po = po;
  st->schemas = cJSON_GetObjectItemCaseSensitive(c->wl, "schemas");
  st->caps = cJSON_GetObjectItemCaseSensitive(c->wl, "caps");
  return run_schemas(st);
}

static void run_close(run_state *st) {
  for (size_t i = 0; i < st->n_compiled; i++) {
    tkn_schema_free(st->compiled[i]);
    free(st->compiled_text[i]);
  }
  tkn_meter_free(st->meter);
  tkn_toolcache_free(st->tc);
  sim_free(&st->s);
}

/* The turn's options: its task, the time and request id last (a stable
 * prompt), one cache key, and with caps its schema and output cap. */
static void turn_options(const run_state *st, const cJSON *turn, tkn_task *task,
                         const char *req_id, char *dyn, size_t dyn_cap,
                         tkn_agent_turn_options *to) {
  const char *type = str(turn, "task_type");
  to->task = task;
  to->task_type = type;
  to->task_type_len = strlen(type);
  to->batch = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(turn, "batch"));
  if (!st->cfg->volatile_first) {
    snprintf(dyn, dyn_cap, "Current time: %lld. Request id: %s.",
             (long long)(st->s.now_ms / 1000), req_id);
    to->dynamic = dyn;
    to->dynamic_len = strlen(dyn);
  }
  if (st->cfg->tech & T_CACHE) {
    /* OpenAI routes requests with one key to the same cache machines:
     * one key for the requests that share the static prefix */
    to->cache_key = str(st->c->wl, "name");
    to->cache_key_len = strlen(to->cache_key);
  }
  if (st->cfg->tech & T_CAPS) {
    for (size_t i = 0; i < st->n_compiled; i++) {
      if (!strcmp(st->compiled_type[i], type)) {
        to->schema = st->compiled[i];
        to->schema_json = st->compiled_text[i];
        to->schema_json_len = strlen(st->compiled_text[i]);
      }
    }
    to->output_cap = (int64_t)num(st->caps, type, 0);
  }
}

/* The host runs the tool the model asked for and appends its result.
 * Through the tool cache, on a hit of a re-fetch the host points at the
 * earlier result instead of appending it again (the record may have changed
 * since: then the answer lacks it). */
static int host_tool(run_state *st, const flow_state *fs, tkn_agent *a, const cJSON *tool,
                     const tkn_agent_result *r) {
  if (!st->tc) return append_tool_result(fs->conv, r, str(tool, "result"));
  const char *tn = str(tool, "name"), *ta = str(tool, "arguments"), *fid = str(fs->flow, "id");
  char *val = NULL;
  size_t vl = 0;
  int32_t hit = 0;
  int rc = tkn_agent_tool(a, tn, strlen(tn), ta, strlen(ta), fid, strlen(fid), run_tool,
                          (void *)str(tool, "result"), &val, &vl, &hit);
  if (!rc) {
    st->rs->tool_hits += hit;
    char note[160];
    snprintf(note, sizeof note,
             "{\"cached\":true,\"note\":\"same result as the earlier %s call above\"}", tn);
    int pointer = hit && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(tool, "refetch"));
    rc = append_tool_result(fs->conv, r, pointer ? note : val);
  }
  tkn_free(val);
  return rc;
}

static int structured(const run_state *st, const tkn_agent_turn_options *to) {
  return cJSON_GetObjectItemCaseSensitive(st->schemas, to->task_type) != NULL;
}

/* The turn's model calls.  A turn with a tool is the agent loop's two steps:
 * the model asks for the tool, the host appends its result, the model
 * answers.  The library's status, or -1 when no agent could be made (rs->err
 * says why); *per_turn, the worst case's agent, is made anew for the second
 * call, whose request id differs too. */
static int answer_turn(run_state *st, const flow_state *fs, const cJSON *turn,
                       const char *req_id, tkn_agent **per_turn,
                       const tkn_agent_turn_options *to, tkn_agent_result **r) {
  tkn_agent *a = *per_turn ? *per_turn : fs->agent;
  const cJSON *tool = cJSON_GetObjectItemCaseSensitive(turn, "tool");
  st->s.tool_pending = tool != NULL;
  int rc = tkn_agent_turn(a, fs->conv, to, r);
  if (rc || st->s.failed || !tool || strcmp(tkn_agent_result_finish_reason(*r), "tool_calls") != 0)
    return rc;
  add_stats(st->rs, *r, fs->long_flow, structured(st, to), to->batch);
  rc = host_tool(st, fs, a, tool, *r);
  tkn_agent_result_free(*r);
  *r = NULL;
  st->s.tool_pending = 0;
  if (!rc && *per_turn) {
    tkn_agent_free(*per_turn);
    char rid2[72];
    snprintf(rid2, sizeof rid2, "%s-tool", req_id);
    *per_turn = a = flow_agent(st, fs, st->s.now_ms + 1000, rid2);
    if (!a) return -1;
  }
  if (!rc) rc = tkn_agent_turn(a, fs->conv, to, r);
  return rc;
}

/* The figures of an answered turn: an answer cut by the cap, or too brief
 * for its task, is not a right one. */
static void count_turn(run_stats *rs, const sim *s, const tkn_agent_result *r, int long_flow,
                       int structured_out, int batch) {
  const char *fin = tkn_agent_result_finish_reason(r);
  rs->turns++;
  add_stats(rs, r, long_flow, structured_out, batch);
  if (!strcmp(fin, "budget_exceeded")) rs->budget_exceeded++;
  if (!strcmp(fin, "error")) rs->errors++;
  if (!strcmp(fin, "length")) rs->truncated++;
  if (s->last_missing) rs->facts_lost++;
  int answered = !strcmp(fin, "stop") || !strcmp(fin, "length");
  if (answered && s->last_truncated) rs->degraded++;
  if (!answered || !s->last_correct || s->last_truncated) rs->wrong++;
}

/* One turn of a workflow: 0, or 2 with rs->err set. */
static int run_turn(run_state *st, const flow_state *fs, const cJSON *turn, int ti, int64_t gap) {
  sim *s = &st->s;
  run_stats *rs = st->rs;
  const char *fid = str(fs->flow, "id");
  s->turn = turn;
  s->turn_index = ti;
  s->turn_calls = 0;
  s->now_ms += gap;
  char req_id[64];
  snprintf(req_id, sizeof req_id, "%s-%d-%08llx", fid, ti,
           (unsigned long long)(sim_mix(st->c->seed + (uint64_t)s->now_ms) & 0xffffffffu));
  tkn_agent *per_turn = NULL;
  if (st->cfg->volatile_first && !(per_turn = flow_agent(st, fs, s->now_ms, req_id))) return 2;
  const char *user = str(turn, "user");
  tkn_conv_append_text(fs->conv, TKN_ROLE_USER, user, strlen(user));
  tkn_task *task = NULL;
  if (tkn_task_new(&task) || set_task(task, turn)) {
    snprintf(rs->err, sizeof rs->err, "task attributes of %s turn %d", fid, ti);
    tkn_task_free(task);
    tkn_agent_free(per_turn);
    return 2;
  }
  tkn_agent_turn_options to = TKN_AGENT_TURN_OPTIONS_INIT;
  char dyn[160];
  turn_options(st, turn, task, req_id, dyn, sizeof dyn, &to);
  tkn_agent_result *r = NULL;
  int rc = answer_turn(st, fs, turn, req_id, &per_turn, &to, &r);
  s->tool_pending = 0;
  tkn_task_free(task);
  if (rc < 0) return 2;
  if (rc || s->failed) {
    snprintf(rs->err, sizeof rs->err, "%s turn %d: %s", fid, ti,
             s->failed ? s->err : tkn_error_last()->message);
    tkn_agent_result_free(r);
    tkn_agent_free(per_turn);
    return 2;
  }
  tkn_agent_free(per_turn);
  count_turn(rs, s, r, fs->long_flow, structured(st, &to), to.batch);
  tkn_agent_result_free(r);
  return 0;
}

/* One workflow, its turns in order on one conversation: 0, or 2. */
static int run_flow(run_state *st, const cJSON *flow) {
  flow_state fs = {flow, NULL, NULL, NULL, 0};
  st->s.flow = flow;
  if (st->cfg->tech & T_PRUNE) {
    tkn_budget_options bo = TKN_BUDGET_OPTIONS_INIT;
    bo.soft_tokens = (int64_t)num(st->opt, "soft_budget_tokens", 100000);
    if (cli_keep_err(tkn_budget_new(&fs.budget, &bo, NULL), st->rs->err, sizeof st->rs->err))
      return 2;
  }
  tkn_conv_new(&fs.conv);
  int status = 0;
  if (!st->cfg->volatile_first && !(fs.agent = flow_agent(st, &fs, st->s.now_ms, "")))
    status = 2;
  int64_t gap = (int64_t)num(flow, "gap_ms", 30000);
  fs.long_flow = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(flow, "turns")) > 8;
  int ti = 0;
  const cJSON *turn;
  cJSON_ArrayForEach(turn, cJSON_GetObjectItemCaseSensitive(flow, "turns")) {
    if (status) break;
    status = run_turn(st, &fs, turn, ti++, gap);
  }
  tkn_agent_free(fs.agent);
  tkn_conv_free(fs.conv);
  tkn_budget_free(fs.budget);
  return status;
}

/* The run's totals from its meter and its simulated model; the input cost
 * at list prices beside its floor (every token a cache read) and ceiling. */
static void run_totals(run_state *st, int status) {
  run_stats *rs = st->rs;
  const sim *s = &st->s;
  tkn_meter_stats ms = TKN_METER_STATS_INIT;
  if (!status && tkn_meter_stats_get(st->meter, TKN_METER_TOTAL, NULL, 0, &ms) == TKN_OK) {
    rs->validated = (int64_t)ms.validated;
    rs->passed = (int64_t)ms.validation_passed;
  }
  rs->batch_calls = s->batch_calls;
  rs->auroc = sim_auroc(s);
  for (size_t i = 0; !status && i < s->n_models; i++) {
    tkn_meter_stats m = TKN_METER_STATS_INIT;
    tkn_model_price p = TKN_MODEL_PRICE_INIT;
    const char *name = s->models[i].name;
    if (tkn_meter_stats_get(st->meter, TKN_METER_MODEL, name, strlen(name), &m) == TKN_OK &&
        tkn_prices_lookup(st->c->prices, name, strlen(name), &p) == TKN_OK) {
      /* picodollars per million tokens -> per token, rounded */
      int64_t in = (p.input_per_mtok + 500000) / 1000000;
      int64_t read =
          (p.has & TKN_PRICE_CACHE_READ) ? (p.cache_read_per_mtok + 500000) / 1000000 : in;
      rs->input_cost += (m.input_tokens - m.cache_read_tokens) * in + m.cache_read_tokens * read;
      rs->input_cost_all_cached += m.input_tokens * read;
      rs->input_cost_uncached += m.input_tokens * in;
    }
  }
  for (size_t i = 0; i < s->n_models; i++) {
    rs->model_calls[i] = s->models[i].calls;
    snprintf(rs->model_names[i], sizeof rs->model_names[i], "%s", s->models[i].name);
  }
  rs->n_models = s->n_models;
}

static int run_export(const run_state *st, const char *path) {
  char *js = NULL;
  size_t jl = 0;
  int status = 0;
  FILE *f = fopen(path, "wb");
  if (!f || tkn_meter_export(st->meter, TKN_METER_JSON, &js, &jl) || fwrite(js, 1, jl, f) != jl) {
    snprintf(st->rs->err, sizeof st->rs->err, "cannot write the meter export to %s", path);
    status = 2;
  }
  if (f) fclose(f);
  tkn_free(js);
  return status;
}

/* One pass over the workload in configuration `cfg`: 0, or 2 with rs->err. */
static int run(const ctx *c, const run_cfg *cfg, run_stats *rs, const char *label,
               const char *export_path) {
  run_state st;
  int status = run_open(&st, c, cfg, rs);
  if (!status) {
    const cJSON *flows = cJSON_GetObjectItemCaseSensitive(c->wl, "workflows");
    size_t n_flows = (size_t)cJSON_GetArraySize(flows), done = 0;
    const cJSON *flow;
    cJSON_ArrayForEach(flow, flows) {
      cli_progress(label, done++, n_flows);
      if ((status = run_flow(&st, flow))) break;
    }
    cli_progress(label, n_flows, n_flows);
    run_totals(&st, status);
    if (!status && export_path) status = run_export(&st, export_path);
  }
  run_close(&st);
  return status;
}

/* ---- configurations and statistics over seeds ---- */

enum { C_BASE, C_WORST, C_CHEAP, C_OPT, C_OPT_NOCASC, C_CHEAP_REST, C_ROUTE, C_ROUTE_NOCASC,
       C_LOO, N_CFG = C_LOO + N_TECH };

static void configs(run_cfg *cf, const char *cheap) {
  static char cheap_name[96], cheap_rest[128];
  snprintf(cheap_name, sizeof cheap_name, "cheapest model everywhere (%s)", cheap);
  snprintf(cheap_rest, sizeof cheap_rest, "%s + the other five", cheap);
  cf[C_BASE] = (run_cfg){"baseline", "naive agent, stable prompt (BASELINE)", 0, 0, 0, 0};
  cf[C_WORST] = (run_cfg){"worst_case", "naive, time + request id first (worst case)", 0, 1, 0, 0};
  cf[C_CHEAP] = (run_cfg){"cheap", cheap_name, 0, 0, 1, 0};
  cf[C_OPT] = (run_cfg){"optimised", "optimised: all six techniques", T_ALL, 0, 0, 0};
  cf[C_OPT_NOCASC] = (run_cfg){"optimised_no_cascade", "optimised, routing without cascade", T_ALL,
                               0, 0, 1};
  cf[C_CHEAP_REST] = (run_cfg){"cheap_plus_rest", cheap_rest, T_ALL & ~T_ROUTE, 0, 1, 0};
  cf[C_ROUTE] = (run_cfg){"routing_cascade", "routing + cascade only", T_ROUTE, 0, 0, 0};
  cf[C_ROUTE_NOCASC] = (run_cfg){"routing_no_cascade", "routing only, no cascade", T_ROUTE, 0, 0, 1};
  for (int i = 0; i < N_TECH; i++) {
    static char names[N_TECH][96], keys[N_TECH][48];
    snprintf(names[i], sizeof names[i], "optimised without %s", TECHNIQUES[i].name);
    snprintf(keys[i], sizeof keys[i], "without_%d", i);
    cf[C_LOO + i] = (run_cfg){keys[i], names[i], T_ALL & ~TECHNIQUES[i].bit, 0, 0, 0};
  }
}

/* Mean, min and max of a figure over seeds. */
typedef struct spread {
  double sum, min, max;
  int n;
} spread;

static void sp_add(spread *s, double v) {
  if (!s->n || v < s->min) s->min = v;
  if (!s->n || v > s->max) s->max = v;
  s->sum += v;
  s->n++;
}

static double sp_mean(const spread *s) {
  return s->n ? s->sum / s->n : 0.0;
}

typedef struct cfg_stats {
  spread cost, wrong, turns, cpc, input, cached, output, degraded, facts_lost, saving, auroc;
} cfg_stats;

static void add_run(cfg_stats *cs, const run_stats *r, const run_stats *base) {
  sp_add(&cs->cost, (double)r->cost / 1e12);
  sp_add(&cs->wrong, (double)r->wrong);
  sp_add(&cs->turns, (double)r->turns);
  int64_t right = r->turns - r->wrong;
  sp_add(&cs->cpc, right > 0 ? (double)r->cost / 1e12 / (double)right : 0.0);
  sp_add(&cs->input, (double)r->input);
  sp_add(&cs->cached, (double)r->cached);
  sp_add(&cs->output, (double)r->output);
  sp_add(&cs->degraded, (double)r->degraded);
  sp_add(&cs->facts_lost, (double)r->facts_lost);
  sp_add(&cs->saving, base->cost ? 1.0 - (double)r->cost / (double)base->cost : 0.0);
  sp_add(&cs->auroc, r->auroc);
}

/* On the front: no other configuration is at most as costly and as wrong,
 * and better in one (means over seeds). */
static int pareto(const cfg_stats *cs, int n, int i) {
  for (int j = 0; j < n; j++) {
    if (j == i) continue;
    double cj = sp_mean(&cs[j].cost), ci = sp_mean(&cs[i].cost);
    double wj = sp_mean(&cs[j].wrong), wi = sp_mean(&cs[i].wrong);
    if (cj <= ci && wj <= wi && (cj < ci || wj < wi)) return 0;
  }
  return 1;
}

/* Shapley value of each technique for a value function over subsets (mean
 * over seeds of v[subset]); phi[i] sums to v[all] - v[none]. */
static void shapley(const double *v, double *phi) {
  double fact[N_TECH + 1];
  fact[0] = 1;
  for (int i = 1; i <= N_TECH; i++) fact[i] = fact[i - 1] * i;
  for (int i = 0; i < N_TECH; i++) {
    unsigned bit = 1u << i;
    phi[i] = 0;
    for (unsigned sset = 0; sset < (1u << N_TECH); sset++) {
      if (sset & bit) continue;
      int k = __builtin_popcount(sset);
      double w = fact[k] * fact[N_TECH - k - 1] / fact[N_TECH];
      phi[i] += w * (v[sset | bit] - v[sset]);
    }
  }
}

/* Technique bits are in TECHNIQUES order: subset bit i = TECHNIQUES[i].bit. */
static unsigned tech_of(unsigned subset) {
  unsigned t = 0;
  for (int i = 0; i < N_TECH; i++)
    if (subset & (1u << i)) t |= TECHNIQUES[i].bit;
  return t;
}

static const char *usd_spread(const spread *s, int digits, char *buf, size_t len) {
  snprintf(buf, len, "%.*f [%.*f-%.*f]", digits, sp_mean(s), digits, s->min, digits, s->max);
  return buf;
}

static const char *int_spread(const spread *s, char *buf, size_t len) {
  snprintf(buf, len, "%.1f [%.0f-%.0f]", sp_mean(s), s->min, s->max);
  return buf;
}

static void print_tables(const ctx *c, const char *wname, uint64_t seed0, int nseeds,
                         const run_cfg *cf, const cfg_stats *cs, const double *phi_cost,
                         const double *phi_wrong, int exact) {
  char a[96], b[96], d[96], e[96];
  printf("tokenomy simulate: %s, seeds %llu-%llu (%d), %.0f turns per seed, simulated model (no\n"
         "network), exact o200k counts, the same prompt-cache model for every run, confidence\n"
         "AUROC %.2f (realised in the optimised run: %.2f [%.2f-%.2f]).  Mean [min-max] over the\n"
         "seeds.\n\n",
         wname, (unsigned long long)seed0, (unsigned long long)(seed0 + (uint64_t)nseeds - 1),
         nseeds, sp_mean(&cs[C_BASE].turns), num(c->wl, "confidence_auroc", 0.7),
         sp_mean(&cs[C_OPT].auroc), cs[C_OPT].auroc.min, cs[C_OPT].auroc.max);
  printf("| %-48s | %-26s | %8s | %-20s | %12s | %9s | %6s |\n", "configuration", "cost USD",
         "vs base", "wrong answers", "USD/correct", "cache hit", "Pareto");
  printf("|--------------------------------------------------|----------------------------|"
         "----------|----------------------|--------------|-----------|--------|\n");
  for (int i = 0; i < C_LOO; i++) {
    double hit = sp_mean(&cs[i].input) > 0 ? sp_mean(&cs[i].cached) / sp_mean(&cs[i].input) : 0;
    char vs[16] = "";
    if (i != C_BASE)
      snprintf(vs, sizeof vs, "%+.1f%%",
               100.0 * (sp_mean(&cs[i].cost) / sp_mean(&cs[C_BASE].cost) - 1.0));
    printf("| %-48s | %-26s | %8s | %-20s | %12.6f | %8.1f%% | %6s |\n", cf[i].name,
           usd_spread(&cs[i].cost, 4, a, sizeof a), vs, int_spread(&cs[i].wrong, b, sizeof b),
           sp_mean(&cs[i].cpc), 100.0 * hit, pareto(cs, C_LOO, i) ? "yes" : "");
  }
  double base = sp_mean(&cs[C_BASE].cost), opt = sp_mean(&cs[C_OPT].cost);
  double dw = sp_mean(&cs[C_OPT].wrong) - sp_mean(&cs[C_BASE].wrong);
  printf("\nOptimised vs the baseline: cost %+.1f%% (per seed %+.1f%% to %+.1f%%), wrong answers\n"
         "%+.1f per seed (%s), cost per correct answer %+.1f%%.\n",
         100.0 * (opt / base - 1.0), -100.0 * cs[C_OPT].saving.max, -100.0 * cs[C_OPT].saving.min,
         dw, dw > 0 ? "quality falls" : dw < 0 ? "quality rises" : "quality unchanged",
         100.0 * (sp_mean(&cs[C_OPT].cpc) / sp_mean(&cs[C_BASE].cpc) - 1.0));
  double ch = sp_mean(&cs[C_CHEAP].cost);
  printf("The cheapest model everywhere costs %s%.1f%% of the optimised run, at %+.1f wrong\n"
         "answers against it.\n", ch < opt ? "less than it: " : "", 100.0 * ch / opt,
         sp_mean(&cs[C_CHEAP].wrong) - sp_mean(&cs[C_OPT].wrong));
  printf("\nWhat each technique earns and costs (%s,\nmean over seeds):\n\n",
         exact ? "exact Shapley values over all 64 combinations"
               : "leave-one-out: the optimised run without it minus the optimised run");
  printf("| %-40s | %14s | %8s | %16s |\n", "technique", "saving USD", "share", "wrong answers");
  printf("|------------------------------------------|----------------|----------|------------------|\n");
  double total = base - opt, sum = 0, sumw = 0;
  for (int i = 0; i < N_TECH; i++) {
    sum += phi_cost[i];
    sumw += phi_wrong[i];
    printf("| %-40s | %14.4f | %7.1f%% | %+16.1f |\n", TECHNIQUES[i].name, phi_cost[i],
           total != 0 ? 100.0 * phi_cost[i] / total : 0.0, phi_wrong[i]);
  }
  printf("| %-40s | %14.4f | %7.1f%% | %+16.1f |\n",
         exact ? "(Shapley values add up: no remainder)" : "interaction remainder (not attributed)",
         total - sum, total != 0 ? 100.0 * (total - sum) / total : 0.0, dw - sumw);
  printf("\nTotal: %.4f USD saved per seed against the baseline, at %+.1f wrong answers.  \"wrong\n"
         "answers\": the change the technique brings (negative: fewer wrong).  Wrong answers\n"
         "include %.1f cut by a cap or too brief and %.1f missing a fact the pruning dropped\n"
         "(optimised run, per seed).\n",
         total, dw, sp_mean(&cs[C_OPT].degraded), sp_mean(&cs[C_OPT].facts_lost));
  (void)d, (void)e;
}

static void json_run(cJSON *o, const run_stats *r) {
  char usd[48];
  cJSON_AddNumberToObject(o, "turns", (double)r->turns);
  cJSON_AddNumberToObject(o, "calls", (double)r->calls);
  cJSON *by = cJSON_AddObjectToObject(o, "calls_by_model");
  for (size_t i = 0; i < r->n_models; i++)
    cJSON_AddNumberToObject(by, r->model_names[i], (double)r->model_calls[i]);
  cJSON_AddNumberToObject(o, "batch_calls", (double)r->batch_calls);
  cJSON_AddNumberToObject(o, "input_tokens", (double)r->input);
  cJSON_AddNumberToObject(o, "cached_tokens", (double)r->cached);
  cJSON_AddNumberToObject(o, "output_tokens", (double)r->output);
  cJSON_AddNumberToObject(o, "cost", (double)r->cost);
  cJSON_AddStringToObject(o, "cost_usd", cli_usd(r->cost, 12, usd, sizeof usd));
  cJSON_AddNumberToObject(o, "validated", (double)r->validated);
  cJSON_AddNumberToObject(o, "validation_passed", (double)r->passed);
  cJSON_AddNumberToObject(o, "escalations", (double)r->escalations);
  cJSON_AddNumberToObject(o, "validation_failures", (double)r->val_failures);
  cJSON_AddNumberToObject(o, "truncated", (double)r->truncated);
  cJSON_AddNumberToObject(o, "degraded_answers", (double)r->degraded);
  cJSON_AddNumberToObject(o, "tool_cache_hits", (double)r->tool_hits);
  cJSON_AddNumberToObject(o, "confidence_auroc_realised", r->auroc);
  cJSON_AddNumberToObject(o, "facts_lost", (double)r->facts_lost);
  cJSON_AddNumberToObject(o, "wrong_answers", (double)r->wrong);
  cJSON_AddNumberToObject(o, "budget_exceeded", (double)r->budget_exceeded);
  cJSON_AddNumberToObject(o, "pruned_messages", (double)r->pruned);
  cJSON_AddNumberToObject(o, "long_workflow_input_tokens", (double)r->long_input);
  cJSON_AddNumberToObject(o, "structured_output_tokens", (double)r->struct_out);
  cJSON_AddNumberToObject(o, "batchable_cost", (double)r->batch_cost);
  cJSON_AddNumberToObject(o, "input_cost", (double)r->input_cost);
  cJSON_AddNumberToObject(o, "input_cost_uncached", (double)r->input_cost_uncached);
  cJSON_AddNumberToObject(o, "input_cost_all_cached", (double)r->input_cost_all_cached);
}

static cJSON *json_spread(const spread *s) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "mean", sp_mean(s));
  cJSON_AddNumberToObject(o, "min", s->min);
  cJSON_AddNumberToObject(o, "max", s->max);
  return o;
}

/* The whole simulation: its inputs, and its figures over the seeds. */
typedef struct sweep {
  const char *workload, *export_path, *export_baseline;
  int bundled;
  const cJSON *file_wl; /* the workload file's JSON, when it is not bundled */
  const tkn_tokenizer *tok;
  const tkn_prices *prices;
  uint64_t seed0;
  long long nseeds;
  int exact; /* --shapley */
  run_cfg cf[N_CFG];
  cfg_stats *cs;
  run_stats *runs;
  double *vcost, *vwrong; /* by subset of techniques, mean over seeds (--shapley) */
  cJSON *first;           /* the first seed's runs in detail (--json) */
  char wname[64], cheap[64];
  double phi_cost[N_TECH], phi_wrong[N_TECH];
  char err[512];
} sweep;

/* The workload named on the command line: a bundled name, or a file that is
 * read and checked (*file_wl).  0, or the exit status after the error. */
static int load_workload(const char *workload, int *bundled, cJSON **file_wl) {
  char err[512];
  *bundled = 0;
  for (int i = 0; wl_bundled[i]; i++) *bundled |= !strcmp(wl_bundled[i], workload);
  if (*bundled) return 0;
  *file_wl = cli_read_json("simulate", workload, NULL);
  if (!*file_wl) return 2;
  if (wl_check(*file_wl, err, sizeof err)) {
    cJSON_Delete(*file_wl);
    *file_wl = NULL;
    return cli_fail("simulate", "%s", err);
  }
  return 0;
}

/* The cheapest model of the workload by input price (else the baseline's). */
static void cheapest_model(ctx *c, const tkn_prices *prices) {
  int64_t best = -1;
  const cJSON *m;
  cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(c->wl, "models")) {
    tkn_model_price p = TKN_MODEL_PRICE_INIT;
    if (tkn_prices_lookup(prices, m->string, strlen(m->string), &p) == TKN_OK &&
        (best < 0 || p.input_per_mtok < best)) {
      best = p.input_per_mtok;
      snprintf(c->cheap, sizeof c->cheap, "%s", m->string);
    }
  }
  if (best < 0) snprintf(c->cheap, sizeof c->cheap, "%s", c->baseline);
}

/* Seed si's context: its workload, cheapest model and router, and the
 * configurations named after that model.  0, or 2 with w->err set. */
static int seed_ctx(sweep *w, long long si, ctx *c) {
  memset(c, 0, sizeof *c);
  c->seed = w->seed0 + (uint64_t)si;
  c->tok = w->tok;
  c->prices = w->prices;
  c->export_path = si == 0 ? w->export_path : NULL;
  c->export_baseline_path = si == 0 ? w->export_baseline : NULL;
  c->wl = w->bundled ? wl_generate(w->workload, c->seed) : cJSON_Duplicate(w->file_wl, 1);
  if (!c->wl || wl_check(c->wl, w->err, sizeof w->err)) {
    if (!c->wl) snprintf(w->err, sizeof w->err, "out of memory");
    cJSON_Delete(c->wl);
    return 2;
  }
  snprintf(w->wname, sizeof w->wname, "%s", str(c->wl, "name"));
  c->baseline = str(c->wl, "baseline_model");
  cheapest_model(c, w->prices);
  snprintf(w->cheap, sizeof w->cheap, "%s", c->cheap);
  configs(w->cf, c->cheap);
  char *rj = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(c->wl, "router"));
  int rc = rj ? cli_keep_err(tkn_router_new_json(&c->router, rj, strlen(rj), NULL), w->err,
                             sizeof w->err)
              : TKN_ERR_NOMEM;
  free(rj);
  if (rc) {
    char e2[600];
    snprintf(e2, sizeof e2, "workload: router: %s", w->err);
    snprintf(w->err, sizeof w->err, "%.500s", e2);
    cJSON_Delete(c->wl);
    return 2;
  }
  return 0;
}

/* Every subset of the techniques on this seed, for exact Shapley shares. */
static int run_subsets(sweep *w, const ctx *c) {
  int status = 0;
  for (unsigned sub = 0; !status && sub < (1u << N_TECH); sub++) {
    run_cfg one = {"subset", "subset", tech_of(sub), 0, 0, 0};
    run_stats rs;
    char label[64];
    snprintf(label, sizeof label, "seed %llu: subset %u/64", (unsigned long long)c->seed, sub + 1);
    status = run(c, &one, &rs, label, NULL);
    if (status) snprintf(w->err, sizeof w->err, "%s", rs.err);
    w->vcost[sub] += (double)rs.cost / 1e12 / (double)w->nseeds;
    w->vwrong[sub] += (double)rs.wrong / (double)w->nseeds;
  }
  return status;
}

/* Seed si: every configuration, then (--shapley) every subset. */
static int run_seed(sweep *w, long long si) {
  ctx c;
  int status = seed_ctx(w, si, &c);
  if (status) return status;
  for (int i = 0; !status && i < N_CFG; i++) {
    char label[64];
    snprintf(label, sizeof label, "seed %llu: %d/%d", (unsigned long long)c.seed, i + 1, N_CFG);
    status = run(&c, &w->cf[i], &w->runs[i], label,
                 i == C_OPT ? c.export_path : i == C_BASE ? c.export_baseline_path : NULL);
    if (status) snprintf(w->err, sizeof w->err, "%s", w->runs[i].err);
  }
  for (int i = 0; !status && i < N_CFG; i++) {
    add_run(&w->cs[i], &w->runs[i], &w->runs[C_BASE]);
    if (si == 0 && w->first) {
      cJSON *d = cJSON_CreateObject();
      json_run(d, &w->runs[i]);
      cJSON_AddItemToArray(w->first, d);
    }
  }
  /* attribution: leave-one-out from the runs above, or every subset */
  if (!status && w->exact) status = run_subsets(w, &c);
  tkn_router_free(c.router);
  cJSON_Delete(c.wl);
  return status;
}

/* Each technique's saving and change in wrong answers: exact Shapley values
 * over the subsets, or leave-one-out from the optimised run. */
static void attribute(sweep *w) {
  if (w->exact) {
    /* savings are v(none) - v(all): negate the cost function */
    double nv[1u << N_TECH];
    for (unsigned sub = 0; sub < (1u << N_TECH); sub++) nv[sub] = -w->vcost[sub];
    shapley(nv, w->phi_cost);
    shapley(w->vwrong, w->phi_wrong);
    return;
  }
  for (int i = 0; i < N_TECH; i++) {
    w->phi_cost[i] = sp_mean(&w->cs[C_LOO + i].cost) - sp_mean(&w->cs[C_OPT].cost);
    w->phi_wrong[i] = sp_mean(&w->cs[C_OPT].wrong) - sp_mean(&w->cs[C_LOO + i].wrong);
  }
}

/* All seeds, then the attribution: 0, or 2 with w->err set. */
static int sweep_run(sweep *w) {
  w->cs = calloc(N_CFG, sizeof *w->cs);
  w->runs = calloc(N_CFG, sizeof *w->runs);
  w->vcost = calloc(1u << N_TECH, sizeof *w->vcost);
  w->vwrong = calloc(1u << N_TECH, sizeof *w->vwrong);
  w->first = cJSON_CreateArray();
  if (!w->cs || !w->runs || !w->vcost || !w->vwrong) {
    snprintf(w->err, sizeof w->err, "out of memory");
    return 2;
  }
  for (long long si = 0; si < w->nseeds; si++) {
    int status = run_seed(w, si);
    if (status) return status;
  }
  attribute(w);
  return 0;
}

static void sweep_free(sweep *w) {
  cJSON_Delete(w->first);
  free(w->cs);
  free(w->runs);
  free(w->vcost);
  free(w->vwrong);
}

static void json_config(cJSON *arr, const sweep *w, int i) {
  const cfg_stats *cs = &w->cs[i];
  cJSON *e = cJSON_CreateObject();
  cJSON_AddItemToArray(arr, e);
  cJSON_AddStringToObject(e, "key", w->cf[i].key);
  cJSON_AddStringToObject(e, "name", w->cf[i].name);
  cJSON_AddItemToObject(e, "cost_usd", json_spread(&cs->cost));
  cJSON_AddItemToObject(e, "wrong_answers", json_spread(&cs->wrong));
  cJSON_AddItemToObject(e, "turns", json_spread(&cs->turns));
  cJSON_AddItemToObject(e, "cost_per_correct_usd", json_spread(&cs->cpc));
  cJSON_AddItemToObject(e, "saving_vs_baseline", json_spread(&cs->saving));
  cJSON_AddItemToObject(e, "input_tokens", json_spread(&cs->input));
  cJSON_AddItemToObject(e, "cached_tokens", json_spread(&cs->cached));
  cJSON_AddItemToObject(e, "output_tokens", json_spread(&cs->output));
  cJSON_AddItemToObject(e, "degraded_answers", json_spread(&cs->degraded));
  cJSON_AddItemToObject(e, "facts_lost", json_spread(&cs->facts_lost));
  cJSON_AddItemToObject(e, "confidence_auroc_realised", json_spread(&cs->auroc));
  cJSON_AddBoolToObject(e, "pareto", i < C_LOO && pareto(w->cs, C_LOO, i));
  cJSON *d = cJSON_GetArrayItem(w->first, i);
  if (d) cJSON_AddItemReferenceToObject(e, "first_seed", d);
}

static void print_json(const sweep *w) {
  const cfg_stats *cs = w->cs;
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "workload", w->wname);
  cJSON_AddNumberToObject(o, "first_seed", (double)w->seed0);
  cJSON_AddNumberToObject(o, "seeds", (double)w->nseeds);
  cJSON_AddStringToObject(o, "tokenizer", "o200k_base");
  cJSON_AddStringToObject(o, "cheapest_model", w->cheap);
  cJSON *arr = cJSON_AddArrayToObject(o, "configurations");
  for (int i = 0; i < N_CFG; i++) json_config(arr, w, i);
  cJSON *at = cJSON_AddObjectToObject(o, "attribution");
  cJSON_AddStringToObject(at, "method", w->exact ? "shapley" : "leave-one-out");
  double total = sp_mean(&cs[C_BASE].cost) - sp_mean(&cs[C_OPT].cost), sum = 0, sumw = 0;
  cJSON *ts = cJSON_AddArrayToObject(at, "techniques");
  for (int i = 0; i < N_TECH; i++) {
    cJSON *e = cJSON_CreateObject();
    cJSON_AddItemToArray(ts, e);
    cJSON_AddStringToObject(e, "name", TECHNIQUES[i].name);
    cJSON_AddNumberToObject(e, "saving_usd", w->phi_cost[i]);
    cJSON_AddNumberToObject(e, "wrong_answers", w->phi_wrong[i]);
    sum += w->phi_cost[i];
    sumw += w->phi_wrong[i];
  }
  cJSON_AddNumberToObject(at, "total_saving_usd", total);
  cJSON_AddNumberToObject(at, "interaction_remainder_usd", total - sum);
  cJSON_AddNumberToObject(at, "interaction_remainder_wrong",
                          sp_mean(&cs[C_OPT].wrong) - sp_mean(&cs[C_BASE].wrong) - sumw);
  char *js = cJSON_Print(o);
  puts(js ? js : "{}");
  free(js);
  cJSON_Delete(o);
}

int cmd_simulate(int argc, char **argv) {
  sweep w;
  memset(&w, 0, sizeof w);
  w.workload = "support-agent";
  w.seed0 = 1;
  w.nseeds = 10;
  int as_json = 0, dump = 0;
  const cli_option opts[] = {
      {"--workload", CLI_STR, &w.workload, NULL, 0, 0, NULL},
      {"--seed", CLI_U64, &w.seed0, "a number", 0, 0, NULL},
      {"--seeds", CLI_INT, &w.nseeds, "a number from 1 to 1000", 1, 1000, NULL},
      {"--export-meter", CLI_STR, &w.export_path, NULL, 0, 0, NULL},
      {"--export-baseline-meter", CLI_STR, &w.export_baseline, NULL, 0, 0, NULL},
      {"--json", CLI_FLAG, &as_json, NULL, 0, 0, NULL},
      {"--shapley", CLI_FLAG, &w.exact, NULL, 0, 0, NULL},
      {"--dump-workload", CLI_FLAG, &dump, NULL, 0, 0, NULL},
      CLI_OPT_END};
  int parsed = cli_parse_file("simulate", HELP, opts, NULL, argc, argv);
  if (parsed >= 0) return parsed;
  cJSON *file_wl = NULL;
  int status = load_workload(w.workload, &w.bundled, &file_wl);
  if (status) return status;
  w.file_wl = file_wl;
  if (dump) {
    cJSON *wl = w.bundled ? wl_generate(w.workload, w.seed0) : file_wl;
    char *js = cJSON_Print(wl);
    fputs(js ? js : "", stdout);
    fputc('\n', stdout);
    free(js);
    cJSON_Delete(wl);
    return 0;
  }
  tkn_tokenizer *tok = NULL;
  tkn_prices *prices = NULL;
  if (cli_keep_err(tkn_tokenizer_new_encoding(&tok, "o200k_base", 10), w.err, sizeof w.err) ||
      tkn_prices_new_default(&prices)) {
    cJSON_Delete(file_wl);
    tkn_tokenizer_free(tok);
    return cli_fail("simulate", "tokenizer or prices: %s", w.err);
  }
  w.tok = tok;
  w.prices = prices;
  status = sweep_run(&w);
  if (status) {
    cli_fail("simulate", "%s", w.err);
  } else if (as_json) {
    print_json(&w);
  } else {
    ctx c;
    memset(&c, 0, sizeof c);
    c.wl = w.bundled ? wl_generate(w.workload, w.seed0) : file_wl;
    print_tables(&c, w.wname, w.seed0, (int)w.nseeds, w.cf, w.cs, w.phi_cost, w.phi_wrong,
                 w.exact);
    if (w.bundled) cJSON_Delete(c.wl);
  }
  sweep_free(&w);
  cJSON_Delete(file_wl);
  tkn_prices_free(prices);
  tkn_tokenizer_free(tok);
  return status;
}
