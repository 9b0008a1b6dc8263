/* Context pruning: trim (LangChain's trimMessages), score and summarise, with
 * tool units kept whole and the provider's ordering rules respected.
 *
 * A run reads the conversation once (roles, cached token counts, tool-call
 * links), decides per message keep / drop / cut with a reason, and only then
 * changes the conversation: at most one step that can fail (the cut text or
 * the summary insert) followed by tkn_conv_filter, which cannot.  So every
 * failure leaves the conversation as it was.
 *
 * Tool units: an assistant message with tool calls leads a unit whose members
 * are the tool results answering its call ids (linked through a hash of the
 * ids).  Trim works on contiguous runs, so with protection on a run may only
 * be cut where no unit spans the cut; score and summarise select whole units.
 */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "../internal.h"
#include "prune_internal.h"
#include "tokenomy/prune.h"

#define NONE ((size_t)-1)

/* The built-in score's features of a message, remembered across runs by a
 * 64-bit hash of (role, has tool calls, text): pruning the same conversation
 * again, turn after turn, does not rescan its text. */
typedef struct feat_slot {
  uint64_t key; /* 0: empty */
  double kind, density;
} feat_slot;
#define FEAT_MAX ((size_t)1 << 18) /* slots; the table is emptied when 3/4 full */

struct tkn_pruner {
  const tkn_tokenizer *tok;
  feat_slot *feat;
  size_t feat_cap, feat_n;
};

typedef struct ranked ranked;

/* One run's view of the conversation and its decisions. */
typedef struct run {
  tkn_pruner *p;
  tkn_conv *conv;
  const tkn_prune_options *o;
  int provider;
  size_t n;
  int64_t prime;    /* reply priming, counted once */
  int64_t *cost;    /* tokens of each message, overhead included */
  int32_t *role;
  size_t *lead;     /* unit leader of each message (itself if alone) */
  size_t *next;     /* next member of the unit, NONE at the end */
  size_t *tail;     /* leaders: last member */
  uint8_t *orphan;  /* tool result without its call */
  uint8_t *cut_ok;  /* n + 1 entries: a cut before message c splits no unit */
  uint8_t *keep;
  int32_t *why;
  uint8_t *summarised;
  /* a message cut by allow_partial */
  size_t cut_idx;
  char *cut_text;
  size_t cut_len;
  int64_t cut_cost;
  /* scratch of the selections */
  size_t *seq;
  int64_t *pre;
  double *score;
  ranked *order;
} run;

/* ---- options ---- */

/* Where each older version's struct ends: version 1 before the mask / clear /
 * policy fields, version 2 before the ledger (and degrade). */
static size_t options_size(uint32_t version) {
  if (version == 1) return offsetof(tkn_prune_options, keep_tool_uses);
  if (version == 2) return offsetof(tkn_prune_options, ledger);
  return version == TKN_PRUNE_OPTIONS_VERSION ? sizeof(tkn_prune_options) : 0;
}

int tkn_prune_options_init(tkn_prune_options *opts, uint32_t version) {
  if (!opts) return tki_fail(TKN_ERR_INVALID, "tkn_prune_options_init: opts is NULL");
  size_t size = options_size(version);
  if (!size) return tki_fail(TKN_ERR_VERSION, "tkn_prune_options_init: unknown version");
  tkn_prune_options init = TKN_PRUNE_OPTIONS_INIT;
  memcpy(opts, &init, size);
  opts->version = version;
  return TKN_OK;
}

int tki_prune_options_norm(const tkn_prune_options *in, tkn_prune_options *out) {
  tkn_prune_options init = TKN_PRUNE_OPTIONS_INIT;
  size_t size = options_size(in->version);
  if (!size)
    return tki_fail(TKN_ERR_VERSION, "prune options version %u is not 1 to %u", in->version,
                    TKN_PRUNE_OPTIONS_VERSION);
  *out = init;
  memcpy(out, in, size);
  if (in->version < 3) out->degrade = 0; /* their contract: TKN_ERR_BUDGET */
  out->version = TKN_PRUNE_OPTIONS_VERSION;
  return TKN_OK;
}

#define ALL_ROLES                                                                 \
  (TKN_PRUNE_ROLE(TKN_ROLE_SYSTEM) | TKN_PRUNE_ROLE(TKN_ROLE_DEVELOPER) |           \
   TKN_PRUNE_ROLE(TKN_ROLE_USER) | TKN_PRUNE_ROLE(TKN_ROLE_ASSISTANT) |             \
   TKN_PRUNE_ROLE(TKN_ROLE_TOOL))

static int check_flag(char *err, const char *name, int32_t v) {
  if (v == 0 || v == 1) return TKN_OK;
  return tki_err(err, TKN_ERR_INVALID, "prune option %s must be 0 or 1 (got %d)", name, (int)v);
}

static int check_weight(char *err, const char *name, double v) {
  if (isfinite(v) && v >= 0) return TKN_OK;
  return tki_err(err, TKN_ERR_INVALID, "prune option %s must be a finite number >= 0", name);
}

