/* Normalising the usage objects of OpenAI Chat Completions, OpenAI Responses,
 * Anthropic Messages and Gemini into one tkn_usage (see usage.h for who counts
 * what). */
#include <math.h>
#include <string.h>

#include "prices_internal.h"

#define USAGE_MAX_BYTES (1u << 20)
#define USAGE_MAX_DEPTH 32
#define MAX_TOKENS 9007199254740992.0 /* 2^53: beyond it a JSON number is not exact */

TKI_DEFINE_INIT(tkn_usage_init, tkn_usage, usage, TKN_USAGE_VERSION,
                TKN_USAGE_INIT)

/* Read obj[key] as a token count: *present = 0 if absent or null. */
static int count(const cJSON *obj, const char *key, const char *where, int64_t *out,
                 int *present, char err[TKI_ERRLEN]) {
  const cJSON *v = obj ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
  *present = 0;
  *out = 0;
  if (!v || cJSON_IsNull(v)) return TKN_OK;
  if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > MAX_TOKENS ||
      v->valuedouble != floor(v->valuedouble))
    return tki_err(err, TKN_ERR_SCHEMA, "usage: %s%s is not a token count (an integer 0..2^53)",
                   where, key);
  *out = (int64_t)v->valuedouble;
  *present = 1;
  return TKN_OK;
}

static int need(const cJSON *obj, const char *key, const char *where, int64_t *out,
                char err[TKI_ERRLEN]) {
  int present;
  int rc = count(obj, key, where, out, &present, err);
  if (rc == TKN_OK && !present)
    return tki_err(err, TKN_ERR_SCHEMA, "usage: %s%s is missing", where, key);
  return rc;
}

static const cJSON *child(const cJSON *obj, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  return cJSON_IsObject(v) ? v : NULL;
}

static int parse_chat(const cJSON *u, tkn_usage *r, char err[TKI_ERRLEN]) {
  int rc, present;
  if ((rc = need(u, "prompt_tokens", "", &r->input_tokens, err)) ||
      (rc = need(u, "completion_tokens", "", &r->output_tokens, err)))
    return rc;
  const cJSON *pd = child(u, "prompt_tokens_details");
  if ((rc = count(pd, "cached_tokens", "prompt_tokens_details.", &r->cache_read_tokens, &present,
                  err)))
    return rc;
  if (present) r->flags |= TKN_USAGE_CACHE_REPORTED;
  /* Gateways that pass Anthropic-style caching through this API report the
   * writes here; OpenAI's own caching has no write cost. */
  if ((rc = count(pd, "cache_write_tokens", "prompt_tokens_details.", &r->cache_write_5m_tokens,
                  &present, err)))
    return rc;
  if (present) r->flags |= TKN_USAGE_CACHE_WRITE_REPORTED;
  const cJSON *cd = child(u, "completion_tokens_details");
  if ((rc = count(cd, "reasoning_tokens", "completion_tokens_details.", &r->reasoning_tokens,
                  &present, err)))
    return rc;
  if (present) r->flags |= TKN_USAGE_REASONING_REPORTED;
  return TKN_OK;
}

static int parse_responses(const cJSON *u, tkn_usage *r, char err[TKI_ERRLEN]) {
  int rc, present;
  if ((rc = need(u, "input_tokens", "", &r->input_tokens, err)) ||
      (rc = need(u, "output_tokens", "", &r->output_tokens, err)))
    return rc;
  const cJSON *id = child(u, "input_tokens_details");
  if ((rc = count(id, "cached_tokens", "input_tokens_details.", &r->cache_read_tokens, &present,
                  err)))
    return rc;
  if (present) r->flags |= TKN_USAGE_CACHE_REPORTED;
  if ((rc = count(id, "cache_write_tokens", "input_tokens_details.", &r->cache_write_5m_tokens,
                  &present, err)))
    return rc;
  if (present) r->flags |= TKN_USAGE_CACHE_WRITE_REPORTED;
  if ((rc = count(child(u, "output_tokens_details"), "reasoning_tokens", "output_tokens_details.",
                  &r->reasoning_tokens, &present, err)))
    return rc;
  if (present) r->flags |= TKN_USAGE_REASONING_REPORTED;
  return TKN_OK;
}

