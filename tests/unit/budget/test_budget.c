/* Budgets: hard / soft / per-turn / output limits in tokens and money,
 * reserve -> commit / release, status, limit callbacks, parent chains,
 * periods under a host clock, and concurrent reservations. */
#include <pthread.h>
#include <stdatomic.h>

#include "test_util.h"

static tkn_budget *make(int64_t hard_tokens, int64_t soft_tokens, tkn_budget *parent) {
  tkn_budget_options o = TKN_BUDGET_OPTIONS_INIT;
  o.hard_tokens = hard_tokens;
  o.soft_tokens = soft_tokens;
  tkn_budget *b = NULL;
  assert_int_equal(tkn_budget_new(&b, &o, parent), TKN_OK);
  return b;
}

static tkn_budget_amount amount(int64_t in, int64_t out, int64_t money) {
  tkn_budget_amount a = TKN_BUDGET_AMOUNT_INIT;
  a.input_tokens = in;
  a.output_tokens = out;
  a.money = money;
  return a;
}

static tkn_budget_state status(tkn_budget *b) {
  tkn_budget_state s = TKN_BUDGET_STATE_INIT;
  assert_int_equal(tkn_budget_status(b, &s), TKN_OK);
  return s;
}

/* ---- options ---- */

static void new_rejects_bad_options_with_a_clear_error(void **state) {
  (void)state;
  char err[256];
  tkn_budget *b = (tkn_budget *)0x1;
  tkn_budget_options o = TKN_BUDGET_OPTIONS_INIT;
  o.hard_tokens = -5;
  assert_int_equal(tt_keep_err(tkn_budget_new(&b, &o, NULL), err, sizeof err), TKN_ERR_INVALID);
  assert_null(b);
  assert_non_null(strstr(err, "hard_tokens is negative"));

  tkn_budget_options_init(&o, TKN_BUDGET_OPTIONS_VERSION);
  o.hard_money = 10;
  o.soft_money = 20;
  assert_int_equal(tt_keep_err(tkn_budget_new(&b, &o, NULL), err, sizeof err), TKN_ERR_INVALID);
  assert_non_null(strstr(err, "soft_money 20 is above hard_money 10"));

  tkn_budget_options_init(&o, TKN_BUDGET_OPTIONS_VERSION);
  o.period = TKN_BUDGET_PERIOD_ROLLING;
  o.period_seconds = 100;
  o.slice_seconds = 30;
  assert_int_equal(tt_keep_err(tkn_budget_new(&b, &o, NULL), err, sizeof err), TKN_ERR_INVALID);
  assert_non_null(strstr(err, "does not divide"));

  o.slice_seconds = 0;
  assert_int_equal(tt_keep_err(tkn_budget_new(&b, &o, NULL), err, sizeof err), TKN_ERR_INVALID);

  o.period_seconds = 100000;
  o.slice_seconds = 1;
  assert_int_equal(tt_keep_err(tkn_budget_new(&b, &o, NULL), err, sizeof err), TKN_ERR_LIMIT);

  tkn_budget_options_init(&o, TKN_BUDGET_OPTIONS_VERSION);
  o.period = 7;
  assert_int_equal(tt_keep_err(tkn_budget_new(&b, &o, NULL), err, sizeof err), TKN_ERR_INVALID);
  assert_non_null(strstr(err, "unknown budget period 7"));

  tkn_budget_options_init(&o, TKN_BUDGET_OPTIONS_VERSION);
  o.period = TKN_BUDGET_PERIOD_DAY;
  o.utc_offset_seconds = 86400;
  assert_int_equal(tt_keep_err(tkn_budget_new(&b, &o, NULL), err, sizeof err), TKN_ERR_INVALID);

  tkn_budget_options_init(&o, TKN_BUDGET_OPTIONS_VERSION);
  o.version = 42;
  assert_int_equal(tt_keep_err(tkn_budget_new(&b, &o, NULL), err, sizeof err), TKN_ERR_VERSION);
  assert_int_equal(tt_keep_err(tkn_budget_new(&b, NULL, NULL), err, sizeof err), TKN_ERR_INVALID);
  assert_int_equal(tkn_budget_new(NULL, &o, NULL), TKN_ERR_INVALID);
}

/* ---- reserve / commit / release ---- */

static void reserve_within_hard_limit_is_granted(void **state) {
  (void)state;
  tkn_budget *b = make(1000, TKN_BUDGET_UNLIMITED, NULL);
  tkn_budget_amount a = amount(600, 400, 0);
  tkn_budget_reservation *r = NULL;
  assert_int_equal(tkn_budget_reserve(b, &a, &r), TKN_OK);
  assert_non_null(r);
  tkn_budget_state s = status(b);
  assert_int_equal(s.tokens_reserved, 1000);
  assert_int_equal(s.tokens_committed, 0);
  assert_int_equal(s.tokens_remaining, 0);
  tkn_budget_release(r);
  tkn_budget_free(b);
}