static int check_options(const tkn_prune_options *o, int provider, char *err) {
  int rc;
  if (o->version != TKN_PRUNE_OPTIONS_VERSION)
    return tki_err(err, TKN_ERR_VERSION, "prune options version %u is not %u", o->version,
                   TKN_PRUNE_OPTIONS_VERSION);
  if (o->mode < TKN_PRUNE_TRIM || o->mode > TKN_PRUNE_POLICY)
    return tki_err(err, TKN_ERR_INVALID, "unknown prune mode %d", (int)o->mode);
  if (o->max_tokens < 0)
    return tki_err(err, TKN_ERR_INVALID, "max_tokens is negative (%lld)", (long long)o->max_tokens);
  if (o->count.version != TKN_COUNT_OPTIONS_VERSION)
    return tki_err(err, TKN_ERR_VERSION, "count options version %u is not %u", o->count.version,
                   TKN_COUNT_OPTIONS_VERSION);
  if (o->count.per_message < 0 || o->count.per_name < 0 || o->count.reply_priming < 0 ||
      o->count.per_tool_call < 0)
    return tki_err(err, TKN_ERR_INVALID, "count overheads must be >= 0");
  if (tki_provider_check(o->provider, 1))
    return tki_err(err, tki_provider_check(o->provider, 1), "provider %d: %s", (int)o->provider,
                   tki_provider_why(o->provider));
  if ((rc = check_flag(err, "protect_tool_pairs", o->protect_tool_pairs)) ||
      (rc = check_flag(err, "fix_provider_order", o->fix_provider_order)) ||
      (rc = check_flag(err, "include_system", o->include_system)) ||
      (rc = check_flag(err, "allow_partial", o->allow_partial)) ||
      (rc = check_flag(err, "keep_system", o->keep_system)) ||
      (rc = check_flag(err, "degrade", o->degrade)))
    return rc;
  if (o->strategy != TKN_PRUNE_LAST && o->strategy != TKN_PRUNE_FIRST)
    return tki_err(err, TKN_ERR_INVALID, "unknown trim strategy %d", (int)o->strategy);
  if (o->strategy == TKN_PRUNE_FIRST && (o->include_system || o->start_on))
    return tki_err(err, TKN_ERR_INVALID,
                   "include_system and start_on apply to strategy last only (as in LangChain)");
  if ((o->start_on | o->end_on) & ~(uint32_t)ALL_ROLES)
    return tki_err(err, TKN_ERR_INVALID, "start_on / end_on hold an unknown role bit");
  if ((rc = check_weight(err, "weight_recency", o->weight_recency)) ||
      (rc = check_weight(err, "weight_kind", o->weight_kind)) ||
      (rc = check_weight(err, "weight_density", o->weight_density)))
    return rc;
  if ((rc = check_flag(err, "clear_inputs", o->clear_inputs)) ||
      (rc = check_flag(err, "clear_thinking", o->clear_thinking)))
    return rc;
  {
    const char *name[] = {"clear_trigger", "clear_at_least", "price_input_per_mtok",
                          "price_cache_read_per_mtok", "price_cache_write_per_mtok"};
    int64_t v[] = {o->clear_trigger, o->clear_at_least, o->price_input_per_mtok,
                   o->price_cache_read_per_mtok, o->price_cache_write_per_mtok};
    for (size_t i = 0; i < 5; i++)
      if (v[i] < 0)
        return tki_err(err, TKN_ERR_INVALID, "prune option %s is negative (%lld)", name[i],
                       (long long)v[i]);
  }
  if (o->mode == TKN_PRUNE_POLICY && o->price_input_per_mtok <= 0)
    return tki_err(err, TKN_ERR_INVALID, "policy mode needs price_input_per_mtok > 0");
  if (o->ledger) {
    const tkn_prune_ledger *l = o->ledger;
    const char *name[] = {"credit", "cleared", "calls"};
    int64_t v[] = {l->credit, l->cleared, l->calls};
    for (size_t i = 0; i < 3; i++)
      if (v[i] < 0)
        return tki_err(err, TKN_ERR_INVALID, "prune option ledger->%s is negative (%lld)",
                       name[i], (long long)v[i]);
  }
  if (o->exclude_tools_count && !o->exclude_tools)
    return tki_err(err, TKN_ERR_INVALID, "exclude_tools is NULL with exclude_tools_count %zu",
                   o->exclude_tools_count);
  for (size_t i = 0; i < o->exclude_tools_count; i++)
    if (!o->exclude_tools[i])
      return tki_err(err, TKN_ERR_INVALID, "exclude_tools[%zu] is NULL", i);
  if (o->placeholder) {
    size_t pl = tki_len(o->placeholder, o->placeholder_len);
    if (!tki_utf8_valid(o->placeholder, pl, NULL))
      return tki_err(err, TKN_ERR_INVALID, "placeholder is not valid UTF-8");
  }
  if (o->mode == TKN_PRUNE_SUMMARISE) {
    if (!o->summarise)
      return tki_err(err, TKN_ERR_INVALID, "summarise mode needs the summarise callback");
    if (o->summarise_from != TKN_PRUNE_SCORE && o->summarise_from != TKN_PRUNE_TRIM)
      return tki_err(err, TKN_ERR_INVALID, "summarise_from must be TKN_PRUNE_SCORE or _TRIM");
    if (o->summary_role != TKN_ROLE_USER &&
        !(o->summary_role == TKN_ROLE_SYSTEM && provider == TKN_PROVIDER_OPENAI))
      return tki_err(err, TKN_ERR_INVALID,
                     "summary_role must be user (or system when the provider is OpenAI)");
    if (o->summary_max_tokens < 0 || o->summary_max_tokens > o->max_tokens)
      return tki_err(err, TKN_ERR_INVALID, "summary_max_tokens %lld is not within 0..max_tokens",
                     (long long)o->summary_max_tokens);
  }
  return TKN_OK;
}

/* ---- pruner ---- */

int tkn_prune_new(tkn_pruner **out, const tkn_tokenizer *tok) {
  if (!out) return tki_fail(TKN_ERR_INVALID, "tkn_prune_new: out is NULL");
  *out = NULL;
  if (!tok) return tki_fail(TKN_ERR_INVALID, "tkn_prune_new: tok is NULL");
  tkn_pruner *p = tki_calloc(1, sizeof *p);
  if (!p) return tki_fail(TKN_ERR_NOMEM, "tkn_prune_new: out of memory");
  p->tok = tok;
  *out = p;
  return TKN_OK;
}

void tkn_prune_free(tkn_pruner *pruner) {
  if (!pruner) return;
  tki_free(pruner->feat);
  tki_free(pruner);
}

/* Features of a message, from the cache or computed (and cached if room). */
static void features(tkn_pruner *p, int32_t role, int calls, const char *text, size_t len,
                     tki_prune_features *f) {
  uint64_t key = tki_hash64(text, len, ((uint64_t)(uint32_t)role << 1) | (uint64_t)(calls != 0));
  if (key == 0) key = 1;
  if (p->feat) {
    size_t mask = p->feat_cap - 1;
    for (size_t h = (size_t)key & mask; p->feat[h].key; h = (h + 1) & mask)
      if (p->feat[h].key == key) {
        f->kind = p->feat[h].kind;
        f->density = p->feat[h].density;
        return;
      }
  }
  tki_prune_features_of(role, calls, text, len, f);
  if (!p->feat || (p->feat_n + 1) * 4 > p->feat_cap * 3) {
    /* grow, or start over when at the limit; a failed allocation only
     * means no caching */
    size_t cap = p->feat ? p->feat_cap * 2 : 4096;
    if (cap > FEAT_MAX) cap = FEAT_MAX;
    feat_slot *t = tki_calloc(cap, sizeof *t);
    if (!t) return;
    size_t n = 0;
    if (p->feat && cap > p->feat_cap)
      for (size_t i = 0; i < p->feat_cap; i++)
        if (p->feat[i].key) {
          size_t h = (size_t)p->feat[i].key & (cap - 1);
          while (t[h].key) h = (h + 1) & (cap - 1);
          t[h] = p->feat[i];
          n++;
        }
    tki_free(p->feat);
    p->feat = t;
    p->feat_cap = cap;
    p->feat_n = n;
  }
  size_t mask = p->feat_cap - 1, h = (size_t)key & mask;
  while (p->feat[h].key) h = (h + 1) & mask;
  p->feat[h] = (feat_slot){key, f->kind, f->density};
  p->feat_n++;
}

