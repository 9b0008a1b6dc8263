/* Rendering an assembled prompt as a provider request body, and the rule that
 * places Anthropic cache breakpoints.  Rendering only copies bytes prepared
 * at assembly (canonical messages, tool schemas) and escapes segment texts,
 * so it costs about one pass over the prompt. */
#include <string.h>

#include "prompt_internal.h"

int64_t tkn_prompt_min_cache_tokens(uint32_t provider, const char *model, size_t model_len) {
  char m[128];
  size_t n = model && model_len < sizeof m ? model_len : 0;
  if (n) memcpy(m, model, n);
  m[n] = '\0';
  switch (provider) {
  case TKN_FORMAT_OPENAI: return 1024;
  case TKN_FORMAT_ANTHROPIC:
    if (strstr(m, "opus-4-5") || strstr(m, "opus-4-6") || strstr(m, "haiku-4-5")) return 4096;
    if (strstr(m, "haiku")) return 2048;
    return 1024;
  case TKN_PROVIDER_GEMINI: return strstr(m, "pro") ? 4096 : 1024;
  default: return -1;
  }
}

int tkn_render_options_init(tkn_render_options *opts, uint32_t version) {
  if (!opts) return TKN_ERR_INVALID;
  if (version != TKN_RENDER_OPTIONS_VERSION) return TKN_ERR_VERSION;
  tkn_render_options init = TKN_RENDER_OPTIONS_INIT;
  *opts = init;
  return TKN_OK;
}

/* ---- breakpoints ---- */

size_t tki_prompt_breakpoints(const tkn_prompt *p, int64_t min_tokens, uint32_t max,
                              uint32_t *blocks, uint32_t *ttls) {
  uint32_t cand[TKN_PROMPT_MAX_SEGMENTS];
  uint8_t chosen[TKN_PROMPT_MAX_SEGMENTS] = {0};
  size_t nc = 0, static_end = SIZE_MAX, stable_end = SIZE_MAX;
  int64_t cum = 0;
  int volatile_seen = 0, all_static = 1;
  for (size_t si = 0; si < p->nseg; si++) {
    const tki_aseg *s = &p->segs[si];
    cum += s->tokens;
    if (s->stability == TKN_STABILITY_VOLATILE) volatile_seen = 1;
    if (s->stability != TKN_STABILITY_STATIC) all_static = 0;
    if (volatile_seen || s->block_count == 0 || s->bytes == 0 || cum < min_tokens) continue;
    if (all_static) static_end = nc;
    stable_end = nc;
    cand[nc++] = (uint32_t)si;
  }
  size_t taken = 0;
  if (max > 0 && stable_end != SIZE_MAX) {
    chosen[stable_end] = 1;
    taken++;
  }
  if (taken < max && static_end != SIZE_MAX && !chosen[static_end]) {
    chosen[static_end] = 1;
    taken++;
  }
  for (size_t k = nc; k-- > 0 && taken < max;) {
    if (!chosen[k]) {
      chosen[k] = 1;
      taken++;
    }
  }
  size_t n = 0;
  int seen_5m = 0;
  for (size_t k = 0; k < nc; k++) {
    if (!chosen[k]) continue;
    const tki_aseg *s = &p->segs[cand[k]];
    uint32_t ttl = seen_5m ? TKN_CACHE_TTL_5M : s->ttl;
    if (ttl == TKN_CACHE_TTL_5M) seen_5m = 1;
    if (blocks) blocks[n] = s->first_block + s->block_count - 1;
    if (ttls) ttls[n] = ttl;
    n++;
  }
  return n;
}

int tkn_prompt_breakpoints(const tkn_prompt *p, int64_t min_cache_tokens,
                           uint32_t max_breakpoints, uint32_t *blocks, uint32_t *ttls, size_t cap,
                           size_t *n) {
  if (!p || !n || min_cache_tokens <= 0 || (cap && (!blocks || !ttls))) return TKN_ERR_INVALID;
  uint32_t b[TKN_PROMPT_MAX_SEGMENTS], t[TKN_PROMPT_MAX_SEGMENTS];
  size_t got = tki_prompt_breakpoints(p, min_cache_tokens, max_breakpoints, b, t);
  if (got > cap) got = cap;
  for (size_t i = 0; i < got; i++) {
    blocks[i] = b[i];
    ttls[i] = t[i];
  }
  *n = got;
  return TKN_OK;
}

/* ---- rendering ---- */

typedef struct render_ctx {
  const tkn_prompt *p;
  const tkn_render_options *o;
  tki_buf *out;
  int8_t *bp; /* per block: -1 none, else the breakpoint's TTL (Anthropic) */
  char err[TKI_ERRLEN];
} render_ctx;

static const char *arena(const render_ctx *c, size_t off) { return c->p->arena + off; }

