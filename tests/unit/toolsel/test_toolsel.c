/* Unit tests of the tool catalogue: tokenising, BM25, selection in catalogue
 * order, the host's search, deferral into a prompt, errors, out of memory. */
#include <math.h>
#include <pthread.h>

#include "test_util.h"

static const char *const AIRLINE[] = {
    "{\"type\":\"function\",\"function\":{\"name\":\"book_reservation\",\"description\":"
    "\"Book a reservation.\",\"parameters\":{\"type\":\"object\",\"properties\":{\"user_id\":"
    "{\"type\":\"string\"},\"origin\":{\"type\":\"string\"},\"passengers\":{\"type\":\"array\","
    "\"items\":{\"type\":\"object\",\"properties\":{\"first_name\":{\"type\":\"string\"}}}}}}}}",
    "{\"name\":\"cancel_reservation\",\"description\":\"Cancel the whole reservation.\","
    "\"input_schema\":{\"type\":\"object\",\"properties\":{\"reservation_id\":"
    "{\"type\":\"string\"}}}}",
    "{\"name\":\"get_user_details\",\"description\":\"Get the details of an user, including "
    "their reservations.\",\"parameters\":{\"type\":\"object\",\"properties\":{\"user_id\":"
    "{\"type\":\"string\"}}}}",
    "{\"name\":\"list_all_airports\",\"description\":\"List all airports and their cities.\"}",
    "{\"name\":\"searchDirectFlight\",\"description\":\"Search direct flights between two "
    "cities on a specific date.\",\"parameters\":{\"type\":\"object\",\"properties\":"
    "{\"origin\":{\"type\":\"string\"},\"destination\":{\"type\":\"string\"},\"date\":"
    "{\"type\":\"string\"}}}}",
    "{\"name\":\"think\",\"description\":\"Use the tool to think about something.\"}",
};
#define N_AIRLINE (sizeof AIRLINE / sizeof AIRLINE[0])

static tkn_toolsel *airline(const tkn_toolsel_options *o) {
  tkn_toolsel *c = NULL;
  assert_int_equal(tkn_toolsel_new(&c, o), TKN_OK);
  for (size_t i = 0; i < N_AIRLINE; i++) {
    uint32_t idx = 99;
    if (tkn_toolsel_add(c, S(AIRLINE[i]), &idx) != TKN_OK)
      fail_msg("tool %zu: %s", i, tkn_error_last()->message);
    assert_int_equal(idx, i);
  }
  return c;
}

static size_t select_q(const tkn_toolsel *c, const char *q, uint32_t k, uint32_t *out) {
  size_t n = 0;
  if (tkn_toolsel_select(c, S(q), k, NULL, 0, out, N_AIRLINE, &n) != TKN_OK)
    fail_msg("select: %s", tkn_error_last()->message);
  return n;
}

static void names_parameters_and_descriptions_are_searched(void **state) {
  (void)state;
  tkn_toolsel *c = airline(NULL);
  uint32_t sel[N_AIRLINE];
  /* a parameter name nested in "items" */
  assert_int_equal(select_q(c, "first name", 1, sel), 1);
  assert_int_equal(sel[0], 0);
  /* a description word, with the plural rule: "airport" finds "airports" */
  assert_int_equal(select_q(c, "which airport?", 1, sel), 1);
  assert_int_equal(sel[0], 3);
  /* camelCase and snake_case split alike: "direct_flight" finds searchDirectFlight */
  assert_int_equal(select_q(c, "DIRECT_FLIGHT", 1, sel), 1);
  assert_int_equal(sel[0], 4);
  tkn_toolsel_free(c);
}

static void stop_words_and_unknown_words_select_nothing(void **state) {
  (void)state;
  tkn_toolsel *c = airline(NULL);
  uint32_t sel[N_AIRLINE];
  assert_int_equal(select_q(c, "the of and to", 5, sel), 0);
  assert_int_equal(select_q(c, "zebra quantum", 5, sel), 0);
  assert_int_equal(select_q(c, "", 5, sel), 0);
  tkn_toolsel_free(c);
}

