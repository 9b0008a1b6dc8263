/* Conformance cases for trim mode: generates agent conversations (system
 * prompts, multi-line user turns, tool calls with results, empty assistant
 * content), prunes each with tkn_prune_run in TRIM mode under several budgets
 * and options, and writes one JSON line per case: the conversation, the
 * options and the messages we kept (original index and text).  The node
 * driver (trim_conformance.cjs) runs @langchain/core's trimMessages on the
 * same cases with the same token counter and compares, message for message.
 *
 * The shared counter: whitespace characters + ceil(other bytes / 4), applied
 * as tkn_tokenizer_count_message applies any tokenizer (role name, text,
 * tool-call names and arguments, tool-call id) with zero overheads.
 * Tool-pair protection and provider fixes are off: that is where we differ.
 *
 * usage: trim_cases [conversations] [seed] > cases.jsonl */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tokenomy.h>

#include "internal.h"

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

/* The "space" splitter of the driver: pieces end after each space. */
static int split_spaces(const char *text, size_t len, size_t pos, size_t *end, int32_t *last,
                        void *user) {
  (void)user;
  const char *sp = memchr(text + pos, ' ', len - pos);
  *end = sp ? (size_t)(sp - text) + 1 : len;
  *last = *end == len;
  return 0;
}

static unsigned long long g_state;
static unsigned rnd(unsigned n) {
  g_state = g_state * 6364136223846793005ULL + 1442695040888963407ULL;
  return (unsigned)((g_state >> 33) % n);
}

static const char *const WORDS[] = {
    "order", "refund", "shipping", "4821", "the", "customer", "asked", "about", "invoice",
    "JD0142", "tracking", "is", "delayed", "because", "of", "weather", "please", "check",
    "account", "status", "premium", "2024-05-02", "address", "Elm", "Street", "ok",
    "thanks", "x", "a", "warehouse", "ETA", "friday",
};

static void words(tki_buf *b, unsigned n) {
  for (unsigned i = 0; i < n; i++) {
    if (i) tki_buf_putc(b, ' ');
    tki_buf_puts(b, WORDS[rnd(sizeof WORDS / sizeof WORDS[0])]);
  }
}

/* Text of 1..4 lines, sometimes with a trailing newline or blank line. */
static void text(tki_buf *b) {
  unsigned lines = 1 + rnd(4);
  for (unsigned l = 0; l < lines; l++) {
    if (l) tki_buf_puts(b, rnd(6) ? "\n" : "\n\n");
    words(b, 1 + rnd(9));
  }
  if (!rnd(5)) tki_buf_putc(b, '\n');
}

static tkn_conv *generate(void) {
  tkn_conv *c = NULL;
  if (tkn_conv_new(&c) != TKN_OK) return NULL;
  tki_buf b;
  tki_buf_init(&b);
  int ncall = 0;
  if (rnd(10) < 7) {
    b.len = 0;
    text(&b);
    tkn_conv_append_text(c, TKN_ROLE_SYSTEM, b.data, b.len);
  }
  unsigned turns = 1 + rnd(10);
  for (unsigned t = 0; t < turns; t++) {
    unsigned users = rnd(8) ? 1 : 2;
    for (unsigned u = 0; u < users; u++) {
      b.len = 0;
      text(&b);
      tkn_conv_append_text(c, TKN_ROLE_USER, b.data, b.len);
    }
    unsigned calls = rnd(3) ? 0 : 1 + rnd(2);
    if (calls) {
      size_t a = tkn_conv_count(c);
      b.len = 0;
      if (rnd(2)) text(&b);
      tkn_conv_append_text(c, TKN_ROLE_ASSISTANT, b.data ? b.data : "", b.len);
      char ids[2][24];
      for (unsigned k = 0; k < calls; k++) {
        snprintf(ids[k], sizeof ids[k], "call_%d", ncall++);
        const char *args = rnd(2) ? "{\"q\": \"order 4821\"}" : "{}";
        const char *fn = rnd(2) ? "lookup" : "get_status";
        tkn_conv_add_tool_call(c, a, ids[k], strlen(ids[k]), fn, strlen(fn), args, strlen(args));
      }
      for (unsigned k = 0; k < calls; k++) {
        b.len = 0;
        text(&b);
        size_t r = tkn_conv_count(c);
        tkn_conv_append_text(c, TKN_ROLE_TOOL, b.data, b.len);
        tkn_conv_set_tool_call_id(c, r, ids[k], strlen(ids[k]));
      }
    }
    if (!calls || rnd(3)) {
      b.len = 0;
      text(&b);
      tkn_conv_append_text(c, TKN_ROLE_ASSISTANT, b.data, b.len);
    }
  }
  tki_buf_free(&b);
  return c;
}

static const char *const TYPE[] = {"system", "system", "human", "ai", "tool"};

static void roles_json(tki_buf *o, uint32_t mask) {
  tki_buf_putc(o, '[');
  int first = 1;
  for (int r = TKN_ROLE_SYSTEM; r <= TKN_ROLE_TOOL; r++) {
    if (r == TKN_ROLE_DEVELOPER || !(mask & TKN_PRUNE_ROLE(r))) continue;
    tki_buf_printf(o, "%s\"%s\"", first ? "" : ",", TYPE[r]);
    first = 0;
  }
  tki_buf_putc(o, ']');
}

