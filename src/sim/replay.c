/* tokenomy replay: what tokenomy would have saved on recorded conversations.
 *
 * Every assistant message of a recorded conversation was one model call whose
 * input was every message before it plus the tools.  Each strategy of the
 * table below rebuilds the input of every call (as recorded, in tokenomy's
 * cache-friendly layout, pruned by a mode at a budget ...), and the same model
 * of the provider's prompt cache (cacheplan.h) runs over each strategy's
 * stream of requests, so a strategy that rewrites the history pays the cache
 * misses it causes.  The outputs are the recorded ones for every strategy (a
 * replay does not call a model), so what changes is the input side; what a
 * pruned input may cost in quality is measured by a proxy: of the values the
 * model later passes as tool arguments (ids, dates, flight numbers) that only
 * earlier messages held, the share the pruned input still holds.
 *
 * New context strategies plug in as one entry of STRATEGIES: a function that
 * rewrites the messages of one call's input in place. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

/* The status of a call, its tkn_error_last() message copied into buf. */
static inline int sim_keep_err(int rc, char *buf, size_t len) {
  if (buf && len) snprintf(buf, len, "%s", rc ? tkn_error_last()->message : "");
  return rc;
}

/* ---- the strategy table ---- */

typedef struct replay replay;
typedef struct strategy strategy;

/* What a strategy did to one call's input, beyond the messages it left. */
typedef struct call_effect {
  int failed;            /* its budget was not met: sent unpruned (or, degrading, over it) */
  int degraded;          /* it degraded to meet its budget (prune.h: DECISION_DEGRADED) */
  int64_t side_input;    /* tokens of extra calls it made (a summariser's input) */
  int64_t side_output;   /* and their output */
} call_effect;

/* Rewrite `conv` (the call's input: system prompt first if there is one) in
 * place.  Return 0, or non-zero with the error in rp->err (the replay stops). */
typedef int (*strategy_fn)(replay *rp, const strategy *st, tkn_conv **conv, call_effect *fx);

struct strategy {
  const char *name;     /* the row label */
  const char *key;      /* its name in --json and --strategies */
  int layout;           /* 1: tokenomy's cache-friendly layout of the prompt */
  strategy_fn apply;    /* NULL: the messages as recorded */
  int32_t prune_mode;   /* for prune_apply */
  int budget_pct;       /* for prune_apply: % of the call's message tokens */
  uint32_t horizon;     /* for the policy: horizon_calls */
  int max_pct;          /* for the policy: max_tokens at this % of the call's message
                           tokens (0: no budget) */
  int query;            /* tools-k rows: what the search query is made of (QUERY_*) */
  int ledger;           /* for the policy: 1: with a ledger per conversation */
  int frontier;         /* 1: shown only in the "keep N" table */
  int strict;           /* for prune_apply: degrade 0 (fail, sent unpruned) */
};

/* The query a tools-k row ranks the tools for. */
enum {
  QUERY_USER,   /* the last user message */
  QUERY_TURN,   /* the last user message and the agent's messages after it (their text and
                   tool calls: names and arguments), not the tool results; measured on the
                   airline traces, the results' JSON made the query worse */
  QUERY_RECENT, /* the same over the last two turns: from the user message before the last */
  QUERY_PER_TURN = 0x10, /* flag: select at a turn's first call, keep it for the turn (as
                            the agent does: tkn_agent_options.toolsel) */
};

static int prune_apply(replay *rp, const strategy *st, tkn_conv **conv, call_effect *fx);
static int clear_apply(replay *rp, const strategy *st, tkn_conv **conv, call_effect *fx);
static int tools_apply(replay *rp, const strategy *st, tkn_conv **conv, call_effect *fx);

static const strategy STRATEGIES[] = {
    {"as recorded", "recorded", 0, NULL, 0, 0, 0, 0, 0, 0, 0, 0},
    {"tokenomy layout (volatile lines to the tail)", "layout", 1, NULL, 0, 0, 0, 0, 0, 0, 0, 0},
    {"trim to 75% of the messages' tokens", "trim-75", 1, prune_apply, TKN_PRUNE_TRIM, 75,
     0, 0, 0, 0, 0, 0},
    {"trim to 50%", "trim-50", 1, prune_apply, TKN_PRUNE_TRIM, 50, 0, 0, 0, 0, 0, 0},
    {"trim to 25%", "trim-25", 1, prune_apply, TKN_PRUNE_TRIM, 25, 0, 0, 0, 0, 0, 0},
    {"score to 75%", "score-75", 1, prune_apply, TKN_PRUNE_SCORE, 75, 0, 0, 0, 0, 0, 0},
    {"score to 50%", "score-50", 1, prune_apply, TKN_PRUNE_SCORE, 50, 0, 0, 0, 0, 0, 0},
    {"score to 25%", "score-25", 1, prune_apply, TKN_PRUNE_SCORE, 25, 0, 0, 0, 0, 0, 0},
    {"summarise to 75%", "summarise-75", 1, prune_apply, TKN_PRUNE_SUMMARISE, 75, 0, 0, 0, 0, 0, 0},
    {"summarise to 50%", "summarise-50", 1, prune_apply, TKN_PRUNE_SUMMARISE, 50, 0, 0, 0, 0, 0, 0},
    {"summarise to 25%", "summarise-25", 1, prune_apply, TKN_PRUNE_SUMMARISE, 25, 0, 0, 0, 0, 0,
     0},
    /* as before degrade 1 became the default: unmet budgets sent unpruned */
    {"trim to 50%, degrade 0", "trim-50-fail", 1, prune_apply, TKN_PRUNE_TRIM, 50, 0, 0, 0, 0, 0,
     1},
    {"score to 50%, degrade 0", "score-50-fail", 1, prune_apply, TKN_PRUNE_SCORE, 50, 0, 0, 0, 0,
     0, 1},
    {"summarise to 50%, degrade 0", "summarise-50-fail", 1, prune_apply, TKN_PRUNE_SUMMARISE, 50,
     0, 0, 0, 0, 0, 1},
    /* budget_pct below: keep_tool_uses (mask), the trigger in thousands (clear) */
    {"mask all but the last 3 tool results", "mask-3", 1, clear_apply, TKN_PRUNE_MASK, 3,
     0, 0, 0, 0, 0, 0},
    {"mask all but the last tool result", "mask-1", 1, clear_apply, TKN_PRUNE_MASK, 1,
     0, 0, 0, 0, 0, 0},
    {"clear above 6k tokens (keep 3, >= 500)", "clear-6k", 1, clear_apply, TKN_PRUNE_CLEAR, 6,
     0, 0, 0, 0, 0, 0},
    {"policy: clear when it pays at once (keep 3)", "policy", 1, clear_apply, TKN_PRUNE_POLICY, 3,
     0, 0, 0, 0, 0, 0},
    {"policy, keep 1", "policy-1", 1, clear_apply, TKN_PRUNE_POLICY, 1, 0, 0, 0, 0, 0, 0},
    {"policy, pay back by the next call", "policy-next", 1, clear_apply, TKN_PRUNE_POLICY, 3,
     1, 0, 0, 0, 0, 0},
    {"policy, pay back over the growth so far", "policy-growth", 1, clear_apply,
     TKN_PRUNE_POLICY, 3, TKN_PRUNE_HORIZON_GROWTH, 0, 0, 0, 0, 0},
    /* the policy (keep 3, pays at once) with max_tokens: it degrades instead of failing */
    {"policy within 75% (degrades)", "policy-75", 1, clear_apply, TKN_PRUNE_POLICY, 3,
     0, 75, 0, 0, 0, 0},
    {"policy within 50% (degrades)", "policy-50", 1, clear_apply, TKN_PRUNE_POLICY, 3,
     0, 50, 0, 0, 0, 0},
    {"policy within 25% (degrades)", "policy-25", 1, clear_apply, TKN_PRUNE_POLICY, 3,
     0, 25, 0, 0, 0, 0},
    {"policy + ledger, pay back by the next call", "ledger", 1, clear_apply, TKN_PRUNE_POLICY,
     3, 1, 0, 0, 1, 0, 0},
    /* the "keep N" table: mask, the policy and the policy with a ledger at every N */
    {"mask, keep 2", "mask-2", 1, clear_apply, TKN_PRUNE_MASK, 2, 0, 0, 0, 0, 1, 0},
    {"mask, keep 4", "mask-4", 1, clear_apply, TKN_PRUNE_MASK, 4, 0, 0, 0, 0, 1, 0},
    {"policy, keep 2", "policy-2", 1, clear_apply, TKN_PRUNE_POLICY, 2, 0, 0, 0, 0, 1, 0},
    {"policy, keep 3", "policy-3", 1, clear_apply, TKN_PRUNE_POLICY, 3, 0, 0, 0, 0, 1, 0},
    {"policy, keep 4", "policy-4", 1, clear_apply, TKN_PRUNE_POLICY, 4, 0, 0, 0, 0, 1, 0},
    {"policy + ledger, keep 1", "ledger-1", 1, clear_apply, TKN_PRUNE_POLICY, 1, 1, 0, 0, 1, 1, 0},
    {"policy + ledger, keep 2", "ledger-2", 1, clear_apply, TKN_PRUNE_POLICY, 2, 1, 0, 0, 1, 1, 0},
    {"policy + ledger, keep 4", "ledger-4", 1, clear_apply, TKN_PRUNE_POLICY, 4, 1, 0, 0, 1, 1, 0},
    /* budget_pct below: k of the tools sent (toolsel.h), chosen by BM25 on the query;
     * negative: a tool once chosen stays for the conversation */
    {"tools: BM25 on the last user message, k=3", "tools-3", 1, tools_apply, 0, 3, 0, 0,
     QUERY_USER, 0, 0, 0},
    {"tools: BM25 on the last user message, k=5", "tools-5", 1, tools_apply, 0, 5, 0, 0,
     QUERY_USER, 0, 0, 0},
    {"tools: k=3, a tool once chosen stays", "tools-3-sticky", 1, tools_apply, 0, -3, 0, 0,
     QUERY_USER, 0, 0, 0},
    {"tools: BM25 on the turn so far, k=3", "tools-3-turn", 1, tools_apply, 0, 3, 0, 0,
     QUERY_TURN, 0, 0, 0},
    {"tools: BM25 on the turn so far, k=5", "tools-5-turn", 1, tools_apply, 0, 5, 0, 0,
     QUERY_TURN, 0, 0, 0},
    {"tools: BM25 on the last two turns, k=3", "tools-3-recent", 1, tools_apply, 0, 3, 0, 0,
     QUERY_RECENT, 0, 0, 0},
    {"tools: the turn so far, k=3, chosen stays", "tools-3-turn-sticky", 1, tools_apply, 0, -3, 0,
     0, QUERY_TURN, 0, 0, 0},
    {"tools: per turn, the last user message, k=3", "tools-3-per-turn", 1, tools_apply, 0, 3, 0,
     0, QUERY_USER | QUERY_PER_TURN, 0, 0, 0},
    {"tools: per turn, the last two turns, k=3", "tools-3-recent-per-turn", 1, tools_apply, 0, 3,
     0, 0, QUERY_RECENT | QUERY_PER_TURN, 0, 0, 0},
};
#define N_STRATEGIES (sizeof STRATEGIES / sizeof STRATEGIES[0])

/* ---- the replay's state ---- */

