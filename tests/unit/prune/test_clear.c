/* Mask, clear and the cache-economics policy (prune.h): which results go,
 * what stays (recent uses, excluded tools, cleared ones), arguments and
 * thinking blocks, the trigger and clear_at_least, the policy's decision at
 * given prices, its degradation under a budget, the report and bad options. */
#include "test_util.h"

#include "prune/prune_internal.h"

/* One token per whitespace-separated word. */
static int count_words(const char *text, size_t len, int64_t *out, void *user) {
  (void)user;
  int64_t n = 0;
  int in = 0;
  for (size_t i = 0; i < len; i++) {
    int sp = text[i] == ' ' || text[i] == '\n' || text[i] == '\t';
    if (!sp && !in) n++;
    in = !sp;
  }
  *out = n;
  return 0;
}

static tkn_tokenizer *g_tok;
static tkn_pruner *g_pr;

static int setup(void **state) {
  (void)state;
  tkn_tokenizer_callbacks cb = TKN_TOKENIZER_CALLBACKS_INIT;
  cb.count = count_words;
  if (tkn_tokenizer_new_callback(&g_tok, &cb, NULL)) return -1;
  return tkn_prune_new(&g_pr, g_tok);
}

static int teardown(void **state) {
  (void)state;
  tkn_prune_free(g_pr);
  tkn_tokenizer_free(g_tok);
  return 0;
}

/* A conversation of `uses` tool uses, one per turn: user "q<i>", assistant
 * calling tool "t<i%3>" (i % 3 == 2: "lookup") with {"k":"v<i>"}, the result
 * "r<i>" + `words` words, then an answer.  The last turn has no answer. */
static tkn_conv *uses_conv(int uses, int words) {
  static char buf[65536];
  size_t w = 0;
  w += (size_t)snprintf(buf + w, sizeof buf - w, "[{\"role\":\"system\",\"content\":\"S s s s\"}");
  for (int i = 0; i < uses; i++) {
    const char *tool = i % 3 == 2 ? "lookup" : i % 3 ? "t1" : "t0";
    w += (size_t)snprintf(buf + w, sizeof buf - w,
                          ",{\"role\":\"user\",\"content\":\"q%d\"},"
                          "{\"role\":\"assistant\",\"content\":null,"
                          "\"tool_calls\":[{\"id\":\"c%d\","
                          "\"type\":\"function\",\"function\":{\"name\":\"%s\",\"arguments\":"
                          "\"{\\\"k\\\": \\\"v%d\\\"}\"}}]},"
                          "{\"role\":\"tool\",\"tool_call_id\":\"c%d\",\"content\":\"r%d",
                          i, i, tool, i, i, i);
    for (int k = 0; k < words; k++) w += (size_t)snprintf(buf + w, sizeof buf - w, " w");
    w += (size_t)snprintf(buf + w, sizeof buf - w, "\"}");
    if (i + 1 < uses)
      w += (size_t)snprintf(buf + w, sizeof buf - w,
                            ",{\"role\":\"assistant\",\"content\":\"a%d\"}", i);
  }
  w += (size_t)snprintf(buf + w, sizeof buf - w, "]");
  tkn_conv *c = NULL;
  assert_int_equal(tkn_conv_from_json(&c, TKN_PROVIDER_OPENAI, buf, w), TKN_OK);
  return c;
}

static tkn_prune_options opts_of(int mode) {
  tkn_prune_options o = TKN_PRUNE_OPTIONS_INIT;
  o.mode = mode;
  o.count.per_message = 0;
  o.count.per_name = 0;
  o.count.reply_priming = 0;
  o.count.per_tool_call = 0;
  return o;
}

/* The index of the result of use i in uses_conv. */
static size_t result_of(int i) { return (size_t)(1 + 4 * i + 2); }

static int is_placeholder(tkn_conv *c, size_t i) {
  const char *t;
  size_t len;
  assert_int_equal(tkn_conv_text(c, i, &t, &len), TKN_OK);
  return len == strlen(TKN_PRUNE_PLACEHOLDER) && !memcmp(t, TKN_PRUNE_PLACEHOLDER, len);
}

static int64_t tokens(tkn_conv *c, const tkn_prune_options *o) {
  int64_t t = 0;
  assert_int_equal(tkn_tokenizer_count_conv(g_tok, c, &o->count, &t, NULL), TKN_OK);
  return t;
}

