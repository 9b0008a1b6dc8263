/* Internals of budgets: the budget itself (budget.c) and the table a backend
 * fills in when a budget's limits hold elsewhere (src/store/budget_shared.c
 * for a tkn_store).  budget.c never names a backend: it calls the table. */
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
  /* where the limits hold when not in this process (a tkn_store, ...), and
   * that backend's state; NULL: an in-process budget */
  const struct tki_budget_backend *backend;
  void *backend_state;
};

struct tkn_budget_reservation {
  int depth;
  tkn_budget *chain[TKN_BUDGET_MAX_DEPTH];
  int64_t amt[NDIM];
  struct tki_budget_res *sres[TKN_BUDGET_MAX_DEPTH]; /* per level with a backend */
};

/* ---- backends (SQLite's VFS, libgit2's odb backends) ----
 * A budget with a backend has its limits enforced by the backend; its d[] is
 * a mirror of the backend's values as last seen (each call refreshes it), so
 * status, level and the limit callback work unchanged.  Calls write their
 * error text into err and return a status.  The backend defines struct
 * tki_budget_res, its handle of one reservation. */
struct tki_budget_res;
typedef struct tki_budget_backend {
  int (*reserve)(tkn_budget *b, const int64_t amt[NDIM], struct tki_budget_res **out,
                 char err[TKI_ERRLEN]);
  /* On TKN_OK the reservation is ended (freed); otherwise it stays open. */
  int (*commit)(tkn_budget *b, struct tki_budget_res *r, const int64_t actual[NDIM],
                char err[TKI_ERRLEN]);
  void (*release)(tkn_budget *b, struct tki_budget_res *r);
  /* Refresh the mirror from the backend. */
  int (*refresh)(tkn_budget *b, char err[TKI_ERRLEN]);
  /* Free the backend's state (the budget is being destroyed). */
  void (*free)(void *state);
} tki_budget_backend;

#endif
