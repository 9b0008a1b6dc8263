/* Pruning: trim (LangChain semantics), score, summarise, the invariants
 * (tool units whole, provider order, fits max_tokens, must-keep failures
 * leave the conversation untouched) and the report. */
#include "test_util.h"

#include "prune/prune_internal.h"

/* ---- fixtures ---- */

/* One token per whitespace-separated word; counts its calls. */
static long g_count_calls;
static int count_words(const char *text, size_t len, int64_t *out, void *user) {
  (void)user;
  g_count_calls++;
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

static int setup(void **state) {
  (void)state;
  tkn_tokenizer_callbacks cb = TKN_TOKENIZER_CALLBACKS_INIT;
  cb.count = count_words;
  return tkn_tokenizer_new_callback(&g_tok, &cb, NULL);
}

static int teardown(void **state) {
  (void)state;
  tkn_tokenizer_free(g_tok);
  return 0;
}


/* Options with no per-message overhead, so a message costs role + words
 * (the role name is one word). */
static tkn_prune_options opts_of(int mode, int64_t max) {
  tkn_prune_options o = TKN_PRUNE_OPTIONS_INIT;
  o.mode = mode;
  o.max_tokens = max;
  o.count.per_message = 0;
  o.count.per_name = 0;
  o.count.reply_priming = 0;
  o.count.per_tool_call = 0;
  return o;
}

static int prune(tkn_conv *c, const tkn_prune_options *o, tkn_prune_report **rep) {
  tkn_pruner *p = NULL;
  assert_int_equal(tkn_prune_new(&p, g_tok), TKN_OK);
  int rc = tkn_prune_run(p, c, o, rep);
  if (rc != TKN_OK) print_message("prune: %s\n", tkn_error_last()->message);
  tkn_prune_free(p);
  return rc;
}

/* The texts of the conversation joined with "|". */
static const char *texts(tkn_conv *c) {
  static char buf[4096];
  size_t w = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < tkn_conv_count(c); i++) {
    const char *t;
    size_t len;
    assert_int_equal(tkn_conv_text(c, i, &t, &len), TKN_OK);
    w += (size_t)snprintf(buf + w, sizeof buf - w, "%s%.*s", i ? "|" : "", (int)len, t);
  }
  return buf;
}

static char *json_of(tkn_conv *c) {
  char *s = NULL;
  assert_int_equal(tkn_conv_to_json(c, TKN_PROVIDER_OPENAI, &s, NULL), TKN_OK);
  return s;
}

/* Each message is 2 tokens ("user" + one word) unless longer. */
static const char *PLAIN =
    "[{\"role\":\"system\",\"content\":\"S\"},"
    "{\"role\":\"user\",\"content\":\"u1\"},"
    "{\"role\":\"assistant\",\"content\":\"a1\"},"
    "{\"role\":\"user\",\"content\":\"u2\"},"
    "{\"role\":\"assistant\",\"content\":\"a2\"},"
    "{\"role\":\"user\",\"content\":\"u3\"}]";

/* system, user, assistant calling two tools, two results, assistant, user */
static const char *TOOLS =
    "[{\"role\":\"system\",\"content\":\"S\"},"
    "{\"role\":\"user\",\"content\":\"weather?\"},"
    "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
    "{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"w\",\"arguments\":\"{}\"}},"
    "{\"id\":\"c2\",\"type\":\"function\",\"function\":{\"name\":\"t\",\"arguments\":\"{}\"}}]},"
    "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"sunny\"},"
    "{\"role\":\"tool\",\"tool_call_id\":\"c2\",\"content\":\"20C\"},"
    "{\"role\":\"assistant\",\"content\":\"it is sunny\"},"
    "{\"role\":\"user\",\"content\":\"thanks\"}]";

/* ---- options ---- */

/* (every init against its macro: tests/unit/options) */
static void options_init_matches_macro(void **state) {
  (void)state;
  tkn_prune_options a;
  assert_int_equal(tkn_prune_options_init(&a, TKN_PRUNE_OPTIONS_VERSION), TKN_OK);
  assert_int_equal(a.protect_tool_pairs, 1); /* documented defaults */
  assert_int_equal(a.fix_provider_order, 1);
}

static void bad_options_fail_naming_the_field_and_change_nothing(void **state) {
  (void)state;
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, PLAIN);
  char *before = json_of(c);
  tkn_pruner *p = NULL;
  assert_int_equal(tkn_prune_new(&p, g_tok), TKN_OK);
  struct {
    tkn_prune_options o;
    int rc;
    const char *text;
  } cases[6];
  for (int i = 0; i < 6; i++) cases[i].o = opts_of(TKN_PRUNE_TRIM, 4);
  cases[0].o.max_tokens = -1, cases[0].rc = TKN_ERR_INVALID, cases[0].text = "max_tokens";
  cases[1].o.mode = 9, cases[1].rc = TKN_ERR_INVALID, cases[1].text = "mode";
  cases[2].o.strategy = TKN_PRUNE_FIRST, cases[2].o.include_system = 1;
  cases[2].rc = TKN_ERR_INVALID, cases[2].text = "include_system";
  cases[3].o.mode = TKN_PRUNE_SUMMARISE, cases[3].rc = TKN_ERR_INVALID;
  cases[3].text = "summarise callback";
  cases[4].o.end_on = 1u << 9, cases[4].rc = TKN_ERR_INVALID, cases[4].text = "role bit";
  cases[5].o.version = 7, cases[5].rc = TKN_ERR_VERSION, cases[5].text = "version";
  for (int i = 0; i < 6; i++) {
    tkn_prune_report *rep = (tkn_prune_report *)0x1;
    assert_int_equal(tkn_prune_run(p, c, &cases[i].o, &rep), cases[i].rc);
    assert_null(rep);
    assert_non_null(strstr(tkn_error_last()->message, cases[i].text));
  }
  tkn_prune_options o = opts_of(TKN_PRUNE_TRIM, 4);
  assert_int_equal(tkn_prune_run(p, NULL, &o, NULL), TKN_ERR_INVALID);
  assert_int_equal(tkn_prune_run(p, c, NULL, NULL), TKN_ERR_INVALID);
  assert_int_equal(tkn_prune_run(NULL, c, &o, NULL), TKN_ERR_INVALID);
  char *after = json_of(c);
  assert_string_equal(before, after);
  tkn_free(before);
  tkn_free(after);
  tkn_prune_free(p);
  tkn_prune_free(NULL);
  assert_int_equal(tkn_prune_new(&p, NULL), TKN_ERR_INVALID);
  assert_int_equal(tkn_prune_new(NULL, g_tok), TKN_ERR_INVALID);
  tkn_conv_free(c);
}