/* ---- reading the conversation ---- */

static int is_system(int32_t role) { return role == TKN_ROLE_SYSTEM || role == TKN_ROLE_DEVELOPER; }

/* LangChain's message types: developer is "system". */
static int role_matches(int32_t role, uint32_t mask) {
  if (is_system(role))
    return (mask & (TKN_PRUNE_ROLE(TKN_ROLE_SYSTEM) | TKN_PRUNE_ROLE(TKN_ROLE_DEVELOPER))) != 0;
  return (mask & TKN_PRUNE_ROLE(role)) != 0;
}

typedef struct id_slot {
  const char *id;
  size_t len;
  size_t msg;
} id_slot;

static size_t slot_find(id_slot *t, size_t mask, const char *id, size_t len) {
  size_t h = (size_t)tki_hash64(id, len, 0x70u) & mask;
  while (t[h].id && !(t[h].len == len && memcmp(t[h].id, id, len) == 0)) h = (h + 1) & mask;
  return h;
}

/* Link tool results to the assistant message holding their call. */
static int link_units(run *r) {
  size_t ncalls = 0;
  for (size_t i = 0; i < r->n; i++)
    if (r->role[i] == TKN_ROLE_ASSISTANT) ncalls += tkn_conv_tool_call_count(r->conv, i);
  size_t cap = 16;
  while (cap < 2 * ncalls + 1) cap *= 2;
  id_slot *t = tki_calloc(cap, sizeof *t);
  if (!t) return tki_fail(TKN_ERR_NOMEM, "out of memory linking tool calls");
  for (size_t i = 0; i < r->n; i++) {
    r->lead[i] = i;
    r->next[i] = NONE;
    r->tail[i] = i;
    if (r->role[i] == TKN_ROLE_ASSISTANT) {
      size_t k = tkn_conv_tool_call_count(r->conv, i);
      for (size_t j = 0; j < k; j++) {
        const char *id;
        size_t len;
        if (tkn_conv_tool_call(r->conv, i, j, &id, &len, NULL, NULL, NULL, NULL) || !id) continue;
        size_t h = slot_find(t, cap - 1, id, len);
        t[h] = (id_slot){id, len, i}; /* a later call with the same id wins */
      }
    } else if (r->role[i] == TKN_ROLE_TOOL) {
      const char *id = NULL;
      size_t len = 0;
      tkn_conv_tool_call_id(r->conv, i, &id, &len);
      size_t h = id ? slot_find(t, cap - 1, id, len) : 0;
      if (!id || !t[h].id) {
        r->orphan[i] = 1;
        continue;
      }
      size_t L = t[h].msg;
      r->lead[i] = L;
      r->next[r->tail[L]] = i;
      r->tail[L] = i;
    }
  }
  tki_free(t);
  /* a cut before message c is unsafe when a unit spans it */
  int32_t *diff = tki_calloc(r->n + 2, sizeof *diff);
  if (!diff) return tki_fail(TKN_ERR_NOMEM, "out of memory linking tool calls");
  if (r->o->protect_tool_pairs)
    for (size_t i = 0; i < r->n; i++)
      if (r->lead[i] == i && r->tail[i] > i) {
        diff[i + 1]++;
        diff[r->tail[i] + 1]--;
      }
  int32_t run_sum = 0;
  for (size_t c = 0; c <= r->n; c++) {
    run_sum += diff[c];
    r->cut_ok[c] = run_sum == 0;
  }
  tki_free(diff);
  return TKN_OK;
}

static void run_free(run *r) {
  tki_free(r->cost);
  tki_free(r->role);
  tki_free(r->lead);
  tki_free(r->next);
  tki_free(r->tail);
  tki_free(r->orphan);
  tki_free(r->cut_ok);
  tki_free(r->keep);
  tki_free(r->why);
  tki_free(r->summarised);
  tki_free(r->cut_text);
  tki_free(r->seq);
  tki_free(r->pre);
  tki_free(r->score);
  tki_free(r->order);
}

static int run_init(run *r) {
  size_t n = r->n;
  r->cost = tki_calloc(n + 1, sizeof *r->cost);
  r->role = tki_calloc(n + 1, sizeof *r->role);
  r->lead = tki_calloc(n + 1, sizeof *r->lead);
  r->next = tki_calloc(n + 1, sizeof *r->next);
  r->tail = tki_calloc(n + 1, sizeof *r->tail);
  r->orphan = tki_calloc(n + 1, 1);
  r->cut_ok = tki_calloc(n + 2, 1);
  r->keep = tki_calloc(n + 1, 1);
  r->why = tki_calloc(n + 1, sizeof *r->why);
  r->summarised = tki_calloc(n + 1, 1);
  r->seq = tki_calloc(n + 1, sizeof *r->seq);
  r->pre = tki_calloc(n + 2, sizeof *r->pre);
  if (!r->cost || !r->role || !r->lead || !r->next || !r->tail || !r->orphan || !r->cut_ok ||
      !r->keep || !r->why || !r->summarised || !r->seq || !r->pre)
    return tki_fail(TKN_ERR_NOMEM, "out of memory preparing to prune %zu messages", n);
  r->cut_idx = NONE;
  r->prime = r->o->count.reply_priming;
  for (size_t i = 0; i < n; i++) {
    r->role[i] = tkn_conv_role(r->conv, i);
    int rc = tkn_tokenizer_count_message(r->p->tok, r->conv, i, &r->o->count, &r->cost[i]);
    if (rc != TKN_OK)
      return tki_fail(rc, "counting the tokens of message %zu failed: %s", i, tki_error_message());
  }
  return link_units(r);
}

static int64_t sum_tokens(const run *r) {
  if (r->n == 0) return 0; /* an empty conversation is 0, priming included */
  int64_t t = r->prime;
  for (size_t i = 0; i < r->n; i++) t += r->cost[i];
  return t;
}

/* ---- shared steps ---- */

static void set_unit(run *r, size_t lead, uint8_t keep, int32_t why, int32_t member_why) {
  for (size_t m = lead; m != NONE; m = r->next[m]) {
    r->keep[m] = keep;
    r->why[m] = m == lead ? why : member_why;
  }
}