static void mask_keeps_last_uses(void **state) {
  (void)state;
  tkn_conv *c = uses_conv(5, 20);
  tkn_prune_options o = opts_of(TKN_PRUNE_MASK);
  o.keep_tool_uses = 2;
  int64_t before = tokens(c, &o);
  size_t n = tkn_conv_count(c);
  tkn_prune_report *rep = NULL;
  assert_int_equal(tkn_prune_run(g_pr, c, &o, &rep), TKN_OK);
  assert_int_equal(tkn_conv_count(c), n);
  /* uses 0 and 1 cleared, 2 is "lookup" (not excluded here): cleared; 3, 4 kept */
  for (int i = 0; i < 5; i++) assert_int_equal(is_placeholder(c, result_of(i)), i < 3);
  const char *id;
  size_t il;
  assert_int_equal(tkn_conv_tool_call_id(c, result_of(0), &id, &il), TKN_OK);
  assert_memory_equal(id, "c0", 2);
  int32_t action, why;
  assert_int_equal(tkn_prune_report_message(rep, result_of(0), &action, &why, NULL), TKN_OK);
  assert_int_equal(action, TKN_PRUNE_CLEARED);
  assert_int_equal(why, TKN_PRUNE_WHY_OLD_TOOL);
  assert_int_equal(tkn_prune_report_message(rep, result_of(4), &action, &why, NULL), TKN_OK);
  assert_int_equal(action, TKN_PRUNE_KEPT);
  assert_int_equal(why, TKN_PRUNE_WHY_RECENT_TOOL);
  size_t msgs = 0;
  int64_t cleared = 0, b = 0, a = 0;
  assert_int_equal(tkn_prune_report_cleared(rep, &msgs, &cleared), TKN_OK);
  assert_int_equal(tkn_prune_report_tokens(rep, &b, &a), TKN_OK);
  assert_int_equal(msgs, 3);
  assert_int_equal(b, before);
  assert_int_equal(a, tokens(c, &o));
  /* each result: "tool" + r<i> + 20 words = 22 -> "tool" + 4 placeholder words = 5 */
  assert_int_equal(cleared, 3 * (22 - 5));
  assert_int_equal(b - a, cleared);
  const size_t *dropped;
  size_t nd;
  assert_int_equal(tkn_prune_report_dropped(rep, &dropped, &nd), TKN_OK);
  assert_int_equal(nd, 0);
  tkn_prune_report_free(rep);
  /* again: nothing more to clear, the conversation as it was */
  char *j1 = NULL, *j2 = NULL;
  assert_int_equal(tkn_conv_to_json(c, TKN_PROVIDER_OPENAI, &j1, NULL), TKN_OK);
  assert_int_equal(tkn_prune_run(g_pr, c, &o, &rep), TKN_OK);
  assert_int_equal(tkn_conv_to_json(c, TKN_PROVIDER_OPENAI, &j2, NULL), TKN_OK);
  assert_string_equal(j1, j2);
  assert_int_equal(tkn_prune_report_message(rep, result_of(0), &action, &why, NULL), TKN_OK);
  assert_int_equal(action, TKN_PRUNE_KEPT);
  assert_int_equal(why, TKN_PRUNE_WHY_CLEARED_BEFORE);
  assert_int_equal(tkn_prune_report_cleared(rep, &msgs, &cleared), TKN_OK);
  assert_int_equal(msgs, 0);
  assert_int_equal(cleared, 0);
  tkn_free(j1);
  tkn_free(j2);
  tkn_prune_report_free(rep);
  tkn_conv_free(c);
}

static void mask_excludes_and_inputs(void **state) {
  (void)state;
  tkn_conv *c = uses_conv(6, 10);
  tkn_prune_options o = opts_of(TKN_PRUNE_MASK);
  const char *const ex[] = {"lookup"};
  o.keep_tool_uses = 1;
  o.exclude_tools = ex;
  o.exclude_tools_count = 1;
  o.clear_inputs = 1;
  o.placeholder = "[gone]";
  o.placeholder_len = TKN_NUL_TERMINATED;
  tkn_prune_report *rep = NULL;
  assert_int_equal(tkn_prune_run(g_pr, c, &o, &rep), TKN_OK);
  for (int i = 0; i < 6; i++) {
    const char *t;
    size_t len;
    assert_int_equal(tkn_conv_text(c, result_of(i), &t, &len), TKN_OK);
    int cleared = i < 5 && i % 3 != 2;
    assert_int_equal(len == 6 && !memcmp(t, "[gone]", 6), cleared);
    const char *cid, *fn, *args;
    size_t cl, fl, al;
    assert_int_equal(tkn_conv_tool_call(c, result_of(i) - 1, 0, &cid, &cl, &fn, &fl, &args, &al),
                     TKN_OK);
    assert_int_equal(al == 2 && !memcmp(args, "{}", 2), cleared);
  }
  int32_t action, why;
  assert_int_equal(tkn_prune_report_message(rep, result_of(2), &action, &why, NULL), TKN_OK);
  assert_int_equal(action, TKN_PRUNE_KEPT);
  assert_int_equal(why, TKN_PRUNE_WHY_EXCLUDED);
  assert_int_equal(tkn_prune_report_message(rep, result_of(0) - 1, &action, &why, NULL), TKN_OK);
  assert_int_equal(action, TKN_PRUNE_CLEARED);
  assert_int_equal(why, TKN_PRUNE_WHY_OLD_TOOL);
  int64_t b = 0, a = 0, cleared = 0;
  assert_int_equal(tkn_prune_report_tokens(rep, &b, &a), TKN_OK);
  assert_int_equal(tkn_prune_report_cleared(rep, NULL, &cleared), TKN_OK);
  assert_int_equal(b - a, cleared);
  tkn_prune_report_free(rep);
  tkn_conv_free(c);
}

static void clear_trigger_and_at_least(void **state) {
  (void)state;
  tkn_prune_options o = opts_of(TKN_PRUNE_CLEAR);
  o.keep_tool_uses = 1;
  tkn_conv *c = uses_conv(4, 10);
  int64_t total = tokens(c, &o);
  o.clear_trigger = total; /* not above it: nothing */
  tkn_prune_report *rep = NULL;
  assert_int_equal(tkn_prune_run(g_pr, c, &o, &rep), TKN_OK);
  assert_int_equal(is_placeholder(c, result_of(0)), 0);
  int32_t action, why;
  assert_int_equal(tkn_prune_report_message(rep, result_of(0), &action, &why, NULL), TKN_OK);
  assert_int_equal(why, TKN_PRUNE_WHY_NOT_WORTH);
  tkn_prune_report_free(rep);
  /* above the trigger, but less to shed than clear_at_least: nothing */
  o.clear_trigger = total - 1;
  o.clear_at_least = 3 * (12 - 5) + 1;
  assert_int_equal(tkn_prune_run(g_pr, c, &o, NULL), TKN_OK);
  assert_int_equal(is_placeholder(c, result_of(0)), 0);
  /* exactly clear_at_least: the three old results go */
  o.clear_at_least = 3 * (12 - 5);
  assert_int_equal(tkn_prune_run(g_pr, c, &o, &rep), TKN_OK);
  for (int i = 0; i < 4; i++) assert_int_equal(is_placeholder(c, result_of(i)), i < 3);
  int64_t cleared = 0;
  assert_int_equal(tkn_prune_report_cleared(rep, NULL, &cleared), TKN_OK);
  assert_int_equal(cleared, o.clear_at_least);
  tkn_prune_report_free(rep);
  tkn_conv_free(c);
}

