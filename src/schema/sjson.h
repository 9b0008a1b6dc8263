/* A compact JSON tree for schema validation: values live in an arena, strings
 * keep their byte length (so "\u0000" inside a string survives, which cJSON
 * cannot do), arrays and objects are contiguous, numbers carry an "integral"
 * flag.  Used for both the schema text and the documents validated against it. */
#ifndef TOKENOMY_SCHEMA_SJSON_H
#define TOKENOMY_SCHEMA_SJSON_H

#include <stddef.h>
#include <stdint.h>

#include "../internal.h"

/* ---- arena: bump allocation in chunks, freed all at once ---- */
typedef struct tki_arena_chunk tki_arena_chunk;
typedef struct tki_arena {
  tki_arena_chunk *head;
  size_t hint; /* size of the next first chunk (what the last use needed) */
} tki_arena;
void tki_arena_init(tki_arena *a);
void *tki_arena_alloc(tki_arena *a, size_t size); /* 16-byte aligned; NULL on OOM */
char *tki_arena_strndup(tki_arena *a, const char *s, size_t len);
/* Drop everything; keep one chunk big enough for a use like the last one. */
void tki_arena_reset(tki_arena *a);
void tki_arena_free(tki_arena *a);

/* ---- values ---- */
enum {
  TKI_SJ_NULL = 0,
  TKI_SJ_BOOL = 1,
  TKI_SJ_NUMBER = 2,
  TKI_SJ_STRING = 3,
  TKI_SJ_ARRAY = 4,
  TKI_SJ_OBJECT = 5
};

typedef struct tki_sj tki_sj;
typedef struct tki_sj_member tki_sj_member;
struct tki_sj {
  uint8_t type;
  uint8_t is_int;  /* number: integral value (1.0 counts, as JSON Schema wants) */
  uint8_t boolean; /* bool: 0 or 1 */
  uint32_t n;      /* string: bytes; array: items; object: members */
  union {
    double num;
    const char *str; /* not NUL-terminated in general */
    tki_sj *items;
    tki_sj_member *members;
  } u;
};
struct tki_sj_member {
  const char *key;
  uint32_t klen;
  tki_sj val;
};

/* Reusable parser scratch (stacks of pending children). */
typedef struct tki_sj_parser {
  tki_sj *vals;
  size_t nvals, capvals;
  tki_sj_member *mems;
  size_t nmems, capmems;
} tki_sj_parser;
void tki_sj_parser_free(tki_sj_parser *p);

/* Parse [json, json+len) into *out.  Unescaped strings point into `json`,
 * which must outlive the tree; the rest is allocated from `arena`.  Checks
 * size, NUL bytes, UTF-8, depth (containers nested deeper than max_depth) and
 * trailing text; errors name line, column and byte offset, prefixed by `what`.
 * Returns TKN_OK, TKN_ERR_PARSE, TKN_ERR_UTF8, TKN_ERR_LIMIT or TKN_ERR_NOMEM. */
int tki_sj_parse(tki_sj_parser *p, tki_arena *arena, const char *json, size_t len,
                 size_t max_len, uint32_t max_depth, const char *what, tki_sj *out,
                 char err[TKI_ERRLEN]);

/* JSON Schema equality: numbers by value, objects regardless of key order. */
int tki_sj_equal(const tki_sj *a, const tki_sj *b);
/* Member of an object by key (the last one if a key repeats); NULL if absent. */
const tki_sj *tki_sj_get(const tki_sj *obj, const char *key, size_t klen);
/* Code points of a (valid UTF-8) string. */
size_t tki_sj_codepoints(const char *s, size_t len);
/* Compact JSON text of a value. */
int tki_sj_write(const tki_sj *v, tki_buf *out);
/* Shortest text of a double that reads back to it ("1e+300", "0.1", "3"). */
void tki_sj_number_text(double d, char out[40]);

#endif