static void put_cache_control(render_ctx *c, uint32_t block) {
  if (!c->bp || c->bp[block] < 0) return;
  tki_buf_puts(c->out, c->bp[block] == TKN_CACHE_TTL_1H
                           ? ",\"cache_control\":{\"type\":\"ephemeral\",\"ttl\":\"1h\"}"
                           : ",\"cache_control\":{\"type\":\"ephemeral\"}");
}

/* {"type":"text","text":...[,cache_control]} of text segment si. */
static void put_text_block(render_ctx *c, const tki_aseg *s, int *first) {
  const tki_block *blk = &c->p->blocks[s->first_block];
  if (!*first) tki_buf_putc(c->out, ',');
  *first = 0;
  tki_buf_puts(c->out, "{\"type\":\"text\",\"text\":");
  tki_prompt_json_string(c->out, arena(c, blk->off), blk->len);
  put_cache_control(c, s->first_block);
  tki_buf_putc(c->out, '}');
}

static int is_text_seg(const tki_aseg *s) {
  return s->kind != TKN_SEG_TOOLS && s->kind != TKN_SEG_HISTORY && s->bytes > 0;
}

/* Text segments [from, to) as content parts; returns how many. */
static size_t put_text_segments(render_ctx *c, size_t from, size_t to, int *first) {
  size_t n = 0;
  for (size_t si = from; si < to; si++)
    if (is_text_seg(&c->p->segs[si])) {
      put_text_block(c, &c->p->segs[si], first);
      n++;
    }
  return n;
}

static size_t count_text_segments(const tkn_prompt *p, size_t from, size_t to) {
  size_t n = 0;
  for (size_t si = from; si < to; si++) n += is_text_seg(&p->segs[si]);
  return n;
}

static void put_tools(render_ctx *c, int anthropic) {
  const tkn_prompt *p = c->p;
  if (!p->ntools) return;
  tki_buf *o = c->out;
  tki_buf_puts(o, ",\"tools\":[");
  uint32_t first_block = 0;
  for (size_t si = 0; si < p->nseg; si++)
    if (p->segs[si].kind == TKN_SEG_TOOLS) first_block = p->segs[si].first_block;
  for (size_t i = 0; i < p->ntools; i++) {
    const tki_atool *t = &p->tools[i];
    if (i) tki_buf_putc(o, ',');
    tki_buf_puts(o, anthropic ? "{\"name\":" : "{\"type\":\"function\",\"function\":{\"name\":");
    tki_prompt_json_string(o, arena(c, t->name_off), t->name_len);
    if (t->has_desc) {
      tki_buf_puts(o, ",\"description\":");
      tki_prompt_json_string(o, arena(c, t->desc_off), t->desc_len);
    }
    if (t->has_params) {
      tki_buf_puts(o, anthropic ? ",\"input_schema\":" : ",\"parameters\":");
      tki_buf_append(o, arena(c, t->params_off), t->params_len);
    } else if (anthropic) {
      tki_buf_puts(o, ",\"input_schema\":{\"type\":\"object\",\"properties\":{}}");
    }
    if (anthropic) put_cache_control(c, first_block + (uint32_t)i);
    tki_buf_puts(o, anthropic ? "}" : "}}");
  }
  tki_buf_putc(o, ']');
}

static int render_openai(render_ctx *c) {
  const tkn_prompt *p = c->p;
  const tkn_render_options *o = c->o;
  tki_buf *out = c->out;
  size_t pre = count_text_segments(p, 0, p->split_seg);
  size_t post = count_text_segments(p, p->split_seg, p->nseg);
  size_t nhist = p->history_seg == TKN_PROMPT_NONE ? 0 : p->segs[p->history_seg].block_count;
  if (pre == 0 && nhist == 0 && post == 0)
    return tki_err(c->err, TKN_ERR_STATE, "prompt: nothing to send: no message and no text");
  tki_buf_puts(out, "{\"model\":");
  tki_prompt_json_string(out, o->model, o->model_len);
  tki_buf_puts(out, ",\"messages\":[");
  int first_msg = 1;
  if (pre) {
    tki_buf_puts(out, "{\"role\":\"system\",\"content\":[");
    int first = 1;
    put_text_segments(c, 0, p->split_seg, &first);
    tki_buf_puts(out, "]}");
    first_msg = 0;
  }
  if (nhist) {
    const tki_aseg *h = &p->segs[p->history_seg];
    for (uint32_t k = 0; k < h->block_count; k++) {
      const tki_block *blk = &p->blocks[h->first_block + k];
      if (!first_msg) tki_buf_putc(out, ',');
      first_msg = 0;
      tki_buf_append(out, arena(c, blk->off), blk->len);
    }
  }
  if (post) {
    if (!first_msg) tki_buf_putc(out, ',');
    tki_buf_puts(out, "{\"role\":\"user\",\"content\":[");
    int first = 1;
    put_text_segments(c, p->split_seg, p->nseg, &first);
    tki_buf_puts(out, "]}");
  }
  tki_buf_putc(out, ']');
  put_tools(c, 0);
  if (o->max_tokens > 0) tki_buf_printf(out, ",\"max_completion_tokens\":%lld", (long long)o->max_tokens);
  if (o->cache_key) {
    tki_buf_puts(out, ",\"prompt_cache_key\":");
    tki_prompt_json_string(out, o->cache_key, o->cache_key_len);
  }
  tki_buf_putc(out, '}');
  return TKN_OK;
}

