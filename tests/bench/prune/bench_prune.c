/* Benchmark: pruning a 10,000-message conversation to budget with cached
 * token counts, side by side with @langchain/core's trimMessages (node) on
 * the same conversations and the same counter, and the ratio.
 *
 * The counter is the conformance test's (whitespace + ceil(other bytes / 4)
 * over role, text, tool-call names, arguments and ids, no overheads); both
 * sides cache per-message counts (ours in the conversation, LangChain's in a
 * WeakMap keyed by the message object).  trimMessages copies its input, so
 * each of its runs counts every message once: it is timed against ours both
 * with every count already cached and from scratch (on a conversation
 * freshly read from JSON, each message counted once during the run).  The comparison runs trim with tool-pair
 * protection off, where the results must be identical (checked); our other
 * modes are timed too, for reference.  Nothing is asserted about time.
 *
 * usage: bench_prune [NPM_DIR DRIVER.cjs]   (without them: ours only)
 * rerun: meson test -C <build> --benchmark --suite bench -v prune */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <tokenomy.h>

#define MESSAGES 10000
#define CONVS 2
#define REPS 50

static unsigned long long g_state;
static unsigned rnd(unsigned n) {
  g_state = g_state * 6364136223846793005ULL + 1442695040888963407ULL;
  return (unsigned)((g_state >> 33) % n);
}

static int shared_count(const char *text, size_t len, int64_t *out, void *user) {
  (void)user;
  int64_t ws = 0, other = 0;
  for (size_t i = 0; i < len; i++) {
    char c = text[i];
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r') ws++;
    else other++;
  }
  *out = ws + (other + 3) / 4;
  return 0;
}

static const char *const WORDS[] = {"order", "refund", "shipping", "4821", "the", "customer",
                                    "asked", "about", "invoice", "JD0142", "tracking", "is",
                                    "delayed", "because", "weather", "please", "check", "ok"};

static void text(char *buf, size_t cap) {
  size_t w = 0;
  unsigned n = 5 + rnd(36);
  for (unsigned i = 0; i < n && w + 16 < cap; i++)
    w += (size_t)snprintf(buf + w, cap - w, "%s%s", i ? (rnd(8) ? " " : "\n") : "",
                          WORDS[rnd(sizeof WORDS / sizeof WORDS[0])]);
}

static tkn_conv *generate(void) {
  tkn_conv *c = NULL;
  if (tkn_conv_new(&c)) return NULL;
  char buf[512];
  int call = 0;
  text(buf, sizeof buf);
  tkn_conv_append_text(c, TKN_ROLE_SYSTEM, buf, strlen(buf));
  while (tkn_conv_count(c) < MESSAGES) {
    text(buf, sizeof buf);
    tkn_conv_append_text(c, TKN_ROLE_USER, buf, strlen(buf));
    if (!rnd(3) && tkn_conv_count(c) + 3 <= MESSAGES) {
      size_t a = tkn_conv_count(c);
      tkn_conv_append_text(c, TKN_ROLE_ASSISTANT, "", 0);
      char id[32];
      snprintf(id, sizeof id, "call_%d", call++);
      tkn_conv_add_tool_call(c, a, id, strlen(id), "lookup", 6, "{\"q\":\"order\"}", 13);
      text(buf, sizeof buf);
      size_t r = tkn_conv_count(c);
      tkn_conv_append_text(c, TKN_ROLE_TOOL, buf, strlen(buf));
      tkn_conv_set_tool_call_id(c, r, id, strlen(id));
    }
    if (tkn_conv_count(c) < MESSAGES) {
      text(buf, sizeof buf);
      tkn_conv_append_text(c, TKN_ROLE_ASSISTANT, buf, strlen(buf));
    }
  }
  return c;
}

/* CPU time of this process: the machine is shared, wall time is noisy. */
static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Median time of one prune run over clones that carry the cached counts or,
 * given the conversation's JSON, over conversations read from it (no count
 * cached: the run counts every message once, from scratch). */
static double time_prune(tkn_pruner *p, tkn_conv *conv, const char *json,
                         const tkn_prune_options *o, size_t *kept) {
  double t[REPS];
  for (int r = 0; r < REPS; r++) {
    tkn_conv *c = NULL;
    if (json ? tkn_conv_from_json(&c, TKN_PROVIDER_OPENAI, json, strlen(json))
             : tkn_conv_clone(&c, conv))
      exit(2);
    double t0 = now_ms();
    if (tkn_prune_run(p, c, o, NULL) != TKN_OK) {
      fprintf(stderr, "bench_prune: %s\n", tkn_error_last()->message);
      exit(2);
    }
    t[r] = now_ms() - t0;
    *kept = tkn_conv_count(c);
    tkn_conv_free(c);
  }
  qsort(t, REPS, sizeof t[0], cmp_double);
  return t[REPS / 2];
}

