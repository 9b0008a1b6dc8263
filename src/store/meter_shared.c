/* The meter on a store: each recorded call is also added to fleet-wide
 * counters (the totals and one key per dimension), each add with its own id
 * so the store counts it once even when it is sent again after a lost reply.
 * Adds the store could not take wait in a queue, in order, and are sent
 * before anything newer.  An add the store refuses outright (e.g. a counter
 * would pass int64: not an outage, it would be refused again) is dropped and
 * counted (tkn_meter_shared_dropped), never left to block the queue.  This file is a meter backend (meter_internal.h):
 * meter.c calls the table, never the store. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "../meter/meter_internal.h"
#include "store_internal.h"

#define NC 15 /* counters, in the order of put_counters */
#define MAX_QUEUED 65536
#define ID_TTL (2 * 86400)

typedef struct madd {
  struct madd *next;
  char id[TKN_STORE_ID_MAX + 1];
  int64_t v[NC];
  size_t key_len;
  char key[];
} madd;

struct tki_mshared {
  tkn_store st;
  char *prefix;
  size_t prefix_len;
  pthread_mutex_t mu; /* the queue; held while sending, so adds stay in order */
  madd *head, *tail;
  size_t queued;
  _Atomic uint64_t dropped; /* adds refused outright, or beyond MAX_QUEUED, or out of memory */
};

static void put_counters(const tki_agg *a, int64_t v[NC]) {
  const int64_t c[NC] = {(int64_t)a->calls,  (int64_t)a->successes, (int64_t)a->validated,
                         (int64_t)a->passed, (int64_t)a->unreported, a->input,
                         a->cache_read,      a->w5,                 a->w1,
                         a->output,          a->reasoning,          a->cost,
                         a->latency,         a->reported_input,     a->reported_read};
  memcpy(v, c, sizeof c);
}

static void get_counters(const int64_t v[NC], tki_agg *a) {
  memset(a, 0, sizeof *a);
  a->calls = (uint64_t)v[0];
  a->successes = (uint64_t)v[1];
  a->validated = (uint64_t)v[2];
  a->passed = (uint64_t)v[3];
  a->unreported = (uint64_t)v[4];
  a->input = v[5];
  a->cache_read = v[6];
  a->w5 = v[7];
  a->w1 = v[8];
  a->output = v[9];
  a->reasoning = v[10];
  a->cost = v[11];
  a->latency = v[12];
  a->reported_input = v[13];
  a->reported_read = v[14];
}

/* "m" len(prefix) ":" prefix ":total" or ... prefix ":" dimension ":" key:
 * the prefix's length makes the split unique (prefix "a" with key "b:c"
 * never meets prefix "a:m:model:b"). */
static int make_key(const struct tki_mshared *s, int dim, const char *key, size_t len, tki_buf *b) {
  char head[32];
  tki_buf_init(b);
  snprintf(head, sizeof head, "m%zu:", s->prefix_len);
  tki_buf_puts(b, head);
  tki_buf_append(b, s->prefix, s->prefix_len);
  if (dim == TKN_METER_TOTAL) {
    tki_buf_puts(b, ":total");
  } else {
    tki_buf_puts(b, ":");
    tki_buf_puts(b, tki_dim_names[dim]);
    tki_buf_putc(b, ':');
    if (len) tki_buf_append(b, key, len); /* none: empty, unlike a key "(none)" */
  }
  if (b->failed) {
    tki_buf_free(b);
    return tki_fail(TKN_ERR_NOMEM, "out of memory");
  }
  return TKN_OK;
}

static int send_one(struct tki_mshared *s, const madd *a) {
  int32_t dup = 0;
  char se[256] = "";
  int rc = s->st.add(s->st.user, a->key, a->key_len, a->id, NC, a->v, ID_TTL, NULL, &dup, se,
                     sizeof se);
  if (rc != TKN_OK) tki_fail(rc, "meter: store add failed (%s): %s", tkn_strerror(rc), se);
  return rc;
}

/* Send queued adds in order; stop at the first that may get through later
 * (dropping, and counting, those the store refuses outright).  Caller holds
 * mu.  TKN_OK when the queue is empty; else the status of the failure that
 * stopped it, or of the last drop. */
static int flush_locked(struct tki_mshared *s) {
  int status = TKN_OK;
  while (s->head) {
    madd *a = s->head;
    int rc = send_one(s, a);
    if (rc != TKN_OK && tki_store_retryable(rc)) return rc;
    if (rc != TKN_OK) {
      s->dropped++;
      status = tki_fail(rc, "meter: the store refused a queued add (%s), dropped: %s",
                        tkn_strerror(rc), tkn_error_last()->message);
    }
    s->head = a->next;
    if (!s->head) s->tail = NULL;
    s->queued--;
    tki_free(a);
  }
  return status;
}

static void enqueue_locked(struct tki_mshared *s, madd *a) {
  if (s->queued >= MAX_QUEUED) {
    s->dropped++;
    tki_free(a);
    return;
  }
  a->next = NULL;
  if (s->tail) s->tail->next = a;
  else s->head = a;
  s->tail = a;
  s->queued++;
}

