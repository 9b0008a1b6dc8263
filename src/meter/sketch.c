/* The mergeable quantile sketch behind the meter's percentiles: logarithmic
 * buckets with a guaranteed 1% relative error (see meter_internal.h).  Bucket
 * indices of int64 values run from 0 (value 1) to about 2,170 (2^63). */
#include <math.h>
#include <string.h>

#include "meter_internal.h"

static double gamma_(void) { return (1.0 + TKI_SKETCH_ALPHA) / (1.0 - TKI_SKETCH_ALPHA); }

int tki_sketch_index(int64_t v) {
  if (v <= 0) return -1;
  return (int)ceil(log((double)v) / log(gamma_()));
}

static double bucket_value(int idx) { return 2.0 * pow(gamma_(), idx) / (gamma_() + 1.0); }

int tki_sketch_reserve(const tki_sketch *s, int idx, uint64_t **nb, int32_t *nlo, uint32_t *nn) {
  *nb = NULL;
  *nlo = s->lo;
  *nn = s->n;
  if (idx < 0) return TKN_OK;
  if (s->bins && idx >= s->lo && idx < s->lo + (int64_t)s->n) return TKN_OK;
  int32_t lo = s->bins ? (idx < s->lo ? idx : s->lo) : idx;
  int64_t hi = s->bins ? (idx >= s->lo + (int64_t)s->n ? idx : s->lo + (int64_t)s->n - 1) : idx;
  /* Grow by some slack so a widening range does not reallocate every call. */
  int64_t span = hi - lo + 1;
  int64_t slack = span / 4 + 8;
  if (s->bins && idx < s->lo) lo = (int32_t)(lo - slack < 0 ? 0 : lo - slack);
  else hi += slack;
  span = hi - lo + 1;
  uint64_t *b = tki_calloc((size_t)span, sizeof *b);
  if (!b) return tki_fail(TKN_ERR_NOMEM, "out of memory");
  *nb = b;
  *nlo = lo;
  *nn = (uint32_t)span;
  return TKN_OK;
}

void tki_sketch_commit(tki_sketch *s, uint64_t *nb, int32_t nlo, uint32_t nn) {
  if (!nb) return;
  if (s->bins) memcpy(nb + (s->lo - nlo), s->bins, s->n * sizeof *nb);
  tki_free(s->bins);
  s->bins = nb;
  s->lo = nlo;
  s->n = nn;
}

void tki_sketch_add(tki_sketch *s, int64_t v, int idx) {
  if (s->count == 0 || v < s->min) s->min = v;
  if (s->count == 0 || v > s->max) s->max = v;
  s->count++;
  if (idx < 0) s->zero++;
  else s->bins[idx - s->lo]++;
}

int tki_sketch_merge(tki_sketch *dst, const tki_sketch *src) {
  if (src->count == 0) return TKN_OK;
  if (src->bins) {
    int64_t slo = src->lo, shi = src->lo + (int64_t)src->n - 1;
    int64_t dhi = dst->lo + (int64_t)dst->n - 1;
    if (!dst->bins || slo < dst->lo || shi > dhi) {
      int64_t lo = dst->bins && dst->lo < slo ? dst->lo : slo;
      int64_t hi = dst->bins && dhi > shi ? dhi : shi;
      uint64_t *nb = tki_calloc((size_t)(hi - lo + 1), sizeof *nb);
      if (!nb) return tki_fail(TKN_ERR_NOMEM, "out of memory");
      tki_sketch_commit(dst, nb, (int32_t)lo, (uint32_t)(hi - lo + 1));
    }
    for (uint32_t i = 0; i < src->n; i++) dst->bins[src->lo - dst->lo + (int32_t)i] += src->bins[i];
  }
  if (dst->count == 0 || src->min < dst->min) dst->min = src->min;
  if (dst->count == 0 || src->max > dst->max) dst->max = src->max;
  dst->count += src->count;
  dst->zero += src->zero;
  return TKN_OK;
}

int tki_sketch_copy(tki_sketch *dst, const tki_sketch *src) {
  *dst = *src;
  dst->bins = NULL;
  if (src->bins) {
    dst->bins = tki_malloc(src->n * sizeof *dst->bins);
    if (!dst->bins) return tki_fail(TKN_ERR_NOMEM, "out of memory");
    memcpy(dst->bins, src->bins, src->n * sizeof *dst->bins);
  }
  return TKN_OK;
}

int64_t tki_sketch_quantile(const tki_sketch *s, double q) {
  if (s->count == 0) return 0;
  if (q <= 0) return s->min;
  if (q >= 1) return s->max;
  double rank = q * (double)(s->count - 1);
  uint64_t seen = s->zero;
  if ((double)seen > rank) return 0;
  for (uint32_t i = 0; i < s->n; i++) {
    seen += s->bins[i];
    if ((double)seen > rank) {
      double v = bucket_value(s->lo + (int32_t)i);
      if (v < (double)s->min) return s->min;
      if (v > (double)s->max) return s->max;
      return (int64_t)llround(v);
    }
  }
  return s->max;
}

void tki_sketch_free(tki_sketch *s) {
  tki_free(s->bins);
  memset(s, 0, sizeof *s);
}
