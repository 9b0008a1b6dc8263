/* tokenomy: tool selection per turn, a deferred tool catalogue with search.
 *
 * Every tool definition sent costs its schema's tokens on every call; a
 * catalogue of MCP servers easily reaches 10,000-20,000 tokens per request.
 * A tkn_toolsel holds a catalogue of tool definitions in the order added
 * (the catalogue order).  tkn_toolsel_select() ranks the tools for a query
 * (the last user message, say) and returns the k best plus the tools the host
 * always wants, in CATALOGUE order, not rank order: the same chosen set always
 * renders as the same bytes, so the prompt prefix stays cacheable for as long
 * as the set does not change.  tkn_toolsel_add_to_builder() puts the
 * catalogue into a prompt builder: the selected tools as they are and the
 * others deferred ("defer_loading": true), which tkn_prompt_render() turns
 * into Anthropic's native deferral with its tool search tool, and, for
 * OpenAI, which has no deferral, into sending only the selected tools.
 *
 * Ranking.  By default Okapi BM25 (Robertson and Zaragoza, 2009) over each
 * tool's document, its name, its description and the names of its parameters
 * (the keys of every "properties" object in its schema, at any depth up to
 * 64), all tokenised by the rule below:
 *   score(t, q) = sum over the distinct terms w of q:
 *                 idf(w) * f(w,t) * (k1 + 1) / (f(w,t) + k1 * (1 - b + b * |t| / avgdl))
 *   idf(w)      = ln(1 + (N - n(w) + 0.5) / (n(w) + 0.5))   (never negative)
 * where f(w,t) is how often w occurs in t's document, |t| its number of
 * terms, avgdl the mean of |t| over the catalogue, N the number of tools and
 * n(w) the number of tools whose document holds w.  k1 (default 1.2) and b
 * (default 0.75) are options.  A host with a better search (embeddings, its
 * own index) sets options.search: it gets the query and fills in one score
 * per tool; it may call tkn_toolsel_scores() for the BM25 scores to blend.
 *
 * Tokenising (documents and queries alike): a term is a maximal run of ASCII
 * letters and digits and bytes >= 0x80 (UTF-8 sequences stay whole), also
 * split where an ASCII upper-case letter follows a lower-case letter or a
 * digit ("getUserDetails" and "get_user_details" both give get, user,
 * details).  ASCII letters are lower-cased (other characters are compared
 * as they are); a term longer than 64 bytes is cut to 64; terms of one byte
 * and these stop words are dropped: a, an, and, are, as, at, be, but, by,
 * can, do, for, from, has, have, i, if, in, is, it, its, me, my, no, not,
 * of, on, or, our, please, so, that, the, this, to, was, we, what, when,
 * will, with, would, you, your; then a term of 4 bytes or more ending in "s"
 * but not "ss" loses the "s" (plurals: "reservations" matches "reservation").
 *
 * Cost: adding a tool indexes its terms (an inverted index: each term, the
 * tools holding it); a search reads the postings of the query's terms and
 * ranks only the tools that match, so it grows with those, not with the
 * catalogue (tests/bench/toolsel: about 0.5 ms for 10,000 tools).
 *
 * Threading: adding tools is one thread at a time; once no tool is being
 * added, any number of threads may search and select at once (the
 * catalogue is only read; a host search callback must then be thread-safe).
 *
 * Limits (TKN_ERR_LIMIT beyond them): TKN_TOOLSEL_MAX_TOOLS tools, a
 * definition of TKN_TOOLSEL_MAX_DEF bytes nested at most 64 deep, a query of
 * TKN_TOOLSEL_MAX_QUERY bytes.  A prompt builder takes at most
 * TKN_PROMPT_MAX_TOOLS tools (prompt.h), deferred ones included.
 */
#ifndef TOKENOMY_TOOLSEL_H
#define TOKENOMY_TOOLSEL_H

#include "common.h"
#include "prompt.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TKN_TOOLSEL_MAX_TOOLS 10000
#define TKN_TOOLSEL_MAX_DEF ((size_t)1024 * 1024)
#define TKN_TOOLSEL_MAX_QUERY ((size_t)1024 * 1024)

typedef struct tkn_toolsel tkn_toolsel;

/* A host search: write one score per tool of `cat` into scores[0..n), n being
 * the catalogue's tool count, in catalogue order (the array holds zeros on
 * entry).  Tools scoring > 0 are candidates, higher first; a score must be
 * finite and not negative.  Return 0, or non-zero to fail the selection
 * (TKN_ERR_CALLBACK).  It runs on the thread calling tkn_toolsel_select. */
typedef int (*tkn_toolsel_search_fn)(const tkn_toolsel *cat, const char *query, size_t query_len,
                                     double *scores, size_t n, void *user);

#define TKN_TOOLSEL_OPTIONS_VERSION 1
typedef struct tkn_toolsel_options {
  uint32_t version;             /* TKN_TOOLSEL_OPTIONS_VERSION */
  uint32_t reserved;
  double k1;                    /* BM25 term-frequency saturation, >= 0 (default 1.2) */
  double b;                     /* BM25 length normalisation, 0..1 (default 0.75) */
  tkn_toolsel_search_fn search; /* NULL (default): BM25 */
  void *search_user;            /* handed to search */
} tkn_toolsel_options;
#define TKN_TOOLSEL_OPTIONS_INIT { TKN_TOOLSEL_OPTIONS_VERSION, 0, 1.2, 0.75, NULL, NULL }
/* Fill *opts with the defaults.  TKN_ERR_INVALID (NULL), TKN_ERR_VERSION. */
TKN_API int tkn_toolsel_options_init(tkn_toolsel_options *opts, uint32_t version);

