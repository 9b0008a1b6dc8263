/* tokenomy: model routing over tiers, with cascades, shadow evaluation and
 * failover.
 *
 * A router holds tiers (cheapest first; each an ordered list of models to
 * fall back through and a cascade confidence threshold), rules (a condition
 * over a task's attributes, the tier it sends the task to, a reason, a shadow
 * sampling rate), a default tier, cascade settings and failure settings.  It
 * is built from a JSON config (tkn_router_new_json; the format is in the
 * README) or through a builder (tkn_router_builder_*), and the conditions are
 * compiled once into one flat program over interned attribute ids: a leaf
 * test per instruction with the next instruction for true and for false
 * (all/any/not and constant parts fold into those successors).  The first
 * rule whose condition holds wins; no match means the default tier.
 *
 * A task (tkn_task) is a set of named attributes: strings, numbers, booleans
 * and string lists, plus an optional id used for deterministic shadow sampling.
 *
 * Condition semantics (missing attribute = "absent"):
 *   eq, ne        scalar equality (same type and value); ne is exactly "not eq",
 *                 so it holds for an absent attribute or another type;
 *   in, not_in    the attribute (a scalar, or any element of a string list) is
 *                 one of the listed values; not_in is exactly "not in";
 *   lt le gt ge   numeric comparison; false unless the attribute is a number;
 *   exists        true/false: whether the attribute is present;
 *   contains      string attribute: substring; string list: has that element;
 *   prefix        string attribute starts with it; list: some element does;
 *   all, any, not combinators; all of [] is true, any of [] is false.
 *
 * Threading: the router's configuration and compiled rules are immutable once
 * built, and every tkn_router_* function may be called from any number of
 * threads at once on one router.  The mutable parts are internally
 * synchronised: model failure windows and cooldowns sit behind a mutex (the
 * read on the decision path is a lock-free atomic load), shadow counters are
 * atomics.  A task, a builder and a cascade are one thread at a time each.
 * Because a router is shared, it has no error-text slot: constructors copy
 * their one-line error into a caller buffer, and the other calls document
 * what each status means.
 *
 * Limits: config text 1 MiB and nesting 64; 64 tiers, 64 models per tier,
 * 4096 rules, 256 distinct attributes, 4096 nodes per condition, 4096
 * values in an in/not_in list; task: 1024 attributes, 65536 list elements.
 */
#ifndef TOKENOMY_ROUTER_H
#define TOKENOMY_ROUTER_H

#include "common.h"
#include "llm.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tkn_router tkn_router;
typedef struct tkn_router_builder tkn_router_builder;
typedef struct tkn_router_cascade tkn_router_cascade;
typedef struct tkn_task tkn_task;

/* ---- Tasks ---------------------------------------------------------------
 * One thread at a time per task.  Names and string values are UTF-8 with an
 * explicit length (TKN_ERR_UTF8 otherwise); names are non-empty.  Setting an
 * attribute that exists replaces it.  On failure the task is unchanged (the
 * reason in tkn_error_last()).  TKN_ERR_INVALID for a NULL argument,
 * TKN_ERR_NOMEM. */
TKN_API int tkn_task_new(tkn_task **out);
/* NULL is a no-op. */
TKN_API void tkn_task_free(tkn_task *task);
/* The id whose hash decides shadow sampling (unset: never sampled).
 * TKN_ERR_INVALID for a NULL task or id, TKN_ERR_NOMEM. */
TKN_API int tkn_task_set_id(tkn_task *task, const char *id, size_t len);
/* TKN_ERR_INVALID for a NULL task, an empty name or a NULL value with a length, TKN_ERR_UTF8 for
 * invalid UTF-8, TKN_ERR_LIMIT past the attribute limits, TKN_ERR_NOMEM. */
TKN_API int tkn_task_set_string(tkn_task *task, const char *name, size_t name_len,
                                const char *value, size_t value_len);
/* TKN_ERR_INVALID for NaN or an infinity, a NULL task or an empty name,
 * TKN_ERR_UTF8 for a name that is not UTF-8, TKN_ERR_LIMIT past the attribute
 * limits, TKN_ERR_NOMEM. */
