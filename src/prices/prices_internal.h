/* Internals of the prices part: exact decimal conversion, the table layout,
 * and the built-in table text. */
#ifndef TOKENOMY_PRICES_INTERNAL_H
#define TOKENOMY_PRICES_INTERNAL_H

#include "../internal.h"
#include "tokenomy/prices.h"

/* Convert the decimal number text [s, s+len) (JSON number grammar: optional
 * '-', digits, optional fraction, optional exponent) to value x 10^scale as
 * an exact int64.  TKN_ERR_PARSE for text that is not such a number,
 * TKN_ERR_UNSUPPORTED if the scaled value is not an integer, TKN_ERR_OVERFLOW
 * if it leaves int64.  Never goes through a double. */
int tki_decimal_scaled(const char *s, size_t len, int scale, int64_t *out);

/* tki_json_parse, except that a cJSON failure which a second parse does not
 * repeat is reported as TKN_ERR_NOMEM (cJSON reports an allocation failure as
 * a syntax error, and one refused allocation need not refuse the next). */
int tki_prices_json_parse(const char *json, size_t len, size_t max_len, int max_depth,
                          const char *what, cJSON **out, char err[TKI_ERRLEN]);

typedef struct tki_price_entry {
  char *key;      /* lower-cased table key, NUL-terminated */
  size_t key_len;
  char *provider; /* litellm_provider or "" */
  size_t provider_len;
  tkn_model_price price; /* name/provider pointers point at key/provider */
} tki_price_entry;

struct tkn_prices {
  tki_price_entry *entries; /* in file order */
  size_t count;
  /* open-addressing index over keys (exact), and over the bare names of
   * "provider/name" keys (only names that are not keys themselves) */
  uint32_t *index;      /* entry number + 1; 0 = empty */
  uint32_t *bare_index; /* same, keyed by the part after the last '/' */
  size_t index_cap;     /* power of two */
  size_t skipped;
  char skip_reason[TKI_ERRLEN];
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
