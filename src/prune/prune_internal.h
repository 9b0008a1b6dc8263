/* Internals of the prune part shared between its files and its tests. */
#ifndef TOKENOMY_PRUNE_INTERNAL_H
#define TOKENOMY_PRUNE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

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

#endif
