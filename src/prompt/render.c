/* Rendering an assembled prompt as a provider request body, and the rule that
 * places Anthropic cache breakpoints.  Rendering only copies bytes prepared
 * at assembly (canonical messages, tool schemas) and escapes segment texts,
 * so it costs about one pass over the prompt. */
#include <stddef.h>
#include <string.h>

#include "prices/prices_names.h"
#include "prompt_internal.h"

/* The documented minimum cacheable length of each model (late 2025): OpenAI's
 * prompt caching guide (1024 for every model that caches), Anthropic's prompt
 * caching page (by model), Gemini's context caching page (implicit caching).
 * Names are matched exactly, after the rules of tkn_prompt_min_cache_tokens
 * (provider prefix, "ft:", dated snapshot); never by a part of the name. */
typedef struct {
  int32_t provider;
  const char *name;
  int64_t tokens;
} min_cache_row;

static const min_cache_row k_min_cache[] = {
    {TKN_PROVIDER_OPENAI, "gpt-4o", 1024},
    {TKN_PROVIDER_OPENAI, "gpt-4o-mini", 1024},
    {TKN_PROVIDER_OPENAI, "chatgpt-4o-latest", 1024},
    {TKN_PROVIDER_OPENAI, "gpt-4o-audio-preview", 1024},
    {TKN_PROVIDER_OPENAI, "gpt-4o-realtime-preview", 1024},
    {TKN_PROVIDER_OPENAI, "gpt-4o-mini-realtime-preview", 1024},
    {TKN_PROVIDER_OPENAI, "gpt-realtime", 1024},
    {TKN_PROVIDER_OPENAI, "gpt-4.1", 1024},
    {TKN_PROVIDER_OPENAI, "gpt-4.1-mini", 1024},
    {TKN_PROVIDER_OPENAI, "gpt-4.1-nano", 1024},
    {TKN_PROVIDER_OPENAI, "gpt-5", 1024},
    {TKN_PROVIDER_OPENAI, "gpt-5-mini", 1024},
    {TKN_PROVIDER_OPENAI, "gpt-5-nano", 1024},
    {TKN_PROVIDER_OPENAI, "gpt-5-chat-latest", 1024},
    {TKN_PROVIDER_OPENAI, "gpt-5-codex", 1024},
    {TKN_PROVIDER_OPENAI, "gpt-5.1", 1024},
    {TKN_PROVIDER_OPENAI, "gpt-5.1-chat-latest", 1024},
    {TKN_PROVIDER_OPENAI, "gpt-5.1-codex", 1024},
    {TKN_PROVIDER_OPENAI, "gpt-5.1-codex-mini", 1024},
    {TKN_PROVIDER_OPENAI, "o1", 1024},
    {TKN_PROVIDER_OPENAI, "o1-mini", 1024},
    {TKN_PROVIDER_OPENAI, "o3", 1024},
    {TKN_PROVIDER_OPENAI, "o3-mini", 1024},
    {TKN_PROVIDER_OPENAI, "o4-mini", 1024},
    {TKN_PROVIDER_OPENAI, "codex-mini-latest", 1024},
    {TKN_PROVIDER_ANTHROPIC, "claude-opus-4-6", 4096},
    {TKN_PROVIDER_ANTHROPIC, "claude-opus-4-5", 4096},
    {TKN_PROVIDER_ANTHROPIC, "claude-haiku-4-5", 4096},
    {TKN_PROVIDER_ANTHROPIC, "claude-opus-4-1", 1024},
    {TKN_PROVIDER_ANTHROPIC, "claude-opus-4", 1024},
    {TKN_PROVIDER_ANTHROPIC, "claude-opus-4-0", 1024},
    {TKN_PROVIDER_ANTHROPIC, "claude-sonnet-4-5", 1024},
    {TKN_PROVIDER_ANTHROPIC, "claude-sonnet-4", 1024},
    {TKN_PROVIDER_ANTHROPIC, "claude-sonnet-4-0", 1024},
    {TKN_PROVIDER_ANTHROPIC, "claude-3-7-sonnet", 1024},
    {TKN_PROVIDER_ANTHROPIC, "claude-3-7-sonnet-latest", 1024},
    {TKN_PROVIDER_ANTHROPIC, "claude-3-5-sonnet", 1024},
    {TKN_PROVIDER_ANTHROPIC, "claude-3-5-sonnet-latest", 1024},
    {TKN_PROVIDER_ANTHROPIC, "claude-3-opus", 1024},
    {TKN_PROVIDER_ANTHROPIC, "claude-3-opus-latest", 1024},
    {TKN_PROVIDER_ANTHROPIC, "claude-3-5-haiku", 2048},
    {TKN_PROVIDER_ANTHROPIC, "claude-3-5-haiku-latest", 2048},
    {TKN_PROVIDER_ANTHROPIC, "claude-3-haiku", 2048},
    {TKN_PROVIDER_GEMINI, "gemini-3-pro-preview", 4096},
    {TKN_PROVIDER_GEMINI, "gemini-2.5-pro", 4096},
    {TKN_PROVIDER_GEMINI, "gemini-2.5-flash", 1024},
    {TKN_PROVIDER_GEMINI, "gemini-2.5-flash-lite", 1024},
    {TKN_PROVIDER_GEMINI, "gemini-2.0-flash", 1024},
    {TKN_PROVIDER_GEMINI, "gemini-2.0-flash-001", 1024},
    {TKN_PROVIDER_GEMINI, "gemini-2.0-flash-lite", 1024},
    {TKN_PROVIDER_GEMINI, "gemini-2.0-flash-lite-001", 1024},
};

