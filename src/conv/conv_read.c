/* Reading OpenAI Chat Completions and Anthropic Messages JSON into messages.
 * Modelled fields are checked and copied out; every other field is detached
 * from the parsed tree and kept verbatim ("extra") for writing back. */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "conv_internal.h"

typedef struct rd {
  char *err;
  int fmt;
  tki_conv_data *out;
  char path[64]; /* "messages[3]" or "message": names the message in errors */
} rd;

void tki_conv_data_free(tki_conv_data *d) {
  for (size_t i = 0; i < d->n; i++) tki_msg_free(&d->msgs[i]);
  tki_free(d->msgs);
  cJSON_Delete(d->top_extra);
  memset(d, 0, sizeof *d);
}

static int nomem(rd *r) { return tki_fail(TKN_ERR_NOMEM, "%s: out of memory", r->path); }

static int in_list(const char *key, const char *const *known) {
  for (; *known; known++)
    if (strcmp(key, *known) == 0) return 1;
  return 0;
}

/* Move every member of obj not named in `known` (and every known member but
 * "content" whose value is null, which we do not model either) into *extra.
 * Detached members keep their key and are linked without allocating. */
static int take_extra(cJSON *obj, const char *const *known, cJSON **extra) {
  cJSON *next;
  for (cJSON *c = obj->child; c; c = next) {
    next = c->next;
    if (in_list(c->string, known) && (!cJSON_IsNull(c) || strcmp(c->string, "content") == 0))
      continue;
    if (!*extra && !(*extra = cJSON_CreateObject())) return tki_fail(TKN_ERR_NOMEM, "out of memory");
    cJSON_DetachItemViaPointer(obj, c);
    cJSON_AddItemToArray(*extra, c);
  }
  return TKN_OK;
}

static cJSON *field(const cJSON *obj, const char *key) {
  cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  return v && !cJSON_IsNull(v) ? v : NULL;
}

static int copy_string(rd *r, const cJSON *v, char **s, size_t *len) {
  *len = strlen(v->valuestring);
  *s = tki_strndup(v->valuestring, *len);
  if (*s) *len = tki_json_unmask_nuls(*s, *len);
  return *s ? TKN_OK : nomem(r);
}

/* A string member's text, copied: cJSON allocated its own with cJSON's
 * allocator (the host's), which is not ours to free with. */
static int take_string(rd *r, const cJSON *cv, char **s, size_t *len) {
  size_t n = strlen(cv->valuestring);
  *s = tki_strndup(cv->valuestring, n);
  if (!*s) return nomem(r);
  *len = tki_json_unmask_nuls(*s, n);
  return TKN_OK;
}

/* An optional string member (absent or null: *s stays NULL). */
static int opt_string(rd *r, const cJSON *obj, const char *key, const char *where, char **s,
                      size_t *len) {
  (void)r;
  *s = NULL;
  *len = 0;
  const cJSON *v = field(obj, key);
  if (!v) return TKN_OK;
  if (!cJSON_IsString(v))
    return tki_fail(TKN_ERR_SCHEMA, "%s.%s: expected a string", where, key);
  return take_string(r, v, s, len);
}

static int req_string(rd *r, const cJSON *obj, const char *key, const char *where, char **s,
                      size_t *len) {
  int rc = opt_string(r, obj, key, where, s, len);
  if (!rc && !*s) return tki_fail(TKN_ERR_SCHEMA, "%s: missing \"%s\"", where, key);
  return rc;
}

static tki_msg *push_msg(rd *r) {
  tki_conv_data *d = r->out;
  if (d->n >= TKN_CONV_MAX_MESSAGES) {
    tki_fail(TKN_ERR_LIMIT, "%s: more than %d messages", r->path, TKN_CONV_MAX_MESSAGES);
    return NULL;
  }
  void *arr = d->msgs;
  if (tki_grow(&arr, &d->cap, d->n + 1, sizeof *d->msgs)) {
    nomem(r);
    return NULL;
  }
  d->msgs = arr;
  tki_msg *m = &d->msgs[d->n++];
  memset(m, 0, sizeof *m);
  m->fmt = r->fmt;
  m->is_error = -1;
  return m;
}

