/* Mask, clear and the cache-economics policy (prune.h): old tool results
 * replaced by a placeholder, in place, the conversation's length and order
 * kept, so tool units stay whole by construction.
 *
 * A run reads the conversation once (token counts, which call each result
 * answers, the ordinal of that call among all calls), decides which results
 * go, then makes every change on a clone and swaps the clone in only when
 * all of them succeeded: a failure leaves the conversation as it was.
 *
 * The policy's arithmetic (prices per token; r = cache read, w = cache write
 * or input price, C = tokens the old results would shed, of which C_prev sit
 * in the prefix the previous call sent and C_new after it; S_prev = tokens of
 * that prefix from the first cleared message on; B = the provider's cache
 * block; H = calls expected after this one):
 *   cost now   = (S_prev + B - 1 - C_prev) w - (S_prev + B - 1) r - C_new w
 *                (this call against not clearing: the prefix from the first
 *                cleared message, and up to B - 1 tokens before it that the
 *                block rounding loses, written again instead of read; what it
 *                sheds not paid for)
 *   saving     = H C r   (the next H calls: those tokens would have been cache
 *                reads)
 * and it clears when saving > cost and C >= clear_at_least.  With H = 0 (the
 * default) a clear must pay for itself at the call that makes it, even if
 * that call is the conversation's last: later calls only append, so each of
 * them reads C fewer tokens, which the block rounding can offset by at most
 * B - 1 tokens at w - r; a clear also needs C r >= (B - 1)(w - r), so no later
 * call costs more either, and so a conversation never costs more than not
 * clearing (as far as the cache model holds: prefix caching at message
 * boundaries, whole blocks, the cleared message starting past the provider's
 * minimum cacheable prefix).  The cost falls with the tokens the clear sheds,
 * so it clears in large steps, when enough old results have piled up, and
 * appends only in between.
 *
 * Which results: every old one from some first one on (the prefix is broken
 * from the first anyway); the oldest first for which the clear is allowed.
 *
 * The ledger (H > 0): at each call, the K tokens cleared so far save at least
 *   K r - (B - 1)(w - r)
 * against not clearing (the rounding of this call's cached prefix moves by
 * less than a block), and that is banked as credit; a clear whose cost now
 * is L > 0 is allowed only if L <= credit (and H C r > L), and spends it.  So
 * the conversation's excess over not clearing, summed up to any call, is at
 * most minus the credit: never positive, whichever call is the last. */
#include <string.h>

#include "../conv/conv_swap.h"
#include "../internal.h"
#include "prune_internal.h"
#include "tokenomy/prune.h"

#define NONE ((size_t)-1)

typedef struct clr {
  const tkn_tokenizer *tok;
  const tkn_prune_options *o;
  tkn_conv *conv;
  int fmt;            /* the format to rewrite messages in */
  size_t n;
  int64_t total;      /* tokens before, priming included */
  int64_t *cost;      /* tokens of each message */
  int32_t *action, *why;
  size_t *call_msg;   /* tool results: the assistant message of the call (NONE: orphan) */
  size_t *call_j;     /* and the call's index in it */
  int64_t *save;      /* candidates: tokens clearing would shed (result, arguments) */
  uint8_t *cand;      /* 1: an old result that may be cleared; 2: a recent one */
  uint8_t *clear;     /* 1: clear this result */
  uint8_t *keep;      /* 0: dropped (POLICY under a budget only) */
  const char *ph;
  size_t ph_len;
  int64_t ph_tok;
} clr;

static void clr_free(clr *c) {
  tki_free(c->cost);
  tki_free(c->action);
  tki_free(c->why);
  tki_free(c->call_msg);
  tki_free(c->call_j);
  tki_free(c->save);
  tki_free(c->cand);
  tki_free(c->clear);
  tki_free(c->keep);
}

static int excluded(const tkn_prune_options *o, const char *name, size_t len) {
  for (size_t i = 0; name && i < o->exclude_tools_count; i++)
    if (strlen(o->exclude_tools[i]) == len && memcmp(o->exclude_tools[i], name, len) == 0)
      return 1;
  return 0;
}

