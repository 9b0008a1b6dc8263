/* Exporting a meter: JSON, Prometheus text, OpenTelemetry GenAI histogram
 * data points, and the GenAI span attributes of one call.  Money is written
 * from integers only (picodollars and their exact decimal USD text). */
#include <string.h>

#include "meter_internal.h"

int tki_meter_check_call(const tkn_meter_call *c, char err[TKI_ERRLEN]);
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

static void prom_model_labels(tki_buf *b, const tki_entry *e, const char *type) {
  tki_buf_puts(b, "{gen_ai_operation_name=\"chat\",gen_ai_provider_name=");
  if (e->provider) prom_label(b, e->provider, e->provider_len);
  else tki_buf_puts(b, "\"\"");
  tki_buf_puts(b, ",gen_ai_request_model=");
  prom_label(b, e->key, e->key_len);
  tki_buf_printf(b, ",gen_ai_token_type=\"%s\"", type);
}

static void prom_histograms(const tkn_meter *m, tki_buf *b) {
  tki_buf_puts(b, "# HELP gen_ai_client_token_usage Number of input and output tokens used.\n"
                  "# TYPE gen_ai_client_token_usage histogram\n");
  const tki_dim *dm = &m->st.d[TKN_METER_MODEL];
  static const char *const types[2] = {"input", "output"};
  for (size_t i = 0; i < dm->n; i++) {
    const tki_entry *e = &dm->e[i];
    for (int t = 0; t < 2; t++) {
      uint64_t cum = 0;
      for (int k = 0; k <= TKI_HIST_BOUNDS; k++) {
        cum += e->a.hist[t][k];
        tki_buf_puts(b, "gen_ai_client_token_usage_bucket");
        prom_model_labels(b, e, types[t]);
        if (k < TKI_HIST_BOUNDS) tki_buf_printf(b, ",le=\"%lld\"} %llu\n", (long long)tki_token_bounds[k], (unsigned long long)cum);
        else tki_buf_printf(b, ",le=\"+Inf\"} %llu\n", (unsigned long long)cum);
      }
      tki_buf_puts(b, "gen_ai_client_token_usage_sum");
      prom_model_labels(b, e, types[t]);
      tki_buf_printf(b, "} %lld\n", (long long)(t == 0 ? e->a.input : e->a.output));
      tki_buf_puts(b, "gen_ai_client_token_usage_count");
      prom_model_labels(b, e, types[t]);
      tki_buf_printf(b, "} %llu\n", (unsigned long long)e->a.calls);
    }
  }
}

typedef struct prom_metric {
  const char *name, *type, *help;
} prom_metric;

static void prom_sample_prefix(tki_buf *b, const char *name, int d, const tki_entry *e) {
  tki_buf_printf(b, "%s{by=\"%s\",key=", name, d < 0 ? "total" : tki_dim_names[d]);
  if (e) prom_label(b, e->key, e->key_len);
  else tki_buf_puts(b, "\"\"");
}

static void prom_counters_of(tki_buf *b, int metric, int d, const tki_entry *e, const tki_agg *a) {
  static const char *const names[] = {"tokenomy_calls_total", "tokenomy_successes_total",
                                      "tokenomy_tokens_total", "tokenomy_cost_usd_total",
                                      "tokenomy_cache_hit_ratio",
                                      "tokenomy_validation_pass_ratio"};
  tkn_meter_stats s;
  tki_agg_stats(a, &s);
  const char *name = names[metric];
  switch (metric) {
  case 0:
  case 1:
    prom_sample_prefix(b, name, d, e);
    tki_buf_printf(b, "} %llu\n", (unsigned long long)(metric == 0 ? s.calls : s.successes));
    break;
  case 2: {
    static const char *const kinds[] = {"input", "cache_read", "cache_write_5m", "cache_write_1h",
                                        "output", "reasoning"};
    int64_t v[] = {s.input_tokens, s.cache_read_tokens, s.cache_write_5m_tokens,
                   s.cache_write_1h_tokens, s.output_tokens, s.reasoning_tokens};
    for (int k = 0; k < 6; k++) {
      prom_sample_prefix(b, name, d, e);
      tki_buf_printf(b, ",kind=\"%s\"} %lld\n", kinds[k], (long long)v[k]);
    }
    break;
  }
  case 3:
    prom_sample_prefix(b, name, d, e);
    tki_buf_puts(b, "} ");
    put_usd(b, s.cost);
    tki_buf_putc(b, '\n');
    break;
  default: {
    int64_t ppm = metric == 4 ? s.cache_hit_ppm : s.validation_pass_ppm;
    if (ppm < 0) break; /* nothing reported: no sample rather than a false 0 */
    prom_sample_prefix(b, name, d, e);
    tki_buf_puts(b, "} ");
    put_rate(b, ppm);
    tki_buf_putc(b, '\n');
    break;
  }
  }
}