/* Two documents of 4 terms each: A holds "flight" once, B twice. */
static void scores_are_bm25_with_the_documented_constants(void **state) {
  (void)state;
  tkn_toolsel *c = NULL;
  assert_int_equal(tkn_toolsel_new(&c, NULL), TKN_OK);
  assert_int_equal(tkn_toolsel_add(c, S("{\"name\":\"alpha_search\",\"description\":"
                                         "\"find flights\"}"), NULL), TKN_OK);
  assert_int_equal(tkn_toolsel_add(c, S("{\"name\":\"beta\",\"description\":"
                                         "\"book a flight, flight\"}"), NULL), TKN_OK);
  double s[2];
  assert_int_equal(tkn_toolsel_scores(c, S("Flights"), s, 2), TKN_OK);
  double idf = log(1.0 + (2 - 2 + 0.5) / (2 + 0.5));
  double k1 = 1.2, b = 0.75;
  assert_true(fabs(s[0] - idf * 1 * (k1 + 1) / (1 + k1 * (1 - b + b))) < 1e-12);
  assert_true(fabs(s[1] - idf * 2 * (k1 + 1) / (2 + k1 * (1 - b + b))) < 1e-12);
  /* a term only A holds weighs more (idf of 1 tool in 2), and repeats in the
   * query count once */
  double t[2];
  assert_int_equal(tkn_toolsel_scores(c, S("alpha alpha"), t, 2), TKN_OK);
  double idf1 = log(1.0 + (2 - 1 + 0.5) / (1 + 0.5));
  assert_true(fabs(t[0] - idf1 * (k1 + 1) / (1 + k1)) < 1e-12);
  assert_true(t[1] == 0.0);
  tkn_toolsel_free(c);
  /* k1 = 0: term frequency no longer counts */
  tkn_toolsel_options o = TKN_TOOLSEL_OPTIONS_INIT;
  o.k1 = 0;
  assert_int_equal(tkn_toolsel_new(&c, &o), TKN_OK);
  assert_int_equal(tkn_toolsel_add(c, S("{\"name\":\"a\",\"description\":\"flight\"}"), NULL),
                   TKN_OK);
  assert_int_equal(tkn_toolsel_add(c, S("{\"name\":\"b\",\"description\":\"flight flight\"}"),
                                   NULL), TKN_OK);
  assert_int_equal(tkn_toolsel_scores(c, S("flight"), s, 2), TKN_OK);
  assert_true(s[0] > 0 && s[0] == s[1]);
  tkn_toolsel_free(c);
}

static void selection_is_in_catalogue_order_not_rank_order(void **state) {
  (void)state;
  tkn_toolsel *c = airline(NULL);
  double s[N_AIRLINE];
  const char *q = "cancel my reservation and search direct flights";
  assert_int_equal(tkn_toolsel_scores(c, S(q), s, N_AIRLINE), TKN_OK);
  /* the best is searchDirectFlight (4), ranked above the reservation tools */
  assert_true(s[4] > s[1] && s[1] > s[0]);
  uint32_t sel[N_AIRLINE];
  size_t n = select_q(c, q, 2, sel);
  assert_int_equal(n, 2);
  assert_int_equal(sel[0], 1);
  assert_int_equal(sel[1], 4);
  tkn_toolsel_free(c);
}

static void k_bounds_the_ranked_and_always_comes_beside_it(void **state) {
  (void)state;
  tkn_toolsel *c = airline(NULL);
  uint32_t sel[N_AIRLINE], always[] = {5, 0};
  size_t n = 0;
  assert_int_equal(tkn_toolsel_select(c, S("list airports"), 1, always, 2, sel, N_AIRLINE, &n),
                   TKN_OK);
  assert_int_equal(n, 3);
  assert_int_equal(sel[0], 0);
  assert_int_equal(sel[1], 3);
  assert_int_equal(sel[2], 5);
  /* k = 0: only the always-list */
  assert_int_equal(tkn_toolsel_select(c, S("list airports"), 0, always, 1, sel, N_AIRLINE, &n),
                   TKN_OK);
  assert_int_equal(n, 1);
  assert_int_equal(sel[0], 5);
  /* a large k takes every tool that matches, no more */
  assert_int_equal(select_q(c, "reservation", 100, sel), 3);
  tkn_toolsel_free(c);
}