typedef struct strat_stats {
  int64_t calls, input, cached, output, cost, cost_uncached;
  int64_t side_input, side_output, side_cost;
  int64_t needed, kept;      /* the information proxy, summed over calls */
  int64_t costlier;          /* calls that cost more than as recorded */
  int64_t failed;            /* calls whose budget was not met (sent unpruned, or over it) */
  int64_t degraded;          /* calls at which it degraded (met or not) */
  int64_t conv_cost;         /* the current conversation's cost so far */
  int64_t conv_costlier;     /* conversations that cost more than with no pruning */
  int64_t conv_excess;       /* and by how much, summed (picodollars) */
  int64_t cleared_msgs, cleared_tok; /* mask / clear / policy: what went, per call */
  int64_t clears;            /* calls at which the policy cleared */
  int64_t tool_tok;          /* tokens of the tool definitions sent */
  int64_t tool_calls;        /* calls whose recorded answer calls a tool */
  int64_t tool_offered;      /* and whose called tools were all among those sent */
  uint8_t *chosen;           /* tools-k sticky: the tools chosen so far (per turn: this turn) */
  size_t turn_user;          /* tools-k per turn: 1 + the user message it selected for */
  uint8_t *mem;              /* policy: messages cleared in earlier calls */
  tkn_prune_ledger ledger;   /* policy + ledger: the current conversation's */
  size_t mem_n;
  tkn_cacheplan *plan;
} strat_stats;

struct replay {
  const tkn_tokenizer *tok;
  tkn_pruner *pruner;
  tkn_model_price price, side_price;
  uint32_t provider;
  int format;                /* the conversations' format (TKN_PROVIDER_*) */
  int64_t gap_ms, now_ms;
  char model[64], side_model[64];
  /* the "policy" row's settings (--policy-*) and its label */
  uint32_t pol_keep, pol_horizon;
  int pol_ledger;
  int64_t pol_at_least;
  tkn_model_price pol_price;
  char pol_name[96];
  const cJSON *tools;        /* the tools sent as recorded: the record's, plus extra ones */
  const cJSON *rec_tools;    /* the record's own */
  const cJSON *extra;        /* --extra-tools: added after every record's own */
  size_t size;               /* --catalogue-sizes: the catalogue's size now (0: all extra) */
  cJSON *combined;           /* rec_tools + the extra tools, as sent */
  const cJSON *combined_of;  /* the record tools it was made from */
  tkn_toolsel *cat;          /* the tools as a catalogue, for the tools-k rows */
  const cJSON *cat_of;       /* the tools it was made from */
  tkn_conv *answers;         /* the recorded conversation, and the call's answer in it */
  size_t answer;
  uint32_t *sel;             /* the tools a tools-k row sent at this call */
  size_t nsel;
  strat_stats st[N_STRATEGIES];
  int enabled[N_STRATEGIES];
  int64_t *recorded_cost;    /* per call of the current conversation */
  int64_t conversations, calls, skipped;
  char err[512];
};

/* ---- the information proxy ---- */

typedef struct value {
  char *text;
  size_t first_msg;  /* first message whose JSON holds it */
  size_t last_use;   /* last assistant message passing it as a tool argument */
} value;

typedef struct values {
  value *v;
  size_t n, cap;
} values;

static void values_free(values *vs) {
  for (size_t i = 0; i < vs->n; i++) free(vs->v[i].text);
  free(vs->v);
  memset(vs, 0, sizeof *vs);
}

static int values_add(values *vs, const char *s, size_t msg) {
  for (size_t i = 0; i < vs->n; i++)
    if (!strcmp(vs->v[i].text, s)) {
      if (msg > vs->v[i].last_use) vs->v[i].last_use = msg;
      return 0;
    }
  if (vs->n == vs->cap) {
    size_t cap = vs->cap ? vs->cap * 2 : 16;
    value *nv = realloc(vs->v, cap * sizeof *nv);
    if (!nv) return -1;
    vs->v = nv;
    vs->cap = cap;
  }
  char *t = strdup(s);
  if (!t) return -1;
  vs->v[vs->n++] = (value){t, (size_t)-1, msg};
  return 0;
}

/* The leaves of a tool call's arguments that identify something: strings of 4
 * characters or more, and numbers of 3 digits or more (ids, dates, flight
 * numbers, amounts); short words and booleans are left out. */
static int collect_leaves(values *vs, const cJSON *j, size_t msg) {
  if (cJSON_IsString(j)) {
    if (strlen(j->valuestring) >= 4) return values_add(vs, j->valuestring, msg);
    return 0;
  }
  if (cJSON_IsNumber(j)) {
    char b[64];
    double v = j->valuedouble; /* the cast only within int64: it is undefined outside */
    if (v >= -9223372036854775808.0 && v < 9223372036854775808.0 && v == (double)(int64_t)v)
      snprintf(b, sizeof b, "%lld", (long long)v);
    else
      snprintf(b, sizeof b, "%g", j->valuedouble);
    size_t digits = 0;
    for (const char *c = b; *c; c++) digits += (*c >= '0' && *c <= '9');
    return digits >= 3 ? values_add(vs, b, msg) : 0;
  }
  const cJSON *c;
  cJSON_ArrayForEach(c, j) {
    if (collect_leaves(vs, c, msg)) return -1;
  }
  return 0;
}

/* The values of a conversation: collected from its tool calls, each with the
 * first message that held it; values that the system prompt or the tool
 * definitions hold are left out (every input holds them). */
static int values_of(tkn_conv *conv, char **msg_json, const char *tools_json, values *vs) {
  size_t n = tkn_conv_count(conv);
  for (size_t i = 0; i < n; i++) {
    if (tkn_conv_role(conv, i) != TKN_ROLE_ASSISTANT) continue;
    for (size_t j = 0; j < tkn_conv_tool_call_count(conv, i); j++) {
      const char *id, *fn, *args;
      size_t il, fl, al;
      if (tkn_conv_tool_call(conv, i, j, &id, &il, &fn, &fl, &args, &al)) continue;
      cJSON *a = cJSON_ParseWithLength(args, al);
      int rc = a ? collect_leaves(vs, a, i) : 0;
      cJSON_Delete(a);
      if (rc) return -1;
    }
  }
  size_t k = 0;
  for (size_t i = 0; i < vs->n; i++) {
    value v = vs->v[i];
    int everywhere = tools_json && strstr(tools_json, v.text);
    for (size_t m = 0; m < n && v.first_msg == (size_t)-1; m++) {
      if (strstr(msg_json[m], v.text)) {
        int role = tkn_conv_role(conv, m);
        if (role == TKN_ROLE_SYSTEM || role == TKN_ROLE_DEVELOPER) everywhere = 1;
        v.first_msg = m;
      }
    }
    if (everywhere)
      free(v.text);
    else
      vs->v[k++] = v;
  }
  vs->n = k;
  return 0;
}

/* ---- strategies ---- */

/* A stand-in for a summarising model (a replay calls none): the first
 * sentence-sized piece of each summarised message, in order, cut to fit. */
typedef struct summary_ctx {
  replay *rp;
  call_effect *fx;
  char *text;
} summary_ctx;

static int summarise_extract(tkn_conv *conv, const size_t *dropped, size_t n, int64_t max_tokens,
                             const char **text, size_t *len, void *user) {
  summary_ctx *sc = user;
  size_t cap = 64 + n * 200, o = 0;
  free(sc->text);
  sc->text = malloc(cap);
  if (!sc->text) return 1;
  o += (size_t)snprintf(sc->text, cap, "Summary of earlier messages:");
  int64_t in = 0;
  for (size_t i = 0; i < n; i++) {
    const char *t;
    size_t tl;
    int64_t mt = 0;
    if (tkn_tokenizer_count_message(sc->rp->tok, conv, dropped[i], NULL, &mt) == TKN_OK) in += mt;
    if (tkn_conv_text(conv, dropped[i], &t, &tl) || !tl) continue;
    size_t take = tl < 160 ? tl : 160;
    while (take < tl && take > 0 && ((unsigned char)t[take] & 0xC0) == 0x80) take--;
    o += (size_t)snprintf(sc->text + o, cap - o, " %s: %.*s%s",
                          tkn_role_name(tkn_conv_role(conv, dropped[i])), (int)take, t,
                          take < tl ? "..." : "");
  }
  /* cut to the room, at a character boundary */
  int64_t c = 0;
  while (o > 0 && (tkn_tokenizer_count(sc->rp->tok, sc->text, o, &c) || c > max_tokens - 8)) {
    o = o * 9 / 10;
    while (o > 0 && ((unsigned char)sc->text[o] & 0xC0) == 0x80) o--;
  }
  sc->text[o] = '\0';
  sc->fx->side_input += in;
  sc->fx->side_output += c;
  *text = sc->text;
  *len = o;
  return 0;
}

static size_t non_system(tkn_conv *conv) {
  size_t k = 0;
  for (size_t i = 0; i < tkn_conv_count(conv); i++) {
    int r = tkn_conv_role(conv, i);
    k += r != TKN_ROLE_SYSTEM && r != TKN_ROLE_DEVELOPER;
  }
  return k;
}

static int prune_apply(replay *rp, const strategy *st, tkn_conv **conv, call_effect *fx) {
  int64_t total = 0;
  if (tkn_tokenizer_count_conv(rp->tok, *conv, NULL, &total, NULL)) {
    snprintf(rp->err, sizeof rp->err, "counting: %s", tkn_error_last()->message);
    return -1;
  }
  tkn_conv *work = NULL;
  if (tkn_conv_clone(&work, *conv)) {
    snprintf(rp->err, sizeof rp->err, "out of memory");
    return -1;
  }
  tkn_prune_options o = TKN_PRUNE_OPTIONS_INIT;
  o.mode = st->prune_mode;
  o.max_tokens = total * st->budget_pct / 100;
  o.include_system = 1;
  o.start_on = TKN_PRUNE_ROLE(TKN_ROLE_USER);
  summary_ctx sc = {rp, fx, NULL};
  o.summarise = summarise_extract;
  o.summarise_user = &sc;
  o.degrade = !st->strict;
  call_effect side = *fx;
  tkn_prune_report *rep = NULL;
  int rc = tkn_prune_run(rp->pruner, work, &o, &rep);
  free(sc.text);
  int32_t decision = 0;
  int64_t after = 0;
  if (rep) {
    tkn_prune_report_decision(rep, &decision, NULL, NULL);
    tkn_prune_report_tokens(rep, NULL, &after);
  }
  tkn_prune_report_free(rep);
  fx->degraded = decision == TKN_PRUNE_DECISION_DEGRADED;
  /* degrading: sent over the budget (the system prompt and the last turn) */
  fx->failed = rc == TKN_OK && after > o.max_tokens;
  if (rc == TKN_ERR_BUDGET || (rc == TKN_OK && non_system(work) == 0)) {
    /* what must be kept does not fit, or nothing would be left: unpruned */
    *fx = side;
    fx->failed = 1;
    tkn_conv_free(work);
    return 0;
  }
  if (rc) {
    snprintf(rp->err, sizeof rp->err, "prune: %s", tkn_error_last()->message);
    tkn_conv_free(work);
    return -1;
  }
  /* the pruned messages replace the call's */
  tkn_conv_free(*conv);
  *conv = work;
  return 0;
}

/* Mask, clear and the policy.  Mask and clear are stateless: each call's
 * input is rewritten afresh, as Anthropic's server-side clearing does.  The
 * policy works in place on the conversation as last sent: the messages it
 * cleared at earlier calls stay cleared (st->mem), and it decides only
 * whether to clear more now. */