static int parse_anthropic(const cJSON *u, tkn_usage *r, char err[TKI_ERRLEN]) {
  int rc, has_read, has_write, has5, has1;
  int64_t plain, read, write, w5, w1;
  if ((rc = need(u, "input_tokens", "", &plain, err)) ||
      (rc = need(u, "output_tokens", "", &r->output_tokens, err)) ||
      (rc = count(u, "cache_read_input_tokens", "", &read, &has_read, err)) ||
      (rc = count(u, "cache_creation_input_tokens", "", &write, &has_write, err)))
    return rc;
  const cJSON *split = child(u, "cache_creation");
  if ((rc = count(split, "ephemeral_5m_input_tokens", "cache_creation.", &w5, &has5, err)) ||
      (rc = count(split, "ephemeral_1h_input_tokens", "cache_creation.", &w1, &has1, err)))
    return rc;
  if (has5 || has1) {
    /* The split is authoritative; the total, if present, must cover it. */
    if (w5 + w1 > write && has_write)
      return tki_err(err, TKN_ERR_SCHEMA,
                     "usage: cache_creation 5m + 1h (%lld) exceeds cache_creation_input_tokens (%lld)",
                     (long long)(w5 + w1), (long long)write);
    if (has_write) w5 += write - w5 - w1; /* an unsplit remainder is 5-minute (the default TTL) */
  } else {
    w5 = write; /* no split: every write has the default 5-minute TTL */
    w1 = 0;
  }
  r->cache_read_tokens = read;
  r->cache_write_5m_tokens = w5;
  r->cache_write_1h_tokens = w1;
  /* Anthropic's input_tokens excludes both cache reads and writes. */
  if (tki_add_i64(plain, read, &r->input_tokens) ||
      tki_add_i64(r->input_tokens, w5, &r->input_tokens) ||
      tki_add_i64(r->input_tokens, w1, &r->input_tokens))
    return tki_err(err, TKN_ERR_OVERFLOW, "usage: token total out of range");
  if (has_read) r->flags |= TKN_USAGE_CACHE_REPORTED;
  if (has_write || has5 || has1) r->flags |= TKN_USAGE_CACHE_WRITE_REPORTED;
  return TKN_OK;
}

static int parse_gemini(const cJSON *u, tkn_usage *r, char err[TKI_ERRLEN]) {
  int rc, present;
  int64_t prompt, tool, cand, thoughts;
  /* Gemini omits zero-valued counts (proto3 JSON), so absent means 0 here;
   * only the prompt count is required. */
  if ((rc = need(u, "promptTokenCount", "", &prompt, err)) ||
      (rc = count(u, "toolUsePromptTokenCount", "", &tool, &present, err)) ||
      (rc = count(u, "candidatesTokenCount", "", &cand, &present, err)) ||
      (rc = count(u, "thoughtsTokenCount", "", &thoughts, &present, err)) ||
      (rc = count(u, "cachedContentTokenCount", "", &r->cache_read_tokens, &present, err)))
    return rc;
  r->flags |= TKN_USAGE_CACHE_REPORTED | TKN_USAGE_REASONING_REPORTED;
  if (tki_add_i64(prompt, tool, &r->input_tokens) || tki_add_i64(cand, thoughts, &r->output_tokens))
    return tki_err(err, TKN_ERR_OVERFLOW, "usage: token total out of range");
  r->reasoning_tokens = thoughts;
  return TKN_OK;
}

static int has(const cJSON *o, const char *k) { return cJSON_GetObjectItemCaseSensitive(o, k) != NULL; }

