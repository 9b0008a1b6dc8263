/* The history segment: each message of the conversation becomes one block.
 * Its bytes (what is fingerprinted and sent to OpenAI) are the canonical
 * OpenAI message JSON, written straight from the conversation's accessors
 * (sorted keys, minimal escapes) so no JSON is parsed on the common path; a
 * message with non-text parts (images, files) is taken from the
 * conversation's own writer and canonicalised.  The Anthropic form (content
 * blocks) is prepared at the same time, so that rendering only copies. */
#include <string.h>

#include "prompt_internal.h"

#define ARGS_MAX_DEPTH 64

static int nomem(char err[TKI_ERRLEN]) {
  return tki_err(err, TKN_ERR_NOMEM, "prompt: out of memory assembling the history");
}

/* 1 if every part of message i is a text part. */
static int text_parts_only(const tkn_conv *conv, size_t i) {
  size_t n = tkn_conv_part_count(conv, i);
  for (size_t j = 0; j < n; j++) {
    const char *type = NULL, *text = NULL;
    size_t tl = 0;
    if (tkn_conv_part(conv, i, j, &type, &text, &tl) || !type || strcmp(type, "text") != 0)
      return 0;
  }
  return 1;
}

/* Text parts have the same shape for both providers: {"text":...,"type":"text"}. */
static void put_text_parts(const tkn_conv *conv, size_t i, tki_buf *a) {
  size_t n = tkn_conv_part_count(conv, i);
  for (size_t j = 0; j < n; j++) {
    const char *type = NULL, *text = NULL;
    size_t tl = 0;
    tkn_conv_part(conv, i, j, &type, &text, &tl);
    if (j) tki_buf_putc(a, ',');
    tki_buf_puts(a, "{\"text\":");
    tki_prompt_json_string(a, text ? text : "", tl);
    tki_buf_puts(a, ",\"type\":\"text\"}");
  }
}

/* Canonical JSON of the conversation's own rendering of message i, or (for
 * Anthropic) of the elements of its "content" array, comma-separated. */
static int put_from_conv(tkn_conv *conv, size_t i, int format, tki_buf *a, char err[TKI_ERRLEN]) {
  char *json = NULL;
  size_t len = 0;
  int rc = tkn_conv_message_to_json(conv, i, format, &json, &len);
  if (rc)
    return tki_err(err, rc, "prompt: history message %zu cannot be written (%s)", i,
                   tkn_strerror(rc));
  cJSON *root = NULL;
  rc = tki_json_parse(json, len, TKN_CONV_MAX_INPUT, TKN_CONV_MAX_DEPTH, "history message", &root,
                      err);
  tkn_free(json);
  if (rc) return rc;
  if (format == TKN_PROVIDER_OPENAI) {
    rc = tki_json_canonical(root, a);
  } else {
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(root, "content");
    if (cJSON_IsString(content)) {
      tki_buf_puts(a, "{\"text\":");
      tki_buf_json_string(a, content->valuestring, strlen(content->valuestring));
      tki_buf_puts(a, ",\"type\":\"text\"}");
    } else if (cJSON_IsArray(content) && content->child) {
      for (const cJSON *c = content->child; c && !rc; c = c->next) {
        if (c != content->child) tki_buf_putc(a, ',');
        rc = tki_json_canonical(c, a);
      }
    } else {
      tki_buf_puts(a, "{\"text\":\"\",\"type\":\"text\"}");
    }
  }
  cJSON_Delete(root);
  if (rc || a->failed) return rc && rc != TKN_ERR_NOMEM
                                  ? tki_err(err, rc, "prompt: history message %zu cannot be "
                                                     "written canonically", i)
                                  : nomem(err);
  return TKN_OK;
}

/* The escaped text of a message, once written, is reused by the Anthropic
 * form: it is the same JSON string literal. */
typedef struct msg_text {
  const char *text;
  size_t len;
  size_t esc_off, esc_len; /* esc_len 0: not written yet */
} msg_text;