static void reserve_past_hard_limit_is_refused_and_changes_nothing(void **state) {
  (void)state;
  tkn_budget *b = make(1000, TKN_BUDGET_UNLIMITED, NULL);
  tkn_budget_amount a = amount(500, 200, 0);
  tkn_budget_reservation *r1 = NULL, *r2 = (tkn_budget_reservation *)0x1;
  assert_int_equal(tkn_budget_reserve(b, &a, &r1), TKN_OK);
  assert_int_equal(tkn_budget_reserve(b, &a, &r2), TKN_ERR_BUDGET);
  assert_null(r2);
  assert_non_null(strstr(tkn_error_last()->message, "hard token limit 1000"));
  assert_non_null(strstr(tkn_error_last()->message, "300 left"));
  tkn_budget_state s = status(b);
  assert_int_equal(s.tokens_reserved, 700);
  assert_int_equal(s.tokens_remaining, 300);
  tkn_budget_release(r1);
  tkn_budget_free(b);
}

static void commit_records_actual_use_and_ends_the_reservation(void **state) {
  (void)state;
  tkn_budget *b = make(1000, TKN_BUDGET_UNLIMITED, NULL);
  tkn_budget_amount est = amount(300, 500, 40), used = amount(300, 120, 15);
  tkn_budget_reservation *r = NULL;
  assert_int_equal(tkn_budget_reserve(b, &est, &r), TKN_OK);
  assert_int_equal(tkn_budget_commit(r, &used), TKN_OK);
  tkn_budget_state s = status(b);
  assert_int_equal(s.tokens_committed, 420);
  assert_int_equal(s.tokens_reserved, 0);
  assert_int_equal(s.tokens_remaining, 580);
  assert_int_equal(s.money_committed, 15);
  assert_int_equal(s.money_reserved, 0);
  tkn_budget_free(b);
}

static void commit_may_exceed_the_reservation_and_status_shows_it(void **state) {
  (void)state;
  tkn_budget *b = make(1000, 800, NULL);
  tkn_budget_amount est = amount(100, 100, 0), used = amount(100, 1100, 0);
  tkn_budget_reservation *r = NULL;
  assert_int_equal(tkn_budget_reserve(b, &est, &r), TKN_OK);
  assert_int_equal(tkn_budget_commit(r, &used), TKN_OK);
  tkn_budget_state s = status(b);
  assert_int_equal(s.tokens_committed, 1200);
  assert_int_equal(s.level, TKN_BUDGET_HARD);
  assert_int_equal(s.tokens_remaining, 0);
  tkn_budget_amount one = amount(1, 0, 0);
  assert_int_equal(tkn_budget_reserve(b, &one, &r), TKN_ERR_BUDGET);
  tkn_budget_free(b);
}

static void release_returns_the_reserved_amount(void **state) {
  (void)state;
  tkn_budget *b = make(100, TKN_BUDGET_UNLIMITED, NULL);
  tkn_budget_amount a = amount(60, 40, 0);
  tkn_budget_reservation *r = NULL;
  assert_int_equal(tkn_budget_reserve(b, &a, &r), TKN_OK);
  tkn_budget_release(r);
  tkn_budget_state s = status(b);
  assert_int_equal(s.tokens_reserved, 0);
  assert_int_equal(s.tokens_remaining, 100);
  assert_int_equal(tkn_budget_reserve(b, &a, &r), TKN_OK);
  tkn_budget_release(r);
  tkn_budget_release(NULL);
  tkn_budget_free(b);
}

static void bad_commit_keeps_the_reservation_open(void **state) {
  (void)state;
  tkn_budget *b = make(100, TKN_BUDGET_UNLIMITED, NULL);
  tkn_budget_amount a = amount(10, 10, 0), bad = amount(-1, 0, 0);
  tkn_budget_reservation *r = NULL;
  assert_int_equal(tkn_budget_reserve(b, &a, &r), TKN_OK);
  assert_int_equal(tkn_budget_commit(r, &bad), TKN_ERR_INVALID);
  assert_non_null(strstr(tkn_error_last()->message, "negative amount"));
  tkn_budget_state s = status(b);
  assert_int_equal(s.tokens_reserved, 20);
  assert_int_equal(s.tokens_committed, 0);
  tkn_budget_amount ok = amount(5, 5, 0);
  assert_int_equal(tkn_budget_commit(r, &ok), TKN_OK);
  assert_int_equal(status(b).tokens_committed, 10);
  assert_int_equal(tkn_budget_commit(NULL, &ok), TKN_ERR_INVALID);
  tkn_budget_free(b);
}

static void charge_commits_at_once_within_the_hard_limit(void **state) {
  (void)state;
  tkn_budget *b = make(100, TKN_BUDGET_UNLIMITED, NULL);
  tkn_budget_amount a = amount(30, 30, 7);
  assert_int_equal(tkn_budget_charge(b, &a), TKN_OK);
  assert_int_equal(tkn_budget_charge(b, &a), TKN_ERR_BUDGET);
  tkn_budget_state s = status(b);
  assert_int_equal(s.tokens_committed, 60);
  assert_int_equal(s.tokens_reserved, 0);
  assert_int_equal(s.money_committed, 7);
  tkn_budget_free(b);
}

