/* Internals of the prune part shared between its files and its tests. */
#ifndef TOKENOMY_PRUNE_INTERNAL_H
#define TOKENOMY_PRUNE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "../internal.h"
#include "tokenomy/prune.h"

struct tkn_prune_report {
  int64_t before, after;
  size_t n;
  int32_t *action, *why;
  int64_t *tokens;
  size_t *kept, nkept, *dropped, ndropped;
  int32_t summary_status;
  int64_t summary_tokens;
  size_t summary_index;
  /* mask, clear, policy */
  size_t cleared_msgs;
  int64_t cleared_tokens;
  int32_t decision;
  int64_t saving, break_cost;
  char note[TKI_ERRLEN];
};

/* A version 1, 2 or 3 options struct as version 3 (the fields an older
 * version lacks take their defaults, degrade 0).  TKN_ERR_VERSION for another
 * version. */
int tki_prune_options_norm(const tkn_prune_options *in, tkn_prune_options *out);
/* MASK, CLEAR and POLICY (clear.c); opts checked and normalised. */
int tki_prune_clear(tkn_pruner *pruner, tkn_conv *conv, const tkn_prune_options *opts,
                    tkn_prune_report **report);
/* TRIM, SCORE, SUMMARISE whose budget cannot be met, with degrade 1
 * (degrade.c); opts normalised and checked, conv untouched so far. */
int tki_prune_degrade(tkn_pruner *pruner, tkn_conv *conv, const tkn_prune_options *opts,
                      tkn_prune_report **report);
/* The tokenizer a pruner counts with. */
const tkn_tokenizer *tki_prune_tokenizer(const tkn_pruner *pruner);

/* Kind weights of the built-in score (each in [0, 1]). */
#define TKI_KIND_SYSTEM 1.0
#define TKI_KIND_TOOL_RESULT 1.0
#define TKI_KIND_CORRECTION 1.0
#define TKI_KIND_USER 0.6
#define TKI_KIND_TOOL_CALL 0.6
#define TKI_KIND_ASSISTANT 0.4
#define TKI_KIND_ACK 0.05

typedef struct tki_prune_features {
  double kind;     /* one of the TKI_KIND_* values */
  double density;  /* informative words / (words + 4), in [0, 1) */
  int ack;         /* a short acknowledgement ("ok", "thanks", ...) */
  int correction;  /* a user message correcting something ("actually", ...) */
} tki_prune_features;

/* What the built-in score sees in one message. */
void tki_prune_features_of(int32_t role, int has_tool_calls, const char *text, size_t len,
                           tki_prune_features *out);

/* A zeroed report for n messages (prune.c); NULL when out of memory. */
tkn_prune_report *tki_prune_report_alloc(size_t n);

#endif