static int put_openai(tkn_conv *conv, size_t i, int role, tki_buf *a, msg_text *mt,
                      char err[TKI_ERRLEN]) {
  int parts = tkn_conv_has_parts(conv, i);
  if (parts && !text_parts_only(conv, i)) return put_from_conv(conv, i, TKN_PROVIDER_OPENAI, a, err);
  const char *text = mt->text, *name = NULL, *tcid = NULL;
  size_t text_len = mt->len, name_len = 0, tcid_len = 0;
  tkn_conv_name(conv, i, &name, &name_len);
  tkn_conv_tool_call_id(conv, i, &tcid, &tcid_len);
  size_t ntc = tkn_conv_tool_call_count(conv, i);
  const char *role_name = tkn_role_name(role);
  if (!role_name) return tki_err(err, TKN_ERR_INVALID, "prompt: history message %zu has no role", i);
  tki_buf_putc(a, '{');
  int comma = 0;
  if (parts) {
    tki_buf_puts(a, "\"content\":[");
    put_text_parts(conv, i, a);
    tki_buf_putc(a, ']');
    comma = 1;
  } else if (!(role == TKN_ROLE_ASSISTANT && ntc && text_len == 0)) {
    tki_buf_puts(a, "\"content\":");
    mt->esc_off = a->len;
    tki_prompt_json_string(a, text ? text : "", text_len);
    mt->esc_len = a->failed ? 0 : a->len - mt->esc_off;
    comma = 1;
  }
  if (name && name_len) {
    tki_buf_puts(a, comma ? ",\"name\":" : "\"name\":");
    tki_prompt_json_string(a, name, name_len);
    comma = 1;
  }
  tki_buf_puts(a, comma ? ",\"role\":" : "\"role\":");
  tki_prompt_json_string(a, role_name, strlen(role_name));
  if (tcid && tcid_len) {
    tki_buf_puts(a, ",\"tool_call_id\":");
    tki_prompt_json_string(a, tcid, tcid_len);
  }
  if (ntc) {
    tki_buf_puts(a, ",\"tool_calls\":[");
    for (size_t j = 0; j < ntc; j++) {
      const char *id = NULL, *fn = NULL, *args = NULL;
      size_t id_len = 0, fn_len = 0, args_len = 0;
      tkn_conv_tool_call(conv, i, j, &id, &id_len, &fn, &fn_len, &args, &args_len);
      if (j) tki_buf_putc(a, ',');
      tki_buf_puts(a, "{\"function\":{\"arguments\":");
      tki_prompt_json_string(a, args ? args : "", args_len);
      tki_buf_puts(a, ",\"name\":");
      tki_prompt_json_string(a, fn ? fn : "", fn_len);
      tki_buf_puts(a, "},\"id\":");
      tki_prompt_json_string(a, id ? id : "", id_len);
      tki_buf_puts(a, ",\"type\":\"function\"}");
    }
    tki_buf_putc(a, ']');
  }
  tki_buf_putc(a, '}');
  return a->failed ? nomem(err) : TKN_OK;
}

/* The arguments of a tool call as an Anthropic tool_use "input" object;
 * returns 1 if they are not a JSON object (then {} is written). */
static int put_input(const char *args, size_t len, tki_buf *a, int *failed) {
  size_t i = 0;
  while (i < len && (args[i] == ' ' || args[i] == '\n' || args[i] == '\t' || args[i] == '\r')) i++;
  if (i == len) {
    tki_buf_puts(a, "{}");
    return 0;
  }
  tki_buf tmp;
  tki_buf_init(&tmp);
  char err[TKI_ERRLEN];
  int rc = args[i] == '{' ? tki_json_canonicalize(args, len, TKN_CONV_MAX_INPUT, ARGS_MAX_DEPTH,
                                                  "tool call arguments", &tmp, err)
                          : TKN_ERR_SCHEMA;
  if (rc == TKN_ERR_NOMEM) *failed = 1;
  if (rc) {
    tki_buf_free(&tmp);
    tki_buf_puts(a, "{}");
    return 1;
  }
  tki_buf_append(a, tmp.data, tmp.len);
  tki_buf_free(&tmp);
  return 0;
}

/* The message text as a JSON string literal: copied if already written. */
static void put_text_literal(tki_buf *a, const msg_text *mt) {
  if (mt->esc_len && !tki_buf_reserve(a, mt->esc_len)) {
    memcpy(a->data + a->len, a->data + mt->esc_off, mt->esc_len);
    a->len += mt->esc_len;
    a->data[a->len] = '\0';
  } else if (!mt->esc_len) {
    tki_prompt_json_string(a, mt->text ? mt->text : "", mt->len);
  }
}