static void equal_scores_prefer_the_earlier_tool(void **state) {
  (void)state;
  tkn_toolsel *c = NULL;
  assert_int_equal(tkn_toolsel_new(&c, NULL), TKN_OK);
  for (int i = 0; i < 4; i++) {
    char js[80];
    snprintf(js, sizeof js, "{\"name\":\"tool%c\",\"description\":\"weather\"}", 'a' + i);
    assert_int_equal(tkn_toolsel_add(c, S(js), NULL), TKN_OK);
  }
  uint32_t sel[4];
  size_t n = 0;
  assert_int_equal(tkn_toolsel_select(c, S("weather"), 2, NULL, 0, sel, 4, &n), TKN_OK);
  assert_int_equal(n, 2);
  assert_int_equal(sel[0], 0);
  assert_int_equal(sel[1], 1);
  tkn_toolsel_free(c);
}

static void too_small_an_output_says_how_many(void **state) {
  (void)state;
  tkn_toolsel *c = airline(NULL);
  size_t n = 0;
  assert_int_equal(tkn_toolsel_select(c, S("reservation"), 5, NULL, 0, NULL, 0, &n),
                   TKN_ERR_TOO_SMALL);
  assert_int_equal(n, 3);
  assert_int_equal(tkn_error_last()->status, TKN_ERR_TOO_SMALL);
  tkn_toolsel_free(c);
}

typedef struct host {
  int calls, fail;
  double bad;
} host;

/* A host search: prefer "think" whatever the query, BM25 for the rest. */
static int host_search(const tkn_toolsel *cat, const char *q, size_t ql, double *scores,
                       size_t n, void *user) {
  host *h = user;
  h->calls++;
  if (h->fail) return 1;
  if (tkn_toolsel_scores(cat, q, ql, scores, n)) return 1;
  scores[5] = 100.0;
  if (h->bad != 0) scores[2] = h->bad;
  return 0;
}

static void a_host_search_replaces_bm25(void **state) {
  (void)state;
  host h = {0, 0, 0};
  tkn_toolsel_options o = TKN_TOOLSEL_OPTIONS_INIT;
  o.search = host_search;
  o.search_user = &h;
  tkn_toolsel *c = airline(&o);
  uint32_t sel[N_AIRLINE];
  assert_int_equal(select_q(c, "list airports", 2, sel), 2);
  assert_int_equal(sel[0], 3);
  assert_int_equal(sel[1], 5);
  assert_int_equal(h.calls, 1);
  size_t n = 0;
  h.fail = 1;
  assert_int_equal(tkn_toolsel_select(c, S("x"), 2, NULL, 0, sel, N_AIRLINE, &n),
                   TKN_ERR_CALLBACK);
  h.fail = 0;
  h.bad = -1.0;
  assert_int_equal(tkn_toolsel_select(c, S("x"), 2, NULL, 0, sel, N_AIRLINE, &n),
                   TKN_ERR_CALLBACK);
  assert_non_null(strstr(tkn_error_last()->message, "get_user_details"));
  h.bad = NAN;
  assert_int_equal(tkn_toolsel_select(c, S("x"), 2, NULL, 0, sel, N_AIRLINE, &n),
                   TKN_ERR_CALLBACK);
  tkn_toolsel_free(c);
}

