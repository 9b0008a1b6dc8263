/* What conv offers the tokenizer's counting (src/tokenizer/count.c) beyond
 * the public accessors: each message's token count cached inside the
 * conversation, and the conversation's error text.  The cache is keyed by
 * the tokenizer's id and the count options and dropped on any change to the
 * message, so count.c never needs conv's layout. */
#ifndef TKI_CONV_COUNT_H
#define TKI_CONV_COUNT_H

#include "../internal.h"
#include "tokenomy/conv.h"

/* 1 and *count if message i's count under (tok_id, key) is cached, else 0. */
int tki_conv_count_get(const tkn_conv *conv, size_t i, uint64_t tok_id, const int32_t key[4],
                       int64_t *count);
/* Cache message i's count under (tok_id, key). */
void tki_conv_count_put(tkn_conv *conv, size_t i, uint64_t tok_id, const int32_t key[4],
                        int64_t count);

#endif
