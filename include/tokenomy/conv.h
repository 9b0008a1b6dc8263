/* tokenomy: the conversation model.
 *
 * A tkn_conv is an ordered list of messages.  Each message has a role, text
 * content or an array of content parts, an optional name, the tool calls of an
 * assistant message (id, function name, arguments as JSON text), the tool-call
 * id of a tool result, and a pinned flag.  Fields tokenomy does not model are
 * kept verbatim and written back, so nothing a user sent is lost.
 *
 * Formats read and written: OpenAI Chat Completions (a bare array of messages
 * or an object with "messages") and Anthropic Messages ("system" plus messages
 * whose content holds text, tool_use and tool_result blocks).  Reading one and
 * writing the other converts between them, tool calls and results included.
 *
 * Round trip: loading a format and writing the same format gives back the
 * same JSON value (key order and spacing aside; numbers as IEEE doubles; a
 * string holding \u0000 ends there).  Unknown fields are kept per message,
 * per content part, per tool call and at the top level (e.g. "model",
 * "temperature" beside "messages"), and written only in their own format.
 *
 * Conversion rules (writing the other format):
 *  - OpenAI -> Anthropic: system and developer messages go to the top-level
 *    "system" (a string for one plain-text message, else an array of text
 *    blocks); tool_calls become tool_use blocks after the text, their
 *    "arguments" parsed into "input" (arguments that are not a JSON object
 *    fail with TKN_ERR_SCHEMA naming messages[i].tool_calls[j].arguments;
 *    empty arguments become {}); consecutive tool messages become one user
 *    message of tool_result blocks; image_url parts become image blocks;
 *    "name" has no Anthropic form and is left out.  What Anthropic cannot
 *    hold fails with TKN_ERR_UNSUPPORTED naming messages[i].content[j]: a
 *    non-text part in a system or developer message, and a content part
 *    typed tool_use or tool_result in OpenAI content.
 *  - Anthropic -> OpenAI: "system" becomes one system message; text and
 *    tool_use blocks become content (a string for a single text block, null
 *    when there is none beside tool calls) and tool_calls (input written as
 *    compact JSON text with sorted keys); each tool_result becomes a tool
 *    message (is_error has no OpenAI form); image blocks become image_url
 *    parts.  Other non-text parts are passed through as they are.
 *  - The top level: OpenAI is written as a bare array unless it was read as
 *    an object; Anthropic as an object when there is a system message or it
 *    was read as one.
 *  - pinned is tokenomy's own flag: it is never written.
 *  - An object with a key twice is read as its last occurrence, as the
 *    writer (canonical JSON) keeps it.
 *
 * Errors (the text in tkn_error_last(), one line): malformed JSON gives line,
 * column and byte offset (TKN_ERR_PARSE); bad UTF-8 its byte offset
 * (TKN_ERR_UTF8); a shape that does not fit the format names the place, e.g.
 * "messages[3].content: expected a string or an array of parts" or
 * "messages[2].role: unknown role \"wizard\"" (TKN_ERR_SCHEMA); a tool
 * message without a tool-call id fails to load (TKN_ERR_SCHEMA) and, when
 * built by hand, to write (TKN_ERR_STATE); OpenAI tool calls of a type other
 * than "function" are TKN_ERR_UNSUPPORTED.  Every failed call leaves the
 * conversation as it was and leaks nothing.
 *
 * Strings returned by accessors point into the conversation and stay valid
 * until the next call that modifies it.  Indices are 0-based.  Functions
 * returning size_t or a role give 0 / -1 for a NULL conversation or an index
 * out of range; functions returning a status give TKN_ERR_INVALID.
 *
 * Threading: one thread at a time per conversation (reads included, since
 * token counts are cached inside it); distinct conversations are independent.
 *
 * Limits (TKN_ERR_LIMIT beyond them): TKN_CONV_MAX_INPUT bytes of JSON,
 * TKN_CONV_MAX_DEPTH levels of nesting, TKN_CONV_MAX_MESSAGES messages.
 */
#ifndef TOKENOMY_CONV_H
#define TOKENOMY_CONV_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TKN_CONV_MAX_INPUT ((size_t)64 * 1024 * 1024)
#define TKN_CONV_MAX_DEPTH 128
#define TKN_CONV_MAX_MESSAGES 1000000

/* Roles (pinned values). */
#define TKN_ROLE_SYSTEM 0
#define TKN_ROLE_DEVELOPER 1
#define TKN_ROLE_USER 2
#define TKN_ROLE_ASSISTANT 3
#define TKN_ROLE_TOOL 4

/* Formats: the provider constants of common.h.  Conversations read and
 * write TKN_PROVIDER_OPENAI and _ANTHROPIC messages (and guess with _AUTO);
 * TKN_PROVIDER_GEMINI is TKN_ERR_UNSUPPORTED, any other value
 * TKN_ERR_INVALID. */

typedef struct tkn_conv tkn_conv;

/* The static name of a role ("system", "user", ...), or NULL if unknown. */
TKN_API const char *tkn_role_name(int role);
/* The role of a name, or -1 if unknown. */
TKN_API int tkn_role_from_name(const char *name, size_t len);

