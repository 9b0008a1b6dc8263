/* The compiled form of a JSON Schema, shared by the validator and the
 * output-cap calculation. */
#ifndef TOKENOMY_SCHEMA_INTERNAL_H
#define TOKENOMY_SCHEMA_INTERNAL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "tokenomy/schema.h"
#include "sjson.h"

/* type bits */
#define TY_NULL 1u
#define TY_BOOL 2u
#define TY_INT 4u
#define TY_NUM 8u /* any number (implies TY_INT) */
#define TY_STR 16u
#define TY_ARR 32u
#define TY_OBJ 64u

/* keyword presence bits */
#define K_TYPE (1u << 0)
#define K_CONST (1u << 1)
#define K_ENUM (1u << 2)
#define K_MIN (1u << 3)
#define K_MAX (1u << 4)
#define K_XMIN (1u << 5)
#define K_XMAX (1u << 6)
#define K_MULT (1u << 7)
#define K_MINLEN (1u << 8)
#define K_MAXLEN (1u << 9)
#define K_PATTERN (1u << 10)
#define K_MINITEMS (1u << 11)
#define K_MAXITEMS (1u << 12)
#define K_UNIQUE (1u << 13)
#define K_MINPROPS (1u << 14)
#define K_MAXPROPS (1u << 15)
#define K_MINCONT (1u << 16)
#define K_MAXCONT (1u << 17)
/* groups: which instance types have any keyword to check */
#define K_NUMBER_KW (K_MIN | K_MAX | K_XMIN | K_XMAX | K_MULT)
#define K_STRING_KW (K_MINLEN | K_MAXLEN | K_PATTERN)

typedef struct snode snode;

typedef struct sprop {
  const char *key;
  uint32_t klen;
  snode *node;
} sprop;

typedef struct spattern {
  pcre2_code *re;
  int jit; /* compiled to machine code: pcre2_jit_match applies */
  const char *src; /* the pattern as written: srclen bytes, not NUL-terminated */
  uint32_t srclen;
  snode *node;
} spattern;

typedef struct skeylist { /* dependentRequired entry */
  const char *key;
  uint32_t klen;
  uint32_t n;
  const tki_sj *names; /* strings */
} skeylist;

typedef struct sreq {
  const char *key;
  uint32_t klen;
  int32_t prop; /* index in props, or -1 */
} sreq;

struct snode {
  int8_t boolean; /* -1: an object schema; 0: false; 1: true */
  uint8_t types;
  uint32_t flags;
  const char *path; /* schema path, "#/properties/a" */
  double minimum, maximum, xminimum, xmaximum, multiple_of;
  /* multipleOf as a decimal: multiple_of == mult_digits / mult_scale exactly
   * as written (mult_scale = 10^k, k its decimals); mult_scale 0 if not found */
  double mult_digits, mult_scale;
  uint64_t min_len, max_len, min_items, max_items, min_props, max_props, min_contains,
      max_contains;
  pcre2_code *pattern;
  int pattern_jit;
  const char *pattern_src; /* pattern_len bytes, not NUL-terminated */
  uint32_t pattern_len;
  const tki_sj *cnst;
  const tki_sj *enums; /* an array */
  sprop *props;
  uint32_t nprops;
  spattern *pats;
  uint32_t npats;
  sreq *required;
  uint32_t nrequired;
  skeylist *dep_required;
  uint32_t ndep_required;
  sprop *dep_schemas;
  uint32_t ndep_schemas;
  snode *additional, *items, *contains, *property_names;
  snode **prefix;
  uint32_t nprefix;
  snode **all_of, **any_of, **one_of;
  uint32_t nall, nany, none;
  snode *not_, *if_, *then_, *else_, *ref;
  const char *ref_text;
  int has_applicators; /* any of allOf..if, $ref */
  uint8_t mark;         /* compile time only: cycle search state */
};

struct tkn_schema {
  tki_arena arena; /* nodes, schema text and tree */
  snode *root;
  pcre2_code **codes; /* every compiled regular expression, for freeing */
  size_t ncodes, capcodes;
  pcre2_general_context *gctx;
  tkn_schema_options opts;
};

/* Validate an already parsed document (the benchmark times parsing apart). */
int tki_schema_validate_tree(const tkn_schema *s, const tki_sj *doc, tkn_schema_result *r);

/* pcre2 memory goes through the library allocator. */
pcre2_general_context *tki_schema_pcre2_context(void);

#endif