/* ---- trim ---- */

static void trim_last_keeps_the_newest_messages_that_fit(void **state) {
  (void)state;
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, PLAIN);
  tkn_prune_options o = opts_of(TKN_PRUNE_TRIM, 7); /* three messages of two tokens */
  o.fix_provider_order = 0;
  assert_int_equal(prune(c, &o, NULL), TKN_OK);
  assert_string_equal(texts(c), "u2|a2|u3");
  tkn_conv_free(c);
}

static void trim_first_keeps_the_oldest_messages_that_fit(void **state) {
  (void)state;
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, PLAIN);
  tkn_prune_options o = opts_of(TKN_PRUNE_TRIM, 6);
  o.strategy = TKN_PRUNE_FIRST;
  assert_int_equal(prune(c, &o, NULL), TKN_OK);
  assert_string_equal(texts(c), "S|u1|a1");
  tkn_conv_free(c);
}

static void trim_include_system_keeps_the_system_message_first(void **state) {
  (void)state;
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, PLAIN);
  tkn_prune_options o = opts_of(TKN_PRUNE_TRIM, 6);
  o.include_system = 1;
  assert_int_equal(prune(c, &o, NULL), TKN_OK);
  assert_string_equal(texts(c), "S|a2|u3");
  tkn_conv_free(c);
}

static void trim_start_on_makes_the_kept_run_start_on_that_role(void **state) {
  (void)state;
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, PLAIN);
  tkn_prune_options o = opts_of(TKN_PRUNE_TRIM, 8); /* a1 u2 a2 u3 fit */
  o.start_on = TKN_PRUNE_ROLE(TKN_ROLE_USER);
  tkn_prune_report *rep = NULL;
  assert_int_equal(prune(c, &o, &rep), TKN_OK);
  assert_string_equal(texts(c), "u2|a2|u3");
  int32_t action, why;
  assert_int_equal(tkn_prune_report_message(rep, 2, &action, &why, NULL), TKN_OK);
  assert_int_equal(action, TKN_PRUNE_DROPPED);
  assert_int_equal(why, TKN_PRUNE_WHY_START_ON);
  assert_int_equal(tkn_prune_report_message(rep, 1, &action, &why, NULL), TKN_OK);
  assert_int_equal(why, TKN_PRUNE_WHY_BUDGET);
  tkn_prune_report_free(rep);
  tkn_conv_free(c);
}

static void trim_end_on_makes_the_kept_run_end_on_that_role(void **state) {
  (void)state;
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, PLAIN);
  tkn_prune_options o = opts_of(TKN_PRUNE_TRIM, 100);
  o.end_on = TKN_PRUNE_ROLE(TKN_ROLE_ASSISTANT);
  tkn_prune_report *rep = NULL;
  assert_int_equal(prune(c, &o, &rep), TKN_OK);
  assert_string_equal(texts(c), "S|u1|a1|u2|a2");
  int32_t why;
  assert_int_equal(tkn_prune_report_message(rep, 5, NULL, &why, NULL), TKN_OK);
  assert_int_equal(why, TKN_PRUNE_WHY_END_ON);
  tkn_prune_report_free(rep);
  tkn_conv_free(c);
}

static void trim_allow_partial_keeps_the_last_lines_of_the_next_message(void **state) {
  (void)state;
  tkn_conv *c =
      tt_conv(TKN_PROVIDER_OPENAI, "[{\"role\":\"user\",\"content\":\"one\\ntwo\\nthree four\"},"
                                   "{\"role\":\"assistant\",\"content\":\"ok\"}]");
  tkn_prune_options o = opts_of(TKN_PRUNE_TRIM, 5); /* ok: 2, user + last line: 3 */
  o.allow_partial = 1;
  tkn_prune_report *rep = NULL;
  assert_int_equal(prune(c, &o, &rep), TKN_OK);
  assert_string_equal(texts(c), "three four|ok");
  int32_t action, why;
  assert_int_equal(tkn_prune_report_message(rep, 0, &action, &why, NULL), TKN_OK);
  assert_int_equal(action, TKN_PRUNE_CUT);
  assert_int_equal(why, TKN_PRUNE_WHY_PARTIAL);
  int64_t before, after;
  tkn_prune_report_tokens(rep, &before, &after);
  assert_int_equal(before, 7);
  assert_int_equal(after, 5);
  tkn_prune_report_free(rep);
  tkn_conv_free(c);
}

static void trim_allow_partial_first_keeps_the_first_lines(void **state) {
  (void)state;
  tkn_conv *c =
      tt_conv(TKN_PROVIDER_OPENAI, "[{\"role\":\"user\",\"content\":\"hi\"},"
                                   "{\"role\":\"assistant\",\"content\":\"one\\ntwo\\nthree\"}]");
  tkn_prune_options o = opts_of(TKN_PRUNE_TRIM, 5);
  o.strategy = TKN_PRUNE_FIRST;
  o.allow_partial = 1;
  assert_int_equal(prune(c, &o, NULL), TKN_OK);
  assert_string_equal(texts(c), "hi|one\ntwo\n");
  tkn_conv_free(c);
}

