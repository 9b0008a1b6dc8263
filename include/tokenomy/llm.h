/* tokenomy: the host's model callbacks.
 *
 * tokenomy never opens a socket: every model call goes through a table of
 * callbacks the host fills in (tkn_llm_callbacks).  The library hands the
 * host a request (tkn_llm_request: the model, the provider request body
 * already rendered as JSON, the output cap, the response schema if any, and
 * who the call is for) and an empty response object (tkn_llm_response) that
 * the host fills through setter functions before it returns.
 *
 * Ownership, in one rule each way:
 *  - Request: every pointer in a tkn_llm_request is owned by tokenomy and is
 *    valid only until the callback returns.  The host copies what it keeps.
 *  - Response: a tkn_llm_response is owned by tokenomy.  The setters COPY
 *    their arguments, so the host may pass stack buffers, a libcurl buffer
 *    or anything else that dies after the call.  Setting a field twice
 *    replaces it.  The host never frees anything it did not allocate.
 *
 * Return value of complete(): 0 when the provider answered (the response
 * holds the content), non-zero when the call failed; the host then sets the
 * error class (TKN_LLM_FAIL_*) with tkn_llm_response_set_error, else the
 * failure counts as TKN_LLM_FAIL_SERVER.  The classes decide what happens
 * next: rate_limit, timeout and server are retried and count towards a
 * model's cooldown; bad_request, auth and content_policy are the request's
 * fault and are not retried on another model.
 *
 * A host may also construct a response itself (tkn_llm_response_new) to test
 * its callbacks; the getters read what the setters stored.
 *
 * Threading: a response is used by one thread at a time.  The callbacks are
 * called on the thread that runs the agent turn; a table shared by several
 * agents running on several threads must be thread-safe itself.
 *
 * Limits: each string set on a response is at most TKN_LLM_MAX_FIELD bytes
 * (TKN_ERR_LIMIT beyond) and must be valid UTF-8 (TKN_ERR_UTF8).
 */
#ifndef TOKENOMY_LLM_H
#define TOKENOMY_LLM_H

#include "common.h"
#include "usage.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TKN_LLM_MAX_FIELD ((size_t)64 * 1024 * 1024)

/* Failure classes of a call (pinned values): the one family used by the
 * host's responses (tkn_llm_response_set_error) and the router's retry and
 * failover rules (router.h). */
#define TKN_LLM_FAIL_NONE (-1)
#define TKN_LLM_FAIL_RATE_LIMIT 0
#define TKN_LLM_FAIL_TIMEOUT 1
#define TKN_LLM_FAIL_SERVER 2
#define TKN_LLM_FAIL_BAD_REQUEST 3
#define TKN_LLM_FAIL_AUTH 4
#define TKN_LLM_FAIL_CONTENT_POLICY 5
#define TKN_LLM_FAIL__COUNT 6 /* one past the last class */
/* "none", "rate_limit", "timeout", "server", "bad_request", "auth",
 * "content_policy"; NULL for another value.  Static strings. */
TKN_API const char *tkn_llm_fail_name(int32_t cls);
/* The class of a name ("rate_limit", ...), or TKN_LLM_FAIL_NONE for NULL,
 * "none" or an unknown name.  len may be TKN_NUL_TERMINATED. */
TKN_API int32_t tkn_llm_fail_from_name(const char *name, size_t len);

/* Why tokenomy makes the call (tkn_llm_request.purpose). */
#define TKN_LLM_PURPOSE_TURN 0     /* the turn's answer */
#define TKN_LLM_PURPOSE_RETRY 1    /* a re-ask after an invalid answer */
#define TKN_LLM_PURPOSE_CASCADE 2  /* a stronger tier after low confidence */
#define TKN_LLM_PURPOSE_SUMMARY 3  /* summarising pruned history (cheap tier) */

/* One call.  Every pointer is owned by tokenomy and valid only during the
 * callback; strings are UTF-8 with explicit lengths and also NUL-terminated.
 * Strings that do not apply are NULL with length 0. */