static int count_text(const clr *c, const char *text, size_t len, int64_t *out) {
  int rc = tkn_tokenizer_count(c->tok, text ? text : "", len, out);
  if (rc != TKN_OK) return tki_fail(rc, "counting a tool result failed: %s", tki_error_message());
  return TKN_OK;
}

/* Read the conversation: counts, the tool uses, the candidates. */
static int clr_init(clr *c) {
  size_t n = c->n;
  c->cost = tki_calloc(n + 1, sizeof *c->cost);
  c->action = tki_calloc(n + 1, sizeof *c->action);
  c->why = tki_calloc(n + 1, sizeof *c->why);
  c->call_msg = tki_calloc(n + 1, sizeof *c->call_msg);
  c->call_j = tki_calloc(n + 1, sizeof *c->call_j);
  c->save = tki_calloc(n + 1, sizeof *c->save);
  c->cand = tki_calloc(n + 1, 1);
  c->clear = tki_calloc(n + 1, 1);
  c->keep = tki_calloc(n + 1, 1);
  size_t *base = tki_calloc(n + 1, sizeof *base);
  if (!c->cost || !c->action || !c->why || !c->call_msg || !c->call_j || !c->save || !c->cand ||
      !c->clear || !c->keep || !base) {
    tki_free(base);
    return tki_fail(TKN_ERR_NOMEM, "out of memory preparing to clear %zu messages", n);
  }
  const tkn_prune_options *o = c->o;
  int rc = count_text(c, c->ph, c->ph_len, &c->ph_tok);
  c->total = n ? o->count.reply_priming : 0;
  size_t calls = 0;
  for (size_t i = 0; rc == TKN_OK && i < n; i++) {
    c->keep[i] = 1;
    c->call_msg[i] = NONE;
    rc = tkn_tokenizer_count_message(c->tok, c->conv, i, &o->count, &c->cost[i]);
    if (rc != TKN_OK) {
      rc = tki_fail(rc, "counting the tokens of message %zu failed: %s", i, tki_error_message());
      break;
    }
    c->total += c->cost[i];
    base[i] = calls;
    calls += tkn_conv_tool_call_count(c->conv, i);
  }
  size_t keep = o->keep_tool_uses;
  for (size_t i = 0; rc == TKN_OK && i < n; i++) {
    const char *id = NULL, *name = NULL, *text = NULL;
    size_t id_len = 0, name_len = 0, len = 0;
    if (tkn_conv_role(c->conv, i) != TKN_ROLE_TOOL) continue;
    tkn_conv_tool_call_id(c->conv, i, &id, &id_len);
    size_t cm = NONE, ord = NONE;
    if (id && tkn_conv_find_tool_call(c->conv, id, id_len, &cm) == TKN_OK) {
      for (size_t j = 0; j < tkn_conv_tool_call_count(c->conv, cm); j++) {
        const char *cid, *fn, *args;
        size_t cl, fl, al;
        tkn_conv_tool_call(c->conv, cm, j, &cid, &cl, &fn, &fl, &args, &al);
        if (cl == id_len && memcmp(cid, id, cl) == 0) {
          c->call_msg[i] = cm;
          c->call_j[i] = j;
          ord = base[cm] + j;
          name = fn;
          name_len = fl;
          break;
        }
      }
    } else {
      tkn_conv_name(c->conv, i, &name, &name_len);
    }
    if ((rc = tkn_conv_text(c->conv, i, &text, &len)) != TKN_OK) break;
    if (len == c->ph_len && memcmp(text, c->ph, len) == 0) {
      c->why[i] = TKN_PRUNE_WHY_CLEARED_BEFORE;
      continue;
    }
    if (excluded(o, name, name_len)) {
      c->why[i] = TKN_PRUNE_WHY_EXCLUDED;
      continue;
    }
    int recent = ord != NONE && ord + keep >= calls;
    /* the content's tokens without tokenizing it again: the message's cached
     * count less its other fields, as tkn_tokenizer_count_message adds them */
    int64_t t = c->cost[i] - o->count.per_message, f = 0, save = 0;
    const char *mname = NULL;
    size_t mname_len = 0;
    tkn_conv_name(c->conv, i, &mname, &mname_len);
    if ((rc = count_text(c, "tool", 4, &f)) != TKN_OK) break;
    t -= f;
    if (id && (rc = count_text(c, id, id_len, &f)) != TKN_OK) break;
    t -= id ? f : 0;
    if (mname && (rc = count_text(c, mname, mname_len, &f)) != TKN_OK) break;
    t -= mname ? f + o->count.per_name : 0;
    save = t - c->ph_tok;
    if (o->clear_inputs && c->call_msg[i] != NONE) {
      const char *cid, *fn, *args;
      size_t cl, fl, al;
      tkn_conv_tool_call(c->conv, cm, c->call_j[i], &cid, &cl, &fn, &fl, &args, &al);
      int64_t at = 0, empty = 0;
      if (!(al == 2 && memcmp(args, "{}", 2) == 0)) {
        if ((rc = count_text(c, args, al, &at)) != TKN_OK ||
            (rc = count_text(c, "{}", 2, &empty)) != TKN_OK)
          break;
        if (at > empty) save += at - empty;
      }
    }
    c->why[i] = recent ? TKN_PRUNE_WHY_RECENT_TOOL : TKN_PRUNE_WHY_OLD_TOOL;
    if (save > 0) {
      c->save[i] = save;
      c->cand[i] = recent ? 2 : 1;
    } else {
      c->why[i] = TKN_PRUNE_WHY_FITS;
    }
  }
  tki_free(base);
  return rc;
}

