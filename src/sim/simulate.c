/* tokenomy simulate: replay a workload of agent workflows through the full
 * agent turn against the simulated model, once as a naive baseline and once
 * optimised, then once more per technique with that technique left out, to
 * say what share of the saving each one earns and what it cost in quality. */
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define T_PRUNE 1u   /* budgets + context pruning */
#define T_ROUTE 2u   /* routing to the cheapest capable tier, cascade */
#define T_CACHE 4u   /* cache-friendly prompt: static prefix first */
#define T_BATCH 8u   /* batch for latency-insensitive work */
#define T_CAPS 16u   /* output caps and structured output */
#define T_ALL 31u

static const struct {
  unsigned bit;
  const char *name;
} TECHNIQUES[] = {{T_PRUNE, "budgets + context pruning"},
                  {T_ROUTE, "routing + cascade"},
                  {T_CACHE, "prompt caching of static prefixes"},
                  {T_BATCH, "batch for latency-insensitive work"},
                  {T_CAPS, "output caps + structured output"}};
#define N_TECH 5

static const char HELP[] =
    "usage: tokenomy simulate [--workload NAME|FILE] [--seed N] [--json]\n"
    "                         [--export-meter FILE] [--dump-workload]\n"
    "\n"
    "Replay a workload of agent workflows through the full agent turn against a\n"
    "built-in deterministic simulated model (no keys, no network) and print, side by\n"
    "side, a naive baseline (frontier model, full history, unstructured prompt, no\n"
    "cache, no batching, no caps) and the optimised run: tokens by kind, cost, calls\n"
    "per tier, cache hit rate, validation pass rate, each technique's share of the\n"
    "saving (leave-one-out), and what the optimisation cost in quality.\n"
    "\n"
    "  --workload W      support-agent (default), document-pipeline, code-reviewer,\n"
    "                    or a workload JSON file (README, section 'Workload format')\n"
    "  --seed N          seed of the bundled workload and the simulated model (1)\n"
    "  --json            the figures as JSON instead of a table\n"
    "  --export-meter F  write the optimised run's meter export (JSON) to F, for\n"
    "                    `tokenomy report`\n"
    "  --dump-workload   print the workload JSON and stop\n";