static const char *provider_word(int32_t provider) {
  switch (provider) {
  case TKN_PROVIDER_OPENAI: return "openai";
  case TKN_PROVIDER_ANTHROPIC: return "anthropic";
  case TKN_PROVIDER_GEMINI: return "gemini";
  default: return NULL;
  }
}

static const min_cache_row *min_cache_find(int32_t provider, const char *s, size_t n) {
  for (size_t i = 0; i < sizeof k_min_cache / sizeof k_min_cache[0]; i++) {
    const min_cache_row *r = &k_min_cache[i];
    if (r->provider == provider && strlen(r->name) == n && memcmp(r->name, s, n) == 0) return r;
  }
  return NULL;
}

int tkn_prompt_min_cache_tokens(int32_t provider, const char *model, size_t model_len,
                                int64_t *out) {
  model_len = tki_len(model, model_len);
  if (!out) return tki_fail(TKN_ERR_INVALID, "tkn_prompt_min_cache_tokens: out is NULL");
  const char *word = provider_word(provider);
  if (!word)
    return tki_fail(TKN_ERR_INVALID, "min_cache_tokens: provider %d is not a TKN_PROVIDER_ value",
                    (int)provider);
  if (!model || model_len == 0)
    return tki_fail(TKN_ERR_INVALID, "min_cache_tokens: no model name (model is %s)",
                    model ? "empty" : "NULL");
  char m[128];
  if (model_len >= sizeof m || memchr(model, '\0', model_len))
    return tki_fail(TKN_ERR_NOT_FOUND, "min_cache_tokens: no %s model \"%.*s\" (%zu bytes)", word,
                    (int)(model_len < 64 ? model_len : 64), model, model_len);
  for (size_t i = 0; i < model_len; i++)
    m[i] = (model[i] >= 'A' && model[i] <= 'Z') ? (char)(model[i] + 32) : model[i];
  const char *s = m;
  size_t n = model_len, wl = strlen(word);
  if (n > wl + 1 && memcmp(s, word, wl) == 0 && s[wl] == '/') { /* "anthropic/claude-..." */
    s += wl + 1;
    n -= wl + 1;
  }
  if (provider == TKN_PROVIDER_OPENAI && n > 3 && memcmp(s, "ft:", 3) == 0) { /* fine-tune */
    const char *colon = memchr(s + 3, ':', n - 3);
    n = (colon ? (size_t)(colon - s) : n) - 3;
    s += 3;
  }
  const min_cache_row *r = min_cache_find(provider, s, n);
  if (!r) r = min_cache_find(provider, s, tki_prices_strip_date(s, n));
  if (!r)
    return tki_fail(TKN_ERR_NOT_FOUND,
                    "min_cache_tokens: no documented minimum cacheable length for %s model "
                    "\"%.*s\" (%zu bytes); set min_cache_tokens, or pass a price table with "
                    "its prompt_cache_min_tokens",
                    word, (int)model_len, model, model_len);
  *out = r->tokens;
  return TKN_OK;
}

