/* What conv offers pruning (src/prune/clear.c) beyond the public API: the
 * contents of two conversations exchanged in O(1), so a rewrite made on a
 * clone replaces the original only once every step of it has succeeded; and
 * a number per handle, for state kept per conversation (the agent's ledger). */
#ifndef TKI_CONV_SWAP_H
#define TKI_CONV_SWAP_H

#include <stdint.h>

#include "tokenomy/conv.h"

/* Exchange everything a and b hold (messages, top-level fields, indices). */
void tki_conv_swap(tkn_conv *a, tkn_conv *b);

/* The handle's number: unique among the handles a process makes, never
 * reused (a freed handle's address can be), kept by tki_conv_swap. */
uint64_t tki_conv_serial(const tkn_conv *conv);

#endif
