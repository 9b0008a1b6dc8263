/* tokenomy: tool-pair-safe context pruning.
 *
 * A tkn_pruner cuts a conversation (tkn_conv) down to max_tokens, in place,
 * in one of three modes sharing one options struct and one report:
 *
 *  TKN_PRUNE_TRIM       LangChain's trimMessages (@langchain/core 1.4.0,
 *                       checked by a conformance test against the real one):
 *                       keep the longest run of first / last messages that
 *                       fits, include_system, start_on / end_on role sets,
 *                       allow_partial with a text splitter (newlines by
 *                       default).  The token count of a list is that of
 *                       tkn_tokenizer_count_conv: every message with its
 *                       overhead, plus the reply priming.
 *  TKN_PRUNE_SCORE      keep what matters: the system prompt, pinned messages
 *                       and the last keep_last_turns turns unconditionally,
 *                       then the best-scored rest (recency, kind, information
 *                       density; or the host's own score) greedily while it
 *                       fits, put back in original order.
 *  TKN_PRUNE_SUMMARISE  the messages that score (or trim) would drop are
 *                       replaced, in place, by one summary message written by
 *                       the host's callback; its tokens count against the
 *                       budget.  If the callback fails, the messages are
 *                       dropped instead and the report says so.
 *
 * Invariants, in every mode unless the named option turns them off:
 *  - protect_tool_pairs: an assistant message with tool calls and all its
 *    tool results are one unit, kept or dropped together; a tool result whose
 *    call is not in the conversation is dropped.
 *  - fix_provider_order: no leading tool message; for Anthropic the first
 *    non-system message is from the user (leading units are dropped).
 *  - the result fits max_tokens as tkn_tokenizer_count_conv counts it with
 *    the `count` overheads (counts are cached in the conversation, so pruning
 *    an unchanged conversation again does not re-tokenize it).
 *  - if what must be kept (score and summarise modes) alone needs more than
 *    max_tokens, or the selection would keep no message beside the system
 *    prompt, the run degrades instead of failing (degrade 1, the default
 *    since options version 3): tool results are replaced by the placeholder text, oldest
 *    first, as few as make the mode's selection fit (so the ones inside the
 *    kept turns go only when they must); if even all of them do not make it
 *    fit, the oldest messages are dropped as TRIM does (strategy last, the
 *    system prompt kept, starting on a user message); and if that leaves no
 *    message beside the system prompt, the system prompt and the last turn
 *    are sent over the budget.  It never leaves nothing and keeps tool units
 *    whole; the report says so: decision TKN_PRUNE_DECISION_DEGRADED, the
 *    cleared results (TKN_PRUNE_CLEARED, reason TKN_PRUNE_WHY_BUDGET) and
 *    their tokens (tkn_prune_report_cleared), and a note.  In summarise mode
 *    a degraded run still summarises what its selection drops, but a run
 *    that has to drop turns does not.  With degrade 0 (and for version 1
 *    and 2 structs, whose contract this was) score and summarise fail with
 *    TKN_ERR_BUDGET, the error names the tokens needed, the conversation is
 *    untouched; and trim returns no message beside the system prompt.
 *    Every failure leaves the conversation untouched.
 *
 * Three more modes rewrite old tool traffic instead of dropping messages (the
 * conversation keeps its length and its order; tool units stay whole):
 *
 *  TKN_PRUNE_MASK       observation masking ("The Complexity Trap", 2025): the
 *                       result of every tool use but the last keep_tool_uses
 *                       is replaced by the placeholder text.  max_tokens is
 *                       not used.
 *  TKN_PRUNE_CLEAR      Anthropic's clear_tool_uses_20250919, client-side:
 *                       as MASK, but only when the conversation has more than
 *                       clear_trigger tokens, and only if at least
 *                       clear_at_least tokens go (else nothing changes).
 *  TKN_PRUNE_POLICY     cache economics: clears as MASK does only when the
 *                       expected saving over the coming calls exceeds what
 *                       the broken cache prefix costs now, at the prices
 *                       given (picodollars per million tokens).  Between two
 *                       clears the conversation is only appended to, so the
 *                       provider's cache keeps hitting.  It needs no state:
 *                       it works on the conversation as last sent (cleared
 *                       results are recognised by the placeholder text), so
 *                       it must be run in place on the conversation the host
 *                       keeps.  By default a clear must pay for itself at the
 *                       call that makes it, even if that call is the
 *                       conversation's last (horizon_calls 0), and shed
 *                       enough that the cache's block rounding cannot make a
 *                       later call dearer: then a conversation never costs
 *                       more than not clearing, as far as the cache model
 *                       holds (prefixes cached at message boundaries in
 *                       blocks of cache_block_tokens; the first cleared
 *                       message past the provider's minimum cacheable prefix,
 *                       which the policy cannot check: it does not see what
 *                       the host sends before the conversation).  A host may
 *                       let a clear pay back over N coming calls, or over as
 *                       many as the conversation has made so far (its growth:
 *                       TKN_PRUNE_HORIZON_GROWTH): it then saves more where
 *                       the conversation goes on, and costs more where it
 *                       ends.  With a ledger (tkn_prune_ledger, one per
 *                       conversation, options version 3) such a clear risks
 *                       only what the clears before it saved: every run
 *                       banks what the tokens cleared so far save at this
 *                       call (their cache-read price, less what the block
 *                       rounding may take), and a clear that does not pay at
 *                       once is made only if it pays back over the horizon
 *                       and its cost at this call is within the credit
 *                       (which it then spends), so a conversation never costs
 *                       more than not clearing at any call, as far as the
 *                       cache model holds, whatever the horizon.  The ledger
 *                       changes nothing with horizon_calls 0 (every clear
 *                       then pays at once); on the recorded traces
 *                       (`tokenomy replay`) a ledger with horizon 1 saves the
 *                       most.  The clear is the largest allowed: every old
 *                       result from the oldest one whose clear is allowed
 *                       on.  With max_tokens > 0 it also enforces the
 *                       budget and degrades instead of failing: clear every
 *                       old result, then the recent ones too (oldest first),
 *                       then drop the oldest messages as TRIM does; when even
 *                       that leaves no message beside the system prompt, it
 *                       keeps the last turn whole and says so in the report
 *                       (it never sends nothing); such a forced clear spends
 *                       the whole credit.  The report says what it decided
 *                       and the figures it decided on (the note: when the
 *                       credit was too small).
 *
 * In these three modes a "tool use" is one tool call and its result;
 * results of tools named in exclude_tools are never cleared; with
 * clear_inputs the arguments of a cleared use become {}; with clear_thinking
 * the thinking blocks of all but the last keep_thinking_turns assistant
 * messages are removed whenever results are cleared.  A result whose
 * placeholder would not be shorter is left as it is.
 *
 * Where TRIM deliberately differs from LangChain: with the invariants on
 * (the defaults) cuts never split a tool unit; a message whose content is an
 * array of parts is never cut by allow_partial (LangChain 1.4.0 duplicates
 * messages on that path); a partial message is counted in its final order
 * (LangChain counts the reversed join for strategy "last", which can pass
 * max_tokens with an order-sensitive tokenizer); where nothing fits with
 * include_system, LangChain returns [undefined] and we return no messages.
 * All of this is with degrade 0, LangChain's contract: by default (degrade 1)
 * a trim that would keep no message beside the system prompt degrades as
 * above instead of returning what LangChain returns.
 * Pinned flags do not apply to TRIM.
 *
 * Threading: one thread at a time per pruner (it keeps scratch memory between
 * runs) and per conversation; the tokenizer may be shared.  Reports are
 * independent objects.
 *
 * Limits: max_tokens >= 0; conversations up to TKN_CONV_MAX_MESSAGES.
 */