static int clear_apply(replay *rp, const strategy *st, tkn_conv **conv, call_effect *fx) {
  strat_stats *ss = &rp->st[st - STRATEGIES];
  size_t n = tkn_conv_count(*conv);
  tkn_prune_options o = TKN_PRUNE_OPTIONS_INIT;
  o.mode = st->prune_mode;
  if (st->max_pct) {
    /* the budget: a share of the call's messages as recorded (as trim's rows) */
    int64_t total = 0;
    if (tkn_tokenizer_count_conv(rp->tok, *conv, &o.count, &total, NULL)) {
      snprintf(rp->err, sizeof rp->err, "counting: %s", tkn_error_last()->message);
      return -1;
    }
    o.max_tokens = total * st->max_pct / 100;
    if (o.max_tokens == 0) o.max_tokens = 1;
  }
  o.keep_tool_uses = (uint32_t)st->budget_pct;
  o.horizon_calls = st->horizon;
  /* OpenAI caches 128-token blocks; Anthropic's breakpoints are exact */
  o.cache_block_tokens = rp->provider == TKN_PROVIDER_ANTHROPIC ? 0 : 128;
  if (st->prune_mode == TKN_PRUNE_CLEAR) {
    o.keep_tool_uses = 3;
    o.clear_trigger = (int64_t)st->budget_pct * 1000;
    o.clear_at_least = 500;
  }
  const tkn_model_price *pp = &rp->price;
  if (!strcmp(st->key, "policy")) {
    o.keep_tool_uses = rp->pol_keep;
    o.horizon_calls = rp->pol_horizon;
    o.clear_at_least = rp->pol_at_least;
    if (rp->pol_ledger) o.ledger = &ss->ledger;
    pp = &rp->pol_price;
  }
  o.price_input_per_mtok = pp->input_per_mtok;
  if (pp->has & TKN_PRICE_CACHE_READ) o.price_cache_read_per_mtok = pp->cache_read_per_mtok;
  if (pp->has & TKN_PRICE_CACHE_WRITE_5M)
    o.price_cache_write_per_mtok = pp->cache_write_5m_per_mtok;
  if (st->ledger) o.ledger = &ss->ledger;
  if (st->prune_mode == TKN_PRUNE_POLICY) {
    if (ss->mem_n < n) {
      uint8_t *m = realloc(ss->mem, n);
      if (!m) return snprintf(rp->err, sizeof rp->err, "out of memory"), -1;
      memset(m + ss->mem_n, 0, n - ss->mem_n);
      ss->mem = m;
      ss->mem_n = n;
    }
    for (size_t i = 0; i < n; i++)
      if (ss->mem[i] && tkn_conv_set_text(*conv, i, TKN_PRUNE_PLACEHOLDER,
                                          strlen(TKN_PRUNE_PLACEHOLDER))) {
        snprintf(rp->err, sizeof rp->err, "policy: %s", tkn_error_last()->message);
        return -1;
      }
  }
  tkn_prune_report *rep = NULL;
  if (tkn_prune_run(rp->pruner, *conv, &o, &rep)) {
    snprintf(rp->err, sizeof rp->err, "%s: %s", st->key, tkn_error_last()->message);
    return -1;
  }
  size_t cleared = 0;
  int64_t tok = 0;
  int32_t decision = 0;
  tkn_prune_report_cleared(rep, &cleared, &tok);
  tkn_prune_report_decision(rep, &decision, NULL, NULL);
  if (st->max_pct) {
    int64_t after = 0;
    tkn_prune_report_tokens(rep, NULL, &after);
    fx->failed = after > o.max_tokens;
    fx->degraded = decision == TKN_PRUNE_DECISION_DEGRADED;
  }
  for (size_t i = 0; st->prune_mode == TKN_PRUNE_POLICY && i < n; i++) {
    int32_t action = 0;
    tkn_prune_report_message(rep, i, &action, NULL, NULL);
    if (action == TKN_PRUNE_CLEARED) ss->mem[i] = 1;
  }
  ss->clears += decision == TKN_PRUNE_DECISION_CLEAR || decision == TKN_PRUNE_DECISION_BUDGET;
  ss->cleared_msgs += (int64_t)cleared;
  ss->cleared_tok += tok;
  tkn_prune_report_free(rep);
  return 0;
}

/* Tool selection leaves the messages as they are: assemble() sends only the
 * tools it selects (tools_k). */
static int tools_apply(replay *rp, const strategy *st, tkn_conv **conv, call_effect *fx) {
  (void)rp, (void)st, (void)conv, (void)fx;
  return 0;
}

static int tools_k(const strategy *st) { return st->apply == tools_apply ? st->budget_pct : 0; }

/* ---- one call through one strategy ---- */

/* A rate of the table (picodollars per million tokens) per token, rounded:
 * exact for the built-in table, whose prices are whole picodollars per token. */
static int64_t pt(int64_t per_mtok) { return (per_mtok + 500000) / 1000000; }

static int64_t usd_cost(const tkn_model_price *p, int64_t input, int64_t cached, int64_t output) {
  int64_t read = pt((p->has & TKN_PRICE_CACHE_READ) ? p->cache_read_per_mtok : p->input_per_mtok);
  return (input - cached) * pt(p->input_per_mtok) + cached * read + output * pt(p->output_per_mtok);
}

/* The tools as a catalogue (made again when a record brings its own). */
static int tool_catalogue(replay *rp) {
  if (rp->cat && rp->cat_of == rp->tools) return TKN_OK;
  tkn_toolsel_free(rp->cat);
  rp->cat = NULL;
  free(rp->sel);
  rp->sel = NULL;
  int rc = tkn_toolsel_new(&rp->cat, NULL);
  const cJSON *t;
  cJSON_ArrayForEach(t, rp->tools) {
    char *js = rc ? NULL : cJSON_PrintUnformatted(t);
    if (!rc) rc = js ? tkn_toolsel_add(rp->cat, js, strlen(js), NULL) : TKN_ERR_NOMEM;
    free(js);
  }
  size_t n = tkn_toolsel_count(rp->cat);
  if (!rc && !(rp->sel = calloc(n ? n : 1, sizeof *rp->sel))) rc = TKN_ERR_NOMEM;
  for (size_t i = 0; !rc && i < N_STRATEGIES; i++) {
    free(rp->st[i].chosen);
    if (!(rp->st[i].chosen = calloc(n ? n : 1, 1))) rc = TKN_ERR_NOMEM;
  }
  rp->cat_of = rp->tools;
  return rc;
}

/* Append len bytes of p to the query, a space before them. */
static int query_put(char **q, size_t *ql, size_t *cap, const char *p, size_t len) {
  if (!len) return 0;
  if (*ql + len + 2 > *cap) {
    size_t nc = (*ql + len + 2) * 2;
    char *n = realloc(*q, nc);
    if (!n) return -1;
    *q = n;
    *cap = nc;
  }
  if (*ql) (*q)[(*ql)++] = ' ';
  memcpy(*q + *ql, p, len);
  *ql += len;
  (*q)[*ql] = '\0';
  return 0;
}

/* The query of a tools-k row (QUERY_*), in *q (malloc'd, NUL-terminated; "" without a user
 * message): the texts of the user and assistant messages it takes, and of an assistant's tool
 * calls their function names and arguments, in order, within TKN_TOOLSEL_MAX_QUERY bytes (the
 * end kept). */
static int build_query(tkn_conv *conv, int mode, char **q, size_t *ql) {
  size_t n = tkn_conv_count(conv), from = n, users = 0, cap = 0;
  size_t want = mode == QUERY_RECENT ? 2 : 1;
  for (size_t i = n; i-- > 0 && users < want;)
    if (tkn_conv_role(conv, i) == TKN_ROLE_USER) from = i, users++;
  *ql = 0;
  if (!(*q = malloc(1))) return -1;
  (*q)[0] = '\0';
  cap = 1;
  size_t to = mode == QUERY_USER ? (from < n ? from + 1 : n) : n;
  for (size_t i = from; i < to; i++) {
    const char *t = NULL;
    size_t tl = 0;
    int role = tkn_conv_role(conv, i);
    if (role != TKN_ROLE_USER && role != TKN_ROLE_ASSISTANT) continue;
    if (!tkn_conv_text(conv, i, &t, &tl) && query_put(q, ql, &cap, t, tl)) return -1;
    for (size_t j = 0; role == TKN_ROLE_ASSISTANT && j < tkn_conv_tool_call_count(conv, i); j++) {
      const char *id, *fn, *args;
      size_t il, fl, al;
      if (tkn_conv_tool_call(conv, i, j, &id, &il, &fn, &fl, &args, &al)) continue;
      if (query_put(q, ql, &cap, fn, fl) || query_put(q, ql, &cap, args, al)) return -1;
    }
  }
  if (*ql > TKN_TOOLSEL_MAX_QUERY) { /* keep the end, at a character boundary */
    size_t cut = *ql - TKN_TOOLSEL_MAX_QUERY;
    while (cut < *ql && ((unsigned char)(*q)[cut] & 0xC0) == 0x80) cut++;
    memmove(*q, *q + cut, *ql - cut + 1);
    *ql -= cut;
  }
  return 0;
}

/* A tools-k row: the tools BM25 ranks best for its query (a sticky row adds the tools it
 * chose before in the conversation). */
static int select_tools(replay *rp, const strategy *st, tkn_conv *conv) {
  int rc = tool_catalogue(rp);
  if (rc) return rc;
  char *q = NULL;
  size_t ql = 0;
  strat_stats *ss = &rp->st[st - STRATEGIES];
  if (st->query & QUERY_PER_TURN) {
    size_t u = tkn_conv_count(conv);
    while (u > 0 && tkn_conv_role(conv, u - 1) != TKN_ROLE_USER) u--;
    if (u && u == ss->turn_user) { /* the turn's selection */
      rp->nsel = 0;
      for (size_t i = 0; i < tkn_toolsel_count(rp->cat); i++)
        if (ss->chosen[i]) rp->sel[rp->nsel++] = (uint32_t)i;
      return 0;
    }
    memset(ss->chosen, 0, tkn_toolsel_count(rp->cat));
    ss->turn_user = u;
  }
  if (build_query(conv, st->query & ~QUERY_PER_TURN, &q, &ql)) {
    free(q);
    return TKN_ERR_NOMEM;
  }
  size_t n = tkn_toolsel_count(rp->cat), na = 0;
  uint8_t *chosen = ss->chosen;
  uint32_t *always = calloc(n ? n : 1, sizeof *always);
  if (!always) {
    free(q);
    return TKN_ERR_NOMEM;
  }
  for (size_t i = 0; tools_k(st) < 0 && i < n; i++)
    if (chosen[i]) always[na++] = (uint32_t)i;
  uint32_t k = (uint32_t)(tools_k(st) < 0 ? -tools_k(st) : tools_k(st));
  rc = tkn_toolsel_select(rp->cat, q, ql, k, always, na, rp->sel, n, &rp->nsel);
  free(always);
  free(q);
  for (size_t i = 0; !rc && i < rp->nsel; i++) chosen[rp->sel[i]] = 1;
  return rc;
}

/* Were the tools the recorded answer calls all among those sent? -1 when it
 * calls none. */
static int answer_offered(const replay *rp, const strategy *st) {
  size_t nc = tkn_conv_tool_call_count(rp->answers, rp->answer);
  if (!nc) return -1;
  for (size_t j = 0; j < nc; j++) {
    const char *id, *fn, *args;
    size_t il, fl, al;
    uint32_t idx;
    if (tkn_conv_tool_call(rp->answers, rp->answer, j, &id, &il, &fn, &fl, &args, &al)) return 0;
    if (!tools_k(st)) continue; /* every tool was sent */
    if (tkn_toolsel_find(rp->cat, fn, fl, &idx)) return 0;
    int sent = 0;
    for (size_t i = 0; i < rp->nsel; i++) sent |= rp->sel[i] == idx;
    if (!sent) return 0;
  }
  return 1;
}

/* The prompt of one call: the tools, the system prompt (layout: its volatile
 * lines, as the linter finds them, moved to a tail segment), the history. */
