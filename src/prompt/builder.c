/* The prompt builder and the assembled prompt: segments in, a prefix-ordered,
 * linted, canonically serialised and fingerprinted sequence of blocks out.
 * Everything an assembled prompt needs is copied into one arena so that it is
 * immutable and independent of the builder and the conversation. */
#include <string.h>

#include "prompt_internal.h"

#define TOOL_MAX_DEPTH 64

/* ---- names ---- */

const char *tkn_prompt_segment_kind_name(uint32_t kind) {
  static const char *const names[] = {"tools", "static", "reference", "history", "dynamic"};
  return kind < 5 ? names[kind] : NULL;
}

const char *tkn_prompt_stability_name(uint32_t stability) {
  static const char *const names[] = {"static", "session", "volatile"};
  return stability < 3 ? names[stability] : NULL;
}

TKI_DEFINE_INIT(tkn_prompt_options_init, tkn_prompt_options, opts, TKN_PROMPT_OPTIONS_VERSION,
                TKN_PROMPT_OPTIONS_INIT)

/* ---- the builder ---- */

int tkn_prompt_builder_new(tkn_prompt_builder **out, const tkn_prompt_options *opts) {
  if (!out) return tki_fail(TKN_ERR_INVALID, "tkn_prompt_builder_new: out is NULL");
  *out = NULL;
  tkn_prompt_options o = TKN_PROMPT_OPTIONS_INIT;
  if (opts) {
    if (opts->version != TKN_PROMPT_OPTIONS_VERSION) return tki_fail(TKN_ERR_VERSION, "tkn_prompt_builder_new: unknown version");
    if ((opts->strict != 0 && opts->strict != 1) || (opts->keep_order != 0 && opts->keep_order != 1) ||
        (opts->lint_mask & ~TKN_LINT_ALL))
      return tki_fail(TKN_ERR_INVALID, "tkn_prompt_builder_new: %s",
                      opts->strict != 0 && opts->strict != 1 ? "opts->strict is not 0 or 1"
                      : opts->keep_order != 0 && opts->keep_order != 1
                          ? "opts->keep_order is not 0 or 1"
                          : "opts->lint_mask has bits outside TKN_LINT_ALL");
    o = *opts;
  }
  tkn_prompt_builder *b = tki_calloc(1, sizeof *b);
  if (!b) return tki_fail(TKN_ERR_NOMEM, "tkn_prompt_builder_new: out of memory");
  b->opts = o;
  b->tools_index = b->history_index = TKN_PROMPT_NONE;
  *out = b;
  return TKN_OK;
}

static void free_tool(tki_ptool *t) {
  tki_free(t->lint.v);
  tki_free(t->name);
  tki_free(t->desc);
  tki_free(t->params);
}

void tkn_prompt_builder_clear(tkn_prompt_builder *b) {
  if (!b) return;
  for (size_t i = 0; i < b->nseg; i++) {
    tki_free(b->segs[i].name);
    tki_free(b->segs[i].text);
    tki_free(b->segs[i].lint.v);
  }
  for (size_t i = 0; i < b->ntools; i++) free_tool(&b->tools[i]);
  b->nseg = b->ntools = 0;
  b->tools_index = b->history_index = TKN_PROMPT_NONE;
  b->conv = NULL;
}

void tkn_prompt_builder_free(tkn_prompt_builder *b) {
  if (!b) return;
  tkn_prompt_builder_clear(b);
  tki_free(b->segs);
  tki_free(b->tools);
  tki_free(b);
}


/* Append a segment (name copied); *idx gets its index. */
static int push_seg(tkn_prompt_builder *b, uint32_t kind, uint32_t stability, const char *name,
                    size_t name_len, uint32_t *idx) {
  if (b->nseg >= TKN_PROMPT_MAX_SEGMENTS)
    return tki_fail(TKN_ERR_LIMIT, "prompt: more than %d segments", TKN_PROMPT_MAX_SEGMENTS);
  if (tki_grow((void **)&b->segs, &b->segcap, b->nseg + 1, sizeof *b->segs))
    return tki_fail(TKN_ERR_NOMEM, "prompt: out of memory adding a segment");
  char *n = tki_strndup(name ? name : "", name_len);
  if (!n) return tki_fail(TKN_ERR_NOMEM, "prompt: out of memory adding a segment");
  tki_pseg *s = &b->segs[b->nseg];
  memset(s, 0, sizeof *s);
  s->kind = kind;
  s->stability = stability;
  s->ttl = TKN_CACHE_TTL_5M;
  s->present = 1;
  s->name = n;
  s->name_len = name_len;
  *idx = (uint32_t)b->nseg++;
  return TKN_OK;
}

