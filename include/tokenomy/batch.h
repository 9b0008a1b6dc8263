/* tokenomy: batch request files and their results.
 *
 * Latency-insensitive work costs half price through the providers' batch
 * APIs.  This part writes the request files and joins the result files back
 * to the requests, streaming both ways: a file is never held whole in memory.
 *
 * Writer: one JSON line per request, handed to host callbacks.
 *  - OpenAI Batch API:        {"custom_id":..,"method":"POST","url":"/v1/chat/completions","body":{..}}
 *  - Anthropic Message Batches: {"custom_id":..,"params":{..}}
 * It checks that custom ids are unique (across all files of the writer), that
 * every body is one JSON object naming a "model", and for OpenAI that every
 * request of the writer names the same model (OpenAI requires one model per
 * file; use one writer per model).  It starts a new file when the next line
 * would pass the limits: OpenAI 50,000 requests or 200 MB, Anthropic 100,000
 * requests or 256 MB (MB = 1,000,000 bytes, the safe reading), configurable.
 *
 * Reader: the host pushes the bytes of result files in chunks of any size
 * (a line may span chunks).  Lines are OpenAI output / error file lines
 *   {"id":..,"custom_id":..,"response":{"status_code":..,"body":{..}}|null,"error":{..}|null}
 * or Anthropic results lines
 *   {"custom_id":..,"result":{"type":"succeeded","message":{..}} | {"type":"errored","error":{..}}
 *                              | {"type":"canceled"} | {"type":"expired"}}
 * Each result is joined on custom_id with the ids the host said it submitted
 * (in any order: providers do not keep it) and handed to an on_result
 * callback; what cannot be joined or did not succeed goes to a dead-letter
 * list with a reason: missing (submitted, no result), duplicate, unknown id,
 * errored, canceled, expired.
 *
 * Memory: the writer holds one line plus the set of ids; the reader holds at
 * most one line (bounded by max_line_bytes), the set of expected ids and the
 * dead letters.
 *
 * Usage and cost: each result carries the provider's usage object as JSON
 * text and, normalised (tkn_usage_parse, with TKN_USAGE_BATCH set), as a
 * tkn_usage; given a price table (reader options), its exact cost at the
 * batch price (tkn_prices_cost: batch input/output prices, the batch discount
 * stacked on cache prices).  The summary adds them up.  A result that cannot
 * be metered (no usage, a model missing from the table or without batch
 * prices) is still delivered, with the reason in meter_status/meter_error,
 * and counted as unpriced.
 *
 * Bad input fails clearly: a malformed line gives TKN_ERR_PARSE (or _UTF8,
 * _SCHEMA for valid JSON of the wrong shape) with the file number, line
 * number and byte offset in the message; a line longer than max_line_bytes
 * gives TKN_ERR_LIMIT.  A chunk may hold several lines, so a failed feed or
 * end_file (any status but TKN_ERR_INVALID) cannot be undone: the reader then
 * refuses more input (TKN_ERR_STATE); what it delivered, its summary and its
 * dead letters stay valid.  A failed finish (TKN_ERR_NOMEM) may be retried.
 *
 * Threading: a writer or a reader is used by one thread at a time.
 */
#ifndef TOKENOMY_BATCH_H
#define TOKENOMY_BATCH_H

#include "common.h"
#include "prices.h"
#include "usage.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Providers (values pinned). */

/* Provider limits, the defaults of the options. */
#define TKN_BATCH_OPENAI_MAX_REQUESTS 50000
#define TKN_BATCH_OPENAI_MAX_BYTES 200000000
#define TKN_BATCH_ANTHROPIC_MAX_REQUESTS 100000
#define TKN_BATCH_ANTHROPIC_MAX_BYTES 256000000
/* Longest custom id: Anthropic allows 1-64 of [A-Za-z0-9_-]; for OpenAI we
 * accept up to 512 bytes of UTF-8. */
#define TKN_BATCH_MAX_ID 512
/* Deepest nesting accepted in a body or a result line. */
#define TKN_BATCH_MAX_DEPTH 200

/* ---- Writer ------------------------------------------------------------ */

typedef struct tkn_batch_writer tkn_batch_writer;

