/* A complete host: tokenomy's model callbacks implemented with libcurl for
 * any OpenAI-compatible Chat Completions endpoint, and a small agent that
 * uses them for a two-turn conversation.
 *
 *   OPENAI_BASE_URL  e.g. https://api.openai.com/v1 (default) or a local server
 *   OPENAI_API_KEY   the bearer token (required)
 *   TOKENOMY_MODEL   the model (default gpt-4o-mini)
 *
 * usage: openai-host "first question" ["second question"]
 *
 * The library renders the request body; the host only POSTs it, reads the
 * answer, the usage (cached tokens included) and maps failures to tokenomy's
 * error classes.  Prints each answer and the turn's figures. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <tokenomy.h>

typedef struct host {
  const char *base_url;
  const char *api_key;
  long timeout_s;
} host;

typedef struct buf {
  char *data;
  size_t len;
} buf;

static size_t on_data(char *ptr, size_t size, size_t n, void *user) {
  buf *b = user;
  size_t add = size * n;
  char *nd = realloc(b->data, b->len + add + 1);
  if (!nd) return 0;
  memcpy(nd + b->len, ptr, add);
  b->data = nd;
  b->len += add;
  b->data[b->len] = '\0';
  return add;
}

/* HTTP status and curl result to tokenomy's failure classes. */
static int32_t classify(CURLcode cc, long status, const char *body) {
  if (cc == CURLE_OPERATION_TIMEDOUT) return TKN_LLM_FAIL_TIMEOUT;
  if (cc != CURLE_OK) return TKN_LLM_FAIL_SERVER;
  if (status == 429) return TKN_LLM_FAIL_RATE_LIMIT;
  if (status == 408) return TKN_LLM_FAIL_TIMEOUT;
  if (status == 401 || status == 403) return TKN_LLM_FAIL_AUTH;
  if (status >= 500) return TKN_LLM_FAIL_SERVER;
  if (body && strstr(body, "content_filter")) return TKN_LLM_FAIL_CONTENT_POLICY;
  return TKN_LLM_FAIL_BAD_REQUEST;
}

static int fail(tkn_llm_response *resp, int32_t cls, const char *msg) {
  tkn_llm_response_set_error(resp, cls, msg, strlen(msg));
  return 1;
}