#define TKN_LLM_REQUEST_VERSION 1
typedef struct tkn_llm_request {
  uint32_t version;          /* TKN_LLM_REQUEST_VERSION */
  int32_t provider;          /* TKN_PROVIDER_OPENAI or _ANTHROPIC: the body's shape */
  const char *model;         /* the model to call */
  size_t model_len;
  const char *body;          /* the provider request body (JSON), ready to POST */
  size_t body_len;
  int64_t max_output_tokens; /* the output cap (also inside body), > 0 */
  const char *response_schema; /* JSON Schema the answer must satisfy, or NULL */
  size_t response_schema_len;
  const char *workflow;      /* attribution: workflow, tenant, task type, tier */
  size_t workflow_len;
  const char *tenant;
  size_t tenant_len;
  const char *task_type;
  size_t task_type_len;
  const char *tier;
  size_t tier_len;
  uint32_t purpose;          /* TKN_LLM_PURPOSE_* */
  uint32_t attempt;          /* 1 for the first call of the turn, then 2, 3, ... */
  uint32_t batch;            /* 1: latency-insensitive, the host may send it through
                                a batch API (then call tkn_llm_response_set_batched) */
  uint32_t reserved;         /* 0 */
  int64_t input_tokens;      /* tokenomy's count of the prompt (estimate) */
} tkn_llm_request;

/* The response the host fills in (opaque; owned by tokenomy during a call). */
typedef struct tkn_llm_response tkn_llm_response;

/* The callback table.  complete is required; the others may be NULL. */
#define TKN_LLM_CALLBACKS_VERSION 1
typedef struct tkn_llm_callbacks {
  uint32_t version; /* TKN_LLM_CALLBACKS_VERSION */
  /* Make the call; 0 on success, non-zero on failure (see above). */
  int (*complete)(const tkn_llm_request *req, tkn_llm_response *resp, void *user);
  /* Optional exact token count of `text` for `model`: 0 and *out, or
   * non-zero (tokenomy falls back to its own tokenizer).  Used to count an
   * answer when the provider reported no usage; prompts are counted with
   * the agent's tokenizer (tkn_agent_options.tokenizer). */
  int (*count_tokens)(const char *model, size_t model_len, const char *text, size_t len,
                      int64_t *out, void *user);
  /* Optional summariser: summarise `text` (the dropped messages, one per
   * line as "role: text") in at most max_tokens tokens into resp's content,
   * with usage if a model was called.  0 on success, non-zero on failure.
   * Without it, tokenomy summarises by calling complete() on the cheapest
   * tier with TKN_LLM_PURPOSE_SUMMARY. */
  int (*summarise)(const char *text, size_t len, int64_t max_tokens, tkn_llm_response *resp,
                   void *user);
  void *user; /* passed to every callback */
} tkn_llm_callbacks;
#define TKN_LLM_CALLBACKS_INIT { TKN_LLM_CALLBACKS_VERSION, NULL, NULL, NULL, NULL }
/* Fill *cb with TKN_LLM_CALLBACKS_INIT; TKN_ERR_VERSION for an unknown
 * version, TKN_ERR_INVALID for NULL. */
TKN_API int tkn_llm_callbacks_init(tkn_llm_callbacks *cb, uint32_t version);

/* ---- The response ---- */

/* A new, empty response (content "", no tool calls, no usage, finish reason
 * "", error class NONE).  The agent makes its own; this is for hosts and
 * tests.
 * TKN_ERR_INVALID for a NULL out, TKN_ERR_NOMEM. */
TKN_API int tkn_llm_response_new(tkn_llm_response **out);
/* NULL is a no-op. */
TKN_API void tkn_llm_response_free(tkn_llm_response *resp);
/* Back to the empty state. */
TKN_API void tkn_llm_response_clear(tkn_llm_response *resp);

/* Setters: copy [s, s+len).  TKN_ERR_INVALID for a NULL response or a NULL
 * string with len > 0, TKN_ERR_UTF8, TKN_ERR_LIMIT, TKN_ERR_NOMEM; on failure
 * the field keeps its previous value. */
