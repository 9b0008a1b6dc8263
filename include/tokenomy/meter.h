/* tokenomy: metering model calls: what each call cost, attributed to the
 * workflow, model, task type, tenant, tier and routing reason that made it.
 *
 * Each tkn_meter_record() adds one call to six aggregations ("dimensions"):
 * by workflow, model, task type, tenant, tier and routing reason, plus a
 * total.  Each aggregate keeps: calls, successes, tokens by kind, cost (exact
 * picodollars, see common.h; failed calls cost money too), cost per successful
 * call, the cache hit rate as sum(cache_read) / sum(input) over the calls whose
 * provider reported its cache (calls that did not are counted apart, so "not
 * reported" never reads as a 0% hit rate), the validation pass rate over the
 * calls that were validated, latency, and a histogram of input and output
 * tokens with the OpenTelemetry GenAI bucket boundaries.
 *
 * Per workflow, two mergeable sketches (DDSketch-style logarithmic buckets,
 * relative error 1%: a reported percentile v of the true value x at that rank
 * satisfies |v - x| <= 0.01 x, plus 0.5 for rounding v to an integer) give p50 / p95 / p99 of tokens per call (input + output)
 * and cost per call, and a suggested budget per call: p99 x (100 + margin)/100,
 * rounded up.  Sketches of two meters merge exactly (tkn_meter_merge), so a
 * fleet can add up its workers' meters.
 *
 * Bounded memory: each dimension holds at most max_keys distinct keys
 * (default 256); calls with further new keys are added to one extra key per
 * dimension, "(other)".  A call with an empty key is filed under "(none)".
 * Keys are UTF-8, at most 256 bytes.  Memory is therefore at most about
 * 6 x (max_keys + 1) x (600 bytes + key) plus, per workflow key, two sketches
 * of at most 2,200 buckets of 8 bytes (typically a few hundred: tokens per
 * call spanning 100 to 100,000 fill 350 buckets).
 *
 * Exports: JSON (everything above), Prometheus text and OTLP JSON.  The
 * two metric exports carry one series per combination of model, provider,
 * workflow, tenant and task type, so each call is in exactly one series and
 * summing a family over its series counts it once (at most 4 x max_keys
 * combinations; further ones go to one series whose labels are all
 * "(other)").  tkn_meter_otel_call gives the gen_ai.* span attributes of one
 * call.
 *
 * Threading: a meter is internally synchronised (one mutex); any number of
 * threads may record, read and export at once.  Keys are hashed and costs
 * computed before the lock is taken.
 */
#ifndef TOKENOMY_METER_H
#define TOKENOMY_METER_H

#include "common.h"
#include "prices.h"
#include "usage.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tkn_meter tkn_meter;

/* Dimensions. */
#define TKN_METER_TOTAL (-1) /* all calls (key ignored) */
#define TKN_METER_WORKFLOW 0
#define TKN_METER_MODEL 1
#define TKN_METER_TASK_TYPE 2
#define TKN_METER_TENANT 3
#define TKN_METER_TIER 4
#define TKN_METER_ROUTING_REASON 5
#define TKN_METER__DIMENSIONS 6

#define TKN_METER_KEY_MAX 256
#define TKN_METER_MAX_KEYS_LIMIT 65536

#define TKN_METER_OPTIONS_VERSION 1
typedef struct tkn_meter_options {
  uint32_t version;           /* TKN_METER_OPTIONS_VERSION */
  uint32_t max_keys;          /* distinct keys per dimension, 1..65536; default 256 */
  uint32_t budget_margin_pct; /* suggested budget = p99 x (100 + margin) / 100;
                                 default 20, at most 10000 */
  uint32_t reserved;          /* 0 */
  /* Optional, borrowed (must outlive the meter): prices the calls recorded
   * with cost = TKN_METER_COST_COMPUTE. */
  const tkn_prices *prices;
} tkn_meter_options;
#define TKN_METER_OPTIONS_INIT { TKN_METER_OPTIONS_VERSION, 256, 20, 0, NULL }
/* Fill *opts with the defaults of `version`. TKN_ERR_INVALID for NULL, TKN_ERR_VERSION for an
 * unknown version. */
TKN_API int tkn_meter_options_init(tkn_meter_options *opts, uint32_t version);