/* Drop orphaned tool results; then leading messages the provider refuses. */
static void fix_order(run *r, const uint8_t *must) {
  if (r->o->protect_tool_pairs)
    for (size_t i = 0; i < r->n; i++)
      if (r->orphan[i] && r->keep[i]) {
        r->keep[i] = 0;
        r->why[i] = TKN_PRUNE_WHY_ORPHAN;
        if (r->cut_idx == i) r->cut_idx = NONE;
      }
  if (!r->o->fix_provider_order) return;
  for (size_t i = 0; i < r->n; i++) {
    if (!r->keep[i] || is_system(r->role[i])) continue;
    int bad = r->role[i] == TKN_ROLE_TOOL ||
              (r->provider == TKN_PROVIDER_ANTHROPIC && r->role[i] != TKN_ROLE_USER);
    if (!bad || (must && must[i])) return;
    size_t lead = r->o->protect_tool_pairs ? r->lead[i] : i;
    if (r->o->protect_tool_pairs)
      for (size_t m = lead; m != NONE; m = r->next[m]) {
        if (r->keep[m]) r->why[m] = TKN_PRUNE_WHY_PROVIDER;
        r->keep[m] = 0;
        if (r->cut_idx == m) r->cut_idx = NONE;
      }
    else {
      r->keep[i] = 0;
      r->why[i] = TKN_PRUNE_WHY_PROVIDER;
      if (r->cut_idx == i) r->cut_idx = NONE;
    }
  }
}

/* ---- trim ---- */

static int default_splitter(const char *text, size_t len, size_t pos, size_t *end, int32_t *last,
                            void *user) {
  (void)user;
  const char *nl = memchr(text + pos, '\n', len - pos);
  if (nl) {
    *end = (size_t)(nl - text) + 1;
    *last = 0;
  } else {
    *end = len;
    *last = 1;
  }
  return 0;
}

/* Piece boundaries of text: starts[0..*np) and ends[0..*np). */
static int split_text(run *r, const char *text, size_t len, size_t **starts, size_t **ends,
                      size_t *np) {
  tkn_prune_splitter_fn fn = r->o->text_splitter ? r->o->text_splitter : default_splitter;
  void *user = r->o->text_splitter ? r->o->text_splitter_user : NULL;
  size_t cap = 0, n = 0, pos = 0;
  *starts = *ends = NULL;
  for (;;) {
    size_t end = 0;
    int32_t last = 0;
    if (fn(text, len, pos, &end, &last, user) != 0)
      return tki_fail(TKN_ERR_CALLBACK, "the text splitter failed at byte %zu", pos);
    if (end < pos || end > len)
      return tki_fail(TKN_ERR_CALLBACK,
                     "the text splitter returned end %zu outside %zu..%zu", end, pos, len);
    if (n > len + 1 || (!last && end == len && n > len))
      return tki_fail(TKN_ERR_CALLBACK, "the text splitter does not terminate");
    if (n == cap) {
      size_t c1 = cap, c2 = cap;
      if (tki_grow((void **)starts, &c1, n + 1, sizeof **starts) != TKN_OK ||
          tki_grow((void **)ends, &c2, n + 1, sizeof **ends) != TKN_OK)
        return tki_fail(TKN_ERR_NOMEM, "out of memory splitting text");
      cap = c1 < c2 ? c1 : c2;
    }
    (*starts)[n] = pos;
    (*ends)[n] = end;
    n++;
    pos = end;
    if (last) break;
  }
  *np = n;
  return TKN_OK;
}

/* Tokens of message x with its text replaced (counted like the original). */
typedef struct probe {
  tkn_conv *conv;
} probe;

static int probe_open(run *r, size_t x, probe *pr) {
  char *json = NULL;
  size_t len = 0;
  pr->conv = NULL;
  int rc = tkn_conv_message_to_json(r->conv, x, TKN_PROVIDER_OPENAI, &json, &len);
  if (rc == TKN_OK) rc = tkn_conv_new(&pr->conv);
  if (rc == TKN_OK) rc = tkn_conv_insert_json(pr->conv, 0, TKN_PROVIDER_OPENAI, json, len);
  tki_free(json);
  if (rc != TKN_OK) {
    tkn_conv_free(pr->conv);
    pr->conv = NULL;
    return tki_fail(rc, "copying message %zu to cut it failed: %s", x, tkn_strerror(rc));
  }
  return TKN_OK;
}

static int probe_count(run *r, probe *pr, const char *text, size_t len, int64_t *out) {
  int rc = tkn_conv_set_text(pr->conv, 0, text, len);
  if (rc == TKN_OK) rc = tkn_tokenizer_count_message(r->p->tok, pr->conv, 0, &r->o->count, out);
  if (rc != TKN_OK)
    return tki_fail(rc, "counting a cut message failed: %s", tkn_strerror(rc));
  return TKN_OK;
}

/* May seq[0..k) be kept (no unit split)? */
static int seq_cut_ok(const run *r, size_t k, size_t m, int last) {
  if (k == 0 || k >= m) return 1;
  return last ? r->cut_ok[r->seq[k - 1]] : r->cut_ok[r->seq[k]];
}

/* allow_partial: try to keep a cut of seq[k]; returns 1 if it was added. */
static int try_partial(run *r, size_t k, size_t m, int last, int64_t max, int *added) {
  *added = 0;
  size_t x = r->seq[k];
  if (tkn_conv_has_parts(r->conv, x)) return TKN_OK;
  if (r->o->protect_tool_pairs &&
      (r->lead[x] != x || r->tail[x] != x || r->orphan[x] || !seq_cut_ok(r, k + 1, m, last)))
    return TKN_OK;
  const char *text;
  size_t len;
  int rc = tkn_conv_text(r->conv, x, &text, &len);
  if (rc != TKN_OK) return tki_fail(rc, "reading message %zu failed", x);
  if (len == 0) return TKN_OK;
  size_t *st = NULL, *en = NULL, np = 0;
  probe pr = {NULL};
  if ((rc = split_text(r, text, len, &st, &en, &np)) != TKN_OK) goto done;
  if (np < 2) goto done;
  if ((rc = probe_open(r, x, &pr)) != TKN_OK) goto done;
  /* LangChain pops pieces one at a time: the longest candidate first */
  for (size_t t = 1; t < np; t++) {
    size_t a = last ? st[t] : 0;
    size_t b = last ? len : en[np - 1 - t];
    int64_t c;
    if ((rc = probe_count(r, &pr, text + a, b - a, &c)) != TKN_OK) goto done;
    if (r->prime + r->pre[k] + c <= max) {
      r->cut_text = tki_strndup(text + a, b - a);
      if (!r->cut_text) {
        rc = tki_fail(TKN_ERR_NOMEM, "out of memory cutting message %zu", x);
        goto done;
      }
      r->cut_len = b - a;
      r->cut_idx = x;
      r->cut_cost = c;
      *added = 1;
      break;
    }
  }
done:
  tkn_conv_free(pr.conv);
  tki_free(st);
  tki_free(en);
  return rc;
}