typedef struct run_stats {
  int64_t turns, calls, input, cached, cache_write, output, cost;
  int64_t validated, passed, escalations, retries, val_failures, facts_lost, wrong;
  int64_t budget_exceeded, pruned, summaries, batch_calls, errors, truncated;
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
  tkn_tokenizer *tok;
  tkn_prices *prices;
  tkn_router *router;
  const char *baseline;
  const char *export_path;
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
 * the reference documents; naive puts a timestamp and request id first. */
static char *system_text(const ctx *c, unsigned tech, int64_t now_ms, const char *req_id) {
  const char *sys = str(c->wl, "system"), *ref = str(c->wl, "reference"),
             *brev = str(c->wl, "brevity");
  size_t cap = strlen(sys) + (ref ? strlen(ref) : 0) + (brev ? strlen(brev) : 0) + 256;
  char *b = malloc(cap);
  if (!b) return NULL;
  size_t o = 0;
  if (!(tech & T_CACHE))
    o += (size_t)snprintf(b + o, cap - o, "Current time: %lld. Request id: %s.\n\n",
                          (long long)(now_ms / 1000), req_id);
  o += (size_t)snprintf(b + o, cap - o, "%s", sys);
  if ((tech & T_CAPS) && brev) o += (size_t)snprintf(b + o, cap - o, " %s", brev);
  if (ref && (tech & T_CACHE) == 0) snprintf(b + o, cap - o, "\n\n%s", ref);
  return b;
}

static int add_pieces(const ctx *c, tkn_agent *a, unsigned tech, int64_t now_ms,
                      const char *req_id) {
  const cJSON *t;
  cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(c->wl, "tools")) {
    char *js = cJSON_PrintUnformatted(t);
    int rc = js ? tkn_agent_add_tool(a, js, strlen(js)) : TKN_ERR_NOMEM;
    free(js);
    if (rc) return rc;
  }
  char *sys = system_text(c, tech, now_ms, req_id);
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

static tkn_agent *make_agent(const ctx *c, sim *s, unsigned tech, const cJSON *flow,
                             tkn_budget *budget, tkn_meter *meter, const tkn_prune_options *po,
                             int64_t now_ms, const char *req_id, char *err, size_t errlen) {
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
  } else {
    o.model = c->baseline;
    o.model_len = strlen(c->baseline);
  }
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
  if (tkn_agent_new(&a, &o, err, errlen)) return NULL;
  if (add_pieces(c, a, tech, now_ms, req_id)) {
    snprintf(err, errlen, "prompt pieces: %s", tkn_agent_errmsg(a));
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

/* The host ran the tool the model asked for: its result, as a "tool"
 * message answering the first call's id. */
static int append_tool_result(tkn_conv *conv, const tkn_agent_result *r, const char *result) {
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
  int rc = js ? tkn_conv_insert_json(conv, tkn_conv_count(conv), TKN_FORMAT_OPENAI, js, strlen(js))
              : TKN_ERR_NOMEM;
  free(js);
  return rc;
}

/* One pass over the workload with the techniques in `tech`. */
static int run(const ctx *c, unsigned tech, run_stats *rs, const char *label, int export) {
  memset(rs, 0, sizeof *rs);
  sim s;
  sim_init(&s, c->wl, c->seed, c->tok, c->prices, (tech & T_BATCH) != 0);
  tkn_meter *meter = NULL;
  tkn_meter_options mo = TKN_METER_OPTIONS_INIT;
  mo.prices = c->prices;
  if (tkn_meter_new(&meter, &mo)) {
    snprintf(rs->err, sizeof rs->err, "cannot make the meter");
    return 2;
  }
  const cJSON *opt = cJSON_GetObjectItemCaseSensitive(c->wl, "optimise");
  tkn_prune_options po = TKN_PRUNE_OPTIONS_INIT;
  po.mode = TKN_PRUNE_SUMMARISE; /* the middle is summarised through the cheap tier */
  po.keep_last_turns = (uint32_t)num(opt, "keep_last_turns", 2);
  const cJSON *schemas = cJSON_GetObjectItemCaseSensitive(c->wl, "schemas");
  const cJSON *caps = cJSON_GetObjectItemCaseSensitive(c->wl, "caps");
  /* compiled schemas, one per task type */
  tkn_schema *compiled[32];
  const char *compiled_type[32];
  char *compiled_text[32];
  size_t n_compiled = 0;
  const cJSON *sc;
  cJSON_ArrayForEach(sc, schemas) {
    if (n_compiled == 32) break;
    char *js = cJSON_PrintUnformatted(sc);
    char e[256];
    if (!js || tkn_schema_compile(&compiled[n_compiled], js, strlen(js), NULL, e, sizeof e)) {
      snprintf(rs->err, sizeof rs->err, "workload: schemas.%s: %s", sc->string, js ? e : "out of memory");
      free(js);
      for (size_t i = 0; i < n_compiled; i++) {
        tkn_schema_free(compiled[i]);
        free(compiled_text[i]);
      }
      tkn_meter_free(meter);
      sim_free(&s);
      return 2;
    }
    compiled_type[n_compiled] = sc->string;
    compiled_text[n_compiled++] = js;
  }
  size_t n_flows = (size_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(c->wl, "workflows"));
  size_t done = 0;
  int status = 0;
  const cJSON *flow;
  cJSON_ArrayForEach(flow, cJSON_GetObjectItemCaseSensitive(c->wl, "workflows")) {
    cli_progress(label, done++, n_flows);
    s.flow = flow;
    tkn_budget *budget = NULL;
    if (tech & T_PRUNE) {
      tkn_budget_options bo = TKN_BUDGET_OPTIONS_INIT;
      bo.soft_tokens = (int64_t)num(opt, "soft_budget_tokens", 100000);
      if (tkn_budget_new(&budget, &bo, NULL, rs->err, sizeof rs->err)) {
        status = 2;
        break;
      }
    }
    tkn_conv *conv = NULL;
    tkn_conv_new(&conv);
    tkn_agent *agent = NULL;
    if (tech & T_CACHE) {
      agent = make_agent(c, &s, tech, flow, budget, meter, &po, s.now_ms, "", rs->err, sizeof rs->err);
      if (!agent) status = 2;
    }
    int64_t gap = (int64_t)num(flow, "gap_ms", 30000);
    int long_flow = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(flow, "turns")) > 8;
    int ti = 0;
    const cJSON *turn;
    cJSON_ArrayForEach(turn, cJSON_GetObjectItemCaseSensitive(flow, "turns")) {
      if (status) break;
      s.turn = turn;
      s.turn_index = ti;
      s.turn_calls = 0;
      s.now_ms += gap;
      char req_id[64];
      snprintf(req_id, sizeof req_id, "%s-%d-%08llx", str(flow, "id"), ti,
               (unsigned long long)(sim_mix(c->seed + (uint64_t)s.now_ms) & 0xffffffffu));
      tkn_agent *per_turn = NULL;
      if (!(tech & T_CACHE)) {
        per_turn = make_agent(c, &s, tech, flow, budget, meter, &po, s.now_ms, req_id, rs->err,
                              sizeof rs->err);
        if (!per_turn) {
          status = 2;
          break;
        }
      }
      tkn_agent *a = per_turn ? per_turn : agent;
      const char *user = str(turn, "user");
      tkn_conv_append_text(conv, TKN_ROLE_USER, user, strlen(user));
      tkn_agent_turn_options to = TKN_AGENT_TURN_OPTIONS_INIT;
      tkn_task *task = NULL;
      if (tkn_task_new(&task) || set_task(task, turn)) {
        snprintf(rs->err, sizeof rs->err, "task attributes of %s turn %d", str(flow, "id"), ti);
        tkn_task_free(task);
        tkn_agent_free(per_turn);
        status = 2;
        break;
      }
      const char *type = str(turn, "task_type");
      to.task = task;
      to.task_type = type;
      to.task_type_len = strlen(type);
      to.batch = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(turn, "batch"));
      char dyn[160];
      if (tech & T_CACHE) {
        snprintf(dyn, sizeof dyn, "Current time: %lld. Request id: %s.",
                 (long long)(s.now_ms / 1000), req_id);
        to.dynamic = dyn;
        to.dynamic_len = strlen(dyn);
        /* OpenAI routes requests with one key to the same cache machines:
         * one key for the requests that share the static prefix */
        to.cache_key = str(c->wl, "name");
        to.cache_key_len = strlen(to.cache_key);
      }
      if (tech & T_CAPS) {
        for (size_t i = 0; i < n_compiled; i++) {
          if (!strcmp(compiled_type[i], type)) {
            to.schema = compiled[i];
            to.schema_json = compiled_text[i];
            to.schema_json_len = strlen(compiled_text[i]);
          }
        }
        to.output_cap = (int64_t)num(caps, type, 0);
      }
      /* a turn with a tool is the agent loop's two steps: the model asks
       * for the tool, the host appends its result, the model answers */
      const cJSON *tool = cJSON_GetObjectItemCaseSensitive(turn, "tool");
      s.tool_pending = tool != NULL;
      tkn_agent_result *r = NULL;
      int rc = tkn_agent_turn(a, conv, &to, &r);
      if (!rc && !s.failed && tool && !strcmp(tkn_agent_result_finish_reason(r), "tool_calls")) {
        add_stats(rs, r, long_flow, cJSON_GetObjectItemCaseSensitive(schemas, type) != NULL,
                  to.batch);
        rc = append_tool_result(conv, r, str(tool, "result"));
        tkn_agent_result_free(r);
        r = NULL;
        s.tool_pending = 0;
        if (!rc && per_turn) {
          /* the naive prompt carries a request id per request, as it stamps
           * each one: the second call's system prompt differs too */
          tkn_agent_free(per_turn);
          char rid2[72];
          snprintf(rid2, sizeof rid2, "%s-tool", req_id);
          per_turn = a = make_agent(c, &s, tech, flow, budget, meter, &po, s.now_ms + 1000, rid2,
                                    rs->err, sizeof rs->err);
          if (!a) {
            tkn_task_free(task);
            status = 2;
            break;
          }
        }
        if (!rc) rc = tkn_agent_turn(a, conv, &to, &r);
      }
      s.tool_pending = 0;
      tkn_task_free(task);
      if (rc || s.failed) {
        snprintf(rs->err, sizeof rs->err, "%s turn %d: %s", str(flow, "id"), ti,
                 s.failed ? s.err : tkn_agent_errmsg(a));
        tkn_agent_result_free(r);
        tkn_agent_free(per_turn);
        status = 2;
        break;
      }
      tkn_agent_free(per_turn);
      tkn_agent_stats st = TKN_AGENT_STATS_INIT;
      tkn_agent_result_stats(r, &st);
      const char *fin = tkn_agent_result_finish_reason(r);
      rs->turns++;
      add_stats(rs, r, long_flow, cJSON_GetObjectItemCaseSensitive(schemas, type) != NULL, to.batch);
      if (!strcmp(fin, "budget_exceeded")) rs->budget_exceeded++;
      if (!strcmp(fin, "error")) rs->errors++;
      if (!strcmp(fin, "length")) rs->truncated++;
      if (s.last_missing) rs->facts_lost++;
      int answered = !strcmp(fin, "stop") || !strcmp(fin, "length");
      if (!answered || !s.last_correct) rs->wrong++;
      tkn_agent_result_free(r);
      ti++;
    }
    tkn_agent_free(agent);
    tkn_conv_free(conv);
    tkn_budget_free(budget);
    if (status) break;
  }
  cli_progress(label, n_flows, n_flows);
  tkn_meter_stats ms = TKN_METER_STATS_INIT;
  if (!status && tkn_meter_stats_get(meter, TKN_METER_TOTAL, NULL, 0, &ms) == TKN_OK) {
    rs->validated = (int64_t)ms.validated;
    rs->passed = (int64_t)ms.validation_passed;
  }
  rs->batch_calls = s.batch_calls;
  for (size_t i = 0; !status && i < s.n_models; i++) {
    tkn_meter_stats m = TKN_METER_STATS_INIT;
    tkn_model_price p = TKN_MODEL_PRICE_INIT;
    const char *name = s.models[i].name;
    if (tkn_meter_stats_get(meter, TKN_METER_MODEL, name, strlen(name), &m) == TKN_OK &&
        tkn_prices_lookup(c->prices, name, strlen(name), &p) == TKN_OK) {
      /* picodollars per million tokens -> per token, rounded */
      int64_t in = (p.input_per_mtok + 500000) / 1000000;
      int64_t read = (p.has & TKN_PRICE_CACHE_READ) ? (p.cache_read_per_mtok + 500000) / 1000000 : in;
      rs->input_cost += (m.input_tokens - m.cache_read_tokens) * in + m.cache_read_tokens * read;
      rs->input_cost_all_cached += m.input_tokens * read;
      rs->input_cost_uncached += m.input_tokens * in;
    }
  }
  for (size_t i = 0; i < s.n_models; i++) {
    rs->model_calls[i] = s.models[i].calls;
    snprintf(rs->model_names[i], sizeof rs->model_names[i], "%s", s.models[i].name);
  }
  rs->n_models = s.n_models;
  if (!status && export && c->export_path) {
    char *js = NULL;
    size_t jl = 0;
    FILE *f = fopen(c->export_path, "wb");
    if (!f || tkn_meter_export(meter, TKN_METER_JSON, &js, &jl) || fwrite(js, 1, jl, f) != jl) {
      snprintf(rs->err, sizeof rs->err, "cannot write the meter export to %s", c->export_path);
      status = 2;
    }
    if (f) fclose(f);
    tkn_free(js);
  }
  for (size_t i = 0; i < n_compiled; i++) {
    tkn_schema_free(compiled[i]);
    free(compiled_text[i]);
  }
  tkn_meter_free(meter);
  sim_free(&s);
  return status;
}

