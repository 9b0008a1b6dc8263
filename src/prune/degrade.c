/* Degrading instead of failing (prune.h, degrade 1): TRIM, SCORE and
 * SUMMARISE whose budget cannot be met.
 *
 * Step 1: tool results are replaced by the placeholder, oldest first, as few
 * as make the mode's selection fit.  Fitting is monotone in the number
 * cleared (clearing only shrinks messages), so a binary search finds the
 * fewest with O(log n) selections, each on a clone.  The results the
 * selection then drops were cleared for nothing, but cost nothing either;
 * those it keeps are the ones inside the must-keep set (or the kept run).
 * Step 2, when clearing every result is not enough: the oldest messages are
 * dropped as TRIM does (strategy last, the system prompt kept, starting on a
 * user message).  Step 3, when even that leaves nothing beside the system
 * prompt: the system prompt and the last turn, over the budget.
 *
 * Every step works on a clone swapped in at the end, so a failure leaves the
 * conversation as it was.  The report is that of the last run, over the
 * clone (same indices: clearing keeps every message), with the original
 * counts and the cleared results put back in. */
#include <string.h>

#include "../conv/conv_swap.h"
#include "../internal.h"
#include "prune_internal.h"
#include "tokenomy/prune.h"

typedef struct dg {
  tkn_pruner *pruner;
  const tkn_tokenizer *tok;
  tkn_conv *conv;
  const tkn_prune_options *o;
  size_t n;
  const char *ph;
  size_t ph_len;
  size_t *res; /* the results that may be cleared, oldest first */
  size_t nres;
} dg;

static int is_system(int32_t role) { return role == TKN_ROLE_SYSTEM || role == TKN_ROLE_DEVELOPER; }

static int excluded(const tkn_prune_options *o, const tkn_conv *conv, size_t i) {
  const char *id = NULL, *cid, *fn = NULL, *args;
  size_t len = 0, cm = 0, cl, fl = 0, al;
  if (!o->exclude_tools_count) return 0;
  tkn_conv_tool_call_id(conv, i, &id, &len);
  if (!id || tkn_conv_find_tool_call(conv, id, len, &cm) != TKN_OK) return 0;
  for (size_t j = 0; j < tkn_conv_tool_call_count(conv, cm); j++)
    if (tkn_conv_tool_call(conv, cm, j, &cid, &cl, &fn, &fl, &args, &al) == TKN_OK &&
        cl == len && memcmp(cid, id, len) == 0)
      break;
  for (size_t k = 0; fn && k < o->exclude_tools_count; k++)
    if (strlen(o->exclude_tools[k]) == fl && memcmp(o->exclude_tools[k], fn, fl) == 0) return 1;
  return 0;
}

/* The results worth clearing: not already the placeholder, not of an
 * excluded tool, longer than the placeholder. */
static int find_results(dg *d) {
  d->res = tki_calloc(d->n + 1, sizeof *d->res);
  if (!d->res) return tki_fail(TKN_ERR_NOMEM, "out of memory degrading");
  int64_t ph_tok = 0;
  int rc = tkn_tokenizer_count(d->tok, d->ph, d->ph_len, &ph_tok);
  for (size_t i = 0; rc == TKN_OK && i < d->n; i++) {
    const char *text = NULL;
    size_t len = 0;
    int64_t t = 0;
    if (tkn_conv_role(d->conv, i) != TKN_ROLE_TOOL) continue;
    if ((rc = tkn_conv_text(d->conv, i, &text, &len)) != TKN_OK) break;
    if ((len == d->ph_len && memcmp(text, d->ph, len) == 0) || excluded(d->o, d->conv, i))
      continue;
    if ((rc = tkn_tokenizer_count(d->tok, text ? text : "", len, &t)) != TKN_OK) break;
    if (t > ph_tok) d->res[d->nres++] = i;
  }
  if (rc != TKN_OK) return tki_fail(rc, "counting a tool result failed: %s", tki_error_message());
  return TKN_OK;
}

/* A clone of the conversation with the first k results cleared. */
static int cleared_clone(const dg *d, size_t k, tkn_conv **out) {
  *out = NULL;
  tkn_conv *w = NULL;
  int rc = tkn_conv_clone(&w, d->conv);
  for (size_t j = 0; rc == TKN_OK && j < k; j++)
    rc = tkn_conv_set_text(w, d->res[j], d->ph, d->ph_len);
  if (rc != TKN_OK) {
    tkn_conv_free(w);
    return tki_fail(rc, "clearing a tool result failed: %s", tkn_strerror(rc));
  }
  *out = w;
  return TKN_OK;
}

