/* The prompt part's shared internals: the builder's segments, the assembled
 * prompt's blocks (all bytes in one arena, referenced by offset), the linter
 * and the breakpoint rule used by both the renderer and the cache planner. */
#ifndef TOKENOMY_PROMPT_INTERNAL_H
#define TOKENOMY_PROMPT_INTERNAL_H

#include "internal.h"
#include "tokenomy/cacheplan.h"
#include "tokenomy/prompt.h"

typedef struct tki_findings {
  tkn_prompt_finding *v;
  size_t n, cap;
} tki_findings;

int tki_findings_push(tki_findings *f, uint32_t kind, uint32_t segment, uint32_t other,
                      uint64_t offset, uint64_t length);
/* Append the findings of `text` (valid UTF-8) to *out, tagged with segment. */
int tki_prompt_lint(const char *text, size_t len, uint32_t mask, uint32_t segment,
                    tki_findings *out);

/* Append s as a JSON string literal: the same bytes as tki_buf_json_string,
 * faster on long texts. */
int tki_prompt_json_string(tki_buf *b, const char *s, size_t len);
/* The index of the first byte of s[i, len) that a JSON string literal must
 * escape (< 0x20, '"', '\\'), or len if there is none. */
size_t tki_prompt_json_special(const char *s, size_t i, size_t len);
/* The escape of such a byte, written to out; returns its length (2 or 6). */
size_t tki_prompt_json_escape(unsigned char c, char out[6]);

/* A tool definition, canonical. */
typedef struct tki_ptool {
  char *name;
  size_t name_len;
  char *desc; /* NULL if absent */
  size_t desc_len;
  char *params; /* canonical JSON schema, NULL if absent */
  size_t params_len;
  tki_findings lint; /* of its canonical block, once linted */
  int linted;
  int deferred; /* "defer_loading": true */
} tki_ptool;

/* A segment as added to the builder. */
typedef struct tki_pseg {
  uint32_t kind, stability, ttl;
  uint32_t present; /* 0: a removed history segment */
  char *name;
  size_t name_len;
  char *text; /* text segments */
  size_t text_len;
  tki_findings lint; /* static text is linted once, at its first assembly */
  int linted;
} tki_pseg;

struct tkn_prompt_builder {
  tkn_prompt_options opts;
  tki_pseg *segs;
  size_t nseg, segcap;
  tki_ptool *tools;
  size_t ntools, toolcap;
  uint32_t tools_index, history_index;
  tkn_conv *conv;
  size_t arena_hint; /* bytes of the last assembly */
};

/* Anthropic roles of a history message as rendered. */
#define TKI_AN_USER 0
#define TKI_AN_ASSISTANT 1
#define TKI_AN_SYSTEM 2     /* a leading system message: system blocks */
#define TKI_AN_MIDSYSTEM 3  /* a system message after others: not renderable */

typedef struct tki_block {
  uint32_t segment; /* assembled index */
  uint32_t item;    /* tool index, history message index, or NONE */
  size_t off, len;  /* canonical bytes in the arena */
  int64_t tokens;
  uint64_t fp;
  /* history messages, Anthropic form: content blocks (comma-separated
   * objects, canonical), where the last block's closing brace is, and how it
   * is rendered */
  size_t an_off, an_len, an_last_close;
  uint32_t an_role;
  uint32_t an_tool_result; /* 1: a tool_result block (merged with neighbours) */
  uint32_t an_simple;      /* 1: one text block whose text is the JSON string
                              literal at [esc_off, esc_off+esc_len) of the
                              OpenAI bytes (nothing stored at an_off) */
  size_t esc_off, esc_len;
  int32_t an_bad_args;     /* >= 0: index of a tool call whose arguments are not a JSON object */
} tki_block;

/* A tool of an assembled prompt: its parts in the arena. */
typedef struct tki_atool {
  size_t name_off, name_len;
  size_t desc_off, desc_len;     /* has_desc == 0: absent */
  size_t params_off, params_len; /* has_params == 0: absent */
  int has_desc, has_params;
  int deferred;
} tki_atool;

typedef struct tki_aseg {
  uint32_t kind, stability, ttl, added_index;
  uint32_t first_block, block_count;
  size_t name_off, name_len;
  uint64_t bytes;
  int64_t tokens;
  uint64_t fp;
  uint32_t lint_kinds; /* lint kinds found in it: bit mask */
} tki_aseg;

struct tkn_prompt {
  /* each array with its capacity, so that tkn_prompt_assemble_into can
   * reuse the memory of an earlier assembly */
  char *arena;
  size_t arena_len, arena_cap;
  tki_aseg *segs;
  size_t nseg, seg_cap;
  tki_block *blocks;
  size_t nblock, block_cap;
  tki_atool *tools; /* in order */
  size_t ntools, tool_cap;
  tkn_prompt_finding *findings;
  size_t nfinding, finding_cap;
  uint64_t version;
  int64_t tokens;
  uint32_t history_seg; /* assembled index of the history, or NONE */
  uint32_t split_seg;   /* text segments from this index on go to the final user message */
};

/* History: append message i of conv as a block (canonical OpenAI JSON as the
 * block bytes, the Anthropic content blocks after it) and count its tokens.
 * *leading says whether only system messages came before (updated). */
int tki_history_block(tkn_conv *conv, size_t i, const tkn_tokenizer *tok, tki_buf *arena,
                      tki_block *blk, int *leading, char err[TKI_ERRLEN]);

/* Breakpoints as documented at tkn_prompt_breakpoints (no argument checks). */
size_t tki_prompt_breakpoints(const tkn_prompt *p, int64_t min_tokens, uint32_t max,
                              uint32_t *blocks, uint32_t *ttls);

/* The fields of one tool definition in any of the three accepted forms
 * (OpenAI {"type":"function","function":{...}}, a bare {name, ...}, or
 * Anthropic's input_schema), checked: a non-empty name, a description that
 * is a string or null, a parameter schema that is an object.  *def is the
 * object that holds them; *desc and *params may be NULL (absent or null).
 * TKN_ERR_SCHEMA, recorded as "<who>: tool <idx or `name`>: ...". */
int tki_tool_fields(const cJSON *root, const char *who, size_t idx, const cJSON **def,
                    const cJSON **name, const cJSON **desc, const cJSON **params);

#endif