static int push_part(rd *r, tki_msg *m, tki_part **out) {
  size_t cap = m->nparts;
  void *arr = m->parts;
  if (tki_grow(&arr, &cap, m->nparts + 1, sizeof *m->parts)) return nomem(r);
  m->parts = arr;
  *out = &m->parts[m->nparts++];
  memset(*out, 0, sizeof **out);
  (*out)->fmt = r->fmt;
  return TKN_OK;
}

static int push_order(rd *r, tki_msg *m, uint32_t entry) {
  size_t cap = m->norder;
  void *arr = m->order;
  if (tki_grow(&arr, &cap, m->norder + 1, sizeof *m->order)) return nomem(r);
  m->order = arr;
  m->order[m->norder++] = entry;
  return TKN_OK;
}

/* One part / block: a text part keeps its text and its other fields; any
 * other part is kept whole (detached from `arr`). */
static int read_part(rd *r, tki_msg *m, cJSON *arr, cJSON *p, const char *where) {
  const cJSON *type = cJSON_GetObjectItemCaseSensitive(p, "type");
  if (!cJSON_IsObject(p) || !cJSON_IsString(type))
    return tki_fail(TKN_ERR_SCHEMA, "%s: expected an object with a string \"type\"",
                   where);
  tki_part *part = NULL;
  int rc = push_part(r, m, &part);
  if (rc) return rc;
  size_t tlen;
  if ((rc = copy_string(r, type, &part->type, &tlen))) return rc;
  if (strcmp(part->type, "text") == 0) {
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(p, "text");
    if (!cJSON_IsString(text))
      return tki_fail(TKN_ERR_SCHEMA, "%s.text: expected a string", where);
    if ((rc = take_string(r, text, &part->text, &part->text_len))) return rc;
    static const char *const known[] = {"type", "text", NULL};
    if (take_extra(p, known, &part->raw)) return nomem(r);
    return TKN_OK;
  }
  part->raw = cJSON_DetachItemViaPointer(arr, p);
  return TKN_OK;
}

static int read_parts(rd *r, tki_msg *m, cJSON *content, const char *what) {
  char where[128];
  size_t j = 0;
  cJSON *next;
  m->content = TKI_C_PARTS;
  for (cJSON *p = content->child; p; p = next, j++) {
    next = p->next;
    snprintf(where, sizeof where, "%s.%s[%zu]", r->path, what, j);
    int rc = read_part(r, m, content, p, where);
    if (rc) return rc;
  }
  return TKN_OK;
}

/* ---- OpenAI ---- */

static int read_openai_call(rd *r, tki_call *c, cJSON *call, const char *where) {
  if (!cJSON_IsObject(call))
    return tki_fail(TKN_ERR_SCHEMA, "%s: expected an object", where);
  c->fmt = TKN_PROVIDER_OPENAI;
  int rc = req_string(r, call, "id", where, &c->id, &c->id_len);
  if (rc) return rc;
  const cJSON *type = field(call, "type");
  if (type && (!cJSON_IsString(type) || strcmp(type->valuestring, "function") != 0))
    return tki_fail(TKN_ERR_UNSUPPORTED,
                   "%s.type: only \"function\" tool calls are supported", where);
  cJSON *fn = field(call, "function");
  if (!cJSON_IsObject(fn))
    return tki_fail(TKN_ERR_SCHEMA, "%s.function: expected an object", where);
  char fwhere[160];
  snprintf(fwhere, sizeof fwhere, "%s.function", where);
  if ((rc = req_string(r, fn, "name", fwhere, &c->name, &c->name_len))) return rc;
  if ((rc = req_string(r, fn, "arguments", fwhere, &c->args, &c->args_len))) return rc;
  static const char *const fn_known[] = {"name", "arguments", NULL};
  static const char *const known[] = {"id", "function", NULL};
  if (take_extra(fn, fn_known, &c->fn_extra) || take_extra(call, known, &c->extra))
    return nomem(r);
  return TKN_OK;
}

static int read_openai_calls(rd *r, tki_msg *m, cJSON *calls) {
  size_t n = (size_t)cJSON_GetArraySize(calls);
  m->calls = tki_calloc(n, sizeof *m->calls);
  if (!m->calls) return nomem(r);
  char where[128];
  size_t j = 0;
  for (cJSON *c = calls->child; c; c = c->next, j++) {
    snprintf(where, sizeof where, "%s.tool_calls[%zu]", r->path, j);
    m->ncalls = j + 1;
    int rc = read_openai_call(r, &m->calls[j], c, where);
    if (rc) return rc;
  }
  return TKN_OK;
}

