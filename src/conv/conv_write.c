/* Writing a conversation as OpenAI Chat Completions or Anthropic Messages.
 *
 * A message written in the format it was read from comes back as it was:
 * same content shape, same unknown fields.  Written in the other format it is
 * converted: system and developer messages go to Anthropic's "system", tool
 * calls become tool_use blocks (arguments parsed into "input") and back,
 * consecutive tool results become one user message of tool_result blocks,
 * images convert between image_url and image; unknown fields of the other
 * format are left out (they would not be valid there). */
#include <stdio.h>
#include <string.h>

#include "conv_internal.h"

typedef struct wr {
  tkn_conv *conv;
  tki_buf *b;
  int bad_number; /* a kept value holds a number JSON cannot spell (cJSON read 1e999 as inf) */
} wr;

static int put_key(tki_buf *b, const char *key) {
  tki_buf_putc(b, ',');
  tki_buf_json_string(b, key, strlen(key));
  return tki_buf_putc(b, ':');
}

static void put_str(tki_buf *b, const char *s, size_t len) { tki_buf_json_string(b, s, len); }

/* A kept JSON value, verbatim as a value (canonical spelling). */
static int put_value(wr *w, const cJSON *v) {
  int rc = tki_json_canonical(v, w->b);
  if (rc == TKN_ERR_INVALID) w->bad_number = 1;
  return rc;
}

/* The members of an object of unknown fields, each after a comma. */
static int put_extras(wr *w, const cJSON *extra) {
  if (!extra) return TKN_OK;
  for (const cJSON *c = extra->child; c; c = c->next) {
    put_key(w->b, c->string);
    int rc = put_value(w, c);
    if (rc) return rc;
  }
  return TKN_OK;
}

/* The failure of an append (or of a kept value that cannot be written). */
static int nomem(wr *w) {
  if (w->bad_number)
    return tki_fail(TKN_ERR_UNSUPPORTED,
                   "to_json: a kept field holds a number whose exponent has more than 12 digits");
  return tki_fail(TKN_ERR_NOMEM, "to_json: out of memory");
}

static int check_tool(wr *w, const tki_msg *m, size_t i) {
  (void)w;
  if (m->role == TKN_ROLE_TOOL && !m->tcid)
    return tki_fail(TKN_ERR_STATE,
                   "messages[%zu]: a tool message has no tool-call id", i);
  return TKN_OK;
}

/* ---- images: the one non-text part both formats know ---- */

