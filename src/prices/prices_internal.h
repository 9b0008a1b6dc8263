/* Internals of the prices part: the table layout,
 * and the built-in table text. */
#ifndef TOKENOMY_PRICES_INTERNAL_H
#define TOKENOMY_PRICES_INTERNAL_H

#include "../internal.h"
#include "tokenomy/prices.h"

typedef struct tki_price_entry {
  char *key;      /* lower-cased table key, NUL-terminated */
  size_t key_len;
  char *provider; /* litellm_provider or "" */
  size_t provider_len;
  char *skip_reason; /* non-NULL: the load skipped this entry (a tombstone) */
  char *written_key; /* the key as written, for a skipped entry */
  char *alias_of;    /* lower-cased alias_of target, until resolved */
  tkn_model_price price; /* name/provider pointers point at key/provider */
} tki_price_entry;

/* A money-carrying field the loader does not model. */
typedef struct tki_unmodelled {
  char *field;
  char *first_key;
  size_t entries;
} tki_unmodelled;

struct tkn_prices {
  tki_price_entry *entries; /* in file order, skipped ones included */
  size_t count;             /* entries in the array */
  size_t loaded;            /* entries not skipped */
  /* open-addressing index over keys */
  uint32_t *index;  /* entry number + 1; 0 = empty */
  size_t index_cap; /* power of two */
  uint32_t *skipped_list; /* entry numbers of the skipped entries */
  size_t skipped;
  tki_unmodelled *unmodelled;
  size_t unmodelled_count, unmodelled_cap;
  uint32_t *unmodelled_index; /* unmodelled number + 1; 0 = empty */
  size_t unmodelled_icap;
  /* aliases: lower-cased names and the entry each points at */
  char **alias_names;
  size_t *alias_lens;
  uint32_t *alias_targets; /* entry number */
  size_t alias_count;
  uint32_t *alias_index;   /* alias number + 1; 0 = empty */
  size_t alias_icap;
};

extern const char tki_default_prices_json[];
extern const size_t tki_default_prices_json_len;

#endif