/* ---- the rewrite ---- */

static int is_thinking(const cJSON *b) {
  const cJSON *t = cJSON_GetObjectItemCaseSensitive(b, "type");
  return cJSON_IsString(t) &&
         (!strcmp(t->valuestring, "thinking") || !strcmp(t->valuestring, "redacted_thinking"));
}

static int has_thinking(const tkn_conv *conv, size_t i) {
  for (size_t j = 0; j < tkn_conv_part_count(conv, i); j++) {
    const char *type = NULL;
    if (tkn_conv_part(conv, i, j, &type, NULL, NULL) == TKN_OK && type &&
        (!strcmp(type, "thinking") || !strcmp(type, "redacted_thinking")))
      return 1;
  }
  return 0;
}

/* Rewrite assistant message i of `work`: the arguments of the calls whose
 * ids are flagged in clear_call[0..ncalls) become {}, and (thinking) its
 * thinking blocks go.  *changed tells whether anything did. */
static int rewrite_assistant(clr *c, tkn_conv *work, size_t i, const uint8_t *clear_call,
                             int thinking, int *changed) {
  *changed = 0;
  int fmt = thinking ? TKN_PROVIDER_ANTHROPIC : c->fmt;
  char *js = NULL;
  size_t len = 0;
  int rc = tkn_conv_message_to_json(work, i, fmt, &js, &len);
  if (rc != TKN_OK) return rc;
  cJSON *m = cJSON_ParseWithLength(js, len);
  tkn_free(js);
  if (!m) return tki_fail(TKN_ERR_NOMEM, "out of memory rewriting message %zu", i);
  size_t ncalls = tkn_conv_tool_call_count(work, i);
  if (fmt == TKN_PROVIDER_OPENAI) {
    cJSON *calls = cJSON_GetObjectItemCaseSensitive(m, "tool_calls");
    size_t j = 0;
    cJSON *call;
    cJSON_ArrayForEach(call, calls) {
      cJSON *fn = cJSON_GetObjectItemCaseSensitive(call, "function");
      if (j < ncalls && clear_call[j] && fn) {
        cJSON *e = cJSON_CreateString("{}");
        if (!e || !cJSON_ReplaceItemInObjectCaseSensitive(fn, "arguments", e)) {
          if (e && !cJSON_GetObjectItemCaseSensitive(fn, "arguments")) cJSON_Delete(e);
          cJSON_Delete(m);
          return tki_fail(TKN_ERR_NOMEM, "out of memory rewriting message %zu", i);
        }
        *changed = 1;
      }
      j++;
    }
  } else {
    cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
    size_t j = 0, others = 0;
    cJSON *b = content ? content->child : NULL;
    while (b) {
      cJSON *next = b->next;
      const cJSON *t = cJSON_GetObjectItemCaseSensitive(b, "type");
      if (cJSON_IsString(t) && !strcmp(t->valuestring, "tool_use")) {
        if (j < ncalls && clear_call[j]) {
          cJSON *e = cJSON_CreateObject();
          if (!e || !cJSON_ReplaceItemInObjectCaseSensitive(b, "input", e)) {
            cJSON_Delete(e);
            cJSON_Delete(m);
            return tki_fail(TKN_ERR_NOMEM, "out of memory rewriting message %zu", i);
          }
          *changed = 1;
        }
        j++;
      }
      if (thinking && is_thinking(b)) {
        cJSON_Delete(cJSON_DetachItemViaPointer(content, b));
        *changed = 1;
      } else {
        others++;
      }
      b = next;
    }
    if (others == 0) *changed = 0; /* a message of thinking only: left whole */
  }
  rc = TKN_OK;
  if (*changed) {
    int pinned = tkn_conv_pinned(work, i);
    char *out = cJSON_PrintUnformatted(m);
    rc = out ? tkn_conv_replace_json(work, i, fmt, out, strlen(out)) : TKN_ERR_NOMEM;
    if (out) cJSON_free(out);
    if (rc == TKN_OK && pinned) rc = tkn_conv_set_pinned(work, i, 1);
    if (rc != TKN_OK) rc = tki_fail(rc, "rewriting message %zu failed: %s", i, tki_error_message());
  }
  cJSON_Delete(m);
  return rc;
}