/* The assistant's text (the JSON document for structured output). */
TKN_API int tkn_llm_response_set_content(tkn_llm_response *resp, const char *s, size_t len);
/* The tool calls, as the provider's JSON array (OpenAI "tool_calls"); empty
 * for none.  TKN_ERR_INVALID for a NULL response (or NULL text with a length),
 * TKN_ERR_PARSE for malformed JSON, TKN_ERR_UTF8 for invalid UTF-8,
 * TKN_ERR_SCHEMA for JSON that is not an array of objects, TKN_ERR_LIMIT past
 * the length limit, TKN_ERR_NOMEM. */
TKN_API int tkn_llm_response_set_tool_calls(tkn_llm_response *resp, const char *json,
                                            size_t len);
/* The provider's finish / stop reason ("stop", "length", "tool_calls",
 * "end_turn", "max_tokens", ...).
 * TKN_ERR_INVALID for a NULL response (or NULL text with a length), TKN_ERR_UTF8 for invalid
 * UTF-8, TKN_ERR_LIMIT past the length limit, TKN_ERR_NOMEM. */
TKN_API int tkn_llm_response_set_finish_reason(tkn_llm_response *resp, const char *s,
                                               size_t len);
/* The provider's usage object (or the whole response holding it) and its
 * format (TKN_USAGE_AUTO, _OPENAI_CHAT, ...).  It is parsed with
 * tkn_usage_parse when set: TKN_ERR_PARSE / TKN_ERR_SCHEMA for usage that
 * does not read (the reason in tkn_error_last()).  TKN_ERR_INVALID for a NULL argument;
 * the other codes as tkn_usage_parse. */
TKN_API int tkn_llm_response_set_usage_json(tkn_llm_response *resp, uint32_t format,
                                            const char *json, size_t len);
/* Usage the host has already normalised (checked with tkn_usage_check).
 * TKN_ERR_INVALID for NULL or counts tkn_usage_check refuses, TKN_ERR_VERSION for an unknown usage
 * version. */
TKN_API int tkn_llm_response_set_usage(tkn_llm_response *resp, const tkn_usage *usage);
/* The call went through a batch API: priced at batch prices.
 * TKN_ERR_INVALID for a NULL response. */
TKN_API int tkn_llm_response_set_batched(tkn_llm_response *resp, int32_t batched);
/* The failure class (TKN_LLM_FAIL_*) and a one-line message (may be NULL).
 * TKN_ERR_INVALID for a NULL response or a class that is not a TKN_LLM_FAIL_ value; the message as
 * tkn_llm_response_set_finish_reason (TKN_ERR_UTF8, TKN_ERR_LIMIT, TKN_ERR_NOMEM). */
TKN_API int tkn_llm_response_set_error(tkn_llm_response *resp, int32_t cls, const char *msg,
                                       size_t len);

/* Getters: pointers into the response, valid until it is changed, cleared or
 * freed.  Strings are NUL-terminated; "" when unset. */
TKN_API const char *tkn_llm_response_content(const tkn_llm_response *resp, size_t *len);
TKN_API const char *tkn_llm_response_tool_calls(const tkn_llm_response *resp, size_t *len);
TKN_API const char *tkn_llm_response_finish_reason(const tkn_llm_response *resp, size_t *len);
/* The usage JSON as set ("" if none). */
TKN_API const char *tkn_llm_response_usage_json(const tkn_llm_response *resp, size_t *len);
/* The normalised usage: TKN_OK and *out, or TKN_ERR_NOT_FOUND if the host set
 * none.  The BATCH flag is set when the response was marked batched.
 * TKN_ERR_INVALID for a NULL argument. */
TKN_API int tkn_llm_response_usage(const tkn_llm_response *resp, tkn_usage *out);
/* The error class (TKN_LLM_FAIL_NONE if none) and its message. */
TKN_API int32_t tkn_llm_response_error(const tkn_llm_response *resp, const char **msg,
                                       size_t *len);

#ifdef __cplusplus
}
#endif

#endif /* TOKENOMY_LLM_H */
