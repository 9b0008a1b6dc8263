/* What prices offers the parts that match model names by its rules
 * (prices.h: dated snapshots; prompt's minimum cacheable lengths,
 * src/prompt/render.c), so the rule is written once. */
#ifndef TKI_PRICES_NAMES_H
#define TKI_PRICES_NAMES_H

#include <stddef.h>

/* The length of the n bytes at s without a "-YYYYMMDD" or "-YYYY-MM-DD"
 * date (20xx) at the end; n when there is none. */
size_t tki_prices_strip_date(const char *s, size_t n);

#endif
