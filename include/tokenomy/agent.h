/* tokenomy: the agent turn.
 *
 * A tkn_agent ties the parts together and runs one turn of an agent as data
 * flows through it:
 *
 *   budget  -> ok (the policy, where it is the default, clears old tool
 *              results when that pays) | soft (prune and summarise the history through the
 *              cheapest tier, halve the output cap) | hard (summarise and
 *              close with finish reason "budget_exceeded", no model call)
 *   router  -> tier + model + the rule that chose it
 *   prompt  -> tools, static instructions, reference documents, the
 *              conversation, the turn's dynamic tail: assembled in prefix
 *              order and rendered for the provider
 *   llm     -> the host's complete() callback: content + usage
 *   schema  -> valid?  else retry by the schema retry plan (same tier with
 *              backoff, then one tier up), giving up when it says so
 *   cascade -> confidence below the tier's threshold (router rule with
 *              "cascade")?  call the next tier
 *   meter   -> cost from the price table, attribution, cache hit rate
 *   budget  -> commit what was really spent
 *
 * Every part is optional except the callbacks: without a router the agent
 * calls one model, without a budget it never prunes for money, without a
 * meter it does not record, without a price table it uses the built-in one,
 * without a tokenizer it uses the built-in estimator calibrated for the
 * encoding of its model (o200k_base's when no model or an unknown one is
 * named).  Parts are borrowed: they must outlive the agent, and each keeps
 * its own threading rule (a budget, meter or tool cache may be shared by many
 * agents).
 *
 * The result of a turn holds the content, a finish reason, figures (tokens,
 * cost, calls, retries, escalations) and a trace of every decision as JSON:
 *   {"finish_reason":"stop","steps":[{"step":"budget","level":"ok",...},
 *    {"step":"route","tier":"small","model":"...","rule":0,"reason":"..."},
 *    {"step":"assemble","tokens":812,"prefix_version":"9f...",...},
 *    {"step":"call","attempt":1,"model":"...","input_tokens":812,
 *     "cached_tokens":768,"output_tokens":40,"cost_usd":"0.000..."},
 *    {"step":"validate","valid":false,"error":"..."},{"step":"retry",...},
 *    {"step":"cascade","confidence":0.41,"state":"escalate"},
 *    {"step":"commit",...}], "totals":{...}}
 *
 * Finish reasons (static strings): "stop" (an answer, accepted), "length"
 * (the answer ran into the output cap), "tool_calls" (the model asked for
 * tools: the calls are in the result), "budget_exceeded" (hard limit; the
 * content is a summary of the conversation for a hand-over),
 * "validation_failed" (the retry plan gave up; the content is the last
 * answer), "error" (every attempt failed; the trace has the error classes).
 *
 * Money is in picodollars (see prices.h).
 *
 * Threading: an agent is used by one thread at a time (it keeps scratch
 * state per turn); several agents may share the borrowed parts, which are
 * thread-safe or immutable as their headers say.  A result is independent of
 * the agent that made it.
 *
 * Limits: at most TKN_AGENT_MAX_CALLS model calls per turn (retries,
 * cascades and failovers included); at most TKN_PROMPT_MAX_SEGMENTS pieces.
 */
#ifndef TOKENOMY_AGENT_H
#define TOKENOMY_AGENT_H

#include "budget.h"
#include "common.h"
#include "conv.h"
#include "llm.h"
#include "meter.h"
#include "prices.h"
#include "prompt.h"
#include "prune.h"
#include "router.h"
#include "schema.h"
#include "tokenizer.h"
#include "toolcache.h"
#include "toolsel.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TKN_AGENT_MAX_CALLS 16

typedef struct tkn_agent tkn_agent;
typedef struct tkn_agent_result tkn_agent_result;