/* Make every change on a clone of the conversation: the flagged results
 * become the placeholder, their arguments {} (clear_inputs), older thinking
 * blocks go (clear_thinking).  *out receives the clone. */
static int rewrite(clr *c, tkn_conv **out) {
  tkn_conv *work = NULL;
  *out = NULL;
  int rc = tkn_conv_clone(&work, c->conv);
  if (rc != TKN_OK) return rc;
  size_t n = c->n;
  uint8_t *calls = NULL;
  size_t maxcalls = 1;
  for (size_t i = 0; i < n; i++) {
    size_t k = tkn_conv_tool_call_count(work, i);
    if (k > maxcalls) maxcalls = k;
  }
  calls = tki_calloc(maxcalls, 1);
  if (!calls) rc = tki_fail(TKN_ERR_NOMEM, "out of memory clearing");
  for (size_t i = 0; rc == TKN_OK && i < n; i++) {
    if (!c->clear[i]) continue;
    rc = tkn_conv_set_text(work, i, c->ph, c->ph_len);
    c->action[i] = TKN_PRUNE_CLEARED;
  }
  /* assistant messages: arguments of cleared uses, thinking blocks */
  size_t assistants_after = 0;
  for (size_t i = n; rc == TKN_OK && calls && i-- > 0;) {
    if (tkn_conv_role(work, i) != TKN_ROLE_ASSISTANT) continue;
    int thinking = c->o->clear_thinking && assistants_after >= c->o->keep_thinking_turns &&
                   has_thinking(work, i);
    assistants_after++;
    size_t k = tkn_conv_tool_call_count(work, i);
    int any = 0;
    memset(calls, 0, maxcalls);
    if (c->o->clear_inputs)
      for (size_t r = i + 1; r < n; r++)
        if (c->clear[r] && c->call_msg[r] == i && c->call_j[r] < k) {
          calls[c->call_j[r]] = 1;
          any = 1;
        }
    if (!any && !thinking) continue;
    int changed = 0;
    rc = rewrite_assistant(c, work, i, calls, thinking, &changed);
    if (rc == TKN_OK && changed) {
      c->action[i] = TKN_PRUNE_CLEARED;
      c->why[i] = thinking ? TKN_PRUNE_WHY_THINKING : TKN_PRUNE_WHY_OLD_TOOL;
    }
  }
  tki_free(calls);
  if (rc != TKN_OK) {
    tkn_conv_free(work);
    return rc;
  }
  *out = work;
  return TKN_OK;
}