#ifndef TOKENOMY_PRUNE_H
#define TOKENOMY_PRUNE_H

#include "common.h"
#include "conv.h"
#include "tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Modes. */
#define TKN_PRUNE_TRIM 0
#define TKN_PRUNE_SCORE 1
#define TKN_PRUNE_SUMMARISE 2
#define TKN_PRUNE_MASK 3
#define TKN_PRUNE_CLEAR 4
#define TKN_PRUNE_POLICY 5

/* Trim strategies. */
#define TKN_PRUNE_LAST 0  /* keep the newest messages */
#define TKN_PRUNE_FIRST 1 /* keep the oldest messages */

/* A role set for start_on / end_on: TKN_PRUNE_ROLE(TKN_ROLE_USER) | ...
 * As in LangChain, developer messages are of the "system" type. */
#define TKN_PRUNE_ROLE(role) (1u << (unsigned)(role))

/* Text splitter for allow_partial: set *end to the end (exclusive) of the
 * piece that starts at byte `pos` (pos <= *end <= len) and *last to 1 if
 * that piece is the final one.  Pieces cover the text in order; an empty
 * final piece is allowed (the default splitter yields one after a trailing
 * newline, as JavaScript's split does).  Return 0, or non-zero to fail
 * (TKN_ERR_CALLBACK). */
