/* tokenomy: token and money budgets.
 *
 * A tkn_budget caps what an agent may spend, in tokens and in money, with
 *  - a hard limit (a reservation that would pass it is refused),
 *  - a soft limit (passing it only changes the status, so the host economises),
 *  - a per-turn limit (the largest single call: input + output cap, and money),
 *  - an output limit (the largest output cap of one call).
 * Money is exact: int64 PICODOLLARS, the unit of every part (common.h:
 * TKN_MONEY_UNITS_PER_USD = 10^12 per USD), so the costs the meter and the
 * agent commit are in the same unit as the limits.  A $5 limit is
 * 5 * TKN_MONEY_UNITS_PER_USD, or tkn_usd_parse("5", TKN_NUL_TERMINATED, &v).
 * Sums are checked, an overflow is reported (TKN_ERR_OVERFLOW) and changes
 * nothing.
 *
 * Protocol: reserve before a call (estimated input + output cap + the money
 * they could cost), then commit what the call really used, or release the
 * reservation if the call failed.  committed + reserved never passes the hard
 * limit through a reservation, whatever the number of threads: each budget
 * keeps the sum in one atomic word updated by a compare-and-swap loop.  A
 * commit records what was spent even when it is more than was reserved (the
 * money is gone); the status then shows it.
 *
 * Hierarchy: a budget may have a parent (a workflow under a tenant's daily
 * budget).  A reservation or charge is made on the budget and every ancestor:
 * reserved on each in turn, rolled back on all of them if one refuses.  The
 * status is the worst along the chain and the remaining amount the smallest.
 * A parent cycle is refused.  Chains are at most TKN_BUDGET_MAX_DEPTH long.
 *
 * Periods: with TKN_BUDGET_PERIOD_ROLLING, committed amounts count for
 * period_seconds after their commit (tracked in slices of slice_seconds, so a
 * commit leaves the window between period - slice and period seconds after
 * it); with TKN_BUDGET_PERIOD_DAY they count until the next calendar midnight
 * (UTC + utc_offset_seconds).  Reserved amounts never expire.  Time is read
 * through the host's clock callback (seconds since the Unix epoch), so tests
 * and simulations control it; without one, the system's real-time clock.  A
 * clock going backwards is treated as standing still.
 *
 * Limit callback: called once when a soft or hard limit (tokens or money) is
 * first reached (committed + reserved >= limit), and again only after the
 * period's expiry brought the budget back under that limit.  It runs on the thread whose call crossed the limit, after
 * the change, with no lock held; it may call tkn_budget_status but should not
 * block.
 *
 * Threading: safe for concurrent use, internally synchronised.  Reserve,
 * commit, release and status on budgets without a period are lock-free; a
 * budget with a period takes a short mutex when committing and when a slice
 * boundary passes.  tkn_budget_set_parent must not race with other calls on
 * the budget or its descendants (set up the tree first, then use it).
 * A budget is reference counted: children and reservations keep it alive, so
 * tkn_budget_free may be called while they exist.
 */
#ifndef TOKENOMY_BUDGET_H
#define TOKENOMY_BUDGET_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* No limit. */
#define TKN_BUDGET_UNLIMITED INT64_MAX
/* Longest parent chain, the budget itself included. */
#define TKN_BUDGET_MAX_DEPTH 16
/* Most slices of a rolling window (period_seconds / slice_seconds). */
#define TKN_BUDGET_MAX_SLICES 4096

/* Status levels (pinned values), ordered: worse is larger. */
#define TKN_BUDGET_OK 0
#define TKN_BUDGET_SOFT 1
#define TKN_BUDGET_HARD 2

/* Dimensions named by the limit callback. */
#define TKN_BUDGET_TOKENS 0
#define TKN_BUDGET_MONEY 1