/* ---- the decision ---- */

/* Per-token prices as doubles (picodollars). */
typedef struct rates {
  double r, w;
} rates;

static rates rates_of(const tkn_prune_options *o) {
  double in = (double)o->price_input_per_mtok / 1e6;
  rates x;
  x.r = o->price_cache_read_per_mtok > 0 ? (double)o->price_cache_read_per_mtok / 1e6 : in;
  x.w = o->price_cache_write_per_mtok > 0 ? (double)o->price_cache_write_per_mtok / 1e6 : in;
  return x;
}

/* The policy's figures for clearing the flagged results. */
static void economics(const clr *c, const uint8_t *flag, double *saving, double *cost,
                      int64_t *shed, int *later_ok) {
  size_t n = c->n, prev = 0, first = NONE, assistants = 0;
  for (size_t i = 0; i < n; i++)
    if (tkn_conv_role(c->conv, i) == TKN_ROLE_ASSISTANT) {
      prev = i; /* the previous call's input ended before its answer */
      assistants++;
    }
  int64_t c_prev = 0, c_new = 0, s_prev = 0;
  for (size_t i = 0; i < n; i++) {
    if (!flag[i]) continue;
    if (first == NONE) first = i;
    if (i < prev) c_prev += c->save[i];
    else c_new += c->save[i];
  }
  for (size_t i = first; first != NONE && i < prev; i++) s_prev += c->cost[i];
  /* the provider caches whole blocks: a break loses up to B - 1 more tokens */
  int64_t b = c->o->cache_block_tokens > 0 ? (int64_t)c->o->cache_block_tokens - 1 : 0;
  if (first != NONE && first < prev) s_prev += b;
  rates x = rates_of(c->o);
  double h = c->o->horizon_calls == TKN_PRUNE_HORIZON_GROWTH ? (double)assistants
                                                             : (double)c->o->horizon_calls;
  *shed = c_prev + c_new;
  *cost = (double)(s_prev - c_prev) * x.w - (double)s_prev * x.r - (double)c_new * x.w;
  *saving = h * (double)(c_prev + c_new) * x.r;
  /* a later call reads C fewer tokens; the rounding may cost it up to b at w - r */
  *later_ok = (double)(c_prev + c_new) * x.r >= (double)b * (x.w - x.r);
}

/* What the clears so far (`cleared` tokens) save at this call, in
 * picodollars: those tokens would have been cache reads; the block rounding
 * may cost up to B - 1 of the rest at w - r. */
static double banked_at_call(const tkn_prune_options *o, int64_t cleared) {
  if (cleared <= 0) return 0;
  rates x = rates_of(o);
  int64_t b = o->cache_block_tokens > 0 ? (int64_t)o->cache_block_tokens - 1 : 0;
  return (double)cleared * x.r - (double)b * (x.w - x.r);
}

static void set_ledger(const tkn_prune_options *o, const tkn_prune_ledger *led) {
  if (o->mode == TKN_PRUNE_POLICY && o->ledger) *o->ledger = *led;
}

static int64_t round_pd(double v) {
  if (v > 9e18) return INT64_MAX;
  if (v < -9e18) return INT64_MIN;
  return (int64_t)(v < 0 ? v - 0.5 : v + 0.5);
}

/* ---- the report ---- */