static int others_in(const tkn_conv *c) {
  for (size_t i = 0; i < tkn_conv_count(c); i++)
    if (!is_system(tkn_conv_role(c, i))) return 1;
  return 0;
}

/* Does the mode's selection fit with the first k results cleared?  (Summarise:
 * its base selection at the whole budget, as it falls back to.) */
static int fits(const dg *d, size_t k, int *ok) {
  tkn_conv *w = NULL;
  int rc = cleared_clone(d, k, &w);
  if (rc != TKN_OK) return rc;
  tkn_prune_options s = *d->o;
  s.degrade = 0;
  if (s.mode == TKN_PRUNE_SUMMARISE) s.mode = s.summarise_from;
  rc = tkn_prune_run(d->pruner, w, &s, NULL);
  *ok = rc == TKN_OK && others_in(w);
  tkn_conv_free(w);
  return rc == TKN_ERR_BUDGET ? TKN_OK : rc;
}

/* The system prompt and the last turn (from the last user message; with
 * none, from the first message that is not a tool result). */
static int last_turn(const dg *d, tkn_conv *w, uint8_t *keep) {
  size_t n = d->n, from = n;
  while (from > 0 && tkn_conv_role(w, from - 1) != TKN_ROLE_USER) from--;
  if (from > 0) from--;
  else
    while (from < n && tkn_conv_role(w, from) == TKN_ROLE_TOOL) from++;
  if (from == n && n > 0) from = n - 1;
  for (size_t i = 0; i < n; i++) keep[i] = i >= from || is_system(tkn_conv_role(w, i));
  return tkn_conv_filter(w, keep, n);
}

/* Put the original counts and the cleared results into the report of a run
 * over the clone (or, rep NULL, make one from keep[]). */
static int finish_report(const dg *d, size_t k, tkn_conv *after, const uint8_t *keep,
                         tkn_prune_report *rep, const char *note, tkn_prune_report **out) {
  int rc = TKN_OK;
  if (!rep && !keep) return tki_fail(TKN_ERR_INVALID, "degrade: no report and no kept set");
  if (!rep) {
    rep = tki_prune_report_alloc(d->n);
    if (!rep) return tki_fail(TKN_ERR_NOMEM, "out of memory making the report");
    for (size_t i = 0; i < d->n; i++) {
      rep->action[i] = keep[i] ? TKN_PRUNE_KEPT : TKN_PRUNE_DROPPED;
      rep->why[i] = keep[i] ? TKN_PRUNE_WHY_RECENT : TKN_PRUNE_WHY_BUDGET;
      if (is_system(tkn_conv_role(d->conv, i))) rep->why[i] = TKN_PRUNE_WHY_SYSTEM;
      if (keep[i]) rep->kept[rep->nkept++] = i;
      else rep->dropped[rep->ndropped++] = i;
    }
    rc = tkn_tokenizer_count_conv(d->tok, after, &d->o->count, &rep->after, NULL);
  }
  rep->before = 0;
  rep->cleared_msgs = 0;
  rep->cleared_tokens = 0;
  for (size_t i = 0; rc == TKN_OK && i < d->n; i++) {
    int64_t t = 0;
    rc = tkn_tokenizer_count_message(d->tok, d->conv, i, &d->o->count, &t);
    rep->before += t;
    rep->tokens[i] = t;
  }
  if (d->n) rep->before += d->o->count.reply_priming;
  for (size_t j = 0; rc == TKN_OK && j < k; j++) {
    size_t i = d->res[j];
    if (rep->action[i] != TKN_PRUNE_KEPT) continue;
    rep->action[i] = TKN_PRUNE_CLEARED;
    rep->why[i] = TKN_PRUNE_WHY_BUDGET;
    rep->cleared_msgs++;
    rep->cleared_tokens += rep->tokens[i];
  }
  /* less what the cleared messages hold now, in the pruned conversation */
  size_t at = 0;
  for (size_t i = 0; rc == TKN_OK && i < d->n; i++) {
    if (rep->action[i] == TKN_PRUNE_DROPPED || rep->action[i] == TKN_PRUNE_SUMMARISED) continue;
    if (rep->action[i] == TKN_PRUNE_CLEARED) {
      int64_t t = 0;
      /* a summary inserted before this message shifts it by one */
      size_t j = at + (rep->summary_status == TKN_PRUNE_SUMMARY_ADDED && rep->summary_index <= at);
      rc = tkn_tokenizer_count_message(d->tok, after, j, &d->o->count, &t);
      rep->cleared_tokens -= t;
    }
    at++;
  }
  if (rc != TKN_OK) {
    tkn_prune_report_free(rep);
    return tki_fail(rc, "counting the degraded conversation failed: %s", tki_error_message());
  }
  rep->decision = TKN_PRUNE_DECISION_DEGRADED;
  if (!rep->note[0] || !note[0]) {
    if (note[0]) memcpy(rep->note, note, strlen(note) + 1);
  } else {
    char both[TKI_ERRLEN];
    tki_err(both, 0, "%s; %s", note, rep->note);
    memcpy(rep->note, both, sizeof both);
  }
  *out = rep;
  return TKN_OK;
}