static void negative_amounts_fail_and_change_nothing(void **state) {
  (void)state;
  tkn_budget *b = make(100, TKN_BUDGET_UNLIMITED, NULL);
  tkn_budget_amount a = amount(10, -3, 0);
  tkn_budget_reservation *r = NULL;
  assert_int_equal(tkn_budget_reserve(b, &a, &r), TKN_ERR_INVALID);
  assert_non_null(strstr(tkn_error_last()->message, "output_tokens -3"));
  a = amount(0, 0, -1);
  assert_int_equal(tkn_budget_charge(b, &a), TKN_ERR_INVALID);
  tkn_budget_state s = status(b);
  assert_int_equal(s.tokens_committed + s.tokens_reserved + s.money_committed, 0);
  a = amount(1, 1, 1);
  a.version = 9;
  assert_int_equal(tkn_budget_reserve(b, &a, &r), TKN_ERR_VERSION);
  assert_int_equal(tkn_budget_reserve(b, NULL, &r), TKN_ERR_INVALID);
  assert_int_equal(tkn_budget_reserve(b, &a, NULL), TKN_ERR_INVALID);
  assert_int_equal(tkn_budget_reserve(NULL, &a, &r), TKN_ERR_INVALID);
  assert_int_equal(tkn_budget_charge(NULL, &a), TKN_ERR_INVALID);
  tkn_budget_free(b);
}

static void money_overflow_is_reported_and_changes_nothing(void **state) {
  (void)state;
  tkn_budget *b = make(TKN_BUDGET_UNLIMITED, TKN_BUDGET_UNLIMITED, NULL);
  tkn_budget_amount big = amount(0, 0, INT64_MAX - 5);
  assert_int_equal(tkn_budget_charge(b, &big), TKN_OK);
  tkn_budget_amount more = amount(0, 0, 10);
  assert_int_equal(tkn_budget_charge(b, &more), TKN_ERR_OVERFLOW);
  assert_non_null(strstr(tkn_error_last()->message, "overflows"));
  assert_true(status(b).money_committed == INT64_MAX - 5);
  tkn_budget_amount tok = amount(INT64_MAX, 1, 0);
  assert_int_equal(tkn_budget_charge(b, &tok), TKN_ERR_OVERFLOW);
  /* a commit that would overflow keeps the reservation open */
  tkn_budget_reservation *r = NULL;
  tkn_budget_amount small = amount(0, 0, 1);
  assert_int_equal(tkn_budget_reserve(b, &small, &r), TKN_OK);
  assert_int_equal(tkn_budget_commit(r, &more), TKN_ERR_OVERFLOW);
  assert_true(status(b).money_committed == INT64_MAX - 5);
  assert_int_equal(status(b).money_reserved, 1);
  tkn_budget_release(r);
  tkn_budget_free(b);
}

/* ---- per-turn and output limits ---- */

static void per_turn_and_output_limits_refuse_one_large_call(void **state) {
  (void)state;
  tkn_budget_options o = TKN_BUDGET_OPTIONS_INIT;
  o.turn_tokens = 1000;
  o.output_tokens = 300;
  o.turn_money = 50;
  tkn_budget *b = NULL;
  assert_int_equal(tkn_budget_new(&b, &o, NULL), TKN_OK);
  tkn_budget_reservation *r = NULL;
  tkn_budget_amount a = amount(800, 301, 0);
  assert_int_equal(tkn_budget_reserve(b, &a, &r), TKN_ERR_BUDGET);
  assert_non_null(strstr(tkn_error_last()->message, "output limit 300"));
  a = amount(800, 250, 0);
  assert_int_equal(tkn_budget_reserve(b, &a, &r), TKN_ERR_BUDGET);
  assert_non_null(strstr(tkn_error_last()->message, "per-turn limit 1000"));
  a = amount(10, 10, 51);
  assert_int_equal(tkn_budget_charge(b, &a), TKN_ERR_BUDGET);
  a = amount(700, 300, 50);
  assert_int_equal(tkn_budget_reserve(b, &a, &r), TKN_OK);
  assert_int_equal(status(b).tokens_reserved, 1000);
  tkn_budget_release(r);
  tkn_budget_free(b);
}

/* ---- status and callbacks ---- */

static void status_goes_ok_soft_hard_with_remaining(void **state) {
  (void)state;
  tkn_budget *b = make(100, 70, NULL);
  tkn_budget_state s = status(b);
  assert_int_equal(s.level, TKN_BUDGET_OK);
  assert_int_equal(s.tokens_remaining, 100);
  assert_true(s.money_remaining == TKN_BUDGET_UNLIMITED);
  tkn_budget_amount a = amount(70, 0, 0);
  assert_int_equal(tkn_budget_charge(b, &a), TKN_OK);
  s = status(b);
  assert_int_equal(s.level, TKN_BUDGET_SOFT);
  assert_int_equal(s.tokens_remaining, 30);
  a = amount(30, 0, 0);
  assert_int_equal(tkn_budget_charge(b, &a), TKN_OK);
  s = status(b);
  assert_int_equal(s.level, TKN_BUDGET_HARD);
  assert_int_equal(s.tokens_remaining, 0);
  s.version = 3;
  assert_int_equal(tkn_budget_status(b, &s), TKN_ERR_VERSION);
  assert_int_equal(tkn_budget_status(b, NULL), TKN_ERR_INVALID);
  assert_int_equal(tkn_budget_status(NULL, &s), TKN_ERR_INVALID);
  tkn_budget_free(b);
}