static int assemble(replay *rp, const strategy *st, tkn_conv *conv, tkn_prompt **out) {
  tkn_prompt_options po = TKN_PROMPT_OPTIONS_INIT;
  po.keep_order = !st->layout;
  po.lint_mask = st->layout ? TKN_LINT_ALL : 0;
  tkn_prompt_builder *b = NULL;
  if (tkn_prompt_builder_new(&b, &po)) return TKN_ERR_NOMEM;
  int rc = TKN_OK;
  const cJSON *t;
  if (tools_k(st)) {
    rc = select_tools(rp, st, conv);
    if (!rc) rc = tkn_toolsel_add_to_builder(b, rp->cat, rp->sel, rp->nsel,
                                             TKN_TOOLSEL_ONLY_SELECTED);
  } else {
    cJSON_ArrayForEach(t, rp->tools) {
      char *js = cJSON_PrintUnformatted(t);
      rc = js ? tkn_prompt_builder_add_tool(b, js, strlen(js), NULL) : TKN_ERR_NOMEM;
      free(js);
      if (rc) break;
    }
  }
  tkn_conv *hist = NULL;
  char *tail = NULL;
  if (!rc) rc = tkn_conv_clone(&hist, conv);
  if (!rc && tkn_conv_count(hist) && tkn_conv_role(hist, 0) == TKN_ROLE_SYSTEM) {
    const char *s;
    size_t sl;
    rc = tkn_conv_text(hist, 0, &s, &sl);
    char *stat = rc ? NULL : malloc(sl + 1);
    tail = rc ? NULL : malloc(sl + 1);
    size_t so = 0, to = 0;
    if (!rc && (!stat || !tail)) rc = TKN_ERR_NOMEM;
    tkn_prompt_finding *f = NULL;
    size_t nf = 0;
    if (!rc && st->layout) rc = tkn_prompt_lint(s, sl, TKN_LINT_ALL, &f, &nf);
    /* line by line: a line holding a finding goes to the tail */
    for (size_t p = 0; !rc && p < sl;) {
      size_t e = p;
      while (e < sl && s[e] != '\n') e++;
      if (e < sl) e++;
      int vol = 0;
      for (size_t k = 0; k < nf; k++)
        if (f[k].offset < e && f[k].offset + f[k].length > p) vol = 1;
      memcpy(vol ? tail + to : stat + so, s + p, e - p);
      if (vol) to += e - p;
      else so += e - p;
      p = e;
    }
    tkn_free(f);
    if (!rc) rc = tkn_prompt_builder_add_text(b, TKN_SEG_STATIC, TKN_STABILITY_STATIC, "system", 6,
                                              stat, so, NULL);
    if (!rc && to)
      rc = tkn_prompt_builder_add_text(b, TKN_SEG_DYNAMIC, TKN_STABILITY_VOLATILE, "volatile", 8,
                                       tail, to, NULL);
    free(stat);
    if (!rc) rc = tkn_conv_remove(hist, 0);
  }
  if (!rc) rc = tkn_prompt_builder_set_history(b, hist, TKN_STABILITY_SESSION, NULL);
  if (!rc) rc = tkn_prompt_assemble(out, b, rp->tok);
  if (rc) snprintf(rp->err, sizeof rp->err, "assembling a call's prompt: %s", tkn_error_last()->message);
  free(tail);
  tkn_prompt_builder_free(b);
  tkn_conv_free(hist);
  return rc;
}

/* Does the input still hold each value needed from call `k` on? */
static void proxy(tkn_conv *conv, int fmt, const values *vs, size_t k, strat_stats *ss) {
  char *js = NULL;
  if (tkn_conv_to_json(conv, fmt, &js, NULL)) return;
  for (size_t i = 0; i < vs->n; i++) {
    const value *v = &vs->v[i];
    if (v->first_msg < k && v->last_use >= k) {
      ss->needed++;
      ss->kept += strstr(js, v->text) != NULL;
    }
  }
  tkn_free(js);
}

static int one_call(replay *rp, size_t si, tkn_conv *input, const values *vs, size_t k,
                    int64_t output, size_t call_in_conv) {
  const strategy *st = &STRATEGIES[si];
  strat_stats *ss = &rp->st[si];
  tkn_conv *conv = NULL;
  if (tkn_conv_clone(&conv, input)) return snprintf(rp->err, sizeof rp->err, "out of memory"), -1;
  call_effect fx = {0, 0, 0, 0};
  int rc = st->apply ? st->apply(rp, st, &conv, &fx) : 0;
  tkn_prompt *p = NULL;
  if (!rc) rc = assemble(rp, st, conv, &p);
  if (!rc && !ss->plan) {
    tkn_cacheplan_options o = TKN_CACHEPLAN_OPTIONS_INIT;
    o.provider = rp->provider;
    o.model = rp->model;
    o.model_len = strlen(rp->model);
    o.min_cache_tokens = rp->price.prompt_cache_min_tokens;
    o.price_input = pt(rp->price.input_per_mtok);
    if (rp->price.has & TKN_PRICE_CACHE_READ) o.price_cache_read = pt(rp->price.cache_read_per_mtok);
    if (rp->price.has & TKN_PRICE_CACHE_WRITE_5M)
      o.price_cache_write_5m = pt(rp->price.cache_write_5m_per_mtok);
    if (rp->price.has & TKN_PRICE_CACHE_WRITE_1H)
      o.price_cache_write_1h = pt(rp->price.cache_write_1h_per_mtok);
    rc = tkn_cacheplan_new(&ss->plan, &o);
    if (rc) snprintf(rp->err, sizeof rp->err, "cache model: %s", tkn_strerror(rc));
  }
  tkn_cacheplan_result before, after;
  memset(&before, 0, sizeof before);
  before.version = TKN_CACHEPLAN_RESULT_VERSION;
  after = before;
  if (!rc && (tkn_cacheplan_result_get(ss->plan, &before) ||
              tkn_cacheplan_add_prompt(ss->plan, rp->now_ms, p) ||
              tkn_cacheplan_result_get(ss->plan, &after))) {
    snprintf(rp->err, sizeof rp->err, "cache model: %s", tkn_error_last()->message);
    rc = -1;
  }
  if (!rc) {
    int64_t in = after.input_tokens - before.input_tokens;
    int64_t cached = after.cached_tokens - before.cached_tokens;
    /* the cache's own bill (Anthropic writes) plus output and side calls */
    int64_t cost = (after.cost_with - before.cost_with) + output * pt(rp->price.output_per_mtok);
    int64_t side = usd_cost(&rp->side_price, fx.side_input, 0, fx.side_output);
    ss->calls++;
    ss->input += in;
    ss->cached += cached;
    ss->output += output;
    ss->cost += cost + side;
    ss->conv_cost += cost + side;
    ss->cost_uncached += in * pt(rp->price.input_per_mtok) + output * pt(rp->price.output_per_mtok) + side;
    ss->side_input += fx.side_input;
    ss->side_output += fx.side_output;
    ss->side_cost += side;
    ss->failed += fx.failed;
    ss->degraded += fx.degraded;
    for (size_t i = 0; i < tkn_prompt_segment_count(p); i++) {
      tkn_prompt_segment_info info;
      memset(&info, 0, sizeof info);
      info.version = TKN_PROMPT_SEGMENT_INFO_VERSION;
      if (!tkn_prompt_segment(p, i, &info) && info.kind == TKN_SEG_TOOLS)
        ss->tool_tok += info.tokens;
    }
    int offered = answer_offered(rp, st);
    ss->tool_calls += offered >= 0;
    ss->tool_offered += offered > 0;
    if (si == 0)
      rp->recorded_cost[call_in_conv] = cost + side;
    else if (cost + side > rp->recorded_cost[call_in_conv])
      ss->costlier++;
    proxy(conv, rp->format, vs, k, ss);
  }
  tkn_prompt_free(p);
  tkn_conv_free(conv);
  return rc;
}

/* ---- one conversation ---- */

static int replay_conv(replay *rp, tkn_conv *conv) {
  size_t n = tkn_conv_count(conv);
  char **msg_json = calloc(n ? n : 1, sizeof *msg_json);
  int64_t *per = calloc(n ? n : 1, sizeof *per);
  int64_t total = 0;
  values vs = {NULL, 0, 0};
  int rc = msg_json && per ? 0 : -1;
  if (rc) snprintf(rp->err, sizeof rp->err, "out of memory");
  for (size_t i = 0; !rc && i < n; i++) {
    if (tkn_conv_role(conv, i) == TKN_ROLE_SYSTEM || tkn_conv_role(conv, i) == TKN_ROLE_DEVELOPER) {
      const char *t;
      size_t tl;
      tkn_conv_text(conv, i, &t, &tl);
      msg_json[i] = malloc(tl + 1);
      if (msg_json[i]) memcpy(msg_json[i], t, tl), msg_json[i][tl] = '\0';
    } else if (tkn_conv_message_to_json(conv, i, rp->format, &msg_json[i], NULL)) {
      msg_json[i] = NULL;
    }
    if (!msg_json[i]) {
      snprintf(rp->err, sizeof rp->err, "message %zu: cannot serialise it", i);
      rc = -1;
    }
  }
  /* the record's own tools: the extra ones hold no value of the conversation */
  char *tools_json = rp->rec_tools ? cJSON_PrintUnformatted(rp->rec_tools) : NULL;
  if (!rc && tkn_tokenizer_count_conv(rp->tok, conv, NULL, &total, per)) {
    snprintf(rp->err, sizeof rp->err, "counting: %s", tkn_error_last()->message);
    rc = -1;
  }
  if (!rc && values_of(conv, msg_json, tools_json, &vs)) {
    snprintf(rp->err, sizeof rp->err, "out of memory");
    rc = -1;
  }
  free(tools_json);
  size_t calls = 0;
  for (size_t k = 0; k < n; k++) calls += tkn_conv_role(conv, k) == TKN_ROLE_ASSISTANT;
  free(rp->recorded_cost);
  rp->recorded_cost = calloc(calls ? calls : 1, sizeof *rp->recorded_cost);
  if (!rc && !rp->recorded_cost) rc = -1;
  for (size_t si = 0; si < N_STRATEGIES; si++) {
    rp->st[si].conv_cost = 0;
    if (rp->st[si].mem) memset(rp->st[si].mem, 0, rp->st[si].mem_n);
    memset(&rp->st[si].ledger, 0, sizeof rp->st[si].ledger);
    if (rp->st[si].chosen && rp->cat) memset(rp->st[si].chosen, 0, tkn_toolsel_count(rp->cat));
    rp->st[si].turn_user = 0;
  }
  rp->answers = conv;
  size_t call = 0;
  uint8_t *keep = calloc(n ? n : 1, 1);
  if (!keep) rc = -1;
  for (size_t k = 1; !rc && k < n; k++) {
    if (tkn_conv_role(conv, k) != TKN_ROLE_ASSISTANT) continue;
    /* the call's input: every message before k */
    tkn_conv *input = NULL;
    for (size_t i = 0; i < n; i++) keep[i] = i < k;
    if (tkn_conv_clone(&input, conv) || tkn_conv_filter(input, keep, n)) {
      snprintf(rp->err, sizeof rp->err, "out of memory");
      tkn_conv_free(input);
      rc = -1;
      break;
    }
    rp->answer = k;
    for (size_t si = 0; !rc && si < N_STRATEGIES; si++)
      if (rp->enabled[si]) rc = one_call(rp, si, input, &vs, k, per[k], call);
    tkn_conv_free(input);
    rp->now_ms += rp->gap_ms;
    call++;
    rp->calls++;
  }
  free(keep);
  /* against no pruning: the layout when it runs, else as recorded */
  size_t ref = rp->enabled[1] ? 1 : 0;
  for (size_t si = 2; !rc && si < N_STRATEGIES; si++)
    if (rp->enabled[si] && rp->st[si].conv_cost > rp->st[ref].conv_cost) {
      rp->st[si].conv_costlier++;
      rp->st[si].conv_excess += rp->st[si].conv_cost - rp->st[ref].conv_cost;
    }
  values_free(&vs);
  for (size_t i = 0; msg_json && i < n; i++) {
    if (tkn_conv_role(conv, i) == TKN_ROLE_SYSTEM || tkn_conv_role(conv, i) == TKN_ROLE_DEVELOPER)
      free(msg_json[i]);
    else
      tkn_free(msg_json[i]);
  }
  free(msg_json);
  free(per);
  return rc;
}

