/* Exporting a meter: JSON, Prometheus text, OpenTelemetry GenAI histogram
 * data points, and the GenAI span attributes of one call.  Money is written
 * from integers only (picodollars and their exact decimal USD text). */
#include <string.h>

#include "meter_internal.h"

int tki_meter_check_call(const tkn_meter_call *c, char err[TKI_ERRLEN]);
const tkn_meter_call *tki_meter_call_lengths(const tkn_meter_call *c, tkn_meter_call *norm);
int tki_meter_percentiles(const tkn_meter *m, const tki_entry *e, tkn_meter_percentiles *out);

static const char *const k_json_dims[TKN_METER__DIMENSIONS] = {
    "by_workflow", "by_model", "by_task_type", "by_tenant", "by_tier", "by_routing_reason"};

static void put_usd(tki_buf *b, int64_t units) {
  char usd[TKN_USD_BUFLEN];
  tkn_usd_format(units, usd, sizeof usd, NULL);
  tki_buf_puts(b, usd);
}

/* A ppm rate as a JSON number with 6 decimals, or null. */
static void put_rate(tki_buf *b, int64_t ppm) {
  if (ppm < 0) tki_buf_puts(b, "null");
  else tki_buf_printf(b, "%lld.%06lld", (long long)(ppm / 1000000), (long long)(ppm % 1000000));
}

static void json_stats(tki_buf *b, const tki_agg *a) {
  tkn_meter_stats s;
  tki_agg_stats(a, &s);
  tki_buf_printf(b,
                 "\"calls\":%llu,\"successes\":%llu,\"failures\":%llu,\"input_tokens\":%lld,"
                 "\"cache_read_tokens\":%lld,\"cache_write_5m_tokens\":%lld,"
                 "\"cache_write_1h_tokens\":%lld,\"output_tokens\":%lld,\"reasoning_tokens\":%lld,"
                 "\"cost\":%lld,\"cost_usd\":\"",
                 (unsigned long long)s.calls, (unsigned long long)s.successes,
                 (unsigned long long)(s.calls - s.successes), (long long)s.input_tokens,
                 (long long)s.cache_read_tokens, (long long)s.cache_write_5m_tokens,
                 (long long)s.cache_write_1h_tokens, (long long)s.output_tokens,
                 (long long)s.reasoning_tokens, (long long)s.cost);
  put_usd(b, s.cost);
  tki_buf_puts(b, "\",\"cost_per_success\":");
  if (s.cost_per_success < 0) tki_buf_puts(b, "null");
  else tki_buf_printf(b, "%lld", (long long)s.cost_per_success);
  tki_buf_puts(b, ",\"cache_hit_rate\":");
  put_rate(b, s.cache_hit_ppm);
  tki_buf_printf(b, ",\"cache_reported_input_tokens\":%lld,\"cache_unreported_calls\":%llu",
                 (long long)s.cache_reported_input_tokens,
                 (unsigned long long)s.cache_unreported_calls);
  tki_buf_printf(b, ",\"validated\":%llu,\"validation_pass_rate\":",
                 (unsigned long long)s.validated);
  put_rate(b, s.validation_pass_ppm);
  tki_buf_printf(b, ",\"latency_us_total\":%lld,\"latency_us_mean\":%lld",
                 (long long)s.latency_us_total,
                 (long long)(s.calls ? s.latency_us_total / (int64_t)s.calls : 0));
}