static int make_report(clr *c, tkn_conv *after, const uint8_t *kept_in_after,
                       tkn_prune_report **out) {
  size_t n = c->n;
  tkn_prune_report *rep = tki_prune_report_alloc(n);
  if (!rep) return tki_fail(TKN_ERR_NOMEM, "out of memory making the report");
  for (size_t i = 0; i < n; i++) {
    rep->action[i] = kept_in_after[i] ? c->action[i] : TKN_PRUNE_DROPPED;
    rep->why[i] = c->why[i];
    rep->tokens[i] = c->cost[i];
    if (kept_in_after[i]) rep->kept[rep->nkept++] = i;
    else rep->dropped[rep->ndropped++] = i;
    if (kept_in_after[i] && c->action[i] == TKN_PRUNE_CLEARED) rep->cleared_msgs++;
  }
  rep->before = c->total;
  int64_t t = 0;
  int rc = tkn_tokenizer_count_conv(c->tok, after, &c->o->count, &t, NULL);
  if (rc != TKN_OK) {
    tkn_prune_report_free(rep);
    return tki_fail(rc, "counting the cleared conversation failed: %s", tki_error_message());
  }
  rep->after = t;
  rep->summary_status = TKN_PRUNE_SUMMARY_NONE;
  *out = rep;
  return TKN_OK;
}

/* ---- degrading under a budget (POLICY with max_tokens) ---- */

static int64_t shed_of(const clr *c) {
  int64_t s = 0;
  for (size_t i = 0; i < c->n; i++)
    if (c->clear[i]) s += c->save[i];
  return s;
}

/* Drop the oldest messages of `work` as TRIM does; if that leaves nothing
 * beside the system prompt, keep the system prompt and the last turn.  keep[]
 * (original indices, the same as work's) says what stayed. */
static int drop_to_budget(clr *c, tkn_pruner *pruner, tkn_conv *work, char *note) {
  tkn_prune_options t = *c->o;
  t.mode = TKN_PRUNE_TRIM;
  t.strategy = TKN_PRUNE_LAST;
  t.include_system = 1;
  t.start_on = TKN_PRUNE_ROLE(TKN_ROLE_USER);
  t.end_on = 0;
  t.allow_partial = 0;
  t.degrade = 0; /* nothing left is handled below */
  tkn_conv *probe = NULL;
  int rc = tkn_conv_clone(&probe, work);
  if (rc != TKN_OK) return rc;
  tkn_prune_report *rep = NULL;
  rc = tkn_prune_run(pruner, probe, &t, &rep);
  size_t rest = 0;
  for (size_t i = 0; rc == TKN_OK && i < tkn_conv_count(probe); i++) {
    int role = tkn_conv_role(probe, i);
    rest += role != TKN_ROLE_SYSTEM && role != TKN_ROLE_DEVELOPER;
  }
  tkn_conv_free(probe);
  if (rc != TKN_OK) {
    tkn_prune_report_free(rep);
    return rc;
  }
  size_t n = c->n;
  if (rest > 0) {
    for (size_t i = 0; i < n; i++) {
      int32_t action = TKN_PRUNE_KEPT, why = 0;
      tkn_prune_report_message(rep, i, &action, &why, NULL);
      c->keep[i] = action != TKN_PRUNE_DROPPED;
      if (!c->keep[i]) c->why[i] = why;
    }
  } else {
    /* nothing fits: the system prompt and the last turn, over the budget */
    size_t from = n;
    while (from > 0 && tkn_conv_role(work, from - 1) != TKN_ROLE_USER) from--;
    if (from > 0) from--;
    else
      while (from < n && tkn_conv_role(work, from) == TKN_ROLE_TOOL) from++;
    if (from == n && n > 0) from = n - 1;
    for (size_t i = 0; i < n; i++) {
      int role = tkn_conv_role(work, i);
      c->keep[i] = i >= from || role == TKN_ROLE_SYSTEM || role == TKN_ROLE_DEVELOPER;
      if (!c->keep[i]) c->why[i] = TKN_PRUNE_WHY_BUDGET;
    }
    tki_err(note, 0, "even the last turn exceeds max_tokens %lld: sent the system prompt and "
                     "the last turn over the budget", (long long)c->o->max_tokens);
  }
  tkn_prune_report_free(rep);
  return tkn_conv_filter(work, c->keep, n);
}

/* ---- the run ---- */