/* tkn_meter_call.validation */
#define TKN_METER_VALIDATION_NONE 0   /* the output was not validated */
#define TKN_METER_VALIDATION_PASSED 1
#define TKN_METER_VALIDATION_FAILED 2
/* tkn_meter_call.cost: compute it from the meter's price table. */
#define TKN_METER_COST_COMPUTE INT64_MIN

/* One model call.  Strings are UTF-8 with explicit lengths (NULL with 0 for
 * none), at most TKN_METER_KEY_MAX bytes; the meter copies what it keeps. */
#define TKN_METER_CALL_VERSION 1
typedef struct tkn_meter_call {
  uint32_t version;    /* TKN_METER_CALL_VERSION */
  uint32_t success;    /* 1 if the call succeeded, 0 if it failed */
  uint32_t validation; /* TKN_METER_VALIDATION_* */
  uint32_t reserved;   /* 0 */
  const char *workflow;       /* workflow id / type, e.g. "refund-triage" */
  size_t workflow_len;
  const char *tenant;
  size_t tenant_len;
  const char *task_type;
  size_t task_type_len;
  const char *model;          /* as requested, e.g. "gpt-4o" */
  size_t model_len;
  const char *provider;       /* gen_ai.provider.name, e.g. "openai" (optional; with
                                 COST_COMPUTE it defaults to the table's provider,
                                 see tkn_prices_otel_provider) */
  size_t provider_len;
  const char *tier;           /* the router's tier, e.g. "small" */
  size_t tier_len;
  const char *routing_reason; /* the rule that chose the model */
  size_t routing_reason_len;
  tkn_usage usage;            /* normalised usage (tkn_usage_parse) */
  int64_t cost;               /* picodollars, or TKN_METER_COST_COMPUTE */
  int64_t latency_us;         /* >= 0 */
} tkn_meter_call;
#define TKN_METER_CALL_INIT { TKN_METER_CALL_VERSION, 1, TKN_METER_VALIDATION_NONE, 0, \
                              NULL, 0, NULL, 0, NULL, 0, NULL, 0, NULL, 0, NULL, 0, NULL, 0, \
                              TKN_USAGE_INIT, 0, 0 }
/* Fill *opts with the defaults of `version`. TKN_ERR_INVALID for NULL, TKN_ERR_VERSION for an
 * unknown version. */
TKN_API int tkn_meter_call_init(tkn_meter_call *call, uint32_t version);

/* A new, empty meter; opts may be NULL for the defaults.  TKN_ERR_INVALID for
 * max_keys outside 1..65536 or reserved != 0, TKN_ERR_VERSION, TKN_ERR_NOMEM. */
TKN_API int tkn_meter_new(tkn_meter **out, const tkn_meter_options *opts);
/* NULL is a no-op.  No other thread may use the meter during or after. */
TKN_API void tkn_meter_free(tkn_meter *meter);

/* Record one call.  Errors: TKN_ERR_INVALID (a bad field: version aside,
 * success not 0/1, validation unknown, negative latency or cost, usage failing
 * tkn_usage_check), TKN_ERR_UTF8, TKN_ERR_LIMIT (a key over 256 bytes),
 * TKN_ERR_STATE (COST_COMPUTE without a price table), the errors of
 * tkn_prices_cost (TKN_ERR_NOT_FOUND for an unknown model), TKN_ERR_OVERFLOW
 * (a sum would leave int64), TKN_ERR_NOMEM.  A failed call changes nothing. */
TKN_API int tkn_meter_record(tkn_meter *meter, const tkn_meter_call *call);