/* gpt-4o's prices (picodollars per million tokens): input 2.50, cached 1.25 USD */
static void set_openai_prices(tkn_prune_options *o) {
  o->price_input_per_mtok = 2500000000000;
  o->price_cache_read_per_mtok = 1250000000000;
}

static void policy_decides_by_prices(void **state) {
  (void)state;
  /* few small old results behind a long prefix: clearing breaks more than it saves */
  tkn_prune_options o = opts_of(TKN_PRUNE_POLICY);
  set_openai_prices(&o);
  o.keep_tool_uses = 3;
  o.horizon_calls = 1;
  tkn_conv *c = uses_conv(4, 10);
  tkn_prune_report *rep = NULL;
  assert_int_equal(tkn_prune_run(g_pr, c, &o, &rep), TKN_OK);
  int32_t d = -1;
  int64_t saving = 0, cost = 0;
  assert_int_equal(tkn_prune_report_decision(rep, &d, &saving, &cost), TKN_OK);
  assert_int_equal(d, TKN_PRUNE_DECISION_KEEP);
  assert_true(saving < cost);
  assert_int_equal(is_placeholder(c, result_of(0)), 0);
  int32_t action, why;
  assert_int_equal(tkn_prune_report_message(rep, result_of(0), &action, &why, NULL), TKN_OK);
  assert_int_equal(why, TKN_PRUNE_WHY_NOT_WORTH);
  tkn_prune_report_free(rep);
  /* the same conversation without a cache discount: clearing always pays */
  o.price_cache_read_per_mtok = 0;
  assert_int_equal(tkn_prune_run(g_pr, c, &o, &rep), TKN_OK);
  assert_int_equal(tkn_prune_report_decision(rep, &d, &saving, &cost), TKN_OK);
  assert_int_equal(d, TKN_PRUNE_DECISION_CLEAR);
  assert_true(saving > cost);
  assert_int_equal(is_placeholder(c, result_of(0)), 1);
  tkn_prune_report_free(rep);
  tkn_conv_free(c);
  /* the horizon from the conversation's growth (7 calls so far): it pays */
  o.price_cache_read_per_mtok = 1250000000000;
  o.horizon_calls = TKN_PRUNE_HORIZON_GROWTH;
  o.cache_block_tokens = 0;
  c = uses_conv(4, 10);
  assert_int_equal(tkn_prune_run(g_pr, c, &o, &rep), TKN_OK);
  assert_int_equal(tkn_prune_report_decision(rep, &d, &saving, &cost), TKN_OK);
  assert_int_equal(d, TKN_PRUNE_DECISION_CLEAR);
  /* 7 coming calls x 7 tokens x 1.25 USD/Mtok against the 52-token rest
   * written again: 52 x 2.50 - 59 x 1.25 USD/Mtok */
  assert_int_equal(saving, 7 * 7 * 1250000);
  assert_int_equal(cost, 52 * 2500000 - 59 * 1250000);
  tkn_prune_report_free(rep);
  tkn_conv_free(c);
  /* a clear that pays only if one more call comes: made with horizon 1, not
   * by default (this call may be the conversation's last).  The two old
   * results shed 74 tokens; the 200 tokens from the first on are written
   * again: (200 - 74) x 2.50 - 200 x 1.25 USD/Mtok now, 74 x 1.25 saved at
   * the next call */
  o.horizon_calls = 1;
  c = uses_conv(5, 40);
  assert_int_equal(tkn_prune_run(g_pr, c, &o, &rep), TKN_OK);
  assert_int_equal(tkn_prune_report_decision(rep, &d, &saving, &cost), TKN_OK);
  assert_int_equal(d, TKN_PRUNE_DECISION_CLEAR);
  assert_int_equal(saving, 74 * 1250000);
  assert_int_equal(cost, 126 * 2500000 - 200 * 1250000);
  tkn_prune_report_free(rep);
  tkn_conv_free(c);
  o.horizon_calls = 0;
  c = uses_conv(5, 40);
  assert_int_equal(tkn_prune_run(g_pr, c, &o, &rep), TKN_OK);
  assert_int_equal(tkn_prune_report_decision(rep, &d, &saving, &cost), TKN_OK);
  assert_int_equal(d, TKN_PRUNE_DECISION_KEEP);
  assert_int_equal(saving, 0);
  assert_int_equal(cost, 126 * 2500000 - 200 * 1250000);
  assert_int_equal(is_placeholder(c, result_of(0)), 0);
  tkn_prune_report_free(rep);
  tkn_conv_free(c);
  /* a small clear behind a cache block: a later call's rounding could take
   * back more than it saves (74 x 1.25 < 127 x 1.25), so not even with a
   * long horizon */
  o.horizon_calls = 100;
  o.cache_block_tokens = 128;
  c = uses_conv(5, 40);
  assert_int_equal(tkn_prune_run(g_pr, c, &o, &rep), TKN_OK);
  assert_int_equal(tkn_prune_report_decision(rep, &d, &saving, &cost), TKN_OK);
  assert_int_equal(d, TKN_PRUNE_DECISION_KEEP);
  assert_true(saving > cost);
  tkn_prune_report_free(rep);
  tkn_conv_free(c);
  /* the default: a clear must pay at once; large old results do, even at a
   * 50% cache discount and with a cache block lost */
  o.horizon_calls = 0;
  o.cache_block_tokens = 128;
  c = uses_conv(8, 200);
  assert_int_equal(tkn_prune_run(g_pr, c, &o, &rep), TKN_OK);
  assert_int_equal(tkn_prune_report_decision(rep, &d, &saving, &cost), TKN_OK);
  assert_int_equal(d, TKN_PRUNE_DECISION_CLEAR);
  for (int i = 0; i < 8; i++) assert_int_equal(is_placeholder(c, result_of(i)), i < 5);
  tkn_prune_report_free(rep);
  /* the next call: nothing new left the window, the history only grows */
  char *j1 = NULL, *j2 = NULL;
  assert_int_equal(tkn_conv_append_text(c, TKN_ROLE_ASSISTANT, "a", 1), TKN_OK);
  assert_int_equal(tkn_conv_append_text(c, TKN_ROLE_USER, "q", 1), TKN_OK);
  assert_int_equal(tkn_conv_to_json(c, TKN_PROVIDER_OPENAI, &j1, NULL), TKN_OK);
  assert_int_equal(tkn_prune_run(g_pr, c, &o, &rep), TKN_OK);
  assert_int_equal(tkn_prune_report_decision(rep, &d, NULL, NULL), TKN_OK);
  assert_int_equal(d, TKN_PRUNE_DECISION_NONE);
  assert_int_equal(tkn_conv_to_json(c, TKN_PROVIDER_OPENAI, &j2, NULL), TKN_OK);
  assert_string_equal(j1, j2);
  tkn_free(j1);
  tkn_free(j2);
  tkn_prune_report_free(rep);
  tkn_conv_free(c);
}

