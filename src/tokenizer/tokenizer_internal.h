/* The tokenizer's internal interface: every maker (estimator, host callback,
 * BPE encodings) fills a vtable; the public tkn_tokenizer_* calls dispatch
 * through it.  Makers may append entries; a NULL entry means "not supported
 * by this kind of tokenizer" (TKN_ERR_UNSUPPORTED). */
#ifndef TOKENOMY_TOKENIZER_INTERNAL_H
#define TOKENOMY_TOKENIZER_INTERNAL_H

#include "internal.h"
#include "tokenomy/tokenizer.h"

typedef struct tki_tokenizer_vt {
  const char *name;
  /* Count the tokens of text (required). */
  int (*count)(const tkn_tokenizer *tok, const char *text, size_t len, int64_t *out);
  /* Release impl (may be NULL). */
  void (*destroy)(tkn_tokenizer *tok);
} tki_tokenizer_vt;

struct tkn_tokenizer {
  const tki_tokenizer_vt *vt;
  uint64_t id;  /* unique in the process: keys the per-message count cache */
  void *impl;   /* the maker's own state */
  const char *name; /* static; defaults to vt->name */
};

/* Make a tokenizer around impl (owned: vt->destroy releases it). */
int tki_tokenizer_make(tkn_tokenizer **out, const tki_tokenizer_vt *vt, void *impl);
/* TKN_ERR_NOT_FOUND for an encoding name that is neither cl100k_base nor
 * o200k_base, recorded with the name as read, its byte length, and, when it
 * is the start of a known name, the hint that its length was cut short. */
int tki_unknown_encoding(const char *who, const char *name, size_t len);

/* The estimator's walk (estimator.c); fast = 0 skips the 64-byte ASCII path,
 * so tests can check that both paths count alike. */
int tki_estimator_count(const char *text, size_t len, int fast, int64_t *out);

#endif