typedef struct crossing {
  tkn_budget *budget;
  int32_t level, dimension;
} crossing;

typedef struct crossings {
  pthread_mutex_t mu;
  int n;
  crossing c[16];
} crossings;

static void on_limit(tkn_budget *b, int32_t level, int32_t dimension, void *user) {
  crossings *x = user;
  pthread_mutex_lock(&x->mu);
  if (x->n < 16) x->c[x->n] = (crossing){b, level, dimension};
  x->n++;
  pthread_mutex_unlock(&x->mu);
}

static void limit_callback_fires_once_when_each_limit_is_first_crossed(void **state) {
  (void)state;
  crossings x = {PTHREAD_MUTEX_INITIALIZER, 0, {{0}}};
  tkn_budget_options o = TKN_BUDGET_OPTIONS_INIT;
  o.hard_tokens = 100;
  o.soft_tokens = 50;
  o.hard_money = 1000;
  o.soft_money = 500;
  o.on_limit = on_limit;
  o.on_limit_user = &x;
  tkn_budget *b = NULL;
  assert_int_equal(tkn_budget_new(&b, &o, NULL), TKN_OK);
  tkn_budget_amount a = amount(40, 0, 100);
  assert_int_equal(tkn_budget_charge(b, &a), TKN_OK);
  assert_int_equal(x.n, 0);
  a = amount(20, 0, 0);
  assert_int_equal(tkn_budget_charge(b, &a), TKN_OK); /* 60 >= soft 50 */
  assert_int_equal(x.n, 1);
  assert_ptr_equal(x.c[0].budget, b);
  assert_int_equal(x.c[0].level, TKN_BUDGET_SOFT);
  assert_int_equal(x.c[0].dimension, TKN_BUDGET_TOKENS);
  assert_int_equal(tkn_budget_charge(b, &a), TKN_OK); /* 80: soft again, no new call */
  assert_int_equal(x.n, 1);
  a = amount(20, 0, 900); /* tokens 100 = hard; money 1000 = soft and hard */
  assert_int_equal(tkn_budget_charge(b, &a), TKN_OK);
  assert_int_equal(x.n, 4);
  assert_int_equal(x.c[1].level, TKN_BUDGET_HARD);
  assert_int_equal(x.c[1].dimension, TKN_BUDGET_TOKENS);
  assert_int_equal(x.c[2].level, TKN_BUDGET_SOFT);
  assert_int_equal(x.c[2].dimension, TKN_BUDGET_MONEY);
  assert_int_equal(x.c[3].level, TKN_BUDGET_HARD);
  assert_int_equal(x.c[3].dimension, TKN_BUDGET_MONEY);
  tkn_budget_free(b);
}

/* ---- parent chains ---- */

static void a_charge_counts_against_every_ancestor(void **state) {
  (void)state;
  tkn_budget *tenant = make(1000, TKN_BUDGET_UNLIMITED, NULL);
  tkn_budget *flow = make(500, TKN_BUDGET_UNLIMITED, tenant);
  tkn_budget *step = make(TKN_BUDGET_UNLIMITED, TKN_BUDGET_UNLIMITED, flow);
  tkn_budget_amount a = amount(100, 50, 3);
  assert_int_equal(tkn_budget_charge(step, &a), TKN_OK);
  assert_int_equal(status(step).tokens_committed, 150);
  assert_int_equal(status(flow).tokens_committed, 150);
  assert_int_equal(status(tenant).tokens_committed, 150);
  assert_int_equal(status(tenant).money_committed, 3);
  /* the smallest remaining along the chain */
  assert_int_equal(status(step).tokens_remaining, 350);
  tkn_budget_free(step);
  tkn_budget_free(flow);
  tkn_budget_free(tenant);
}

static void a_refusing_ancestor_rolls_back_the_whole_chain(void **state) {
  (void)state;
  tkn_budget *tenant = make(100, TKN_BUDGET_UNLIMITED, NULL);
  tkn_budget *flow = make(1000, TKN_BUDGET_UNLIMITED, tenant);
  tkn_budget *other = make(1000, TKN_BUDGET_UNLIMITED, tenant);
  tkn_budget_amount a = amount(80, 0, 0);
  assert_int_equal(tkn_budget_charge(other, &a), TKN_OK);
  tkn_budget_reservation *r = NULL;
  a = amount(30, 0, 0);
  assert_int_equal(tkn_budget_reserve(flow, &a, &r), TKN_ERR_BUDGET);
  assert_non_null(strstr(tkn_error_last()->message, "its parent"));
  tkn_budget_state s = status(flow);
  assert_int_equal(s.tokens_reserved, 0);
  assert_int_equal(s.tokens_committed, 0);
  assert_int_equal(s.tokens_remaining, 20);
  assert_int_equal(status(tenant).tokens_reserved, 0);
  tkn_budget_free(flow);
  tkn_budget_free(other);
  tkn_budget_free(tenant);
}