/* Periods. */
#define TKN_BUDGET_PERIOD_NONE 0    /* amounts never expire */
#define TKN_BUDGET_PERIOD_ROLLING 1 /* the last period_seconds */
#define TKN_BUDGET_PERIOD_DAY 2     /* the current calendar day */

typedef struct tkn_budget tkn_budget;
typedef struct tkn_budget_reservation tkn_budget_reservation;

#define TKN_BUDGET_OPTIONS_VERSION 1
typedef struct tkn_budget_options {
  uint32_t version;          /* TKN_BUDGET_OPTIONS_VERSION */
  int32_t period;            /* TKN_BUDGET_PERIOD_* */
  int64_t hard_tokens;       /* each limit >= 0, or TKN_BUDGET_UNLIMITED */
  int64_t soft_tokens;       /* <= hard_tokens, or UNLIMITED for none */
  int64_t turn_tokens;       /* largest input + output cap of one call */
  int64_t output_tokens;     /* largest output cap of one call */
  int64_t hard_money;        /* picodollars (10^12 per USD) */
  int64_t soft_money;        /* picodollars, <= hard_money, or UNLIMITED for none */
  int64_t turn_money;        /* picodollars: largest money estimate of one call */
  int64_t period_seconds;    /* ROLLING: window length, > 0 */
  int64_t slice_seconds;     /* ROLLING: granularity, divides period_seconds */
  int64_t utc_offset_seconds; /* DAY: local time = UTC + offset, |offset| < 86400 */
  /* Seconds since the Unix epoch; NULL: the system real-time clock. */
  int64_t (*clock)(void *user);
  void *clock_user;
  /* Limit first reached on `budget` (this one or an ancestor): level is
   * TKN_BUDGET_SOFT or _HARD, dimension TKN_BUDGET_TOKENS or _MONEY. */
  void (*on_limit)(tkn_budget *budget, int32_t level, int32_t dimension, void *user);
  void *on_limit_user;
} tkn_budget_options;
#define TKN_BUDGET_OPTIONS_INIT                                                      \
  { TKN_BUDGET_OPTIONS_VERSION, TKN_BUDGET_PERIOD_NONE, TKN_BUDGET_UNLIMITED,        \
    TKN_BUDGET_UNLIMITED, TKN_BUDGET_UNLIMITED, TKN_BUDGET_UNLIMITED,                \
    TKN_BUDGET_UNLIMITED, TKN_BUDGET_UNLIMITED, TKN_BUDGET_UNLIMITED, 86400, 900, 0, \
    NULL, NULL, NULL, NULL }
/* Fill *opts with the defaults of `version` (no limits, no period, a one-day
 * rolling window in 15-minute slices if a period is chosen).
 * TKN_ERR_INVALID for NULL, TKN_ERR_VERSION for an unknown version. */
TKN_API int tkn_budget_options_init(tkn_budget_options *opts, uint32_t version);

/* An amount: what a call may use (reserve) or did use (commit, charge).
 * Every field >= 0; tokens are input_tokens + output_tokens. */
#define TKN_BUDGET_AMOUNT_VERSION 1
typedef struct tkn_budget_amount {
  uint32_t version;      /* TKN_BUDGET_AMOUNT_VERSION */
  int64_t input_tokens;
  int64_t output_tokens; /* the output cap when reserving */
  int64_t money;         /* picodollars */
} tkn_budget_amount;
#define TKN_BUDGET_AMOUNT_INIT { TKN_BUDGET_AMOUNT_VERSION, 0, 0, 0 }

/* What a budget has and has left (see tkn_budget_status). */
#define TKN_BUDGET_STATE_VERSION 1
typedef struct tkn_budget_state {
  uint32_t version;         /* TKN_BUDGET_STATE_VERSION, set by the caller */
  int32_t level;            /* worst along the parent chain */
  int64_t tokens_committed; /* this budget, current period */
  int64_t tokens_reserved;  /* this budget, outstanding reservations */
  int64_t tokens_remaining; /* smallest hard - (committed + reserved) along the chain, >= 0;
                               TKN_BUDGET_UNLIMITED if no budget of the chain limits tokens */
  int64_t money_committed;
  int64_t money_reserved;
  int64_t money_remaining;
} tkn_budget_state;
#define TKN_BUDGET_STATE_INIT { TKN_BUDGET_STATE_VERSION, 0, 0, 0, 0, 0, 0, 0 }