static int export_json(const tkn_meter *m, tki_buf *b) {
  tki_buf_printf(b,
                 "{\"money_unit\":\"picodollar (1e-12 USD)\",\"sketch_relative_error\":0.01,"
                 "\"max_keys\":%u,\"budget_margin_pct\":%u,\"total\":{",
                 (unsigned)m->o.max_keys, (unsigned)m->o.budget_margin_pct);
  json_stats(b, &m->st.total);
  tki_buf_puts(b, "}");
  for (int d = 0; d < TKN_METER__DIMENSIONS; d++) {
    const tki_dim *dm = &m->st.d[d];
    tki_buf_printf(b, ",\"%s\":{", k_json_dims[d]);
    for (size_t i = 0; i < dm->n; i++) {
      const tki_entry *e = &dm->e[i];
      if (i) tki_buf_putc(b, ',');
      tki_buf_json_string(b, e->key, e->key_len);
      tki_buf_putc(b, ':');
      tki_buf_putc(b, '{');
      json_stats(b, &e->a);
      if (d == TKN_METER_MODEL && e->provider) {
        tki_buf_puts(b, ",\"provider\":");
        tki_buf_json_string(b, e->provider, e->provider_len);
      }
      if (d == TKN_METER_WORKFLOW) {
        tkn_meter_percentiles p;
        int rc = tki_meter_percentiles(m, e, &p);
        if (rc != TKN_OK) return rc;
        tki_buf_printf(b,
                       ",\"percentiles\":{\"count\":%llu,\"tokens\":{\"p50\":%lld,\"p95\":%lld,"
                       "\"p99\":%lld},\"cost\":{\"p50\":%lld,\"p95\":%lld,\"p99\":%lld},"
                       "\"suggested_budget\":{\"tokens\":%lld,\"cost\":%lld,\"cost_usd\":\"",
                       (unsigned long long)p.count, (long long)p.tokens_p50,
                       (long long)p.tokens_p95, (long long)p.tokens_p99, (long long)p.cost_p50,
                       (long long)p.cost_p95, (long long)p.cost_p99, (long long)p.budget_tokens,
                       (long long)p.budget_cost);
        put_usd(b, p.budget_cost);
        tki_buf_puts(b, "\"}}");
      }
      tki_buf_putc(b, '}');
    }
    tki_buf_putc(b, '}');
  }
  tki_buf_puts(b, "}");
  return TKN_OK;
}

/* ---- the series both metric exports carry ----
 * One series per combination of model, provider, workflow, tenant and task
 * type (meter_internal.h): a call is in exactly one, so summing a family over
 * its series counts each call once. */

static const char *const k_series_prom[TKI_SERIES_PARTS] = {
    "gen_ai_request_model", "gen_ai_provider_name", "tokenomy_workflow", "tokenomy_tenant",
    "tokenomy_task_type"};
static const char *const k_series_otel[TKI_SERIES_PARTS] = {
    "gen_ai.request.model", "gen_ai.provider.name", "tokenomy.workflow", "tokenomy.tenant",
    "tokenomy.task_type"};

/* Token kinds that do not overlap: their sum is every token of the calls. */
#define N_KINDS 6
static const char *const k_kinds[N_KINDS] = {"input_uncached", "cache_read", "cache_write_5m",
                                             "cache_write_1h", "output_visible", "reasoning"};
static void kinds_of(const tki_agg *a, int64_t v[N_KINDS]) {
  v[0] = a->input - a->cache_read - a->w5 - a->w1;
  v[1] = a->cache_read;
  v[2] = a->w5;
  v[3] = a->w1;
  v[4] = a->output - a->reasoning;
  v[5] = a->reasoning;
}

/* The duration buckets' bounds in seconds, as text (exact decimals). */
static const char *const k_dur_le[TKI_DUR_BOUNDS] = {
    "0.01", "0.02", "0.04", "0.08", "0.16", "0.32", "0.64", "1.28", "2.56", "5.12", "10.24",
    "20.48", "40.96", "81.92"};

/* Microseconds as seconds, exact. */
static void put_seconds(tki_buf *b, int64_t us) {
  tki_buf_printf(b, "%lld.%06lld", (long long)(us / 1000000), (long long)(us % 1000000));
}

/* ---- Prometheus ---- */

static void prom_label(tki_buf *b, const char *s, size_t n) {
  tki_buf_putc(b, '"');
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '\\') tki_buf_puts(b, "\\\\");
    else if (s[i] == '"') tki_buf_puts(b, "\\\"");
    else if (s[i] == '\n') tki_buf_puts(b, "\\n");
    else tki_buf_putc(b, s[i]);
  }
  tki_buf_putc(b, '"');
}

/* name{the series' labels  (the caller adds its own labels and the brace) */
static void prom_series(tki_buf *b, const char *name, const tki_entry *e) {
  tki_buf_printf(b, "%s{gen_ai_operation_name=\"chat\"", name);
  for (int i = 0; i < TKI_SERIES_PARTS; i++) {
    const char *s;
    size_t n;
    tki_series_part(e, i, &s, &n);
    tki_buf_printf(b, ",%s=", k_series_prom[i]);
    prom_label(b, s, n);
  }
}

