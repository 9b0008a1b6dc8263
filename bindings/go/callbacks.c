/* C trampolines: tokenomy calls these; they call the Go functions exported
 * in callbacks.go with the cgo.Handle kept in the `user` pointer. */
#include <stdint.h>
#include "_cgo_export.h"
#include "tokenomy.h"

void *tkngo_ptr(uintptr_t h) { return (void *)h; }

int tkngo_count(const char *text, size_t len, int64_t *out, void *user) {
  return tkngoCount((char *)text, len, out, (uintptr_t)user);
}

int tkngo_tokenizer_new_callback(tkn_tokenizer **out, uintptr_t h) {
  tkn_tokenizer_callbacks cb = TKN_TOKENIZER_CALLBACKS_INIT;
  cb.count = tkngo_count;
  return tkn_tokenizer_new_callback(out, &cb, (void *)h);
}

int64_t tkngo_clock(void *user) { return tkngoClock((uintptr_t)user); }

int tkngo_compare(const char *a, size_t an, const char *b, size_t bn, void *user) {
  return tkngoCompare((char *)a, an, (char *)b, bn, (uintptr_t)user);
}

int tkngo_score_text(const char *text, size_t len, double *out, void *user) {
  return tkngoScoreText((char *)text, len, out, (uintptr_t)user);
}

int tkngo_prune_score(tkn_conv *conv, size_t i, double *score, void *user) {
  (void)conv;
  return tkngoPruneScore(i, score, (uintptr_t)user);
}

int tkngo_prune_summarise(tkn_conv *conv, const size_t *dropped, size_t n, int64_t max_tokens,
                          const char **text, size_t *len, void *user) {
  (void)conv;
  return tkngoPruneSummarise((size_t *)dropped, n, max_tokens, (char **)text, len,
                             (uintptr_t)user);
}

void tkngo_on_limit(tkn_budget *b, int32_t level, int32_t dimension, void *user) {
  (void)b;
  tkngoOnLimit(level, dimension, (uintptr_t)user);
}

int tkngo_begin_file(uint32_t index, void *user) { return tkngoBeginFile(index, (uintptr_t)user); }
int tkngo_write(const char *data, size_t len, void *user) {
  return tkngoWrite((char *)data, len, (uintptr_t)user);
}
int tkngo_end_file(uint32_t index, uint64_t requests, uint64_t bytes, void *user) {
  return tkngoEndFile(index, requests, bytes, (uintptr_t)user);
}
int tkngo_on_result(const tkn_batch_result *r, void *user) {
  return tkngoOnResult((tkn_batch_result *)r, (uintptr_t)user);
}