typedef int (*tkn_prune_splitter_fn)(const char *text, size_t len, size_t pos, size_t *end,
                                     int32_t *last, void *user);
/* Host scoring: the score of message i (higher is kept first).  Return 0, or
 * non-zero to fail the run (TKN_ERR_CALLBACK). */
typedef int (*tkn_prune_score_fn)(tkn_conv *conv, size_t i, double *score, void *user);
/* Host summariser: summarise messages dropped[0..n) of conv (indices in the
 * conversation as given, ascending) in at most max_tokens tokens.  Set *text
 * (UTF-8, *len bytes) to memory that stays valid until the callback returns
 * to tokenomy's caller (tokenomy copies it).  Return 0, or non-zero: the run
 * then drops the messages and reports the failure. */
typedef int (*tkn_prune_summarise_fn)(tkn_conv *conv, const size_t *dropped, size_t n,
                                      int64_t max_tokens, const char **text, size_t *len,
                                      void *user);

/* The policy's ledger for one conversation (TKN_PRUNE_POLICY with
 * tkn_prune_options.ledger): what the clears made so far have saved, so a
 * later clear may risk that much on a payback still to come.  Host-owned
 * plain data: zero-initialised it is a fresh conversation; keep one per
 * conversation, beside it (persist it with the conversation; a copy of the
 * conversation needs a copy of the ledger).  Each POLICY run counts as one
 * model call: run the policy once per call sent.  All fields >= 0. */
typedef struct tkn_prune_ledger {
  int64_t credit;  /* picodollars: saved by the clears so far, less what later clears
                      risked (never below 0) */
  int64_t cleared; /* tokens the conversation's clears so far shed */
  int64_t calls;   /* POLICY runs on this conversation so far */
} tkn_prune_ledger;

/* Version 2 appended the mask / clear / policy fields, version 3 the policy's
 * ledger and `degrade`; a version 1 or 2 struct is still accepted (the fields
 * it lacks then take their defaults, except degrade, which is 0 for them: they
 * keep failing with TKN_ERR_BUDGET, as they did). */