static void shared_record(void *state, const tkn_meter_call *c, const tki_agg *one) {
  struct tki_mshared *s = state;
  const char *keys[TKN_METER__DIMENSIONS] = {c->workflow, c->model, c->task_type,
                                             c->tenant,   c->tier,  c->routing_reason};
  const size_t lens[TKN_METER__DIMENSIONS] = {c->workflow_len, c->model_len, c->task_type_len,
                                              c->tenant_len,   c->tier_len,
                                              c->routing_reason_len};
  char base[TKN_STORE_ID_MAX + 1];
  tki_store_id(base);
  int64_t v[NC];
  put_counters(one, v);
  pthread_mutex_lock(&s->mu);
  (void)flush_locked(s);
  int ok = s->head == NULL; /* else newer adds queue behind the older ones */
  for (int d = TKN_METER_TOTAL; d < TKN_METER__DIMENSIONS; d++) {
    tki_buf k;
    if (make_key(s, d, d < 0 ? NULL : keys[d], d < 0 ? 0 : lens[d], &k) != TKN_OK) continue;
    madd *a = tki_malloc(sizeof *a + k.len + 1);
    if (a) {
      memcpy(a->key, k.data, k.len + 1);
      a->key_len = k.len;
      memcpy(a->v, v, sizeof v);
      /* 32 hex digits + ':' + one letter per dimension */
      memcpy(a->id, base, 32);
      a->id[32] = ':';
      a->id[33] = (char)('a' + d + 1);
      a->id[34] = '\0';
      int rc = ok ? send_one(s, a) : TKN_ERR_UNAVAILABLE;
      if (rc == TKN_OK) {
        tki_free(a);
      } else if (!tki_store_retryable(rc)) {
        s->dropped++; /* refused outright: sending it again cannot help */
        tki_free(a);
      } else {
        ok = 0;
        enqueue_locked(s, a);
      }
    } else {
      s->dropped++;
    }
    tki_buf_free(&k);
  }
  pthread_mutex_unlock(&s->mu);
}

static void shared_free(void *state) {
  struct tki_mshared *s = state;
  if (!s) return;
  for (madd *a = s->head, *next; a; a = next) {
    next = a->next;
    tki_free(a);
  }
  pthread_mutex_destroy(&s->mu);
  tki_free(s->prefix);
  tki_free(s);
}

static int shared_flush(void *state, char err[TKI_ERRLEN]) {
  struct tki_mshared *s = state;
  pthread_mutex_lock(&s->mu);
  int rc = flush_locked(s);
  pthread_mutex_unlock(&s->mu);
  if (rc != TKN_OK) snprintf(err, TKI_ERRLEN, "%s", tki_error_message());
  return rc;
}

/* The meter's backend on a store (meter_internal.h). */
static const tki_meter_backend store_backend = {shared_record, shared_flush, shared_free};

static int meter_fail(tkn_meter *m, int rc, const char *text) {
  (void)m;
  return tki_fail(rc, "%s", text);
}

int tkn_meter_set_store(tkn_meter *m, const tkn_store *store, const char *prefix,
                        size_t prefix_len) {
  prefix_len = tki_len(prefix, prefix_len);
  if (!m) return tki_fail_null("tkn_meter_set_store", "meter");
  char err[TKI_ERRLEN];
  struct tki_mshared *s = NULL;
  if (store) {
    int rc = tki_store_check(store, "ad", "meter", err);
    if (rc != TKN_OK) return meter_fail(m, rc, err);
    if (!prefix || prefix_len == 0 || prefix_len > 256)
      return meter_fail(m, TKN_ERR_INVALID, "meter: store prefix must be 1 to 256 bytes");
    s = tki_calloc(1, sizeof *s);
    if (!s || !(s->prefix = tki_strndup(prefix, prefix_len))) {
      tki_free(s);
      return meter_fail(m, TKN_ERR_NOMEM, "meter: out of memory attaching a store");
    }
    s->st = *store;
    s->prefix_len = prefix_len;
    pthread_mutex_init(&s->mu, NULL);
  }
  tki_meter_set_backend(m, s ? &store_backend : NULL, s);
  return TKN_OK;
}

uint64_t tkn_meter_shared_dropped(tkn_meter *m) {
  struct tki_mshared *s = m && m->backend == &store_backend ? m->backend_state : NULL;
  return s ? s->dropped : 0;
}

int tkn_meter_flush(tkn_meter *m) {
  return m ? tki_meter_flush(m) : tki_fail(TKN_ERR_INVALID, "tkn_meter_flush: meter is NULL");
}

int tkn_meter_shared_stats(tkn_meter *m, int dimension, const char *key, size_t len,
                           tkn_meter_stats *out) {
  len = tki_len(key, len);
  if (!m) return tki_fail_null("tkn_meter_shared_stats", "meter");
  struct tki_mshared *s = m->backend == &store_backend ? m->backend_state : NULL;
  char err[TKI_ERRLEN];
  if (!s) return meter_fail(m, TKN_ERR_STATE, "meter: no store attached");
  if (!out) return meter_fail(m, TKN_ERR_INVALID, "meter: stats output is NULL");
  if (out->version != TKN_METER_STATS_VERSION)
    return meter_fail(m, TKN_ERR_VERSION, "meter: unknown stats version");
  if (dimension < TKN_METER_TOTAL || dimension >= TKN_METER__DIMENSIONS)
    return meter_fail(m, TKN_ERR_INVALID, "meter: unknown dimension");
  if ((!key && len) || len > TKN_METER_KEY_MAX)
    return meter_fail(m, TKN_ERR_INVALID, "meter: bad key (NULL or longer than 256 bytes)");
  tki_buf k;
  if (make_key(s, dimension, key, len, &k) != TKN_OK)
    return meter_fail(m, TKN_ERR_NOMEM, "meter: out of memory");
  int64_t v[NC] = {0};
  char se[256] = "";
  int rc = s->st.read(s->st.user, k.data, k.len, NC, v, se, sizeof se);
  tki_buf_free(&k);
  if (rc != TKN_OK) {
    tki_err(err, rc, "meter: cannot read the store (%s): %s", tkn_strerror(rc), se);
    return meter_fail(m, rc, err);
  }
  tki_agg a;
  get_counters(v, &a);
  tki_agg_stats(&a, out);
  return TKN_OK;
}
