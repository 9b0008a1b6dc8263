/* Declarations of the trampolines in callbacks.c. */
#ifndef TOKENOMY_GO_CALLBACKS_H
#define TOKENOMY_GO_CALLBACKS_H
#include <stdint.h>
#include "tokenomy.h"
void *tkngo_ptr(uintptr_t h);
int tkngo_tokenizer_new_callback(tkn_tokenizer **out, uintptr_t h);
int64_t tkngo_clock(void *user);
int tkngo_compare(const char *a, size_t an, const char *b, size_t bn, void *user);
int tkngo_score_text(const char *text, size_t len, double *out, void *user);
int tkngo_prune_score(tkn_conv *conv, size_t i, double *score, void *user);
int tkngo_prune_summarise(tkn_conv *conv, const size_t *dropped, size_t n, int64_t max_tokens,
                          const char **text, size_t *len, void *user);
void tkngo_on_limit(tkn_budget *b, int32_t level, int32_t dimension, void *user);
int tkngo_begin_file(uint32_t index, void *user);
int tkngo_write(const char *data, size_t len, void *user);
int tkngo_end_file(uint32_t index, uint64_t requests, uint64_t bytes, void *user);
int tkngo_on_result(const tkn_batch_result *r, void *user);

void tkngo_store_table(tkn_store *t, uintptr_t h);
int tkngo_llm_complete(const tkn_llm_request *req, tkn_llm_response *resp, void *user);
int tkngo_llm_count(const char *model, size_t model_len, const char *text, size_t len,
                    int64_t *out, void *user);
int tkngo_llm_summarise(const char *text, size_t len, int64_t max_tokens, tkn_llm_response *resp,
                        void *user);
void tkngo_sleep(int64_t ms, void *user);
int tkngo_agent_run(const char *tool, size_t tool_len, const char *args, size_t args_len,
                    const char **result, size_t *result_len, void *user);
#endif
