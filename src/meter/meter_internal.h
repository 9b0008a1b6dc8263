/* Internals of the meter: the mergeable quantile sketch, aggregates and the
 * per-dimension key maps, shared by meter.c (recording) and export.c. */
#ifndef TOKENOMY_METER_INTERNAL_H
#define TOKENOMY_METER_INTERNAL_H

#include <pthread.h>

#include "../internal.h"
#include "tokenomy/meter.h"

/* ---- sketch: DDSketch-style logarithmic buckets ----
 * Bucket i holds the values in (gamma^(i-1), gamma^i] with
 * gamma = (1 + a) / (1 - a), a = 0.01; reporting 2 gamma^i / (gamma + 1) for
 * any value of bucket i is off by at most a relative 1%.  Values are int64
 * >= 0; 0 has its own counter.  Bucket counts add, so sketches merge exactly. */
#define TKI_SKETCH_ALPHA 0.01
#define TKI_SKETCH_ERROR_PPM 10000u
typedef struct tki_sketch {
  uint64_t zero;  /* values equal to 0 */
  uint64_t count; /* all values */
  int64_t min, max;
  int32_t lo;     /* index of bins[0] */
  uint32_t n;     /* buckets allocated */
  uint64_t *bins;
} tki_sketch;

/* The bucket of v >= 1 (v == 0 gives -1, meaning the zero counter). */
int tki_sketch_index(int64_t v);
/* Make sure bucket idx exists: *nb receives a new zeroed array of *nn buckets
 * starting at *nlo when the sketch must grow (NULL if it need not). */
int tki_sketch_reserve(const tki_sketch *s, int idx, uint64_t **nb, int32_t *nlo, uint32_t *nn);
/* Install what tki_sketch_reserve prepared (nb may be NULL): cannot fail. */
void tki_sketch_commit(tki_sketch *s, uint64_t *nb, int32_t nlo, uint32_t nn);
/* Count v (its bucket idx must exist). */
void tki_sketch_add(tki_sketch *s, int64_t v, int idx);
/* dst += src; dst may grow (TKN_ERR_NOMEM leaves dst unchanged). */
int tki_sketch_merge(tki_sketch *dst, const tki_sketch *src);
int tki_sketch_copy(tki_sketch *dst, const tki_sketch *src);
/* The q-quantile (0 <= q <= 1); 0 for an empty sketch. */
int64_t tki_sketch_quantile(const tki_sketch *s, double q);
void tki_sketch_free(tki_sketch *s);

/* ---- aggregates ---- */
#define TKI_HIST_BOUNDS 14 /* OpenTelemetry GenAI token-usage buckets */
extern const int64_t tki_token_bounds[TKI_HIST_BOUNDS];
int tki_hist_bucket(int64_t tokens);
/* gen_ai.client.operation.duration buckets (0.01 s .. 81.92 s), in microseconds */
#define TKI_DUR_BOUNDS 14
extern const int64_t tki_duration_bounds_us[TKI_DUR_BOUNDS];
int tki_dur_bucket(int64_t latency_us);

typedef struct tki_agg {
  uint64_t calls, successes, validated, passed, unreported;
  int64_t input, cache_read, w5, w1, output, reasoning, cost, latency;
  int64_t reported_input, reported_read; /* over the calls that reported their cache */
  uint64_t hist[2][TKI_HIST_BOUNDS + 1]; /* [0] input, [1] output tokens per call */
  uint64_t dur[TKI_DUR_BOUNDS + 1];      /* latency per call */
} tki_agg;

typedef struct tki_entry {
  char *key;
  size_t key_len;
  uint64_t hash;
  char *provider; /* model dimension: the first provider named with the model */
  size_t provider_len;
  int other;      /* the "(other)" overflow key */
  tki_agg a;
  tki_sketch tok, cost; /* workflow dimension only */
} tki_entry;

typedef struct tki_dim {
  tki_entry *e;
  size_t n, cap;
  size_t regular;  /* keys other than "(other)" */
  uint32_t *index; /* entry number + 1, open addressing; 0 = empty */
  size_t icap;
} tki_dim;

/* Besides the six public dimensions, one more internal "dimension": the
 * series, one key per combination of the labels the Prometheus and OTLP
 * exports carry (model, provider, workflow, tenant, task type), so that each
 * call is in exactly one series and a sum over series counts it once.  A
 * series key is the five parts, each as a 2-byte big-endian length and its
 * bytes (tki_series_part reads them back).  At most TKI_SERIES_FACTOR x
 * max_keys series; further combinations go to one series whose parts are
 * all "(other)". */
#define TKI_SERIES TKN_METER__DIMENSIONS
#define TKI_DIMS (TKN_METER__DIMENSIONS + 1)
#define TKI_SERIES_PARTS 5
enum { TKI_PART_MODEL, TKI_PART_PROVIDER, TKI_PART_WORKFLOW, TKI_PART_TENANT, TKI_PART_TASK_TYPE };
#define TKI_SERIES_FACTOR 4
#define TKI_SERIES_KEY_MAX (TKI_SERIES_PARTS * (2 + TKN_METER_KEY_MAX))
/* Part i of a series key. */
void tki_series_part(const tki_entry *e, int i, const char **s, size_t *n);

typedef struct tki_state {
  tki_dim d[TKI_DIMS];
  tki_agg total;
} tki_state;

struct tkn_meter {
  pthread_mutex_t mu;
  tkn_meter_options o;
  tki_state st;
  int64_t start_ns; /* wall clock when the meter was made or reset (OTLP start time) */
  /* where recorded calls also go (a tkn_store: tkn_meter_set_store), and
   * that backend's state; NULL: this process only */
  const struct tki_meter_backend *backend;
  void *backend_state;
};

/* ---- backends ----
 * A meter can send each call it records somewhere else too (fleet-wide
 * totals on a tkn_store: src/store/meter_shared.c).  meter.c never names a
 * backend: it calls this table. */
struct tkn_meter_call;
typedef struct tki_meter_backend {
  /* After a local record: the call and its aggregate (queued if the backend
   * cannot take it now; a failure is the backend's to report at flush). */
  void (*record)(void *state, const struct tkn_meter_call *call, const tki_agg *one);
  /* Send what is queued; a failure's text in err. */
  int (*flush)(void *state, char err[TKI_ERRLEN]);
  void (*free)(void *state);
} tki_meter_backend;
/* Attach a backend (NULL: none), freeing the one before.  Not to be called
 * while other threads use the meter. */
void tki_meter_set_backend(tkn_meter *m, const tki_meter_backend *backend, void *state);
/* Flush the backend (none: TKN_OK); a failure's text goes to the meter. */
int tki_meter_flush(tkn_meter *m);

extern const char *const tki_dim_names[TKN_METER__DIMENSIONS];
/* The wall clock in nanoseconds since the epoch (0 if unavailable). */
int64_t tki_meter_now_ns(void);
/* Find a key in a dimension: its entry number or -1. */
long tki_dim_find(const tki_dim *d, const char *key, size_t len, uint64_t hash);
uint64_t tki_key_hash(const char *key, size_t len);

/* Rates in parts per million, rounded down; -1 when den is 0. */
int64_t tki_ppm(int64_t num, int64_t den);
void tki_agg_stats(const tki_agg *a, tkn_meter_stats *out);

#endif