static int bad_role(rd *r, const cJSON *role) {
  if (!role) return tki_fail(TKN_ERR_SCHEMA, "%s: missing \"role\"", r->path);
  if (!cJSON_IsString(role))
    return tki_fail(TKN_ERR_SCHEMA, "%s.role: expected a string", r->path);
  return tki_fail(TKN_ERR_SCHEMA, "%s.role: unknown role \"%.40s\"", r->path,
                 role->valuestring);
}

static int read_openai_msg(rd *r, cJSON *obj) {
  if (!cJSON_IsObject(obj))
    return tki_fail(TKN_ERR_SCHEMA, "%s: expected a message object", r->path);
  tki_msg *m = push_msg(r);
  if (!m) return tki_fail(TKN_ERR_NOMEM, "out of memory");
  const cJSON *role = field(obj, "role");
  m->role = cJSON_IsString(role) ? tkn_role_from_name(role->valuestring,
                                                      strlen(role->valuestring))
                                 : -1;
  if (m->role < 0) return bad_role(r, role);
  int rc;
  cJSON *content = cJSON_GetObjectItemCaseSensitive(obj, "content");
  if (!content) {
    m->content = TKI_C_ABSENT;
  } else if (cJSON_IsNull(content)) {
    m->content = TKI_C_NULL;
  } else if (cJSON_IsString(content)) {
    m->content = TKI_C_STRING;
    if ((rc = take_string(r, content, &m->text, &m->text_len))) return rc;
  } else if (cJSON_IsArray(content)) {
    if ((rc = read_parts(r, m, content, "content"))) return rc;
  } else {
    return tki_fail(TKN_ERR_SCHEMA,
                   "%s.content: expected a string or an array of parts", r->path);
  }
  if ((rc = opt_string(r, obj, "name", r->path, &m->name, &m->name_len))) return rc;
  cJSON *calls = field(obj, "tool_calls");
  if (calls && !cJSON_IsArray(calls))
    return tki_fail(TKN_ERR_SCHEMA, "%s.tool_calls: expected an array", r->path);
  if (calls && calls->child && m->role != TKN_ROLE_ASSISTANT)
    return tki_fail(TKN_ERR_SCHEMA,
                   "%s.tool_calls: only assistant messages make tool calls", r->path);
  if (calls && calls->child && (rc = read_openai_calls(r, m, calls))) return rc;
  if (m->role == TKN_ROLE_TOOL) {
    if ((rc = opt_string(r, obj, "tool_call_id", r->path, &m->tcid, &m->tcid_len))) return rc;
    if (!m->tcid)
      return tki_fail(TKN_ERR_SCHEMA, "%s: a tool message needs a \"tool_call_id\"",
                     r->path);
  }
  /* "tool_calls" is modelled only when it holds calls ([] or null stays
   * verbatim), "tool_call_id" only on a tool message */
  static const char *const known[] = {"role", "content", "name", NULL};
  static const char *const known_calls[] = {"role", "content", "name", "tool_calls", NULL};
  static const char *const known_tool[] = {"role", "content", "name", "tool_call_id", NULL};
  const char *const *k = m->ncalls ? known_calls : m->role == TKN_ROLE_TOOL ? known_tool : known;
  if (take_extra(obj, k, &m->extra)) return nomem(r);
  return TKN_OK;
}

/* ---- Anthropic ---- */