#define TKN_PRUNE_OPTIONS_VERSION 3
typedef struct tkn_prune_options {
  uint32_t version;            /* TKN_PRUNE_OPTIONS_VERSION (or 1, 2) */
  int32_t mode;                /* TKN_PRUNE_TRIM / _SCORE / _SUMMARISE / _MASK / _CLEAR / _POLICY */
  int64_t max_tokens;          /* the budget the result must fit, >= 0 (POLICY: 0 for
                                  none; MASK, CLEAR: not used) */
  tkn_count_options count;     /* per-message overhead as the provider counts */
  int32_t provider;            /* TKN_PROVIDER_OPENAI / _ANTHROPIC; AUTO: the
                                  conversation's source format (OpenAI if none) */
  int32_t protect_tool_pairs;  /* 1: tool units kept or dropped whole */
  int32_t fix_provider_order;  /* 1: no leading tool message, Anthropic user first */
  /* ---- trim ---- */
  int32_t strategy;            /* TKN_PRUNE_LAST / _FIRST */
  int32_t include_system;      /* LAST only: keep a leading system message first */
  uint32_t start_on;           /* LAST only: the kept run starts on one of these roles (0: any) */
  uint32_t end_on;             /* the kept run ends on one of these roles (0: any) */
  int32_t allow_partial;       /* cut the first message that does not fit */
  tkn_prune_splitter_fn text_splitter; /* NULL: split after each "\n" */
  void *text_splitter_user;
  /* ---- score ---- */
  uint32_t keep_last_turns;    /* turns (from a user message on) always kept */
  int32_t keep_system;         /* 1: system and developer messages always kept */
  double weight_recency;       /* each part of the score is in [0, 1] */
  double weight_kind;
  double weight_density;
  tkn_prune_score_fn score;    /* NULL: the built-in score */
  void *score_user;
  /* ---- summarise ---- */
  int32_t summarise_from;      /* TKN_PRUNE_SCORE or _TRIM: what gets summarised */
  int32_t summary_role;        /* TKN_ROLE_USER (or _SYSTEM, OpenAI only) */
  int64_t summary_max_tokens;  /* room kept for the summary message, overhead
                                  included; 0: max_tokens / 8 */
  tkn_prune_summarise_fn summarise; /* required in SUMMARISE mode */
  void *summarise_user;
  /* ---- mask, clear, policy (version 2) ---- */
  uint32_t keep_tool_uses;     /* the results of the last N tool uses are kept (3) */
  int64_t clear_trigger;       /* CLEAR: act only above this many tokens (100000) */
  int64_t clear_at_least;      /* CLEAR, POLICY: clear nothing unless this many tokens go */
  const char *const *exclude_tools; /* names of tools whose results are never cleared */
  size_t exclude_tools_count;
  int32_t clear_inputs;        /* 1: a cleared use's arguments become {} */
  const char *placeholder;     /* the text of a cleared result; NULL: TKN_PRUNE_PLACEHOLDER */
  size_t placeholder_len;      /* or TKN_NUL_TERMINATED */
  int32_t clear_thinking;      /* 1: thinking blocks of older assistant messages go too */
  uint32_t keep_thinking_turns; /* the last N assistant messages keep them (1) */
  /* ---- policy: prices in picodollars per million tokens (prices.h) ---- */
  int64_t price_input_per_mtok;       /* > 0 in POLICY mode */
  int64_t price_cache_read_per_mtok;  /* 0: no cache discount */
  int64_t price_cache_write_per_mtok; /* 0: the input price (OpenAI) */
  uint32_t horizon_calls;      /* calls after this one a clear may take to pay back:
                                  0: none, it pays at this call alone (never costlier
                                  than not clearing, as far as the cache model holds);
                                  TKN_PRUNE_HORIZON_GROWTH: as many as so far */
  uint32_t cache_block_tokens; /* the provider caches prefixes in blocks of this many
                                  tokens (OpenAI: 128): a break loses up to this many
                                  less one more, and a later call's rounding as many */
  /* ---- version 3 ---- */
  tkn_prune_ledger *ledger;    /* POLICY: this conversation's ledger, read and updated
                                  by every run (NULL: none, each clear pays at once) */
  int32_t degrade;             /* TRIM, SCORE, SUMMARISE: 1 (the default): when the budget
                                  cannot be met, clear tool results, then drop the oldest
                                  messages, never leave nothing (see above); 0: fail with
                                  TKN_ERR_BUDGET (trim: keep nothing) */
} tkn_prune_options;
#define TKN_PRUNE_HORIZON_GROWTH 0xFFFFFFFFu
#define TKN_PRUNE_PLACEHOLDER "[old tool result cleared]"
#define TKN_PRUNE_OPTIONS_INIT                                                         \
  { TKN_PRUNE_OPTIONS_VERSION, TKN_PRUNE_TRIM, 0, TKN_COUNT_OPTIONS_INIT,              \
    TKN_PROVIDER_AUTO, 1, 1, TKN_PRUNE_LAST, 0, 0, 0, 0, NULL, NULL, 2, 1, 0.5, 1.0, 0.5, \
    NULL, NULL, TKN_PRUNE_SCORE, TKN_ROLE_USER, 0, NULL, NULL,                          \
    3, 100000, 0, NULL, 0, 0, NULL, 0, 0, 1, 0, 0, 0, 0, 128, NULL, 1 }