#define TKN_AGENT_OPTIONS_VERSION 2
typedef struct tkn_agent_options {
  uint32_t version;              /* TKN_AGENT_OPTIONS_VERSION */
  int32_t provider;              /* TKN_PROVIDER_OPENAI (default) or _ANTHROPIC */
  tkn_llm_callbacks llm;         /* copied; llm.complete is required */
  const tkn_tokenizer *tokenizer; /* NULL: the built-in estimator */
  const tkn_router *router;      /* NULL: every call goes to `model` */
  const char *model;             /* the model without a router (copied) */
  size_t model_len;
  tkn_budget *budget;            /* NULL: no budget */
  const tkn_prices *prices;      /* NULL: the built-in price table */
  tkn_meter *meter;              /* NULL: calls are not metered */
  tkn_toolcache *toolcache;      /* NULL: tkn_agent_tool always runs the tool */
  const tkn_prune_options *prune; /* copied (its ledger, if any, is the host's: updated
                                    by a turn that returns TKN_OK, one per conversation);
                                    max_tokens and the summariser are set by the
                                    agent.  NULL: for a model whose input and
                                    cache-read prices the price table has, the
                                    cache-economics policy (prune.h
                                    TKN_PRUNE_POLICY at those prices, keep the last 3
                                    tool uses, a ledger per conversation, horizon 1):
                                    before every turn it clears old tool results when
                                    that pays for itself at that call, or pays back by
                                    the next one risking no more than the
                                    conversation's clears so far saved (the agent's
                                    ledger follows the conversation handle it last ran
                                    on: another handle, even one made where a freed
                                    one was, or one with fewer messages, starts
                                    afresh); the caller's conversation keeps
                                    the placeholders (tool pairs whole), and over
                                    max_context_tokens it degrades as the policy does.
                                    With a router the turn prunes before it routes, so
                                    the policy decides at the prices of the router's
                                    dearest model (by input price) that has both
                                    prices.  Where no model has them: score mode, keep
                                    the last 2 turns (degrade 1, prune.h).  A soft
                                    budget summarises in either case.  A version 1 or
                                    2 struct is accepted (degrade 0, as it had). */
  int64_t max_context_tokens;    /* prune the history when it passes this many
                                    tokens (0: prune only under a soft budget);
                                    it is cut down to context_target_tokens.  In
                                    score and summarise modes the last turns stay
                                    whole where they fit this limit; where even
                                    the current turn does not, degrade 1 (the
                                    default) clears its tool results, then drops,
                                    to fit; degrade 0 sends it whole, over it */
  int64_t output_cap;            /* default output cap, > 0 (default 1024) */
  int32_t cascade;               /* 1 (default): cascade where the router's rule allows */
  int32_t append_reply;          /* 1 (default): append the accepted answer to the conversation */
  tkn_schema_retry_options retry; /* the retry plan for invalid structured answers */
  const char *workflow;          /* attribution (copied); may be NULL */
  size_t workflow_len;
  const char *tenant;
  size_t tenant_len;
  /* Optional: sleep for a retry's backoff; NULL: the delay is only traced. */
  void (*sleep_ms)(int64_t ms, void *user);
  void *sleep_user;
  /* Optional: the cascade's confidence scorer (see router.h); NULL: the
   * number at the router config's confidence_path in a JSON answer. */
  int (*cascade_score)(const char *content, size_t len, double *confidence, void *user);
  void *cascade_score_user;
  /* Where pruning for max_context_tokens cuts the history down to (0: half
   * of max_context_tokens; at most max_context_tokens).  The gap makes
   * pruning rare and large: between two prunes the history only grows at
   * its end, so each request's history is the previous request's plus the
   * new messages, and the provider's prompt cache keeps serving it.  Pruning
   * to just under the limit would rewrite the history (and pay a summary)
   * on every turn once the limit is reached. */
  int64_t context_target_tokens;
  /* Version 2: tool selection per turn (opt-in; a version 1 struct has none).
   * With a catalogue (borrowed: it must outlive the agent and not grow during
   * a turn), each turn selects tkn_toolsel_select(toolsel, a query of the
   * conversation's last two turns (from the user message before the last one
   * on: the user and assistant messages' text and the assistant's tool calls,
   * names and arguments; not the tool results), toolsel_k, toolsel_always) and
   * adds the
   * catalogue to every call's prompt but a summary's through
   * tkn_toolsel_add_to_builder: for Anthropic TKN_TOOLSEL_DEFER_REST (the
   * others deferred, native tool search), for any other provider
   * TKN_TOOLSEL_ONLY_SELECTED (only the selected tools are sent), after the
   * tools of tkn_agent_add_tool; a catalogue tool of the same name as one of
   * those fails the turn (TKN_ERR_DUPLICATE).  The trace gets a "tools" step:
   * the catalogue size, k, the mode and the names selected.
   * Off by default: on the recorded airline traces (tokenomy replay, one
   * selection per turn as here, k=3) it cut the cost of sending the agent's 14
   * tools by 1.9%, and the tool the model then called was among those sent in
   * only 51.9% of the tool-calling calls (33.7% with the last user message as
   * the query); with 88 real MCP tools added (102) it cut the cost by 66.1%
   * at 42.8%.  A host turns it on only for a catalogue too big to send whole,
   * with a search it has checked. */
  const tkn_toolsel *toolsel;    /* NULL (default): no selection */
  uint32_t toolsel_k;            /* with toolsel: the best k, >= 1 */
  uint32_t toolsel_reserved;     /* 0 */
  const uint32_t *toolsel_always; /* catalogue indices always sent (copied); may be NULL */
  size_t toolsel_always_n;
} tkn_agent_options;
#define TKN_AGENT_OPTIONS_INIT                                                           \
  { TKN_AGENT_OPTIONS_VERSION, TKN_PROVIDER_OPENAI, TKN_LLM_CALLBACKS_INIT, NULL, NULL,    \
    NULL, 0, NULL, NULL, NULL, NULL, NULL, 0, 1024, 1, 1, TKN_SCHEMA_RETRY_OPTIONS_INIT, \
    NULL, 0, NULL, 0, NULL, NULL, NULL, NULL, 0, NULL, 0, 0, NULL, 0 }