int tkn_prompt_min_cache_tokens_from(const tkn_prices *prices, int32_t provider,
                                     const char *model, size_t model_len, int64_t *out) {
  model_len = tki_len(model, model_len);
  if (!out) return tki_fail(TKN_ERR_INVALID, "tkn_prompt_min_cache_tokens_from: out is NULL");
  if (prices && model && model_len && provider_word(provider)) {
    tkn_model_price mp = TKN_MODEL_PRICE_INIT;
    if (tkn_prices_lookup(prices, model, model_len, &mp) == TKN_OK &&
        (mp.has & TKN_PRICE_CACHE_MIN) && mp.prompt_cache_min_tokens > 0) {
      *out = mp.prompt_cache_min_tokens;
      return TKN_OK;
    }
  }
  return tkn_prompt_min_cache_tokens(provider, model, model_len, out);
}

TKI_DEFINE_INIT_V1(tkn_render_options_init, tkn_render_options, opts,
                   TKN_RENDER_OPTIONS_VERSION, TKN_RENDER_OPTIONS_INIT, cache_retention)

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
  if (!p || !n) return tki_fail_null("tkn_prompt_breakpoints", !p ? "p" : "n");
  if (cap && (!blocks || !ttls))
    return tki_fail(TKN_ERR_INVALID, "tkn_prompt_breakpoints: %s is NULL with cap %zu",
                    !blocks ? "blocks" : "ttls", cap);
  if (min_cache_tokens <= 0)
    return tki_fail(TKN_ERR_INVALID, "tkn_prompt_breakpoints: min_cache_tokens is not positive");
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

/* The output: bytes go to [buf, buf+cap) while they fit, and len counts all
 * of them, so one pass both writes a body that fits and measures one that
 * does not (like snprintf).  Rendering allocates nothing. */
typedef struct rw {
  char *buf;
  size_t cap;
  size_t len;
} rw;

static void rw_put(rw *w, const char *s, size_t n) {
  if (w->len < w->cap) {
    size_t room = w->cap - w->len;
    memcpy(w->buf + w->len, s, n < room ? n : room);
  }
  w->len = n > SIZE_MAX - w->len ? SIZE_MAX : w->len + n;
}

/* a string literal */
#define RW_LIT(w, lit) rw_put((w), (lit), sizeof(lit) - 1)

static void rw_putc(rw *w, char ch) {
  if (w->len < w->cap) w->buf[w->len] = ch;
  if (w->len < SIZE_MAX) w->len++;
}