static int read_tool_use(rd *r, tki_msg *m, cJSON *b, const char *where) {
  size_t cap = m->ncalls;
  void *arr = m->calls;
  if (tki_grow(&arr, &cap, m->ncalls + 1, sizeof *m->calls)) return nomem(r);
  m->calls = arr;
  tki_call *c = &m->calls[m->ncalls++];
  memset(c, 0, sizeof *c);
  c->fmt = TKN_PROVIDER_ANTHROPIC;
  int rc = req_string(r, b, "id", where, &c->id, &c->id_len);
  if (!rc) rc = req_string(r, b, "name", where, &c->name, &c->name_len);
  if (rc) return rc;
  const cJSON *input = cJSON_GetObjectItemCaseSensitive(b, "input");
  if (!cJSON_IsObject(input))
    return tki_fail(TKN_ERR_SCHEMA, "%s.input: expected an object", where);
  tki_buf args;
  tki_buf_init(&args);
  rc = tki_json_canonical(input, &args);
  c->args = tki_buf_steal(&args, &c->args_len);
  if (rc == TKN_ERR_INVALID)
    return tki_fail(TKN_ERR_UNSUPPORTED,
                   "%s.input: a number whose exponent has more than 12 digits", where);
  if (rc || !c->args) return nomem(r);
  static const char *const known[] = {"type", "id", "name", "input", NULL};
  if (take_extra(b, known, &c->extra)) return nomem(r);
  return push_order(r, m, TKI_ORDER_CALL | (uint32_t)(m->ncalls - 1));
}

static int read_tool_result(rd *r, tki_msg *m, cJSON *b, const char *where) {
  m->role = TKN_ROLE_TOOL;
  int rc = opt_string(r, b, "tool_use_id", where, &m->tcid, &m->tcid_len);
  if (rc) return rc;
  if (!m->tcid)
    return tki_fail(TKN_ERR_SCHEMA, "%s: a tool_result needs a \"tool_use_id\"", where);
  cJSON *content = cJSON_GetObjectItemCaseSensitive(b, "content");
  char cwhere[160];
  snprintf(cwhere, sizeof cwhere, "%s.content", where);
  if (!content) {
    m->content = TKI_C_ABSENT;
  } else if (cJSON_IsString(content)) {
    m->content = TKI_C_STRING;
    if ((rc = take_string(r, content, &m->text, &m->text_len))) return rc;
  } else if (cJSON_IsArray(content)) {
    m->content = TKI_C_PARTS;
    size_t j = 0;
    cJSON *next;
    char pwhere[192];
    for (cJSON *p = content->child; p; p = next, j++) {
      next = p->next;
      snprintf(pwhere, sizeof pwhere, "%s[%zu]", cwhere, j);
      if ((rc = read_part(r, m, content, p, pwhere))) return rc;
    }
  } else {
    return tki_fail(TKN_ERR_SCHEMA, "%s: expected a string or an array of blocks",
                   cwhere);
  }
  const cJSON *is_error = field(b, "is_error");
  if (is_error && !cJSON_IsBool(is_error))
    return tki_fail(TKN_ERR_SCHEMA, "%s.is_error: expected true or false", where);
  if (is_error) m->is_error = cJSON_IsTrue(is_error) ? 1 : 0;
  static const char *const known[] = {"type", "tool_use_id", "content", "is_error", NULL};
  if (take_extra(b, known, &m->block_extra)) return nomem(r);
  return TKN_OK;
}

/* An Anthropic message becomes one message, or, for a user message holding
 * tool_result blocks, several: each tool_result a tool message, each run of
 * other blocks a user message, all but the first marked anth_join. */