/* A budget under `parent` (NULL: none).  The options are copied.
 * TKN_ERR_INVALID for a negative limit, soft above hard, a bad period setting
 * or a missing argument; TKN_ERR_LIMIT if the chain would be deeper than
 * TKN_BUDGET_MAX_DEPTH; TKN_ERR_VERSION for unknown options.  On failure *out
 * is NULL. */
TKN_API int tkn_budget_new(tkn_budget **out, const tkn_budget_options *opts,
                           tkn_budget *parent);
/* Drop the caller's reference; NULL is a no-op.  The budget lives on while
 * children or reservations refer to it. */
TKN_API void tkn_budget_free(tkn_budget *budget);

/* Attach to `parent` (NULL detaches).  TKN_ERR_INVALID if that would make a
 * cycle (the budget itself or one of its descendants), TKN_ERR_LIMIT if the
 * budget's own chain would pass TKN_BUDGET_MAX_DEPTH; nothing changes then.
 * (A descendant whose chain becomes too deep gets TKN_ERR_LIMIT when it
 * reserves.)  Amounts already committed stay where they were counted;
 * reservations end on the chain they were made on. */
TKN_API int tkn_budget_set_parent(tkn_budget *budget, tkn_budget *parent);

/* Reserve `amount` on the budget and all its ancestors.  TKN_ERR_BUDGET if a
 * hard, per-turn or output limit of any of them refuses it (the text names
 * which budget level and which limit), TKN_ERR_INVALID for a negative field,
 * TKN_ERR_OVERFLOW if a sum overflows; nothing is reserved then.  *out is the
 * reservation, to be passed to commit or release exactly once. */
TKN_API int tkn_budget_reserve(tkn_budget *budget, const tkn_budget_amount *amount,
                               tkn_budget_reservation **out);
/* Record what the call really used (it may exceed what was reserved) on
 * every budget of the reservation's chain and end the reservation.  On
 * TKN_ERR_INVALID (a negative field) or TKN_ERR_OVERFLOW nothing changes and
 * the reservation stays open (commit again or release it). */
TKN_API int tkn_budget_commit(tkn_budget_reservation *res, const tkn_budget_amount *actual);
/* End the reservation without spending; NULL is a no-op. */
TKN_API void tkn_budget_release(tkn_budget_reservation *res);
/* Reserve `amount` and commit it at once (for spending known after the
 * fact that must still respect the hard limit).  Errors as tkn_budget_reserve. */
TKN_API int tkn_budget_charge(tkn_budget *budget, const tkn_budget_amount *amount);

/* The state of the budget, its level and remaining amounts taking the whole
 * parent chain into account.  state->version must be set.
 * While other threads reserve or commit, the fields are read one by one, not
 * as one snapshot: a commit in flight moves its amount from reserved to
 * committed, so committed + reserved may briefly count it twice and even
 * exceed the hard limit.  The remaining amounts come from one running total
 * per budget, which no reservation ever takes past the limit; use them (or
 * tkn_budget_reserve's answer), not committed + reserved, to decide.
 * TKN_ERR_INVALID for NULL, TKN_ERR_VERSION for an unknown state version, TKN_ERR_LIMIT if the
 * parent chain is deeper than TKN_BUDGET_MAX_DEPTH. */
TKN_API int tkn_budget_status(tkn_budget *budget, tkn_budget_state *state);

#ifdef __cplusplus
}
#endif

#endif /* TOKENOMY_BUDGET_H */