static int check_name(tkn_prompt_builder *b, const char *name, size_t len) {
  (void)b;
  if (!name && len) return tki_fail(TKN_ERR_INVALID, "prompt: segment name is NULL");
  if (len > TKN_PROMPT_MAX_NAME)
    return tki_fail(TKN_ERR_LIMIT, "prompt: segment name of %zu bytes (limit %d)", len,
                   TKN_PROMPT_MAX_NAME);
  size_t bad;
  if (name && !tki_utf8_valid(name, len, &bad))
    return tki_fail(TKN_ERR_UTF8, "prompt: segment name: invalid UTF-8 at byte %zu", bad);
  return TKN_OK;
}

int tkn_prompt_builder_add_text(tkn_prompt_builder *b, uint32_t kind, uint32_t stability,
                                const char *name, size_t name_len, const char *text,
                                size_t text_len, uint32_t *index) {
  name_len = tki_len(name, name_len);
  text_len = tki_len(text, text_len);
  if (!b) return tki_fail(TKN_ERR_INVALID, "tkn_prompt_builder_add_text: b is NULL");
  if (kind != TKN_SEG_STATIC && kind != TKN_SEG_REFERENCE && kind != TKN_SEG_DYNAMIC)
    return tki_fail(TKN_ERR_INVALID,
                   "prompt: text segment kind %u (want static, reference or dynamic)", kind);
  if (stability > TKN_STABILITY_VOLATILE)
    return tki_fail(TKN_ERR_INVALID, "prompt: unknown stability class %u", stability);
  if (!text && text_len) return tki_fail(TKN_ERR_INVALID, "prompt: segment text is NULL");
  int rc = check_name(b, name, name_len);
  if (rc) return rc;
  if (text_len > TKN_PROMPT_MAX_TEXT)
    return tki_fail(TKN_ERR_LIMIT, "prompt: segment `%.*s`: %zu bytes (limit %zu)",
                   (int)name_len, name ? name : "", text_len, TKN_PROMPT_MAX_TEXT);
  size_t bad;
  if (!tki_utf8_valid(text ? text : "", text_len, &bad))
    return tki_fail(TKN_ERR_UTF8, "prompt: segment `%.*s`: invalid UTF-8 at byte %zu",
                   (int)name_len, name ? name : "", bad);
  char *copy = tki_strndup(text ? text : "", text_len);
  if (!copy) return tki_fail(TKN_ERR_NOMEM, "prompt: out of memory copying a segment");
  uint32_t idx;
  rc = push_seg(b, kind, stability, name, name_len, &idx);
  if (rc) {
    tki_free(copy);
    return rc;
  }
  b->segs[idx].text = copy;
  b->segs[idx].text_len = text_len;
  if (index) *index = idx;
  return TKN_OK;
}

static const cJSON *get(const cJSON *obj, const char *key) {
  return cJSON_GetObjectItemCaseSensitive(obj, key);
}

int tki_tool_fields(const cJSON *root, const char *who, size_t idx, const cJSON **def,
                    const cJSON **name, const cJSON **desc, const cJSON **params) {
  *def = root;
  const cJSON *fn = get(root, "function");
  const cJSON *type = get(root, "type");
  if (cJSON_IsObject(fn) && cJSON_IsString(type) && strcmp(type->valuestring, "function") == 0)
    *def = fn;
  *name = get(*def, "name");
  if (!cJSON_IsString(*name) || !(*name)->valuestring[0])
    return tki_fail(TKN_ERR_SCHEMA, "%s: tool %zu: no \"name\" string", who, idx);
  *desc = get(*def, "description");
  if (*desc && !cJSON_IsString(*desc) && !cJSON_IsNull(*desc))
    return tki_fail(TKN_ERR_SCHEMA, "%s: tool `%s`: \"description\" is not a string", who,
                    (*name)->valuestring);
  if (cJSON_IsNull(*desc)) *desc = NULL;
  *params = get(*def, "parameters");
  if (!*params) *params = get(*def, "input_schema");
  if (*params && !cJSON_IsObject(*params))
    return tki_fail(TKN_ERR_SCHEMA, "%s: tool `%s`: the parameter schema is not an object", who,
                    (*name)->valuestring);
  return TKN_OK;
}