static void bad_definitions_leave_the_catalogue_as_it_was(void **state) {
  (void)state;
  tkn_toolsel *c = airline(NULL);
  assert_int_equal(tkn_toolsel_add(c, S("{\"name\":\"think\"}"), NULL), TKN_ERR_DUPLICATE);
  assert_int_equal(tkn_toolsel_add(c, S("{\"description\":\"x\"}"), NULL), TKN_ERR_SCHEMA);
  assert_int_equal(tkn_toolsel_add(c, S("{\"name\":\"x\",\"description\":3}"), NULL),
                   TKN_ERR_SCHEMA);
  assert_int_equal(tkn_toolsel_add(c, S("{\"name\":\"x\",\"parameters\":[]}"), NULL),
                   TKN_ERR_SCHEMA);
  assert_int_equal(tkn_toolsel_add(c, S("[1]"), NULL), TKN_ERR_SCHEMA);
  assert_int_equal(tkn_toolsel_add(c, S("{\"name\":"), NULL), TKN_ERR_PARSE);
  assert_int_equal(tkn_toolsel_add(c, "{\"name\":\"\xff\"}", 11, NULL), TKN_ERR_UTF8);
  assert_int_equal(tkn_toolsel_count(c), N_AIRLINE);
  uint32_t idx = 0;
  assert_int_equal(tkn_toolsel_find(c, S("think"), &idx), TKN_OK);
  assert_int_equal(idx, 5);
  assert_int_equal(tkn_toolsel_find(c, "thin", 4, &idx), TKN_ERR_NOT_FOUND);
  assert_non_null(strstr(tkn_error_last()->message, "\"thin\" (4 bytes)"));
  const char *name, *desc;
  size_t nl, dl;
  assert_int_equal(tkn_toolsel_tool(c, 3, &name, &nl, &desc, &dl), TKN_OK);
  assert_int_equal(nl, strlen("list_all_airports"));
  assert_memory_equal(name, "list_all_airports", nl);
  assert_memory_equal(desc, "List all", 8);
  assert_int_equal(tkn_toolsel_tool(c, N_AIRLINE, &name, &nl, NULL, NULL), TKN_ERR_INVALID);
  tkn_toolsel_free(c);
}

static void bad_arguments_are_refused_with_a_message(void **state) {
  (void)state;
  tkn_toolsel *c = NULL;
  tkn_toolsel_options o = TKN_TOOLSEL_OPTIONS_INIT;
  o.k1 = -1;
  assert_int_equal(tkn_toolsel_new(&c, &o), TKN_ERR_INVALID);
  o.k1 = 1.2;
  o.b = 1.5;
  assert_int_equal(tkn_toolsel_new(&c, &o), TKN_ERR_INVALID);
  o.b = NAN;
  assert_int_equal(tkn_toolsel_new(&c, &o), TKN_ERR_INVALID);
  o = (tkn_toolsel_options)TKN_TOOLSEL_OPTIONS_INIT;
  o.version = 99;
  assert_int_equal(tkn_toolsel_new(&c, &o), TKN_ERR_VERSION);
  assert_null(c);
  c = airline(NULL);
  uint32_t sel[N_AIRLINE], always = N_AIRLINE;
  size_t n = 0;
  assert_int_equal(tkn_toolsel_select(c, S("x"), 1, &always, 1, sel, N_AIRLINE, &n),
                   TKN_ERR_INVALID);
  assert_int_equal(tkn_toolsel_select(c, "\xc3", 1, 1, NULL, 0, sel, N_AIRLINE, &n),
                   TKN_ERR_UTF8);
  double s[N_AIRLINE];
  assert_int_equal(tkn_toolsel_scores(c, S("x"), s, 2), TKN_ERR_INVALID);
  tkn_prompt_builder *b = NULL;
  assert_int_equal(tkn_prompt_builder_new(&b, NULL), TKN_OK);
  uint32_t unordered[] = {3, 1};
  assert_int_equal(tkn_toolsel_add_to_builder(b, c, unordered, 2, TKN_TOOLSEL_DEFER_REST),
                   TKN_ERR_INVALID);
  assert_int_equal(tkn_toolsel_add_to_builder(b, c, NULL, 0, 7), TKN_ERR_INVALID);
  tkn_prompt_builder_free(b);
  tkn_toolsel_free(c);
}

/* ---- into a prompt ---- */

static char *render(const tkn_toolsel *c, const uint32_t *sel, size_t n, uint32_t mode,
                    int32_t provider, uint64_t *fp) {
  tkn_prompt_builder *b = NULL;
  assert_int_equal(tkn_prompt_builder_new(&b, NULL), TKN_OK);
  assert_int_equal(tkn_toolsel_add_to_builder(b, c, sel, n, mode), TKN_OK);
  assert_int_equal(tkn_prompt_builder_add_text(b, TKN_SEG_DYNAMIC, TKN_STABILITY_VOLATILE,
                                               S("q"), S("Hello"), NULL), TKN_OK);
  tkn_prompt *p = NULL;
  tkn_tokenizer *tok = NULL;
  assert_int_equal(tkn_tokenizer_new_encoding(&tok, S("o200k_base")), TKN_OK);
  assert_int_equal(tkn_prompt_assemble(&p, b, tok), TKN_OK);
  tkn_tokenizer_free(tok);
  tkn_render_options ro = TKN_RENDER_OPTIONS_INIT;
  ro.provider = provider;
  ro.model = provider == TKN_PROVIDER_ANTHROPIC ? "claude-sonnet-4-5" : "gpt-4o";
  ro.model_len = strlen(ro.model);
  ro.max_tokens = 100;
  char *body = NULL;
  assert_int_equal(tkn_prompt_render(p, &ro, &body, NULL), TKN_OK);
  if (fp) *fp = tkn_prompt_fingerprint(p);
  tkn_prompt_free(p);
  tkn_prompt_builder_free(b);
  return body;
}