/* Fill *opts with the defaults of `version` (1 or 2; a version 1 struct ends
 * before toolsel).  TKN_ERR_INVALID for NULL, TKN_ERR_VERSION for an unknown
 * version. */
TKN_API int tkn_agent_options_init(tkn_agent_options *opts, uint32_t version);

/* A new agent (options of version 1 or 2).  TKN_ERR_INVALID without
 * complete(), without a router and a model, for an output cap <= 0 or a bad
 * format, with a toolsel and toolsel_k 0, toolsel_reserved not 0, a NULL
 * toolsel_always with toolsel_always_n > 0 or an index in it out of the
 * catalogue; TKN_ERR_NOT_FOUND (or
 * TKN_ERR_UNSUPPORTED for a skipped entry) when a budget with a hard money
 * limit is given and the fixed model, or any model of the router's tiers,
 * has no price in the table (its calls would cost 0 against the limit); TKN_ERR_VERSION,
 * TKN_ERR_NOMEM, and the codes of the parts the agent makes for itself (a
 * tokenizer, the price table, a pruner, a prompt builder). */
TKN_API int tkn_agent_new(tkn_agent **out, const tkn_agent_options *opts);
/* NULL is a no-op.  The borrowed parts are not freed. */
TKN_API void tkn_agent_free(tkn_agent *agent);

/* The prompt pieces sent with every turn, in prefix order whatever the order
 * they are added in (see prompt.h): a text segment of kind TKN_SEG_STATIC,
 * _REFERENCE or _DYNAMIC with a stability class, or a tool definition (JSON).
 * Copied.  Errors as tkn_prompt_builder_add_text / _add_tool, checked now;
 * TKN_ERR_STATE during a turn (from one of the agent's callbacks). */