/* Parse and normalise one tool definition into *t. */
static int parse_tool(tkn_prompt_builder *b, const cJSON *root, tki_ptool *t) {
  const cJSON *def = NULL, *name = NULL, *desc = NULL, *params = NULL;
  int rc = tki_tool_fields(root, "prompt", b->ntools, &def, &name, &desc, &params);
  if (rc) return rc;
  const cJSON *defer = get(def, "defer_loading");
  if (!defer) defer = get(root, "defer_loading");
  if (defer && !cJSON_IsBool(defer))
    return tki_fail(TKN_ERR_SCHEMA, "prompt: tool `%s`: \"defer_loading\" is not a boolean",
                   name->valuestring);
  t->deferred = cJSON_IsTrue(defer);
  t->name_len = strlen(name->valuestring);
  t->name = tki_strndup(name->valuestring, t->name_len);
  if (!t->name) goto nomem;
  t->name_len = tki_json_unmask_nuls(t->name, t->name_len);
  if (cJSON_IsString(desc)) {
    t->desc_len = strlen(desc->valuestring);
    t->desc = tki_strndup(desc->valuestring, t->desc_len);
    if (!t->desc) goto nomem;
    t->desc_len = tki_json_unmask_nuls(t->desc, t->desc_len);
  }
  if (params) {
    tki_buf pb;
    tki_buf_init(&pb);
    rc = tki_json_canonical(params, &pb);
    if (rc || pb.failed) {
      tki_buf_free(&pb);
      if (rc == TKN_ERR_NOMEM || pb.failed || !rc) goto nomem;
      return tki_fail(rc, "prompt: tool `%s`: the parameter schema cannot be serialised",
                     name->valuestring);
    }
    t->params = tki_buf_steal(&pb, &t->params_len);
    if (!t->params) goto nomem;
  }
  return TKN_OK;
nomem:
  return tki_fail(TKN_ERR_NOMEM, "prompt: out of memory reading a tool");
}

int tkn_prompt_builder_add_tool(tkn_prompt_builder *b, const char *json, size_t len,
                                uint32_t *index) {
  len = tki_len(json, len);
  if (!b) return tki_fail_null("tkn_prompt_builder_add_tool", "b");
  if (!json) return tki_fail_null("tkn_prompt_builder_add_tool", "json");
  if (b->ntools >= TKN_PROMPT_MAX_TOOLS)
    return tki_fail(TKN_ERR_LIMIT, "prompt: more than %d tools", TKN_PROMPT_MAX_TOOLS);
  cJSON *root = NULL;
  int rc = tki_json_parse(json, len, TKN_PROMPT_MAX_TEXT, TOOL_MAX_DEPTH, "tool definition", &root,
                          NULL);
  if (rc) return rc;
  tki_ptool t = {0};
  if (!cJSON_IsObject(root))
    rc = tki_fail(TKN_ERR_SCHEMA, "prompt: tool %zu: not a JSON object", b->ntools);
  else
    rc = parse_tool(b, root, &t);
  cJSON_Delete(root);
  for (size_t i = 0; !rc && i < b->ntools; i++)
    if (b->tools[i].name_len == t.name_len && memcmp(b->tools[i].name, t.name, t.name_len) == 0)
      rc = tki_fail(TKN_ERR_DUPLICATE, "prompt: tool `%s` is already defined", t.name);
  if (!rc && tki_grow((void **)&b->tools, &b->toolcap, b->ntools + 1, sizeof *b->tools))
    rc = tki_fail(TKN_ERR_NOMEM, "prompt: out of memory adding a tool");
  if (!rc && b->tools_index == TKN_PROMPT_NONE)
    rc = push_seg(b, TKN_SEG_TOOLS, TKN_STABILITY_STATIC, "tools", 5, &b->tools_index);
  if (rc) {
    free_tool(&t);
    return rc;
  }
  b->tools[b->ntools++] = t;
  if (index) *index = b->tools_index;
  return TKN_OK;
}

int tkn_prompt_builder_set_history(tkn_prompt_builder *b, tkn_conv *conv, uint32_t stability,
                                   uint32_t *index) {
  if (!b) return tki_fail(TKN_ERR_INVALID, "tkn_prompt_builder_set_history: b is NULL");
  if (stability > TKN_STABILITY_VOLATILE)
    return tki_fail(TKN_ERR_INVALID, "prompt: unknown stability class %u", stability);
  if (b->history_index == TKN_PROMPT_NONE) {
    if (!conv) return TKN_OK;
    int rc = push_seg(b, TKN_SEG_HISTORY, stability, "history", 7, &b->history_index);
    if (rc) return rc;
  }
  tki_pseg *s = &b->segs[b->history_index];
  s->present = conv != NULL;
  s->stability = stability;
  b->conv = conv;
  if (index) *index = b->history_index;
  return TKN_OK;
}