static const char *str_member(const cJSON *obj, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Anthropic image block -> OpenAI image_url part; 0 if it is not one we know. */
static int put_image_as_openai(tki_buf *b, const cJSON *raw) {
  const cJSON *src = cJSON_GetObjectItemCaseSensitive(raw, "source");
  const char *type = str_member(src, "type");
  if (!type) return 0;
  int is_url = !strcmp(type, "url") && str_member(src, "url");
  int is_data = !strcmp(type, "base64") && str_member(src, "media_type") && str_member(src, "data");
  if (!is_url && !is_data) return 0; /* passed through as it is: nothing written yet */
  /* keys in sorted order, as kept values are written: reading and writing
   * again gives the same bytes */
  tki_buf_puts(b, "{\"image_url\":{\"url\":");
  if (is_url) {
    const char *url = str_member(src, "url");
    put_str(b, url, strlen(url));
  } else {
    const char *mt = str_member(src, "media_type"), *data = str_member(src, "data");
    tki_buf url;
    tki_buf_init(&url);
    tki_buf_printf(&url, "data:%s;base64,%s", mt, data);
    if (url.failed) {
      tki_buf_free(&url);
      return -1;
    }
    put_str(b, url.data, url.len);
    tki_buf_free(&url);
  }
  tki_buf_puts(b, "},\"type\":\"image_url\"}");
  return 1;
}

/* OpenAI image_url part -> Anthropic image block; 0 if it is not one we know. */
static int put_image_as_anthropic(tki_buf *b, const cJSON *raw) {
  const char *url = str_member(cJSON_GetObjectItemCaseSensitive(raw, "image_url"), "url");
  if (!url) return 0;
  const char *comma = strstr(url, ";base64,");
  if (!strncmp(url, "data:", 5) && comma) {
    tki_buf_puts(b, "{\"source\":{\"data\":");
    const char *data = comma + 8;
    put_str(b, data, strlen(data));
    tki_buf_puts(b, ",\"media_type\":");
    put_str(b, url + 5, (size_t)(comma - url - 5));
    tki_buf_puts(b, ",\"type\":\"base64\"");
  } else {
    tki_buf_puts(b, "{\"source\":{\"type\":\"url\",\"url\":");
    put_str(b, url, strlen(url));
  }
  tki_buf_puts(b, "},\"type\":\"image\"}");
  return 1;
}

/* A part in `format`: text parts rebuilt (with their unknown fields when the
 * format matches), other parts verbatim unless an image needs converting. */
static int put_part(wr *w, const tki_part *p, int format) {
  tki_buf *b = w->b;
  if (p->text) {
    tki_buf_puts(b, "{\"type\":\"text\",\"text\":");
    put_str(b, p->text, p->text_len);
    if (p->fmt == format && put_extras(w, p->raw)) return nomem(w);
    return tki_buf_putc(b, '}') ? nomem(w) : TKN_OK;
  }
  if (p->fmt != format && p->fmt != TKN_PROVIDER_AUTO) {
    /* Anthropic gives these types a meaning (and checks them) that a part
     * read as OpenAI content does not have: refuse rather than write a block
     * that would not load */
    if (format == TKN_PROVIDER_ANTHROPIC &&
        (!strcmp(p->type, "tool_use") || !strcmp(p->type, "tool_result")))
      return tki_fail(TKN_ERR_UNSUPPORTED,
                     "to_json: a \"%s\" part of OpenAI content has no Anthropic form", p->type);
    int done = 0;
    if (format == TKN_PROVIDER_OPENAI && !strcmp(p->type, "image"))
      done = put_image_as_openai(b, p->raw);
    else if (format == TKN_PROVIDER_ANTHROPIC && !strcmp(p->type, "image_url"))
      done = put_image_as_anthropic(b, p->raw);
    if (done < 0) return nomem(w);
    if (done) return TKN_OK;
  }
  return put_value(w, p->raw) ? nomem(w) : TKN_OK;
}

static int put_parts(wr *w, const tki_msg *m, int format) {
  tki_buf_putc(w->b, '[');
  for (size_t j = 0; j < m->nparts; j++) {
    if (j) tki_buf_putc(w->b, ',');
    int rc = put_part(w, &m->parts[j], format);
    if (rc) return rc;
  }
  return tki_buf_putc(w->b, ']') ? nomem(w) : TKN_OK;
}

static int only_text_parts(const tki_msg *m) {
  for (size_t j = 0; j < m->nparts; j++)
    if (!m->parts[j].text) return 0;
  return 1;
}

/* ---- OpenAI ---- */

/* Content of a message converted from another format: the simplest OpenAI
 * shape that holds it (null beside tool calls, a string for one text part). */
static int put_openai_converted_content(wr *w, const tki_msg *m) {
  tki_buf *b = w->b;
  size_t ntext = m->content == TKI_C_PARTS ? m->nparts : 0;
  if (m->content == TKI_C_STRING) {
    put_str(b, m->text, m->text_len);
  } else if (m->content == TKI_C_PARTS && only_text_parts(m) && ntext == 1) {
    put_str(b, m->parts[0].text, m->parts[0].text_len);
  } else if (m->content == TKI_C_PARTS && ntext > 0) {
    return put_parts(w, m, TKN_PROVIDER_OPENAI);
  } else {
    tki_buf_puts(b, m->ncalls ? "null" : "\"\"");
  }
  return TKN_OK;
}

static int put_openai_call(wr *w, const tki_call *c) {
  tki_buf *b = w->b;
  int same = c->fmt == TKN_PROVIDER_OPENAI;
  tki_buf_puts(b, "{\"id\":");
  put_str(b, c->id, c->id_len);
  tki_buf_puts(b, ",\"function\":{\"name\":");
  put_str(b, c->name, c->name_len);
  tki_buf_puts(b, ",\"arguments\":");
  put_str(b, c->args, c->args_len);
  if (same && put_extras(w, c->fn_extra)) return nomem(w);
  tki_buf_putc(b, '}');
  /* "type" last: where it came from OpenAI it is a kept field, written there */
  if (!same) tki_buf_puts(b, ",\"type\":\"function\"");
  if (same && put_extras(w, c->extra)) return nomem(w);
  return tki_buf_putc(b, '}') ? nomem(w) : TKN_OK;
}

static int put_openai_msg(wr *w, size_t i) {
  const tki_msg *m = &w->conv->msgs[i];
  tki_buf *b = w->b;
  int rc = check_tool(w, m, i);
  if (rc) return rc;
  int same = m->fmt == TKN_PROVIDER_OPENAI || m->fmt == TKN_PROVIDER_AUTO;
  tki_buf_puts(b, "{\"role\":");
  const char *role = tkn_role_name(m->role);
  put_str(b, role, strlen(role));
  if (same && m->content == TKI_C_ABSENT) {
    /* nothing */
  } else {
    put_key(b, "content");
    if (!same) rc = put_openai_converted_content(w, m);
    else if (m->content == TKI_C_NULL) rc = tki_buf_puts(b, "null");
    else if (m->content == TKI_C_STRING) put_str(b, m->text, m->text_len);
    else rc = put_parts(w, m, TKN_PROVIDER_OPENAI);
    if (rc) return rc;
  }
  if (m->name) {
    put_key(b, "name");
    put_str(b, m->name, m->name_len);
  }
  if (m->ncalls) {
    put_key(b, "tool_calls");
    tki_buf_putc(b, '[');
    for (size_t j = 0; j < m->ncalls; j++) {
      if (j) tki_buf_putc(b, ',');
      if ((rc = put_openai_call(w, &m->calls[j]))) return rc;
    }
    tki_buf_putc(b, ']');
  }
  if (m->tcid) {
    put_key(b, "tool_call_id");
    put_str(b, m->tcid, m->tcid_len);
  }
  if (m->fmt == TKN_PROVIDER_OPENAI && put_extras(w, m->extra)) return nomem(w);
  return tki_buf_putc(b, '}') ? nomem(w) : TKN_OK;
}

static int write_openai(wr *w) {
  tkn_conv *conv = w->conv;
  tki_buf *b = w->b;
  if (conv->top_object) tki_buf_puts(b, "{\"messages\":");
  tki_buf_putc(b, '[');
  for (size_t i = 0; i < conv->n; i++) {
    if (i) tki_buf_putc(b, ',');
    int rc = put_openai_msg(w, i);
    if (rc) return rc;
  }
  tki_buf_putc(b, ']');
  if (conv->top_object) {
    if (conv->top_fmt == TKN_PROVIDER_OPENAI && put_extras(w, conv->top_extra)) return nomem(w);
    tki_buf_putc(b, '}');
  }
  return b->failed ? nomem(w) : TKN_OK;
}

/* ---- Anthropic ---- */

static int is_system(const tki_msg *m) {
  return m->role == TKN_ROLE_SYSTEM || m->role == TKN_ROLE_DEVELOPER;
}

static int anth_user(const tki_msg *m) {
  return m->role == TKN_ROLE_USER || m->role == TKN_ROLE_TOOL;
}

/* Whether cur goes in the same Anthropic message as prev. */
static int joinable(const tki_msg *prev, const tki_msg *cur) {
  if (is_system(prev) || is_system(cur) || anth_user(prev) != anth_user(cur)) return 0;
  return cur->anth_join || (cur->role == TKN_ROLE_TOOL && prev->role == TKN_ROLE_TOOL);
}

static int put_tool_use(wr *w, const tki_call *c, size_t i, size_t j) {
  tki_buf *b = w->b;
  tki_buf_puts(b, "{\"type\":\"tool_use\",\"id\":");
  put_str(b, c->id, c->id_len);
  tki_buf_puts(b, ",\"name\":");
  put_str(b, c->name, c->name_len);
  tki_buf_puts(b, ",\"input\":");
  if (c->fmt == TKN_PROVIDER_ANTHROPIC) {
    tki_buf_append(b, c->args, c->args_len); /* canonical JSON made when it was read */
  } else {
    size_t k = 0;
    while (k < c->args_len && strchr(" \t\r\n", c->args[k])) k++;
    if (k == c->args_len) {
      tki_buf_puts(b, "{}"); /* no arguments at all */
    } else {
      char perr[TKI_ERRLEN];
      cJSON *input;
      int rc = tki_json_parse(c->args, c->args_len, TKN_CONV_MAX_INPUT, TKN_CONV_MAX_DEPTH,
                              "arguments", &input, perr);
      if (rc == TKN_ERR_NOMEM) return nomem(w);
      if (rc)
        return tki_fail(TKN_ERR_SCHEMA,
                       "messages[%zu].tool_calls[%zu].arguments: not valid JSON (%s)", i, j,
                       perr);
      if (!cJSON_IsObject(input)) {
        cJSON_Delete(input);
        return tki_fail(TKN_ERR_SCHEMA,
                       "messages[%zu].tool_calls[%zu].arguments: not a JSON object", i, j);
      }
      rc = tki_json_canonical(input, b);
      cJSON_Delete(input);
      if (rc) return nomem(w);
    }
  }
  if (c->fmt == TKN_PROVIDER_ANTHROPIC && put_extras(w, c->extra)) return nomem(w);
  return tki_buf_putc(b, '}') ? nomem(w) : TKN_OK;
}

static int put_tool_result(wr *w, const tki_msg *m) {
  tki_buf *b = w->b;
  int same = m->fmt == TKN_PROVIDER_ANTHROPIC;
  tki_buf_puts(b, "{\"type\":\"tool_result\",\"tool_use_id\":");
  put_str(b, m->tcid, m->tcid_len);
  int rc = TKN_OK;
  if (m->content == TKI_C_STRING) {
    put_key(b, "content");
    put_str(b, m->text, m->text_len);
  } else if (m->content == TKI_C_PARTS) {
    put_key(b, "content");
    rc = put_parts(w, m, TKN_PROVIDER_ANTHROPIC);
  } else if (!same) {
    tki_buf_puts(b, ",\"content\":\"\"");
  }
  if (rc) return rc;
  if (m->is_error >= 0) tki_buf_puts(b, m->is_error ? ",\"is_error\":true" : ",\"is_error\":false");
  if (same && put_extras(w, m->block_extra)) return nomem(w);
  return tki_buf_putc(b, '}') ? nomem(w) : TKN_OK;
}

/* The blocks of one non-tool message, each preceded by a comma if *first is 0. */
static int put_blocks(wr *w, const tki_msg *m, size_t i, int *first) {
  tki_buf *b = w->b;
  int rc;
  if (m->order && m->norder == m->nparts + m->ncalls && m->fmt == TKN_PROVIDER_ANTHROPIC) {
    for (size_t k = 0; k < m->norder; k++) {
      uint32_t e = m->order[k];
      if (!*first) tki_buf_putc(b, ',');
      *first = 0;
      if (e & TKI_ORDER_CALL) rc = put_tool_use(w, &m->calls[e & ~TKI_ORDER_CALL], i, e & ~TKI_ORDER_CALL);
      else rc = put_part(w, &m->parts[e], TKN_PROVIDER_ANTHROPIC);
      if (rc) return rc;
    }
    return TKN_OK;
  }
  if (m->content == TKI_C_STRING && m->text_len) {
    if (!*first) tki_buf_putc(b, ',');
    *first = 0;
    tki_buf_puts(b, "{\"type\":\"text\",\"text\":");
    put_str(b, m->text, m->text_len);
    tki_buf_putc(b, '}');
  } else if (m->content == TKI_C_PARTS) {
    for (size_t j = 0; j < m->nparts; j++) {
      if (!*first) tki_buf_putc(b, ',');
      *first = 0;
      if ((rc = put_part(w, &m->parts[j], TKN_PROVIDER_ANTHROPIC))) return rc;
    }
  }
  for (size_t j = 0; j < m->ncalls; j++) {
    if (!*first) tki_buf_putc(b, ',');
    *first = 0;
    if ((rc = put_tool_use(w, &m->calls[j], i, j))) return rc;
  }
  return TKN_OK;
}

/* Messages [i, j) as one Anthropic message. */
static int put_anthropic_group(wr *w, size_t i, size_t j) {
  tki_buf *b = w->b;
  const tki_msg *m = &w->conv->msgs[i];
  int rc;
  tki_buf_puts(b, m->role == TKN_ROLE_ASSISTANT ? "{\"role\":\"assistant\"" : "{\"role\":\"user\"");
  int simple = j == i + 1 && m->role != TKN_ROLE_TOOL && !m->ncalls && m->content != TKI_C_PARTS;
  if (simple) {
    if (m->content == TKI_C_STRING) {
      put_key(b, "content");
      put_str(b, m->text, m->text_len);
    } else if (m->fmt != TKN_PROVIDER_ANTHROPIC) {
      tki_buf_puts(b, ",\"content\":\"\"");
    }
  } else {
    put_key(b, "content");
    tki_buf_putc(b, '[');
    int first = 1;
    for (size_t k = i; k < j; k++) {
      const tki_msg *mk = &w->conv->msgs[k];
      if ((rc = check_tool(w, mk, k))) return rc;
      if (mk->role == TKN_ROLE_TOOL) {
        if (!first) tki_buf_putc(b, ',');
        first = 0;
        rc = put_tool_result(w, mk);
      } else {
        rc = put_blocks(w, mk, k, &first);
      }
      if (rc) return rc;
    }
    tki_buf_putc(b, ']');
  }
  if (m->fmt == TKN_PROVIDER_ANTHROPIC && put_extras(w, m->extra)) return nomem(w);
  return tki_buf_putc(b, '}') ? nomem(w) : TKN_OK;
}

static int put_system(wr *w, size_t nsys) {
  tkn_conv *conv = w->conv;
  tki_buf *b = w->b;
  const tki_msg *only = NULL;
  for (size_t i = 0; i < conv->n && !only; i++)
    if (is_system(&conv->msgs[i])) only = &conv->msgs[i];
  /* Anthropic's system holds text blocks only: refuse what its reader would */
  for (size_t i = 0; i < conv->n; i++) {
    const tki_msg *m = &conv->msgs[i];
    if (!is_system(m) || m->content != TKI_C_PARTS) continue;
    for (size_t j = 0; j < m->nparts; j++)
      if (!m->parts[j].text)
        return tki_fail(TKN_ERR_UNSUPPORTED,
                       "messages[%zu].content[%zu]: a \"%s\" part has no Anthropic form in "
                       "\"system\" (text only)",
                       i, j, m->parts[j].type);
  }
  tki_buf_puts(b, "\"system\":");
  if (nsys == 1 && only->content != TKI_C_PARTS) {
    if (only->content == TKI_C_STRING) put_str(b, only->text, only->text_len);
    else tki_buf_puts(b, "\"\"");
    return TKN_OK;
  }
  tki_buf_putc(b, '[');
  int first = 1;
  for (size_t i = 0; i < conv->n; i++) {
    const tki_msg *m = &conv->msgs[i];
    if (!is_system(m)) continue;
    int rc = put_blocks(w, m, i, &first);
    if (rc) return rc;
  }
  tki_buf_putc(b, ']');
  return TKN_OK;
}

static int write_anthropic(wr *w) {
  tkn_conv *conv = w->conv;
  tki_buf *b = w->b;
  size_t nsys = 0;
  for (size_t i = 0; i < conv->n; i++) nsys += is_system(&conv->msgs[i]);
  int object = conv->top_object || nsys;
  int rc;
  if (object) {
    tki_buf_putc(b, '{');
    if (nsys) {
      if ((rc = put_system(w, nsys))) return rc;
      tki_buf_putc(b, ',');
    }
    tki_buf_puts(b, "\"messages\":");
  }
  tki_buf_putc(b, '[');
  int first = 1;
  for (size_t i = 0; i < conv->n;) {
    if (is_system(&conv->msgs[i])) {
      i++;
      continue;
    }
    size_t j = i + 1;
    while (j < conv->n && joinable(&conv->msgs[j - 1], &conv->msgs[j])) j++;
    if (!first) tki_buf_putc(b, ',');
    first = 0;
    if ((rc = put_anthropic_group(w, i, j))) return rc;
    i = j;
  }
  tki_buf_putc(b, ']');
  if (object) {
    if (conv->top_fmt == TKN_PROVIDER_ANTHROPIC && put_extras(w, conv->top_extra)) return nomem(w);
    tki_buf_putc(b, '}');
  }
  return b->failed ? nomem(w) : TKN_OK;
}

/* ---- entry points ---- */

int tki_conv_write(tkn_conv *conv, int format, tki_buf *out) {
  wr w = {conv, out, 0};
  return format == TKN_PROVIDER_OPENAI ? write_openai(&w) : write_anthropic(&w);
}

int tki_conv_write_message(tkn_conv *conv, size_t i, int format, tki_buf *out) {
  wr w = {conv, out, 0};
  int rc;
  if (format == TKN_PROVIDER_OPENAI) {
    rc = put_openai_msg(&w, i);
  } else {
    if (is_system(&conv->msgs[i]))
      return tki_fail(TKN_ERR_UNSUPPORTED,
                     "messages[%zu]: a %s message has no Anthropic message form (it goes in the "
                     "top-level \"system\")",
                     i, tkn_role_name(conv->msgs[i].role));
    rc = put_anthropic_group(&w, i, i + 1);
  }
  if (!rc && out->failed) rc = nomem(&w);
  return rc;
}