static size_t count(const char *hay, const char *needle) {
  size_t k = 0;
  for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++) k++;
  return k;
}

static void anthropic_defers_the_rest_natively(void **state) {
  (void)state;
  tkn_toolsel *c = airline(NULL);
  uint32_t sel[] = {1, 4};
  char *body = render(c, sel, 2, TKN_TOOLSEL_DEFER_REST, TKN_PROVIDER_ANTHROPIC, NULL);
  /* every tool is listed, 4 of 6 deferred, and the tool search tool is added */
  assert_int_equal(count(body, "\"input_schema\""), N_AIRLINE);
  assert_int_equal(count(body, "\"defer_loading\":true"), N_AIRLINE - 2);
  assert_int_equal(count(body, "tool_search_tool_bm25"), 2);
  assert_non_null(strstr(body, "{\"name\":\"cancel_reservation\",\"description\":\"Cancel the "
                               "whole reservation.\",\"input_schema\":{\"properties\":"
                               "{\"reservation_id\":{\"type\":\"string\"}},\"type\":\"object\"}}"));
  tkn_free(body);
  /* only the selected ones, no search tool */
  body = render(c, sel, 2, TKN_TOOLSEL_ONLY_SELECTED, TKN_PROVIDER_ANTHROPIC, NULL);
  assert_int_equal(count(body, "\"input_schema\""), 2);
  assert_int_equal(count(body, "defer_loading"), 0);
  assert_int_equal(count(body, "tool_search"), 0);
  tkn_free(body);
  tkn_toolsel_free(c);
}

static void openai_gets_only_the_selected_tools(void **state) {
  (void)state;
  tkn_toolsel *c = airline(NULL);
  uint32_t sel[] = {0, 3};
  char *body = render(c, sel, 2, TKN_TOOLSEL_DEFER_REST, TKN_PROVIDER_OPENAI, NULL);
  assert_int_equal(count(body, "{\"type\":\"function\""), 2);
  assert_non_null(strstr(body, "\"name\":\"book_reservation\""));
  assert_non_null(strstr(body, "\"name\":\"list_all_airports\""));
  assert_null(strstr(body, "think"));
  assert_null(strstr(body, "defer_loading"));
  char *only = render(c, sel, 2, TKN_TOOLSEL_ONLY_SELECTED, TKN_PROVIDER_OPENAI, NULL);
  assert_string_equal(body, only);
  tkn_free(only);
  tkn_free(body);
  tkn_toolsel_free(c);
}

static void the_same_set_from_two_queries_is_the_same_prefix(void **state) {
  (void)state;
  tkn_toolsel *c = airline(NULL);
  uint32_t a[N_AIRLINE], b[N_AIRLINE];
  /* ranked 4 then 1, and 1 then 4: one set */
  size_t na = select_q(c, "search direct flights, or cancel the reservation", 2, a);
  size_t nb = select_q(c, "cancel reservation, cancel it, or a flight", 2, b);
  assert_int_equal(na, 2);
  assert_int_equal(nb, 2);
  assert_memory_equal(a, b, sizeof a[0] * 2);
  uint64_t fa = 0, fb = 1;
  char *ra = render(c, a, na, TKN_TOOLSEL_ONLY_SELECTED, TKN_PROVIDER_OPENAI, &fa);
  char *rb = render(c, b, nb, TKN_TOOLSEL_ONLY_SELECTED, TKN_PROVIDER_OPENAI, &fb);
  assert_string_equal(ra, rb);
  assert_true(fa == fb);
  tkn_free(ra);
  tkn_free(rb);
  tkn_toolsel_free(c);
}