int tkn_prompt_builder_set_ttl(tkn_prompt_builder *b, uint32_t index, uint32_t ttl) {
  if (!b) return tki_fail(TKN_ERR_INVALID, "tkn_prompt_builder_set_ttl: b is NULL");
  if (index >= b->nseg)
    return tki_fail(TKN_ERR_INVALID, "prompt: no segment %u (have %zu)", index, b->nseg);
  if (ttl != TKN_CACHE_TTL_5M && ttl != TKN_CACHE_TTL_1H)
    return tki_fail(TKN_ERR_INVALID, "prompt: unknown cache TTL %u", ttl);
  b->segs[index].ttl = ttl;
  return TKN_OK;
}

/* ---- assembly ---- */

typedef struct asm_ctx {
  tkn_prompt_builder *b;
  const tkn_tokenizer *tok;
  tki_buf arena;
  tki_aseg *segs;
  size_t segcap;
  tki_block *blocks;
  size_t nblock, blockcap;
  tki_atool *tools;
  size_t toolcap;
  tki_findings findings;
  uint64_t fp;
  tkn_prompt *shell; /* an earlier prompt's struct, reused for the result */
} asm_ctx;

/* Take over the memory of an earlier prompt, to assemble into. */
static void asm_adopt(asm_ctx *c, tkn_prompt *p) {
  c->arena.data = p->arena;
  c->arena.cap = p->arena_cap;
  c->arena.len = 0;
  if (c->arena.data) c->arena.data[0] = '\0';
  c->segs = p->segs;
  c->segcap = p->seg_cap;
  c->blocks = p->blocks;
  c->blockcap = p->block_cap;
  c->tools = p->tools;
  c->toolcap = p->tool_cap;
  c->findings.v = p->findings;
  c->findings.cap = p->finding_cap;
  c->findings.n = 0;
  memset(p, 0, sizeof *p);
  c->shell = p;
}

static tki_block *new_block(asm_ctx *c, uint32_t seg, uint32_t item) {
  if (tki_grow((void **)&c->blocks, &c->blockcap, c->nblock + 1, sizeof *c->blocks)) return NULL;
  tki_block *blk = &c->blocks[c->nblock++];
  memset(blk, 0, sizeof *blk);
  blk->segment = seg;
  blk->item = item;
  blk->an_bad_args = -1;
  blk->off = c->arena.len;
  return blk;
}

static int count_tokens(asm_ctx *c, const char *what, const char *text, size_t len, int64_t *out) {
  int rc = tkn_tokenizer_count(c->tok, text, len, out);
  if (rc)
    return tki_fail(rc, "prompt: counting the tokens of %s failed (%s)", what,
                   tkn_strerror(rc));
  return TKN_OK;
}

static int append_text_block(asm_ctx *c, uint32_t si, const tki_pseg *s) {
  tki_block *blk = new_block(c, si, TKN_PROMPT_NONE);
  if (!blk || tki_buf_append(&c->arena, s->text, s->text_len))
    return tki_fail(TKN_ERR_NOMEM, "prompt: out of memory assembling");
  blk->len = s->text_len;
  return count_tokens(c, "a text segment", s->text, s->text_len, &blk->tokens);
}

/* {"description":...,"name":...,"parameters":...}: keys already in canonical order. */
static int append_tool_blocks(asm_ctx *c, uint32_t si) {
  const tkn_prompt_builder *b = c->b;
  for (size_t i = 0; i < b->ntools; i++) {
    const tki_ptool *t = &b->tools[i];
    tki_block *blk = new_block(c, si, (uint32_t)i);
    if (!blk) return tki_fail(TKN_ERR_NOMEM, "prompt: out of memory assembling");
    tki_buf *a = &c->arena;
    tki_atool *at = &c->tools[i];
    memset(at, 0, sizeof *at);
    tki_buf_putc(a, '{');
    if (t->desc) {
      tki_buf_puts(a, "\"description\":");
      tki_prompt_json_string(a, t->desc, t->desc_len);
      tki_buf_putc(a, ',');
    }
    tki_buf_puts(a, "\"name\":");
    tki_prompt_json_string(a, t->name, t->name_len);
    at->has_desc = t->desc != NULL;
    at->deferred = t->deferred;
    at->name_len = t->name_len;
    at->desc_len = t->desc_len;
    if (t->params) {
      tki_buf_puts(a, ",\"parameters\":");
      at->has_params = 1;
      at->params_off = a->len;
      at->params_len = t->params_len;
      tki_buf_append(a, t->params, t->params_len);
    }
    tki_buf_putc(a, '}');
    if (a->failed) return tki_fail(TKN_ERR_NOMEM, "prompt: out of memory assembling");
    blk->len = a->len - blk->off;
    int rc = count_tokens(c, "a tool definition", a->data + blk->off, blk->len, &blk->tokens);
    if (rc) return rc;
  }
  return TKN_OK;
}