static void status_is_the_worst_along_the_chain(void **state) {
  (void)state;
  tkn_budget *tenant = make(1000, 100, NULL);
  tkn_budget *a = make(10000, TKN_BUDGET_UNLIMITED, tenant);
  tkn_budget *b = make(10000, TKN_BUDGET_UNLIMITED, tenant);
  tkn_budget_amount x = amount(150, 0, 0);
  assert_int_equal(tkn_budget_charge(a, &x), TKN_OK);
  /* b spent nothing, but its tenant is past its soft limit */
  assert_int_equal(status(b).level, TKN_BUDGET_SOFT);
  assert_int_equal(status(b).tokens_committed, 0);
  x = amount(850, 0, 0);
  assert_int_equal(tkn_budget_charge(a, &x), TKN_OK);
  assert_int_equal(status(b).level, TKN_BUDGET_HARD);
  assert_int_equal(status(b).tokens_remaining, 0);
  tkn_budget_free(a);
  tkn_budget_free(b);
  tkn_budget_free(tenant);
}

static void a_parent_cycle_is_refused(void **state) {
  (void)state;
  tkn_budget *root = make(1000, TKN_BUDGET_UNLIMITED, NULL);
  tkn_budget *mid = make(1000, TKN_BUDGET_UNLIMITED, root);
  tkn_budget *leaf = make(1000, TKN_BUDGET_UNLIMITED, mid);
  assert_int_equal(tkn_budget_set_parent(root, leaf), TKN_ERR_INVALID);
  assert_non_null(strstr(tkn_error_last()->message, "cycle"));
  assert_int_equal(tkn_budget_set_parent(mid, mid), TKN_ERR_INVALID);
  /* nothing changed: a charge on leaf still reaches root, root has no parent */
  tkn_budget_amount a = amount(10, 0, 0);
  assert_int_equal(tkn_budget_charge(leaf, &a), TKN_OK);
  assert_int_equal(status(root).tokens_committed, 10);
  assert_int_equal(tkn_budget_charge(root, &a), TKN_OK);
  assert_int_equal(status(leaf).tokens_remaining, 980);
  assert_int_equal(tkn_budget_set_parent(NULL, root), TKN_ERR_INVALID);
  tkn_budget_free(leaf);
  tkn_budget_free(mid);
  tkn_budget_free(root);
}

static void set_parent_moves_future_charges(void **state) {
  (void)state;
  tkn_budget *p1 = make(1000, TKN_BUDGET_UNLIMITED, NULL);
  tkn_budget *p2 = make(1000, TKN_BUDGET_UNLIMITED, NULL);
  tkn_budget *c = make(1000, TKN_BUDGET_UNLIMITED, p1);
  tkn_budget_amount a = amount(10, 0, 0);
  assert_int_equal(tkn_budget_charge(c, &a), TKN_OK);
  assert_int_equal(tkn_budget_set_parent(c, p2), TKN_OK);
  assert_int_equal(tkn_budget_charge(c, &a), TKN_OK);
  assert_int_equal(status(p1).tokens_committed, 10);
  assert_int_equal(status(p2).tokens_committed, 10);
  assert_int_equal(tkn_budget_set_parent(c, NULL), TKN_OK);
  assert_int_equal(tkn_budget_charge(c, &a), TKN_OK);
  assert_int_equal(status(p2).tokens_committed, 10);
  assert_int_equal(status(c).tokens_committed, 30);
  tkn_budget_free(c);
  tkn_budget_free(p1);
  tkn_budget_free(p2);
}

static void chains_deeper_than_the_limit_are_refused(void **state) {
  (void)state;
  tkn_budget *b[TKN_BUDGET_MAX_DEPTH];
  b[0] = make(1000, TKN_BUDGET_UNLIMITED, NULL);
  for (int i = 1; i < TKN_BUDGET_MAX_DEPTH; i++) b[i] = make(1000, TKN_BUDGET_UNLIMITED, b[i - 1]);
  tkn_budget_options o = TKN_BUDGET_OPTIONS_INIT;
  tkn_budget *extra = NULL;
  char err[256];
  assert_int_equal(tt_keep_err(tkn_budget_new(&extra, &o, b[TKN_BUDGET_MAX_DEPTH - 1]), err, sizeof err),
                   TKN_ERR_LIMIT);
  assert_non_null(strstr(err, "deep"));
  tkn_budget *lone = make(1000, TKN_BUDGET_UNLIMITED, NULL);
  assert_int_equal(tkn_budget_set_parent(lone, b[TKN_BUDGET_MAX_DEPTH - 1]), TKN_ERR_LIMIT);
  tkn_budget_amount a = amount(1, 0, 0);
  assert_int_equal(tkn_budget_charge(b[TKN_BUDGET_MAX_DEPTH - 1], &a), TKN_OK);
  assert_int_equal(status(b[0]).tokens_committed, 1);
  tkn_budget_free(lone);
  for (int i = TKN_BUDGET_MAX_DEPTH - 1; i >= 0; i--) tkn_budget_free(b[i]);
}