#define TKN_BATCH_WRITER_OPTIONS_VERSION 1
typedef struct tkn_batch_writer_options {
  uint32_t version;               /* TKN_BATCH_WRITER_OPTIONS_VERSION */
  int32_t provider;               /* TKN_PROVIDER_OPENAI (default) or _ANTHROPIC */
  uint64_t max_requests_per_file; /* 0: the provider's limit */
  uint64_t max_bytes_per_file;    /* 0: the provider's limit */
  /* OpenAI endpoint written in "url"; NULL: "/v1/chat/completions".  Copied. */
  const char *url;
  size_t url_len;
  /* Callbacks, each returning 0 on success (anything else stops the writer
   * with TKN_ERR_IO).  begin_file(index) before the first line of each file
   * (0, 1, ...); write() with whole lines, in order; end_file (may be NULL)
   * when a file is complete, with its request count and size in bytes. */
  int (*begin_file)(uint32_t index, void *user);
  int (*write)(const char *data, size_t len, void *user);
  int (*end_file)(uint32_t index, uint64_t requests, uint64_t bytes, void *user);
  void *user;
} tkn_batch_writer_options;
#define TKN_BATCH_WRITER_OPTIONS_INIT \
  { TKN_BATCH_WRITER_OPTIONS_VERSION, TKN_PROVIDER_OPENAI, 0, 0, NULL, 0, NULL, NULL, NULL, NULL }

/* Fill *opts with the defaults of `version`.
 * TKN_ERR_INVALID for NULL, TKN_ERR_VERSION for an unknown version. */
TKN_API int tkn_batch_writer_options_init(tkn_batch_writer_options *opts, uint32_t version);

/* Make a writer.  `begin_file` and `write` are required.  TKN_ERR_INVALID
 * (missing callback, unknown provider, bad url), TKN_ERR_VERSION, TKN_ERR_NOMEM. */
TKN_API int tkn_batch_writer_new(tkn_batch_writer **out, const tkn_batch_writer_options *opts);

/* NULL is a no-op.  Does not call end_file: call tkn_batch_writer_finish(). */
TKN_API void tkn_batch_writer_free(tkn_batch_writer *w);

/* Write one request.  `body` is the request body (OpenAI) or the params
 * (Anthropic): one JSON object with a string "model", at most the file byte
 * limit; it is written as given (line breaks outside strings become spaces).
 * TKN_ERR_DUPLICATE (custom id already written), TKN_ERR_INVALID (empty id,
 * id too long, Anthropic id outside [A-Za-z0-9_-]), TKN_ERR_UTF8 (also a \\u
 * escape of a surrogate that is not a high-low pair),
 * TKN_ERR_PARSE (body not JSON; the message gives the byte offset),
 * TKN_ERR_SCHEMA (not an object, no "model", a second model in an OpenAI
 * writer), TKN_ERR_LIMIT (the line alone exceeds the file byte limit),
 * TKN_ERR_IO (a callback failed: the writer is then unusable,
 * TKN_ERR_STATE after), TKN_ERR_STATE (after finish), TKN_ERR_NOMEM.  A call
 * that fails for its input writes nothing and leaves the writer as it was. */
TKN_API int tkn_batch_writer_add(tkn_batch_writer *w, const char *custom_id, size_t custom_id_len,
                                 const char *body, size_t body_len);

/* Close the current file (end_file).  Afterwards add() is TKN_ERR_STATE.
 * A writer with no request writes no file.  Calling it twice is TKN_OK.
 * TKN_ERR_INVALID for a NULL argument. */
TKN_API int tkn_batch_writer_finish(tkn_batch_writer *w);

/* Files begun, requests and bytes written so far (any pointer may be NULL).
 * TKN_ERR_INVALID for a NULL writer. */
TKN_API int tkn_batch_writer_counts(const tkn_batch_writer *w, uint32_t *files,
                                    uint64_t *requests, uint64_t *bytes);


/* ---- Reader ------------------------------------------------------------ */

typedef struct tkn_batch_reader tkn_batch_reader;

/* Result status (values pinned). */
#define TKN_BATCH_SUCCEEDED 1
#define TKN_BATCH_ERRORED 2
#define TKN_BATCH_CANCELED 3
#define TKN_BATCH_EXPIRED 4

/* One joined result, valid only during the on_result callback.  Strings are
 * not NUL-terminated unless said; absent ones have length 0. */