/* Aggregates of one key. */
#define TKN_METER_STATS_VERSION 1
typedef struct tkn_meter_stats {
  uint32_t version; /* TKN_METER_STATS_VERSION */
  uint32_t reserved;
  uint64_t calls;
  uint64_t successes;
  uint64_t validated;         /* calls whose output was validated */
  uint64_t validation_passed; /* of which passed */
  int64_t input_tokens;       /* inclusive of cache reads and writes */
  int64_t cache_read_tokens;
  int64_t cache_write_5m_tokens;
  int64_t cache_write_1h_tokens;
  int64_t output_tokens;      /* inclusive of reasoning */
  int64_t reasoning_tokens;
  int64_t cache_reported_input_tokens; /* input of the calls that reported their cache */
  uint64_t cache_unreported_calls;     /* calls that did not */
  int64_t cost;               /* picodollars, failed calls included */
  int64_t cost_per_success;   /* cost / successes rounded down; -1 if no success */
  int64_t cache_hit_ppm;      /* cache_read / cache_reported_input in parts per
                                 million, rounded down; -1 if no call reported */
  int64_t validation_pass_ppm; /* validation_passed / validated ppm; -1 if none */
  int64_t latency_us_total;
} tkn_meter_stats;
#define TKN_METER_STATS_INIT { TKN_METER_STATS_VERSION, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, \
                               0, 0, 0, 0, 0 }
/* Fill *opts with the defaults of `version`. TKN_ERR_INVALID for NULL, TKN_ERR_VERSION for an
 * unknown version. */
TKN_API int tkn_meter_stats_init(tkn_meter_stats *stats, uint32_t version);

/* The aggregates of `key` in `dimension` (TKN_METER_TOTAL: all calls, key
 * ignored).  Keys "(other)" and "(none)" name the overflow and empty buckets.
 * TKN_ERR_NOT_FOUND for a key never recorded, TKN_ERR_INVALID for a bad
 * dimension or NULL, TKN_ERR_VERSION if out->version is unknown. */
TKN_API int tkn_meter_stats_get(tkn_meter *meter, int dimension, const char *key, size_t len,
                                tkn_meter_stats *out);
/* Distinct keys in a dimension ("(other)" and "(none)" included); 0 for a
 * bad dimension or NULL. */
TKN_API size_t tkn_meter_key_count(tkn_meter *meter, int dimension);

/* Percentiles of one workflow, from its sketches. */
#define TKN_METER_PERCENTILES_VERSION 1
typedef struct tkn_meter_percentiles {
  uint32_t version;            /* TKN_METER_PERCENTILES_VERSION */
  uint32_t relative_error_ppm; /* 10000: 1% */
  uint64_t count;              /* calls in the sketch */
  int64_t tokens_p50, tokens_p95, tokens_p99; /* input + output tokens per call */
  int64_t cost_p50, cost_p95, cost_p99;       /* picodollars per call */
  int64_t budget_tokens;       /* tokens_p99 x (100 + margin) / 100, rounded up
                                  (saturating at INT64_MAX) */
  int64_t budget_cost;         /* cost_p99 likewise */
} tkn_meter_percentiles;
#define TKN_METER_PERCENTILES_INIT { TKN_METER_PERCENTILES_VERSION, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }
/* Fill *opts with the defaults of `version`. TKN_ERR_INVALID for NULL, TKN_ERR_VERSION for an
 * unknown version. */
TKN_API int tkn_meter_percentiles_init(tkn_meter_percentiles *p, uint32_t version);
/* TKN_ERR_NOT_FOUND for an unknown workflow.  TKN_ERR_INVALID for a NULL argument. */
TKN_API int tkn_meter_percentiles_get(tkn_meter *meter, const char *workflow, size_t len,
                                      tkn_meter_percentiles *out);

/* Add everything `src` recorded into `dst` (keys beyond dst's max_keys go to
 * "(other)"); src is unchanged.  All or nothing: on failure dst is unchanged.
 * TKN_ERR_INVALID if dst == src. */
TKN_API int tkn_meter_merge(tkn_meter *dst, tkn_meter *src);
/* Forget everything recorded. */
TKN_API void tkn_meter_reset(tkn_meter *meter);