static void rw_i64(rw *w, int64_t v) {
  char tmp[24];
  size_t n = 0;
  uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
  do {
    tmp[sizeof tmp - ++n] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  if (v < 0) tmp[sizeof tmp - ++n] = '-';
  rw_put(w, tmp + sizeof tmp - n, n);
}

/* s as a JSON string literal (the bytes of tki_prompt_json_string). */
static void rw_json_string(rw *w, const char *s, size_t len) {
  rw_putc(w, '"');
  size_t start = 0;
  for (;;) {
    size_t i = tki_prompt_json_special(s, start, len);
    if (i > start) rw_put(w, s + start, i - start);
    if (i == len) break;
    char esc[6];
    rw_put(w, esc, tki_prompt_json_escape((unsigned char)s[i], esc));
    start = i + 1;
  }
  rw_putc(w, '"');
}

typedef struct render_ctx {
  const tkn_prompt *p;
  const tkn_render_options *o;
  rw *out;
  /* Anthropic: the breakpoints (block indices ascending, their TTLs) */
  uint32_t bp_block[4], bp_ttl[4];
  size_t nbp;
} render_ctx;

static const char *arena(const render_ctx *c, size_t off) { return c->p->arena + off; }

/* The TTL of the breakpoint at `block`, or -1 if there is none. */
static int breakpoint_at(const render_ctx *c, uint32_t block) {
  for (size_t i = 0; i < c->nbp; i++)
    if (c->bp_block[i] == block) return (int)c->bp_ttl[i];
  return -1;
}

static void put_cache_control(render_ctx *c, uint32_t block) {
  int ttl = breakpoint_at(c, block);
  if (ttl < 0) return;
  if (ttl == TKN_CACHE_TTL_1H)
    RW_LIT(c->out, ",\"cache_control\":{\"type\":\"ephemeral\",\"ttl\":\"1h\"}");
  else
    RW_LIT(c->out, ",\"cache_control\":{\"type\":\"ephemeral\"}");
}

/* {"type":"text","text":...[,cache_control]} of text segment si. */
static void put_text_block(render_ctx *c, const tki_aseg *s, int *first) {
  const tki_block *blk = &c->p->blocks[s->first_block];
  if (!*first) rw_putc(c->out, ',');
  *first = 0;
  RW_LIT(c->out, "{\"type\":\"text\",\"text\":");
  rw_json_string(c->out, arena(c, blk->off), blk->len);
  put_cache_control(c, s->first_block);
  rw_putc(c->out, '}');
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
  rw *o = c->out;
  size_t shown = 0, deferred = 0;
  for (size_t i = 0; i < p->ntools; i++) {
    deferred += p->tools[i].deferred;
    shown += anthropic || !p->tools[i].deferred;
  }
  if (!shown) return;
  RW_LIT(o, ",\"tools\":[");
  uint32_t first_block = 0;
  for (size_t si = 0; si < p->nseg; si++)
    if (p->segs[si].kind == TKN_SEG_TOOLS) first_block = p->segs[si].first_block;
  int first = 1;
  for (size_t i = 0; i < p->ntools; i++) {
    const tki_atool *t = &p->tools[i];
    if (!anthropic && t->deferred) continue; /* OpenAI: no deferred loading */
    if (!first) rw_putc(o, ',');
    first = 0;
    if (anthropic)
      RW_LIT(o, "{\"name\":");
    else
      RW_LIT(o, "{\"type\":\"function\",\"function\":{\"name\":");
    rw_json_string(o, arena(c, t->name_off), t->name_len);
    if (t->has_desc) {
      RW_LIT(o, ",\"description\":");
      rw_json_string(o, arena(c, t->desc_off), t->desc_len);
    }
    if (t->has_params) {
      if (anthropic)
        RW_LIT(o, ",\"input_schema\":");
      else
        RW_LIT(o, ",\"parameters\":");
      rw_put(o, arena(c, t->params_off), t->params_len);
    } else if (anthropic) {
      RW_LIT(o, ",\"input_schema\":{\"type\":\"object\",\"properties\":{}}");
    }
    if (anthropic) {
      if (t->deferred) RW_LIT(o, ",\"defer_loading\":true");
      put_cache_control(c, first_block + (uint32_t)i);
      rw_putc(o, '}');
    } else {
      RW_LIT(o, "}}");
    }
  }
  if (anthropic && deferred)
    RW_LIT(o, ",{\"type\":\"tool_search_tool_bm25_20251119\",\"name\":\"tool_search_tool_bm25\"}");
  rw_putc(o, ']');
}

/* Anthropic's server-side context editing, from prune options of mode CLEAR. */
static void put_context_management(render_ctx *c) {
  const tkn_prune_options *e = c->o->context_edits;
  rw *o = c->out;
  if (!e) return;
  RW_LIT(o, ",\"context_management\":{\"edits\":[");
  if (e->clear_thinking) {
    /* Anthropic wants the thinking edit first */
    RW_LIT(o, "{\"type\":\"clear_thinking_20251015\",\"keep\":{\"type\":\"thinking_turns\","
              "\"value\":");
    rw_i64(o, e->keep_thinking_turns);
    RW_LIT(o, "}},");
  }
  RW_LIT(o, "{\"type\":\"clear_tool_uses_20250919\",\"trigger\":{\"type\":\"input_tokens\","
            "\"value\":");
  rw_i64(o, e->clear_trigger);
  RW_LIT(o, "},\"keep\":{\"type\":\"tool_uses\",\"value\":");
  rw_i64(o, e->keep_tool_uses);
  rw_putc(o, '}');
  if (e->clear_at_least > 0) {
    RW_LIT(o, ",\"clear_at_least\":{\"type\":\"input_tokens\",\"value\":");
    rw_i64(o, e->clear_at_least);
    rw_putc(o, '}');
  }
  if (e->exclude_tools_count) {
    RW_LIT(o, ",\"exclude_tools\":[");
    for (size_t i = 0; i < e->exclude_tools_count; i++) {
      if (i) rw_putc(o, ',');
      rw_json_string(o, e->exclude_tools[i], strlen(e->exclude_tools[i]));
    }
    rw_putc(o, ']');
  }
  if (e->clear_inputs) RW_LIT(o, ",\"clear_tool_inputs\":true");
  RW_LIT(o, "}]}");
}

static int render_openai(render_ctx *c) {
  const tkn_prompt *p = c->p;
  const tkn_render_options *o = c->o;
  rw *out = c->out;
  size_t pre = count_text_segments(p, 0, p->split_seg);
  size_t post = count_text_segments(p, p->split_seg, p->nseg);
  size_t nhist = p->history_seg == TKN_PROMPT_NONE ? 0 : p->segs[p->history_seg].block_count;
  if (pre == 0 && nhist == 0 && post == 0)
    return tki_fail(TKN_ERR_STATE, "prompt: nothing to send: no message and no text");
  RW_LIT(out, "{\"model\":");
  rw_json_string(out, o->model, o->model_len);
  RW_LIT(out, ",\"messages\":[");
  int first_msg = 1;
  if (pre) {
    RW_LIT(out, "{\"role\":\"system\",\"content\":[");
    int first = 1;
    put_text_segments(c, 0, p->split_seg, &first);
    RW_LIT(out, "]}");
    first_msg = 0;
  }
  if (nhist) {
    const tki_aseg *h = &p->segs[p->history_seg];
    for (uint32_t k = 0; k < h->block_count; k++) {
      const tki_block *blk = &p->blocks[h->first_block + k];
      if (!first_msg) rw_putc(out, ',');
      first_msg = 0;
      rw_put(out, arena(c, blk->off), blk->len);
    }
  }
  if (post) {
    if (!first_msg) rw_putc(out, ',');
    RW_LIT(out, "{\"role\":\"user\",\"content\":[");
    int first = 1;
    put_text_segments(c, p->split_seg, p->nseg, &first);
    RW_LIT(out, "]}");
  }
  rw_putc(out, ']');
  put_tools(c, 0);
  if (o->max_tokens > 0) {
    RW_LIT(out, ",\"max_completion_tokens\":");
    rw_i64(out, o->max_tokens);
  }
  if (o->cache_key) {
    RW_LIT(out, ",\"prompt_cache_key\":");
    rw_json_string(out, o->cache_key, o->cache_key_len);
  }
  if (o->cache_retention == TKN_CACHE_RETENTION_24H)
    RW_LIT(out, ",\"prompt_cache_retention\":\"24h\"");
  rw_putc(out, '}');
  return TKN_OK;
}

/* The Anthropic content blocks of history block k, with cache_control
 * inserted into the last one when it is a breakpoint. */
static void put_an_blocks(render_ctx *c, uint32_t k) {
  const tki_block *blk = &c->p->blocks[k];
  if (blk->an_simple) {
    RW_LIT(c->out, "{\"text\":");
    rw_put(c->out, arena(c, blk->esc_off), blk->esc_len);
    RW_LIT(c->out, ",\"type\":\"text\"");
    put_cache_control(c, k);
    rw_putc(c->out, '}');
    return;
  }
  const char *s = arena(c, blk->an_off);
  if (breakpoint_at(c, k) < 0) {
    rw_put(c->out, s, blk->an_len);
    return;
  }
  rw_put(c->out, s, blk->an_len - 1); /* up to the last block's '}' */
  put_cache_control(c, k);
  rw_putc(c->out, '}');
}

static int put_an_messages(render_ctx *c, int *first_msg) {
  const tkn_prompt *p = c->p;
  if (p->history_seg == TKN_PROMPT_NONE) return TKN_OK;
  const tki_aseg *h = &p->segs[p->history_seg];
  rw *out = c->out;
  int open_tool = 0;
  for (uint32_t k = h->first_block; k < h->first_block + h->block_count; k++) {
    const tki_block *blk = &p->blocks[k];
    if (blk->an_role == TKI_AN_SYSTEM) continue;
    if (blk->an_role == TKI_AN_MIDSYSTEM)
      return tki_fail(TKN_ERR_UNSUPPORTED,
                     "prompt: history message %u is a system message after the conversation "
                     "started; Anthropic has no such message",
                     blk->item);
    if (blk->an_bad_args >= 0) /* the same fault as in tkn_conv_to_json: one code */
      return tki_fail(TKN_ERR_SCHEMA,
                     "prompt: history message %u: the arguments of tool call %d are not a JSON "
                     "object",
                     blk->item, (int)blk->an_bad_args);
    if (open_tool && blk->an_tool_result) {
      rw_putc(out, ',');
    } else {
      if (open_tool) RW_LIT(out, "]}");
      if (!*first_msg) rw_putc(out, ',');
      *first_msg = 0;
      if (blk->an_role == TKI_AN_ASSISTANT)
        RW_LIT(out, "{\"role\":\"assistant\",\"content\":[");
      else
        RW_LIT(out, "{\"role\":\"user\",\"content\":[");
    }
    put_an_blocks(c, k);
    open_tool = blk->an_tool_result;
    if (!open_tool) RW_LIT(out, "]}");
  }
  if (open_tool) RW_LIT(out, "]}");
  return TKN_OK;
}

static int render_anthropic(render_ctx *c) {
  const tkn_prompt *p = c->p;
  const tkn_render_options *o = c->o;
  rw *out = c->out;
  if (o->max_tokens <= 0)
    return tki_fail(TKN_ERR_INVALID, "prompt: Anthropic needs max_tokens > 0");
  int64_t min = o->min_cache_tokens;
  if (!min) {
    int rc = tkn_prompt_min_cache_tokens(TKN_PROVIDER_ANTHROPIC, o->model, o->model_len, &min);
    if (rc) return tki_fail_prefix("prompt: Anthropic breakpoints: ");
  }
  c->nbp = tki_prompt_breakpoints(p, min, o->max_breakpoints, c->bp_block, c->bp_ttl);

  RW_LIT(out, "{\"model\":");
  rw_json_string(out, o->model, o->model_len);
  RW_LIT(out, ",\"max_tokens\":");
  rw_i64(out, o->max_tokens);
  put_tools(c, 1);
  /* system: text segments before the history, then its leading system messages */
  int first = 1;
  size_t nsys = count_text_segments(p, 0, p->split_seg);
  const tki_aseg *h = p->history_seg == TKN_PROMPT_NONE ? NULL : &p->segs[p->history_seg];
  for (uint32_t k = 0; h && k < h->block_count; k++)
    nsys += p->blocks[h->first_block + k].an_role == TKI_AN_SYSTEM;
  if (nsys) {
    RW_LIT(out, ",\"system\":[");
    put_text_segments(c, 0, p->split_seg, &first);
    for (uint32_t k = 0; h && k < h->block_count; k++) {
      if (p->blocks[h->first_block + k].an_role != TKI_AN_SYSTEM) continue;
      if (!first) rw_putc(out, ',');
      first = 0;
      put_an_blocks(c, h->first_block + k);
    }
    rw_putc(out, ']');
  }
  RW_LIT(out, ",\"messages\":[");
  int first_msg = 1;
  int rc = put_an_messages(c, &first_msg);
  if (rc) return rc;
  if (count_text_segments(p, p->split_seg, p->nseg)) {
    if (!first_msg) rw_putc(out, ',');
    first_msg = 0;
    RW_LIT(out, "{\"role\":\"user\",\"content\":[");
    first = 1;
    put_text_segments(c, p->split_seg, p->nseg, &first);
    RW_LIT(out, "]}");
  }
  if (first_msg)
    return tki_fail(TKN_ERR_STATE, "prompt: nothing to send: the request has no message");
  rw_putc(out, ']');
  put_context_management(c);
  rw_putc(out, '}');
  return TKN_OK;
}

/* About the size of the request, so that the body is allocated once. */
static size_t render_size(const tkn_prompt *p, const tkn_render_options *o) {
  size_t n = 512 + o->model_len + o->cache_key_len;
  if (o->version >= 2 && o->context_edits)
    for (size_t i = 0; i < o->context_edits->exclude_tools_count; i++)
      n += 8 + 6 * strlen(o->context_edits->exclude_tools[i]);
  for (size_t k = 0; k < p->nblock; k++) {
    const tki_block *blk = &p->blocks[k];
    size_t an = blk->an_simple ? blk->esc_len : blk->an_len;
    n += (o->provider == TKN_PROVIDER_ANTHROPIC && an ? an : blk->len) + 96;
  }
  return n + n / 16; /* escapes of text segments */
}

/* The options with their TKN_NUL_TERMINATED lengths measured (in *norm). */
static const tkn_render_options *render_lengths(const tkn_render_options *opts,
                                                tkn_render_options *norm) {
  if (!opts || (opts->version != TKN_RENDER_OPTIONS_VERSION && opts->version != 1))
    return opts; /* checked later */
  if (opts->version == 1) { /* only its own fields are read (and copied) */
    tkn_render_options d = TKN_RENDER_OPTIONS_INIT;
    *norm = d;
    memcpy(norm, opts, offsetof(tkn_render_options, cache_retention));
  } else {
    *norm = *opts;
  }
  norm->model_len = tki_len(norm->model, norm->model_len);
  norm->cache_key_len = tki_len(norm->cache_key, norm->cache_key_len);
  return norm;
}

static int check_render_args(const tkn_prompt *p, const tkn_render_options *opts,
                             char err[TKI_ERRLEN]) {
  if (!p || !opts)
    return tki_err(err, TKN_ERR_INVALID, "prompt: render needs a prompt, options and an output "
                   "(%s is NULL)", !p ? "p" : "opts");
  if (opts->version != TKN_RENDER_OPTIONS_VERSION && opts->version != 1)
    return tki_err(err, TKN_ERR_VERSION, "prompt: render options version %u unknown",
                   opts->version);
  if (opts->version >= 2) {
    const tkn_prune_options *e = opts->context_edits;
    if (opts->cache_retention > TKN_CACHE_RETENTION_24H)
      return tki_err(err, TKN_ERR_INVALID, "prompt: unknown cache_retention %u",
                     opts->cache_retention);
    if (opts->cache_retention == TKN_CACHE_RETENTION_24H &&
        opts->provider == TKN_PROVIDER_ANTHROPIC)
      return tki_err(err, TKN_ERR_UNSUPPORTED,
                     "prompt: Anthropic has no 24h retention: give segments the 1-hour TTL");
    if (e && opts->provider != TKN_PROVIDER_ANTHROPIC)
      return tki_err(err, TKN_ERR_UNSUPPORTED,
                     "prompt: only Anthropic edits context server-side: prune the history "
                     "(tkn_prune_run, mode TKN_PRUNE_CLEAR) before assembling");
    if (e && (e->version < 2 || e->version > TKN_PRUNE_OPTIONS_VERSION ||
              e->mode != TKN_PRUNE_CLEAR ||
              e->clear_trigger < 0 || e->clear_at_least < 0 ||
              (e->exclude_tools_count && !e->exclude_tools)))
      return tki_err(err, TKN_ERR_INVALID,
                     "prompt: context_edits must be version-2 to %u prune options of mode "
                     "TKN_PRUNE_CLEAR with a trigger and clear_at_least >= 0",
                     TKN_PRUNE_OPTIONS_VERSION);
    for (size_t i = 0; e && i < e->exclude_tools_count; i++)
      if (!e->exclude_tools[i] ||
          !tki_utf8_valid(e->exclude_tools[i], strlen(e->exclude_tools[i]), NULL))
        return tki_err(err, TKN_ERR_INVALID, "prompt: context_edits exclude_tools[%zu] is not "
                       "a UTF-8 string", i);
  }
  if (opts->provider == TKN_PROVIDER_GEMINI)
    return tki_err(err, TKN_ERR_UNSUPPORTED, "prompt: rendering for Gemini is not supported");
  if (opts->provider != TKN_PROVIDER_OPENAI && opts->provider != TKN_PROVIDER_ANTHROPIC)
    return tki_err(err, TKN_ERR_INVALID, "prompt: render provider %d (want TKN_PROVIDER_OPENAI or _ANTHROPIC)",
                   (int)opts->provider);
  if (!opts->model || !opts->model_len || !tki_utf8_valid(opts->model, opts->model_len, NULL))
    return tki_err(err, TKN_ERR_INVALID, "prompt: render needs a model name (UTF-8)");
  if (opts->cache_key && !tki_utf8_valid(opts->cache_key, opts->cache_key_len, NULL))
    return tki_err(err, TKN_ERR_UTF8, "prompt: prompt_cache_key is not valid UTF-8");
  if (opts->max_breakpoints > 4 || opts->min_cache_tokens < 0)
    return tki_err(err, TKN_ERR_INVALID,
                   "prompt: max_breakpoints %u (at most 4) or min_cache_tokens %lld (>= 0)",
                   opts->max_breakpoints, (long long)opts->min_cache_tokens);
  return TKN_OK;
}

/* One rendering pass into [buf, buf+cap); *len gets the full length. */
static int render_pass(const tkn_prompt *p, const tkn_render_options *opts, char *buf, size_t cap,
                       size_t *len, char err[TKI_ERRLEN]) {
  render_ctx c;
  memset(&c, 0, sizeof c);
  rw w = {buf, cap, 0};
  tkn_render_options v2 = TKN_RENDER_OPTIONS_INIT;
  if (opts->version == 1) {
    /* a version 1 struct ends before cache_retention */
    memcpy(&v2, opts, offsetof(tkn_render_options, cache_retention));
    v2.version = TKN_RENDER_OPTIONS_VERSION;
    opts = &v2;
  }
  c.p = p;
  c.o = opts;
  c.out = &w;
  int rc = opts->provider == TKN_PROVIDER_OPENAI ? render_openai(&c) : render_anthropic(&c);
  if (rc) return rc;
  if (w.len == SIZE_MAX)
    return tki_err(err, TKN_ERR_OVERFLOW, "prompt: the request is too large to render");
  *len = w.len;
  return TKN_OK;
}

int tkn_prompt_render_into(const tkn_prompt *p, const tkn_render_options *opts, char *buf,
                           size_t cap, size_t *out_len) {
  char err[TKI_ERRLEN];
  int rc;
  size_t len = 0;
  tkn_render_options norm;
  opts = render_lengths(opts, &norm);
  if (out_len) *out_len = 0;
  if (!out_len || (!buf && cap))
    rc = tki_err(err, TKN_ERR_INVALID, "prompt: render_into needs a buffer (or cap 0) and out_len "
                 "(%s)", !out_len ? "out_len is NULL" : "buf is NULL with a cap");
  else
    rc = check_render_args(p, opts, err);
  if (!rc) rc = render_pass(p, opts, buf, cap, &len, err);
  if (!rc) {
    *out_len = len;
    if (len < cap) {
      buf[len] = '\0';
    } else {
      rc = tki_err(err, TKN_ERR_TOO_SMALL,
                   "prompt: the request needs %zu bytes with its NUL, the buffer holds %zu",
                   len + 1, cap);
    }
  }
  return rc;
}

int tkn_prompt_render(const tkn_prompt *p, const tkn_render_options *opts, char **out,
                      size_t *out_len) {
  char err[TKI_ERRLEN];
  int rc;
  tkn_render_options norm;
  opts = render_lengths(opts, &norm);
  if (out) *out = NULL;
  if (out_len) *out_len = 0;
  if (!out)
    rc = tki_err(err, TKN_ERR_INVALID,
                 "prompt: render needs a prompt, options and an output (out is NULL)");
  else
    rc = check_render_args(p, opts, err);
  if (!rc) {
    /* one pass into a buffer of the estimated size; if the estimate was
     * short, the pass measured the body: a second pass into one that fits */
    size_t cap = render_size(p, opts), len = 0;
    char *buf = tki_malloc(cap);
    if (!buf) rc = tki_err(err, TKN_ERR_NOMEM, "prompt: out of memory rendering");
    if (!rc) rc = render_pass(p, opts, buf, cap, &len, err);
    if (!rc && len >= cap) {
      char *bigger = tki_realloc(buf, len + 1);
      if (!bigger) {
        rc = tki_err(err, TKN_ERR_NOMEM, "prompt: out of memory rendering");
      } else {
        buf = bigger;
        cap = len + 1;
        rc = render_pass(p, opts, buf, cap, &len, err);
      }
    }
    if (rc) {
      tki_free(buf);
    } else {
      buf[len] = '\0';
      *out = buf;
      if (out_len) *out_len = len;
    }
  }
  return rc;
}