int main(int argc, char **argv) {
  const char *npm_dir = argc > 2 ? argv[1] : NULL;
  const char *driver = argc > 2 ? argv[2] : NULL;
  g_state = 424242;
  tkn_tokenizer_callbacks cb = TKN_TOKENIZER_CALLBACKS_INIT;
  cb.count = shared_count;
  tkn_tokenizer *tok = NULL;
  tkn_pruner *p = NULL;
  if (tkn_tokenizer_new_callback(&tok, &cb, NULL) || tkn_prune_new(&p, tok)) return 2;
  tkn_count_options zero = {TKN_COUNT_OPTIONS_VERSION, 0, 0, 0, 0};

  char path[] = "/tmp/tkn_bench_prune_XXXXXX";
  int fd = mkstemp(path);
  FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
  if (!f) return 2;
  fputs("[", f);

  tkn_conv *convs[CONVS];
  int64_t budget[CONVS];
  size_t ours_kept[CONVS];
  double ours_ms[CONVS], scratch_ms[CONVS], score_ms[CONVS], protect_ms[CONVS];
  for (int k = 0; k < CONVS; k++) {
    convs[k] = generate();
    int64_t total = 0;
    /* counting once fills the cache: every run below uses cached counts */
    if (!convs[k] || tkn_tokenizer_count_conv(tok, convs[k], &zero, &total, NULL)) return 2;
    budget[k] = total / 2;
    tkn_prune_options o = TKN_PRUNE_OPTIONS_INIT;
    o.count = zero;
    o.max_tokens = budget[k];
    o.protect_tool_pairs = 0;
    o.fix_provider_order = 0;
    char *json = NULL;
    if (tkn_conv_to_json(convs[k], TKN_PROVIDER_OPENAI, &json, NULL)) return 2;
    ours_ms[k] = time_prune(p, convs[k], NULL, &o, &ours_kept[k]);
    size_t dummy;
    scratch_ms[k] = time_prune(p, NULL, json, &o, &dummy);
    if (dummy != ours_kept[k]) {
      fprintf(stderr, "bench_prune: from scratch kept %zu, cached %zu\n", dummy, ours_kept[k]);
      return 2;
    }
    o.protect_tool_pairs = 1;
    o.fix_provider_order = 1;
    protect_ms[k] = time_prune(p, convs[k], NULL, &o, &dummy);
    o.mode = TKN_PRUNE_SCORE;
    score_ms[k] = time_prune(p, convs[k], NULL, &o, &dummy);
    fprintf(f, "%s{\"maxTokens\":%lld,\"messages\":%s}", k ? "," : "", (long long)budget[k], json);
    tkn_free(json);
  }
  fputs("]\n", f);
  fclose(f);

  double lc_ms[CONVS];
  size_t lc_kept[CONVS];
  int have_lc = 0;
  char version[64] = "?";
  if (npm_dir) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "node '%s' '%s' '%s'", driver, path, npm_dir);
    FILE *pp = popen(cmd, "r");
    char line[256];
    int k = 0;
    while (pp && fgets(line, sizeof line, pp)) {
      double ms;
      size_t kept;
      if (sscanf(line, "version %63s", version) == 1) continue;
      if (k < CONVS && sscanf(line, "trim %lf %zu", &ms, &kept) == 2) {
        lc_ms[k] = ms;
        lc_kept[k] = kept;
        k++;
      }
    }
    have_lc = pp && pclose(pp) == 0 && k == CONVS;
  }
  remove(path);

  printf("prune benchmark: %d conversations of %d messages (user / assistant / tool calls with "
         "results), budget 50%% of each one's tokens; CPU time, ours: median of %d runs\n",
         CONVS, MESSAGES, REPS);
  printf("counter: whitespace + ceil(other bytes / 4) per field, no overheads (both sides), "
         "each side caching counts per message\n");
  printf("ours cached: every message's count already known; from scratch: none known, each "
         "counted once during the trim (as LangChain's always is)\n");
  printf("rerun: meson test -C <build> --benchmark --suite bench -v prune\n");
  printf("%-4s %-13s %12s %12s %8s   %s\n", "conv", "counts", "tokenomy", "langchain", "ratio",
         "same");
  int all_same = 1;
  for (int k = 0; k < CONVS; k++) {
    if (have_lc) {
      int same = lc_kept[k] == ours_kept[k];
      all_same &= same;
      printf("%-4d %-13s %9.3f ms %9.1f ms %7.0fx   %s\n", k, "cached", ours_ms[k], lc_ms[k],
             lc_ms[k] / ours_ms[k], same ? "yes" : "NO");
      printf("%-4d %-13s %9.3f ms %9.1f ms %7.0fx   %s\n", k, "from scratch", scratch_ms[k],
             lc_ms[k], lc_ms[k] / scratch_ms[k], same ? "yes" : "NO");
    } else {
      printf("%-4d %-13s %9.3f ms %12s %8s   -\n", k, "cached", ours_ms[k], "n/a", "n/a");
      printf("%-4d %-13s %9.3f ms %12s %8s   -\n", k, "from scratch", scratch_ms[k], "n/a", "n/a");
    }
  }
  printf("ours, other modes (cached counts): ");
  for (int k = 0; k < CONVS; k++)
    printf("%sconv %d: +tool-pair protection %.3f ms, score mode %.3f ms", k ? "; " : "", k,
           protect_ms[k], score_ms[k]);
  printf("\n");
  if (have_lc)
    printf("langchain: @langchain/core trimMessages (strategy last), version/runtime %s; "
           "median of 3 runs\n", version);
  else
    printf("langchain: not run (node / npm unavailable)\n");
  for (int k = 0; k < CONVS; k++) tkn_conv_free(convs[k]);
  tkn_prune_free(p);
  tkn_tokenizer_free(tok);
  return have_lc && !all_same ? 1 : 0;
}