TKN_API int tkn_agent_add_text(tkn_agent *agent, uint32_t kind, uint32_t stability,
                               const char *name, size_t name_len, const char *text,
                               size_t text_len);
/* Errors as tkn_prompt_builder_add_tool, checked now; TKN_ERR_INVALID for a NULL agent or
 * JSON, TKN_ERR_STATE during a turn, TKN_ERR_LIMIT past TKN_PROMPT_MAX_SEGMENTS pieces,
 * TKN_ERR_NOMEM. */
TKN_API int tkn_agent_add_tool(tkn_agent *agent, const char *json, size_t len);

/* What one turn asks for. */
#define TKN_AGENT_TURN_OPTIONS_VERSION 1
typedef struct tkn_agent_turn_options {
  uint32_t version;           /* TKN_AGENT_TURN_OPTIONS_VERSION */
  int32_t batch;              /* 1: latency-insensitive (passed to the host) */
  const tkn_task *task;       /* router attributes; NULL: an empty task */
  const char *task_type;      /* attribution; may be NULL */
  size_t task_type_len;
  const tkn_schema *schema;   /* the answer must validate; NULL: free text */
  const char *schema_json;    /* the schema's text for the host (with schema) */
  size_t schema_json_len;
  const char *dynamic;        /* this turn's tail (retrieved text, the date); may be NULL */
  size_t dynamic_len;
  int64_t output_cap;         /* > 0: this turn's cap; 0: the schema's bound
                                 (tkn_schema_output_cap) + 8 tokens of slack when
                                 it has one and it is lower, else the agent's default */
  const char *cache_key;      /* OpenAI prompt_cache_key; may be NULL */
  size_t cache_key_len;
} tkn_agent_turn_options;
#define TKN_AGENT_TURN_OPTIONS_INIT \
  { TKN_AGENT_TURN_OPTIONS_VERSION, 0, NULL, NULL, 0, NULL, NULL, 0, NULL, 0, 0, NULL, 0 }
/* Fill *opts with the defaults of `version`. TKN_ERR_INVALID for NULL, TKN_ERR_VERSION for an
 * unknown version. */
TKN_API int tkn_agent_turn_options_init(tkn_agent_turn_options *opts, uint32_t version);

/* Run one turn on `conv` (the history, ending with the user's message); opts
 * may be NULL for the defaults.  On TKN_OK *out holds the result (free with
 * tkn_agent_result_free) whatever the model did: model failures, budget
 * refusals and invalid answers are finish reasons, not status codes.  The
 * conversation is changed only on TKN_OK: pruned (or its old tool results
 * cleared) as the trace says, and the
 * accepted answer appended (append_reply).  Other statuses are the library's
 * own failures (TKN_ERR_INVALID, also for a schema without its text,
 * _VERSION, _NOMEM, TKN_ERR_OVERFLOW for a call whose cost does not fit in
 * int64 picodollars, the errors of the parts, whose text tkn_error_last()
 * gives prefixed with the step that failed);
 * then *out is NULL and conv is unchanged, though calls already made were
 * metered and committed to the budget.  TKN_ERR_STATE when the agent is
 * already in a turn (a call from one of its own callbacks, or a second
 * thread): recorded in the calling thread's tkn_error_last() like any
 * failure; the running turn is not disturbed.  A host summariser's usage (or our
 * counts of its text) is priced at the agent's model, metered and charged to
 * the budget; its summary is cut to the tokens it was asked for; its failure
 * (error class and message) is a "host_summariser" step of the trace. */
TKN_API int tkn_agent_turn(tkn_agent *agent, tkn_conv *conv, const tkn_agent_turn_options *opts,
                           tkn_agent_result **out);