static int select_trim(run *r, int64_t max, int allow_partial) {
  const tkn_prune_options *o = r->o;
  size_t n = r->n, len = n, m = 0;
  int last = o->strategy == TKN_PRUNE_LAST;
  memset(r->keep, 0, n);
  r->cut_idx = NONE;
  tki_free(r->cut_text);
  r->cut_text = NULL;
  if (last && o->end_on)
    while (len > 0 && !(role_matches(r->role[len - 1], o->end_on) && r->cut_ok[len])) {
      len--;
      r->why[len] = TKN_PRUNE_WHY_END_ON;
    }
  if (last) {
    int swapped = o->include_system && len > 0 && is_system(r->role[0]);
    if (swapped) r->seq[m++] = 0;
    for (size_t i = len; i > (size_t)(swapped ? 1 : 0); i--) r->seq[m++] = i - 1;
  } else {
    for (size_t i = 0; i < n; i++) r->seq[m++] = i;
  }
  r->pre[0] = 0;
  for (size_t k = 0; k < m; k++) r->pre[k + 1] = r->pre[k] + r->cost[r->seq[k]];
  size_t k = m;
  while (k > 0 && !(r->prime + r->pre[k] <= max && seq_cut_ok(r, k, m, last))) k--;
  size_t fit = k;
  if (allow_partial && k < m) {
    int added = 0;
    int rc = try_partial(r, k, m, last, max, &added);
    if (rc != TKN_OK) return rc;
    if (added) fit = ++k;
  }
  uint32_t edge = last ? o->start_on : o->end_on;
  if (edge)
    while (k > 0 && !(role_matches(r->role[r->seq[k - 1]], edge) && seq_cut_ok(r, k, m, last))) k--;
  for (size_t j = 0; j < m; j++) {
    size_t i = r->seq[j];
    r->keep[i] = j < k;
    r->why[i] = j < k    ? TKN_PRUNE_WHY_FITS
                : j < fit ? (last ? TKN_PRUNE_WHY_START_ON : TKN_PRUNE_WHY_END_ON)
                          : TKN_PRUNE_WHY_BUDGET;
  }
  if (r->cut_idx != NONE && !r->keep[r->cut_idx]) r->cut_idx = NONE;
  if (r->cut_idx != NONE) r->why[r->cut_idx] = TKN_PRUNE_WHY_PARTIAL;
  fix_order(r, NULL);
  return TKN_OK;
}

/* ---- score ---- */

static int must_keep(run *r, uint8_t *must, int64_t max, int64_t *needed) {
  const tkn_prune_options *o = r->o;
  size_t n = r->n, start = n;
  if (o->keep_last_turns > 0) {
    uint32_t turns = 0;
    for (size_t i = n; i > 0 && turns < o->keep_last_turns; i--)
      if (r->role[i - 1] == TKN_ROLE_USER) {
        start = i - 1;
        turns++;
      }
  }
  int protect = o->protect_tool_pairs;
  for (size_t i = 0; i < n; i++) {
    must[i] = 0;
    if (protect && r->orphan[i]) continue;
    int32_t why = -1;
    if (o->keep_system && is_system(r->role[i])) why = TKN_PRUNE_WHY_SYSTEM;
    else if (tkn_conv_pinned(r->conv, i)) why = TKN_PRUNE_WHY_PINNED;
    else if (i >= start) why = TKN_PRUNE_WHY_RECENT;
    if (why >= 0) {
      must[i] = 1;
      r->why[i] = why;
    }
  }
  if (protect)
    for (size_t i = 0; i < n; i++)
      if (must[i] && !r->orphan[i])
        for (size_t m = r->lead[i]; m != NONE; m = r->next[m])
          if (!must[m]) {
            must[m] = 1;
            r->why[m] = TKN_PRUNE_WHY_TOOL_UNIT;
          }
  if (o->fix_provider_order && r->provider == TKN_PROVIDER_ANTHROPIC) {
    /* the first kept non-system message must be a user message */
    size_t f = NONE;
    for (size_t i = 0; i < n && f == NONE; i++)
      if (must[i] && !is_system(r->role[i])) f = i;
    if (f != NONE && r->role[f] != TKN_ROLE_USER)
      for (size_t i = f; i > 0; i--)
        if (r->role[i - 1] == TKN_ROLE_USER) {
          must[i - 1] = 1;
          r->why[i - 1] = TKN_PRUNE_WHY_PROVIDER;
          break;
        }
  }
  int64_t by[6] = {0};
  int64_t total = 0;
  int any = 0;
  for (size_t i = 0; i < n; i++)
    if (must[i]) {
      total += r->cost[i];
      any = 1;
      by[r->why[i] == TKN_PRUNE_WHY_SYSTEM     ? 0
         : r->why[i] == TKN_PRUNE_WHY_PINNED   ? 1
         : r->why[i] == TKN_PRUNE_WHY_RECENT   ? 2
         : r->why[i] == TKN_PRUNE_WHY_TOOL_UNIT ? 3
                                                : 4] += r->cost[i];
    }
  if (any) total += r->prime;
  *needed = total;
  if (total > max)
    return tki_fail(TKN_ERR_BUDGET,
                   "the must-keep set needs %lld tokens but max_tokens is %lld (system %lld, "
                   "pinned %lld, last %u turns %lld, their tool units %lld, other %lld, reply "
                   "priming %lld)",
                   (long long)total, (long long)max, (long long)by[0], (long long)by[1],
                   o->keep_last_turns, (long long)by[2], (long long)by[3], (long long)by[4],
                   (long long)r->prime);
  return TKN_OK;
}

static int score_all(run *r, const uint8_t *must) {
  tkn_prune_score_fn fn = r->o->score;
  for (size_t i = 0; i < r->n; i++) {
    if (must[i]) continue;
    double s = 0;
    if (fn) {
      if (fn(r->conv, i, &s, r->o->score_user) != 0 || !isfinite(s))
        return tki_fail(TKN_ERR_CALLBACK, "the score callback failed on message %zu", i);
    } else {
      const char *text = "";
      size_t len = 0;
      int rc = tkn_conv_text(r->conv, i, &text, &len);
      if (rc != TKN_OK) return tki_fail(rc, "reading message %zu failed", i);
      tki_prune_features f;
      features(r->p, r->role[i], tkn_conv_tool_call_count(r->conv, i) > 0, text, len, &f);
      double recency = r->n > 1 ? (double)i / (double)(r->n - 1) : 1.0;
      s = r->o->weight_recency * recency + r->o->weight_kind * f.kind +
          r->o->weight_density * f.density;
    }
    r->score[i] = s;
  }
  return TKN_OK;
}