/* What a degraded run must leave: a message beside the system prompt, every
 * tool result after its call and every call with its result. */
static void assert_sendable(tkn_conv *c) {
  size_t n = tkn_conv_count(c), others = 0;
  for (size_t i = 0; i < n; i++) {
    int role = tkn_conv_role(c, i);
    others += role != TKN_ROLE_SYSTEM && role != TKN_ROLE_DEVELOPER;
    if (role == TKN_ROLE_TOOL) {
      const char *id = NULL;
      size_t len = 0, at = n;
      assert_int_equal(tkn_conv_tool_call_id(c, i, &id, &len), TKN_OK);
      assert_non_null(id);
      assert_int_equal(tkn_conv_find_tool_call(c, id, len, &at), TKN_OK);
      assert_true(at < i);
    }
    for (size_t j = 0; j < tkn_conv_tool_call_count(c, i); j++) {
      const char *id = NULL;
      size_t len = 0, k = i + 1;
      assert_int_equal(tkn_conv_tool_call(c, i, j, &id, &len, NULL, NULL, NULL, NULL), TKN_OK);
      for (; k < n; k++) {
        const char *rid = NULL;
        size_t rl = 0;
        if (tkn_conv_role(c, k) == TKN_ROLE_TOOL &&
            tkn_conv_tool_call_id(c, k, &rid, &rl) == TKN_OK && rl == len &&
            !memcmp(rid, id, len))
          break;
      }
      assert_true(k < n);
    }
  }
  assert_true(others > 0);
}

static void policy_degrades_under_budget(void **state) {
  (void)state;
  tkn_prune_options o = opts_of(TKN_PRUNE_POLICY);
  set_openai_prices(&o);
  o.keep_tool_uses = 3;
  o.horizon_calls = 1;
  tkn_conv *c = uses_conv(4, 6); /* each result sheds 3 tokens */
  int64_t total = tokens(c, &o);
  assert_int_equal(total, 71);
  /* one token under: the old result goes though it does not pay */
  o.max_tokens = total - 1;
  tkn_prune_report *rep = NULL;
  assert_int_equal(tkn_prune_run(g_pr, c, &o, &rep), TKN_OK);
  int32_t d = -1;
  assert_int_equal(tkn_prune_report_decision(rep, &d, NULL, NULL), TKN_OK);
  assert_int_equal(d, TKN_PRUNE_DECISION_BUDGET);
  assert_true(tokens(c, &o) <= o.max_tokens);
  assert_int_equal(is_placeholder(c, result_of(0)), 1);
  assert_int_equal(is_placeholder(c, result_of(1)), 0);
  tkn_prune_report_free(rep);
  tkn_conv_free(c);
  /* tighter: the recent results go too, oldest first */
  c = uses_conv(4, 6);
  o.max_tokens = total - 4; /* one more than the old result sheds */
  assert_int_equal(tkn_prune_run(g_pr, c, &o, &rep), TKN_OK);
  assert_int_equal(tkn_prune_report_decision(rep, &d, NULL, NULL), TKN_OK);
  assert_int_equal(d, TKN_PRUNE_DECISION_DEGRADED);
  assert_true(tokens(c, &o) <= o.max_tokens);
  assert_int_equal(is_placeholder(c, result_of(1)), 1);
  assert_int_equal(is_placeholder(c, result_of(3)), 0);
  int32_t action, why;
  assert_int_equal(tkn_prune_report_message(rep, result_of(1), &action, &why, NULL), TKN_OK);
  assert_int_equal(action, TKN_PRUNE_CLEARED);
  assert_int_equal(why, TKN_PRUNE_WHY_RECENT_TOOL);
  tkn_prune_report_free(rep);
  tkn_conv_free(c);
  /* tighter still: whole turns are dropped, the last kept */
  c = uses_conv(4, 6);
  o.max_tokens = 20;
  assert_int_equal(tkn_prune_run(g_pr, c, &o, &rep), TKN_OK);
  assert_true(tokens(c, &o) <= 20);
  assert_int_equal(tkn_conv_role(c, 0), TKN_ROLE_SYSTEM);
  assert_true(tkn_conv_count(c) > 1);
  assert_int_equal(tkn_conv_role(c, 1), TKN_ROLE_USER);
  const size_t *dropped;
  size_t nd;
  assert_int_equal(tkn_prune_report_dropped(rep, &dropped, &nd), TKN_OK);
  assert_true(nd > 0);
  assert_int_equal(dropped[0], 1);
  tkn_prune_report_free(rep);
  tkn_conv_free(c);
  /* nothing fits: never nothing, the system prompt and the last turn */
  c = uses_conv(4, 6);
  o.max_tokens = 1;
  assert_int_equal(tkn_prune_run(g_pr, c, &o, &rep), TKN_OK);
  assert_int_equal(tkn_conv_count(c), 4);
  assert_int_equal(tkn_conv_role(c, 1), TKN_ROLE_USER);
  assert_int_equal(tkn_conv_role(c, 3), TKN_ROLE_TOOL);
  assert_true(strstr(tkn_prune_report_note(rep), "over the budget") != NULL);
  tkn_prune_report_free(rep);
  tkn_conv_free(c);
  /* every budget: never nothing, tool pairs whole, within the budget unless
   * the note says the last turn is sent over it */
  for (int64_t max = 0; max <= total + 1; max++) {
    c = uses_conv(4, 6);
    o.max_tokens = max;
    assert_int_equal(tkn_prune_run(g_pr, c, &o, &rep), TKN_OK);
    assert_sendable(c);
    int over = strstr(tkn_prune_report_note(rep), "over the budget") != NULL;
    assert_true(max == 0 || over == (tokens(c, &o) > max));
    tkn_prune_report_free(rep);
    tkn_conv_free(c);
  }
}