static int read_anthropic_blocks(rd *r, size_t first, int role, cJSON *content) {
  char where[128];
  size_t j = 0, cur = SIZE_MAX; /* index in out of the message collecting blocks */
  cJSON *next;
  int rc;
  if (!content->child) {
    tki_msg *m = push_msg(r);
    if (!m) return tki_fail(TKN_ERR_NOMEM, "out of memory");
    m->role = role;
    m->content = TKI_C_PARTS;
    return TKN_OK;
  }
  for (cJSON *b = content->child; b; b = next, j++) {
    next = b->next;
    snprintf(where, sizeof where, "%s.content[%zu]", r->path, j);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(b, "type");
    if (!cJSON_IsObject(b) || !cJSON_IsString(type))
      return tki_fail(TKN_ERR_SCHEMA, "%s: expected an object with a string \"type\"",
                     where);
    int is_result = strcmp(type->valuestring, "tool_result") == 0;
    int is_use = strcmp(type->valuestring, "tool_use") == 0;
    if (is_result && role != TKN_ROLE_USER)
      return tki_fail(TKN_ERR_SCHEMA, "%s: a tool_result block belongs in a user message",
                     where);
    if (is_use && role != TKN_ROLE_ASSISTANT)
      return tki_fail(TKN_ERR_SCHEMA,
                     "%s: a tool_use block belongs in an assistant message", where);
    if (is_result || cur == SIZE_MAX) {
      tki_msg *m = push_msg(r);
      if (!m) return tki_fail(TKN_ERR_NOMEM, "out of memory");
      m->role = role;
      m->content = TKI_C_PARTS;
      m->anth_join = r->out->n - 1 > first;
      cur = is_result ? SIZE_MAX : r->out->n - 1;
      if (is_result) {
        if ((rc = read_tool_result(r, m, b, where))) return rc;
        continue;
      }
    }
    tki_msg *m = &r->out->msgs[cur];
    if (is_use) {
      rc = read_tool_use(r, m, b, where);
    } else {
      rc = read_part(r, m, content, b, where);
      if (!rc) rc = push_order(r, m, (uint32_t)(m->nparts - 1));
    }
    if (rc) return rc;
  }
  /* the block order matters only where text and tool calls mix */
  for (size_t i = first; i < r->out->n; i++) {
    tki_msg *m = &r->out->msgs[i];
    if (!m->ncalls) {
      tki_free(m->order);
      m->order = NULL;
      m->norder = 0;
    }
  }
  return TKN_OK;
}

static int read_anthropic_msg(rd *r, cJSON *obj) {
  if (!cJSON_IsObject(obj))
    return tki_fail(TKN_ERR_SCHEMA, "%s: expected a message object", r->path);
  const cJSON *role = field(obj, "role");
  int rl = -1;
  if (cJSON_IsString(role)) {
    if (strcmp(role->valuestring, "user") == 0) rl = TKN_ROLE_USER;
    else if (strcmp(role->valuestring, "assistant") == 0) rl = TKN_ROLE_ASSISTANT;
    else if (tkn_role_from_name(role->valuestring, strlen(role->valuestring)) >= 0)
      return tki_fail(TKN_ERR_SCHEMA,
                     "%s.role: \"%s\" is not a message role in Anthropic Messages (only user "
                     "and assistant; system goes in the top-level \"system\")",
                     r->path, role->valuestring);
  }
  if (rl < 0) return bad_role(r, role);
  size_t first = r->out->n;
  cJSON *content = cJSON_GetObjectItemCaseSensitive(obj, "content");
  int rc;
  if (!content || cJSON_IsString(content)) {
    tki_msg *m = push_msg(r);
    if (!m) return tki_fail(TKN_ERR_NOMEM, "out of memory");
    m->role = rl;
    if (content) {
      m->content = TKI_C_STRING;
      if ((rc = take_string(r, content, &m->text, &m->text_len))) return rc;
    }
  } else if (cJSON_IsArray(content)) {
    if ((rc = read_anthropic_blocks(r, first, rl, content))) return rc;
  } else {
    return tki_fail(TKN_ERR_SCHEMA,
                   "%s.content: expected a string or an array of content blocks", r->path);
  }
  static const char *const known[] = {"role", "content", NULL};
  if (take_extra(obj, known, &r->out->msgs[first].extra)) return nomem(r);
  return TKN_OK;
}

static int read_anthropic_system(rd *r, cJSON *sys) {
  snprintf(r->path, sizeof r->path, "system");
  if (!cJSON_IsString(sys) && !cJSON_IsArray(sys))
    return tki_fail(TKN_ERR_SCHEMA, "system: expected a string or an array of text blocks");
  tki_msg *m = push_msg(r);
  if (!m) return tki_fail(TKN_ERR_NOMEM, "out of memory");
  m->role = TKN_ROLE_SYSTEM;
  if (cJSON_IsString(sys)) {
    m->content = TKI_C_STRING;
    return take_string(r, sys, &m->text, &m->text_len);
  }
  m->content = TKI_C_PARTS;
  size_t j = 0;
  char where[64];
  for (cJSON *b = sys->child; b; b = b->next, j++) {
    snprintf(where, sizeof where, "system[%zu]", j);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(b, "type");
    if (!cJSON_IsString(type) || strcmp(type->valuestring, "text") != 0)
      return tki_fail(TKN_ERR_SCHEMA, "%s: expected a text block", where);
    int rc = read_part(r, m, sys, b, where);
    if (rc) return rc;
  }
  return TKN_OK;
}