/* Pieces of three bytes. */
static int split3(const char *text, size_t len, size_t pos, size_t *end, int32_t *last,
                  void *user) {
  (void)text;
  (*(int *)user)++;
  *end = pos + 3 < len ? pos + 3 : len;
  *last = *end == len;
  return 0;
}

static void trim_uses_the_hosts_text_splitter(void **state) {
  (void)state;
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, "[{\"role\":\"user\",\"content\":\"a b c d\"}]");
  tkn_prune_options o = opts_of(TKN_PRUNE_TRIM, 3); /* "user" + 2 words */
  int calls = 0;
  o.allow_partial = 1;
  o.text_splitter = split3;
  o.text_splitter_user = &calls;
  assert_int_equal(prune(c, &o, NULL), TKN_OK);
  /* pieces "a b", " c ", "d": the longest suffix that fits is " c d" */
  assert_string_equal(texts(c), " c d");
  assert_int_equal(calls, 3);
  tkn_conv_free(c);
}

static void trim_never_splits_a_tool_call_from_its_results(void **state) {
  (void)state;
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, TOOLS);
  /* costs: S 2, user 2, call 1+1+1+1+1 = 5 (role, w, {}, t, {}), results 3 each
   * (role, text, id), answer 4, thanks 2: a budget of 12 would take one result */
  tkn_prune_options o = opts_of(TKN_PRUNE_TRIM, 12);
  tkn_prune_report *rep = NULL;
  assert_int_equal(prune(c, &o, &rep), TKN_OK);
  assert_string_equal(texts(c), "it is sunny|thanks");
  int32_t why;
  tkn_prune_report_message(rep, 4, NULL, &why, NULL);
  assert_int_equal(why, TKN_PRUNE_WHY_BUDGET);
  tkn_prune_report_free(rep);
  tkn_conv_free(c);
}

static void trim_without_protection_behaves_like_langchain(void **state) {
  (void)state;
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, TOOLS);
  tkn_prune_options o = opts_of(TKN_PRUNE_TRIM, 12);
  o.protect_tool_pairs = 0;
  o.fix_provider_order = 0;
  assert_int_equal(prune(c, &o, NULL), TKN_OK);
  assert_string_equal(texts(c), "sunny|20C|it is sunny|thanks");
  tkn_conv_free(c);
}

static void orphaned_tool_results_are_dropped(void **state) {
  (void)state;
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI,
                        "[{\"role\":\"user\",\"content\":\"q\"},"
                        "{\"role\":\"tool\",\"tool_call_id\":\"gone\",\"content\":\"r\"},"
                        "{\"role\":\"assistant\",\"content\":\"a\"}]");
  tkn_prune_options o = opts_of(TKN_PRUNE_TRIM, 100);
  tkn_prune_report *rep = NULL;
  assert_int_equal(prune(c, &o, &rep), TKN_OK);
  assert_string_equal(texts(c), "q|a");
  int32_t why;
  tkn_prune_report_message(rep, 1, NULL, &why, NULL);
  assert_int_equal(why, TKN_PRUNE_WHY_ORPHAN);
  tkn_prune_report_free(rep);
  tkn_conv_free(c);
}

static void anthropic_results_start_with_a_user_message(void **state) {
  (void)state;
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, PLAIN);
  tkn_prune_options o = opts_of(TKN_PRUNE_TRIM, 8); /* a1 u2 a2 u3 fit */
  o.provider = TKN_PROVIDER_ANTHROPIC;
  tkn_prune_report *rep = NULL;
  assert_int_equal(prune(c, &o, &rep), TKN_OK);
  assert_string_equal(texts(c), "u2|a2|u3");
  int32_t why;
  tkn_prune_report_message(rep, 2, NULL, &why, NULL);
  assert_int_equal(why, TKN_PRUNE_WHY_PROVIDER);
  tkn_prune_report_free(rep);
  tkn_conv_free(c);
}

/* ---- score ---- */

static const char *AGENT =
    "[{\"role\":\"system\",\"content\":\"You are a support agent\"},"
    "{\"role\":\"user\",\"content\":\"my order is late\"},"
    "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"k1\",\"type\":"
    "\"function\",\"function\":{\"name\":\"lookup\",\"arguments\":\"{}\"}}]},"
    "{\"role\":\"tool\",\"tool_call_id\":\"k1\",\"content\":\"order 4821 shipped 2024-05-02 "
    "via DHL tracking JD0142\"},"
    "{\"role\":\"assistant\",\"content\":\"It shipped.\"},"
    "{\"role\":\"user\",\"content\":\"ok thanks\"},"
    "{\"role\":\"assistant\",\"content\":\"You are welcome, anything else I can do\"},"
    "{\"role\":\"user\",\"content\":\"actually the address should be 12 Elm St\"},"
    "{\"role\":\"assistant\",\"content\":\"noted\"},"
    "{\"role\":\"user\",\"content\":\"when will it arrive\"}]";

static int has_text(tkn_conv *c, const char *needle) {
  return strstr(texts(c), needle) != NULL;
}

static void score_keeps_system_pinned_and_last_turns_unconditionally(void **state) {
  (void)state;
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, AGENT);
  assert_int_equal(tkn_conv_set_pinned(c, 4, 1), TKN_OK);
  tkn_prune_options o = opts_of(TKN_PRUNE_SCORE, 14);
  o.keep_last_turns = 1;
  tkn_prune_report *rep = NULL;
  assert_int_equal(prune(c, &o, &rep), TKN_OK);
  assert_string_equal(texts(c), "You are a support agent|It shipped.|when will it arrive");
  int32_t why;
  tkn_prune_report_message(rep, 0, NULL, &why, NULL);
  assert_int_equal(why, TKN_PRUNE_WHY_SYSTEM);
  tkn_prune_report_message(rep, 4, NULL, &why, NULL);
  assert_int_equal(why, TKN_PRUNE_WHY_PINNED);
  tkn_prune_report_message(rep, 9, NULL, &why, NULL);
  assert_int_equal(why, TKN_PRUNE_WHY_RECENT);
  tkn_prune_report_free(rep);
  tkn_conv_free(c);
}