/* Raw copies of the tool names and descriptions after the blocks, for the
 * renderer (which writes them in each provider's shape). */
static int store_tool_raw(asm_ctx *c) {
  const tkn_prompt_builder *b = c->b;
  for (size_t i = 0; i < b->ntools; i++) {
    const tki_ptool *t = &b->tools[i];
    tki_atool *at = &c->tools[i];
    at->name_off = c->arena.len;
    tki_buf_append(&c->arena, t->name, t->name_len);
    if (t->desc) {
      at->desc_off = c->arena.len;
      tki_buf_append(&c->arena, t->desc, t->desc_len);
    }
  }
  return c->arena.failed ? tki_fail(TKN_ERR_NOMEM, "prompt: out of memory assembling")
                         : TKN_OK;
}

static int append_history_blocks(asm_ctx *c, uint32_t si) {
  size_t n = tkn_conv_count(c->b->conv);
  int leading = 1;
  for (size_t i = 0; i < n; i++) {
    tki_block *blk = new_block(c, si, (uint32_t)i);
    if (!blk) return tki_fail(TKN_ERR_NOMEM, "prompt: out of memory assembling");
    int rc = tki_history_block(c->b->conv, i, c->tok, &c->arena, blk, &leading, NULL);
    if (rc) return rc;
  }
  return TKN_OK;
}

/* Prefix order: tools first, then text and history segments by kind (a
 * stable sort) or as added. */
static size_t order_segments(const tkn_prompt_builder *b, uint32_t *order) {
  size_t n = 0;
  if (b->tools_index != TKN_PROMPT_NONE) order[n++] = b->tools_index;
  for (uint32_t kind = TKN_SEG_STATIC; kind <= TKN_SEG_DYNAMIC; kind++) {
    for (size_t i = 0; i < b->nseg; i++) {
      const tki_pseg *s = &b->segs[i];
      if (!s->present || s->kind == TKN_SEG_TOOLS) continue;
      if (b->opts.keep_order ? kind == TKN_SEG_STATIC : s->kind == kind) order[n++] = (uint32_t)i;
    }
  }
  return n;
}

/* Lint the blocks of a static segment; offsets are within the segment.  The
 * findings of a text segment or a tool are kept in the builder, so that a
 * static prefix assembled for every request is linted once. */
static int lint_segment(asm_ctx *c, uint32_t si) {
  tki_aseg *s = &c->segs[si];
  tkn_prompt_builder *b = c->b;
  size_t base = 0;
  for (uint32_t k = 0; k < s->block_count; k++) {
    const tki_block *blk = &c->blocks[s->first_block + k];
    tki_findings fresh = {0}, *cache = &fresh;
    int *linted = NULL;
    if (s->kind == TKN_SEG_TOOLS) {
      cache = &b->tools[blk->item].lint;
      linted = &b->tools[blk->item].linted;
    } else if (s->kind != TKN_SEG_HISTORY) {
      cache = &b->segs[s->added_index].lint;
      linted = &b->segs[s->added_index].linted;
    }
    if (!linted || !*linted) {
      if (tki_prompt_lint(c->arena.data + blk->off, blk->len, b->opts.lint_mask, 0, cache)) {
        tki_free(cache->v);
        memset(cache, 0, sizeof *cache);
        return tki_fail(TKN_ERR_NOMEM, "prompt: out of memory linting");
      }
      if (linted) *linted = 1;
    }
    int rc = TKN_OK;
    for (size_t f = 0; f < cache->n && !rc; f++) {
      const tkn_prompt_finding *x = &cache->v[f];
      rc = tki_findings_push(&c->findings, x->kind, si, TKN_PROMPT_NONE, x->offset + base,
                             x->length);
      s->lint_kinds |= 1u << x->kind;
    }
    tki_free(fresh.v);
    if (rc) return tki_fail(TKN_ERR_NOMEM, "prompt: out of memory linting");
    base += blk->len;
  }
  return TKN_OK;
}

/* Volatile content before more stable content costs the cache everything
 * after it: report each segment followed by a more stable one. */
static int check_order(asm_ctx *c, size_t nseg) {
  for (size_t i = 0; i < nseg; i++) {
    for (size_t j = i + 1; j < nseg; j++) {
      if (c->segs[j].stability < c->segs[i].stability) {
        if (tki_findings_push(&c->findings, TKN_ISSUE_ORDER, (uint32_t)i, (uint32_t)j, 0, 0))
          return tki_fail(TKN_ERR_NOMEM, "prompt: out of memory");
        break;
      }
    }
  }
  return TKN_OK;
}

