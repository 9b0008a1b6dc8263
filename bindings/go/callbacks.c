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

/* ---- a tkn_store whose operations are Go methods ---- */
static int st_reserve(void *u, const char *key, size_t kl, const char *id, uint32_t n,
                      const int64_t *amounts, const int64_t *limits, int64_t lease_ms,
                      int64_t ttl, int64_t *used, char *err, size_t errlen) {
  return tkngoStoreReserve((uintptr_t)u, (char *)key, kl, (char *)id, n, (int64_t *)amounts,
                           (int64_t *)limits, lease_ms, ttl, used, err, errlen);
}
static int st_commit(void *u, const char *key, size_t kl, const char *id, uint32_t n,
                     const int64_t *actual, int64_t id_ttl, int64_t ttl, int64_t *used,
                     int32_t *dup, char *err, size_t errlen) {
  return tkngoStoreCommit((uintptr_t)u, (char *)key, kl, (char *)id, n, (int64_t *)actual,
                          id_ttl, ttl, used, dup, err, errlen);
}
static int st_release(void *u, const char *key, size_t kl, const char *id, char *err,
                      size_t errlen) {
  return tkngoStoreRelease((uintptr_t)u, (char *)key, kl, (char *)id, err, errlen);
}
static int st_usage(void *u, const char *key, size_t kl, uint32_t n, int64_t *committed,
                    int64_t *reserved, char *err, size_t errlen) {
  return tkngoStoreUsage((uintptr_t)u, (char *)key, kl, n, committed, reserved, err, errlen);
}
static int st_get(void *u, const char *key, size_t kl, char *buf, size_t cap, size_t *vl,
                  char *err, size_t errlen) {
  return tkngoStoreGet((uintptr_t)u, (char *)key, kl, buf, cap, vl, err, errlen);
}
static int st_set(void *u, const char *key, size_t kl, const char *v, size_t vl, int64_t ttl,
                  char *err, size_t errlen) {
  return tkngoStoreSet((uintptr_t)u, (char *)key, kl, (char *)v, vl, ttl, err, errlen);
}
static int st_add(void *u, const char *key, size_t kl, const char *id, uint32_t n,
                  const int64_t *deltas, int64_t id_ttl, int64_t *totals, int32_t *dup,
                  char *err, size_t errlen) {
  return tkngoStoreAdd((uintptr_t)u, (char *)key, kl, (char *)id, n, (int64_t *)deltas, id_ttl,
                       totals, dup, err, errlen);
}
static int st_read(void *u, const char *key, size_t kl, uint32_t n, int64_t *values, char *err,
                   size_t errlen) {
  return tkngoStoreRead((uintptr_t)u, (char *)key, kl, n, values, err, errlen);
}

void tkngo_store_table(tkn_store *t, uintptr_t h) {
  tkn_store_init(t, TKN_STORE_VERSION);
  t->reserve = st_reserve;
  t->commit = st_commit;
  t->release = st_release;
  t->usage = st_usage;
  t->get = st_get;
  t->set = st_set;
  t->add = st_add;
  t->read = st_read;
  t->user = (void *)h;
}

/* ---- the model callbacks and the agent's ---- */
int tkngo_llm_complete(const tkn_llm_request *req, tkn_llm_response *resp, void *user) {
  return tkngoComplete((tkn_llm_request *)req, resp, (uintptr_t)user);
}
int tkngo_llm_count(const char *model, size_t model_len, const char *text, size_t len,
                    int64_t *out, void *user) {
  return tkngoLLMCount((char *)model, model_len, (char *)text, len, out, (uintptr_t)user);
}
int tkngo_llm_summarise(const char *text, size_t len, int64_t max_tokens, tkn_llm_response *resp,
                        void *user) {
  return tkngoSummarise((char *)text, len, max_tokens, resp, (uintptr_t)user);
}
void tkngo_sleep(int64_t ms, void *user) { tkngoSleep(ms, (uintptr_t)user); }
int tkngo_agent_run(const char *tool, size_t tool_len, const char *args, size_t args_len,
                    const char **result, size_t *result_len, void *user) {
  return tkngoAgentRun((char *)tool, tool_len, (char *)args, args_len, (char **)result,
                       result_len, (uintptr_t)user);
}