/* A tool definition's name (OpenAI, Anthropic or neutral form), or NULL. */
static const char *tool_name(const cJSON *t) {
  const cJSON *fn = cJSON_GetObjectItemCaseSensitive(t, "function");
  const cJSON *name = cJSON_GetObjectItemCaseSensitive(cJSON_IsObject(fn) ? fn : t, "name");
  return cJSON_IsString(name) ? name->valuestring : NULL;
}

/* The tools sent with the current record: its own, then the extra tools (all of them, or as
 * many as make the catalogue rp->size).  0, or 1 with rp->err set. */
static int combine_tools(replay *rp) {
  rp->tools = rp->rec_tools;
  if (!rp->extra) return 0;
  if (rp->combined && rp->combined_of == rp->rec_tools) {
    rp->tools = rp->combined;
    return 0;
  }
  /* a new set of tools: the catalogue made from the old one goes with it */
  cJSON_Delete(rp->combined);
  rp->combined = NULL;
  tkn_toolsel_free(rp->cat);
  rp->cat = NULL;
  size_t own = rp->rec_tools ? (size_t)cJSON_GetArraySize(rp->rec_tools) : 0;
  size_t extra = (size_t)cJSON_GetArraySize(rp->extra), add = extra;
  if (rp->size && (rp->size < own || rp->size - own > extra)) {
    snprintf(rp->err, sizeof rp->err, "--catalogue-sizes: %zu is not between the record's own %zu "
             "tools and %zu with every extra tool", rp->size, own, own + extra);
    return 1;
  }
  if (rp->size) add = rp->size - own;
  cJSON *all = cJSON_CreateArray();
  const cJSON *t;
  int bad = !all;
  cJSON_ArrayForEach(t, rp->rec_tools) bad |= !cJSON_AddItemReferenceToArray(all, (cJSON *)t);
  size_t i = 0;
  cJSON_ArrayForEach(t, rp->extra) {
    if (bad || i++ == add) break;
    const char *name = tool_name(t);
    const cJSON *o;
    cJSON_ArrayForEach(o, rp->rec_tools) {
      const char *on = tool_name(o);
      if (name && on && !strcmp(name, on)) {
        snprintf(rp->err, sizeof rp->err, "--extra-tools: a tool named '%.200s' is already "
                 "among the record's tools", name);
        cJSON_Delete(all);
        return 1;
      }
    }
    bad |= !cJSON_AddItemReferenceToArray(all, (cJSON *)t);
  }
  if (bad) {
    cJSON_Delete(all);
    snprintf(rp->err, sizeof rp->err, "out of memory");
    return 1;
  }
  rp->combined = all;
  rp->combined_of = rp->rec_tools;
  rp->tools = all;
  return 0;
}

/* ---- input ---- */

/* One record: an array of messages, or an object with "messages" (and an
 * Anthropic "system", and its own "tools").  0, or 1 with rp->err set. */
static int load_record(replay *rp, const cJSON *rec, int format, size_t idx, tkn_conv **out,
                       const cJSON **tools) {
  const cJSON *msgs = cJSON_IsArray(rec) ? rec : cJSON_GetObjectItemCaseSensitive(rec, "messages");
  if (!cJSON_IsArray(msgs)) {
    snprintf(rp->err, sizeof rp->err,
             "conversation %zu: expected an array of messages or an object with \"messages\"", idx);
    return 1;
  }
  cJSON *obj = cJSON_CreateObject();
  const cJSON *sys = cJSON_IsObject(rec) ? cJSON_GetObjectItemCaseSensitive(rec, "system") : NULL;
  if (!obj || !cJSON_AddItemReferenceToObject(obj, "messages", (cJSON *)msgs) ||
      (sys && !cJSON_AddItemReferenceToObject(obj, "system", (cJSON *)sys))) {
    cJSON_Delete(obj);
    snprintf(rp->err, sizeof rp->err, "out of memory");
    return 1;
  }
  char *js = cJSON_PrintUnformatted(obj);
  cJSON_Delete(obj);
  char e[256] = "";
  int rc = js ? sim_keep_err(tkn_conv_from_json(out, format, js, strlen(js)), e, sizeof e) : TKN_ERR_NOMEM;
  free(js);
  if (rc) {
    snprintf(rp->err, sizeof rp->err, "conversation %zu: %s", idx, e[0] ? e : tkn_strerror(rc));
    return 1;
  }
  const cJSON *own = cJSON_IsObject(rec) ? cJSON_GetObjectItemCaseSensitive(rec, "tools") : NULL;
  if (own && !cJSON_IsArray(own)) {
    snprintf(rp->err, sizeof rp->err, "conversation %zu: \"tools\": expected an array", idx);
    tkn_conv_free(*out);
    *out = NULL;
    return 1;
  }
  if (own) *tools = own;
  return 0;
}

/* The records of a file: a JSON array of records, an object holding them in
 * "conversations" or "trajectories" (with shared "tools"), or JSON Lines. */
static cJSON *read_records(const char *path, const cJSON **tools, cJSON **root, char *err,
                           size_t errlen) {
  size_t len = 0;
  char *text = cli_read(path, &len);
  if (!text) {
    snprintf(err, errlen, "cannot read %s", path && strcmp(path, "-") != 0 ? path : "standard input");
    return NULL;
  }
  *root = cJSON_ParseWithLength(text, len);
  cJSON *recs = NULL;
  if (*root) {
    if (cJSON_IsArray(*root)) {
      /* an array of records, or one conversation as an array of messages */
      const cJSON *first = (*root)->child;
      if (first && cJSON_IsObject(first) && cJSON_GetObjectItemCaseSensitive(first, "role")) {
        recs = cJSON_CreateArray();
        cJSON_AddItemReferenceToArray(recs, *root);
      } else {
        recs = cJSON_CreateArrayReference((*root)->child);
      }
    } else if (cJSON_IsObject(*root)) {
      const cJSON *r = cJSON_GetObjectItemCaseSensitive(*root, "conversations");
      if (!r) r = cJSON_GetObjectItemCaseSensitive(*root, "trajectories");
      if (cJSON_IsArray(r)) {
        recs = cJSON_CreateArrayReference(r->child);
      } else if (cJSON_GetObjectItemCaseSensitive(*root, "messages")) {
        recs = cJSON_CreateArray();
        cJSON_AddItemReferenceToArray(recs, *root);
      }
      *tools = cJSON_GetObjectItemCaseSensitive(*root, "tools");
    }
    if (!recs)
      snprintf(err, errlen, "%s: expected conversations (an array, an object with "
               "\"conversations\" or \"trajectories\", or JSON Lines)", path);
  } else {
    /* JSON Lines: one record per line */
    recs = cJSON_CreateArray();
    *root = recs;
    size_t line = 1;
    for (char *p = text; recs && *p; line++) {
      char *e = strchr(p, '\n');
      size_t l = e ? (size_t)(e - p) : strlen(p);
      size_t k = 0;
      while (k < l && (p[k] == ' ' || p[k] == '\t' || p[k] == '\r')) k++;
      if (k < l) {
        cJSON *r = cJSON_ParseWithLength(p, l);
        if (!r) {
          snprintf(err, errlen, "%s: line %zu: not JSON (neither one JSON document nor JSON Lines)",
                   path, line);
          cJSON_Delete(recs);
          recs = *root = NULL;
          break;
        }
        cJSON_AddItemToArray(recs, r);
      }
      p = e ? e + 1 : p + l;
    }
    if (recs) recs = cJSON_CreateArrayReference(recs->child);
  }
  free(text);
  if (*tools && !cJSON_IsArray(*tools)) {
    snprintf(err, errlen, "%s: \"tools\": expected an array", path);
    cJSON_Delete(recs);
    return NULL;
  }
  return recs;
}

/* ---- output ---- */

static const char HELP[] =
    "usage: tokenomy replay [--model NAME] [--summary-model NAME] [--format openai|anthropic]\n"
    "                       [--gap-ms N] [--strategies K1,K2,...] [--limit N]\n"
    "                       [--extra-tools FILE [--catalogue-sizes N1,N2,...]]\n"
    "                       [--json] [--html FILE] [FILE]\n"
    "\n"
    "Replay recorded agent conversations and show, per context strategy, what every\n"
    "model call would have cost: each assistant message is one call whose input is\n"
    "every message before it plus the tools.  Input: OpenAI or Anthropic chat JSON,\n"
    "one conversation per record (a JSON array of records, an object with\n"
    "\"conversations\" or \"trajectories\" and shared \"tools\", or JSON Lines); a\n"
    "record is an array of messages or an object with \"messages\" (and \"system\",\n"
    "\"tools\").  Deterministic, offline.\n"
    "\n"
    "Per strategy: exact input, cached and output tokens (o200k_base, the\n"
    "library's tokenizer; tools counted as their canonical JSON), the cost at the\n"
    "model's prices with the provider's prompt cache modelled for every strategy\n"
    "(OpenAI: automatic prefix caching; calls --gap-ms apart, one cache for the\n"
    "whole file), so pruning that rewrites the history pays its cache misses; the\n"
    "calls that cost more than as recorded; the calls whose budget could not be met\n"
    "(sent unpruned); and an information proxy: of the values the model later\n"
    "passes as tool arguments (strings of 4+ characters, numbers of 3+ digits) that\n"
    "only earlier messages held (not the system prompt or the tools), the share the\n"
    "strategy's input still holds.  Outputs are the recorded ones for every strategy.\n"
    "\n"
    "Strategies: recorded, layout (tokenomy's prompt layout: the system prompt's\n"
    "volatile lines, as the linter finds them, move to a tail after the history),\n"
    "and trim / score / summarise at 75, 50 and 25% of the call's message tokens\n"
    "(on the layout; where a budget cannot be met they degrade, prune.h's default:\n"
    "tool results cleared, then the oldest turns dropped, never nothing), and at 50%\n"
    "with degrade 0 (trim-50-fail, ...: an unmet budget is sent unpruned).  The\n"
    "replay calls no model: summarise uses an extractive\n"
    "stand-in (the start of each summarised message), and its summarising calls are\n"
    "billed at --summary-model prices.  mask-3 / mask-1: every tool result but the\n"
    "last 3 / 1 replaced by a placeholder; clear-6k: the same (keep 3) only above 6,000\n"
    "tokens and when at least 500 go; policy / policy-1: prune.h's cache-economics\n"
    "policy (keep 3 / 1) at the model's prices, clearing in place when a clear pays\n"
    "for itself at this call alone, even if it is the conversation's last;\n"
    "policy-next: when it pays back by the next call; policy-growth: over as many\n"
    "calls as the conversation has made so far; ledger: by the next call, risking\n"
    "no more than the conversation's clears so far saved (prune.h tkn_prune_ledger).\n"
    "mask-2/-4, policy-2/-3/-4, ledger-1/-2/-4: the \"keep N\" table only.\n"
    "policy-75 / -50 / -25: the policy\n"
    "(keep 3) with max_tokens at 75 / 50 / 25% of the call's message tokens: it\n"
    "degrades instead of failing (recent results cleared, then the oldest messages\n"
    "dropped, never nothing).  tools-3 / tools-5: only the 3 / 5\n"
    "tools BM25 ranks best for the call's last user message are sent (toolsel.h, in\n"
    "catalogue order); tools-3-sticky: the same, and a tool once chosen stays for the\n"
    "conversation; tools-3-turn / tools-5-turn: BM25 on the turn so far (the last user\n"
    "message, then the agent's text and tool calls after it, not the tool results);\n"
    "tools-3-recent: the same over the last two turns; tools-3-turn-sticky: the turn\n"
    "query, and a tool once chosen stays; tools-3-per-turn / tools-3-recent-per-turn:\n"
    "the last user message / the last two turns, selected at a turn's first call and\n"
    "kept for the turn (as the agent's tool selection does).  A table beside all tools\n"
    "shows the tool tokens sent and the share of calls whose recorded tool call was\n"
    "among the tools sent.  --extra-tools adds the tools of FILE (a JSON array of\n"
    "definitions, or an object with \"tools\"; data/tools/mcp-servers.json holds 88\n"
    "of real MCP servers) after every record's own, as distractors; --catalogue-sizes\n"
    "replays once per size (the record's tools, then the first extra ones up to N)\n"
    "and prints one table of all tools beside the tools-k rows per size.\n"
    "\n"
    "  --model NAME          prices and cache of the replayed calls (gpt-4o)\n"
    "  --summary-model NAME  prices of summarising calls (gpt-4o-mini)\n"
    "  --format F            the records' format (default: detected per record)\n"
    "  --gap-ms N            time between two calls (15000)\n"
    "  --strategies LIST     only these (keys as in --json; recorded always runs)\n"
    "  --policy-keep N       the policy row: the last N tool results kept (3)\n"
    "  --policy-at-least N   the policy row: clear nothing unless N tokens go (0)\n"
    "  --policy-horizon H    the policy row: calls a clear may take to pay back, a\n"
    "                        count or 'growth' (0: at its own call)\n"
    "  --policy-prices MODEL the policy row decides at this model's prices (--model)\n"
    "  --extra-tools FILE    add these tools to every conversation's catalogue\n"
    "  --catalogue-sizes L   one replay per catalogue size in L (needs --extra-tools)\n"
    "  --policy-ledger       the policy row keeps a ledger per conversation\n"
    "  --limit N             the first N conversations only\n"
    "  --json                the figures as JSON\n"
    "  --html FILE           also write one self-contained HTML page\n";