static int strict_failure(asm_ctx *c) {
  const tkn_prompt_finding *f = &c->findings.v[0];
  const tki_aseg *s = &c->segs[f->segment];
  const char *name = c->arena.data + s->name_off;
  if (f->kind == TKN_ISSUE_ORDER) {
    const tki_aseg *o = &c->segs[f->other];
    return tki_fail(TKN_ERR_SCHEMA,
                   "prompt: segment `%.*s` (%s) sits before the more stable segment `%.*s` (%s)",
                   (int)s->name_len, name, tkn_prompt_stability_name(s->stability),
                   (int)o->name_len, c->arena.data + o->name_off,
                   tkn_prompt_stability_name(o->stability));
  }
  /* the finding's text, located through the segment's blocks */
  uint64_t off = f->offset;
  const char *text = "";
  for (uint32_t k = 0; k < s->block_count; k++) {
    const tki_block *blk = &c->blocks[s->first_block + k];
    if (off < blk->len) {
      text = c->arena.data + blk->off + off;
      break;
    }
    off -= blk->len;
  }
  return tki_fail(TKN_ERR_SCHEMA,
                 "prompt: static segment `%.*s` holds a %s at byte %llu: \"%.*s\"",
                 (int)s->name_len, name, tkn_prompt_issue_name(f->kind),
                 (unsigned long long)f->offset, (int)(f->length > 64 ? 64 : f->length), text);
}

static void asm_release(asm_ctx *c) {
  tki_buf_free(&c->arena);
  tki_free(c->segs);
  tki_free(c->blocks);
  tki_free(c->tools);
  tki_free(c->findings.v);
  tki_free(c->shell);
}

/* The blocks the assembly will make: one per tool, text segment and message. */
static size_t count_blocks(const tkn_prompt_builder *b, const uint32_t *order, size_t nseg) {
  size_t n = 0;
  for (size_t i = 0; i < nseg; i++) {
    const tki_pseg *s = &b->segs[order[i]];
    n += s->kind == TKN_SEG_TOOLS ? b->ntools
         : s->kind == TKN_SEG_HISTORY ? tkn_conv_count(b->conv)
                                      : 1;
  }
  return n;
}

static int assemble(asm_ctx *c, tkn_prompt **out) {
  tkn_prompt_builder *b = c->b;
  uint32_t order[TKN_PROMPT_MAX_SEGMENTS];
  size_t nseg = order_segments(b, order);
  /* the previous assembly's size: the next request is usually a little longer */
  if (b->arena_hint && tki_buf_reserve(&c->arena, b->arena_hint + b->arena_hint / 16))
    return tki_fail(TKN_ERR_NOMEM, "prompt: out of memory");
  if (tki_grow((void **)&c->segs, &c->segcap, nseg ? nseg : 1, sizeof *c->segs) ||
      tki_grow((void **)&c->tools, &c->toolcap, b->ntools ? b->ntools : 1, sizeof *c->tools) ||
      tki_grow((void **)&c->blocks, &c->blockcap, count_blocks(b, order, nseg), sizeof *c->blocks))
    return tki_fail(TKN_ERR_NOMEM, "prompt: out of memory");
  memset(c->segs, 0, (nseg ? nseg : 1) * sizeof *c->segs);
  uint32_t history_seg = TKN_PROMPT_NONE, split = (uint32_t)nseg;
  int64_t total = 0;
  uint64_t version = 0;
  int leading_static = 1;
  for (uint32_t si = 0; si < nseg; si++) {
    const tki_pseg *ps = &b->segs[order[si]];
    tki_aseg *s = &c->segs[si];
    s->kind = ps->kind;
    s->stability = ps->stability;
    s->ttl = ps->ttl;
    s->added_index = order[si];
    s->name_off = c->arena.len;
    s->name_len = ps->name_len;
    tki_buf_append(&c->arena, ps->name, ps->name_len);
    tki_buf_putc(&c->arena, '\0');
    if (c->arena.failed) return tki_fail(TKN_ERR_NOMEM, "prompt: out of memory");
    s->first_block = (uint32_t)c->nblock;
    int rc;
    if (ps->kind == TKN_SEG_TOOLS) rc = append_tool_blocks(c, si);
    else if (ps->kind == TKN_SEG_HISTORY) rc = append_history_blocks(c, si);
    else rc = append_text_block(c, si, ps);
    if (rc) return rc;
    s->block_count = (uint32_t)(c->nblock - s->first_block);
    for (size_t k = s->first_block; k < c->nblock; k++) {
      tki_block *blk = &c->blocks[k];
      c->fp = tki_hash64(c->arena.data + blk->off, blk->len, c->fp);
      blk->fp = c->fp;
      s->bytes += blk->len;
      if (tki_add_i64(s->tokens, blk->tokens, &s->tokens))
        return tki_fail(TKN_ERR_OVERFLOW, "prompt: token count overflows");
    }
    s->fp = c->fp;
    if (tki_add_i64(total, s->tokens, &total))
      return tki_fail(TKN_ERR_OVERFLOW, "prompt: token count overflows");
    if (ps->stability != TKN_STABILITY_STATIC) leading_static = 0;
    if (leading_static) version = c->fp;
    if (ps->kind == TKN_SEG_HISTORY) history_seg = split = si;
    if (ps->kind == TKN_SEG_DYNAMIC && history_seg == TKN_PROMPT_NONE && split == nseg) split = si;
    if (ps->stability == TKN_STABILITY_STATIC && b->opts.lint_mask && (rc = lint_segment(c, si)))
      return rc;
  }
  if (history_seg != TKN_PROMPT_NONE) split = history_seg;
  int rc = check_order(c, nseg);
  if (rc) return rc;
  if (b->opts.strict && c->findings.n) return strict_failure(c);
  if (store_tool_raw(c)) return tki_fail(TKN_ERR_NOMEM, "out of memory");

  tkn_prompt *p = c->shell ? c->shell : tki_calloc(1, sizeof *p);
  if (!p || tki_buf_reserve(&c->arena, 0))
    return tki_fail(TKN_ERR_NOMEM, "prompt: out of memory");
  c->shell = NULL;
  b->arena_hint = c->arena.len;
  p->arena_cap = c->arena.cap;
  p->arena = tki_buf_steal(&c->arena, &p->arena_len);
  p->segs = c->segs;
  p->nseg = nseg;
  p->seg_cap = c->segcap;
  p->blocks = c->blocks;
  p->nblock = c->nblock;
  p->block_cap = c->blockcap;
  p->tools = c->tools;
  p->ntools = b->ntools;
  p->tool_cap = c->toolcap;
  p->findings = c->findings.v;
  p->nfinding = c->findings.n;
  p->finding_cap = c->findings.cap;
  p->version = version;
  p->tokens = total;
  p->history_seg = history_seg;
  p->split_seg = split;
  c->segs = NULL;
  c->blocks = NULL;
  c->tools = NULL;
  c->findings.v = NULL;
  *out = p;
  return TKN_OK;
}