/* A tool call through the tool cache: on a hit the cached result, else
 * run(tool, args) and store its result (when the tool is cacheable).  run
 * sets *result to memory valid until it returns (copied) and returns 0, or
 * non-zero on failure (TKN_ERR_CALLBACK, nothing stored).  *value (free with
 * tkn_free) and *value_len receive the result, *hit (may be NULL) 1 on a
 * cache hit.  Errors of tkn_toolcache_get/put other than a miss are
 * returned. */
typedef int (*tkn_agent_tool_fn)(const char *tool, size_t tool_len, const char *args,
                                 size_t args_len, const char **result, size_t *result_len,
                                 void *user);
/* TKN_ERR_INVALID for a NULL agent, tool, run or value, TKN_ERR_CALLBACK when run fails; a
 * failed cache lookup other than a miss with its own code, and the errors of
 * tkn_toolcache_put. */
TKN_API int tkn_agent_tool(tkn_agent *agent, const char *tool, size_t tool_len, const char *args,
                           size_t args_len, const char *scope_id, size_t scope_id_len,
                           tkn_agent_tool_fn run, void *user, char **value, size_t *value_len,
                           int32_t *hit);

/* ---- The result ---- */

/* Figures of one turn (all calls of the turn, summaries included). */
#define TKN_AGENT_STATS_VERSION 1
typedef struct tkn_agent_stats {
  uint32_t version;            /* TKN_AGENT_STATS_VERSION, set by the caller */
  uint32_t calls;              /* model calls made (failed ones included) */
  uint32_t failed_calls;       /* of which failed (error class set) */
  uint32_t retries;            /* re-asks after an invalid answer */
  uint32_t escalations;        /* tier changes upwards (retry plan or cascade) */
  uint32_t validation_failures; /* answers that failed their schema */
  uint32_t validated;          /* 1: the final answer was validated and passed */
  uint32_t pruned_messages;    /* messages dropped or summarised */
  uint32_t summaries;          /* summaries written */
  int32_t budget_level;        /* TKN_BUDGET_OK / _SOFT / _HARD at the start */
  int32_t tier;                /* the tier of the final answer (-1: no router) */
  int64_t input_tokens;        /* inclusive of cache reads and writes */
  int64_t cached_tokens;
  int64_t cache_write_tokens;
  int64_t output_tokens;
  int64_t cost;                /* picodollars */
  int64_t output_cap;          /* the cap of the final call */
  int64_t context_tokens_before; /* the history before pruning */
  int64_t context_tokens_after;
  double confidence;           /* of the final answer when a cascade ran, else -1 */
} tkn_agent_stats;
#define TKN_AGENT_STATS_INIT \
  { TKN_AGENT_STATS_VERSION, 0, 0, 0, 0, 0, 0, 0, 0, 0, -1, 0, 0, 0, 0, 0, 0, 0, 0, -1.0 }

/* NULL is a no-op. */
TKN_API void tkn_agent_result_free(tkn_agent_result *res);
/* The answer's text ("" if none); NUL-terminated, lives with the result. */
TKN_API const char *tkn_agent_result_content(const tkn_agent_result *res, size_t *len);
/* The tool calls JSON of the answer ("" if none). */
TKN_API const char *tkn_agent_result_tool_calls(const tkn_agent_result *res, size_t *len);
/* A static string: see "Finish reasons" above ("" for NULL). */
TKN_API const char *tkn_agent_result_finish_reason(const tkn_agent_result *res);
/* The model of the final answer ("" if none was called). */
TKN_API const char *tkn_agent_result_model(const tkn_agent_result *res);
/* The trace (JSON, NUL-terminated), lives with the result. */
TKN_API const char *tkn_agent_result_trace(const tkn_agent_result *res, size_t *len);
/* Copy the figures into *stats (stats->version must be set).  TKN_ERR_INVALID
 * for NULL, TKN_ERR_VERSION for an unknown version. */
TKN_API int tkn_agent_result_stats(const tkn_agent_result *res, tkn_agent_stats *stats);

#ifdef __cplusplus
}
#endif

#endif /* TOKENOMY_AGENT_H */