#define TKN_BATCH_RESULT_VERSION 1
typedef struct tkn_batch_result {
  uint32_t version;       /* TKN_BATCH_RESULT_VERSION */
  int32_t status;         /* TKN_BATCH_SUCCEEDED ... */
  const char *custom_id;  /* decoded, NUL-terminated */
  size_t custom_id_len;
  const char *model;      /* the model that answered (decoded, NUL-terminated); "" if none */
  size_t model_len;
  const char *body;       /* JSON text: OpenAI response.body, Anthropic result.message */
  size_t body_len;
  const char *usage;      /* JSON text: the provider's usage object in the body */
  size_t usage_len;
  const char *error;      /* JSON text: the error object of a failed request */
  size_t error_len;
  int32_t http_status;    /* OpenAI response.status_code; 0 if none */
  uint32_t file;          /* input file number (0-based, see end_file) */
  uint64_t line;          /* 1-based line in that file */
  /* Metering: tokens is the normalised usage (NULL if the result has no
   * usage or it does not parse), cost its cost at the batch price (NULL
   * unless priced).  meter_status is TKN_OK when both are set, else why not:
   * TKN_ERR_NOT_FOUND (no usage, unknown model, no batch price),
   * TKN_ERR_UNAVAILABLE (no price table in the options), TKN_ERR_SCHEMA /
   * TKN_ERR_PARSE (usage malformed), TKN_ERR_INVALID, TKN_ERR_OVERFLOW;
   * meter_error (NUL-terminated, "" when OK) says it in words. */
  int32_t meter_status;
  const tkn_usage *tokens;
  const tkn_cost *cost;
  const char *meter_error;
} tkn_batch_result;

#define TKN_BATCH_READER_OPTIONS_VERSION 1
typedef struct tkn_batch_reader_options {
  uint32_t version;        /* TKN_BATCH_READER_OPTIONS_VERSION */
  int32_t provider;        /* TKN_PROVIDER_OPENAI (default) or _ANTHROPIC */
  uint64_t max_line_bytes; /* longest result line accepted (its bytes before the \n, a \r
                              and a blank line's white space included); default 64 MiB */
  /* Called once per result whose id was expected and seen for the first
   * time, in input order, whatever its status.  Non-zero stops the reader
   * with TKN_ERR_CALLBACK.  May be NULL. */
  int (*on_result)(const tkn_batch_result *result, void *user);
  void *user;
  /* Prices to cost results at the batch price (borrowed: it must outlive the
   * reader).  NULL: usage is normalised but not costed. */
  const tkn_prices *prices;
} tkn_batch_reader_options;
#define TKN_BATCH_READER_OPTIONS_INIT \
  { TKN_BATCH_READER_OPTIONS_VERSION, TKN_PROVIDER_OPENAI, (uint64_t)64 << 20, NULL, NULL, NULL }

/* Fill *opts with the defaults of `version`. TKN_ERR_INVALID for NULL, TKN_ERR_VERSION for an
 * unknown version. */
TKN_API int tkn_batch_reader_options_init(tkn_batch_reader_options *opts, uint32_t version);

/* TKN_ERR_INVALID (unknown provider, max_line_bytes 0), TKN_ERR_VERSION,
 * TKN_ERR_NOMEM. */
TKN_API int tkn_batch_reader_new(tkn_batch_reader **out, const tkn_batch_reader_options *opts);

/* NULL is a no-op. */
TKN_API void tkn_batch_reader_free(tkn_batch_reader *r);

/* Declare one submitted custom id.  TKN_ERR_DUPLICATE if declared already,
 * TKN_ERR_INVALID (empty, longer than TKN_BATCH_MAX_ID), TKN_ERR_UTF8,
 * TKN_ERR_STATE once input was fed, TKN_ERR_NOMEM. */
TKN_API int tkn_batch_reader_expect(tkn_batch_reader *r, const char *custom_id, size_t len);

/* Declare every custom id the writer wrote.
 * Errors as tkn_batch_reader_expect, TKN_ERR_INVALID for a NULL argument; on failure the reader's
 * ids are as before. */
TKN_API int tkn_batch_reader_expect_writer(tkn_batch_reader *r, const tkn_batch_writer *w);

/* Push the next bytes of the current result file (any chunk size, 0 allowed).
 * Complete lines are processed now; a partial one waits for the next chunk.
 * Blank lines are skipped, a trailing \r is dropped.  Errors: see above.
 * TKN_ERR_INVALID for a NULL reader (or NULL data with a length), TKN_ERR_STATE after an earlier
 * error or tkn_batch_reader_finish, TKN_ERR_PARSE / _UTF8 / _SCHEMA for a malformed result line
 * (file, line and byte named), TKN_ERR_LIMIT for a line longer than max_line_bytes,
 * TKN_ERR_OVERFLOW if a token or cost sum overflows, TKN_ERR_CALLBACK when on_result returns non-
 * zero, TKN_ERR_NOMEM; a failure stops the reader. */
TKN_API int tkn_batch_reader_feed(tkn_batch_reader *r, const char *data, size_t len);