static void budgets_live_while_children_and_reservations_refer_to_them(void **state) {
  (void)state;
  tt_alloc_install(0);
  tkn_budget *parent = make(100, TKN_BUDGET_UNLIMITED, NULL);
  tkn_budget *child = make(100, TKN_BUDGET_UNLIMITED, parent);
  tkn_budget_amount a = amount(10, 0, 0);
  tkn_budget_reservation *r = NULL;
  assert_int_equal(tkn_budget_reserve(child, &a, &r), TKN_OK);
  tkn_budget_free(parent); /* the child still refers to it */
  tkn_budget_free(child);  /* the reservation still refers to both */
  assert_true(tt_alloc.live > 0);
  assert_int_equal(tkn_budget_commit(r, &a), TKN_OK);
  assert_int_equal(tt_alloc.live, 0);
  tkn_budget_free(NULL);
  tt_alloc_restore();
}

/* ---- periods ---- */

static void rolling_period_forgets_commits_after_the_window(void **state) {
  (void)state;
  tt_clock clk = {1000000};
  crossings x = {PTHREAD_MUTEX_INITIALIZER, 0, {{0}}};
  tkn_budget_options o = TKN_BUDGET_OPTIONS_INIT;
  o.period = TKN_BUDGET_PERIOD_ROLLING;
  o.period_seconds = 3600;
  o.slice_seconds = 60;
  o.hard_tokens = 100;
  o.clock = tt_clock_read;
  o.clock_user = &clk;
  o.on_limit = on_limit;
  o.on_limit_user = &x;
  tkn_budget *b = NULL;
  assert_int_equal(tkn_budget_new(&b, &o, NULL), TKN_OK);
  tkn_budget_amount a = amount(60, 0, 0);
  assert_int_equal(tkn_budget_charge(b, &a), TKN_OK);
  clk.now += 1800;
  a = amount(40, 0, 0);
  assert_int_equal(tkn_budget_charge(b, &a), TKN_OK);
  assert_int_equal(x.n, 1); /* hard reached */
  assert_int_equal(tkn_budget_charge(b, &a), TKN_ERR_BUDGET);
  clk.now += 1800; /* the first charge leaves the window */
  tkn_budget_state s = status(b);
  assert_int_equal(s.tokens_committed, 40);
  assert_int_equal(s.level, TKN_BUDGET_OK);
  assert_int_equal(tkn_budget_charge(b, &a), TKN_OK);
  a = amount(20, 0, 0);
  assert_int_equal(tkn_budget_charge(b, &a), TKN_OK);
  assert_int_equal(x.n, 2); /* re-armed after expiry, reached again */
  clk.now += 7200; /* everything expires */
  assert_int_equal(status(b).tokens_committed, 0);
  tkn_budget_free(b);
}

static void calendar_day_resets_at_local_midnight(void **state) {
  (void)state;
  /* 2026-01-01T22:30:00Z; local time UTC+2 is already 00:30 on Jan 2 */
  tt_clock clk = {1767306600};
  tkn_budget_options o = TKN_BUDGET_OPTIONS_INIT;
  o.period = TKN_BUDGET_PERIOD_DAY;
  o.utc_offset_seconds = 2 * 3600;
  o.hard_money = 500;
  o.clock = tt_clock_read;
  o.clock_user = &clk;
  tkn_budget *b = NULL;
  assert_int_equal(tkn_budget_new(&b, &o, NULL), TKN_OK);
  tkn_budget_amount a = amount(0, 0, 500);
  assert_int_equal(tkn_budget_charge(b, &a), TKN_OK);
  clk.now += 23 * 3600; /* 23:30 local, same day */
  a = amount(0, 0, 1);
  assert_int_equal(tkn_budget_charge(b, &a), TKN_ERR_BUDGET);
  clk.now += 1800; /* local midnight */
  assert_int_equal(tkn_budget_charge(b, &a), TKN_OK);
  assert_int_equal(status(b).money_committed, 1);
  clk.now -= 7200; /* a clock going backwards stands still */
  assert_int_equal(status(b).money_committed, 1);
  tkn_budget_free(b);
}