static void score_prefers_tool_results_and_corrections_to_acknowledgements(void **state) {
  (void)state;
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, AGENT);
  tkn_prune_options o = opts_of(TKN_PRUNE_SCORE, 45);
  o.keep_last_turns = 1;
  assert_int_equal(prune(c, &o, NULL), TKN_OK);
  assert_true(has_text(c, "JD0142"));
  assert_true(has_text(c, "12 Elm St"));
  assert_false(has_text(c, "ok thanks"));
  assert_false(has_text(c, "noted"));
  tkn_conv_free(c);
}

static void score_keeps_the_original_order(void **state) {
  (void)state;
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, AGENT);
  tkn_prune_options o = opts_of(TKN_PRUNE_SCORE, 45);
  tkn_prune_report *rep = NULL;
  assert_int_equal(prune(c, &o, &rep), TKN_OK);
  const size_t *kept;
  size_t nk;
  assert_int_equal(tkn_prune_report_kept(rep, &kept, &nk), TKN_OK);
  assert_int_equal(nk, tkn_conv_count(c));
  for (size_t i = 1; i < nk; i++) assert_true(kept[i - 1] < kept[i]);
  tkn_prune_report_free(rep);
  tkn_conv_free(c);
}

static int prefer_marked(tkn_conv *c, size_t i, double *score, void *user) {
  (void)user;
  const char *t;
  size_t len;
  tkn_conv_text(c, i, &t, &len);
  *score = memchr(t, '!', len) ? 1.0 : 0.0;
  return 0;
}

static void a_host_score_replaces_the_built_in_one(void **state) {
  (void)state;
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, "[{\"role\":\"user\",\"content\":\"old!\"},"
                                             "{\"role\":\"assistant\",\"content\":\"newer\"},"
                                             "{\"role\":\"user\",\"content\":\"newest\"}]");
  tkn_prune_options o = opts_of(TKN_PRUNE_SCORE, 4);
  o.keep_last_turns = 1;
  o.score = prefer_marked;
  assert_int_equal(prune(c, &o, NULL), TKN_OK);
  assert_string_equal(texts(c), "old!|newest");
  tkn_conv_free(c);
}

/* Scores from the message text: "n=<number>". */
static int score_from_text(tkn_conv *c, size_t i, double *score, void *user) {
  (void)user;
  const char *t;
  size_t len;
  tkn_conv_text(c, i, &t, &len);
  const char *eq = memchr(t, '=', len);
  *score = eq ? atof(eq + 1) : 0.0;
  return 0;
}

static void greedy_fill_takes_the_best_score_first_and_the_newer_on_ties(void **state) {
  (void)state;
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, "[{\"role\":\"user\",\"content\":\"n=-2.5\"},"
                                             "{\"role\":\"user\",\"content\":\"n=-1\"},"
                                             "{\"role\":\"user\",\"content\":\"n=0.5\"},"
                                             "{\"role\":\"user\",\"content\":\"n=0.5\"},"
                                             "{\"role\":\"user\",\"content\":\"n=-1\"},"
                                             "{\"role\":\"user\",\"content\":\"last\"}]");
  tkn_prune_options o = opts_of(TKN_PRUNE_SCORE, 8); /* "last" + three more */
  o.keep_last_turns = 1;
  o.score = score_from_text;
  tkn_prune_report *rep = NULL;
  assert_int_equal(prune(c, &o, &rep), TKN_OK);
  /* both 0.5 first, then the newer -1 (index 4), not index 1 nor -2.5 */
  const size_t *k;
  size_t nk;
  tkn_prune_report_kept(rep, &k, &nk);
  assert_int_equal(nk, 4);
  assert_int_equal(k[0], 2);
  assert_int_equal(k[1], 3);
  assert_int_equal(k[2], 4);
  assert_int_equal(k[3], 5);
  tkn_prune_report_free(rep);
  tkn_conv_free(c);
}

static int failing_score(tkn_conv *c, size_t i, double *score, void *user) {
  (void)c, (void)i, (void)score, (void)user;
  return 1;
}

static void a_failing_host_score_fails_the_run_and_changes_nothing(void **state) {
  (void)state;
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, AGENT);
  char *before = json_of(c);
  tkn_prune_options o = opts_of(TKN_PRUNE_SCORE, 30);
  o.score = failing_score;
  assert_int_equal(prune(c, &o, NULL), TKN_ERR_CALLBACK);
  char *after = json_of(c);
  assert_string_equal(before, after);
  tkn_free(before);
  tkn_free(after);
  tkn_conv_free(c);
}

static void a_must_keep_set_over_budget_fails_naming_its_tokens(void **state) {
  (void)state;
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, AGENT);
  char *before = json_of(c);
  tkn_prune_options o = opts_of(TKN_PRUNE_SCORE, 8);
  o.keep_last_turns = 2; /* system 6 + "actually..." 9 + noted 2 + last 5 = 22 */
  o.degrade = 0;
  tkn_pruner *p = NULL;
  assert_int_equal(tkn_prune_new(&p, g_tok), TKN_OK);
  tkn_prune_report *rep = (tkn_prune_report *)0x1;
  assert_int_equal(tkn_prune_run(p, c, &o, &rep), TKN_ERR_BUDGET);
  assert_null(rep);
  assert_non_null(strstr(tkn_error_last()->message, "must-keep set needs 22 tokens"));
  assert_non_null(strstr(tkn_error_last()->message, "max_tokens is 8"));
  char *after = json_of(c);
  assert_string_equal(before, after);
  tkn_free(before);
  tkn_free(after);
  /* a version 2 struct keeps its contract: it fails too */
  tkn_prune_options v2;
  assert_int_equal(tkn_prune_options_init(&v2, 2), TKN_OK);
  v2.mode = TKN_PRUNE_SCORE;
  v2.max_tokens = 8;
  v2.count = o.count;
  v2.keep_last_turns = 2;
  assert_int_equal(tkn_prune_run(p, c, &v2, NULL), TKN_ERR_BUDGET);
  /* degrade 1 (the default): no tool result to clear, so the oldest turns
   * go; even the last one does not fit: the system prompt and the last turn
   * are sent over the budget, and the report says so */
  o.degrade = 1;
  assert_int_equal(tkn_prune_run(p, c, &o, &rep), TKN_OK);
  int32_t d = -1;
  assert_int_equal(tkn_prune_report_decision(rep, &d, NULL, NULL), TKN_OK);
  assert_int_equal(d, TKN_PRUNE_DECISION_DEGRADED);
  assert_non_null(strstr(tkn_prune_report_note(rep), "over the budget"));
  assert_int_equal(tkn_conv_role(c, 0), TKN_ROLE_SYSTEM);
  assert_true(tkn_conv_count(c) >= 2);
  assert_int_equal(tkn_conv_role(c, 1), TKN_ROLE_USER);
  tkn_prune_report_free(rep);
  tkn_prune_free(p);
  tkn_conv_free(c);
}

