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

/* Validate the JSON value starting at or after s[*pos] (leading whitespace
 * skipped).  On success returns 0, *start (may be NULL) is where the value
 * begins and *pos is just past it.  On failure returns -1, *pos is the byte
 * offset of the problem and *why a static description. */
int tki_jscan_value(const char *s, size_t len, size_t *pos, size_t *start, int max_depth,
                    const char **why);

/* Validate that [s, s+len) is exactly one JSON value (surrounding whitespace
 * allowed); 0, or -1 with *pos and *why as above. */
int tki_jscan_document(const char *s, size_t len, int max_depth, size_t *pos, const char **why);

/* For the object spanning `obj` (already validated), the span of the value
 * of each key in keys[0..n) (the last occurrence wins; absent: len 0).
 * Keys are compared with their raw bytes between the quotes.  Returns 0, or
 * -1 if obj is not an object. */
int tki_jscan_fields(const char *s, tki_span obj, const char *const *keys, size_t n,
                     tki_span *out);

/* 1 if the span is the literal null. */
int tki_jscan_is_null(const char *s, tki_span v);

#endif