/* TRIM, SCORE, SUMMARISE with degrade 1 (the default): the results inside
 * what must be kept are cleared, oldest first, as few as fit; then turns go. */
static int summarise_short(tkn_conv *conv, const size_t *dropped, size_t n, int64_t max_tokens,
                           const char **text, size_t *len, void *user) {
  (void)conv, (void)dropped, (void)n, (void)max_tokens, (void)user;
  *text = "sum";
  *len = 3;
  return 0;
}

static void degrade_clears_inside_the_kept_turns(void **state) {
  (void)state;
  tkn_prune_options o = opts_of(TKN_PRUNE_SCORE);
  o.keep_last_turns = 2;
  o.degrade = 0;
  tkn_conv *c = uses_conv(4, 6); /* each result sheds 3 tokens */
  int64_t total = tokens(c, &o), need = 0;
  for (int64_t max = 1; max <= total && !need; max++) {
    tkn_conv *t = uses_conv(4, 6);
    o.max_tokens = max;
    if (tkn_prune_run(g_pr, t, &o, NULL) == TKN_OK) need = max;
    tkn_conv_free(t);
  }
  assert_true(need > 3);
  /* 3 short: the result of use 2 (the older kept turn) is cleared, not use 3's */
  o.max_tokens = need - 3;
  assert_int_equal(tkn_prune_run(g_pr, c, &o, NULL), TKN_ERR_BUDGET);
  o.degrade = 1;
  tkn_prune_report *rep = NULL;
  assert_int_equal(tkn_prune_run(g_pr, c, &o, &rep), TKN_OK);
  assert_true(tokens(c, &o) <= o.max_tokens);
  assert_sendable(c);
  int32_t d = -1, action = -1, why = -1;
  assert_int_equal(tkn_prune_report_decision(rep, &d, NULL, NULL), TKN_OK);
  assert_int_equal(d, TKN_PRUNE_DECISION_DEGRADED);
  assert_int_equal(tkn_prune_report_message(rep, result_of(2), &action, &why, NULL), TKN_OK);
  assert_int_equal(action, TKN_PRUNE_CLEARED);
  assert_int_equal(why, TKN_PRUNE_WHY_BUDGET);
  assert_int_equal(tkn_prune_report_message(rep, result_of(3), &action, NULL, NULL), TKN_OK);
  assert_int_equal(action, TKN_PRUNE_KEPT);
  size_t nc = 0;
  int64_t ct = 0, before = 0, after = 0;
  assert_int_equal(tkn_prune_report_cleared(rep, &nc, &ct), TKN_OK);
  assert_int_equal(nc, 1);
  assert_int_equal(ct, 3);
  assert_int_equal(tkn_prune_report_tokens(rep, &before, &after), TKN_OK);
  assert_int_equal(before, total);
  assert_int_equal(after, tokens(c, &o));
  assert_non_null(strstr(tkn_prune_report_note(rep), "cleared 3 of 4 tool results"));
  tkn_prune_report_free(rep);
  tkn_conv_free(c);
  /* every budget, every mode: never nothing, tool pairs whole, within the
   * budget unless the note says the last turn went over it; a failure with
   * degrade 0 is a run that degrades with degrade 1 */
  const int32_t modes[] = {TKN_PRUNE_TRIM, TKN_PRUNE_SCORE, TKN_PRUNE_SUMMARISE};
  for (size_t m = 0; m < 3; m++)
    for (int64_t max = 0; max <= total + 1; max++) {
      o = opts_of(modes[m]);
      o.keep_last_turns = 2;
      o.include_system = 1;
      o.start_on = TKN_PRUNE_ROLE(TKN_ROLE_USER);
      o.summarise = summarise_short;
      o.max_tokens = max;
      o.degrade = 0;
      c = uses_conv(4, 6);
      int strict = tkn_prune_run(g_pr, c, &o, NULL);
      int none = tkn_conv_count(c) <= 1;
      tkn_conv_free(c);
      c = uses_conv(4, 6);
      o.degrade = 1;
      assert_int_equal(tkn_prune_run(g_pr, c, &o, &rep), TKN_OK);
      assert_sendable(c);
      assert_int_equal(tkn_prune_report_decision(rep, &d, NULL, NULL), TKN_OK);
      assert_int_equal(d == TKN_PRUNE_DECISION_DEGRADED, strict == TKN_ERR_BUDGET || none);
      int over = strstr(tkn_prune_report_note(rep), "over the budget") != NULL;
      assert_int_equal(over, tokens(c, &o) > max);
      tkn_prune_report_free(rep);
      tkn_conv_free(c);
    }
}