static void a_pinned_tool_result_keeps_its_call(void **state) {
  (void)state;
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, TOOLS);
  assert_int_equal(tkn_conv_set_pinned(c, 3, 1), TKN_OK);
  tkn_prune_options o = opts_of(TKN_PRUNE_SCORE, 15);
  o.keep_last_turns = 1;
  tkn_prune_report *rep = NULL;
  assert_int_equal(prune(c, &o, &rep), TKN_OK);
  assert_int_equal(tkn_conv_tool_call_count(c, 1), 2);
  assert_string_equal(texts(c), "S||sunny|20C|thanks");
  int32_t why;
  tkn_prune_report_message(rep, 4, NULL, &why, NULL);
  assert_int_equal(why, TKN_PRUNE_WHY_TOOL_UNIT);
  tkn_prune_report_free(rep);
  tkn_conv_free(c);
}

static void built_in_features_spot_acknowledgements_and_corrections(void **state) {
  (void)state;
  tki_prune_features f;
  tki_prune_features_of(TKN_ROLE_USER, 0, "ok, thanks!", 11, &f);
  assert_true(f.ack);
  assert_true(f.kind == TKI_KIND_ACK);
  tki_prune_features_of(TKN_ROLE_USER, 0, "okay so what about order 42", 27, &f);
  assert_false(f.ack);
  const char *corr = "No, actually it should be 12 Elm St";
  tki_prune_features_of(TKN_ROLE_USER, 0, corr, strlen(corr), &f);
  assert_true(f.correction);
  assert_true(f.kind == TKI_KIND_CORRECTION);
  tki_prune_features_of(TKN_ROLE_TOOL, 0, "x", 1, &f);
  assert_true(f.kind == TKI_KIND_TOOL_RESULT);
  tki_prune_features_of(TKN_ROLE_ASSISTANT, 1, "", 0, &f);
  assert_true(f.kind == TKI_KIND_TOOL_CALL);
  tki_prune_features f2;
  const char *dense = "id=4821 JD0142 2024-05-02 ETA";
  const char *plain = "it is on the way to you";
  tki_prune_features_of(TKN_ROLE_ASSISTANT, 0, dense, strlen(dense), &f);
  tki_prune_features_of(TKN_ROLE_ASSISTANT, 0, plain, strlen(plain), &f2);
  assert_true(f.density > f2.density);
}

/* ---- summarise ---- */

typedef struct summariser {
  int fail;
  const char *text;
  size_t seen;
  size_t first;
} summariser;

static int summarise_cb(tkn_conv *c, const size_t *dropped, size_t n, int64_t max_tokens,
                        const char **text, size_t *len, void *user) {
  (void)c;
  summariser *s = user;
  assert_true(max_tokens >= 0);
  s->seen = n;
  s->first = n ? dropped[0] : 0;
  if (s->fail) return s->fail;
  *text = s->text;
  *len = strlen(s->text);
  return 0;
}

static void summarise_replaces_dropped_messages_with_one_summary_in_place(void **state) {
  (void)state;
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, AGENT);
  summariser s = {0, "summary: order 4821 late", 0, 0};
  tkn_prune_options o = opts_of(TKN_PRUNE_SUMMARISE, 30);
  o.keep_last_turns = 1;
  o.summary_max_tokens = 6;
  o.summarise = summarise_cb;
  o.summarise_user = &s;
  tkn_prune_report *rep = NULL;
  assert_int_equal(prune(c, &o, &rep), TKN_OK);
  int32_t status;
  int64_t stoks, after;
  size_t at;
  assert_int_equal(tkn_prune_report_summary(rep, &status, &stoks, &at), TKN_OK);
  assert_int_equal(status, TKN_PRUNE_SUMMARY_ADDED);
  assert_int_equal(stoks, 5); /* "user" + 4 words */
  const char *t;
  size_t len;
  assert_int_equal(tkn_conv_text(c, at, &t, &len), TKN_OK);
  assert_memory_equal(t, "summary: order 4821 late", len);
  assert_int_equal(tkn_conv_role(c, at), TKN_ROLE_USER);
  /* in place: right where the first dropped message was */
  size_t kept_before = 0;
  for (size_t i = 0; i < s.first; i++) {
    int32_t a;
    tkn_prune_report_message(rep, i, &a, NULL, NULL);
    kept_before += a == TKN_PRUNE_KEPT;
  }
  assert_int_equal(at, kept_before);
  int32_t a;
  tkn_prune_report_message(rep, s.first, &a, NULL, NULL);
  assert_int_equal(a, TKN_PRUNE_SUMMARISED);
  tkn_prune_report_tokens(rep, NULL, &after);
  int64_t total;
  assert_int_equal(tkn_tokenizer_count_conv(g_tok, c, &o.count, &total, NULL), TKN_OK);
  assert_true(after == total);
  assert_true(total <= 30);
  tkn_prune_report_free(rep);
  tkn_conv_free(c);
}

