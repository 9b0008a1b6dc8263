/* The store interface: the empty table, checking a host's table, and ids
 * unique across a fleet without asking the operating system for entropy
 * (the library opens no files): a per-process instance hashed from the
 * clocks, the process id and addresses, and a counter. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "store_internal.h"

TKI_DEFINE_INIT(tkn_store_init, tkn_store, store, TKN_STORE_VERSION,
                TKN_STORE_INIT)

int tki_store_check(const tkn_store *st, const char *need, const char *what,
                    char err[TKI_ERRLEN]) {
  if (!st) return tki_err(err, TKN_ERR_INVALID, "%s: store is NULL", what);
  if (st->version != TKN_STORE_VERSION)
    return tki_err(err, TKN_ERR_VERSION, "%s: store version %u is not %u", what, st->version,
                   TKN_STORE_VERSION);
  for (const char *p = need; *p; p++) {
    const char *name = NULL;
    switch (*p) {
    case 'r': name = st->reserve ? NULL : "reserve"; break;
    case 'c': name = st->commit ? NULL : "commit"; break;
    case 'l': name = st->release ? NULL : "release"; break;
    case 'u': name = st->usage ? NULL : "usage"; break;
    case 'g': name = st->get ? NULL : "get"; break;
    case 's': name = st->set ? NULL : "set"; break;
    case 'a': name = st->add ? NULL : "add"; break;
    case 'd': name = st->read ? NULL : "read"; break;
    default: break;
    }
    if (name) return tki_err(err, TKN_ERR_INVALID, "%s: the store has no %s callback", what, name);
  }
  return TKN_OK;
}

int tki_store_retryable(int status) {
  return status == TKN_ERR_UNAVAILABLE || status == TKN_ERR_AUTH || status == TKN_ERR_STATE ||
         status == TKN_ERR_NOMEM;
}

static uint64_t g_instance;
static atomic_uint_fast64_t g_seq;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static pid_t g_pid;

static void make_instance(void) {
  struct timespec rt, mono;
  clock_gettime(CLOCK_REALTIME, &rt);
  clock_gettime(CLOCK_MONOTONIC, &mono);
  int local = 0;
  struct {
    int64_t a, b, c, d;
    int64_t pid;
    uintptr_t stack, heap;
  } seed = {(int64_t)rt.tv_sec, (int64_t)rt.tv_nsec, (int64_t)mono.tv_sec, (int64_t)mono.tv_nsec,
            (int64_t)getpid(), (uintptr_t)&local, (uintptr_t)&g_seq};
  g_instance = tki_hash64(&seed, sizeof seed, 0x73746f7265696473ULL); /* "storeids" */
  g_pid = getpid();
}

void tki_store_id(char id[TKN_STORE_ID_MAX + 1]) {
  pthread_once(&g_once, make_instance);
  uint64_t inst = g_instance;
  /* a forked child shares the parent's instance: mix in its own pid */
  pid_t pid = getpid();
  if (pid != g_pid) inst = tki_hash64(&pid, sizeof pid, inst);
  uint64_t n = atomic_fetch_add(&g_seq, 1);
  snprintf(id, TKN_STORE_ID_MAX + 1, "%016llx%016llx", (unsigned long long)inst,
           (unsigned long long)n);
}