static uint32_t detect(const cJSON *root, const cJSON *u) {
  if (has(u, "promptTokenCount") || has(u, "candidatesTokenCount")) return TKN_USAGE_GEMINI;
  if (has(u, "prompt_tokens") || has(u, "completion_tokens")) return TKN_USAGE_OPENAI_CHAT;
  if (has(u, "cache_read_input_tokens") || has(u, "cache_creation_input_tokens") ||
      has(u, "cache_creation"))
    return TKN_USAGE_ANTHROPIC;
  if (has(u, "input_tokens_details") || has(u, "output_tokens_details"))
    return TKN_USAGE_OPENAI_RESPONSES;
  const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "type");
  if (cJSON_IsString(type) && strcmp(type->valuestring, "message") == 0) return TKN_USAGE_ANTHROPIC;
  /* A bare {input_tokens, output_tokens} reads the same either way. */
  return TKN_USAGE_OPENAI_RESPONSES;
}

static const char *format_name(uint32_t f) {
  switch (f) {
  case TKN_USAGE_OPENAI_CHAT: return "OpenAI Chat Completions";
  case TKN_USAGE_OPENAI_RESPONSES: return "OpenAI Responses";
  case TKN_USAGE_ANTHROPIC: return "Anthropic";
  default: return "Gemini";
  }
}

static int parse(tkn_usage *out, uint32_t format, const char *json, size_t len,
                 char err[TKI_ERRLEN]) {
  if (!out || (!json && len))
    return tki_err(err, TKN_ERR_INVALID, "usage: %s",
                   !out ? "out is NULL" : "json is NULL with a length");
  if (out->version != TKN_USAGE_VERSION)
    return tki_err(err, TKN_ERR_VERSION, "usage: unknown tkn_usage version %u",
                   (unsigned)out->version);
  if (format != TKN_USAGE_AUTO && (format < TKN_USAGE_OPENAI_CHAT || format > TKN_USAGE_GEMINI))
    return tki_err(err, TKN_ERR_INVALID,
                   "usage: format %u is not a usage shape (TKN_USAGE_*)%s", (unsigned)format,
                   format <= TKN_PROVIDER_GEMINI ? "; a TKN_PROVIDER_* value names no shape" : "");
  cJSON *root = NULL;
  int rc = tki_json_parse(json ? json : "", len, USAGE_MAX_BYTES, USAGE_MAX_DEPTH, "usage", &root,
                          err);
  if (rc != TKN_OK) return rc;
  if (!cJSON_IsObject(root)) {
    cJSON_Delete(root);
    return tki_err(err, TKN_ERR_SCHEMA, "usage: not a JSON object");
  }
  /* A whole response holds the usage object; a usage object is used as is. */
  const cJSON *u = child(root, "usageMetadata");
  if (!u) u = child(root, "usage");
  if (!u) u = root;
  if (format == TKN_USAGE_AUTO) format = detect(root, u);
  tkn_usage r = TKN_USAGE_INIT;
  r.flags = out->flags & TKN_USAGE_BATCH;
  switch (format) {
  case TKN_USAGE_OPENAI_CHAT: rc = parse_chat(u, &r, err); break;
  case TKN_USAGE_OPENAI_RESPONSES: rc = parse_responses(u, &r, err); break;
  case TKN_USAGE_ANTHROPIC: rc = parse_anthropic(u, &r, err); break;
  default: rc = parse_gemini(u, &r, err); break;
  }
  cJSON_Delete(root);
  if (rc != TKN_OK) return rc;
  if (r.cache_read_tokens + r.cache_write_5m_tokens + r.cache_write_1h_tokens > r.input_tokens)
    return tki_err(err, TKN_ERR_SCHEMA, "usage (%s): cached tokens (%lld) exceed input tokens (%lld)",
                   format_name(format), (long long)r.cache_read_tokens, (long long)r.input_tokens);
  if (r.reasoning_tokens > r.output_tokens)
    return tki_err(err, TKN_ERR_SCHEMA,
                   "usage (%s): reasoning tokens (%lld) exceed output tokens (%lld)",
                   format_name(format), (long long)r.reasoning_tokens, (long long)r.output_tokens);
  *out = r;
  return TKN_OK;
}

int tkn_usage_parse(tkn_usage *out, uint32_t format, const char *json, size_t len) {
  len = tki_len(json, len);
  return parse(out, format, json, len, NULL);
}