static void a_failing_summariser_falls_back_to_dropping(void **state) {
  (void)state;
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, AGENT);
  summariser s = {5, NULL, 0, 0};
  tkn_prune_options o = opts_of(TKN_PRUNE_SUMMARISE, 30);
  o.summarise = summarise_cb;
  o.summarise_user = &s;
  tkn_prune_report *rep = NULL;
  assert_int_equal(prune(c, &o, &rep), TKN_OK);
  assert_true(s.seen > 0);
  int32_t status;
  tkn_prune_report_summary(rep, &status, NULL, NULL);
  assert_int_equal(status, TKN_PRUNE_SUMMARY_FAILED);
  assert_non_null(strstr(tkn_prune_report_note(rep), "summariser failed"));
  int64_t total;
  tkn_tokenizer_count_conv(g_tok, c, &o.count, &total, NULL);
  assert_true(total <= 30);
  const size_t *d;
  size_t nd;
  tkn_prune_report_dropped(rep, &d, &nd);
  assert_int_equal(nd + tkn_conv_count(c), 10);
  tkn_prune_report_free(rep);
  tkn_conv_free(c);
}

static void a_summary_longer_than_its_room_falls_back_to_dropping(void **state) {
  (void)state;
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, AGENT);
  summariser s = {0, "far too many words for the little room it was given here", 0, 0};
  tkn_prune_options o = opts_of(TKN_PRUNE_SUMMARISE, 30);
  o.summary_max_tokens = 4;
  o.summarise = summarise_cb;
  o.summarise_user = &s;
  tkn_prune_report *rep = NULL;
  assert_int_equal(prune(c, &o, &rep), TKN_OK);
  int32_t status;
  tkn_prune_report_summary(rep, &status, NULL, NULL);
  assert_int_equal(status, TKN_PRUNE_SUMMARY_TOO_LONG);
  assert_false(has_text(c, "far too many"));
  tkn_prune_report_free(rep);
  tkn_conv_free(c);
}

/* ---- invariants over many generated conversations ---- */

static unsigned g_seed;
static unsigned rnd(unsigned n) {
  g_seed = g_seed * 1103515245u + 12345u;
  return (g_seed >> 16) % n;
}

static tkn_conv *random_conv(size_t turns) {
  tkn_conv *c = NULL;
  assert_int_equal(tkn_conv_new(&c), TKN_OK);
  static const char *words[] = {"alpha", "beta", "gamma 42", "ok", "delta\nline", "x y z"};
  char text[256];
  size_t ncall = 0;
  if (rnd(2)) tkn_conv_append_text(c, TKN_ROLE_SYSTEM, "sys prompt", 10);
  for (size_t t = 0; t < turns; t++) {
    snprintf(text, sizeof text, "q%zu %s", t, words[rnd(6)]);
    tkn_conv_append_text(c, TKN_ROLE_USER, text, strlen(text));
    unsigned calls = rnd(3);
    if (calls) {
      size_t a = tkn_conv_count(c);
      tkn_conv_append_text(c, TKN_ROLE_ASSISTANT, "", 0);
      char ids[3][16];
      for (unsigned k = 0; k < calls; k++) {
        snprintf(ids[k], sizeof ids[k], "id%zu", ncall++);
        tkn_conv_add_tool_call(c, a, ids[k], strlen(ids[k]), "fn", 2, "{\"a\":1}", 7);
      }
      for (unsigned k = 0; k < calls; k++) {
        snprintf(text, sizeof text, "result %s %s", ids[k], words[rnd(6)]);
        size_t r = tkn_conv_count(c);
        tkn_conv_append_text(c, TKN_ROLE_TOOL, text, strlen(text));
        tkn_conv_set_tool_call_id(c, r, ids[k], strlen(ids[k]));
      }
    }
    snprintf(text, sizeof text, "answer %zu %s", t, words[rnd(6)]);
    tkn_conv_append_text(c, TKN_ROLE_ASSISTANT, text, strlen(text));
  }
  return c;
}

/* Every tool result follows its call, every call has all its results; no
 * leading tool message; for Anthropic a user message first. */
static void check_valid(tkn_conv *c, int anthropic) {
  size_t n = tkn_conv_count(c);
  int first = 1;
  for (size_t i = 0; i < n; i++) {
    int role = tkn_conv_role(c, i);
    if (role != TKN_ROLE_SYSTEM && first) {
      assert_int_not_equal(role, TKN_ROLE_TOOL);
      if (anthropic) assert_int_equal(role, TKN_ROLE_USER);
      first = 0;
    }
    if (role == TKN_ROLE_TOOL) {
      const char *id;
      size_t len, at;
      tkn_conv_tool_call_id(c, i, &id, &len);
      assert_int_equal(tkn_conv_find_tool_call(c, id, len, &at), TKN_OK);
      assert_true(at < i);
    }
    for (size_t j = 0; j < tkn_conv_tool_call_count(c, i); j++) {
      const char *id;
      size_t len, at;
      tkn_conv_tool_call(c, i, j, &id, &len, NULL, NULL, NULL, NULL);
      assert_int_equal(tkn_conv_find_tool_result(c, id, len, &at), TKN_OK);
    }
  }
}

static int summarise_words(tkn_conv *c, const size_t *dropped, size_t n, int64_t max_tokens,
                           const char **text, size_t *len, void *user) {
  (void)c, (void)dropped, (void)user;
  static char buf[64];
  snprintf(buf, sizeof buf, "summary of %zu", n);
  *text = buf;
  *len = strlen(buf);
  return max_tokens < 4; /* fail when the room is tiny */
}