TKN_API int tkn_task_set_number(tkn_task *task, const char *name, size_t name_len, double value);
/* value: 0 false, anything else true.
 * TKN_ERR_INVALID for a NULL task, an empty name or a NULL value with a length, TKN_ERR_UTF8 for
 * invalid UTF-8, TKN_ERR_LIMIT past the attribute limits, TKN_ERR_NOMEM. */
TKN_API int tkn_task_set_bool(tkn_task *task, const char *name, size_t name_len, int32_t value);
/* n strings values[i] of lens[i] bytes (n may be 0: an empty list).
 * TKN_ERR_INVALID for a NULL task, an empty name or a NULL value with a length, TKN_ERR_UTF8 for
 * invalid UTF-8, TKN_ERR_LIMIT past the attribute limits, TKN_ERR_NOMEM. */
TKN_API int tkn_task_set_strings(tkn_task *task, const char *name, size_t name_len,
                                 const char *const *values, const size_t *lens, size_t n);
/* Remove an attribute; TKN_ERR_NOT_FOUND if absent.  TKN_ERR_INVALID for a NULL argument. */
TKN_API int tkn_task_remove(tkn_task *task, const char *name, size_t name_len);
/* Number of attributes set. */
TKN_API size_t tkn_task_count(const tkn_task *task);
/* A task from a JSON object whose members are the attributes: string,
 * number, true/false, or an array of strings.  The member "$id", if present
 * (a string), is the task id rather than an attribute.  On failure *out is
 * NULL (the error names the member).  TKN_ERR_PARSE / _UTF8 / _LIMIT for text
 * that is not JSON, TKN_ERR_SCHEMA for a member of an unsupported type or a
 * non-object, TKN_ERR_INVALID, TKN_ERR_NOMEM. */
TKN_API int tkn_task_from_json(tkn_task **out, const char *json, size_t len);

/* ---- Failure classes ------------------------------------------------------
 * The router's rules name the classes of llm.h (TKN_LLM_FAIL_*,
 * tkn_llm_fail_name / tkn_llm_fail_from_name): one family for both. */

/* ---- Router options (run-time, not part of the config) -------------------- */
#define TKN_ROUTER_OPTIONS_VERSION 1
typedef struct tkn_router_options {
  uint32_t version; /* TKN_ROUTER_OPTIONS_VERSION */
  /* Milliseconds on a monotonic clock; NULL: CLOCK_MONOTONIC.  Called from
   * whichever thread decides or reports, so it must be thread-safe. */
  int64_t (*now_ms)(void *user);
  void *clock_user;
  /* Seed of the hash of task ids behind shadow sampling. */
  uint64_t shadow_seed;
} tkn_router_options;
#define TKN_ROUTER_OPTIONS_INIT { TKN_ROUTER_OPTIONS_VERSION, NULL, NULL, 0 }
/* Fill *opts with the defaults of `version`. TKN_ERR_INVALID for NULL, TKN_ERR_VERSION for an
 * unknown version. */
TKN_API int tkn_router_options_init(tkn_router_options *opts, uint32_t version);

/* ---- Building a router ---------------------------------------------------- */

/* Compile a router from its JSON config; opts may be NULL for the defaults.
 * Errors name the JSON path ("$.rules[2].when.all[0].lt: expected a number"):
 * TKN_ERR_PARSE / _UTF8 / _LIMIT for unreadable text, TKN_ERR_SCHEMA for an
 * unknown key, a wrong type or a value out of range, TKN_ERR_NOT_FOUND for an
 * unknown tier, TKN_ERR_DUPLICATE for a repeated key, tier or model in a tier,
 * TKN_ERR_STATE for a rule that can never match (its condition is never true,
 * or an earlier rule always matches), TKN_ERR_LIMIT past a limit.  On failure
 * *out is NULL.  TKN_ERR_INVALID for a NULL argument. */
TKN_API int tkn_router_new_json(tkn_router **out, const char *json, size_t len,
                                const tkn_router_options *opts);
/* NULL is a no-op.  No other thread may be using the router. */
TKN_API void tkn_router_free(tkn_router *router);