/* An empty conversation.
 * TKN_ERR_INVALID for a NULL out, TKN_ERR_NOMEM. */
TKN_API int tkn_conv_new(tkn_conv **out);
/* A deep copy (messages, unknown fields, pinned flags, cached counts).
 * TKN_ERR_INVALID for a NULL argument, TKN_ERR_NOMEM; on failure *out is NULL. */
TKN_API int tkn_conv_clone(tkn_conv **out, const tkn_conv *conv);
/* NULL is a no-op. */
TKN_API void tkn_conv_free(tkn_conv *conv);

/* Replace the whole conversation with `json` in `format` (AUTO: Anthropic if
 * there is a top-level "system" or an Anthropic-only block (tool_use,
 * tool_result, image, document, thinking), else OpenAI).  On failure the
 * conversation is unchanged and the error text names what and where (for
 * malformed JSON: line, column and byte offset; for bad UTF-8: the offset).
 * TKN_ERR_PARSE / _UTF8 / _SCHEMA / _UNSUPPORTED as described above, TKN_ERR_INVALID for a NULL
 * argument or a format outside TKN_PROVIDER_*, TKN_ERR_UNSUPPORTED for TKN_PROVIDER_GEMINI,
 * TKN_ERR_LIMIT past the size or message limits, TKN_ERR_NOMEM. */
TKN_API int tkn_conv_load(tkn_conv *conv, int32_t format, const char *json, size_t len);
/* Convenience: tkn_conv_new + tkn_conv_load.  On failure *out is NULL.
 * Codes as tkn_conv_load, and TKN_ERR_INVALID for a NULL out. */
TKN_API int tkn_conv_from_json(tkn_conv **out, int32_t format, const char *json, size_t len);
/* Write the conversation as `format` (not AUTO).  *out is NUL-terminated,
 * its length in *out_len (may be NULL); free it with tkn_free().
 * TKN_ERR_INVALID for a NULL argument or a format outside TKN_PROVIDER_*, TKN_ERR_UNSUPPORTED for
 * AUTO or Gemini, TKN_ERR_STATE for a message that cannot be written (a tool message without a
 * tool-call id), TKN_ERR_NOMEM. */
TKN_API int tkn_conv_to_json(tkn_conv *conv, int32_t format, char **out, size_t *out_len);
/* The format the conversation was last loaded from (AUTO if built by hand). */
TKN_API int32_t tkn_conv_source_format(const tkn_conv *conv);

/* ---- Reading messages ---- */
/* The number of messages. */
TKN_API size_t tkn_conv_count(const tkn_conv *conv);
/* The role of message i, or -1 if i is out of range. */
TKN_API int tkn_conv_role(const tkn_conv *conv, size_t i);
/* The text of message i: the string content, or its text parts joined with
 * "\n" when the content is an array.  Empty ("" with *len 0) if none.
 * TKN_ERR_INVALID for a NULL argument or an index out of range, TKN_ERR_NOMEM (joining parts). */
TKN_API int tkn_conv_text(tkn_conv *conv, size_t i, const char **text, size_t *len);
/* 1 if message i's content is an array of parts, 0 if a string or absent. */
TKN_API int tkn_conv_has_parts(const tkn_conv *conv, size_t i);
/* The number of parts of message i (0 unless its content is an array). */
TKN_API size_t tkn_conv_part_count(const tkn_conv *conv, size_t i);
/* Part j of message i: its type ("text", "image_url", ...) and, for text
 * parts, its text (NULL/0 otherwise).
 * TKN_ERR_INVALID for a NULL conversation or an index out of range. */
TKN_API int tkn_conv_part(const tkn_conv *conv, size_t i, size_t j, const char **type,
                          const char **text, size_t *text_len);
/* The optional name of message i (NULL, 0 if none).
 * TKN_ERR_INVALID for a NULL conversation or an index out of range. */
TKN_API int tkn_conv_name(const tkn_conv *conv, size_t i, const char **name, size_t *len);
/* The number of tool calls of message i. */
TKN_API size_t tkn_conv_tool_call_count(const tkn_conv *conv, size_t i);
/* Tool call j of assistant message i: id, function name, arguments (JSON text).
 * TKN_ERR_INVALID for a NULL conversation or an index out of range. */
TKN_API int tkn_conv_tool_call(const tkn_conv *conv, size_t i, size_t j, const char **id,
                               size_t *id_len, const char **fn_name, size_t *fn_name_len,
                               const char **arguments, size_t *arguments_len);
/* The tool-call id a tool message answers (NULL, 0 if not a tool result).
 * TKN_ERR_INVALID for a NULL conversation or an index out of range. */
TKN_API int tkn_conv_tool_call_id(const tkn_conv *conv, size_t i, const char **id,
                                  size_t *len);
/* 1 if message i is pinned (kept by pruning), else 0. */
TKN_API int tkn_conv_pinned(const tkn_conv *conv, size_t i);
/* Message i alone, as one message object of `format` (for Anthropic, a tool
 * result is a user message with one tool_result block; a system or developer
 * message has no Anthropic message form: TKN_ERR_UNSUPPORTED).  Free with
 * tkn_free.  TKN_ERR_INVALID for a NULL argument. */