struct ranked {
  double score;
  size_t lead;
};

/* Order units best score first, on a tie the newer first: an LSD radix sort
 * (11-bit digits) on the lead index, then, stably, on the score's bits mapped
 * to an unsigned key that orders like the doubles.  Linear, which matters
 * for 10,000 messages; the counts stay small enough for any thread's stack. */
#define RADIX_BITS 11
#define RADIX (1u << RADIX_BITS)

static uint64_t score_key(double d) {
  uint64_t b;
  memcpy(&b, &d, sizeof b);
  return (b >> 63) ? ~b : b | ((uint64_t)1 << 63);
}

static uint64_t sort_key(const ranked *x, int by_score) {
  return by_score ? ~score_key(x->score) : ~(uint64_t)x->lead;
}

static void radix_pass(const ranked *src, ranked *dst, size_t n, int by_score, int shift) {
  size_t count[RADIX + 1];
  memset(count, 0, sizeof count);
  for (size_t i = 0; i < n; i++) count[((sort_key(&src[i], by_score) >> shift) & (RADIX - 1)) + 1]++;
  for (size_t d = 0; d < RADIX; d++) count[d + 1] += count[d];
  for (size_t i = 0; i < n; i++)
    dst[count[(sort_key(&src[i], by_score) >> shift) & (RADIX - 1)]++] = src[i];
}

static int sort_units(ranked *a, size_t n) {
  if (n < 2) return TKN_OK;
  ranked *tmp = tki_calloc(n, sizeof *tmp);
  if (!tmp) return tki_fail(TKN_ERR_NOMEM, "out of memory");
  ranked *src = a, *dst = tmp, *t;
  /* 3 passes cover lead indices below 2^33, 6 the 64-bit score key */
  for (int pass = 0; pass < 9; pass++) {
    int by_score = pass >= 3;
    radix_pass(src, dst, n, by_score, (by_score ? pass - 3 : pass) * RADIX_BITS);
    t = src, src = dst, dst = t;
  }
  if (src != a) memcpy(a, src, n * sizeof *a);
  tki_free(tmp);
  return TKN_OK;
}

static int select_score(run *r, int64_t max) {
  size_t n = r->n;
  uint8_t *must = tki_calloc(n + 1, 1);
  if (!r->score) r->score = tki_calloc(n + 1, sizeof *r->score);
  if (!r->order) r->order = tki_calloc(n + 1, sizeof *r->order);
  if (!must || !r->score || !r->order) {
    tki_free(must);
    return tki_fail(TKN_ERR_NOMEM, "out of memory scoring %zu messages", n);
  }
  int64_t needed;
  int rc = must_keep(r, must, max, &needed);
  if (rc == TKN_OK) rc = score_all(r, must);
  if (rc != TKN_OK) {
    tki_free(must);
    return rc;
  }
  int protect = r->o->protect_tool_pairs;
  size_t nu = 0;
  r->cut_idx = NONE;
  for (size_t i = 0; i < n; i++) {
    r->keep[i] = must[i];
    if (must[i]) continue;
    if (protect && r->orphan[i]) {
      r->why[i] = TKN_PRUNE_WHY_ORPHAN;
      continue;
    }
    if (protect && r->lead[i] != i) continue;
    /* a unit is worth its best member */
    if (protect)
      for (size_t m = r->next[i]; m != NONE; m = r->next[m])
        if (r->score[m] > r->score[i]) r->score[i] = r->score[m];
    r->order[nu++] = (ranked){r->score[i], i};
  }
  if (sort_units(r->order, nu) != TKN_OK) {
    tki_free(must);
    return tki_fail(TKN_ERR_NOMEM, "out of memory sorting %zu units", nu);
  }
  int64_t room = max - needed;
  int any = needed > 0;
  for (size_t u = 0; u < nu; u++) {
    size_t L = r->order[u].lead;
    int64_t c = any ? 0 : r->prime; /* the first message kept brings the priming */
    if (protect)
      for (size_t m = L; m != NONE; m = r->next[m]) c += r->cost[m];
    else
      c += r->cost[L];
    int fits = c <= room;
    if (fits) {
      room -= c;
      any = 1;
    }
    if (protect)
      set_unit(r, L, (uint8_t)fits, fits ? TKN_PRUNE_WHY_SCORE : TKN_PRUNE_WHY_BUDGET,
               TKN_PRUNE_WHY_TOOL_UNIT);
    else {
      r->keep[L] = (uint8_t)fits;
      r->why[L] = fits ? TKN_PRUNE_WHY_SCORE : TKN_PRUNE_WHY_BUDGET;
    }
  }
  fix_order(r, must);
  tki_free(must);
  return TKN_OK;
}

static int select_base(run *r, int mode, int64_t max, int allow_partial) {
  return mode == TKN_PRUNE_TRIM ? select_trim(r, max, allow_partial) : select_score(r, max);
}

/* ---- report and apply ---- */

/* Tokens of what is kept, plus `extra` kept messages' tokens (a summary). */
static int64_t kept_tokens(const run *r, int64_t extra, int has_extra) {
  int64_t t = extra;
  int any = has_extra;
  for (size_t i = 0; i < r->n; i++)
    if (r->keep[i]) {
      t += i == r->cut_idx ? r->cut_cost : r->cost[i];
      any = 1;
    }
  return any ? t + r->prime : 0;
}

/* A report for n messages with its per-message arrays zeroed (n + 1 each,
 * so n = 0 still allocates); NULL when out of memory.  Shared by every mode. */
tkn_prune_report *tki_prune_report_alloc(size_t n) {
  tkn_prune_report *rep = tki_calloc(1, sizeof *rep);
  if (!rep) return NULL;
  rep->n = n;
  rep->action = tki_calloc(n + 1, sizeof *rep->action);
  rep->why = tki_calloc(n + 1, sizeof *rep->why);
  rep->tokens = tki_calloc(n + 1, sizeof *rep->tokens);
  rep->kept = tki_calloc(n + 1, sizeof *rep->kept);
  rep->dropped = tki_calloc(n + 1, sizeof *rep->dropped);
  if (!rep->action || !rep->why || !rep->tokens || !rep->kept || !rep->dropped) {
    tkn_prune_report_free(rep);
    return NULL;
  }
  return rep;
}