/* The same configuration, piece by piece.  The builder collects the config
 * and tkn_router_builder_build compiles it exactly as tkn_router_new_json
 * would (errors name the same JSON paths).  One thread at a time.
 * TKN_ERR_INVALID for a NULL out, TKN_ERR_NOMEM. */
TKN_API int tkn_router_builder_new(tkn_router_builder **out);
TKN_API void tkn_router_builder_free(tkn_router_builder *b); /* NULL is a no-op */
/* Append a tier (tiers go cheapest first).  models[i] has lens[i] bytes;
 * threshold is the cascade's acceptance confidence, in [0, 1].
 * TKN_ERR_INVALID for a NULL builder, name or models, no model, or a threshold outside [0, 1],
 * TKN_ERR_UTF8 for invalid UTF-8, TKN_ERR_NOMEM (duplicates and limits are found at build). */
TKN_API int tkn_router_builder_add_tier(tkn_router_builder *b, const char *name, size_t name_len,
                                        const char *const *models, const size_t *lens,
                                        size_t n_models, double threshold);
/* A rule, appended after the others. */
#define TKN_ROUTER_RULE_VERSION 1
typedef struct tkn_router_rule {
  uint32_t version;        /* TKN_ROUTER_RULE_VERSION */
  const char *when;        /* condition as JSON (config syntax); NULL/0: always */
  size_t when_len;
  const char *tier;        /* tier name (required) */
  size_t tier_len;
  const char *reason;      /* may be NULL */
  size_t reason_len;
  double shadow_rate;      /* in [0, 1] */
  const char *shadow_tier; /* NULL: the next stronger tier */
  size_t shadow_tier_len;
  int32_t cascade;         /* non-zero: tasks of this rule may cascade */
} tkn_router_rule;
#define TKN_ROUTER_RULE_INIT { TKN_ROUTER_RULE_VERSION, NULL, 0, NULL, 0, NULL, 0, 0.0, NULL, 0, 0 }
/* Fill *opts with the defaults of `version`. TKN_ERR_INVALID for NULL, TKN_ERR_VERSION for an
 * unknown version. */
TKN_API int tkn_router_rule_init(tkn_router_rule *rule, uint32_t version);
/* TKN_ERR_PARSE if `when` is not JSON; everything else is checked at build.
 * TKN_ERR_INVALID for a NULL argument. */
TKN_API int tkn_router_builder_add_rule(tkn_router_builder *b, const tkn_router_rule *rule);
/* TKN_ERR_INVALID for a NULL builder or name, TKN_ERR_UTF8 for invalid UTF-8, TKN_ERR_NOMEM
 * (an unknown tier is found at build). */
TKN_API int tkn_router_builder_set_default_tier(tkn_router_builder *b, const char *name,
                                                size_t len);
/* max_escalations < 0: up to the last tier.  path: where the confidence is in
 * a JSON response (dots and [n] indices, e.g. "meta.scores[0]").
 * TKN_ERR_INVALID for a NULL builder (or path with a length), TKN_ERR_UTF8 for invalid UTF-8,
 * TKN_ERR_NOMEM. */
TKN_API int tkn_router_builder_set_cascade(tkn_router_builder *b, int32_t max_escalations,
                                           const char *path, size_t path_len);
/* allowed_fails failures within window_s seconds cool a model for cooldown_s.
 * TKN_ERR_INVALID for a NULL builder or a cooldown that is not finite (ranges are checked at
 * build), TKN_ERR_NOMEM. */
TKN_API int tkn_router_builder_set_failures(tkn_router_builder *b, int32_t allowed_fails,
                                            int32_t window_s, double cooldown_s);
/* TKN_ERR_INVALID for a NULL builder or a class that is not a TKN_LLM_FAIL_ value (ranges are
 * checked at build), TKN_ERR_NOMEM. */
TKN_API int tkn_router_builder_set_retries(tkn_router_builder *b, int32_t cls, int32_t retries);
/* The config collected so far, as JSON text (free with tkn_free).
 * TKN_ERR_INVALID for a NULL argument, TKN_ERR_NOMEM. */
TKN_API int tkn_router_builder_to_json(const tkn_router_builder *b, char **out, size_t *out_len);
/* Compile.  The builder is left as it was and may be built again.
 * Errors as tkn_router_new_json, and TKN_ERR_INVALID for a NULL argument. */