static void thinking_of_older_turns(void **state) {
  (void)state;
  const char *js =
      "{\"system\":\"S\",\"messages\":["
      "{\"role\":\"user\",\"content\":\"q0\"},"
      "{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\",\"thinking\":\"t t t t\","
      "\"signature\":\"x\"},"
      "{\"type\":\"tool_use\",\"id\":\"c0\",\"name\":\"f\",\"input\":{\"k\":1}}]},"
      "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"c0\","
      "\"content\":\"r0 w w w w w w w w w w\"}]},"
      "{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\",\"thinking\":\"u u\","
      "\"signature\":\"y\"},"
      "{\"type\":\"tool_use\",\"id\":\"c1\",\"name\":\"f\",\"input\":{\"k\":2}}]},"
      "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"c1\","
      "\"content\":\"r1 w w\"}]}]}";
  tkn_conv *c = NULL;
  assert_int_equal(tkn_conv_from_json(&c, TKN_PROVIDER_ANTHROPIC, js, strlen(js)), TKN_OK);
  tkn_prune_options o = opts_of(TKN_PRUNE_MASK);
  o.keep_tool_uses = 1;
  o.clear_thinking = 1;
  o.clear_inputs = 1;
  tkn_prune_report *rep = NULL;
  assert_int_equal(tkn_prune_run(g_pr, c, &o, &rep), TKN_OK);
  char *out = NULL;
  assert_int_equal(tkn_conv_to_json(c, TKN_PROVIDER_ANTHROPIC, &out, NULL), TKN_OK);
  assert_null(strstr(out, "t t t t"));
  assert_non_null(strstr(out, "u u"));
  assert_non_null(strstr(out, "\"input\":{}"));
  assert_non_null(strstr(out, "\"k\":2"));
  assert_non_null(strstr(out, TKN_PRUNE_PLACEHOLDER));
  assert_non_null(strstr(out, "r1 w w"));
  int32_t action, why;
  assert_int_equal(tkn_prune_report_message(rep, 2, &action, &why, NULL), TKN_OK);
  assert_int_equal(action, TKN_PRUNE_CLEARED);
  assert_int_equal(why, TKN_PRUNE_WHY_THINKING);
  tkn_free(out);
  tkn_prune_report_free(rep);
  tkn_conv_free(c);
}

static void bad_options_and_version_1(void **state) {
  (void)state;
  tkn_conv *c = uses_conv(3, 5);
  char *before = NULL, *after = NULL;
  assert_int_equal(tkn_conv_to_json(c, TKN_PROVIDER_OPENAI, &before, NULL), TKN_OK);
  tkn_prune_options o = opts_of(TKN_PRUNE_CLEAR);
  o.clear_trigger = -1;
  assert_int_equal(tkn_prune_run(g_pr, c, &o, NULL), TKN_ERR_INVALID);
  assert_non_null(strstr(tkn_error_last()->message, "clear_trigger"));
  /* each negative price is refused by its own name */
  static const char *const price[] = {"price_input_per_mtok", "price_cache_read_per_mtok",
                                      "price_cache_write_per_mtok", "clear_at_least"};
  for (int f = 0; f < 4; f++) {
    o = opts_of(TKN_PRUNE_POLICY);
    set_openai_prices(&o);
    int64_t *field[] = {&o.price_input_per_mtok, &o.price_cache_read_per_mtok,
                        &o.price_cache_write_per_mtok, &o.clear_at_least};
    *field[f] = -1;
    assert_int_equal(tkn_prune_run(g_pr, c, &o, NULL), TKN_ERR_INVALID);
    assert_non_null(strstr(tkn_error_last()->message, price[f]));
  }
  o = opts_of(TKN_PRUNE_POLICY);
  assert_int_equal(tkn_prune_run(g_pr, c, &o, NULL), TKN_ERR_INVALID);
  assert_non_null(strstr(tkn_error_last()->message, "price_input_per_mtok"));
  o = opts_of(TKN_PRUNE_MASK);
  const char *const ex[] = {NULL};
  o.exclude_tools = ex;
  o.exclude_tools_count = 1;
  assert_int_equal(tkn_prune_run(g_pr, c, &o, NULL), TKN_ERR_INVALID);
  o = opts_of(TKN_PRUNE_MASK);
  o.placeholder = "\xff";
  o.placeholder_len = 1;
  assert_int_equal(tkn_prune_run(g_pr, c, &o, NULL), TKN_ERR_INVALID);
  o = opts_of(TKN_PRUNE_MASK);
  o.clear_inputs = 2;
  assert_int_equal(tkn_prune_run(g_pr, c, &o, NULL), TKN_ERR_INVALID);
  o.mode = 6;
  o.clear_inputs = 0;
  assert_int_equal(tkn_prune_run(g_pr, c, &o, NULL), TKN_ERR_INVALID);
  assert_int_equal(tkn_conv_to_json(c, TKN_PROVIDER_OPENAI, &after, NULL), TKN_OK);
  assert_string_equal(before, after);
  tkn_free(after);
  /* a version 1 struct: only its own fields are read */
  tkn_prune_options v1;
  memset(&v1, 0xab, sizeof v1);
  assert_int_equal(tkn_prune_options_init(&v1, 1), TKN_OK);
  assert_int_equal(v1.version, 1);
  assert_int_equal(v1.keep_tool_uses, 0xabababab); /* untouched past version 1 */
  v1.max_tokens = 1000;
  assert_int_equal(tkn_prune_run(g_pr, c, &v1, NULL), TKN_OK);
  assert_int_equal(tkn_conv_to_json(c, TKN_PROVIDER_OPENAI, &after, NULL), TKN_OK);
  assert_string_equal(before, after);
  tkn_free(before);
  tkn_free(after);
  tkn_conv_free(c);
}

/* The ledger: a clear that pays back only at a later call is refused with an
 * empty ledger and taken once the clears before it have banked its risk. */