static uint32_t random_roles(void) {
  static const uint32_t sets[] = {
      TKN_PRUNE_ROLE(TKN_ROLE_USER), TKN_PRUNE_ROLE(TKN_ROLE_ASSISTANT),
      TKN_PRUNE_ROLE(TKN_ROLE_USER) | TKN_PRUNE_ROLE(TKN_ROLE_TOOL),
      TKN_PRUNE_ROLE(TKN_ROLE_SYSTEM) | TKN_PRUNE_ROLE(TKN_ROLE_USER),
      TKN_PRUNE_ROLE(TKN_ROLE_TOOL)};
  return sets[rnd(sizeof sets / sizeof sets[0])];
}

int main(int argc, char **argv) {
  int nconv = argc > 1 ? atoi(argv[1]) : 500;
  g_state = argc > 2 ? strtoull(argv[2], NULL, 10) : 20261128ULL;
  tkn_tokenizer_callbacks cb = TKN_TOKENIZER_CALLBACKS_INIT;
  cb.count = shared_count;
  tkn_tokenizer *tok = NULL;
  tkn_pruner *p = NULL;
  if (tkn_tokenizer_new_callback(&tok, &cb, NULL) || tkn_prune_new(&p, tok)) return 1;
  tkn_count_options zero = {TKN_COUNT_OPTIONS_VERSION, 0, 0, 0, 0};
  long cases = 0;
  for (int ci = 0; ci < nconv; ci++) {
    tkn_conv *orig = generate();
    if (!orig) return 1;
    int64_t total = 0;
    if (tkn_tokenizer_count_conv(tok, orig, &zero, &total, NULL)) return 1;
    for (int v = 0; v < 3; v++) {
      tkn_conv *c = NULL;
      if (tkn_conv_clone(&c, orig)) return 1;
      tkn_prune_options o = TKN_PRUNE_OPTIONS_INIT;
      o.mode = TKN_PRUNE_TRIM;
      o.degrade = 0; /* trimMessages keeps nothing where nothing fits: degrade 0 is that
                        contract (the default, 1, degrades there instead) */
      o.count = zero;
      o.protect_tool_pairs = 0;
      o.fix_provider_order = 0;
      o.max_tokens = (int64_t)rnd((unsigned)(total + total / 10 + 2));
      o.strategy = rnd(3) ? TKN_PRUNE_LAST : TKN_PRUNE_FIRST;
      if (o.strategy == TKN_PRUNE_LAST) {
        o.include_system = (int32_t)rnd(2);
        if (!rnd(3)) o.start_on = random_roles();
      }
      if (!rnd(3)) o.end_on = random_roles();
      o.allow_partial = (int32_t)rnd(2);
      int spaces = o.allow_partial && !rnd(3);
      if (spaces) o.text_splitter = split_spaces;
      char *conv_json = NULL;
      if (tkn_conv_to_json(orig, TKN_PROVIDER_OPENAI, &conv_json, NULL)) return 1;
      tkn_prune_report *rep = NULL;
      int rc = tkn_prune_run(p, c, &o, &rep);
      if (rc != TKN_OK) {
        fprintf(stderr, "trim_cases: case %ld: %s\n", cases, tkn_error_last()->message);
        return 1;
      }
      tki_buf out;
      tki_buf_init(&out);
      tki_buf_printf(&out, "{\"case\":%ld,\"messages\":%s,\"opts\":{\"maxTokens\":%lld,"
                           "\"strategy\":\"%s\",\"includeSystem\":%s,\"allowPartial\":%s,"
                           "\"splitter\":\"%s\"",
                     cases, conv_json, (long long)o.max_tokens,
                     o.strategy == TKN_PRUNE_LAST ? "last" : "first",
                     o.include_system ? "true" : "false", o.allow_partial ? "true" : "false",
                     spaces ? "space" : "default");
      if (o.start_on) {
        tki_buf_puts(&out, ",\"startOn\":");
        roles_json(&out, o.start_on);
      }
      if (o.end_on) {
        tki_buf_puts(&out, ",\"endOn\":");
        roles_json(&out, o.end_on);
      }
      tki_buf_puts(&out, "},\"ours\":[");
      const size_t *kept;
      size_t nk;
      tkn_prune_report_kept(rep, &kept, &nk);
      for (size_t k = 0; k < nk; k++) {
        const char *t;
        size_t len;
        tkn_conv_text(c, k, &t, &len);
        tki_buf_printf(&out, "%s{\"i\":%zu,\"content\":", k ? "," : "", kept[k]);
        tki_buf_json_string(&out, t, len);
        tki_buf_putc(&out, '}');
      }
      tki_buf_puts(&out, "]}\n");
      if (out.failed) return 1;
      fwrite(out.data, 1, out.len, stdout);
      tki_buf_free(&out);
      tkn_free(conv_json);
      tkn_prune_report_free(rep);
      tkn_conv_free(c);
      cases++;
    }
    tkn_conv_free(orig);
  }
  fprintf(stderr, "trim_cases: %ld cases from %d conversations\n", cases, nconv);
  tkn_prune_free(p);
  tkn_tokenizer_free(tok);
  return 0;
}