static void every_mode_keeps_tool_units_whole_and_fits_the_budget(void **state) {
  (void)state;
  g_seed = 12345;
  tkn_count_options co = TKN_COUNT_OPTIONS_INIT;
  for (int iter = 0; iter < 300; iter++) {
    tkn_conv *c = random_conv(1 + rnd(12));
    int64_t total;
    assert_int_equal(tkn_tokenizer_count_conv(g_tok, c, &co, &total, NULL), TKN_OK);
    tkn_prune_options o = TKN_PRUNE_OPTIONS_INIT;
    o.mode = (int32_t)rnd(3);
    o.degrade = (int32_t)rnd(2);
    o.max_tokens = (int64_t)rnd((unsigned)total + 1);
    o.provider = rnd(2) ? TKN_PROVIDER_ANTHROPIC : TKN_PROVIDER_OPENAI;
    o.keep_last_turns = rnd(3);
    o.allow_partial = (int32_t)rnd(2);
    o.strategy = (int32_t)rnd(2);
    if (o.strategy == TKN_PRUNE_LAST) {
      o.include_system = (int32_t)rnd(2);
      if (rnd(2)) o.start_on = TKN_PRUNE_ROLE(TKN_ROLE_USER);
    }
    o.summarise = summarise_words;
    o.summarise_from = rnd(2) ? TKN_PRUNE_SCORE : TKN_PRUNE_TRIM;
    char *before = json_of(c);
    tkn_prune_report *rep = NULL;
    tkn_pruner *p = NULL;
    assert_int_equal(tkn_prune_new(&p, g_tok), TKN_OK);
    int rc = tkn_prune_run(p, c, &o, &rep);
    if (rc == TKN_ERR_BUDGET) {
      assert_false(o.degrade);
      assert_non_null(strstr(tkn_error_last()->message, "must-keep set needs"));
      char *after = json_of(c);
      assert_string_equal(before, after);
      tkn_free(after);
    } else {
      assert_int_equal(rc, TKN_OK);
      int64_t now, b, a;
      assert_int_equal(tkn_tokenizer_count_conv(g_tok, c, &co, &now, NULL), TKN_OK);
      int32_t dec = 0;
      tkn_prune_report_decision(rep, &dec, NULL, NULL);
      /* a degraded run fits, or sends the last turn over the budget and says so */
      int over = dec == TKN_PRUNE_DECISION_DEGRADED &&
                 strstr(tkn_prune_report_note(rep), "over the budget") != NULL;
      assert_true(over ? now > o.max_tokens : now <= o.max_tokens);
      assert_true(o.degrade || dec == TKN_PRUNE_DECISION_NONE);
      if (o.degrade) { /* never nothing */
        int others = 0;
        for (size_t i = 0; i < tkn_conv_count(c); i++)
          others |= tkn_conv_role(c, i) != TKN_ROLE_SYSTEM;
        int before_others = strstr(before, "\"user\"") || strstr(before, "\"assistant\"");
        assert_true(others || !before_others);
      }
      tkn_prune_report_tokens(rep, &b, &a);
      assert_true(b == total);
      assert_true(a == now);
      check_valid(c, o.provider == TKN_PROVIDER_ANTHROPIC);
      const size_t *k, *d;
      size_t nk, nd;
      tkn_prune_report_kept(rep, &k, &nk);
      tkn_prune_report_dropped(rep, &d, &nd);
      assert_int_equal(nk + nd, tkn_prune_report_count(rep));
    }
    tkn_free(before);
    tkn_prune_report_free(rep);
    tkn_prune_free(p);
    tkn_conv_free(c);
  }
}

static int failing_count(const char *text, size_t len, int64_t *out, void *user) {
  (void)text, (void)len, (void)out, (void)user;
  return 1;
}

static void a_failing_tokenizer_fails_the_run_and_changes_nothing(void **state) {
  (void)state;
  tkn_tokenizer_callbacks cb = TKN_TOKENIZER_CALLBACKS_INIT;
  cb.count = failing_count;
  tkn_tokenizer *bad = NULL;
  assert_int_equal(tkn_tokenizer_new_callback(&bad, &cb, NULL), TKN_OK);
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, PLAIN);
  char *before = json_of(c);
  tkn_pruner *p = NULL;
  assert_int_equal(tkn_prune_new(&p, bad), TKN_OK);
  tkn_prune_options o = opts_of(TKN_PRUNE_TRIM, 4);
  assert_int_equal(tkn_prune_run(p, c, &o, NULL), TKN_ERR_CALLBACK);
  assert_non_null(strstr(tkn_error_last()->message, "message 0"));
  char *after = json_of(c);
  assert_string_equal(before, after);
  tkn_free(before);
  tkn_free(after);
  tkn_prune_free(p);
  tkn_tokenizer_free(bad);
  tkn_conv_free(c);
}

static void counts_are_cached_between_runs(void **state) {
  (void)state;
  g_seed = 99;
  tkn_conv *c = random_conv(40);
  tkn_prune_options o = opts_of(TKN_PRUNE_SCORE, 1000000);
  assert_int_equal(prune(c, &o, NULL), TKN_OK);
  long calls = g_count_calls;
  assert_int_equal(prune(c, &o, NULL), TKN_OK);
  assert_int_equal(g_count_calls, calls);
  tkn_conv_free(c);
}

static void a_pruner_reused_on_the_same_conversation_gives_the_same_result(void **state) {
  (void)state;
  g_seed = 4242;
  tkn_conv *orig = random_conv(30);
  tkn_pruner *p = NULL;
  assert_int_equal(tkn_prune_new(&p, g_tok), TKN_OK);
  tkn_prune_options o = TKN_PRUNE_OPTIONS_INIT;
  o.mode = TKN_PRUNE_SCORE;
  o.max_tokens = 200;
  char *first = NULL;
  for (int run = 0; run < 2; run++) {
    tkn_conv *c = NULL;
    assert_int_equal(tkn_conv_clone(&c, orig), TKN_OK);
    assert_int_equal(tkn_prune_run(p, c, &o, NULL), TKN_OK);
    char *now = json_of(c);
    if (run == 0) first = now;
    else {
      assert_string_equal(first, now);
      tkn_free(now);
    }
    tkn_conv_free(c);
  }
  tkn_free(first);
  tkn_prune_free(p);
  tkn_conv_free(orig);
}

