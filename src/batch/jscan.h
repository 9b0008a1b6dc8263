/* A validating JSON skimmer for batch lines: it checks a value's syntax and
 * finds the spans of an object's members without building a tree, so a
 * request or result line of megabytes costs a pass over its bytes, not a
 * parse into nodes.  Small pieces (ids, usage objects) are then parsed with
 * cJSON from their spans. */
#ifndef TOKENOMY_BATCH_JSCAN_H
#define TOKENOMY_BATCH_JSCAN_H

#include <stddef.h>

typedef struct tki_span {
  size_t off, len; /* len 0: absent */
} tki_span;

/* A path of object keys from the root, e.g. {"response", "body", "usage"}. */
#define TKI_JPATH_MAX 4
typedef struct tki_jpath {
  const char *keys[TKI_JPATH_MAX];
  int n;
} tki_jpath;

/* Validate that [s, s+len) is exactly one JSON value (surrounding whitespace
 * allowed, nesting at most max_depth) and, in the same pass, find the value of
 * each path (out[k] for paths[k]; absent: len 0; the last occurrence wins;
 * paths never go through arrays; at most 32 paths).  Keys are compared with
 * their raw bytes between the quotes.  UTF-8 is checked in the same pass
 * (outside strings JSON is ASCII).  Returns 0, or -1 with *pos the byte
 * offset of the problem and *why a static description, which is
 * TKI_JSCAN_BAD_UTF8 for invalid UTF-8. */
extern const char TKI_JSCAN_BAD_UTF8[];
int tki_jscan_extract(const char *s, size_t len, int max_depth, const tki_jpath *paths,
                      int npaths, tki_span *out, size_t *pos, const char **why);

/* 1 if the span is the literal null. */
int tki_jscan_is_null(const char *s, tki_span v);

#endif