/* ---- format detection ---- */

static int block_format(const cJSON *content) {
  if (!cJSON_IsArray(content)) return TKN_PROVIDER_AUTO;
  for (const cJSON *b = content->child; b; b = b->next) {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(b, "type");
    if (!cJSON_IsString(t)) continue;
    const char *s = t->valuestring;
    if (!strcmp(s, "tool_use") || !strcmp(s, "tool_result") || !strcmp(s, "image") ||
        !strcmp(s, "document") || !strcmp(s, "thinking") || !strcmp(s, "redacted_thinking"))
      return TKN_PROVIDER_ANTHROPIC;
    if (!strcmp(s, "image_url") || !strcmp(s, "input_audio") || !strcmp(s, "file") ||
        !strcmp(s, "refusal"))
      return TKN_PROVIDER_OPENAI;
  }
  return TKN_PROVIDER_AUTO;
}

/* Anthropic when there is a top-level "system" or an Anthropic-only block;
 * OpenAI when there is an OpenAI-only role, field or part; OpenAI otherwise
 * (the two formats agree on plain user/assistant text). */
static int detect(const cJSON *root, const cJSON *msgs) {
  if (cJSON_IsObject(root) && cJSON_GetObjectItemCaseSensitive(root, "system"))
    return TKN_PROVIDER_ANTHROPIC;
  for (const cJSON *m = msgs->child; m; m = m->next) {
    if (!cJSON_IsObject(m)) continue;
    const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
    if (cJSON_IsString(role) &&
        (!strcmp(role->valuestring, "system") || !strcmp(role->valuestring, "developer") ||
         !strcmp(role->valuestring, "tool")))
      return TKN_PROVIDER_OPENAI;
    if (cJSON_GetObjectItemCaseSensitive(m, "tool_calls") ||
        cJSON_GetObjectItemCaseSensitive(m, "tool_call_id") ||
        cJSON_GetObjectItemCaseSensitive(m, "name"))
      return TKN_PROVIDER_OPENAI;
    int f = block_format(cJSON_GetObjectItemCaseSensitive(m, "content"));
    if (f != TKN_PROVIDER_AUTO) return f;
  }
  return TKN_PROVIDER_OPENAI;
}

/* ---- duplicate keys ----
 * The last of duplicate keys wins, as in the canonical writer that writes the
 * kept fields back (and as in JSON.parse): earlier duplicates are dropped
 * from the tree before it is read, so what is read and what is written agree
 * (cJSON's lookups would otherwise see the first). */

typedef struct member_ref {
  cJSON *item;
  size_t pos;
} member_ref;