/* The Anthropic content blocks of history block k, with cache_control
 * inserted into the last one when it is a breakpoint. */
static void put_an_blocks(render_ctx *c, uint32_t k) {
  const tki_block *blk = &c->p->blocks[k];
  if (blk->an_simple) {
    tki_buf_puts(c->out, "{\"text\":");
    tki_buf_append(c->out, arena(c, blk->esc_off), blk->esc_len);
    tki_buf_puts(c->out, ",\"type\":\"text\"");
    put_cache_control(c, k);
    tki_buf_putc(c->out, '}');
    return;
  }
  const char *s = arena(c, blk->an_off);
  if (c->bp[k] < 0) {
    tki_buf_append(c->out, s, blk->an_len);
    return;
  }
  tki_buf_append(c->out, s, blk->an_len - 1); /* up to the last block's '}' */
  put_cache_control(c, k);
  tki_buf_putc(c->out, '}');
}

static int put_an_messages(render_ctx *c, int *first_msg) {
  const tkn_prompt *p = c->p;
  if (p->history_seg == TKN_PROMPT_NONE) return TKN_OK;
  const tki_aseg *h = &p->segs[p->history_seg];
  tki_buf *out = c->out;
  int open_tool = 0;
  for (uint32_t k = h->first_block; k < h->first_block + h->block_count; k++) {
    const tki_block *blk = &p->blocks[k];
    if (blk->an_role == TKI_AN_SYSTEM) continue;
    if (blk->an_role == TKI_AN_MIDSYSTEM)
      return tki_err(c->err, TKN_ERR_UNSUPPORTED,
                     "prompt: history message %u is a system message after the conversation "
                     "started; Anthropic has no such message",
                     blk->item);
    if (blk->an_bad_args >= 0)
      return tki_err(c->err, TKN_ERR_PARSE,
                     "prompt: history message %u: the arguments of tool call %d are not a JSON "
                     "object",
                     blk->item, (int)blk->an_bad_args);
    if (open_tool && blk->an_tool_result) {
      tki_buf_putc(out, ',');
    } else {
      if (open_tool) tki_buf_puts(out, "]}");
      if (!*first_msg) tki_buf_putc(out, ',');
      *first_msg = 0;
      tki_buf_puts(out, blk->an_role == TKI_AN_ASSISTANT ? "{\"role\":\"assistant\",\"content\":["
                                                         : "{\"role\":\"user\",\"content\":[");
    }
    put_an_blocks(c, k);
    open_tool = blk->an_tool_result;
    if (!open_tool) tki_buf_puts(out, "]}");
  }
  if (open_tool) tki_buf_puts(out, "]}");
  return TKN_OK;
}