static void ledger_lets_a_clear_risk_what_was_saved(void **state) {
  (void)state;
  tkn_prune_options o = opts_of(TKN_PRUNE_POLICY);
  set_openai_prices(&o);
  o.keep_tool_uses = 3;
  o.horizon_calls = 1;
  o.cache_block_tokens = 0;
  tkn_prune_ledger led = {0, 0, 0};
  o.ledger = &led;
  /* as in policy_decides_by_prices: clearing the two old results (74 tokens)
   * costs (200 - 74) x 2.50 - 200 x 1.25 USD/Mtok at this call */
  const int64_t risk = 126 * 2500000 - 200 * 1250000;
  tkn_conv *c = uses_conv(5, 40);
  tkn_prune_report *rep = NULL;
  int32_t d = -1;
  int64_t saving = 0, cost = 0;
  assert_int_equal(tkn_prune_run(g_pr, c, &o, &rep), TKN_OK);
  assert_int_equal(tkn_prune_report_decision(rep, &d, &saving, &cost), TKN_OK);
  assert_int_equal(d, TKN_PRUNE_DECISION_KEEP);
  assert_int_equal(cost, risk);
  assert_true(saving > cost); /* it would pay back by the next call: only the risk stops it */
  assert_non_null(strstr(tkn_prune_report_note(rep), "credit"));
  assert_int_equal(is_placeholder(c, result_of(0)), 0);
  assert_int_equal(led.calls, 1);
  assert_int_equal(led.credit, 0);
  assert_int_equal(led.cleared, 0);
  tkn_prune_report_free(rep);
  /* one picodollar short of the risk: still refused */
  led.credit = risk - 1;
  assert_int_equal(tkn_prune_run(g_pr, c, &o, &rep), TKN_OK);
  assert_int_equal(tkn_prune_report_decision(rep, &d, NULL, NULL), TKN_OK);
  assert_int_equal(d, TKN_PRUNE_DECISION_KEEP);
  assert_int_equal(led.credit, risk - 1);
  tkn_prune_report_free(rep);
  /* earlier clears shed 52 tokens: at this call they save 52 x 1.25 USD/Mtok,
   * exactly the risk, which the clear then spends */
  led.credit = 0;
  led.cleared = 52;
  led.calls = 6;
  assert_int_equal(tkn_prune_run(g_pr, c, &o, &rep), TKN_OK);
  assert_int_equal(tkn_prune_report_decision(rep, &d, &saving, &cost), TKN_OK);
  assert_int_equal(d, TKN_PRUNE_DECISION_CLEAR);
  assert_int_equal(cost, risk);
  assert_int_equal(is_placeholder(c, result_of(0)), 1);
  assert_int_equal(is_placeholder(c, result_of(1)), 1);
  assert_int_equal(led.credit, 0);
  assert_int_equal(led.cleared, 52 + 74);
  assert_int_equal(led.calls, 7);
  tkn_prune_report_free(rep);
  tkn_conv_free(c);
  /* a failing run leaves the ledger as it was */
  tkn_prune_ledger keep = led;
  o.price_input_per_mtok = 0;
  c = uses_conv(5, 40);
  assert_int_equal(tkn_prune_run(g_pr, c, &o, NULL), TKN_ERR_INVALID);
  assert_memory_equal(&led, &keep, sizeof led);
  tkn_conv_free(c);
}

/* A tiny model of the provider's cache, as the policy assumes it: a request
 * reads from the cache the longest message-boundary prefix it shares with an
 * earlier request, rounded down to whole blocks; the rest is written at the
 * input price. */
typedef struct sim_cache {
  char *sent[64][96]; /* the messages of each earlier request, as JSON */
  int64_t tok[64][96];
  size_t len[64];
  size_t n;
} sim_cache;

static double sim_call(sim_cache *sc, tkn_conv *c, size_t upto, const tkn_prune_options *o,
                       int64_t block) {
  double r = (double)o->price_cache_read_per_mtok / 1e6;
  double w = (double)o->price_input_per_mtok / 1e6;
  assert_true(sc->n < 64 && upto < 96);
  size_t k = sc->n++;
  int64_t total = 0;
  for (size_t i = 0; i < upto; i++) {
    assert_int_equal(tkn_conv_message_to_json(c, i, TKN_PROVIDER_OPENAI, &sc->sent[k][i], NULL),
                     TKN_OK);
    assert_int_equal(tkn_tokenizer_count_message(g_tok, c, i, &o->count, &sc->tok[k][i]),
                     TKN_OK);
    total += sc->tok[k][i];
  }
  sc->len[k] = upto;
  int64_t best = 0;
  for (size_t e = 0; e < k; e++) {
    int64_t m = 0;
    for (size_t i = 0; i < upto && i < sc->len[e] && !strcmp(sc->sent[e][i], sc->sent[k][i]);
         i++)
      m += sc->tok[k][i];
    if (m > best) best = m;
  }
  int64_t cached = block > 0 ? best / block * block : best;
  return (double)cached * r + (double)(total - cached) * w;
}

static void sim_free(sim_cache *sc) {
  for (size_t k = 0; k < sc->n; k++)
    for (size_t i = 0; i < sc->len[k]; i++) tkn_free(sc->sent[k][i]);
  memset(sc, 0, sizeof *sc);
}

/* A random conversation of `uses` tool uses (as uses_conv, random sizes). */
static tkn_conv *random_conv(unsigned *seed, int uses) {
  static char buf[1 << 17];
  size_t w = 0;
  w += (size_t)snprintf(buf + w, sizeof buf - w, "[{\"role\":\"system\",\"content\":\"S");
  for (int k = 0, n = rand_r(seed) % 300; k < n; k++)
    w += (size_t)snprintf(buf + w, sizeof buf - w, " s");
  w += (size_t)snprintf(buf + w, sizeof buf - w, "\"}");
  for (int i = 0; i < uses; i++) {
    w += (size_t)snprintf(buf + w, sizeof buf - w,
                          ",{\"role\":\"user\",\"content\":\"q%d\"},"
                          "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":"
                          "\"c%d\",\"type\":\"function\",\"function\":{\"name\":\"f\","
                          "\"arguments\":\"{}\"}}]},"
                          "{\"role\":\"tool\",\"tool_call_id\":\"c%d\",\"content\":\"r%d",
                          i, i, i, i);
    for (int k = 0, n = rand_r(seed) % 400; k < n; k++)
      w += (size_t)snprintf(buf + w, sizeof buf - w, " w");
    w += (size_t)snprintf(buf + w, sizeof buf - w, "\"},{\"role\":\"assistant\",\"content\":\"a");
    for (int k = 0, n = rand_r(seed) % 60; k < n; k++)
      w += (size_t)snprintf(buf + w, sizeof buf - w, " a");
    w += (size_t)snprintf(buf + w, sizeof buf - w, "\"}");
  }
  w += (size_t)snprintf(buf + w, sizeof buf - w, "]");
  tkn_conv *c = NULL;
  assert_int_equal(tkn_conv_from_json(&c, TKN_PROVIDER_OPENAI, buf, w), TKN_OK);
  return c;
}