/* A new, empty catalogue; opts may be NULL for the defaults (copied).
 * TKN_ERR_INVALID for a NULL out or options out of range (k1 < 0, b outside
 * 0..1, not finite), TKN_ERR_VERSION, TKN_ERR_NOMEM. */
TKN_API int tkn_toolsel_new(tkn_toolsel **out, const tkn_toolsel_options *opts);
/* NULL is a no-op. */
TKN_API void tkn_toolsel_free(tkn_toolsel *cat);

/* Add one tool definition at the end of the catalogue, in any form that
 * tkn_prompt_builder_add_tool takes (neutral, OpenAI or Anthropic; a
 * "defer_loading" member is ignored: what is deferred is decided per
 * selection).  *index (may be NULL) receives its catalogue index.
 * TKN_ERR_INVALID (NULL cat or json), TKN_ERR_PARSE (malformed JSON),
 * TKN_ERR_UTF8, TKN_ERR_SCHEMA (no "name" string, a description that is not
 * a string, a parameter schema that is not an object), TKN_ERR_DUPLICATE (a
 * name already in the catalogue), TKN_ERR_LIMIT, TKN_ERR_NOMEM.  On failure
 * the catalogue is unchanged. */
TKN_API int tkn_toolsel_add(tkn_toolsel *cat, const char *json, size_t len, uint32_t *index);

/* The number of tools (0 for NULL). */
TKN_API size_t tkn_toolsel_count(const tkn_toolsel *cat);
/* Tool i's name and description (pointers into the catalogue, valid until it
 * is freed; the description is empty when the tool has none).  Any out
 * pointer may be NULL.  TKN_ERR_INVALID for a NULL cat or i out of range. */
TKN_API int tkn_toolsel_tool(const tkn_toolsel *cat, size_t i, const char **name,
                             size_t *name_len, const char **desc, size_t *desc_len);
/* The catalogue index of the tool named (name, len).  TKN_ERR_INVALID (NULL
 * arguments), TKN_ERR_NOT_FOUND (no such tool; *index unchanged). */
TKN_API int tkn_toolsel_find(const tkn_toolsel *cat, const char *name, size_t len,
                             uint32_t *index);

/* The BM25 scores of every tool for a query (UTF-8), whatever options.search
 * is, into scores[0..n): n must be the tool count.  TKN_ERR_INVALID (NULL
 * arguments, n not the count), TKN_ERR_UTF8, TKN_ERR_LIMIT, TKN_ERR_NOMEM. */
TKN_API int tkn_toolsel_scores(const tkn_toolsel *cat, const char *query, size_t len,
                               double *scores, size_t n);

/* Select tools for a query (UTF-8; may be empty): the k best by score among
 * the tools scoring > 0 (equal scores: the earlier in the catalogue first),
 * so at most k and fewer when fewer match, plus every tool of always[0..
 * always_n) (catalogue indices; counted beside k, not in it).  out receives
 * the selected indices in ascending catalogue order and *n their count.
 * With options.search the host's scores replace BM25.
 * TKN_ERR_INVALID (NULL cat or n, NULL always with always_n > 0, an index
 * out of range), TKN_ERR_UTF8, TKN_ERR_LIMIT, TKN_ERR_CALLBACK (the search
 * failed or gave a negative or non-finite score), TKN_ERR_TOO_SMALL (more
 * than cap selected: *n says how many; out may be NULL when cap is 0),
 * TKN_ERR_NOMEM. */
TKN_API int tkn_toolsel_select(const tkn_toolsel *cat, const char *query, size_t len, uint32_t k,
                               const uint32_t *always, size_t always_n, uint32_t *out,
                               size_t cap, size_t *n);

/* How tkn_toolsel_add_to_builder adds the tools that were not selected. */
#define TKN_TOOLSEL_DEFER_REST 0    /* all tools, in catalogue order, the others
                                       with "defer_loading": true (Anthropic:
                                       native deferral and tool search; OpenAI:
                                       left out when rendered) */
#define TKN_TOOLSEL_ONLY_SELECTED 1 /* only the selected tools, for any provider */

/* Add the catalogue's tools to a prompt builder, in catalogue order:
 * selected[0..n) are catalogue indices in ascending order (as
 * tkn_toolsel_select gives them), added as they are; the others are added
 * deferred or left out, by `mode`.  Token counts of the assembled prompt
 * include deferred tools (prompt.h).  TKN_ERR_INVALID (NULL arguments, an
 * index out of range or out of order, an unknown mode) and the errors of
 * tkn_prompt_builder_add_tool (TKN_ERR_DUPLICATE when the builder already
 * holds a tool of the same name, TKN_ERR_LIMIT); on such a failure the tools
 * added before it stay in the builder. */
TKN_API int tkn_toolsel_add_to_builder(tkn_prompt_builder *b, const tkn_toolsel *cat,
                                       const uint32_t *selected, size_t n, uint32_t mode);

#ifdef __cplusplus
}
#endif

#endif /* TOKENOMY_TOOLSEL_H */