static int render_anthropic(render_ctx *c) {
  const tkn_prompt *p = c->p;
  const tkn_render_options *o = c->o;
  tki_buf *out = c->out;
  if (o->max_tokens <= 0)
    return tki_err(c->err, TKN_ERR_INVALID, "prompt: Anthropic needs max_tokens > 0");
  int64_t min = o->min_cache_tokens ? o->min_cache_tokens
                                    : tkn_prompt_min_cache_tokens(TKN_FORMAT_ANTHROPIC, o->model,
                                                                  o->model_len);
  uint32_t bpb[TKN_PROMPT_MAX_SEGMENTS], bpt[TKN_PROMPT_MAX_SEGMENTS];
  size_t nbp = tki_prompt_breakpoints(p, min, o->max_breakpoints, bpb, bpt);
  c->bp = tki_malloc(p->nblock ? p->nblock : 1);
  if (!c->bp) return tki_err(c->err, TKN_ERR_NOMEM, "prompt: out of memory rendering");
  memset(c->bp, -1, p->nblock);
  for (size_t i = 0; i < nbp; i++) c->bp[bpb[i]] = (int8_t)bpt[i];

  tki_buf_puts(out, "{\"model\":");
  tki_prompt_json_string(out, o->model, o->model_len);
  tki_buf_printf(out, ",\"max_tokens\":%lld", (long long)o->max_tokens);
  put_tools(c, 1);
  /* system: text segments before the history, then its leading system messages */
  int first = 1;
  size_t nsys = count_text_segments(p, 0, p->split_seg);
  const tki_aseg *h = p->history_seg == TKN_PROMPT_NONE ? NULL : &p->segs[p->history_seg];
  for (uint32_t k = 0; h && k < h->block_count; k++)
    nsys += p->blocks[h->first_block + k].an_role == TKI_AN_SYSTEM;
  if (nsys) {
    tki_buf_puts(out, ",\"system\":[");
    put_text_segments(c, 0, p->split_seg, &first);
    for (uint32_t k = 0; h && k < h->block_count; k++) {
      if (p->blocks[h->first_block + k].an_role != TKI_AN_SYSTEM) continue;
      if (!first) tki_buf_putc(out, ',');
      first = 0;
      put_an_blocks(c, h->first_block + k);
    }
    tki_buf_putc(out, ']');
  }
  tki_buf_puts(out, ",\"messages\":[");
  int first_msg = 1;
  int rc = put_an_messages(c, &first_msg);
  if (rc) return rc;
  if (count_text_segments(p, p->split_seg, p->nseg)) {
    if (!first_msg) tki_buf_putc(out, ',');
    first_msg = 0;
    tki_buf_puts(out, "{\"role\":\"user\",\"content\":[");
    first = 1;
    put_text_segments(c, p->split_seg, p->nseg, &first);
    tki_buf_puts(out, "]}");
  }
  if (first_msg)
    return tki_err(c->err, TKN_ERR_STATE, "prompt: nothing to send: the request has no message");
  tki_buf_puts(out, "]}");
  return TKN_OK;
}

/* About the size of the request, so that the output grows at most once. */
static size_t render_size(const tkn_prompt *p, const tkn_render_options *o) {
  size_t n = 256 + o->model_len + o->cache_key_len;
  for (size_t k = 0; k < p->nblock; k++) {
    const tki_block *blk = &p->blocks[k];
    size_t an = blk->an_simple ? blk->esc_len : blk->an_len;
    n += (o->format == TKN_FORMAT_ANTHROPIC && an ? an : blk->len) + 96;
  }
  return n + n / 16; /* escapes of text segments */
}

int tkn_prompt_render(const tkn_prompt *p, const tkn_render_options *opts, char **out,
                      size_t *out_len, char *errbuf, size_t errlen) {
  render_ctx c;
  memset(&c, 0, sizeof c);
  int rc = TKN_OK;
  if (out) *out = NULL;
  if (out_len) *out_len = 0;
  if (!p || !opts || !out) {
    rc = tki_err(c.err, TKN_ERR_INVALID, "prompt: render needs a prompt, options and an output");
  } else if (opts->version != TKN_RENDER_OPTIONS_VERSION) {
    rc = tki_err(c.err, TKN_ERR_VERSION, "prompt: render options version %u unknown",
                 opts->version);
  } else if (opts->format != TKN_FORMAT_OPENAI && opts->format != TKN_FORMAT_ANTHROPIC) {
    rc = tki_err(c.err, TKN_ERR_INVALID, "prompt: render format %u (want OpenAI or Anthropic)",
                 opts->format);
  } else if (!opts->model || !opts->model_len || !tki_utf8_valid(opts->model, opts->model_len, NULL)) {
    rc = tki_err(c.err, TKN_ERR_INVALID, "prompt: render needs a model name (UTF-8)");
  } else if (opts->cache_key && !tki_utf8_valid(opts->cache_key, opts->cache_key_len, NULL)) {
    rc = tki_err(c.err, TKN_ERR_UTF8, "prompt: prompt_cache_key is not valid UTF-8");
  } else if (opts->max_breakpoints > 4 || opts->min_cache_tokens < 0) {
    rc = tki_err(c.err, TKN_ERR_INVALID,
                 "prompt: max_breakpoints %u (at most 4) or min_cache_tokens %lld (>= 0)",
                 opts->max_breakpoints, (long long)opts->min_cache_tokens);
  }
  if (!rc) {
    tki_buf buf;
    tki_buf_init(&buf);
    tki_buf_reserve(&buf, render_size(p, opts));
    c.p = p;
    c.o = opts;
    c.out = &buf;
    rc = opts->format == TKN_FORMAT_OPENAI ? render_openai(&c) : render_anthropic(&c);
    tki_free(c.bp);
    if (!rc && buf.failed) rc = tki_err(c.err, TKN_ERR_NOMEM, "prompt: out of memory rendering");
    if (!rc) {
      *out = tki_buf_steal(&buf, out_len);
    } else {
      tki_buf_free(&buf);
    }
  }
  if (rc) tki_copy_err(errbuf, errlen, c.err);
  return rc;
}