static void out_of_memory_fails_cleanly_and_changes_nothing(void **state) {
  (void)state;
  for (int mode = 0; mode < 3; mode++) {
    for (long n = 1;; n++) {
      tt_alloc_install(0);
      tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, AGENT);
      char *before = json_of(c);
      summariser s = {0, "short summary", 0, 0};
      tkn_prune_options o = opts_of(mode, 30);
      o.allow_partial = 1;
      o.summarise = summarise_cb;
      o.summarise_user = &s;
      tkn_pruner *p = NULL;
      assert_int_equal(tkn_prune_new(&p, g_tok), TKN_OK);
      tt_alloc.fail_at = tt_alloc.count + n;
      tkn_prune_report *rep = NULL;
      int rc = tkn_prune_run(p, c, &o, &rep);
      int failed = tt_alloc.failed;
      tt_alloc.fail_at = 0;
      if (rc != TKN_OK) {
        assert_int_equal(rc, TKN_ERR_NOMEM);
        assert_null(rep);
        char *after = json_of(c);
        assert_string_equal(before, after);
        tkn_free(after);
      }
      tkn_free(before);
      tkn_prune_report_free(rep);
      tkn_prune_free(p);
      tkn_conv_free(c);
      assert_int_equal(tt_alloc.live, 0);
      tt_alloc_restore();
      if (!failed) {
        assert_int_equal(rc, TKN_OK);
        break;
      }
    }
  }
}

static void report_accessors_reject_bad_arguments(void **state) {
  (void)state;
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, PLAIN);
  tkn_prune_options o = opts_of(TKN_PRUNE_TRIM, 100);
  tkn_prune_report *rep = NULL;
  assert_int_equal(prune(c, &o, &rep), TKN_OK);
  assert_int_equal(tkn_prune_report_count(rep), 6);
  assert_int_equal(tkn_prune_report_message(rep, 6, NULL, NULL, NULL), TKN_ERR_INVALID);
  int64_t tokens;
  assert_int_equal(tkn_prune_report_message(rep, 1, NULL, NULL, &tokens), TKN_OK);
  assert_int_equal(tokens, 2);
  assert_int_equal(tkn_prune_report_tokens(NULL, NULL, NULL), TKN_ERR_INVALID);
  assert_int_equal(tkn_prune_report_kept(rep, NULL, NULL), TKN_ERR_INVALID);
  assert_int_equal(tkn_prune_report_dropped(NULL, NULL, NULL), TKN_ERR_INVALID);
  assert_int_equal(tkn_prune_report_summary(NULL, NULL, NULL, NULL), TKN_ERR_INVALID);
  int32_t status = 9;
  assert_int_equal(tkn_prune_report_summary(rep, &status, NULL, NULL), TKN_OK);
  assert_int_equal(status, TKN_PRUNE_SUMMARY_NONE);
  assert_string_equal(tkn_prune_report_note(rep), "");
  assert_int_equal(tkn_prune_report_count(NULL), 0);
  tkn_prune_report_free(rep);
  tkn_prune_report_free(NULL);
  tkn_conv_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(options_init_matches_macro),
      cmocka_unit_test(bad_options_fail_naming_the_field_and_change_nothing),
      cmocka_unit_test(trim_last_keeps_the_newest_messages_that_fit),
      cmocka_unit_test(trim_first_keeps_the_oldest_messages_that_fit),
      cmocka_unit_test(trim_include_system_keeps_the_system_message_first),
      cmocka_unit_test(trim_start_on_makes_the_kept_run_start_on_that_role),
      cmocka_unit_test(trim_end_on_makes_the_kept_run_end_on_that_role),
      cmocka_unit_test(trim_allow_partial_keeps_the_last_lines_of_the_next_message),
      cmocka_unit_test(trim_allow_partial_first_keeps_the_first_lines),
      cmocka_unit_test(trim_uses_the_hosts_text_splitter),
      cmocka_unit_test(trim_never_splits_a_tool_call_from_its_results),
      cmocka_unit_test(trim_without_protection_behaves_like_langchain),
      cmocka_unit_test(orphaned_tool_results_are_dropped),
      cmocka_unit_test(anthropic_results_start_with_a_user_message),
      cmocka_unit_test(score_keeps_system_pinned_and_last_turns_unconditionally),
      cmocka_unit_test(score_prefers_tool_results_and_corrections_to_acknowledgements),
      cmocka_unit_test(score_keeps_the_original_order),
      cmocka_unit_test(a_host_score_replaces_the_built_in_one),
      cmocka_unit_test(greedy_fill_takes_the_best_score_first_and_the_newer_on_ties),
      cmocka_unit_test(a_failing_host_score_fails_the_run_and_changes_nothing),
      cmocka_unit_test(a_must_keep_set_over_budget_fails_naming_its_tokens),
      cmocka_unit_test(a_pinned_tool_result_keeps_its_call),
      cmocka_unit_test(built_in_features_spot_acknowledgements_and_corrections),
      cmocka_unit_test(summarise_replaces_dropped_messages_with_one_summary_in_place),
      cmocka_unit_test(a_failing_summariser_falls_back_to_dropping),
      cmocka_unit_test(a_summary_longer_than_its_room_falls_back_to_dropping),
      cmocka_unit_test(every_mode_keeps_tool_units_whole_and_fits_the_budget),
      cmocka_unit_test(a_failing_tokenizer_fails_the_run_and_changes_nothing),
      cmocka_unit_test(counts_are_cached_between_runs),
      cmocka_unit_test(a_pruner_reused_on_the_same_conversation_gives_the_same_result),
      cmocka_unit_test(out_of_memory_fails_cleanly_and_changes_nothing),
      cmocka_unit_test(report_accessors_reject_bad_arguments),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