static int make_report(run *r, tkn_prune_report **out) {
  size_t n = r->n;
  tkn_prune_report *rep = tki_prune_report_alloc(n);
  if (!rep) return tki_fail(TKN_ERR_NOMEM, "out of memory making the report");
  for (size_t i = 0; i < n; i++) {
    rep->action[i] = r->keep[i] ? (i == r->cut_idx ? TKN_PRUNE_CUT : TKN_PRUNE_KEPT)
                     : r->summarised[i] ? TKN_PRUNE_SUMMARISED
                                        : TKN_PRUNE_DROPPED;
    rep->why[i] = r->why[i];
    rep->tokens[i] = r->cost[i];
    if (r->keep[i]) rep->kept[rep->nkept++] = i;
    else rep->dropped[rep->ndropped++] = i;
  }
  rep->before = sum_tokens(r);
  rep->summary_status = TKN_PRUNE_SUMMARY_NONE;
  *out = rep;
  return TKN_OK;
}

/* Change the conversation: cut text, summary insert, then the filter. */
static int apply(run *r, const char *summary, size_t summary_len, size_t at) {
  int rc;
  if (r->cut_idx != NONE &&
      (rc = tkn_conv_set_text(r->conv, r->cut_idx, r->cut_text, r->cut_len)) != TKN_OK)
    return tki_fail(rc, "cutting message %zu failed: %s", r->cut_idx, tkn_strerror(rc));
  size_t n = r->n;
  uint8_t *keep = r->keep;
  uint8_t *grown = NULL;
  if (summary) {
    grown = tki_calloc(n + 2, 1);
    if (!grown) return tki_fail(TKN_ERR_NOMEM, "out of memory inserting the summary");
    if ((rc = tkn_conv_insert_text(r->conv, at, r->o->summary_role, summary, summary_len)) != TKN_OK) {
      tki_free(grown);
      return tki_fail(rc, "inserting the summary failed: %s", tkn_strerror(rc));
    }
    memcpy(grown, keep, at);
    grown[at] = 1;
    memcpy(grown + at + 1, keep + at, n - at);
    keep = grown;
    n++;
  }
  rc = tkn_conv_filter(r->conv, keep, n);
  tki_free(grown);
  return rc;
}

/* ---- summarise ---- */

static int summary_tokens(run *r, const char *text, size_t len, int64_t *out) {
  tkn_conv *tmp = NULL;
  int rc = tkn_conv_new(&tmp);
  if (rc == TKN_OK) rc = tkn_conv_append_text(tmp, r->o->summary_role, text, len);
  if (rc == TKN_OK) rc = tkn_tokenizer_count_message(r->p->tok, tmp, 0, &r->o->count, out);
  tkn_conv_free(tmp);
  return rc;
}

static int run_summarise(run *r, tkn_prune_report **report) {
  const tkn_prune_options *o = r->o;
  int base = o->summarise_from;
  int64_t room = o->summary_max_tokens ? o->summary_max_tokens : o->max_tokens / 8;
  char note[TKI_ERRLEN] = "";
  int32_t status = TKN_PRUNE_SUMMARY_NONE;
  int rc = select_base(r, base, o->max_tokens - room, 0);
  if (rc == TKN_ERR_BUDGET) {
    /* what must be kept fits only without a summary */
    rc = select_base(r, base, o->max_tokens, 0);
    if (rc != TKN_OK) return rc;
    size_t nd = 0;
    for (size_t i = 0; i < r->n; i++) nd += !r->keep[i];
    if (nd) {
      status = TKN_PRUNE_SUMMARY_TOO_LONG;
      tki_err(note, 0, "no room for a %lld-token summary beside the must-keep set; dropped %zu messages",
              (long long)room, nd);
    }
    goto finish;
  }
  if (rc != TKN_OK) return rc;
  size_t *dropped = tki_calloc(r->n + 1, sizeof *dropped), nd = 0;
  if (!dropped) return tki_fail(TKN_ERR_NOMEM, "out of memory summarising");
  for (size_t i = 0; i < r->n; i++)
    if (!r->keep[i]) dropped[nd++] = i;
  if (nd == 0) {
    tki_free(dropped);
    goto finish;
  }
  const char *text = NULL;
  size_t len = 0;
  int64_t stoks = 0, text_room = room - o->count.per_message;
  int cb = o->summarise(r->conv, dropped, nd, text_room > 0 ? text_room : 0, &text, &len,
                        o->summarise_user);
  size_t at = dropped[0];
  tki_free(dropped);
  if (cb != 0) {
    status = TKN_PRUNE_SUMMARY_FAILED;
    tki_err(note, 0, "the summariser failed (returned %d); dropped %zu messages instead", cb, nd);
  } else if ((!text && len) || !tki_utf8_valid(text ? text : "", len, NULL)) {
    status = TKN_PRUNE_SUMMARY_INVALID;
    tki_err(note, 0, "the summary is not valid UTF-8; dropped %zu messages instead", nd);
  } else if ((rc = summary_tokens(r, text ? text : "", len, &stoks)) != TKN_OK) {
    return tki_fail(rc, "counting the summary failed: %s", tkn_strerror(rc));
  } else if (stoks + (kept_tokens(r, 0, 0) == 0 ? r->prime : 0) > room) {
    status = TKN_PRUNE_SUMMARY_TOO_LONG;
    tki_err(note, 0, "the summary needs %lld tokens, more than its room of %lld; dropped %zu "
                     "messages instead", (long long)stoks, (long long)room, nd);
  } else {
    for (size_t i = 0; i < r->n; i++) r->summarised[i] = !r->keep[i];
    tkn_prune_report *rep = NULL;
    if (report && (rc = make_report(r, &rep)) != TKN_OK) return rc;
    if ((rc = apply(r, text ? text : "", len, at)) != TKN_OK) {
      tkn_prune_report_free(rep);
      return rc;
    }
    if (rep) {
      size_t before_at = 0;
      for (size_t i = 0; i < at; i++) before_at += r->keep[i];
      rep->after = kept_tokens(r, stoks, 1);
      rep->summary_status = TKN_PRUNE_SUMMARY_ADDED;
      rep->summary_tokens = stoks;
      rep->summary_index = before_at;
      *report = rep;
    }
    return TKN_OK;
  }
  /* fall back: drop, with the whole budget */
  if ((rc = select_base(r, base, o->max_tokens, 0)) != TKN_OK) return rc;
finish:;
  tkn_prune_report *rep = NULL;
  if (report && (rc = make_report(r, &rep)) != TKN_OK) return rc;
  if ((rc = apply(r, NULL, 0, 0)) != TKN_OK) {
    tkn_prune_report_free(rep);
    return rc;
  }
  if (rep) {
    rep->after = kept_tokens(r, 0, 0);
    rep->summary_status = status;
    memcpy(rep->note, note, sizeof note);
    *report = rep;
  }
  return TKN_OK;
}

