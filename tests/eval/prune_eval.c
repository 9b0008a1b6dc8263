/* Evaluation of pruning: how many of the facts the final question needs are
 * still in the conversation after pruning to 50% and 25% of its tokens, for
 * trim (strategy last), score, and summarise (score's drops summarised by a
 * deterministic test summariser), and how many tokens each saves.
 *
 * Conversations are generated: a support agent with tool calls and results,
 * user corrections, chit-chat and long filler answers; facts (unique codes)
 * sit in specific earlier messages (tool results, corrections, plain user
 * statements, assistant confirmations), and the final user turn asks for a
 * subset of them.  Token counts: the built-in estimator with OpenAI's
 * per-message overheads.
 *
 * Exit status 1 if score keeps fewer or as many needed facts as trim-last at
 * either budget (the requirement), so this also runs as a check.
 * usage: prune_eval [conversations] [seed] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tokenomy.h>

#define MAX_FACTS 12

static unsigned long long g_state;
static unsigned rnd(unsigned n) {
  g_state = g_state * 6364136223846793005ULL + 1442695040888963407ULL;
  return (unsigned)((g_state >> 33) % n);
}

typedef struct sample {
  tkn_conv *conv;
  char facts[MAX_FACTS][24];
  int nfacts;
  int needed[MAX_FACTS];
  int nneeded;
} sample;

static const char *const FILLER[] = {
    "I understand how frustrating this must be, and I want to make sure we get everything "
    "sorted out for you today. Our team works hard to resolve issues like this quickly, and "
    "I appreciate your patience while I look into the details of your request.",
    "Thanks for reaching out. Generally speaking, orders move through several stages before "
    "they arrive: processing, packing, handing over to the carrier and final delivery. Each "
    "stage can take a little longer during busy periods, which is quite common this time of year.",
    "That is a great question. There are a few different options we could consider here, and "
    "each of them has its own advantages. Let me walk you through the general process so that "
    "you know what to expect over the next few days.",
};
static const char *const ACKS[] = {"ok thanks", "great, thank you!", "got it", "sure",
                                   "ok", "perfect, thanks", "cool"};
static const char *const ASSISTANT_ACKS[] = {"You're welcome!", "Happy to help.",
                                             "No problem at all.", "Noted."};
static const char *const SUBJECTS[] = {"order number", "tracking code", "account id",
                                       "refund reference", "delivery zip", "ticket id",
                                       "invoice number", "replacement sku"};

static void append(tkn_conv *c, int role, const char *text) {
  if (tkn_conv_append_text(c, role, text, strlen(text)) != TKN_OK) abort();
}

static void new_fact(sample *s, const char *prefix) {
  int f = s->nfacts++;
  snprintf(s->facts[f], sizeof s->facts[f], "%s-%05u", prefix, rnd(100000));
}

/* One conversation: facts are introduced in different kinds of message. */
static void generate(sample *s) {
  memset(s, 0, sizeof *s);
  if (tkn_conv_new(&s->conv) != TKN_OK) abort();
  tkn_conv *c = s->conv;
  char buf[1024];
  append(c, TKN_ROLE_SYSTEM,
         "You are a support agent for an online shop. Use the tools to look things up. "
         "Answer with exact codes.");
  int turns = 14 + (int)rnd(8);
  int call = 0;
  for (int t = 0; t < turns; t++) {
    unsigned kind = rnd(10);
    if (kind < 3 && s->nfacts < MAX_FACTS) {
      /* a tool call whose result holds a fact */
      new_fact(s, "TRK");
      snprintf(buf, sizeof buf, "Can you check the status of my %s?", SUBJECTS[rnd(8)]);
      append(c, TKN_ROLE_USER, buf);
      size_t a = tkn_conv_count(c);
      append(c, TKN_ROLE_ASSISTANT, "");
      char id[32];
      snprintf(id, sizeof id, "call_%d", call++);
      tkn_conv_add_tool_call(c, a, id, strlen(id), "lookup", 6, "{\"query\":\"status\"}", 18);
      snprintf(buf, sizeof buf,
               "{\"status\":\"in transit\",\"code\":\"%s\",\"carrier\":\"DHL\",\"eta_days\":%u}",
               s->facts[s->nfacts - 1], 1 + rnd(9));
      size_t r = tkn_conv_count(c);
      append(c, TKN_ROLE_TOOL, buf);
      tkn_conv_set_tool_call_id(c, r, id, strlen(id));
      append(c, TKN_ROLE_ASSISTANT, FILLER[rnd(3)]);
    } else if (kind < 5 && s->nfacts > 0 && s->nfacts < MAX_FACTS) {
      /* a user correction replacing an earlier value */
      new_fact(s, "FIX");
      snprintf(buf, sizeof buf, "Actually, that is wrong: the %s should be %s, not the old one.",
               SUBJECTS[rnd(8)], s->facts[s->nfacts - 1]);
      append(c, TKN_ROLE_USER, buf);
      append(c, TKN_ROLE_ASSISTANT, ASSISTANT_ACKS[rnd(4)]);
    } else if (kind < 6 && s->nfacts < MAX_FACTS) {
      /* a plain user statement holding a fact */
      new_fact(s, "ACC");
      snprintf(buf, sizeof buf, "For reference, my %s is %s and I ordered last week.",
               SUBJECTS[rnd(8)], s->facts[s->nfacts - 1]);
      append(c, TKN_ROLE_USER, buf);
      append(c, TKN_ROLE_ASSISTANT, FILLER[rnd(3)]);
    } else if (kind < 7 && s->nfacts < MAX_FACTS) {
      /* an assistant confirmation holding a fact */
      new_fact(s, "REF");
      append(c, TKN_ROLE_USER, "Could you open a refund for the damaged item?");
      snprintf(buf, sizeof buf, "Done: refund %s is open and will be paid within 5 days.",
               s->facts[s->nfacts - 1]);
      append(c, TKN_ROLE_ASSISTANT, buf);
    } else {
      /* chit-chat */
      append(c, TKN_ROLE_USER, ACKS[rnd(7)]);
      append(c, TKN_ROLE_ASSISTANT, rnd(2) ? ASSISTANT_ACKS[rnd(4)] : FILLER[rnd(3)]);
    }
  }
  /* the final question needs up to four facts, spread over the conversation */
  int want = s->nfacts < 4 ? s->nfacts : 4;
  for (int k = 0; k < want; k++) s->needed[s->nneeded++] = k * s->nfacts / want;
  snprintf(buf, sizeof buf,
           "To wrap up, please list every code we discussed: tracking, corrections, references "
           "and ids, exactly.");
  append(c, TKN_ROLE_USER, buf);
}