static void prom_head(tki_buf *b, const char *name, const char *type, const char *help) {
  tki_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void prom_token_usage(const tki_dim *sd, tki_buf *b) {
  static const char name[] = "gen_ai_client_token_usage";
  prom_head(b, name, "histogram", "Number of input and output tokens used.");
  static const char *const types[2] = {"input", "output"};
  for (size_t i = 0; i < sd->n; i++) {
    const tki_entry *e = &sd->e[i];
    for (int t = 0; t < 2; t++) {
      uint64_t cum = 0;
      for (int k = 0; k <= TKI_HIST_BOUNDS; k++) {
        cum += e->a.hist[t][k];
        prom_series(b, "gen_ai_client_token_usage_bucket", e);
        tki_buf_printf(b, ",gen_ai_token_type=\"%s\",le=\"", types[t]);
        if (k < TKI_HIST_BOUNDS) tki_buf_printf(b, "%lld", (long long)tki_token_bounds[k]);
        else tki_buf_puts(b, "+Inf");
        tki_buf_printf(b, "\"} %llu\n", (unsigned long long)cum);
      }
      prom_series(b, "gen_ai_client_token_usage_sum", e);
      tki_buf_printf(b, ",gen_ai_token_type=\"%s\"} %lld\n", types[t],
                     (long long)(t == 0 ? e->a.input : e->a.output));
      prom_series(b, "gen_ai_client_token_usage_count", e);
      tki_buf_printf(b, ",gen_ai_token_type=\"%s\"} %llu\n", types[t],
                     (unsigned long long)e->a.calls);
    }
  }
}

static void prom_duration(const tki_dim *sd, tki_buf *b) {
  prom_head(b, "gen_ai_client_operation_duration_seconds", "histogram",
            "GenAI operation duration (the latency each call was recorded with).");
  for (size_t i = 0; i < sd->n; i++) {
    const tki_entry *e = &sd->e[i];
    uint64_t cum = 0;
    for (int k = 0; k <= TKI_DUR_BOUNDS; k++) {
      cum += e->a.dur[k];
      prom_series(b, "gen_ai_client_operation_duration_seconds_bucket", e);
      tki_buf_printf(b, ",le=\"%s\"} %llu\n", k < TKI_DUR_BOUNDS ? k_dur_le[k] : "+Inf",
                     (unsigned long long)cum);
    }
    prom_series(b, "gen_ai_client_operation_duration_seconds_sum", e);
    tki_buf_puts(b, "} ");
    put_seconds(b, e->a.latency);
    tki_buf_putc(b, '\n');
    prom_series(b, "gen_ai_client_operation_duration_seconds_count", e);
    tki_buf_printf(b, "} %llu\n", (unsigned long long)e->a.calls);
  }
}

/* Calls by outcome (kind 0) or validated calls by result (kind 1): per key, two
 * series that add up to the whole. */
static void prom_split(const tki_dim *sd, tki_buf *b, int kind) {
  static const char *const name[2] = {"tokenomy_calls_total", "tokenomy_validations_total"};
  static const char *const help[2] = {
      "Model calls recorded, by outcome (success or failure).",
      "Calls whose output was validated, by result (passed or failed)."};
  static const char *const yes[2] = {"outcome=\"success\"", "result=\"passed\""};
  static const char *const no[2] = {"outcome=\"failure\"", "result=\"failed\""};
  prom_head(b, name[kind], "counter", help[kind]);
  for (size_t i = 0; i < sd->n; i++) {
    const tki_agg *a = &sd->e[i].a;
    uint64_t part = kind ? a->passed : a->successes, whole = kind ? a->validated : a->calls;
    prom_series(b, name[kind], &sd->e[i]);
    tki_buf_printf(b, ",%s} %llu\n", yes[kind], (unsigned long long)part);
    prom_series(b, name[kind], &sd->e[i]);
    tki_buf_printf(b, ",%s} %llu\n", no[kind], (unsigned long long)(whole - part));
  }
}

static void prom_counters(const tki_dim *sd, tki_buf *b) {
  prom_split(sd, b, 0);
  prom_head(b, "tokenomy_tokens_total", "counter",
            "Tokens by kind; the kinds do not overlap (input_uncached + cache_read + "
            "cache_write_5m + cache_write_1h is the input, output_visible + reasoning the "
            "output).");
  for (size_t i = 0; i < sd->n; i++) {
    int64_t v[N_KINDS];
    kinds_of(&sd->e[i].a, v);
    for (int k = 0; k < N_KINDS; k++) {
      prom_series(b, "tokenomy_tokens_total", &sd->e[i]);
      tki_buf_printf(b, ",kind=\"%s\"} %lld\n", k_kinds[k], (long long)v[k]);
    }
  }
  prom_head(b, "tokenomy_cost_usd_total", "counter",
            "Cost in USD, exact to 1e-12, failed calls included.");
  for (size_t i = 0; i < sd->n; i++) {
    prom_series(b, "tokenomy_cost_usd_total", &sd->e[i]);
    tki_buf_puts(b, "} ");
    put_usd(b, sd->e[i].a.cost);
    tki_buf_putc(b, '\n');
  }
  prom_split(sd, b, 1);
  prom_head(b, "tokenomy_cache_reported_input_tokens_total", "counter",
            "Input tokens of the calls whose provider reported its cache (the cache hit rate "
            "is cache_read tokens over this).");
  for (size_t i = 0; i < sd->n; i++) {
    prom_series(b, "tokenomy_cache_reported_input_tokens_total", &sd->e[i]);
    tki_buf_printf(b, "} %lld\n", (long long)sd->e[i].a.reported_input);
  }
}

/* Per workflow: percentiles as summaries, and the suggested budgets. */
static int prom_workflows(const tkn_meter *m, tki_buf *b) {
  const tki_dim *wd = &m->st.d[TKN_METER_WORKFLOW];
  static const char *const q[3] = {"0.5", "0.95", "0.99"};
  for (int money = 0; money < 2; money++) {
    const char *name = money ? "tokenomy_workflow_cost_usd_per_call"
                             : "tokenomy_workflow_tokens_per_call";
    prom_head(b, name, "summary",
              money ? "Cost per call of a workflow, in USD (quantiles within 1%)."
                    : "Input plus output tokens per call of a workflow (quantiles within 1%).");
    for (size_t i = 0; i < wd->n; i++) {
      const tki_entry *e = &wd->e[i];
      tkn_meter_percentiles p;
      int rc = tki_meter_percentiles(m, e, &p);
      if (rc != TKN_OK) return rc;
      const int64_t v[3] = {money ? p.cost_p50 : p.tokens_p50, money ? p.cost_p95 : p.tokens_p95,
                            money ? p.cost_p99 : p.tokens_p99};
      for (int k = 0; k < 3; k++) {
        tki_buf_printf(b, "%s{tokenomy_workflow=", name);
        prom_label(b, e->key, e->key_len);
        tki_buf_printf(b, ",quantile=\"%s\"} ", q[k]);
        if (money) put_usd(b, v[k]);
        else tki_buf_printf(b, "%lld", (long long)v[k]);
        tki_buf_putc(b, '\n');
      }
      tki_buf_printf(b, "%s_sum{tokenomy_workflow=", name);
      prom_label(b, e->key, e->key_len);
      tki_buf_puts(b, "} ");
      if (money) put_usd(b, e->a.cost);
      else tki_buf_printf(b, "%lld", (long long)(e->a.input + e->a.output));
      tki_buf_printf(b, "\n%s_count{tokenomy_workflow=", name);
      prom_label(b, e->key, e->key_len);
      tki_buf_printf(b, "} %llu\n", (unsigned long long)p.count);
    }
  }
  for (int money = 0; money < 2; money++) {
    const char *name = money ? "tokenomy_workflow_suggested_budget_usd"
                             : "tokenomy_workflow_suggested_budget_tokens";
    tki_buf_printf(b, "# HELP %s Suggested budget per call: p99 x (100 + %u)/100.\n"
                      "# TYPE %s gauge\n",
                   name, (unsigned)m->o.budget_margin_pct, name);
    for (size_t i = 0; i < wd->n; i++) {
      tkn_meter_percentiles p;
      int rc = tki_meter_percentiles(m, &wd->e[i], &p);
      if (rc != TKN_OK) return rc;
      tki_buf_printf(b, "%s{tokenomy_workflow=", name);
      prom_label(b, wd->e[i].key, wd->e[i].key_len);
      tki_buf_puts(b, "} ");
      if (money) put_usd(b, p.budget_cost);
      else tki_buf_printf(b, "%lld", (long long)p.budget_tokens);
      tki_buf_putc(b, '\n');
    }
  }
  return TKN_OK;
}

static int export_prometheus(const tkn_meter *m, tki_buf *b) {
  const tki_dim *sd = &m->st.d[TKI_SERIES];
  prom_token_usage(sd, b);
  prom_duration(sd, b);
  prom_counters(sd, b);
  return prom_workflows(m, b);
}

/* ---- OpenTelemetry: OTLP JSON (ExportMetricsServiceRequest) ---- */

typedef struct otel_ctx {
  tki_buf *b;
  int64_t start_ns, now_ns;
} otel_ctx;

static void otel_attr_str(tki_buf *b, const char *key, const char *v, size_t n) {
  tki_buf_printf(b, "{\"key\":\"%s\",\"value\":{\"stringValue\":", key);
  tki_buf_json_string(b, v, n);
  tki_buf_puts(b, "}}");
}

/* {"attributes":[the series' attributes  (the caller may add more and closes) */
static void otel_point_open(const otel_ctx *x, const tki_entry *e) {
  tki_buf *b = x->b;
  tki_buf_printf(b, "{\"startTimeUnixNano\":\"%lld\",\"timeUnixNano\":\"%lld\",\"attributes\":[",
                 (long long)x->start_ns, (long long)x->now_ns);
  otel_attr_str(b, "gen_ai.operation.name", "chat", 4);
  for (int i = 0; i < TKI_SERIES_PARTS; i++) {
    const char *s;
    size_t n;
    tki_series_part(e, i, &s, &n);
    if (!n && i == TKI_PART_PROVIDER) continue; /* unknown: no attribute */
    tki_buf_putc(b, ',');
    otel_attr_str(b, k_series_otel[i], s, n);
  }
}

static void otel_metric_open(tki_buf *b, int first, const char *name, const char *unit,
                             const char *desc, const char *kind) {
  if (!first) tki_buf_putc(b, ',');
  tki_buf_printf(b, "{\"name\":\"%s\",\"unit\":\"%s\",\"description\":\"%s\",\"%s\":{", name,
                 unit, desc, kind);
}

static void otel_histograms(const otel_ctx *x, const tki_dim *sd) {
  tki_buf *b = x->b;
  otel_metric_open(b, 1, "gen_ai.client.token.usage", "{token}",
                   "Number of input and output tokens used.", "histogram");
  tki_buf_puts(b, "\"aggregationTemporality\":2,\"dataPoints\":[");
  static const char *const types[2] = {"input", "output"};
  for (size_t i = 0; i < sd->n; i++) {
    const tki_entry *e = &sd->e[i];
    for (int t = 0; t < 2; t++) {
      if (i || t) tki_buf_putc(b, ',');
      otel_point_open(x, e);
      tki_buf_putc(b, ',');
      otel_attr_str(b, "gen_ai.token.type", types[t], strlen(types[t]));
      tki_buf_printf(b, "],\"count\":\"%llu\",\"sum\":%lld,\"bucketCounts\":[",
                     (unsigned long long)e->a.calls, (long long)(t ? e->a.output : e->a.input));
      for (int k = 0; k <= TKI_HIST_BOUNDS; k++)
        tki_buf_printf(b, "%s\"%llu\"", k ? "," : "", (unsigned long long)e->a.hist[t][k]);
      tki_buf_puts(b, "],\"explicitBounds\":[");
      for (int k = 0; k < TKI_HIST_BOUNDS; k++)
        tki_buf_printf(b, "%s%lld", k ? "," : "", (long long)tki_token_bounds[k]);
      tki_buf_puts(b, "]}");
    }
  }
  tki_buf_puts(b, "]}}");
  otel_metric_open(b, 0, "gen_ai.client.operation.duration", "s", "GenAI operation duration.",
                   "histogram");
  tki_buf_puts(b, "\"aggregationTemporality\":2,\"dataPoints\":[");
  for (size_t i = 0; i < sd->n; i++) {
    const tki_entry *e = &sd->e[i];
    if (i) tki_buf_putc(b, ',');
    otel_point_open(x, e);
    tki_buf_printf(b, "],\"count\":\"%llu\",\"sum\":", (unsigned long long)e->a.calls);
    put_seconds(b, e->a.latency);
    tki_buf_puts(b, ",\"bucketCounts\":[");
    for (int k = 0; k <= TKI_DUR_BOUNDS; k++)
      tki_buf_printf(b, "%s\"%llu\"", k ? "," : "", (unsigned long long)e->a.dur[k]);
    tki_buf_puts(b, "],\"explicitBounds\":[");
    for (int k = 0; k < TKI_DUR_BOUNDS; k++) tki_buf_printf(b, "%s%s", k ? "," : "", k_dur_le[k]);
    tki_buf_puts(b, "]}");
  }
  tki_buf_puts(b, "]}}");
}

/* A monotonic cumulative sum; per series, `n` points with one extra
 * attribute `attr` = names[k] (attr NULL: one point, no extra attribute). */
static void otel_sum(const otel_ctx *x, const tki_dim *sd, const char *name, const char *unit,
                     const char *desc, const char *attr, const char *const *names, int n) {
  tki_buf *b = x->b;
  otel_metric_open(b, 0, name, unit, desc, "sum");
  tki_buf_puts(b, "\"aggregationTemporality\":2,\"isMonotonic\":true,\"dataPoints\":[");
  int first = 1;
  for (size_t i = 0; i < sd->n; i++) {
    const tki_agg *a = &sd->e[i].a;
    int64_t kinds[N_KINDS];
    kinds_of(a, kinds);
    for (int k = 0; k < n; k++) {
      if (!first) tki_buf_putc(b, ',');
      first = 0;
      otel_point_open(x, &sd->e[i]);
      if (attr) {
        tki_buf_putc(b, ',');
        otel_attr_str(b, attr, names[k], strlen(names[k]));
      }
      tki_buf_puts(b, "],");
      if (!strcmp(name, "tokenomy.calls"))
        tki_buf_printf(b, "\"asInt\":\"%llu\"}",
                       (unsigned long long)(k ? a->calls - a->successes : a->successes));
      else if (!strcmp(name, "tokenomy.validations"))
        tki_buf_printf(b, "\"asInt\":\"%llu\"}",
                       (unsigned long long)(k ? a->validated - a->passed : a->passed));
      else if (!strcmp(name, "tokenomy.tokens"))
        tki_buf_printf(b, "\"asInt\":\"%lld\"}", (long long)kinds[k]);
      else if (!strcmp(name, "tokenomy.cache.reported_input_tokens"))
        tki_buf_printf(b, "\"asInt\":\"%lld\"}", (long long)a->reported_input);
      else {
        tki_buf_puts(b, "\"asDouble\":");
        put_usd(b, a->cost);
        tki_buf_putc(b, '}');
      }
    }
  }
  tki_buf_puts(b, "]}}");
}

static void otel_workflow_point(const otel_ctx *x, const tki_entry *e) {
  tki_buf_printf(x->b,
                 "{\"startTimeUnixNano\":\"%lld\",\"timeUnixNano\":\"%lld\",\"attributes\":[",
                 (long long)x->start_ns, (long long)x->now_ns);
  otel_attr_str(x->b, "tokenomy.workflow", e->key, e->key_len);
  tki_buf_puts(x->b, "],");
}

static int otel_workflows(const tkn_meter *m, const otel_ctx *x) {
  tki_buf *b = x->b;
  const tki_dim *wd = &m->st.d[TKN_METER_WORKFLOW];
  for (int money = 0; money < 2; money++) {
    otel_metric_open(b, 0,
                     money ? "tokenomy.workflow.cost_per_call"
                           : "tokenomy.workflow.tokens_per_call",
                     money ? "USD" : "{token}",
                     money ? "Cost per call of a workflow (quantiles within 1%)."
                           : "Input plus output tokens per call of a workflow (quantiles "
                             "within 1%).",
                     "summary");
    tki_buf_puts(b, "\"dataPoints\":[");
    for (size_t i = 0; i < wd->n; i++) {
      const tki_entry *e = &wd->e[i];
      tkn_meter_percentiles p;
      int rc = tki_meter_percentiles(m, e, &p);
      if (rc != TKN_OK) return rc;
      if (i) tki_buf_putc(b, ',');
      otel_workflow_point(x, e);
      tki_buf_printf(b, "\"count\":\"%llu\",\"sum\":", (unsigned long long)p.count);
      if (money) put_usd(b, e->a.cost);
      else tki_buf_printf(b, "%lld", (long long)(e->a.input + e->a.output));
      static const char *const q[3] = {"0.5", "0.95", "0.99"};
      const int64_t v[3] = {money ? p.cost_p50 : p.tokens_p50, money ? p.cost_p95 : p.tokens_p95,
                            money ? p.cost_p99 : p.tokens_p99};
      tki_buf_puts(b, ",\"quantileValues\":[");
      for (int k = 0; k < 3; k++) {
        tki_buf_printf(b, "%s{\"quantile\":%s,\"value\":", k ? "," : "", q[k]);
        if (money) put_usd(b, v[k]);
        else tki_buf_printf(b, "%lld", (long long)v[k]);
        tki_buf_putc(b, '}');
      }
      tki_buf_puts(b, "]}");
    }
    tki_buf_puts(b, "]}}");
  }
  for (int money = 0; money < 2; money++) {
    otel_metric_open(b, 0,
                     money ? "tokenomy.workflow.suggested_budget.cost"
                           : "tokenomy.workflow.suggested_budget.tokens",
                     money ? "USD" : "{token}", "Suggested budget per call: p99 plus the margin.",
                     "gauge");
    tki_buf_puts(b, "\"dataPoints\":[");
    for (size_t i = 0; i < wd->n; i++) {
      tkn_meter_percentiles p;
      int rc = tki_meter_percentiles(m, &wd->e[i], &p);
      if (rc != TKN_OK) return rc;
      if (i) tki_buf_putc(b, ',');
      otel_workflow_point(x, &wd->e[i]);
      if (money) {
        tki_buf_puts(b, "\"asDouble\":");
        put_usd(b, p.budget_cost);
        tki_buf_putc(b, '}');
      } else {
        tki_buf_printf(b, "\"asInt\":\"%lld\"}", (long long)p.budget_tokens);
      }
    }
    tki_buf_puts(b, "]}}");
  }
  return TKN_OK;
}

static int export_otel(const tkn_meter *m, tki_buf *b) {
  otel_ctx x = {b, m->start_ns, tki_meter_now_ns()};
  const tki_dim *sd = &m->st.d[TKI_SERIES];
  tki_buf_printf(b, "{\"resourceMetrics\":[{\"resource\":{\"attributes\":[]},\"scopeMetrics\":"
                    "[{\"scope\":{\"name\":\"tokenomy\",\"version\":\"%s\"},\"metrics\":[",
                 TKN_VERSION_STRING);
  otel_histograms(&x, sd);
  static const char *const outcomes[2] = {"success", "failure"};
  static const char *const results[2] = {"passed", "failed"};
  otel_sum(&x, sd, "tokenomy.calls", "{call}", "Model calls recorded, by outcome.",
           "tokenomy.outcome", outcomes, 2);
  otel_sum(&x, sd, "tokenomy.tokens", "{token}", "Tokens by kind; the kinds do not overlap.",
           "tokenomy.token.kind", k_kinds, N_KINDS);
  otel_sum(&x, sd, "tokenomy.cost", "USD", "Cost, failed calls included.", NULL, NULL, 1);
  otel_sum(&x, sd, "tokenomy.validations", "{call}", "Validated calls, by result.",
           "tokenomy.validation.result", results, 2);
  otel_sum(&x, sd, "tokenomy.cache.reported_input_tokens", "{token}",
           "Input tokens of the calls whose provider reported its cache.", NULL, NULL, 1);
  int rc = otel_workflows(m, &x);
  tki_buf_puts(b, "]}]}]}");
  return rc;
}

int tkn_meter_export(tkn_meter *m, int format, char **out, size_t *len) {
  if (!m || !out) return tki_fail_null("tkn_meter_export", !m ? "meter" : "out");
  if (format < TKN_METER_JSON || format > TKN_METER_OTEL)
    return tki_fail(TKN_ERR_INVALID, "tkn_meter_export: format %d is not a TKN_METER_* format",
                    format);
  *out = NULL;
  tki_buf b;
  tki_buf_init(&b);
  int rc = TKN_OK;
  pthread_mutex_lock(&m->mu);
  if (format == TKN_METER_JSON) rc = export_json(m, &b);
  else if (format == TKN_METER_PROMETHEUS) rc = export_prometheus(m, &b);
  else rc = export_otel(m, &b);
  pthread_mutex_unlock(&m->mu);
  if (rc != TKN_OK) {
    tki_buf_free(&b);
    return rc;
  }
  return tki_buf_give(&b, out, len, "tkn_meter_export");
}

/* ---- one call's span attributes ---- */

static void attr_str(tki_buf *b, const char *key, const char *v, size_t n) {
  tki_buf_printf(b, ",\"%s\":", key);
  tki_buf_json_string(b, v ? v : "", v ? n : 0);
}

int tkn_meter_otel_call(const tkn_meter_call *c, char **out, size_t *len) {
  if (!out) return tki_fail(TKN_ERR_INVALID, "tkn_meter_otel_call: out is NULL");
  *out = NULL;
  char err[TKI_ERRLEN];
  tkn_meter_call norm;
  c = tki_meter_call_lengths(c, &norm);
  int rc = tki_meter_check_call(c, err);
  if (rc != TKN_OK) return rc;
  const tkn_usage *u = &c->usage;
  tki_buf b;
  tki_buf_init(&b);
  tki_buf_puts(&b, "{\"gen_ai.operation.name\":\"chat\"");
  if (c->provider_len) attr_str(&b, "gen_ai.provider.name", c->provider, c->provider_len);
  if (c->model_len) attr_str(&b, "gen_ai.request.model", c->model, c->model_len);
  tki_buf_printf(&b, ",\"gen_ai.usage.input_tokens\":%lld,\"gen_ai.usage.output_tokens\":%lld",
                 (long long)u->input_tokens, (long long)u->output_tokens);
  if (u->flags & TKN_USAGE_CACHE_REPORTED)
    tki_buf_printf(&b, ",\"gen_ai.usage.cache_read.input_tokens\":%lld",
                   (long long)u->cache_read_tokens);
  int64_t writes = u->cache_write_5m_tokens + u->cache_write_1h_tokens;
  if ((u->flags & TKN_USAGE_CACHE_WRITE_REPORTED) || writes)
    tki_buf_printf(&b, ",\"gen_ai.usage.cache_creation.input_tokens\":%lld", (long long)writes);
  if ((u->flags & TKN_USAGE_REASONING_REPORTED) || u->reasoning_tokens)
    tki_buf_printf(&b, ",\"gen_ai.usage.reasoning.output_tokens\":%lld",
                   (long long)u->reasoning_tokens);
  if (c->cost != TKN_METER_COST_COMPUTE) {
    tki_buf_puts(&b, ",\"tokenomy.cost.usd\":\"");
    put_usd(&b, c->cost);
    tki_buf_putc(&b, '"');
  }
  if (c->workflow_len) attr_str(&b, "tokenomy.workflow", c->workflow, c->workflow_len);
  if (c->tenant_len) attr_str(&b, "tokenomy.tenant", c->tenant, c->tenant_len);
  if (c->task_type_len) attr_str(&b, "tokenomy.task_type", c->task_type, c->task_type_len);
  if (c->tier_len) attr_str(&b, "tokenomy.tier", c->tier, c->tier_len);
  if (c->routing_reason_len)
    attr_str(&b, "tokenomy.routing_reason", c->routing_reason, c->routing_reason_len);
  static const char *const validation[] = {"none", "passed", "failed"};
  tki_buf_printf(&b, ",\"tokenomy.success\":%s,\"tokenomy.validation\":\"%s\",\"tokenomy.batch\":%s,"
                     "\"tokenomy.latency_us\":%lld",
                 c->success ? "true" : "false", validation[c->validation],
                 (u->flags & TKN_USAGE_BATCH) ? "true" : "false", (long long)c->latency_us);
  if (!c->success) tki_buf_puts(&b, ",\"error.type\":\"_OTHER\"");
  tki_buf_putc(&b, '}');
  return tki_buf_give(&b, out, len, "tkn_meter_otel_call");
}