/* The current file ends (its last line may lack a newline); the next bytes
 * start file number +1 at line 1 (e.g. the OpenAI error file after the
 * output file).
 * Errors as tkn_batch_reader_feed. */
TKN_API int tkn_batch_reader_end_file(tkn_batch_reader *r);

/* All input is in: ends the current file and adds a "missing" dead letter
 * for each expected id that had no result.  Afterwards feed is TKN_ERR_STATE;
 * calling finish twice is TKN_OK.  TKN_ERR_INVALID for a NULL argument. */
TKN_API int tkn_batch_reader_finish(tkn_batch_reader *r);

/* Counts so far. */
#define TKN_BATCH_SUMMARY_VERSION 1
typedef struct tkn_batch_summary {
  uint32_t version;    /* TKN_BATCH_SUMMARY_VERSION: set by the caller */
  uint32_t files;      /* result files read (ended) */
  uint64_t lines;      /* result lines read (blank ones not counted) */
  uint64_t expected;   /* ids declared */
  uint64_t succeeded, errored, canceled, expired; /* joined results by status */
  uint64_t missing;    /* expected ids without a result (known after finish) */
  uint64_t duplicates; /* results for an id already seen */
  uint64_t unknown;    /* results for an id never declared */
  /* Metering of joined results (see tkn_batch_result): */
  uint64_t metered;    /* results whose usage was normalised (and added below) */
  uint64_t priced;     /* of which costed (and added to cost) */
  uint64_t unpriced;   /* succeeded results not costed (see meter_status) */
  int64_t input_tokens, cache_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens;
  int64_t cost;        /* picodollars (1e-12 USD) at the batch price */
} tkn_batch_summary;
#define TKN_BATCH_SUMMARY_INIT \
  { TKN_BATCH_SUMMARY_VERSION, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }
/* TKN_ERR_INVALID for NULL, TKN_ERR_VERSION for an unknown summary version. */
TKN_API int tkn_batch_reader_summary(const tkn_batch_reader *r, tkn_batch_summary *summary);

/* Dead-letter reasons (values pinned). */
#define TKN_BATCH_DL_MISSING 1   /* submitted, no result in any file */
#define TKN_BATCH_DL_DUPLICATE 2 /* a second result for one id (the first one counts) */
#define TKN_BATCH_DL_UNKNOWN 3   /* a result for an id that was not submitted */
#define TKN_BATCH_DL_ERRORED 4   /* the provider reports an error */
#define TKN_BATCH_DL_CANCELED 5  /* the batch was canceled before this request ran */
#define TKN_BATCH_DL_EXPIRED 6   /* the batch expired before this request ran */

#define TKN_BATCH_DEAD_LETTER_VERSION 1
typedef struct tkn_batch_dead_letter {
  uint32_t version;      /* TKN_BATCH_DEAD_LETTER_VERSION: set by the caller */
  int32_t reason;        /* TKN_BATCH_DL_* */
  const char *custom_id; /* NUL-terminated */
  size_t custom_id_len;
  const char *detail;    /* NUL-terminated: the provider's error JSON, or a sentence */
  size_t detail_len;
  uint32_t file;         /* where the result was (0 and line 0 for missing ones) */
  uint64_t line;
} tkn_batch_dead_letter;
#define TKN_BATCH_DEAD_LETTER_INIT { TKN_BATCH_DEAD_LETTER_VERSION, 0, NULL, 0, NULL, 0, 0, 0 }

/* Number of dead letters so far. */
TKN_API size_t tkn_batch_reader_dead_letter_count(const tkn_batch_reader *r);

/* Dead letter i (0-based, in the order found; missing ones last).  Strings
 * stay valid until the next call that feeds, ends or finishes the reader, or
 * frees it.  TKN_ERR_NOT_FOUND past the end,
 * TKN_ERR_VERSION, TKN_ERR_INVALID. */
TKN_API int tkn_batch_reader_dead_letter(const tkn_batch_reader *r, size_t i,
                                         tkn_batch_dead_letter *out);

/* All dead letters as a JSON array of {"custom_id","reason","detail","file",
 * "line"} with reason one of "missing", "duplicate", "unknown", "errored",
 * "canceled", "expired".  *out freed with tkn_free.
 * TKN_ERR_INVALID for a NULL argument, TKN_ERR_NOMEM. */
TKN_API int tkn_batch_reader_dead_letters_json(const tkn_batch_reader *r, char **out, size_t *len);


#ifdef __cplusplus
}
#endif

#endif /* TOKENOMY_BATCH_H */