/* Share of the needed facts found anywhere in the conversation's text. */
static int facts_present(sample *s, tkn_conv *c) {
  int found = 0;
  for (int k = 0; k < s->nneeded; k++) {
    const char *fact = s->facts[s->needed[k]];
    for (size_t i = 0; i < tkn_conv_count(c); i++) {
      const char *t;
      size_t len;
      tkn_conv_text(c, i, &t, &len);
      char *copy = malloc(len + 1);
      memcpy(copy, t, len);
      copy[len] = '\0';
      int hit = strstr(copy, fact) != NULL;
      free(copy);
      if (hit) {
        found++;
        break;
      }
    }
  }
  return found;
}

/* The deterministic test summariser: the "informative" words (with a digit
 * or a dash) of the dropped messages, in order, while they fit. */
typedef struct summariser {
  const tkn_tokenizer *tok;
  char out[4096];
} summariser;

static int summarise(tkn_conv *c, const size_t *dropped, size_t n, int64_t max_tokens,
                     const char **text, size_t *len, void *user) {
  summariser *s = user;
  size_t w = (size_t)snprintf(s->out, sizeof s->out, "Summary of earlier turns:");
  for (size_t k = 0; k < n; k++) {
    const char *t;
    size_t tl;
    tkn_conv_text(c, dropped[k], &t, &tl);
    size_t i = 0;
    while (i < tl) {
      while (i < tl && (t[i] == ' ' || t[i] == '\n' || t[i] == '"' || t[i] == ',')) i++;
      size_t st = i;
      int informative = 0;
      while (i < tl && t[i] != ' ' && t[i] != '\n' && t[i] != '"' && t[i] != ',') {
        if ((t[i] >= '0' && t[i] <= '9') || t[i] == '-') informative = 1;
        i++;
      }
      if (!informative || i == st || w + (i - st) + 2 >= sizeof s->out) continue;
      size_t before = w;
      s->out[w++] = ' ';
      memcpy(s->out + w, t + st, i - st);
      w += i - st;
      int64_t tokens = 0;
      tkn_tokenizer_count(s->tok, s->out, w, &tokens);
      if (tokens > max_tokens) {
        w = before;
        goto done;
      }
    }
  }
done:
  *text = s->out;
  *len = w;
  return 0;
}