static void reservations_survive_a_period_change(void **state) {
  (void)state;
  tt_clock clk = {0};
  tkn_budget_options o = TKN_BUDGET_OPTIONS_INIT;
  o.period = TKN_BUDGET_PERIOD_DAY;
  o.hard_tokens = 100;
  o.clock = tt_clock_read;
  o.clock_user = &clk;
  tkn_budget *b = NULL;
  assert_int_equal(tkn_budget_new(&b, &o, NULL), TKN_OK);
  tkn_budget_amount a = amount(70, 0, 0);
  tkn_budget_reservation *r = NULL;
  assert_int_equal(tkn_budget_reserve(b, &a, &r), TKN_OK);
  clk.now += 86400;
  tkn_budget_state s = status(b);
  assert_int_equal(s.tokens_reserved, 70);
  assert_int_equal(s.tokens_remaining, 30);
  assert_int_equal(tkn_budget_commit(r, &a), TKN_OK);
  assert_int_equal(status(b).tokens_committed, 70);
  tkn_budget_free(b);
}

/* ---- concurrency ---- */

#define NTHREADS 8

typedef struct race {
  tkn_budget *budget;
  int64_t each;
  long granted;
  tkn_budget_reservation *held[4096];
} race;

static void *grab_until_refused(void *arg) {
  race *r = arg;
  tkn_budget_amount a = amount(r->each, 0, 0);
  for (;;) {
    tkn_budget_reservation *res = NULL;
    int rc = tkn_budget_reserve(r->budget, &a, &res);
    if (rc != TKN_OK) break;
    if (r->granted < 4096) r->held[r->granted] = res;
    r->granted++;
  }
  return NULL;
}

static void concurrent_reservations_never_exceed_the_hard_limit(void **state) {
  (void)state;
  for (int round = 0; round < 20; round++) {
    tkn_budget *b = make(10007, TKN_BUDGET_UNLIMITED, NULL);
    static race r[NTHREADS];
    pthread_t t[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
      r[i].budget = b;
      r[i].each = 7;
      r[i].granted = 0;
      assert_int_equal(pthread_create(&t[i], NULL, grab_until_refused, &r[i]), 0);
    }
    long total = 0;
    for (int i = 0; i < NTHREADS; i++) {
      pthread_join(t[i], NULL);
      total += r[i].granted;
    }
    /* exactly floor(10007 / 7) = 1429 granted: never more, and none lost */
    assert_int_equal(total, 10007 / 7);
    assert_int_equal(status(b).tokens_reserved, total * 7);
    for (int i = 0; i < NTHREADS; i++)
      for (long j = 0; j < r[i].granted; j++) tkn_budget_release(r[i].held[j]);
    assert_int_equal(status(b).tokens_reserved, 0);
    tkn_budget_free(b);
  }
}

/* The test's own shadow of committed + reserved on the root: raised after a
 * grant, lowered before a release or a smaller commit, so it never exceeds
 * the budget's true total; seeing it above the hard limit is a violation. */
static _Atomic int64_t g_shadow;

typedef struct churn {
  tkn_budget *leaf;
  int64_t hard;
  int violations;
  unsigned seed;
} churn;

static void *reserve_commit_release(void *arg) {
  churn *c = arg;
  for (int i = 0; i < 3000; i++) {
    c->seed = c->seed * 1103515245u + 12345u;
    int64_t n = 1 + (c->seed >> 16) % 50;
    tkn_budget_amount a = amount(n, n / 2, n);
    tkn_budget_reservation *res = NULL;
    if (tkn_budget_reserve(c->leaf, &a, &res) != TKN_OK) continue;
    int64_t held = n + n / 2;
    if (atomic_fetch_add(&g_shadow, held) + held > c->hard) c->violations++;
    if ((c->seed >> 8) & 1) {
      tkn_budget_amount used = amount(n / 2, 0, n / 2);
      atomic_fetch_sub(&g_shadow, held - n / 2);
      tkn_budget_commit(res, &used);
    } else {
      atomic_fetch_sub(&g_shadow, held);
      tkn_budget_release(res);
    }
  }
  return NULL;
}

static void concurrent_children_never_push_the_parent_past_its_limit(void **state) {
  (void)state;
  crossings x = {PTHREAD_MUTEX_INITIALIZER, 0, {{0}}};
  tkn_budget_options o = TKN_BUDGET_OPTIONS_INIT;
  o.hard_tokens = 20000;
  o.soft_tokens = 10000;
  o.on_limit = on_limit;
  o.on_limit_user = &x;
  tkn_budget *root = NULL;
  assert_int_equal(tkn_budget_new(&root, &o, NULL), TKN_OK);
  tkn_budget *leaf[NTHREADS];
  churn c[NTHREADS];
  atomic_store(&g_shadow, 0);
  pthread_t t[NTHREADS];
  for (int i = 0; i < NTHREADS; i++) {
    leaf[i] = make(TKN_BUDGET_UNLIMITED, TKN_BUDGET_UNLIMITED, root);
    c[i] = (churn){leaf[i], 20000, 0, (unsigned)i * 7919u + 1};
    assert_int_equal(pthread_create(&t[i], NULL, reserve_commit_release, &c[i]), 0);
  }
  int64_t sum = 0;
  for (int i = 0; i < NTHREADS; i++) {
    pthread_join(t[i], NULL);
    assert_int_equal(c[i].violations, 0);
    sum += status(leaf[i]).tokens_committed;
    assert_int_equal(status(leaf[i]).tokens_reserved, 0);
  }
  tkn_budget_state s = status(root);
  assert_int_equal(s.tokens_reserved, 0);
  assert_true(s.tokens_committed == sum);
  assert_true(s.tokens_committed <= 20000);
  /* each limit reached at most once, however many threads raced past it */
  int soft = 0, hard = 0;
  for (int i = 0; i < x.n && i < 16; i++) {
    soft += x.c[i].level == TKN_BUDGET_SOFT && x.c[i].dimension == TKN_BUDGET_TOKENS;
    hard += x.c[i].level == TKN_BUDGET_HARD && x.c[i].dimension == TKN_BUDGET_TOKENS;
  }
  assert_int_equal(soft, 1);
  assert_true(hard <= 1);
  for (int i = 0; i < NTHREADS; i++) tkn_budget_free(leaf[i]);
  tkn_budget_free(root);
}