/* The ledger's promise, over random conversations, keeps and horizons: at
 * every call (a model call before each assistant message) the conversation
 * has cost no more than not clearing, through the cache model above. */
static void ledger_never_dearer_at_any_call(void **state) {
  (void)state;
  static const uint32_t horizons[] = {1, 2, 5, TKN_PRUNE_HORIZON_GROWTH};
  static sim_cache with, without;
  unsigned seed = 17;
  int clears = 0, risky = 0;
  for (int round = 0; round < 60; round++) {
    int uses = 3 + rand_r(&seed) % 12;
    tkn_conv *full = random_conv(&seed, uses);
    tkn_conv *pol = NULL;
    assert_int_equal(tkn_conv_clone(&pol, full), TKN_OK);
    size_t n = tkn_conv_count(full);
    tkn_prune_options o = opts_of(TKN_PRUNE_POLICY);
    set_openai_prices(&o);
    o.keep_tool_uses = 1 + (uint32_t)(rand_r(&seed) % 3);
    o.horizon_calls = horizons[rand_r(&seed) % 4];
    int64_t block = (rand_r(&seed) % 2) ? 128 : 0;
    o.cache_block_tokens = (uint32_t)block;
    tkn_prune_ledger led = {0, 0, 0};
    o.ledger = &led;
    double cost_with = 0, cost_without = 0;
    for (size_t k = 1; k < n; k++) {
      if (tkn_conv_role(full, k) != TKN_ROLE_ASSISTANT) continue;
      /* the policy sees the conversation as it keeps it, up to this call */
      tkn_conv *in = NULL;
      uint8_t keep[96];
      assert_true(n <= 96);
      for (size_t i = 0; i < n; i++) keep[i] = i < k;
      assert_int_equal(tkn_conv_clone(&in, pol), TKN_OK);
      assert_int_equal(tkn_conv_filter(in, keep, n), TKN_OK);
      tkn_prune_report *rep = NULL;
      assert_int_equal(tkn_prune_run(g_pr, in, &o, &rep), TKN_OK);
      int32_t d = 0;
      int64_t cost = 0;
      assert_int_equal(tkn_prune_report_decision(rep, &d, NULL, &cost), TKN_OK);
      clears += d == TKN_PRUNE_DECISION_CLEAR;
      risky += d == TKN_PRUNE_DECISION_CLEAR && cost > 0;
      /* keep what it cleared in the policy's conversation */
      for (size_t i = 0; i < k; i++) {
        int32_t action = 0;
        assert_int_equal(tkn_prune_report_message(rep, i, &action, NULL, NULL), TKN_OK);
        if (action == TKN_PRUNE_CLEARED)
          assert_int_equal(tkn_conv_set_text(pol, i, TKN_PRUNE_PLACEHOLDER,
                                             strlen(TKN_PRUNE_PLACEHOLDER)),
                           TKN_OK);
      }
      tkn_prune_report_free(rep);
      tkn_conv_free(in);
      cost_with += sim_call(&with, pol, k, &o, block);
      cost_without += sim_call(&without, full, k, &o, block);
      assert_true(cost_with <= cost_without + 1e-6 * cost_without);
    }
    sim_free(&with);
    sim_free(&without);
    tkn_conv_free(pol);
    tkn_conv_free(full);
  }
  /* the property was tested on clears, some of them risking credit */
  assert_true(clears > 20);
  assert_true(risky > 0);
}

static void ledger_bad_values(void **state) {
  (void)state;
  tkn_conv *c = uses_conv(3, 5);
  tkn_prune_options o = opts_of(TKN_PRUNE_POLICY);
  set_openai_prices(&o);
  tkn_prune_ledger led = {0, 0, 0};
  o.ledger = &led;
  static const char *const fields[] = {"ledger->credit", "ledger->cleared", "ledger->calls"};
  for (int f = 0; f < 3; f++) {
    memset(&led, 0, sizeof led);
    if (f == 0) led.credit = -1;
    if (f == 1) led.cleared = -5;
    if (f == 2) led.calls = INT64_MIN;
    tkn_prune_ledger before = led;
    assert_int_equal(tkn_prune_run(g_pr, c, &o, NULL), TKN_ERR_INVALID);
    assert_non_null(strstr(tkn_error_last()->message, fields[f]));
    assert_memory_equal(&led, &before, sizeof led);
  }
  /* a version 2 struct has no ledger field: it is not read */
  tkn_prune_options v2;
  memset(&v2, 0xab, sizeof v2);
  assert_int_equal(tkn_prune_options_init(&v2, 2), TKN_OK);
  assert_int_equal(v2.version, 2);
  assert_int_equal(v2.cache_block_tokens, 128);
  v2.mode = TKN_PRUNE_POLICY;
  set_openai_prices(&v2);
  assert_int_equal(tkn_prune_run(g_pr, c, &v2, NULL), TKN_OK);
  assert_int_equal(tkn_prune_options_init(&v2, 4), TKN_ERR_VERSION);
  tkn_conv_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(mask_keeps_last_uses),
      cmocka_unit_test(mask_excludes_and_inputs),
      cmocka_unit_test(clear_trigger_and_at_least),
      cmocka_unit_test(policy_decides_by_prices),
      cmocka_unit_test(policy_degrades_under_budget),
      cmocka_unit_test(degrade_clears_inside_the_kept_turns),
      cmocka_unit_test(thinking_of_older_turns),
      cmocka_unit_test(bad_options_and_version_1),
      cmocka_unit_test(ledger_lets_a_clear_risk_what_was_saved),
      cmocka_unit_test(ledger_never_dearer_at_any_call),
      cmocka_unit_test(ledger_bad_values),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