int tki_prune_clear(tkn_pruner *pruner, tkn_conv *conv, const tkn_prune_options *o,
                    tkn_prune_report **report) {
  clr c;
  memset(&c, 0, sizeof c);
  c.tok = tki_prune_tokenizer(pruner);
  c.o = o;
  c.conv = conv;
  c.fmt = tkn_conv_source_format(conv) == TKN_PROVIDER_ANTHROPIC ? TKN_PROVIDER_ANTHROPIC
                                                                 : TKN_PROVIDER_OPENAI;
  c.n = tkn_conv_count(conv);
  c.ph = o->placeholder ? o->placeholder : TKN_PRUNE_PLACEHOLDER;
  c.ph_len = !o->placeholder ? strlen(TKN_PRUNE_PLACEHOLDER)
                             : tki_len(o->placeholder, o->placeholder_len);
  char note[TKI_ERRLEN] = "";
  int32_t decision = TKN_PRUNE_DECISION_NONE;
  double saving = 0, cost = 0;
  int dropped = 0;
  tkn_prune_ledger led = {0, 0, 0};
  if (o->ledger) led = *o->ledger;
  double led_credit = (double)led.credit;
  int rc = clr_init(&c);
  if (rc != TKN_OK) goto done;
  size_t n = c.n;
  int64_t old = 0;
  for (size_t i = 0; i < n; i++)
    if (c.cand[i] == 1) old += c.save[i];
  if (o->mode == TKN_PRUNE_MASK) {
    for (size_t i = 0; i < n; i++) c.clear[i] = c.cand[i] == 1;
  } else if (o->mode == TKN_PRUNE_CLEAR) {
    int go = c.total > o->clear_trigger && old > 0 && old >= o->clear_at_least;
    for (size_t i = 0; i < n; i++) {
      c.clear[i] = go && c.cand[i] == 1;
      if (!go && c.cand[i] == 1) c.why[i] = TKN_PRUNE_WHY_NOT_WORTH;
    }
  } else {
    /* POLICY */
    uint8_t *flag = c.clear;
    if (o->ledger) {
      /* this call banks what the clears so far save at it */
      led.calls++;
      led_credit += banked_at_call(o, led.cleared);
      if (led_credit < 0) led_credit = 0;
    }
    /* The old results from the first one cleared on all go (the prefix is
     * broken from there anyway); the first is the oldest for which the clear
     * is allowed (the largest clear): paid at once, or paid back over the
     * horizon and (with a ledger) risking no more than its credit. */
    int64_t shed = 0;
    int later_ok = 1, go = 0, risky = 0;
    size_t best = NONE;
    double best_saving = 0, best_cost = 0;
    int64_t best_shed = 0;
    for (size_t i = 0; i < n; i++) flag[i] = c.cand[i] == 1;
    economics(&c, flag, &saving, &cost, &shed, &later_ok); /* the figures of clearing all */
    for (size_t f = 0; f < n && best == NONE; f++) {
      if (c.cand[f] != 1) continue;
      for (size_t i = 0; i < n; i++) flag[i] = c.cand[i] == 1 && i >= f;
      double sv = 0, co = 0;
      int64_t sh = 0;
      int ok = 1;
      economics(&c, flag, &sv, &co, &sh, &ok);
      if (!(sh > 0 && sh >= o->clear_at_least && sv > co && ok)) continue;
      if (co > 0 && o->ledger && co > led_credit) {
        risky = 1;
        continue;
      }
      best = f, best_saving = sv, best_cost = co, best_shed = sh;
    }
    for (size_t i = 0; i < n; i++) flag[i] = c.cand[i] == 1;
    if (best != NONE) {
      go = 1;
      saving = best_saving, cost = best_cost, shed = best_shed;
      for (size_t i = 0; i < n; i++) flag[i] = c.cand[i] == 1 && i >= best;
    } else if (risky) {
      tki_err(note, 0, "clearing would risk more at this call than the ledger's credit of "
                       "%.0f picodollars", led_credit);
    }
    decision = shed == 0 ? TKN_PRUNE_DECISION_NONE
               : go      ? TKN_PRUNE_DECISION_CLEAR
                         : TKN_PRUNE_DECISION_KEEP;
    int64_t budget = o->max_tokens;
    if (!go && budget > 0 && c.total > budget && shed > 0) {
      go = 1;
      decision = TKN_PRUNE_DECISION_BUDGET;
    }
    if (go) led_credit -= cost;
    if (!go)
      for (size_t i = 0; i < n; i++) {
        if (flag[i]) c.why[i] = TKN_PRUNE_WHY_NOT_WORTH;
        flag[i] = 0;
      }
    /* still over the budget: every old result, then the recent ones too, oldest first */
    if (budget > 0 && c.total - shed_of(&c) > budget) {
      for (size_t i = 0; i < n; i++)
        if (c.cand[i] == 1 && !flag[i]) {
          flag[i] = 1;
          decision = TKN_PRUNE_DECISION_BUDGET;
        }
      for (size_t i = 0; i < n && c.total - shed_of(&c) > budget; i++)
        if (c.cand[i] == 2) {
          flag[i] = 1;
          decision = TKN_PRUNE_DECISION_DEGRADED;
        }
      if (c.total - shed_of(&c) > budget) {
        for (size_t i = 0; i < n; i++) flag[i] = c.cand[i] != 0;
        decision = TKN_PRUNE_DECISION_DEGRADED;
        dropped = 1;
      }
    }
  }
  int any = 0;
  for (size_t i = 0; i < n; i++) any |= c.clear[i];
  if (o->mode == TKN_PRUNE_POLICY && o->ledger) {
    /* a clear forced by max_tokens risks what it must: it spends the whole credit */
    if (decision == TKN_PRUNE_DECISION_BUDGET || decision == TKN_PRUNE_DECISION_DEGRADED)
      led_credit = 0;
    led.cleared += shed_of(&c);
    led.credit = led_credit <= 0 ? 0 : led_credit >= 9e18 ? INT64_MAX : (int64_t)led_credit;
  }
  if (!any && !dropped) {
    /* nothing changes (thinking is cleared only with results) */
    for (size_t i = 0; i < n; i++) c.action[i] = TKN_PRUNE_KEPT;
    if (report) rc = make_report(&c, conv, c.keep, report);
    if (rc == TKN_OK && report) {
      (*report)->decision = decision;
      (*report)->saving = round_pd(saving);
      (*report)->break_cost = round_pd(cost);
      memcpy((*report)->note, note, sizeof note);
    }
    if (rc == TKN_OK) set_ledger(o, &led);
    goto done;
  }
  tkn_conv *work = NULL;
  if ((rc = rewrite(&c, &work)) != TKN_OK) goto done;
  if (dropped) {
    int64_t t = 0;
    rc = tkn_tokenizer_count_conv(c.tok, work, &o->count, &t, NULL);
    if (rc == TKN_OK && t > o->max_tokens) rc = drop_to_budget(&c, pruner, work, note);
    if (rc != TKN_OK) {
      tkn_conv_free(work);
      goto done;
    }
  }
  tkn_prune_report *rep = NULL;
  if (report && (rc = make_report(&c, work, c.keep, &rep)) != TKN_OK) {
    tkn_conv_free(work);
    goto done;
  }
  tki_conv_swap(conv, work);
  tkn_conv_free(work);
  set_ledger(o, &led);
  if (rep) {
    rep->cleared_tokens = 0;
    for (size_t i = 0; i < n; i++)
      if (c.keep[i] && c.action[i] == TKN_PRUNE_CLEARED) rep->cleared_tokens += c.cost[i];
    /* tokens that went from the cleared messages: their counts before minus after */
    int64_t after_cleared = 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
      if (!c.keep[i]) continue;
      if (c.action[i] == TKN_PRUNE_CLEARED) {
        int64_t t = 0;
        if (tkn_tokenizer_count_message(c.tok, conv, k, &o->count, &t) == TKN_OK)
          after_cleared += t;
      }
      k++;
    }
    rep->cleared_tokens -= after_cleared;
    rep->decision = decision;
    rep->saving = round_pd(saving);
    rep->break_cost = round_pd(cost);
    memcpy(rep->note, note, sizeof note);
    *report = rep;
  }
done:
  clr_free(&c);
  return rc;
}