/* Assemble into *out, reusing the memory of `old` (may be NULL), which is
 * freed on failure. */
static int assemble_reusing(const char *fn, tkn_prompt **out, tkn_prompt_builder *b,
                            const tkn_tokenizer *tok, tkn_prompt *old) {
  asm_ctx c;
  memset(&c, 0, sizeof c);
  tki_buf_init(&c.arena);
  if (old) asm_adopt(&c, old);
  c.b = b;
  c.tok = tok;
  int rc;
  if (!b) rc = tki_fail_null(fn, "b");
  else if (!tok) rc = tki_fail(TKN_ERR_INVALID, "%s: tok is NULL (no tokenizer to count with)", fn);
  else rc = assemble(&c, out);
  asm_release(&c);
  return rc;
}

int tkn_prompt_assemble(tkn_prompt **out, tkn_prompt_builder *b, const tkn_tokenizer *tok) {
  if (!out) return tki_fail_null("tkn_prompt_assemble", "out");
  *out = NULL;
  return assemble_reusing("tkn_prompt_assemble", out, b, tok, NULL);
}

int tkn_prompt_assemble_into(tkn_prompt **p, tkn_prompt_builder *b, const tkn_tokenizer *tok) {
  if (!p) return tki_fail_null("tkn_prompt_assemble_into", "p");
  tkn_prompt *old = *p;
  *p = NULL;
  return assemble_reusing("tkn_prompt_assemble_into", p, b, tok, old);
}

/* ---- the assembled prompt ---- */

void tkn_prompt_free(tkn_prompt *p) {
  if (!p) return;
  tki_free(p->arena);
  tki_free(p->segs);
  tki_free(p->blocks);
  tki_free(p->tools);
  tki_free(p->findings);
  tki_free(p);
}

size_t tkn_prompt_segment_count(const tkn_prompt *p) { return p ? p->nseg : 0; }

/* A segment's own content hash, computed when asked (diffs are rare; every
 * assembly would pay for it otherwise). */
static uint64_t content_hash(const tkn_prompt *p, const tki_aseg *s) {
  uint64_t h = 0;
  for (uint32_t k = 0; k < s->block_count; k++) {
    const tki_block *blk = &p->blocks[s->first_block + k];
    h = tki_hash64(p->arena + blk->off, blk->len, h);
  }
  return h;
}

