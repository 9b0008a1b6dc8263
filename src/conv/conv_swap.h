/* What conv offers pruning (src/prune/clear.c) beyond the public API: the
 * contents of two conversations exchanged in O(1), so a rewrite made on a
 * clone replaces the original only once every step of it has succeeded. */
#ifndef TKI_CONV_SWAP_H
#define TKI_CONV_SWAP_H

#include "tokenomy/conv.h"

/* Exchange everything a and b hold (messages, top-level fields, indices). */
void tki_conv_swap(tkn_conv *a, tkn_conv *b);

#endif