/* Fill *opts with the defaults of `version` (1, 2: the fields of that version
 * only, the rest untouched).  TKN_ERR_INVALID for NULL, TKN_ERR_VERSION for an
 * unknown version. */
TKN_API int tkn_prune_options_init(tkn_prune_options *opts, uint32_t version);

typedef struct tkn_pruner tkn_pruner;
typedef struct tkn_prune_report tkn_prune_report;

/* A pruner counting with `tok` (borrowed: it must outlive the pruner).
 * TKN_ERR_INVALID for a NULL argument, TKN_ERR_NOMEM. */
TKN_API int tkn_prune_new(tkn_pruner **out, const tkn_tokenizer *tok);
/* NULL is a no-op. */
TKN_API void tkn_prune_free(tkn_pruner *pruner);

/* Prune conv in place.  If report is not NULL, *report receives what was
 * done (free it with tkn_prune_report_free), NULL on failure.
 * TKN_ERR_BUDGET (degrade 0 only): the must-keep set does not fit (the text
 * gives its tokens);
 * TKN_ERR_INVALID / _VERSION: bad options (the text names the field: also a
 * negative clear_trigger, clear_at_least or price, POLICY without an input
 * price, a placeholder that is not valid UTF-8, a NULL exclude_tools entry,
 * a negative ledger field);
 * TKN_ERR_CALLBACK: the tokenizer, splitter or score callback failed;
 * TKN_ERR_NOMEM.  On any failure conv is unchanged. */
TKN_API int tkn_prune_run(tkn_pruner *pruner, tkn_conv *conv, const tkn_prune_options *opts,
                          tkn_prune_report **report);

/* ---- the report ---- */

/* What happened to one message of the original conversation. */
#define TKN_PRUNE_KEPT 0       /* kept as it was */
#define TKN_PRUNE_DROPPED 1    /* dropped */
#define TKN_PRUNE_CUT 2        /* kept in part (allow_partial) */
#define TKN_PRUNE_SUMMARISED 3 /* dropped and covered by the summary */
#define TKN_PRUNE_CLEARED 4    /* kept, its tool result / arguments / thinking cleared */

/* Why. */
#define TKN_PRUNE_WHY_FITS 0      /* kept: inside the run that fits (trim) */
#define TKN_PRUNE_WHY_SYSTEM 1    /* kept: the system prompt */
#define TKN_PRUNE_WHY_PINNED 2    /* kept: pinned */
#define TKN_PRUNE_WHY_RECENT 3    /* kept: in the last keep_last_turns turns */
#define TKN_PRUNE_WHY_SCORE 4     /* kept: chosen by score */
#define TKN_PRUNE_WHY_TOOL_UNIT 5 /* kept or dropped with its tool call / results */
#define TKN_PRUNE_WHY_BUDGET 6    /* dropped: did not fit (cleared: a degraded run needed
                                     its tokens) */
#define TKN_PRUNE_WHY_START_ON 7  /* dropped: before the first start_on message */
#define TKN_PRUNE_WHY_END_ON 8    /* dropped: after the last end_on message */
#define TKN_PRUNE_WHY_PROVIDER 9  /* dropped (or kept) so the provider accepts the order */
#define TKN_PRUNE_WHY_ORPHAN 10   /* dropped: a tool result without its call */
#define TKN_PRUNE_WHY_PARTIAL 11  /* cut to fit (allow_partial) */
#define TKN_PRUNE_WHY_OLD_TOOL 12 /* cleared: an old tool use (result, or with clear_inputs,
                                     arguments) */
#define TKN_PRUNE_WHY_RECENT_TOOL 13 /* kept: one of the last keep_tool_uses (cleared: the
                                        budget needed it) */
#define TKN_PRUNE_WHY_EXCLUDED 14 /* kept: its tool is in exclude_tools */
#define TKN_PRUNE_WHY_THINKING 15 /* cleared: thinking blocks of an older assistant message */
#define TKN_PRUNE_WHY_NOT_WORTH 16 /* kept: under the trigger, under clear_at_least, or
                                      (policy) clearing would cost more than it saves */
#define TKN_PRUNE_WHY_CLEARED_BEFORE 17 /* kept: already the placeholder */