TKN_API int tkn_conv_message_to_json(tkn_conv *conv, size_t i, int32_t format, char **out,
                                     size_t *out_len);

/* Lookups by tool-call id: the first lookup after a change builds an index in
 * O(n); later ones take O(1).  If memory for the index runs out they scan
 * instead, so they never fail for want of memory. */
/* Index of the assistant message holding tool call `id`, or TKN_ERR_NOT_FOUND.
 * TKN_ERR_INVALID for a NULL argument. */
TKN_API int tkn_conv_find_tool_call(const tkn_conv *conv, const char *id, size_t len,
                                    size_t *index);
/* Index of the first tool result answering `id`, or TKN_ERR_NOT_FOUND.
 * TKN_ERR_INVALID for a NULL argument. */
TKN_API int tkn_conv_find_tool_result(const tkn_conv *conv, const char *id, size_t len,
                                      size_t *index);

/* ---- Changing messages ---- */
/* Append / insert a plain text message (before index i; i == count appends).
 * The text must be valid UTF-8 (TKN_ERR_UTF8).  A tool message made this way
 * needs tkn_conv_set_tool_call_id before it can be written.
 * TKN_ERR_INVALID for a NULL argument. */
TKN_API int tkn_conv_append_text(tkn_conv *conv, int role, const char *text, size_t len);
/* TKN_ERR_INVALID for a NULL conversation, an unknown role, NULL text with a length or an
 * index past the count, TKN_ERR_UTF8 for invalid UTF-8, TKN_ERR_NOMEM. */
TKN_API int tkn_conv_insert_text(tkn_conv *conv, size_t i, int role, const char *text,
                                 size_t len);
/* Insert one message given as a JSON object of `format` (OpenAI or Anthropic;
 * an Anthropic message holding several tool_result blocks becomes several tool
 * messages).  i == count appends.
 * Errors as tkn_conv_load (the message is checked as one message of a conversation), and
 * TKN_ERR_INVALID for an index past the count. */
TKN_API int tkn_conv_insert_json(tkn_conv *conv, size_t i, int32_t format, const char *json,
                                 size_t len);
/* Replace message i with one message given as JSON (as tkn_conv_insert_json).
 * Errors as tkn_conv_insert_json. */
TKN_API int tkn_conv_replace_json(tkn_conv *conv, size_t i, int32_t format, const char *json,
                                  size_t len);
/* Replace the content of message i with plain text (parts are dropped).
 * TKN_ERR_INVALID for a NULL conversation or text with a length, or an index out of range,
 * TKN_ERR_UTF8 for invalid UTF-8, TKN_ERR_NOMEM. */
TKN_API int tkn_conv_set_text(tkn_conv *conv, size_t i, const char *text, size_t len);
/* Set (name != NULL) or remove (name == NULL, len 0) the name of message i.
 * Errors as tkn_conv_set_text. */
TKN_API int tkn_conv_set_name(tkn_conv *conv, size_t i, const char *name, size_t len);
/* Pin (pinned != 0) or unpin message i; never written to JSON.
 * TKN_ERR_INVALID for a NULL conversation or an index out of range. */
TKN_API int tkn_conv_set_pinned(tkn_conv *conv, size_t i, int pinned);
/* Add a tool call to assistant message i (TKN_ERR_STATE for another role).
 * id and fn_name must not be empty; arguments are JSON text, checked only
 * when converting to Anthropic.  TKN_ERR_INVALID for a NULL argument, an
 * empty id or name or an index out of range, TKN_ERR_UTF8 for invalid UTF-8,
 * TKN_ERR_NOMEM. */
TKN_API int tkn_conv_add_tool_call(tkn_conv *conv, size_t i, const char *id, size_t id_len,
                                   const char *fn_name, size_t fn_name_len,
                                   const char *arguments, size_t arguments_len);
/* Make message i (role tool, else TKN_ERR_STATE) the result of tool call `id`.
 * TKN_ERR_INVALID for a NULL argument, an empty id or an index out of range,
 * TKN_ERR_UTF8 for invalid UTF-8, TKN_ERR_NOMEM. */
TKN_API int tkn_conv_set_tool_call_id(tkn_conv *conv, size_t i, const char *id, size_t len);
/* Remove message i.
 * TKN_ERR_INVALID for a NULL conversation or an index out of range. */
TKN_API int tkn_conv_remove(tkn_conv *conv, size_t i);
/* Keep message i where keep[i] != 0, drop the others, in one O(n) pass.
 * n must equal tkn_conv_count(conv).
 * TKN_ERR_INVALID for a NULL argument or n other than tkn_conv_count(conv). */
TKN_API int tkn_conv_filter(tkn_conv *conv, const uint8_t *keep, size_t n);
/* Remove every message and the top-level fields kept from the last load. */
TKN_API void tkn_conv_clear(tkn_conv *conv);

#ifdef __cplusplus
}
#endif

#endif /* TOKENOMY_CONV_H */