int tki_prune_degrade(tkn_pruner *pruner, tkn_conv *conv, const tkn_prune_options *o,
                      tkn_prune_report **report) {
  dg d;
  memset(&d, 0, sizeof d);
  d.pruner = pruner;
  d.tok = tki_prune_tokenizer(pruner);
  d.conv = conv;
  d.o = o;
  d.n = tkn_conv_count(conv);
  d.ph = o->placeholder ? o->placeholder : TKN_PRUNE_PLACEHOLDER;
  d.ph_len = o->placeholder ? tki_len(o->placeholder, o->placeholder_len)
                            : strlen(TKN_PRUNE_PLACEHOLDER);
  char note[TKI_ERRLEN] = "";
  tkn_conv *w = NULL;
  tkn_prune_report *rep = NULL;
  uint8_t *keep = NULL;
  int rc = find_results(&d);
  /* step 1: the fewest results cleared (oldest first) that make it fit */
  size_t lo = 1, hi = d.nres, k = 0;
  while (rc == TKN_OK && lo <= hi) {
    size_t mid = lo + (hi - lo) / 2;
    int ok = 0;
    if ((rc = fits(&d, mid, &ok)) != TKN_OK) break;
    if (ok) {
      k = mid;
      hi = mid - 1;
    } else {
      lo = mid + 1;
    }
  }
  if (rc != TKN_OK) goto done;
  tkn_prune_options s = *o;
  s.degrade = 0;
  if (k > 0) {
    if ((rc = cleared_clone(&d, k, &w)) != TKN_OK) goto done;
    if ((rc = tkn_prune_run(pruner, w, &s, report ? &rep : NULL)) != TKN_OK) goto done;
    tki_err(note, 0, "degraded: cleared %zu of %zu tool results (oldest first) to fit max_tokens "
                     "%lld", k, d.nres, (long long)o->max_tokens);
  } else {
    /* step 2: every result cleared, the oldest messages dropped as trim does */
    k = d.nres;
    if ((rc = cleared_clone(&d, k, &w)) != TKN_OK) goto done;
    s.mode = TKN_PRUNE_TRIM;
    s.strategy = TKN_PRUNE_LAST;
    s.include_system = 1;
    s.start_on = TKN_PRUNE_ROLE(TKN_ROLE_USER);
    s.end_on = 0;
    s.allow_partial = 0;
    tkn_conv *probe = NULL;
    if ((rc = tkn_conv_clone(&probe, w)) != TKN_OK) goto done;
    rc = tkn_prune_run(pruner, probe, &s, report ? &rep : NULL);
    if (rc == TKN_OK && others_in(probe)) {
      tki_conv_swap(w, probe);
      tki_err(note, 0, "degraded: cleared all %zu tool results and dropped the oldest messages "
                       "to fit max_tokens %lld", k, (long long)o->max_tokens);
    } else if (rc == TKN_OK) {
      /* step 3: never nothing */
      tkn_prune_report_free(rep);
      rep = NULL;
      keep = tki_calloc(d.n + 1, 1);
      rc = keep ? last_turn(&d, w, keep) : tki_fail(TKN_ERR_NOMEM, "out of memory degrading");
      tki_err(note, 0, "degraded: even the last turn exceeds max_tokens %lld: sent the system "
                       "prompt and the last turn over the budget (%zu tool results cleared)",
              (long long)o->max_tokens, k);
    }
    tkn_conv_free(probe);
    if (rc != TKN_OK) goto done;
  }
  if (report) {
    tkn_prune_report *r = rep;
    rep = NULL;
    if ((rc = finish_report(&d, k, w, keep, r, note, report)) != TKN_OK) goto done;
  }
  tki_conv_swap(conv, w);
done:
  tkn_prune_report_free(rep);
  tkn_conv_free(w);
  tki_free(keep);
  tki_free(d.res);
  return rc;
}
