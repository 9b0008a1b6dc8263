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
#endif