TKN_API int tkn_router_builder_build(tkn_router_builder *b, const tkn_router_options *opts,
                                     tkn_router **out);

/* ---- Inspecting ----------------------------------------------------------- */
TKN_API size_t tkn_router_tier_count(const tkn_router *router);
TKN_API size_t tkn_router_rule_count(const tkn_router *router);
/* Tier i's name (NUL-terminated, owned by the router), NULL if out of range. */
TKN_API const char *tkn_router_tier_name(const tkn_router *router, size_t i);
/* Every model the router can call, of every tier, each named once, in the
 * order the config first names them: the count, and model i's name
 * (NUL-terminated, owned by the router), NULL if out of range.  For checking
 * a router against a price table before it spends (the agent does). */
TKN_API size_t tkn_router_model_count(const tkn_router *router);
TKN_API const char *tkn_router_model_name(const tkn_router *router, size_t i);
/* Tier i's cascade threshold; TKN_ERR_INVALID if out of range. */
TKN_API int tkn_router_tier_threshold(const tkn_router *router, size_t i, double *out);
/* The model the router would call for tier i now: the first of the tier's
 * models not cooling down after failures, else the first available one of
 * the tiers above, as a cascade started at tier i would; *tier says which
 * tier it is in.  The name is owned by the router (NUL-terminated).
 * Thread-safe.  TKN_ERR_INVALID for a NULL argument or i out of range,
 * TKN_ERR_UNAVAILABLE if every model from tier i up is cooling down. */
TKN_API int tkn_router_tier_model(const tkn_router *router, size_t i, int32_t *tier,
                                  const char **model);

/* ---- Deciding ------------------------------------------------------------- */
/* Strings point into the router (NUL-terminated) and live as long as it. */
#define TKN_ROUTER_DECISION_VERSION 1
typedef struct tkn_router_decision {
  uint32_t version;       /* TKN_ROUTER_DECISION_VERSION, set by the caller */
  int32_t rule;           /* index of the matching rule, -1: the default tier */
  int32_t rule_tier;      /* the tier the rule (or default) names */
  int32_t tier;           /* the tier chosen (later than rule_tier after failover) */
  const char *tier_name;
  const char *model;
  const char *reason;     /* the rule's reason, "default" for the default tier */
  int32_t cascade;        /* the rule allows a cascade */
  int32_t shadow;         /* also send the task to shadow_tier / shadow_model:
                             the rule's rate, sampled by XXH64(task id, seed);
                             never when failover already reached that tier */
  int32_t shadow_tier;    /* -1 when shadow is 0 */
  const char *shadow_model;
} tkn_router_decision;
#define TKN_ROUTER_DECISION_INIT \
  { TKN_ROUTER_DECISION_VERSION, -1, -1, -1, NULL, NULL, NULL, 0, 0, -1, NULL }
/* Fill *opts with the defaults of `version`. TKN_ERR_INVALID for NULL, TKN_ERR_VERSION for an
 * unknown version. */
TKN_API int tkn_router_decision_init(tkn_router_decision *d, uint32_t version);

/* Route a task: first matching rule, else the default tier; within the tier
 * the first model not cooling down, else the next tier's.  TKN_ERR_UNAVAILABLE
 * if every model from that tier up is cooling down; TKN_ERR_VERSION for an
 * unknown d->version; TKN_ERR_INVALID for NULL. */
TKN_API int tkn_router_decide(const tkn_router *router, const tkn_task *task,
                              tkn_router_decision *d);
/* The same evaluation, explained as JSON (free with tkn_free):
 * {"rule":i,"tier":"..","model":"..","rules":[{"index":0,"tier":"..",
 *  "matched":false,"failed":[{"path":"$.rules[0].when.all[1]","attr":"n",
 *  "op":"lt","expected":5,"actual":9,"why":"9 is not < 5"}]}, ...]}
 * Every rule is listed; "failed" holds the leaf tests (or the "not") that
 * made it false, "actual" is null for a missing attribute; the first match
 * has "chosen":true.  "failover_tier" appears when cooldowns moved the task
 * up; "model" is null (with "error") when every model is cooling down.
 * Evaluated by walking the condition tree, independently of the compiled
 * program tkn_router_decide runs.
 * TKN_ERR_INVALID for a NULL router or out, TKN_ERR_NOMEM. */