/* ---- run ---- */

/* The selection kept no message beside the system prompt, and there was one. */
static int left_nothing(const run *r) {
  int others = 0;
  for (size_t i = 0; i < r->n; i++) {
    if (is_system(r->role[i])) continue;
    if (r->keep[i]) return 0;
    others = 1;
  }
  return others;
}

int tkn_prune_run(tkn_pruner *pruner, tkn_conv *conv, const tkn_prune_options *opts,
                  tkn_prune_report **report) {
  if (report) *report = NULL;
  if (!pruner) return tki_fail(TKN_ERR_INVALID, "prune: pruner is NULL");
  if (!conv || !opts)
    return tki_fail(TKN_ERR_INVALID, "prune: %s is NULL", conv ? "opts" : "conv");
  tkn_prune_options norm;
  int rc = tki_prune_options_norm(opts, &norm);
  if (rc != TKN_OK) return rc;
  opts = &norm;
  int provider = opts->provider;
  if (provider == TKN_PROVIDER_AUTO) {
    int src = tkn_conv_source_format(conv);
    provider = src == TKN_PROVIDER_ANTHROPIC ? TKN_PROVIDER_ANTHROPIC : TKN_PROVIDER_OPENAI;
  }
  rc = check_options(opts, provider, NULL);
  if (rc != TKN_OK) return rc;
  if (opts->mode >= TKN_PRUNE_MASK) return tki_prune_clear(pruner, conv, opts, report);
  run r;
  memset(&r, 0, sizeof r);
  r.p = pruner;
  r.conv = conv;
  r.o = opts;
  r.provider = provider;
  r.n = tkn_conv_count(conv);
  if ((rc = run_init(&r)) != TKN_OK) goto done;
  if (opts->mode == TKN_PRUNE_SUMMARISE) {
    if (opts->degrade) {
      /* what summarise falls back to must fit and leave something */
      rc = select_base(&r, opts->summarise_from, opts->max_tokens, 0);
      if (rc == TKN_ERR_BUDGET || (rc == TKN_OK && left_nothing(&r))) goto degrade;
      if (rc != TKN_OK) goto done;
    }
    rc = run_summarise(&r, report);
    if (rc == TKN_ERR_BUDGET && opts->degrade) goto degrade;
    goto done;
  }
  rc = select_base(&r, opts->mode, opts->max_tokens, opts->allow_partial);
  if (opts->degrade && (rc == TKN_ERR_BUDGET || (rc == TKN_OK && left_nothing(&r))))
    goto degrade;
  if (rc != TKN_OK) goto done;
  tkn_prune_report *rep = NULL;
  if (report && (rc = make_report(&r, &rep)) != TKN_OK) goto done;
  if ((rc = apply(&r, NULL, 0, 0)) != TKN_OK) {
    tkn_prune_report_free(rep);
    goto done;
  }
  if (rep) {
    rep->after = kept_tokens(&r, 0, 0);
    *report = rep;
  }
done:
  run_free(&r);
  return rc;
degrade:
  run_free(&r);
  return tki_prune_degrade(pruner, conv, opts, report);
}

/* ---- report accessors ---- */

void tkn_prune_report_free(tkn_prune_report *report) {
  if (!report) return;
  tki_free(report->action);
  tki_free(report->why);
  tki_free(report->tokens);
  tki_free(report->kept);
  tki_free(report->dropped);
  tki_free(report);
}

int tkn_prune_report_tokens(const tkn_prune_report *report, int64_t *before, int64_t *after) {
  if (!report) return tki_fail(TKN_ERR_INVALID, "tkn_prune_report_tokens: report is NULL");
  if (before) *before = report->before;
  if (after) *after = report->after;
  return TKN_OK;
}

size_t tkn_prune_report_count(const tkn_prune_report *report) { return report ? report->n : 0; }

int tkn_prune_report_message(const tkn_prune_report *report, size_t i, int32_t *action,
                             int32_t *reason, int64_t *tokens) {
  if (!report) return tki_fail_null("tkn_prune_report_message", "report");
  if (i >= report->n)
    return tki_fail(TKN_ERR_INVALID, "tkn_prune_report_message: index i = %zu past the end (%zu "
                    "messages)", i, report->n);
  if (action) *action = report->action[i];
  if (reason) *reason = report->why[i];
  if (tokens) *tokens = report->tokens[i];
  return TKN_OK;
}

int tkn_prune_report_kept(const tkn_prune_report *report, const size_t **indices, size_t *n) {
  if (!report || !indices || !n)
    return tki_fail_null("tkn_prune_report_kept", !report ? "report" : !indices ? "indices" : "n");
  *indices = report->kept;
  *n = report->nkept;
  return TKN_OK;
}

int tkn_prune_report_dropped(const tkn_prune_report *report, const size_t **indices, size_t *n) {
  if (!report || !indices || !n)
    return tki_fail_null("tkn_prune_report_dropped",
                         !report ? "report" : !indices ? "indices" : "n");
  *indices = report->dropped;
  *n = report->ndropped;
  return TKN_OK;
}

int tkn_prune_report_summary(const tkn_prune_report *report, int32_t *status, int64_t *tokens,
                             size_t *index) {
  if (!report) return tki_fail(TKN_ERR_INVALID, "tkn_prune_report_summary: report is NULL");
  if (status) *status = report->summary_status;
  if (tokens) *tokens = report->summary_tokens;
  if (index) *index = report->summary_index;
  return TKN_OK;
}

int tkn_prune_report_cleared(const tkn_prune_report *report, size_t *messages,
                             int64_t *tokens) {
  if (!report) return tki_fail(TKN_ERR_INVALID, "tkn_prune_report_cleared: report is NULL");
  if (messages) *messages = report->cleared_msgs;
  if (tokens) *tokens = report->cleared_tokens;
  return TKN_OK;
}

int tkn_prune_report_decision(const tkn_prune_report *report, int32_t *decision,
                              int64_t *saving, int64_t *cost) {
  if (!report) return tki_fail(TKN_ERR_INVALID, "tkn_prune_report_decision: report is NULL");
  if (decision) *decision = report->decision;
  if (saving) *saving = report->saving;
  if (cost) *cost = report->break_cost;
  return TKN_OK;
}

const char *tkn_prune_report_note(const tkn_prune_report *report) {
  return report ? report->note : "";
}

const tkn_tokenizer *tki_prune_tokenizer(const tkn_pruner *pruner) { return pruner->tok; }