static void export_prometheus(const tkn_meter *m, tki_buf *b) {
  prom_histograms(m, b);
  static const prom_metric metrics[] = {
      {"tokenomy_calls_total", "counter", "Model calls recorded."},
      {"tokenomy_successes_total", "counter", "Model calls that succeeded."},
      {"tokenomy_tokens_total", "counter",
       "Tokens by kind (input includes cache reads and writes; output includes reasoning)."},
      {"tokenomy_cost_usd_total", "counter", "Cost in USD, exact to 1e-12, failed calls included."},
      {"tokenomy_cache_hit_ratio", "gauge",
       "Cached input over input, over the calls that reported their cache."},
      {"tokenomy_validation_pass_ratio", "gauge", "Validated calls that passed."},
  };
  for (int k = 0; k < 6; k++) {
    tki_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", metrics[k].name, metrics[k].help,
                   metrics[k].name, metrics[k].type);
    prom_counters_of(b, k, -1, NULL, &m->st.total);
    for (int d = 0; d < TKN_METER__DIMENSIONS; d++)
      for (size_t i = 0; i < m->st.d[d].n; i++)
        prom_counters_of(b, k, d, &m->st.d[d].e[i], &m->st.d[d].e[i].a);
  }
}

/* ---- OpenTelemetry ---- */

static void otel_attr_str(tki_buf *b, const char *key, const char *v, size_t n) {
  tki_buf_printf(b, "{\"key\":\"%s\",\"value\":{\"stringValue\":", key);
  tki_buf_json_string(b, v, n);
  tki_buf_puts(b, "}}");
}

static void export_otel(const tkn_meter *m, tki_buf *b) {
  tki_buf_puts(b, "{\"metrics\":[{\"name\":\"gen_ai.client.token.usage\","
                  "\"description\":\"Number of input and output tokens used.\",\"unit\":\"{token}\","
                  "\"histogram\":{\"aggregationTemporality\":2,\"dataPoints\":[");
  const tki_dim *dm = &m->st.d[TKN_METER_MODEL];
  static const char *const types[2] = {"input", "output"};
  int first = 1;
  for (size_t i = 0; i < dm->n; i++) {
    const tki_entry *e = &dm->e[i];
    for (int t = 0; t < 2; t++) {
      if (!first) tki_buf_putc(b, ',');
      first = 0;
      tki_buf_puts(b, "{\"attributes\":[");
      otel_attr_str(b, "gen_ai.operation.name", "chat", 4);
      tki_buf_putc(b, ',');
      otel_attr_str(b, "gen_ai.provider.name", e->provider ? e->provider : "",
                    e->provider ? e->provider_len : 0);
      tki_buf_putc(b, ',');
      otel_attr_str(b, "gen_ai.request.model", e->key, e->key_len);
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
  tki_buf_puts(b, "]}}]}");
}

int tkn_meter_export(tkn_meter *m, int format, char **out, size_t *len) {
  if (!m || !out || format < TKN_METER_JSON || format > TKN_METER_OTEL) return tki_fail(TKN_ERR_INVALID, "tkn_meter_export: a required argument is NULL");
  *out = NULL;
  tki_buf b;
  tki_buf_init(&b);
  int rc = TKN_OK;
  pthread_mutex_lock(&m->mu);
  if (format == TKN_METER_JSON) rc = export_json(m, &b);
  else if (format == TKN_METER_PROMETHEUS) export_prometheus(m, &b);
  else export_otel(m, &b);
  pthread_mutex_unlock(&m->mu);
  if (rc != TKN_OK) {
    tki_buf_free(&b);
    return rc;
  }
  size_t n = 0;
  char *text = tki_buf_steal(&b, &n);
  if (!text) return tki_fail(TKN_ERR_NOMEM, "tkn_meter_export: out of memory");
  *out = text;
  if (len) *len = n;
  return TKN_OK;
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
  size_t n = 0;
  char *text = tki_buf_steal(&b, &n);
  if (!text) return tki_fail(TKN_ERR_NOMEM, "tkn_meter_otel_call: out of memory");
  *out = text;
  if (len) *len = n;
  return TKN_OK;
}