TKN_API int tkn_router_explain(const tkn_router *router, const tkn_task *task, char **out,
                               size_t *out_len);

/* ---- Failures and retries ------------------------------------------------- */
/* Report a failed call to `model`.  Failures of every class but bad_request
 * and content_policy (the request's fault, not the model's) count: the
 * allowed_fails-th within the window starts a cooldown of cooldown_s, and
 * *cooled (may be NULL) is set to 1.  TKN_ERR_NOT_FOUND for a model not in
 * any tier, TKN_ERR_INVALID for an unknown class. */
TKN_API int tkn_router_report_failure(const tkn_router *router, const char *model, size_t len,
                                      int32_t cls, int32_t *cooled);
/* *until_ms: the clock value the model's cooldown ends at (0 if it is not
 * cooling now).  TKN_ERR_NOT_FOUND for an unknown model.  TKN_ERR_INVALID for a NULL argument. */
TKN_API int tkn_router_model_cooldown(const tkn_router *router, const char *model, size_t len,
                                      int64_t *until_ms);
/* How many times to retry a call that failed with `cls` (config).
 * TKN_ERR_INVALID for a NULL argument or a class that is not a TKN_LLM_FAIL_ value. */
TKN_API int tkn_router_retries(const tkn_router *router, int32_t cls, int32_t *out);

/* ---- Shadow evaluation ---------------------------------------------------- */
/* The host's comparator: 1 the answers agree, 0 they do not, < 0 failure. */
typedef int (*tkn_router_comparator)(const char *cheap, size_t cheap_len, const char *strong,
                                     size_t strong_len, void *user);
/* Give both answers of a shadowed task of rule `rule` to `cmp` and count the
 * verdict; *agreed (may be NULL) receives it.  TKN_ERR_CALLBACK if cmp fails
 * (nothing counted), TKN_ERR_INVALID for a bad rule index. */
TKN_API int tkn_router_shadow_compare(const tkn_router *router, int32_t rule, const char *cheap,
                                      size_t cheap_len, const char *strong, size_t strong_len,
                                      tkn_router_comparator cmp, void *user, int32_t *agreed);
/* Rule `rule`'s counters: decisions sampled for shadowing, comparisons made,
 * agreements.  Any pointer may be NULL.
 * TKN_ERR_INVALID for a NULL router or a bad rule index. */
TKN_API int tkn_router_shadow_stats(const tkn_router *router, int32_t rule, uint64_t *sampled,
                                    uint64_t *compared, uint64_t *agreed);
/* All rules with a shadow rate, as JSON (free with tkn_free):
 * {"rules":[{"index":0,"tier":"..","shadow_tier":"..","rate":0.1,
 *  "sampled":n,"compared":n,"agreed":n,"agreement":0.93|null}]}
 * TKN_ERR_INVALID for a NULL argument, TKN_ERR_NOMEM. */
TKN_API int tkn_router_shadow_report(const tkn_router *router, char **out, size_t *out_len);

/* ---- Calibration ---------------------------------------------------------- */
/* RouteLLM's quantile method over N tiers: given n recorded scores (higher
 * means a cheaper tier suffices) and the target share of tasks for each of
 * n_tiers tiers (cheapest first, >= 0, summing to 1 within 1e-6), write the
 * thresholds such that a task goes to the first tier i with score >=
 * thresholds[i]: thresholds are non-increasing, thresholds[i] is +inf when
 * tier i and the cheaper ones get no share, and the last is -inf.  Ties at a
 * boundary go to the cheaper tier.  TKN_ERR_INVALID for bad input (NaN, no
 * sample, shares that do not sum to 1). */
TKN_API int tkn_router_calibrate(const double *scores, size_t n, const double *shares,
                                 size_t n_tiers, double *thresholds);