/* A row's label: the policy row's says its settings when they are not the defaults. */
static const char *row_name(const replay *rp, size_t i) {
  return !strcmp(STRATEGIES[i].key, "policy") && rp->pol_name[0] ? rp->pol_name
                                                                 : STRATEGIES[i].name;
}

static double ratio(int64_t a, int64_t b) {
  return b ? (double)a / (double)b : 0.0;
}

static void print_tools_table(const replay *rp);
static void print_keep_table(const replay *rp);

static void print_table(const replay *rp, const char *path) {
  char a[48], b[48], c[48], d[48], e[48], f[48], g[48], h[48];
  const strat_stats *rec = &rp->st[0];
  printf("tokenomy replay: %s: %lld conversations, %lld model calls, %s prices, the provider's\n"
         "prompt cache modelled for every strategy (calls %lld s apart), exact o200k counts\n\n",
         path, (long long)rp->conversations, (long long)rp->calls, rp->model,
         (long long)(rp->gap_ms / 1000));
  printf("| %-44s | %12s | %12s | %10s | %11s | %8s | %11s | %9s | %7s | %8s | %6s |\n",
         "strategy", "input tok", "cached", "output", "cost (USD)", "vs rec.", "values kept",
         "costlier", "unmet", "degraded", "convs+");
  printf("|----------------------------------------------|--------------|--------------|"
         "------------|-------------|----------|-------------|-----------|---------|----------"
         "|--------|\n");
  printf("| %-44s | %12s | %12s | %10s | %11s | %8s | %11s | %9s | %7s | %8s | %6s |\n",
         "as recorded, no prompt cache (reference)", cli_int(rec->input, a, sizeof a), "0",
         cli_int(rec->output, b, sizeof b), cli_usd(rec->cost_uncached, 4, c, sizeof c),
         "", "", "", "", "", "");
  for (size_t i = 0; i < N_STRATEGIES; i++) {
    const strat_stats *s = &rp->st[i];
    if (!rp->enabled[i] || STRATEGIES[i].frontier) continue;
    char vs[16] = "", kept[16] = "n/a";
    if (i) snprintf(vs, sizeof vs, "%+.1f%%", 100.0 * (ratio(s->cost, rec->cost) - 1.0));
    if (s->needed) snprintf(kept, sizeof kept, "%.1f%%", 100.0 * ratio(s->kept, s->needed));
    int unmet = STRATEGIES[i].apply == prune_apply || STRATEGIES[i].max_pct;
    printf("| %-44s | %12s | %12s | %10s | %11s | %8s | %11s | %9s | %7s | %8s | %6s |\n",
           row_name(rp, i), cli_int(s->input, a, sizeof a), cli_int(s->cached, b, sizeof b),
           cli_int(s->output, c, sizeof c), cli_usd(s->cost, 4, d, sizeof d), vs, kept,
           i ? cli_int(s->costlier, e, sizeof e) : "", unmet ? cli_int(s->failed, f, sizeof f) : "",
           unmet ? cli_int(s->degraded, h, sizeof h) : "",
           i > 1 ? cli_int(s->conv_costlier, g, sizeof g) : "");
  }
  printf("\nThe provider's cache alone: %s USD -> %s USD (%+.1f%%) as recorded.  \"values kept\":\n"
         "of %s (call, value) pairs where the model later passes a value earlier messages\n"
         "held, the share still in the input.  \"costlier\": calls that cost more than as\n"
         "recorded.  \"unmet\": calls whose budget was not met (sent unpruned; a row that\n"
         "degrades sends the system prompt and the last turn over it).  \"degraded\": calls\n"
         "at which it degraded (cleared recent tool results or dropped messages), met or not.\n"
         "\"convs+\": conversations that cost more than with no pruning (the layout).\n"
         "Summarise's extra calls are included in its cost.  Mask and clear rewrite each\n"
         "call's input afresh (as Anthropic's server-side clearing does); the policy keeps\n"
         "what it cleared and clears more only when that pays for the prefix it breaks, at\n"
         "the model's prices: at this call alone, by the next call (policy-next), or over\n"
         "as many calls as so far (policy-growth); with a ledger, a clear that pays back\n"
         "only later risks no more than the clears before it saved (ledger).\n",
         cli_usd(rec->cost_uncached, 4, a, sizeof a), cli_usd(rec->cost, 4, b, sizeof b),
         100.0 * (ratio(rec->cost, rec->cost_uncached) - 1.0), cli_int(rec->needed, c, sizeof c));
  print_keep_table(rp);
  print_tools_table(rp);
}

/* The row of `key`, or -1 if it did not run. */
static int row_of(const replay *rp, const char *key) {
  for (size_t i = 0; i < N_STRATEGIES; i++)
    if (!strcmp(STRATEGIES[i].key, key)) return rp->enabled[i] ? (int)i : -1;
  return -1;
}

/* Mask, the policy and the policy with a ledger at every keep N = 1..4:
 * cost against as recorded, values kept, conversations dearer than not
 * pruning. */
static void print_keep_table(const replay *rp) {
  static const char *const keys[4][3] = {{"mask-1", "policy-1", "ledger-1"},
                                         {"mask-2", "policy-2", "ledger-2"},
                                         {"mask-3", "policy-3", "ledger"},
                                         {"mask-4", "policy-4", "ledger-4"}};
  int any = 0;
  for (int n = 0; n < 4; n++)
    for (int k = 0; k < 3; k++) any |= row_of(rp, keys[n][k]) >= 0;
  if (!any) return;
  const strat_stats *rec = &rp->st[0];
  printf("\nKeep the last N tool results: always mask, the policy (a clear pays at once) and\n"
         "the policy with a ledger (pay back by the next call), each as cost vs as recorded /\n"
         "values kept / conversations dearer than not pruning:\n\n");
  printf("| %6s | %-26s | %-26s | %-26s |\n", "keep N", "mask", "policy", "policy + ledger");
  printf("|--------|----------------------------|----------------------------|"
         "----------------------------|\n");
  for (int n = 0; n < 4; n++) {
    char cell[3][40];
    for (int k = 0; k < 3; k++) {
      int i = row_of(rp, keys[n][k]);
      const strat_stats *s = i >= 0 ? &rp->st[i] : NULL;
      if (!s)
        snprintf(cell[k], sizeof cell[k], "(not run)");
      else
        snprintf(cell[k], sizeof cell[k], "%+.2f%% / %.1f%% / %lld",
                 100.0 * (ratio(s->cost, rec->cost) - 1.0), 100.0 * ratio(s->kept, s->needed),
                 (long long)s->conv_costlier);
    }
    printf("| %6d | %-26s | %-26s | %-26s |\n", n + 1, cell[0], cell[1], cell[2]);
  }
}

/* The tools-k rows beside all tools (the layout: same messages, every tool). */
static void print_tools_table(const replay *rp) {
  int any = 0;
  for (size_t i = 0; i < N_STRATEGIES; i++) any |= rp->enabled[i] && tools_k(&STRATEGIES[i]);
  if (!any || !rp->enabled[1]) return;
  char a[48], b[48];
  const strat_stats *all = &rp->st[1];
  printf("\nTool selection per call (toolsel.h's catalogue; only the selected tools are sent, in\n"
         "catalogue order; the messages as in the layout row):\n\n");
  printf("| %-44s | %11s | %9s | %11s | %8s | %15s |\n", "tools sent", "tool tokens", "per call",
         "cost (USD)", "vs all", "called tool sent");
  printf("|----------------------------------------------|-------------|-----------|"
         "-------------|----------|-----------------|\n");
  for (size_t i = 1; i < N_STRATEGIES; i++) {
    const strat_stats *s = &rp->st[i];
    if (!rp->enabled[i] || (i != 1 && !tools_k(&STRATEGIES[i]))) continue;
    char vs[16] = "", sent[24];
    if (i != 1) snprintf(vs, sizeof vs, "%+.1f%%", 100.0 * (ratio(s->cost, all->cost) - 1.0));
    snprintf(sent, sizeof sent, "%.1f%% of %lld", 100.0 * ratio(s->tool_offered, s->tool_calls),
             (long long)s->tool_calls);
    printf("| %-44s | %11s | %9.0f | %11s | %8s | %15s |\n",
           i == 1 ? "all tools, stable (the layout row)" : STRATEGIES[i].name,
           cli_int(s->tool_tok, a, sizeof a), ratio(s->tool_tok, s->calls),
           cli_usd(s->cost, 4, b, sizeof b), vs, sent);
  }
  printf("\n\"called tool sent\": of the calls whose recorded answer calls a tool, the share\n"
         "whose called tools were all among those sent (a miss: the model could not have\n"
         "called it).  The cost is the whole call's, the provider's cache modelled: a new\n"
         "selection changes the tools, the start of the prefix, and the cache is lost.\n");
}

/* The figures of one catalogue size of a --catalogue-sizes sweep. */
typedef struct sweep_row {
  size_t size;
  strat_stats st[N_STRATEGIES];
} sweep_row;

/* A --catalogue-sizes sweep: per size, all tools (the layout row) beside each tools-k row. */
static void print_sweep(const replay *rp, const sweep_row *rows, size_t nrows, const char *path,
                        const char *extra) {
  char a[48];
  printf("tokenomy replay: %s: %lld conversations, %lld model calls, %s prices, the provider's\n"
         "prompt cache modelled (calls %lld s apart), exact o200k counts; the catalogue: the\n"
         "recorded tools, then the first of %s up to each size\n\n",
         path, (long long)rp->conversations, (long long)rp->calls, rp->model,
         (long long)(rp->gap_ms / 1000), extra);
  printf("| %5s | %-44s | %8s | %11s | %8s | %16s |\n", "tools", "tools sent", "per call",
         "cost (USD)", "vs all", "called tool sent");
  printf("|------:|----------------------------------------------|---------:|------------:|"
         "---------:|-----------------:|\n");
  for (size_t r = 0; r < nrows; r++) {
    const strat_stats *all = &rows[r].st[1];
    for (size_t i = 1; i < N_STRATEGIES; i++) {
      const strat_stats *s = &rows[r].st[i];
      if (!rp->enabled[i] || (i != 1 && !tools_k(&STRATEGIES[i]))) continue;
      char vs[16] = "", sent[24];
      if (i != 1) snprintf(vs, sizeof vs, "%+.1f%%", 100.0 * (ratio(s->cost, all->cost) - 1.0));
      snprintf(sent, sizeof sent, "%.1f%% of %lld",
               100.0 * ratio(s->tool_offered, s->tool_calls), (long long)s->tool_calls);
      printf("| %5zu | %-44s | %8.0f | %11s | %8s | %16s |\n", rows[r].size,
             i == 1 ? "all tools, stable (the layout row)" : STRATEGIES[i].name,
             ratio(s->tool_tok, s->calls), cli_usd(s->cost, 4, a, sizeof a), vs, sent);
    }
  }
  printf("\n\"per call\": tool tokens sent per call.  \"called tool sent\": of the calls whose\n"
         "recorded answer calls a tool, the share whose called tools were all among those sent\n"
         "(a miss: the model could not have called it).  The cost is the whole call's, the\n"
         "provider's cache modelled: a new selection changes the tools, the start of the\n"
         "prefix, and the cache is lost.\n");
}