/* ---- output ---- */

static const char *pct(int64_t part, int64_t whole, char *buf, size_t len) {
  if (whole <= 0)
    snprintf(buf, len, "n/a");
  else
    snprintf(buf, len, "%.1f%%", 100.0 * (double)part / (double)whole);
  return buf;
}

static const char *change(int64_t before, int64_t after, char *buf, size_t len) {
  if (before == 0)
    buf[0] = len ? 0 : buf[0];
  else
    snprintf(buf, len, "%+.1f%%", 100.0 * ((double)after - (double)before) / (double)before);
  return buf;
}

static void row_int(const char *name, int64_t a, int64_t b, int show_change) {
  char x[32], y[32], z[32];
  printf("| %-38s | %14s | %14s | %8s |\n", name, cli_int(a, x, sizeof x), cli_int(b, y, sizeof y),
         show_change ? change(a, b, z, sizeof z) : "");
}

static void print_table(const ctx *c, const run_stats *base, const run_stats *opt,
                        const run_stats *loo) {
  char a[48], b[48], d[48];
  const cJSON *flows = cJSON_GetObjectItemCaseSensitive(c->wl, "workflows");
  printf("tokenomy simulate: %s, %d workflows, %lld turns, seed %llu (simulated model, no "
         "network)\n\n",
         str(c->wl, "name"), cJSON_GetArraySize(flows), (long long)opt->turns,
         (unsigned long long)c->seed);
  printf("| %-38s | %14s | %14s | %8s |\n", "", "naive baseline", "optimised", "change");
  printf("|----------------------------------------|----------------|----------------|----------|\n");
  row_int("model calls", base->calls, opt->calls, 1);
  for (size_t i = 0; i < opt->n_models; i++) {
    char name[96];
    snprintf(name, sizeof name, "  calls to %s", opt->model_names[i]);
    row_int(name, base->model_calls[i], opt->model_calls[i], 0);
  }
  row_int("  of which through the batch API", base->batch_calls, opt->batch_calls, 0);
  row_int("input tokens, uncached", base->input - base->cached - base->cache_write,
          opt->input - opt->cached - opt->cache_write, 1);
  row_int("input tokens, cached", base->cached, opt->cached, 0);
  row_int("output tokens", base->output, opt->output, 1);
  row_int("total tokens", base->input + base->output, opt->input + opt->output, 1);
  printf("| %-38s | %14s | %14s | %8s |\n", "cost (USD)", cli_usd(base->cost, 4, a, sizeof a),
         cli_usd(opt->cost, 4, b, sizeof b), change(base->cost, opt->cost, d, sizeof d));
  printf("| %-38s | %14s | %14s | %8s |\n", "cache hit rate (cached / input)",
         pct(base->cached, base->input, a, sizeof a), pct(opt->cached, opt->input, b, sizeof b), "");
  printf("| %-38s | %14s | %14s | %8s |\n", "validation pass rate",
         pct(base->passed, base->validated, a, sizeof a), pct(opt->passed, opt->validated, b, sizeof b),
         "");
  printf("| %-38s | %14s | %14s | %8s |\n", "*quality: what it cost*", "", "", "");
  row_int("escalations (retry plan, cascade)", base->escalations, opt->escalations, 0);
  row_int("validation failures (re-asked)", base->val_failures, opt->val_failures, 0);
  row_int("answers cut by the output cap", base->truncated, opt->truncated, 0);
  row_int("turns missing a needed fact (pruning)", base->facts_lost, opt->facts_lost, 0);
  row_int("wrong or missing final answers", base->wrong, opt->wrong, 0);
  row_int("turns closed by a budget", base->budget_exceeded, opt->budget_exceeded, 0);
  row_int("messages pruned", base->pruned, opt->pruned, 0);

  int64_t total_saving = base->cost - opt->cost;
  int64_t marg[N_TECH], sum = 0;
  for (int i = 0; i < N_TECH; i++) {
    marg[i] = loo[i].cost - opt->cost;
    if (marg[i] > 0) sum += marg[i];
  }
  printf("\nShare of the saving by technique (leave-one-out: the cost of the optimised run\n"
         "without that technique, minus the optimised cost, normalised over the five):\n\n");
  printf("| %-38s | %14s | %8s | %14s | %14s |\n", "technique", "saving (USD)", "share",
         "tokens saved", "quality cost");
  printf("|----------------------------------------|----------------|----------|----------------|"
         "----------------|\n");
  for (int i = 0; i < N_TECH; i++) {
    char q[64];
    int64_t dw = opt->wrong - loo[i].wrong;
    snprintf(q, sizeof q, "%+lld wrong", (long long)dw);
    char tk[32];
    printf("| %-38s | %14s | %8s | %14s | %14s |\n", TECHNIQUES[i].name,
           cli_usd(marg[i], 4, a, sizeof a), pct(marg[i] > 0 ? marg[i] : 0, sum, b, sizeof b),
           cli_int((loo[i].input + loo[i].output) - (opt->input + opt->output), tk, sizeof tk), q);
  }
  /* each technique on its own measure, beside what the issue expects */
  struct {
    const char *measure;
    int64_t without, with;
    int money;
    const char *expected;
  } m[N_TECH] = {
      {"input tokens, workflows over 8 turns", loo[0].long_input, opt->long_input, 0, "35-50%"},
      {"model cost per turn (USD)", loo[1].turns ? loo[1].cost / loo[1].turns : 0,
       opt->turns ? opt->cost / opt->turns : 0, 1, "50-70%"},
      {"input cost (cache reads at their price)", loo[2].input_cost, opt->input_cost, 1, "60-70%"},
      {"cost of latency-insensitive turns", loo[3].batch_cost, opt->batch_cost, 1, "50%"},
      {"output tokens of structured tasks", loo[4].struct_out, opt->struct_out, 0, "60-80%"}};
  printf("\nEach technique on its own measure (optimised run without it -> with it):\n\n");
  printf("| %-38s | %-40s | %14s | %14s | %9s | %9s |\n", "technique", "measure", "without",
         "with", "reduction", "expected");
  printf("|----------------------------------------|------------------------------------------|"
         "----------------|----------------|-----------|-----------|\n");
  for (int i = 0; i < N_TECH; i++) {
    char w1[48], w2[48], r[32];
    if (m[i].money) {
      cli_usd(m[i].without, i == 1 ? 6 : 4, w1, sizeof w1);
      cli_usd(m[i].with, i == 1 ? 6 : 4, w2, sizeof w2);
    } else {
      cli_int(m[i].without, w1, sizeof w1);
      cli_int(m[i].with, w2, sizeof w2);
    }
    if (m[i].without > 0)
      snprintf(r, sizeof r, "%.1f%%", 100.0 * (double)(m[i].without - m[i].with) / (double)m[i].without);
    else
      snprintf(r, sizeof r, "n/a");
    printf("| %-38s | %-40s | %14s | %14s | %9s | %9s |\n", TECHNIQUES[i].name, m[i].measure, w1,
           w2, r, m[i].expected);
  }
  /* what caching could do at most here: the providers' cache-read discount
   * (OpenAI: 50% for gpt-4o and gpt-4o-mini, 75% for gpt-4.1-mini) bounds it */
  printf("\nPrompt caching's ceiling on this run: %s of the input cost, if every input token\n"
         "were read from the cache at these models' cache-read prices; the run reaches %s\n"
         "against its own uncached input cost (the table compares with the run whose prompt\n"
         "is not cache-friendly).\n",
         pct(opt->input_cost_uncached - opt->input_cost_all_cached, opt->input_cost_uncached, a,
             sizeof a),
         pct(opt->input_cost_uncached - opt->input_cost, opt->input_cost_uncached, b, sizeof b));
  printf("\nTotal saving: %s USD (%s of the baseline).  \"quality cost\": wrong or missing\n"
         "answers with the technique minus without it.\n",
         cli_usd(total_saving, 4, a, sizeof a), pct(total_saving, base->cost, b, sizeof b));
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

int cmd_simulate(int argc, char **argv) {
  const char *workload = "support-agent", *export_path = NULL;
  uint64_t seed = 1;
  int as_json = 0, dump = 0;
  for (int i = 1; i < argc; i++) {
    const char *v;
    if (cli_is(argv[i], "--help", "-h")) {
      fputs(HELP, stdout);
      return 0;
    } else if ((v = cli_opt(argc, argv, &i, "--workload"))) {
      workload = v;
    } else if ((v = cli_opt(argc, argv, &i, "--seed"))) {
      char *end = NULL;
      seed = strtoull(v, &end, 10);
      if (!*v || *end) return cli_fail("simulate", "--seed: expected a number, got '%s'", v), 1;
    } else if ((v = cli_opt(argc, argv, &i, "--export-meter"))) {
      export_path = v;
    } else if (cli_is(argv[i], "--json", NULL)) {
      as_json = 1;
    } else if (cli_is(argv[i], "--dump-workload", NULL)) {
      dump = 1;
    } else {
      return cli_fail("simulate", "unknown option '%s' (see --help)", argv[i]), 1;
    }
  }
  ctx c;
  memset(&c, 0, sizeof c);
  c.seed = seed;
  c.export_path = export_path;
  c.wl = wl_generate(workload, seed);
  if (!c.wl) {
    c.wl = cli_read_json("simulate", workload, NULL);
    if (!c.wl) return 2;
  }
  char err[512];
  if (wl_check(c.wl, err, sizeof err)) {
    cJSON_Delete(c.wl);
    return cli_fail("simulate", "%s", err);
  }
  if (dump) {
    char *js = cJSON_Print(c.wl);
    fputs(js ? js : "", stdout);
    fputc('\n', stdout);
    free(js);
    cJSON_Delete(c.wl);
    return 0;
  }
  c.baseline = str(c.wl, "baseline_model");
  char *rj = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(c.wl, "router"));
  int rc = rj ? tkn_router_new_json(&c.router, rj, strlen(rj), NULL, err, sizeof err) : TKN_ERR_NOMEM;
  free(rj);
  if (rc) {
    cJSON_Delete(c.wl);
    return cli_fail("simulate", "workload: router: %s", err);
  }
  tkn_tokenizer_new_estimator(&c.tok);
  tkn_prices_new_default(&c.prices);
  run_stats *runs = calloc(2 + N_TECH, sizeof *runs);
  int status = runs ? 0 : 2;
  if (!status) status = run(&c, 0, &runs[0], "naive baseline", 0);
  if (!status) status = run(&c, T_ALL, &runs[1], "optimised", 1);
  for (int i = 0; !status && i < N_TECH; i++)
    status = run(&c, T_ALL & ~TECHNIQUES[i].bit, &runs[2 + i], TECHNIQUES[i].name, 0);
  if (status) {
    for (int i = 0; i < 2 + N_TECH; i++)
      if (runs && runs[i].err[0]) {
        cli_fail("simulate", "%s", runs[i].err);
        break;
      }
  } else if (as_json) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "workload", str(c.wl, "name"));
    cJSON_AddNumberToObject(o, "seed", (double)seed);
    json_run(cJSON_AddObjectToObject(o, "baseline"), &runs[0]);
    json_run(cJSON_AddObjectToObject(o, "optimised"), &runs[1]);
    cJSON *lo = cJSON_AddObjectToObject(o, "without");
    for (int i = 0; i < N_TECH; i++) json_run(cJSON_AddObjectToObject(lo, TECHNIQUES[i].name), &runs[2 + i]);
    char *js = cJSON_Print(o);
    puts(js ? js : "{}");
    free(js);
    cJSON_Delete(o);
  } else {
    print_table(&c, &runs[0], &runs[1], &runs[2]);
  }
  free(runs);
  tkn_router_free(c.router);
  tkn_prices_free(c.prices);
  tkn_tokenizer_free(c.tok);
  cJSON_Delete(c.wl);
  return status;
}