/* ---- Cascades --------------------------------------------------------------
 * One cascade per task: start at a tier (the cheapest by default), call the
 * model tkn_router_cascade_next names, report its response; the cascade
 * accepts when the confidence reaches the tier's threshold, else escalates to
 * the next tier, up to the config's max_escalations.  Confidence is the
 * number at the config's confidence_path in the response (JSON), or the
 * scorer's result; an invalid response (valid == 0, e.g. it failed its
 * schema), non-JSON content or a missing/non-numeric field count as 0.
 * One thread at a time per cascade; the router may be shared. */
#define TKN_ROUTER_CASCADE_OPTIONS_VERSION 1
typedef struct tkn_router_cascade_options {
  uint32_t version; /* TKN_ROUTER_CASCADE_OPTIONS_VERSION */
  int32_t start_tier;
  /* Host scorer (replaces the JSON field): 0 and *confidence, or non-zero. */
  int (*score)(const char *content, size_t len, double *confidence, void *user);
  void *score_user;
} tkn_router_cascade_options;
#define TKN_ROUTER_CASCADE_OPTIONS_INIT { TKN_ROUTER_CASCADE_OPTIONS_VERSION, 0, NULL, NULL }
/* Fill *opts with the defaults of `version`. TKN_ERR_INVALID for NULL, TKN_ERR_VERSION for an
 * unknown version. */
TKN_API int tkn_router_cascade_options_init(tkn_router_cascade_options *opts, uint32_t version);

#define TKN_ROUTER_CASCADE_RUNNING 0   /* call next, then report */
#define TKN_ROUTER_CASCADE_ACCEPTED 1  /* the last response is accepted */
#define TKN_ROUTER_CASCADE_ESCALATE 2  /* below threshold: next names a stronger tier */
#define TKN_ROUTER_CASCADE_EXHAUSTED 3 /* below threshold and no escalation left */

/* The router must outlive the cascade. opts may be NULL.
 * TKN_ERR_INVALID for a NULL argument or a start tier out of range, TKN_ERR_VERSION for unknown
 * options, TKN_ERR_NOMEM. */
TKN_API int tkn_router_cascade_new(tkn_router_cascade **out, const tkn_router *router,
                                   const tkn_router_cascade_options *opts);
TKN_API void tkn_router_cascade_free(tkn_router_cascade *c); /* NULL is a no-op */
/* The tier and model to call now (the first of the tier not cooling down,
 * else the next tier's).  TKN_ERR_STATE once accepted or exhausted,
 * TKN_ERR_UNAVAILABLE if every model from the tier up is cooling down.
 * TKN_ERR_INVALID for a NULL argument. */
TKN_API int tkn_router_cascade_next(tkn_router_cascade *c, int32_t *tier, const char **model);
/* Report the response of the call tkn_router_cascade_next named and its cost
 * (exact units of the host's choosing, >= 0).  *state receives the new state
 * (ESCALATE, ACCEPTED or EXHAUSTED), *confidence (may be NULL) the score.
 * TKN_ERR_STATE without a pending next, TKN_ERR_CALLBACK if the scorer fails,
 * TKN_ERR_OVERFLOW if the total cost would overflow; the cascade is unchanged
 * on failure.  TKN_ERR_INVALID for a NULL argument. */
TKN_API int tkn_router_cascade_report(tkn_router_cascade *c, const char *content, size_t len,
                                      int32_t valid, int64_t cost, int32_t *state,
                                      double *confidence);
TKN_API int32_t tkn_router_cascade_state(const tkn_router_cascade *c);
TKN_API size_t tkn_router_cascade_attempts(const tkn_router_cascade *c);
TKN_API int64_t tkn_router_cascade_total_cost(const tkn_router_cascade *c);
/* Every attempt as JSON (free with tkn_free):
 * {"state":"accepted","total_cost":n,"best":i,"attempts":[{"tier":"..",
 *  "model":"..","confidence":0.4,"valid":true,"source":"field","cost":n,
 *  "outcome":"escalate"}]}  source: field, scorer, invalid, not_json, missing.
 * TKN_ERR_INVALID for a NULL argument, TKN_ERR_NOMEM. */
TKN_API int tkn_router_cascade_to_json(const tkn_router_cascade *c, char **out,
                                       size_t *out_len);

#ifdef __cplusplus
}
#endif

#endif /* TOKENOMY_ROUTER_H */