static void sweep_json(cJSON *o, const sweep_row *rows, size_t nrows, const replay *rp) {
  cJSON *arr = cJSON_AddArrayToObject(o, "catalogue_sizes");
  for (size_t r = 0; arr && r < nrows; r++) {
    cJSON *e = cJSON_CreateObject();
    cJSON_AddItemToArray(arr, e);
    cJSON_AddNumberToObject(e, "tools", (double)rows[r].size);
    cJSON *st = cJSON_AddArrayToObject(e, "strategies");
    for (size_t i = 1; i < N_STRATEGIES; i++) {
      const strat_stats *s = &rows[r].st[i];
      if (!rp->enabled[i] || (i != 1 && !tools_k(&STRATEGIES[i]))) continue;
      cJSON *x = cJSON_CreateObject();
      cJSON_AddItemToArray(st, x);
      cJSON_AddStringToObject(x, "key", STRATEGIES[i].key);
      cJSON_AddNumberToObject(x, "calls", (double)s->calls);
      cJSON_AddNumberToObject(x, "input_tokens", (double)s->input);
      cJSON_AddNumberToObject(x, "cached_tokens", (double)s->cached);
      cJSON_AddNumberToObject(x, "cost", (double)s->cost);
      cJSON_AddNumberToObject(x, "tool_tokens", (double)s->tool_tok);
      cJSON_AddNumberToObject(x, "calls_calling_tools", (double)s->tool_calls);
      cJSON_AddNumberToObject(x, "calls_called_tools_sent", (double)s->tool_offered);
    }
  }
}

static cJSON *to_json(const replay *rp, const char *path) {
  cJSON *o = cJSON_CreateObject();
  char usd[48];
  cJSON_AddStringToObject(o, "input", path);
  cJSON_AddStringToObject(o, "model", rp->model);
  cJSON_AddStringToObject(o, "summary_model", rp->side_model);
  cJSON_AddStringToObject(o, "tokenizer", "o200k_base");
  cJSON_AddStringToObject(o, "cache", rp->provider == TKN_PROVIDER_ANTHROPIC ? "anthropic" : "openai");
  cJSON_AddNumberToObject(o, "gap_ms", (double)rp->gap_ms);
  cJSON_AddNumberToObject(o, "conversations", (double)rp->conversations);
  cJSON_AddNumberToObject(o, "calls", (double)rp->calls);
  cJSON_AddNumberToObject(o, "cost_without_cache", (double)rp->st[0].cost_uncached);
  cJSON_AddStringToObject(o, "cost_without_cache_usd", cli_usd(rp->st[0].cost_uncached, 12, usd, sizeof usd));
  cJSON *arr = cJSON_AddArrayToObject(o, "strategies");
  for (size_t i = 0; i < N_STRATEGIES; i++) {
    if (!rp->enabled[i]) continue;
    const strat_stats *s = &rp->st[i];
    cJSON *e = cJSON_CreateObject();
    cJSON_AddItemToArray(arr, e);
    cJSON_AddStringToObject(e, "key", STRATEGIES[i].key);
    cJSON_AddStringToObject(e, "name", row_name(rp, i));
    cJSON_AddNumberToObject(e, "budget_pct", STRATEGIES[i].budget_pct);
    cJSON_AddNumberToObject(e, "calls", (double)s->calls);
    cJSON_AddNumberToObject(e, "input_tokens", (double)s->input);
    cJSON_AddNumberToObject(e, "cached_tokens", (double)s->cached);
    cJSON_AddNumberToObject(e, "output_tokens", (double)s->output);
    cJSON_AddNumberToObject(e, "cost", (double)s->cost);
    cJSON_AddStringToObject(e, "cost_usd", cli_usd(s->cost, 12, usd, sizeof usd));
    cJSON_AddNumberToObject(e, "cost_vs_recorded", ratio(s->cost, rp->st[0].cost) - 1.0);
    cJSON_AddNumberToObject(e, "side_input_tokens", (double)s->side_input);
    cJSON_AddNumberToObject(e, "side_output_tokens", (double)s->side_output);
    cJSON_AddNumberToObject(e, "side_cost", (double)s->side_cost);
    cJSON_AddNumberToObject(e, "values_needed", (double)s->needed);
    cJSON_AddNumberToObject(e, "values_kept", (double)s->kept);
    cJSON_AddNumberToObject(e, "calls_costlier", (double)s->costlier);
    cJSON_AddNumberToObject(e, "calls_unmet", (double)s->failed);
    cJSON_AddNumberToObject(e, "calls_degraded", (double)s->degraded);
    cJSON_AddNumberToObject(e, "max_pct", STRATEGIES[i].max_pct);
    cJSON_AddBoolToObject(e, "degrade", STRATEGIES[i].apply == prune_apply ? !STRATEGIES[i].strict
                                                                         : STRATEGIES[i].max_pct);
    cJSON_AddNumberToObject(e, "conversations_costlier", (double)s->conv_costlier);
    cJSON_AddNumberToObject(e, "conversations_costlier_by", (double)s->conv_excess);
    cJSON_AddNumberToObject(e, "cleared_messages", (double)s->cleared_msgs);
    cJSON_AddNumberToObject(e, "cleared_tokens", (double)s->cleared_tok);
    cJSON_AddNumberToObject(e, "clears", (double)s->clears);
    cJSON_AddNumberToObject(e, "tool_tokens", (double)s->tool_tok);
    cJSON_AddNumberToObject(e, "calls_calling_tools", (double)s->tool_calls);
    cJSON_AddNumberToObject(e, "calls_called_tools_sent", (double)s->tool_offered);
  }
  return o;
}

static void html_escape(FILE *f, const char *s) {
  for (; *s; s++) {
    if (*s == '<') fputs("&lt;", f);
    else if (*s == '>') fputs("&gt;", f);
    else if (*s == '&') fputs("&amp;", f);
    else fputc(*s, f);
  }
}

static int write_html(const replay *rp, const char *path, const char *file) {
  FILE *f = fopen(file, "wb");
  if (!f) return -1;
  const strat_stats *rec = &rp->st[0];
  int64_t max = rec->cost_uncached;
  for (size_t i = 0; i < N_STRATEGIES; i++)
    if (rp->enabled[i] && rp->st[i].cost > max) max = rp->st[i].cost;
  char a[48];
  fputs("<!doctype html><html><head><meta charset=\"utf-8\"><title>tokenomy replay</title>"
        "<style>body{font:14px sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{padding:4px 8px;border-bottom:1px solid #ddd;text-align:right}"
        "td:first-child,th:first-child{text-align:left}.bar{height:12px;background:#4a7}"
        ".keep{height:12px;background:#47a}</style></head><body><h1>tokenomy replay</h1><p>",
        f);
  html_escape(f, path);
  fprintf(f, ": %lld conversations, %lld model calls, %s prices, the provider's prompt cache "
          "modelled for every strategy, exact o200k counts.</p><table><tr><th>strategy</th>"
          "<th>input</th><th>cached</th><th>output</th><th>cost (USD)</th><th>cost</th>"
          "<th>values kept</th><th></th><th>costlier calls</th><th>unmet budgets</th></tr>\n",
          (long long)rp->conversations, (long long)rp->calls, rp->model);
  fprintf(f, "<tr><td>as recorded, no prompt cache (reference)</td><td>%lld</td><td>0</td>"
          "<td>%lld</td><td>%s</td><td><div class=\"bar\" style=\"width:%dpx\"></div></td>"
          "<td></td><td></td><td></td><td></td></tr>\n",
          (long long)rec->input, (long long)rec->output, cli_usd(rec->cost_uncached, 4, a, sizeof a),
          (int)(200.0 * ratio(rec->cost_uncached, max)));
  for (size_t i = 0; i < N_STRATEGIES; i++) {
    if (!rp->enabled[i] || STRATEGIES[i].frontier) continue;
    const strat_stats *s = &rp->st[i];
    double kept = ratio(s->kept, s->needed);
    fputs("<tr><td>", f);
    html_escape(f, row_name(rp, i));
    fprintf(f, "</td><td>%lld</td><td>%lld</td><td>%lld</td><td>%s</td>"
            "<td><div class=\"bar\" style=\"width:%dpx\"></div></td><td>%.1f%%</td>"
            "<td><div class=\"keep\" style=\"width:%dpx\"></div></td><td>%lld</td><td>%lld</td></tr>\n",
            (long long)s->input, (long long)s->cached, (long long)s->output,
            cli_usd(s->cost, 4, a, sizeof a), (int)(200.0 * ratio(s->cost, max)), 100.0 * kept,
            (int)(100.0 * kept), (long long)(i ? s->costlier : 0), (long long)s->failed);
  }
  fputs("</table><p>values kept: of the values the model later passes as tool arguments that "
        "only earlier messages held, the share still in the input. Costlier: calls that cost "
        "more than as recorded. Unmet: calls whose budget could not be met (sent unpruned).</p>"
        "</body></html>\n", f);
  return fclose(f) ? -1 : 0;
}

/* ---- the command ---- */

#define REPLAY_EPOCH_MS 1764000000000 /* any epoch: the cache model needs only the order */


static int price_of(const tkn_prices *prices, const char *model, tkn_model_price *p) {
  *p = (tkn_model_price)TKN_MODEL_PRICE_INIT;
  return tkn_prices_lookup(prices, model, strlen(model), p);
}

/* Replay the first n records (each with the shared tools unless it brings its own). */
static int replay_records(replay *rp, const cJSON *recs, const cJSON *tools, int format, size_t n,
                          char *err, size_t errlen) {
  size_t idx = 0;
  const cJSON *rec;
  int status = 0;
  cJSON_ArrayForEach(rec, recs) {
    if (status || idx == n) break;
    cli_progress("replay", idx, n);
    tkn_conv *conv = NULL;
    rp->rec_tools = tools;
    if (load_record(rp, rec, format, idx, &conv, &rp->rec_tools) || combine_tools(rp)) {
      snprintf(err, errlen, "%s", rp->err);
      tkn_conv_free(conv);
      status = 2;
      break;
    }
    rp->format = tkn_conv_source_format(conv) == TKN_PROVIDER_ANTHROPIC ? TKN_PROVIDER_ANTHROPIC
                                                                     : TKN_PROVIDER_OPENAI;
    if (replay_conv(rp, conv)) {
      snprintf(err, errlen, "conversation %zu: %.400s", idx, rp->err);
      status = 2;
    }
    rp->conversations++;
    rp->now_ms += rp->gap_ms * 20; /* the next conversation starts later */
    tkn_conv_free(conv);
    idx++;
  }
  cli_progress("replay", n, n);
  return status;
}

/* Forget every figure and cache, for the next catalogue size of a sweep. */
static void replay_reset(replay *rp) {
  for (size_t i = 0; i < N_STRATEGIES; i++) {
    tkn_cacheplan_free(rp->st[i].plan);
    free(rp->st[i].mem);
    free(rp->st[i].chosen);
  }
  memset(rp->st, 0, sizeof rp->st);
  tkn_toolsel_free(rp->cat);
  rp->cat = NULL;
  rp->cat_of = NULL;
  cJSON_Delete(rp->combined);
  rp->combined = NULL;
  rp->combined_of = NULL;
  rp->conversations = rp->calls = rp->skipped = 0;
  rp->now_ms = REPLAY_EPOCH_MS;
}

