/* Helper of the meter conformance tests: records a fixed, varied set of calls
 * and prints, separated by lines "----": the calls (JSON lines of model,
 * provider, workflow, tenant, task type, input and output tokens, latency,
 * success, validation and cost), the Prometheus export, the OpenTelemetry
 * (OTLP JSON) export, and the span attributes of the first call. */
#include <stdio.h>
#include <string.h>

#include <tokenomy.h>

int main(void) {
  static const char *const models[][2] = {
      {"gpt-4o", "openai"}, {"claude-sonnet-4-5", "anthropic"}, {"gemini-2.5-pro", "gcp.gemini"},
      {"odd \"model\"\\name", ""}};
  tkn_meter *m = NULL;
  if (tkn_meter_new(&m, NULL) != TKN_OK) return 1;
  tkn_meter_call first = TKN_METER_CALL_INIT;
  uint32_t x = 12345;
  for (int i = 0; i < 200; i++) {
    x = x * 1103515245u + 12345u;
    tkn_meter_call c = TKN_METER_CALL_INIT;
    const char *const *mp = models[i % 4];
    c.model = mp[0], c.model_len = strlen(mp[0]);
    c.provider = mp[1], c.provider_len = strlen(mp[1]);
    c.workflow = i % 3 ? "triage" : "reply", c.workflow_len = strlen(c.workflow);
    static const char *const tenants[] = {"acme", "globex", ""};
    static const char *const tasks[] = {"extract", "chat", "classify", "summarise", "plan"};
    c.tenant = tenants[i % 3], c.tenant_len = strlen(c.tenant);
    c.task_type = tasks[(i / 3) % 5], c.task_type_len = strlen(c.task_type);
    /* latencies across the duration buckets, boundaries included */
    static const int64_t lat[] = {0, 9999, 10000, 10001, 250000, 1280000, 3000000, 81920000,
                                  90000000};
    c.latency_us = lat[(x >> 11) % 9];
    /* spread over the bucket range, boundaries themselves included */
    static const int64_t pick[] = {0, 1, 2, 4, 5, 16, 17, 1024, 65536, 70000, 262144, 5000000,
                                   67108864, 67108865};
    c.usage.input_tokens = pick[(x >> 8) % 14];
    c.usage.output_tokens = pick[(x >> 16) % 12];
    c.usage.cache_read_tokens = c.usage.input_tokens / 3;
    c.usage.cache_write_5m_tokens = c.usage.input_tokens / 5;
    c.usage.reasoning_tokens = c.usage.output_tokens / 2;
    c.usage.flags = TKN_USAGE_CACHE_REPORTED | TKN_USAGE_CACHE_WRITE_REPORTED |
                    TKN_USAGE_REASONING_REPORTED;
    c.cost = (int64_t)(x % 100000) * 1000;
    c.success = (x >> 3) % 5 != 0;
    c.validation = (x >> 5) % 3;
    if (tkn_meter_record(m, &c) != TKN_OK) return 1;
    if (i == 0) first = c;
    printf("{\"model\":\"%s\",\"provider\":\"%s\",\"workflow\":\"%s\",\"tenant\":\"%s\","
           "\"task_type\":\"%s\",\"input\":%lld,\"cache_read\":%lld,\"cache_write\":%lld,"
           "\"output\":%lld,\"reasoning\":%lld,\"latency_us\":%lld,\"success\":%u,"
           "\"validation\":%u,\"cost\":%lld}\n",
           i % 4 == 3 ? "odd \\\"model\\\"\\\\name" : mp[0], mp[1], c.workflow, c.tenant,
           c.task_type, (long long)c.usage.input_tokens, (long long)c.usage.cache_read_tokens,
           (long long)c.usage.cache_write_5m_tokens, (long long)c.usage.output_tokens,
           (long long)c.usage.reasoning_tokens, (long long)c.latency_us, (unsigned)c.success,
           (unsigned)c.validation, (long long)c.cost);
  }
  const int formats[] = {TKN_METER_PROMETHEUS, TKN_METER_OTEL};
  for (int f = 0; f < 2; f++) {
    char *text = NULL;
    if (tkn_meter_export(m, formats[f], &text, NULL) != TKN_OK) return 1;
    printf("----\n%s\n", text);
    tkn_free(text);
  }
  char *attrs = NULL;
  if (tkn_meter_otel_call(&first, &attrs, NULL) != TKN_OK) return 1;
  printf("----\n%s\n", attrs);
  tkn_free(attrs);
  tkn_meter_free(m);
  return 0;
}