int tkn_prompt_segment(const tkn_prompt *p, size_t i, tkn_prompt_segment_info *info) {
  if (!p || !info) return tki_fail_null("tkn_prompt_segment", !p ? "p" : "info");
  if (i >= p->nseg)
    return tki_fail(TKN_ERR_INVALID, "tkn_prompt_segment: index i = %zu past the end (%zu "
                    "segments)", i, p->nseg);
  if (info->version != TKN_PROMPT_SEGMENT_INFO_VERSION) return tki_fail(TKN_ERR_VERSION, "tkn_prompt_segment: unknown version");
  const tki_aseg *s = &p->segs[i];
  memset(info, 0, sizeof *info);
  info->version = TKN_PROMPT_SEGMENT_INFO_VERSION;
  info->kind = s->kind;
  info->stability = s->stability;
  info->ttl = s->ttl;
  info->added_index = s->added_index;
  info->first_block = s->first_block;
  info->block_count = s->block_count;
  info->name = p->arena + s->name_off;
  info->name_len = s->name_len;
  info->bytes = s->bytes;
  info->tokens = s->tokens;
  info->content_hash = content_hash(p, s);
  info->fingerprint = s->fp;
  return TKN_OK;
}

size_t tkn_prompt_block_count(const tkn_prompt *p) { return p ? p->nblock : 0; }

int tkn_prompt_block(const tkn_prompt *p, size_t i, uint32_t *segment, int64_t *tokens,
                     uint64_t *fingerprint) {
  if (!p) return tki_fail_null("tkn_prompt_block", "p");
  if (i >= p->nblock)
    return tki_fail(TKN_ERR_INVALID, "tkn_prompt_block: index i = %zu past the end (%zu blocks)",
                    i, p->nblock);
  if (segment) *segment = p->blocks[i].segment;
  if (tokens) *tokens = p->blocks[i].tokens;
  if (fingerprint) *fingerprint = p->blocks[i].fp;
  return TKN_OK;
}

uint64_t tkn_prompt_fingerprint(const tkn_prompt *p) {
  return p && p->nblock ? p->blocks[p->nblock - 1].fp : 0;
}

uint64_t tkn_prompt_version(const tkn_prompt *p) { return p ? p->version : 0; }

int64_t tkn_prompt_tokens(const tkn_prompt *p) { return p ? p->tokens : 0; }

size_t tkn_prompt_finding_count(const tkn_prompt *p) { return p ? p->nfinding : 0; }

int tkn_prompt_finding_get(const tkn_prompt *p, size_t i, tkn_prompt_finding *out) {
  if (!p || !out) return tki_fail_null("tkn_prompt_finding_get", !p ? "p" : "out");
  if (i >= p->nfinding)
    return tki_fail(TKN_ERR_INVALID, "tkn_prompt_finding_get: index i = %zu past the end (%zu "
                    "findings)", i, p->nfinding);
  if (out->version != TKN_PROMPT_FINDING_VERSION) return tki_fail(TKN_ERR_VERSION, "tkn_prompt_finding_get: unknown version");
  *out = p->findings[i];
  return TKN_OK;
}

static int same_segment(const tkn_prompt *a, const tki_aseg *x, const tkn_prompt *b,
                        const tki_aseg *y) {
  return x->kind == y->kind && x->name_len == y->name_len &&
         memcmp(a->arena + x->name_off, b->arena + y->name_off, x->name_len) == 0;
}

int tkn_prompt_diff(const tkn_prompt *before, const tkn_prompt *after, uint32_t *first_changed,
                    uint32_t *changed_count) {
  if (!before || !after || !first_changed)
    return tki_fail_null("tkn_prompt_diff",
                         !before ? "before" : !after ? "after" : "first_changed");
  uint32_t first = TKN_PROMPT_NONE, changed = 0;
  for (size_t i = 0; i < after->nseg; i++) {
    const tki_aseg *y = &after->segs[i];
    if (first == TKN_PROMPT_NONE && (i >= before->nseg || before->segs[i].fp != y->fp))
      first = (uint32_t)i;
    int found = 0;
    for (size_t j = 0; j < before->nseg && !found; j++) {
      const tki_aseg *x = &before->segs[j];
      if (same_segment(before, x, after, y) && x->block_count == y->block_count &&
          x->bytes == y->bytes && content_hash(before, x) == content_hash(after, y))
        found = 1;
    }
    changed += !found;
  }
  /* a prompt that only lost segments at its end differs too */
  if (first == TKN_PROMPT_NONE && before->nseg != after->nseg) first = (uint32_t)after->nseg;
  *first_changed = first;
  if (changed_count) *changed_count = changed;
  return TKN_OK;
}