/* Export formats. */
#define TKN_METER_JSON 1
#define TKN_METER_PROMETHEUS 2
#define TKN_METER_OTEL 3
/* A snapshot of the whole meter as `format`: NUL-terminated text in *out
 * (free with tkn_free), its length in *len (may be NULL).
 *  - JSON: {"money_unit": ..., "total": {...}, "by_workflow": {key: {...,
 *    "percentiles": {...}}}, "by_model": ..., "by_task_type", "by_tenant",
 *    "by_tier", "by_routing_reason"}; money as integer picodollars ("cost")
 *    and exact decimal USD text ("cost_usd"); rates as numbers with 6
 *    decimals, or null when nothing was reported.
 *  - PROMETHEUS: text exposition format 0.0.4.  Every series is labelled
 *    gen_ai_operation_name="chat", gen_ai_request_model, gen_ai_provider_name
 *    ("" when unknown), tokenomy_workflow, tokenomy_tenant, tokenomy_task_type
 *    (empty keys read "(none)").  Families: gen_ai_client_token_usage
 *    (histogram, + gen_ai_token_type, the GenAI token buckets),
 *    gen_ai_client_operation_duration_seconds (histogram of the recorded
 *    latency on the GenAI duration buckets 0.01 .. 81.92 s),
 *    tokenomy_calls_total{outcome="success"|"failure"},
 *    tokenomy_tokens_total{kind="input_uncached"|"cache_read"|"cache_write_5m"|
 *    "cache_write_1h"|"output_visible"|"reasoning"} (the kinds do not
 *    overlap), tokenomy_cost_usd_total (exact decimal USD),
 *    tokenomy_validations_total{result="passed"|"failed"},
 *    tokenomy_cache_reported_input_tokens_total; per workflow (label
 *    tokenomy_workflow only) the summaries tokenomy_workflow_tokens_per_call
 *    and tokenomy_workflow_cost_usd_per_call (quantile 0.5, 0.95, 0.99) and
 *    the gauges tokenomy_workflow_suggested_budget_tokens / _usd.
 *  - OTEL: OTLP JSON, an ExportMetricsServiceRequest as an OTLP/HTTP
 *    receiver takes it: {"resourceMetrics":[{"resource":{...},
 *    "scopeMetrics":[{"scope":{"name":"tokenomy",...},"metrics":[...]}]}]}
 *    with the same measures: the histograms gen_ai.client.token.usage and
 *    gen_ai.client.operation.duration (seconds), the cumulative monotonic
 *    sums tokenomy.calls (tokenomy.outcome), tokenomy.tokens
 *    (tokenomy.token.kind), tokenomy.cost (USD), tokenomy.validations
 *    (tokenomy.validation.result), tokenomy.cache.reported_input_tokens, the
 *    summaries tokenomy.workflow.tokens_per_call / cost_per_call and the
 *    gauges tokenomy.workflow.suggested_budget.tokens / .cost.  Attributes
 *    are the series' (gen_ai.operation.name, gen_ai.request.model,
 *    gen_ai.provider.name when known, tokenomy.workflow, tokenomy.tenant,
 *    tokenomy.task_type); startTimeUnixNano is when the meter was made (or
 *    reset, or the older of two merged), timeUnixNano the export.  The
 *    resource has no attributes: the host's collector names the service.
 * TKN_ERR_INVALID for an unknown format, TKN_ERR_NOMEM. */
TKN_API int tkn_meter_export(tkn_meter *meter, int format, char **out, size_t *len);

/* The OpenTelemetry GenAI span attributes of one call, as a JSON object:
 * gen_ai.operation.name ("chat"), gen_ai.provider.name, gen_ai.request.model,
 * gen_ai.usage.input_tokens (inclusive of cache, as the conventions ask),
 * gen_ai.usage.output_tokens, gen_ai.usage.cache_read.input_tokens (only when
 * reported), gen_ai.usage.cache_creation.input_tokens (only when reported or
 * non-zero), gen_ai.usage.reasoning.output_tokens (only when reported or
 * non-zero), error.type "_OTHER" for a failed call, and tokenomy.* attributes
 * for the rest (cost in USD as exact decimal text, workflow, tenant, task
 * type, tier, routing reason, success, validation, batch, latency).  Same validation as
 * tkn_meter_record; a COST_COMPUTE cost is left out.
 * TKN_ERR_INVALID for a NULL argument or a call tkn_meter_record would refuse (success not 0/1,
 * negative latency or cost, ...), TKN_ERR_VERSION for an unknown call version, TKN_ERR_UTF8 /
 * TKN_ERR_LIMIT for a bad key, TKN_ERR_NOMEM. */
TKN_API int tkn_meter_otel_call(const tkn_meter_call *call, char **out, size_t *len);

#ifdef __cplusplus
}
#endif

#endif /* TOKENOMY_METER_H */