static int member_cmp(const void *a, const void *b) {
  const member_ref *x = a, *y = b;
  int c = strcmp(x->item->string, y->item->string);
  if (c) return c;
  return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static int drop_shadowed_keys(cJSON *v) {
  if (!cJSON_IsObject(v) && !cJSON_IsArray(v)) return TKN_OK;
  size_t k = 0;
  for (cJSON *c = v->child; c; c = c->next) {
    int rc = drop_shadowed_keys(c);
    if (rc) return rc;
    k++;
  }
  if (!cJSON_IsObject(v) || k < 2) return TKN_OK;
  if (k <= 8) { /* small objects: compare in place */
    cJSON *next;
    for (cJSON *c = v->child; c; c = next) {
      next = c->next;
      for (const cJSON *d = c->next; d; d = d->next)
        if (strcmp(c->string, d->string) == 0) {
          cJSON_Delete(cJSON_DetachItemViaPointer(v, c));
          break;
        }
    }
    return TKN_OK;
  }
  member_ref *refs = tki_calloc(k, sizeof *refs);
  if (!refs) return tki_fail(TKN_ERR_NOMEM, "out of memory");
  size_t i = 0;
  for (cJSON *c = v->child; c; c = c->next, i++) refs[i] = (member_ref){c, i};
  qsort(refs, k, sizeof *refs, member_cmp);
  for (i = 0; i + 1 < k; i++)
    if (strcmp(refs[i].item->string, refs[i + 1].item->string) == 0)
      cJSON_Delete(cJSON_DetachItemViaPointer(v, refs[i].item));
  tki_free(refs);
  return TKN_OK;
}

static int parse_tree(const char *json, size_t len, const char *what, cJSON **root,
                      char err[TKI_ERRLEN]) {
  int rc = tki_json_parse(json, len, TKN_CONV_MAX_INPUT, TKN_CONV_MAX_DEPTH, what, root, err);
  if (rc) return rc;
  if (drop_shadowed_keys(*root)) {
    cJSON_Delete(*root);
    *root = NULL;
    return tki_err(err, TKN_ERR_NOMEM, "%s: out of memory", what);
  }
  return TKN_OK;
}

/* ---- entry points ---- */

int tki_conv_read(const char *json, size_t len, int format, tki_conv_data *out,
                  char err[TKI_ERRLEN]) {
  memset(out, 0, sizeof *out);
  cJSON *root;
  int rc = parse_tree(json, len, "conversation", &root, err);
  if (rc) return rc;
  rd r = {err, format, out, "messages"};
  cJSON *msgs = root;
  if (cJSON_IsObject(root)) {
    out->top_object = 1;
    msgs = cJSON_GetObjectItemCaseSensitive(root, "messages");
    if (!msgs) {
      rc = tki_err(err, TKN_ERR_SCHEMA, "conversation: an object without \"messages\"");
      goto done;
    }
  }
  if (!cJSON_IsArray(msgs)) {
    rc = tki_err(err, TKN_ERR_SCHEMA, "%s: expected an array of messages",
                 out->top_object ? "messages" : "conversation");
    goto done;
  }
  int nmsgs = cJSON_GetArraySize(msgs);
  if (nmsgs > TKN_CONV_MAX_MESSAGES) {
    rc = tki_err(err, TKN_ERR_LIMIT, "messages: %d messages exceeds the limit of %d", nmsgs,
                 TKN_CONV_MAX_MESSAGES);
    goto done;
  }
  if (format == TKN_PROVIDER_AUTO) format = detect(root, msgs);
  r.fmt = out->fmt = format;
  if (nmsgs) {
    void *arr = NULL;
    if ((rc = tki_grow(&arr, &out->cap, (size_t)nmsgs + 1, sizeof *out->msgs))) {
      rc = nomem(&r);
      goto done;
    }
    out->msgs = arr;
  }
  if (format == TKN_PROVIDER_ANTHROPIC && out->top_object) {
    cJSON *sys = field(root, "system");
    if (sys && (rc = read_anthropic_system(&r, sys))) goto done;
  }
  size_t i = 0;
  for (cJSON *m = msgs->child; m; m = m->next, i++) {
    snprintf(r.path, sizeof r.path, "messages[%zu]", i);
    rc = format == TKN_PROVIDER_OPENAI ? read_openai_msg(&r, m) : read_anthropic_msg(&r, m);
    if (rc) goto done;
  }
  if (out->top_object) {
    static const char *const known_openai[] = {"messages", NULL};
    static const char *const known_anthropic[] = {"messages", "system", NULL};
    if (take_extra(root, format == TKN_PROVIDER_OPENAI ? known_openai : known_anthropic,
                   &out->top_extra))
      rc = tki_err(err, TKN_ERR_NOMEM, "conversation: out of memory");
  }
done:
  cJSON_Delete(root);
  return rc;
}

int tki_conv_read_message(const char *json, size_t len, int format, tki_conv_data *out,
                          char err[TKI_ERRLEN]) {
  memset(out, 0, sizeof *out);
  cJSON *root;
  int rc = parse_tree(json, len, "message", &root, err);
  if (rc) return rc;
  if (!cJSON_IsObject(root)) {
    cJSON_Delete(root);
    return tki_err(err, TKN_ERR_SCHEMA, "message: expected a message object");
  }
  if (format == TKN_PROVIDER_AUTO) {
    /* detect() scans an array of messages: give it a one-element view */
    cJSON view;
    memset(&view, 0, sizeof view);
    view.type = cJSON_Array;
    view.child = root;
    format = detect(NULL, &view);
  }
  rd r = {err, format, out, "message"};
  out->fmt = format;
  rc = format == TKN_PROVIDER_OPENAI ? read_openai_msg(&r, root) : read_anthropic_msg(&r, root);
  cJSON_Delete(root);
  return rc;
}