/* ---- threads ---- */

typedef struct worker {
  const tkn_toolsel *c;
  int ok;
} worker;

static void *select_many(void *arg) {
  worker *w = arg;
  uint32_t sel[N_AIRLINE];
  w->ok = 1;
  for (int i = 0; i < 200; i++) {
    size_t n = 0;
    if (tkn_toolsel_select(w->c, S("cancel my reservation, then list airports"), 2, NULL, 0, sel,
                           N_AIRLINE, &n) || n != 2 || sel[0] != 1 || sel[1] != 3)
      w->ok = 0;
  }
  return NULL;
}

static void threads_select_from_one_catalogue_at_once(void **state) {
  (void)state;
  tkn_toolsel *c = airline(NULL);
  pthread_t th[4];
  worker w[4];
  for (int i = 0; i < 4; i++) {
    w[i].c = c;
    assert_int_equal(pthread_create(&th[i], NULL, select_many, &w[i]), 0);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    assert_true(w[i].ok);
  }
  tkn_toolsel_free(c);
}

/* ---- out of memory ---- */

/* Build, select and add to a builder; the result must not depend on where
 * an allocation was refused, only whether. */
static int oom_scenario(size_t *n_out) {
  tkn_toolsel *c = NULL;
  tkn_prompt_builder *b = NULL;
  int rc = tkn_toolsel_new(&c, NULL);
  for (size_t i = 0; !rc && i < N_AIRLINE; i++) rc = tkn_toolsel_add(c, S(AIRLINE[i]), NULL);
  uint32_t sel[N_AIRLINE];
  size_t n = 0;
  if (!rc)
    rc = tkn_toolsel_select(c, S("cancel my reservation, list airports"), 2, NULL, 0, sel,
                            N_AIRLINE, &n);
  if (!rc) rc = tkn_prompt_builder_new(&b, NULL);
  if (!rc) rc = tkn_toolsel_add_to_builder(b, c, sel, n, TKN_TOOLSEL_DEFER_REST);
  *n_out = n;
  tkn_prompt_builder_free(b);
  tkn_toolsel_free(c);
  return rc;
}

static void out_of_memory_fails_cleanly_at_every_allocation(void **state) {
  (void)state;
  int rc = -1;
  long n;
  size_t got = 0;
  for (n = 1; n < 100000; n++) {
    tt_alloc_install(n);
    rc = oom_scenario(&got);
    long live = tt_alloc.live;
    int failed = tt_alloc.failed;
    tt_alloc_restore();
    assert_int_equal(live, 0);
    if (!failed) break;
    /* core's JSON reader may see a refusal inside cJSON as a parse error
     * (see the tool cache's loop) */
    if (rc != TKN_ERR_NOMEM && rc != TKN_ERR_PARSE)
      fail_msg("allocation %ld refused: status %d (%s)", n, rc, tkn_error_last()->message);
  }
  assert_true(n > 10);
  assert_int_equal(rc, TKN_OK);
  assert_int_equal(got, 2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(names_parameters_and_descriptions_are_searched),
      cmocka_unit_test(stop_words_and_unknown_words_select_nothing),
      cmocka_unit_test(scores_are_bm25_with_the_documented_constants),
      cmocka_unit_test(selection_is_in_catalogue_order_not_rank_order),
      cmocka_unit_test(k_bounds_the_ranked_and_always_comes_beside_it),
      cmocka_unit_test(equal_scores_prefer_the_earlier_tool),
      cmocka_unit_test(too_small_an_output_says_how_many),
      cmocka_unit_test(a_host_search_replaces_bm25),
      cmocka_unit_test(bad_definitions_leave_the_catalogue_as_it_was),
      cmocka_unit_test(bad_arguments_are_refused_with_a_message),
      cmocka_unit_test(anthropic_defers_the_rest_natively),
      cmocka_unit_test(openai_gets_only_the_selected_tools),
      cmocka_unit_test(the_same_set_from_two_queries_is_the_same_prefix),
      cmocka_unit_test(threads_select_from_one_catalogue_at_once),
      cmocka_unit_test(out_of_memory_fails_cleanly_at_every_allocation),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