/* tkn_llm_callbacks.complete: POST the rendered body, fill the response. */
static int complete(const tkn_llm_request *rq, tkn_llm_response *resp, void *user) {
  host *h = user;
  char url[1024];
  snprintf(url, sizeof url, "%s/chat/completions", h->base_url);
  char auth[1024];
  snprintf(auth, sizeof auth, "Authorization: Bearer %s", h->api_key);
  CURL *c = curl_easy_init();
  if (!c) return fail(resp, TKN_LLM_FAIL_SERVER, "curl_easy_init failed");
  struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
  hdr = curl_slist_append(hdr, auth);
  buf b = {NULL, 0};
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->body);
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, h->timeout_s);
  CURLcode cc = curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(hdr);
  curl_easy_cleanup(c);
  int rc = 0;
  if (cc != CURLE_OK || status != 200) {
    char msg[256];
    snprintf(msg, sizeof msg, "HTTP %ld: %s", status,
             cc != CURLE_OK ? curl_easy_strerror(cc) : (b.data ? b.data : ""));
    rc = fail(resp, classify(cc, status, b.data), msg);
    free(b.data);
    return rc;
  }
  cJSON *j = cJSON_ParseWithLength(b.data, b.len);
  const cJSON *choice = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "choices"), 0);
  const cJSON *msg = cJSON_GetObjectItemCaseSensitive(choice, "message");
  const cJSON *content = cJSON_GetObjectItemCaseSensitive(msg, "content");
  const cJSON *finish = cJSON_GetObjectItemCaseSensitive(choice, "finish_reason");
  const cJSON *tools = cJSON_GetObjectItemCaseSensitive(msg, "tool_calls");
  const cJSON *usage = cJSON_GetObjectItemCaseSensitive(j, "usage");
  if (!msg) {
    rc = fail(resp, TKN_LLM_FAIL_SERVER, "the response has no choices[0].message");
  } else {
    /* the setters copy: nothing here must outlive the callback */
    if (cJSON_IsString(content))
      rc |= tkn_llm_response_set_content(resp, content->valuestring, strlen(content->valuestring));
    if (cJSON_IsString(finish))
      rc |= tkn_llm_response_set_finish_reason(resp, finish->valuestring, strlen(finish->valuestring));
    if (cJSON_IsArray(tools)) {
      char *t = cJSON_PrintUnformatted(tools);
      if (t) rc |= tkn_llm_response_set_tool_calls(resp, t, strlen(t));
      free(t);
    }
    if (usage) {
      char *u = cJSON_PrintUnformatted(usage);
      if (u) rc |= tkn_llm_response_set_usage_json(resp, TKN_USAGE_OPENAI_CHAT, u, strlen(u));
      free(u);
    }
    if (rc) rc = fail(resp, TKN_LLM_FAIL_SERVER, tkn_error_last()->message);
  }
  cJSON_Delete(j);
  free(b.data);
  return rc;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: openai-host \"question\" [\"another question\"...]\n");
    return 1;
  }
  host h = {getenv("OPENAI_BASE_URL"), getenv("OPENAI_API_KEY"), 60};
  if (!h.base_url || !*h.base_url) h.base_url = "https://api.openai.com/v1";
  if (!h.api_key || !*h.api_key) {
    fprintf(stderr, "openai-host: set OPENAI_API_KEY\n");
    return 1;
  }
  const char *model = getenv("TOKENOMY_MODEL");
  if (!model || !*model) model = "gpt-4o-mini";
  curl_global_init(CURL_GLOBAL_DEFAULT);

  tkn_meter *meter = NULL;
  tkn_meter_new(&meter, NULL);
  tkn_agent_options o = TKN_AGENT_OPTIONS_INIT;
  o.llm.complete = complete;
  o.llm.user = &h;
  o.model = model;
  o.model_len = strlen(model);
  o.meter = meter;
  o.output_cap = 300;
  o.workflow = "example";
  o.workflow_len = 7;
  tkn_agent *agent = NULL;
  if (tkn_agent_new(&agent, &o)) {
    fprintf(stderr, "openai-host: %s\n", tkn_error_last()->message);
    return 1;
  }
  /* a long static prefix, so the provider can cache it from the second call */
  char system[16384];
  size_t off = (size_t)snprintf(system, sizeof system,
                                "You are a concise assistant for Northwind Outfitters. ");
  for (int i = 0; i < 150 && off < sizeof system - 128; i++)
    off += (size_t)snprintf(system + off, sizeof system - off,
                            "Policy rule %d: orders ship within two working days. ", i + 1);
  tkn_agent_add_text(agent, TKN_SEG_STATIC, TKN_STABILITY_STATIC, "system", 6, system, strlen(system));
  tkn_conv *conv = NULL;
  tkn_conv_new(&conv);
  int status = 0;
  for (int i = 1; i < argc && !status; i++) {
    tkn_conv_append_text(conv, TKN_ROLE_USER, argv[i], strlen(argv[i]));
    tkn_agent_result *r = NULL;
    if (tkn_agent_turn(agent, conv, NULL, &r)) {
      fprintf(stderr, "openai-host: %s\n", tkn_error_last()->message);
      status = 1;
      break;
    }
    tkn_agent_stats st = TKN_AGENT_STATS_INIT;
    tkn_agent_result_stats(r, &st);
    char usd[TKN_USD_BUFLEN];
    tkn_usd_format(st.cost, usd, sizeof usd, NULL);
    printf("turn %d: %s\n", i, tkn_agent_result_content(r, NULL));
    printf("  finish=%s calls=%u failed=%u input=%lld cached=%lld output=%lld cost=%s USD\n",
           tkn_agent_result_finish_reason(r), st.calls, st.failed_calls,
           (long long)st.input_tokens, (long long)st.cached_tokens, (long long)st.output_tokens, usd);
    if (strcmp(tkn_agent_result_finish_reason(r), "stop") != 0) status = 1;
    tkn_agent_result_free(r);
  }
  tkn_conv_free(conv);
  tkn_agent_free(agent);
  tkn_meter_free(meter);
  curl_global_cleanup();
  return status;
}
