/* Benchmark: what the cache-economics policy (TKN_PRUNE_POLICY) costs per
 * model call, beside what an agent pays per call anyway: counting the
 * conversation's tokens (tkn_tokenizer_count_conv, the strongest simple thing
 * a host does to know where it stands), and beside always masking.
 *
 * A support-agent conversation grows call by call (user question, a tool
 * call, its result of a few hundred tokens, an answer), counted with the
 * exact o200k_base tokenizer.  At every call each variant runs in place on its
 * own copy of the conversation as the agent would keep it; the table gives
 * the median and the 90th percentile of the per-call CPU time over the calls
 * of conversations of 20, 200 and 1,000 calls, and how many calls cleared.
 * Nothing is asserted about time.
 *
 * rerun: meson test -C <build> --benchmark --suite bench -v prune-policy */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <tokenomy.h>

static unsigned long long g_state = 77;
static unsigned rnd(unsigned n) {
  g_state = g_state * 6364136223846793005ULL + 1442695040888963407ULL;
  return (unsigned)((g_state >> 33) % n);
}

static const char *const WORDS[] = {"reservation", "flight", "HAT170", "2024-05-14", "economy",
                                    "baggage", "the", "user", "id", "mia_li_3668", "payment",
                                    "credit_card_4421486", "status", "available", "price", "1284",
                                    "origin", "JFK", "destination", "SEA", "seat", "basic"};

static void text(char *buf, size_t cap, unsigned words) {
  size_t w = 0;
  for (unsigned i = 0; i < words && w + 32 < cap; i++)
    w += (size_t)snprintf(buf + w, cap - w, "%s%s", i ? (rnd(6) ? " " : ", ") : "",
                          WORDS[rnd(sizeof WORDS / sizeof WORDS[0])]);
}

/* Append part `part` of turn t: 0 the user's question, 1 the model's tool
 * call and its result, 2 the model's answer.  A call follows parts 0 and 1. */
static int append_turn(tkn_conv *c, int t, int part) {
  char buf[8192], id[32];
  if (part == 0) {
    text(buf, sizeof buf, 10 + rnd(20));
    return tkn_conv_append_text(c, TKN_ROLE_USER, buf, strlen(buf));
  }
  if (part == 2) {
    text(buf, sizeof buf, 20 + rnd(40));
    return tkn_conv_append_text(c, TKN_ROLE_ASSISTANT, buf, strlen(buf));
  }
  size_t a = tkn_conv_count(c);
  snprintf(id, sizeof id, "call_%d", t);
  if (tkn_conv_append_text(c, TKN_ROLE_ASSISTANT, "", 0) ||
      tkn_conv_add_tool_call(c, a, id, strlen(id), "get_reservation_details", 23,
                             "{\"reservation_id\":\"4WQ150\"}", 27))
    return -1;
  text(buf, sizeof buf, 100 + rnd(400));
  size_t r = tkn_conv_count(c);
  if (tkn_conv_append_text(c, TKN_ROLE_TOOL, buf, strlen(buf)) ||
      tkn_conv_set_tool_call_id(c, r, id, strlen(id)))
    return -1;
  return 0;
}

static double cpu_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

enum { COUNT, MASK, POLICY, VARIANTS };
static const char *const NAMES[VARIANTS] = {"count the conversation", "mask (keep 3)",
                                            "policy (keep 3)"};

int main(void) {
  tkn_tokenizer *tok = NULL;
  tkn_pruner *p = NULL;
  if (tkn_tokenizer_new_encoding(&tok, "o200k_base", 10) || tkn_prune_new(&p, tok)) {
    fprintf(stderr, "bench_policy: %s\n", tkn_error_last()->message);
    return 2;
  }
  tkn_prune_options o[VARIANTS];
  o[MASK] = (tkn_prune_options)TKN_PRUNE_OPTIONS_INIT;
  o[MASK].mode = TKN_PRUNE_MASK;
  o[POLICY] = o[MASK];
  o[POLICY].mode = TKN_PRUNE_POLICY;
  o[POLICY].price_input_per_mtok = 2500000000000;      /* gpt-4o */
  o[POLICY].price_cache_read_per_mtok = 1250000000000;
  static const int TURNS[] = {10, 100, 500};
  printf("| calls | variant | median us/call | p90 us/call | calls that cleared |\n");
  printf("|------:|---------|---------------:|------------:|-------------------:|\n");
  for (size_t k = 0; k < sizeof TURNS / sizeof TURNS[0]; k++) {
    int turns = TURNS[k];
    size_t calls = (size_t)turns * 2;
    double *t = malloc(calls * sizeof *t);
    if (!t) return 2;
    for (int v = 0; v < VARIANTS; v++) {
      g_state = 77 + k;
      tkn_conv *c = NULL;
      if (tkn_conv_new(&c) ||
          tkn_conv_append_text(c, TKN_ROLE_SYSTEM, "You are an airline agent.", 25))
        return 2;
      size_t n = 0, cleared = 0;
      for (int turn = 0; turn < turns; turn++) {
        /* two calls per turn: after the user message, after the tool result */
        for (int call = 0; call < 2; call++) {
          if (append_turn(c, turn, call)) return 2;
          double t0 = cpu_us();
          int rc;
          tkn_prune_report *rep = NULL;
          if (v == COUNT) {
            int64_t total = 0;
            rc = tkn_tokenizer_count_conv(tok, c, NULL, &total, NULL);
          } else {
            rc = tkn_prune_run(p, c, &o[v], &rep);
          }
          t[n++] = cpu_us() - t0;
          if (rc) {
            fprintf(stderr, "bench_policy: %s\n", tkn_error_last()->message);
            return 2;
          }
          size_t m = 0;
          if (rep && tkn_prune_report_cleared(rep, &m, NULL) == TKN_OK && m) cleared++;
          tkn_prune_report_free(rep);
        }
        if (append_turn(c, turn, 2)) return 2;
      }
      qsort(t, n, sizeof *t, cmp_double);
      printf("| %5zu | %s | %14.1f | %11.1f | %18zu |\n", calls, NAMES[v], t[n / 2],
             t[n * 9 / 10], cleared);
      tkn_conv_free(c);
    }
    free(t);
  }
  printf("\nCPU time per model call of one agent conversation as it grows (o200k_base, counts\n"
         "cached in the conversation as an agent keeps it); the policy's decision includes\n"
         "reading the conversation and, when it clears, rewriting it.\n");
  tkn_prune_free(p);
  tkn_tokenizer_free(tok);
  return 0;
}