static int put_anthropic(tkn_conv *conv, size_t i, int role, tki_buf *a, tki_block *blk,
                         const msg_text *mt, char err[TKI_ERRLEN]) {
  size_t text_len = mt->len;
  int parts = tkn_conv_has_parts(conv, i);
  if (role == TKN_ROLE_TOOL) {
    const char *tcid = NULL;
    size_t tcid_len = 0;
    tkn_conv_tool_call_id(conv, i, &tcid, &tcid_len);
    tki_buf_puts(a, "{\"content\":");
    put_text_literal(a, mt);
    tki_buf_puts(a, ",\"tool_use_id\":");
    tki_prompt_json_string(a, tcid ? tcid : "", tcid_len);
    tki_buf_puts(a, ",\"type\":\"tool_result\"}");
    blk->an_tool_result = 1;
    return a->failed ? nomem(err) : TKN_OK;
  }
  if (parts && !text_parts_only(conv, i)) return put_from_conv(conv, i, TKN_PROVIDER_ANTHROPIC, a, err);
  if (!parts && mt->esc_len && !tkn_conv_tool_call_count(conv, i)) {
    /* one text block: the renderer wraps the literal already written */
    blk->an_simple = 1;
    blk->esc_off = mt->esc_off;
    blk->esc_len = mt->esc_len;
    return TKN_OK;
  }
  size_t start = a->len;
  if (parts) {
    put_text_parts(conv, i, a);
  } else if (text_len || role != TKN_ROLE_ASSISTANT || !tkn_conv_tool_call_count(conv, i)) {
    tki_buf_puts(a, "{\"text\":");
    put_text_literal(a, mt);
    tki_buf_puts(a, ",\"type\":\"text\"}");
  }
  if (role == TKN_ROLE_ASSISTANT) {
    size_t ntc = tkn_conv_tool_call_count(conv, i);
    int failed = 0;
    for (size_t j = 0; j < ntc; j++) {
      const char *id = NULL, *fn = NULL, *args = NULL;
      size_t id_len = 0, fn_len = 0, args_len = 0;
      tkn_conv_tool_call(conv, i, j, &id, &id_len, &fn, &fn_len, &args, &args_len);
      if (a->len > start) tki_buf_putc(a, ',');
      tki_buf_puts(a, "{\"id\":");
      tki_prompt_json_string(a, id ? id : "", id_len);
      tki_buf_puts(a, ",\"input\":");
      if (put_input(args ? args : "", args_len, a, &failed) && blk->an_bad_args < 0)
        blk->an_bad_args = (int32_t)j;
      tki_buf_puts(a, ",\"name\":");
      tki_prompt_json_string(a, fn ? fn : "", fn_len);
      tki_buf_puts(a, ",\"type\":\"tool_use\"}");
    }
    if (failed) return nomem(err);
  }
  return a->failed ? nomem(err) : TKN_OK;
}

int tki_history_block(tkn_conv *conv, size_t i, const tkn_tokenizer *tok, tki_buf *arena,
                      tki_block *blk, int *leading, char err[TKI_ERRLEN]) {
  int role = tkn_conv_role(conv, i);
  msg_text mt = {NULL, 0, 0, 0};
  int rc = tkn_conv_text(conv, i, &mt.text, &mt.len);
  if (rc) return tki_err(err, rc, "prompt: history message %zu: no text (%s)", i, tkn_strerror(rc));
  rc = put_openai(conv, i, role, arena, &mt, err);
  if (rc) return rc;
  blk->len = arena->len - blk->off;
  int system = role == TKN_ROLE_SYSTEM || role == TKN_ROLE_DEVELOPER;
  if (!system) *leading = 0;
  blk->an_role = system ? (*leading ? TKI_AN_SYSTEM : TKI_AN_MIDSYSTEM)
                        : role == TKN_ROLE_ASSISTANT ? TKI_AN_ASSISTANT : TKI_AN_USER;
  blk->an_off = arena->len;
  rc = put_anthropic(conv, i, role, arena, blk, &mt, err);
  if (rc) return rc;
  blk->an_len = arena->len - blk->an_off;
  rc = tkn_tokenizer_count_message(tok, conv, i, NULL, &blk->tokens);
  if (rc)
    return tki_err(err, rc, "prompt: counting the tokens of history message %zu failed: %s", i,
                   tki_error_message());
  return TKN_OK;
}