/* ---- errors and memory ---- */

static void a_refusal_names_the_limit_in_the_last_error(void **state) {
  (void)state;
  tkn_budget *b = make(10, TKN_BUDGET_UNLIMITED, NULL);
  tkn_budget_amount a = amount(11, 0, 0);
  tkn_error_clear();
  assert_int_equal(tkn_budget_charge(b, &a), TKN_ERR_BUDGET);
  assert_int_equal(tkn_error_last()->status, TKN_ERR_BUDGET);
  assert_non_null(strstr(tkn_error_last()->message, "hard token limit 10"));
  assert_int_equal(tkn_budget_charge(NULL, &a), TKN_ERR_INVALID);
  assert_int_equal(tkn_error_last()->status, TKN_ERR_INVALID);
  tkn_budget_free(b);
}

static void out_of_memory_fails_cleanly(void **state) {
  (void)state;
  for (long n = 1;; n++) {
    tt_alloc_install(n);
    tkn_budget_options o = TKN_BUDGET_OPTIONS_INIT;
    o.period = TKN_BUDGET_PERIOD_ROLLING;
    o.hard_tokens = 100;
    tkn_budget *b = NULL;
    int rc = tkn_budget_new(&b, &o, NULL);
    tkn_budget_reservation *r = NULL;
    if (rc == TKN_OK) {
      tkn_budget_amount a = amount(5, 5, 0);
      rc = tkn_budget_reserve(b, &a, &r);
      if (rc == TKN_OK) assert_int_equal(tkn_budget_commit(r, &a), TKN_OK);
      else assert_int_equal(status(b).tokens_reserved, 0);
    }
    int failed = tt_alloc.failed;
    if (rc != TKN_OK) assert_int_equal(rc, TKN_ERR_NOMEM);
    tkn_budget_free(b);
    assert_int_equal(tt_alloc.live, 0);
    tt_alloc_restore();
    if (!failed) {
      assert_int_equal(rc, TKN_OK);
      break;
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(new_rejects_bad_options_with_a_clear_error),
      cmocka_unit_test(reserve_within_hard_limit_is_granted),
      cmocka_unit_test(reserve_past_hard_limit_is_refused_and_changes_nothing),
      cmocka_unit_test(commit_records_actual_use_and_ends_the_reservation),
      cmocka_unit_test(commit_may_exceed_the_reservation_and_status_shows_it),
      cmocka_unit_test(release_returns_the_reserved_amount),
      cmocka_unit_test(bad_commit_keeps_the_reservation_open),
      cmocka_unit_test(charge_commits_at_once_within_the_hard_limit),
      cmocka_unit_test(negative_amounts_fail_and_change_nothing),
      cmocka_unit_test(money_overflow_is_reported_and_changes_nothing),
      cmocka_unit_test(per_turn_and_output_limits_refuse_one_large_call),
      cmocka_unit_test(status_goes_ok_soft_hard_with_remaining),
      cmocka_unit_test(limit_callback_fires_once_when_each_limit_is_first_crossed),
      cmocka_unit_test(a_charge_counts_against_every_ancestor),
      cmocka_unit_test(a_refusing_ancestor_rolls_back_the_whole_chain),
      cmocka_unit_test(status_is_the_worst_along_the_chain),
      cmocka_unit_test(a_parent_cycle_is_refused),
      cmocka_unit_test(set_parent_moves_future_charges),
      cmocka_unit_test(chains_deeper_than_the_limit_are_refused),
      cmocka_unit_test(budgets_live_while_children_and_reservations_refer_to_them),
      cmocka_unit_test(rolling_period_forgets_commits_after_the_window),
      cmocka_unit_test(calendar_day_resets_at_local_midnight),
      cmocka_unit_test(reservations_survive_a_period_change),
      cmocka_unit_test(concurrent_reservations_never_exceed_the_hard_limit),
      cmocka_unit_test(concurrent_children_never_push_the_parent_past_its_limit),
      cmocka_unit_test(a_refusal_names_the_limit_in_the_last_error),
      cmocka_unit_test(out_of_memory_fails_cleanly),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