typedef struct tally {
  long facts, needed, failed;
  double after_share;
  long runs;
} tally;

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 200;
  unsigned long long seed = argc > 2 ? strtoull(argv[2], NULL, 10) : 7;
  g_state = seed;
  tkn_tokenizer *tok = NULL;
  tkn_pruner *p = NULL;
  if (tkn_tokenizer_new_estimator(&tok) || tkn_prune_new(&p, tok)) return 2;
  static const double budgets[2] = {0.50, 0.25};
  static const char *const names[3] = {"trim-last", "score", "summarise"};
  tally t[2][3];
  memset(t, 0, sizeof t);
  summariser sum = {tok, {0}};
  long total_messages = 0;
  for (int i = 0; i < n; i++) {
    sample s;
    generate(&s);
    total_messages += (long)tkn_conv_count(s.conv);
    tkn_count_options co = TKN_COUNT_OPTIONS_INIT;
    int64_t before = 0;
    tkn_tokenizer_count_conv(tok, s.conv, &co, &before, NULL);
    for (int b = 0; b < 2; b++)
      for (int m = 0; m < 3; m++) {
        tkn_conv *c = NULL;
        if (tkn_conv_clone(&c, s.conv)) return 2;
        tkn_prune_options o = TKN_PRUNE_OPTIONS_INIT;
        o.mode = m == 0 ? TKN_PRUNE_TRIM : m == 1 ? TKN_PRUNE_SCORE : TKN_PRUNE_SUMMARISE;
        o.max_tokens = (int64_t)((double)before * budgets[b]);
        o.strategy = TKN_PRUNE_LAST;
        o.include_system = 1;
        o.start_on = TKN_PRUNE_ROLE(TKN_ROLE_USER);
        o.summarise = summarise;
        o.summarise_user = &sum;
        tkn_prune_report *rep = NULL;
        tally *x = &t[b][m];
        x->needed += s.nneeded;
        x->runs++;
        if (tkn_prune_run(p, c, &o, &rep) != TKN_OK) {
          x->failed++;
          x->after_share += 1.0;
        } else {
          int64_t after = 0;
          tkn_prune_report_tokens(rep, NULL, &after);
          x->after_share += (double)after / (double)before;
          x->facts += facts_present(&s, c);
        }
        tkn_prune_report_free(rep);
        tkn_conv_free(c);
      }
    tkn_conv_free(s.conv);
  }
  printf("prune evaluation: %d generated agent conversations (seed %llu, %.1f messages each), "
         "up to 4 needed facts each; estimator tokenizer, OpenAI overheads\n",
         n, seed, (double)total_messages / n);
  printf("rerun: prune_eval %d %llu   (meson test -C <build> --benchmark --suite eval -v)\n", n,
         seed);
  printf("%-7s %-10s %12s %14s %10s %7s\n", "budget", "method", "facts kept", "tokens after",
         "reduction", "failed");
  int ok = 1;
  for (int b = 0; b < 2; b++) {
    for (int m = 0; m < 3; m++) {
      tally *x = &t[b][m];
      double kept = x->needed ? 100.0 * (double)x->facts / (double)x->needed : 0;
      double after = 100.0 * x->after_share / (double)x->runs;
      printf("%5.0f%%  %-10s %11.1f%% %13.1f%% %9.1f%% %7ld\n", budgets[b] * 100, names[m], kept,
             after, 100.0 - after, x->failed);
    }
    if (t[b][1].facts <= t[b][0].facts) ok = 0;
  }
  printf("score vs trim-last: %s at both budgets\n", ok ? "keeps more needed facts" : "DOES NOT keep more");
  tkn_prune_free(p);
  tkn_tokenizer_free(tok);
  return ok ? 0 : 1;
}