/* The summary outcome. */
#define TKN_PRUNE_SUMMARY_NONE 0     /* not summarise mode, or nothing to summarise */
#define TKN_PRUNE_SUMMARY_ADDED 1    /* the summary message was inserted */
#define TKN_PRUNE_SUMMARY_FAILED 2   /* the callback failed: messages dropped */
#define TKN_PRUNE_SUMMARY_TOO_LONG 3 /* the summary did not fit its room: dropped */
#define TKN_PRUNE_SUMMARY_INVALID 4  /* the summary was not valid UTF-8: dropped */

TKN_API void tkn_prune_report_free(tkn_prune_report *report);
/* Tokens of the conversation before and after (as tkn_tokenizer_count_conv).
 * TKN_ERR_INVALID for a NULL report. */
TKN_API int tkn_prune_report_tokens(const tkn_prune_report *report, int64_t *before,
                                    int64_t *after);
/* Number of messages of the original conversation. */
TKN_API size_t tkn_prune_report_count(const tkn_prune_report *report);
/* Message i of the original conversation: TKN_PRUNE_KEPT.. and TKN_PRUNE_WHY_..,
 * and its tokens before pruning (overhead included).  Any out pointer may be NULL.
 * TKN_ERR_INVALID for a NULL report or an index out of range. */
TKN_API int tkn_prune_report_message(const tkn_prune_report *report, size_t i, int32_t *action,
                                     int32_t *reason, int64_t *tokens);
/* Original indices of the messages kept (KEPT or CUT) or removed (DROPPED or
 * SUMMARISED), ascending; the array lives as long as the report.
 * TKN_ERR_INVALID for a NULL argument. */
TKN_API int tkn_prune_report_kept(const tkn_prune_report *report, const size_t **indices,
                                  size_t *n);
/* TKN_ERR_INVALID for a NULL argument. */
TKN_API int tkn_prune_report_dropped(const tkn_prune_report *report, const size_t **indices,
                                     size_t *n);
/* The summary: TKN_PRUNE_SUMMARY_*, its tokens (overhead included, 0 if none)
 * and its index in the pruned conversation.  Any out pointer may be NULL.
 * TKN_ERR_INVALID for a NULL report. */
TKN_API int tkn_prune_report_summary(const tkn_prune_report *report, int32_t *status,
                                     int64_t *tokens, size_t *index);
/* MASK, CLEAR, POLICY and degraded runs: the number of messages whose content
 * was cleared (TKN_PRUNE_CLEARED) and the tokens that went (before minus after
 * of those messages, 0 otherwise).  Any out pointer may be NULL.
 * TKN_ERR_INVALID for a NULL report. */
TKN_API int tkn_prune_report_cleared(const tkn_prune_report *report, size_t *messages,
                                     int64_t *tokens);

/* What the policy decided. */
#define TKN_PRUNE_DECISION_NONE 0     /* not POLICY mode (nor degraded), or nothing to clear */
#define TKN_PRUNE_DECISION_KEEP 1     /* clearing would cost more than it saves: appended only */
#define TKN_PRUNE_DECISION_CLEAR 2    /* the expected saving exceeds the cost: cleared */
#define TKN_PRUNE_DECISION_BUDGET 3   /* cleared old results to meet max_tokens */
#define TKN_PRUNE_DECISION_DEGRADED 4 /* met max_tokens only by clearing recent results or
                                         dropping messages (or could not: see the note);
                                         TRIM, SCORE, SUMMARISE: the run degraded */
/* POLICY (or a degraded run): the decision, the expected saving over the coming calls and the
 * cost of clearing now (the broken prefix written again), in picodollars,
 * of the clear it made, or else of clearing every old result.  Any out pointer may be NULL.
 * TKN_ERR_INVALID for a NULL report. */
TKN_API int tkn_prune_report_decision(const tkn_prune_report *report, int32_t *decision,
                                      int64_t *saving, int64_t *cost);
/* One line on anything noteworthy (why a summary fell back, what a degraded
 * run did; "" if nothing). */
TKN_API const char *tkn_prune_report_note(const tkn_prune_report *report);

#ifdef __cplusplus
}
#endif

#endif /* TOKENOMY_PRUNE_H */