/* The extra tools of --extra-tools: a JSON array of tool definitions, or an object holding
 * one in "tools".  NULL with err set. */
static cJSON *read_extra_tools(const char *file, const cJSON **arr, char *err, size_t errlen) {
  size_t len = 0;
  char *text = cli_read(file, &len);
  if (!text) {
    snprintf(err, errlen, "--extra-tools: cannot read %s", file);
    return NULL;
  }
  cJSON *root = cJSON_ParseWithLength(text, len);
  free(text);
  const cJSON *a = cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "tools") : root;
  const cJSON *t;
  int ok = cJSON_IsArray(a);
  if (ok) {
    cJSON_ArrayForEach(t, a) ok &= cJSON_IsObject(t) && tool_name(t) != NULL;
  }
  if (!ok) {
    snprintf(err, errlen, "--extra-tools: %s: expected a JSON array of tool definitions (each "
             "with a name), or an object holding one in \"tools\"", file);
    cJSON_Delete(root);
    return NULL;
  }
  *arr = a;
  return root;
}

int cmd_replay(int argc, char **argv) {
  const char *path = NULL, *html = NULL, *model = "gpt-4o", *side = "gpt-4o-mini", *only = NULL;
  int as_json = 0, format = TKN_PROVIDER_AUTO;
  long long pol_keep = 3, pol_at_least = 0, hz = 0;
  int pol_ledger = 0;
  const char *pol_horizon = NULL, *pol_model = NULL, *extra_file = NULL, *sizes_arg = NULL;
  long long gap = 15000, limit = -1;
  size_t sizes[64];
  size_t sizes_n = 0;
  static const cli_choice FORMATS[] = {
      {"openai", TKN_PROVIDER_OPENAI}, {"anthropic", TKN_PROVIDER_ANTHROPIC}, {NULL, 0}};
  const cli_option opts[] = {
      {"--model", CLI_STR, &model, NULL, 0, 0, NULL},
      {"--summary-model", CLI_STR, &side, NULL, 0, 0, NULL},
      {"--format", CLI_CHOICE, &format, "openai or anthropic", 0, 0, FORMATS},
      {"--gap-ms", CLI_INT, &gap, "a number >= 0", 0, LLONG_MAX, NULL},
      {"--limit", CLI_INT, &limit, "a number >= 0", 0, LLONG_MAX, NULL},
      {"--strategies", CLI_STR, &only, NULL, 0, 0, NULL},
      {"--policy-keep", CLI_INT, &pol_keep, "a number >= 0", 0, 1000000, NULL},
      {"--policy-at-least", CLI_INT, &pol_at_least, "a number >= 0", 0, LLONG_MAX, NULL},
      {"--policy-horizon", CLI_STR, &pol_horizon, NULL, 0, 0, NULL},
      {"--policy-prices", CLI_STR, &pol_model, NULL, 0, 0, NULL},
      {"--extra-tools", CLI_STR, &extra_file, NULL, 0, 0, NULL},
      {"--catalogue-sizes", CLI_STR, &sizes_arg, NULL, 0, 0, NULL},
      {"--policy-ledger", CLI_FLAG, &pol_ledger, NULL, 0, 0, NULL},
      {"--html", CLI_STR, &html, NULL, 0, 0, NULL},
      {"--json", CLI_FLAG, &as_json, NULL, 0, 0, NULL},
      CLI_OPT_END};
  int nfiles = 0;
  const cli_command c = {"replay", HELP, opts, 1, NULL, &path, 1, &nfiles,
                         "one input file only (got '%s' and '%s')"};
  int parsed = cli_parse(&c, argc, argv);
  if (parsed >= 0) return parsed;
  if (pol_horizon && strcmp(pol_horizon, "growth") != 0) {
    char *end = NULL;
    hz = strtoll(pol_horizon, &end, 10);
    if (!*pol_horizon || *end || hz < 0 || hz > (long long)UINT32_MAX - 1)
      return cli_fail("replay", "--policy-horizon: expected a count or 'growth', got '%s'",
                      pol_horizon), 1;
  }
  if (sizes_arg && !extra_file)
    return cli_fail("replay", "--catalogue-sizes needs --extra-tools FILE"), 1;
  for (const char *p = sizes_arg; p && *p;) {
    char *end = NULL;
    long long v = (*p >= '0' && *p <= '9') ? strtoll(p, &end, 10) : -1;
    if (v < 1 || v > TKN_TOOLSEL_MAX_TOOLS || (*end && *end != ',') ||
        sizes_n == sizeof sizes / sizeof sizes[0])
      return cli_fail("replay", "--catalogue-sizes: expected up to 64 tool counts (1-%d) "
                      "separated by commas, got '%s'", TKN_TOOLSEL_MAX_TOOLS, sizes_arg), 1;
    sizes[sizes_n++] = (size_t)v;
    p = *end ? end + 1 : end;
  }
  if (sizes_arg && !sizes_n)
    return cli_fail("replay", "--catalogue-sizes: expected tool counts, got ''"), 1;
  replay *rp = calloc(1, sizeof *rp);
  if (!rp) return cli_fail("replay", "out of memory");
  rp->pol_keep = (uint32_t)pol_keep;
  rp->pol_ledger = pol_ledger;
  rp->pol_at_least = pol_at_least;
  rp->pol_horizon = pol_horizon && !strcmp(pol_horizon, "growth") ? TKN_PRUNE_HORIZON_GROWTH
                                                                  : (uint32_t)hz;
  if (pol_keep != 3 || pol_at_least || pol_horizon || pol_model || pol_ledger)
    snprintf(rp->pol_name, 45, "policy: keep %lld, >= %lld, h %.6s%s%s%s", pol_keep,
             pol_at_least, pol_horizon ? pol_horizon : "0", pol_ledger ? ", ledger" : "",
             pol_model ? ", " : "", pol_model ? pol_model : "");
  rp->gap_ms = gap;
  rp->now_ms = REPLAY_EPOCH_MS;
  snprintf(rp->model, sizeof rp->model, "%s", model);
  snprintf(rp->side_model, sizeof rp->side_model, "%s", side);
  rp->enabled[0] = 1;
  for (size_t i = 1; i < N_STRATEGIES; i++) rp->enabled[i] = only == NULL;
  for (const char *p = only; p && *p;) {
    size_t l = strcspn(p, ",");
    size_t i = 0;
    while (i < N_STRATEGIES && (strlen(STRATEGIES[i].key) != l || strncmp(STRATEGIES[i].key, p, l) != 0))
      i++;
    if (i == N_STRATEGIES) {
      free(rp);
      return cli_fail("replay", "--strategies: unknown strategy '%.*s' (see --help)", (int)l, p), 1;
    }
    rp->enabled[i] = 1;
    p += l + (p[l] == ',');
  }
  tkn_prices *prices = NULL;
  tkn_tokenizer *tok = NULL;
  cJSON *root = NULL, *recs = NULL, *extra_root = NULL;
  const cJSON *tools = NULL;
  char err[512] = "";
  int status = 0;
  if (extra_file && !(extra_root = read_extra_tools(extra_file, &rp->extra, err, sizeof err)))
    status = 2;
  if (sizes_n) rp->enabled[1] = 1; /* the sweep compares with all tools: the layout row */
  if (tkn_prices_new_default(&prices) || price_of(prices, model, &rp->price) ||
      price_of(prices, side, &rp->side_price)) {
    snprintf(err, sizeof err, "no price for model '%s' or '%s' in the built-in table",
             model, side);
    status = 2;
  } else if (!(rp->price.has & TKN_PRICE_INPUT) || rp->price.input_per_mtok <= 0) {
    snprintf(err, sizeof err, "model '%s' has no input price", model);
    status = 2;
  } else if (pol_model && (price_of(prices, pol_model, &rp->pol_price) ||
                           !(rp->pol_price.has & TKN_PRICE_INPUT) ||
                           rp->pol_price.input_per_mtok <= 0)) {
    snprintf(err, sizeof err, "--policy-prices: no input price for model '%s'", pol_model);
    status = 2;
  } else if (!pol_model) {
    rp->pol_price = rp->price;
  }
  if (!status) {
    rp->provider = rp->price.provider && !strncmp(rp->price.provider, "anthropic", 9)
                       ? TKN_PROVIDER_ANTHROPIC
                       : TKN_PROVIDER_OPENAI;
    char e[256] = "";
    /* every model is counted with o200k_base: the replay's figures are comparable */
    if (sim_keep_err(tkn_tokenizer_new_encoding(&tok, "o200k_base", 10), e, sizeof e) ||
        tkn_prune_new(&rp->pruner, tok)) {
      snprintf(err, sizeof err, "tokenizer: %s", e[0] ? e : "cannot make it");
      status = 2;
    }
    rp->tok = tok;
  }
  if (!status && !(recs = read_records(path ? path : "-", &tools, &root, err, sizeof err)))
    status = 2;
  size_t n = recs ? (size_t)cJSON_GetArraySize(recs) : 0;
  if (!status && n == 0) {
    snprintf(err, sizeof err, "%s: no conversations", path ? path : "standard input");
    status = 2;
  }
  if (limit >= 0 && (size_t)limit < n) n = (size_t)limit;
  size_t nsizes = sizes_n ? sizes_n : 1;
  sweep_row *rows = sizes_n ? calloc(sizes_n, sizeof *rows) : NULL;
  if (sizes_n && !rows && !status) {
    snprintf(err, sizeof err, "out of memory");
    status = 2;
  }
  for (size_t si = 0; !status && si < nsizes; si++) {
    if (sizes_n) {
      if (si) replay_reset(rp);
      rp->size = sizes[si];
    }
    status = replay_records(rp, recs, tools, format, n, err, sizeof err);
    if (!status && sizes_n) {
      rows[si].size = sizes[si];
      memcpy(rows[si].st, rp->st, sizeof rp->st);
      for (size_t i = 0; i < N_STRATEGIES; i++) { /* the figures only */
        rows[si].st[i].plan = NULL;
        rows[si].st[i].mem = rows[si].st[i].chosen = NULL;
      }
    }
  }
  if (!status && rp->calls == 0) {
    snprintf(err, sizeof err, "%s: no assistant messages (model calls) to replay",
             path ? path : "standard input");
    status = 2;
  }
  if (status) {
    cli_fail("replay", "%s", err);
  } else {
    if (as_json) {
      cJSON *o = to_json(rp, path ? path : "-");
      if (o && sizes_n) sweep_json(o, rows, sizes_n, rp);
      char *js = o ? cJSON_Print(o) : NULL;
      puts(js ? js : "{}");
      free(js);
      cJSON_Delete(o);
    } else if (sizes_n) {
      print_sweep(rp, rows, sizes_n, path ? path : "standard input", extra_file);
    } else {
      print_table(rp, path ? path : "standard input");
    }
    if (html && write_html(rp, path ? path : "standard input", html)) {
      cli_fail("replay", "cannot write %s", html);
      status = 2;
    }
  }
  for (size_t i = 0; i < N_STRATEGIES; i++) {
    tkn_cacheplan_free(rp->st[i].plan);
    free(rp->st[i].mem);
    free(rp->st[i].chosen);
  }
  tkn_toolsel_free(rp->cat);
  free(rp->sel);
  cJSON_Delete(rp->combined);
  cJSON_Delete(extra_root);
  free(rows);
  tkn_prune_free(rp->pruner);
  free(rp->recorded_cost);
  free(rp);
  cJSON_Delete(recs);
  cJSON_Delete(root);
  tkn_tokenizer_free(tok);
  tkn_prices_free(prices);
  return status;
}
