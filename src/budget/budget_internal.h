/* Internals of budgets, shared by budget.c (the in-process budget) and
 * budget_shared.c (a budget whose limits hold on a tkn_store). */
#ifndef TKI_BUDGET_INTERNAL_H
#define TKI_BUDGET_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "../internal.h"
#include "tokenomy/budget.h"

#define NDIM 2

typedef struct dim {
  _Atomic int64_t used;      /* committed + reserved */
  _Atomic int64_t reserved;
  _Atomic int64_t committed; /* current period */
} dim;

struct tkn_budget {
  atomic_long refs;
  tkn_budget *parent; /* changed only by set_parent, which must not race */
  tkn_budget_options o;
  int64_t hard[NDIM], soft[NDIM];
  dim d[NDIM];
  atomic_uint fired; /* bit (dimension * 2 + level - 1): callback already made */
  /* periods */
  pthread_mutex_t mu;
  _Atomic int64_t cur_slice;
  size_t nslices;
  int64_t *ring[NDIM];
  /* error text, written under errmu */
  pthread_mutex_t errmu;
  char err[TKI_ERRLEN];
  /* the store's side of a shared budget (budget_shared.c); NULL: in-process */
  struct tki_bshared *shared;
};

struct tkn_budget_reservation {
  int depth;
  tkn_budget *chain[TKN_BUDGET_MAX_DEPTH];
  int64_t amt[NDIM];
  struct tki_bshared_res *sres[TKN_BUDGET_MAX_DEPTH]; /* per shared level */
};

/* ---- shared levels (budget_shared.c) ----
 * A shared budget's d[] is a mirror of the store's values as last seen
 * (refreshed by each store call); its limits are enforced by the store.  The
 * hooks write their error text into err and return a status. */
struct tki_bshared;
struct tki_bshared_res;
int tki_bshared_reserve(tkn_budget *c, const int64_t amt[NDIM], struct tki_bshared_res **out,
                        char err[TKI_ERRLEN]);
/* On TKN_OK the reservation is ended (freed); otherwise it stays open. */
int tki_bshared_commit(tkn_budget *c, struct tki_bshared_res *r, const int64_t actual[NDIM],
                       char err[TKI_ERRLEN]);
void tki_bshared_release(tkn_budget *c, struct tki_bshared_res *r);
/* Refresh the mirror from the store. */
int tki_bshared_refresh(tkn_budget *c, char err[TKI_ERRLEN]);
void tki_bshared_free(struct tki_bshared *s);

#endif
