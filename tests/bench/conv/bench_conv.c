/* Benchmark of the conversation model and the estimator: on a few MB of
 * generated support conversations, the throughput of reading and writing
 * OpenAI and Anthropic JSON (beside cJSON's bare parse of the same text), of
 * converting, of the estimator (64-byte ASCII path beside the byte loop) and
 * of counting a conversation (first count beside the cached recount).
 *
 *   bench_conv [MB]        (default 4)
 *   meson test -C build --benchmark --suite bench -v conv
 *
 * Figures are printed, never asserted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "tokenizer/tokenizer_internal.h"
#include "tokenomy.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t g_seed = 0x9E3779B97F4A7C15ULL;
static unsigned rnd(unsigned n) {
  g_seed ^= g_seed << 13;
  g_seed ^= g_seed >> 7;
  g_seed ^= g_seed << 17;
  return (unsigned)(g_seed % n);
}

static const char *g_words[] = {
    "order", "the", "shipment", "refund", "please", "could", "you", "check", "delivery",
    "address", "tracking", "number", "customer", "arrived", "yesterday", "warehouse", "thanks",
    "policy", "return", "within", "days", "replacement", "invoice", "payment", "status",
    "escalate", "support", "Leipzig", "express", "carrier", "parcel", "damaged", "size",
    "jacket", "tent", "boots", "availability", "confirm", "sorry", "great"};

static void sentence(tki_buf *b, int words) {
  for (int w = 0; w < words; w++) {
    if (w) tki_buf_putc(b, ' ');
    tki_buf_puts(b, g_words[rnd(sizeof g_words / sizeof g_words[0])]);
    if (rnd(9) == 0) tki_buf_printf(b, " %u", rnd(100000));
    if (rnd(12) == 0) tki_buf_putc(b, ',');
  }
  tki_buf_puts(b, rnd(4) ? "." : "?");
}

static void text_value(tki_buf *b, int sentences) {
  tki_buf t;
  tki_buf_init(&t);
  for (int s = 0; s < sentences; s++) {
    if (s) tki_buf_putc(&t, ' ');
    sentence(&t, 6 + (int)rnd(14));
  }
  tki_buf_json_string(b, t.data, t.len);
  tki_buf_free(&t);
}

/* An OpenAI conversation of about `bytes` bytes: system prompt, user turns,
 * assistant tool calls and their results. */
static char *make_openai(size_t bytes, size_t *len, size_t *nmsgs) {
  tki_buf b;
  tki_buf_init(&b);
  size_t n = 1, call = 0;
  tki_buf_puts(&b, "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"system\",\"content\":");
  text_value(&b, 12);
  tki_buf_putc(&b, '}');
  while (b.len < bytes) {
    tki_buf_puts(&b, ",{\"role\":\"user\",\"content\":");
    text_value(&b, 1 + (int)rnd(4));
    tki_buf_puts(&b, "}");
    n++;
    if (rnd(2)) {
      tki_buf_printf(&b, ",{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":"
                         "\"call_%zu\",\"type\":\"function\",\"function\":{\"name\":"
                         "\"get_order\",\"arguments\":\"{\\\"order_id\\\":\\\"NW-%u\\\"}\"}}]}",
                     call, rnd(100000));
      tki_buf_printf(&b, ",{\"role\":\"tool\",\"tool_call_id\":\"call_%zu\",\"content\":", call++);
      text_value(&b, 2 + (int)rnd(6));
      tki_buf_putc(&b, '}');
      n += 2;
    }
    tki_buf_puts(&b, ",{\"role\":\"assistant\",\"content\":");
    text_value(&b, 1 + (int)rnd(5));
    tki_buf_putc(&b, '}');
    n++;
  }
  tki_buf_puts(&b, "]}");
  *nmsgs = n;
  return tki_buf_steal(&b, len);
}

/* Seconds per run of fn (best of several runs, at least ~0.2 s in all). */
typedef void (*bench_fn)(void *ctx);
static double time_it(bench_fn fn, void *ctx) {
  double best = 1e9, spent = 0;
  for (int r = 0; r < 50 && (r < 3 || spent < 0.2); r++) {
    double t0 = now();
    fn(ctx);
    double dt = now() - t0;
    spent += dt;
    if (dt < best) best = dt;
  }
  return best;
}

typedef struct ctx {
  const char *json;
  size_t len;
  int format;
  tkn_conv *conv;
  tkn_tokenizer *tok;
  const char *text;
  size_t text_len;
  int fast;
} ctx;

static void die(const char *what, const char *detail) {
  fprintf(stderr, "bench_conv: %s: %s\n", what, detail);
  exit(1);
}

static void do_load(void *p) {
  ctx *c = p;
  if (tkn_conv_load(c->conv, c->format, c->json, c->len)) die("load", tkn_error_last()->message);
}
static void do_cjson(void *p) {
  ctx *c = p;
  cJSON *root = cJSON_ParseWithLength(c->json, c->len);
  if (!root) die("cJSON", "parse failed");
  cJSON_Delete(root);
}
static void do_write(void *p) {
  ctx *c = p;
  char *out;
  if (tkn_conv_to_json(c->conv, c->format, &out, NULL)) die("write", tkn_error_last()->message);
  tkn_free(out);
}
static void do_estimate(void *p) {
  ctx *c = p;
  int64_t n;
  if (tki_estimator_count(c->text, c->text_len, c->fast, &n)) die("estimate", "failed");
}
static void do_count_fresh(void *p) {
  ctx *c = p;
  tkn_tokenizer *tok;
  int64_t n;
  tkn_tokenizer_new_estimator(&tok); /* a new tokenizer id: nothing cached for it */
  if (tkn_tokenizer_count_conv(tok, c->conv, NULL, &n, NULL)) die("count", tkn_error_last()->message);
  tkn_tokenizer_free(tok);
}
static void do_count_cached(void *p) {
  ctx *c = p;
  int64_t n;
  if (tkn_tokenizer_count_conv(c->tok, c->conv, NULL, &n, NULL)) die("count", tkn_error_last()->message);
}

static double mbs(size_t bytes, double s) { return (double)bytes / 1e6 / s; }

int main(int argc, char **argv) {
  double mb = argc > 1 ? atof(argv[1]) : 4.0;
  if (mb <= 0 || mb > 60) mb = 4.0;
  size_t olen, nmsgs;
  char *openai = make_openai((size_t)(mb * 1e6), &olen, &nmsgs);
  ctx c = {0};
  if (tkn_conv_new(&c.conv)) die("new", "out of memory");
  c.json = openai;
  c.len = olen;
  c.format = TKN_PROVIDER_OPENAI;
  do_load(&c);
  char *anth;
  size_t alen;
  if (tkn_conv_to_json(c.conv, TKN_PROVIDER_ANTHROPIC, &anth, &alen)) die("convert", tkn_error_last()->message);

  /* all message text, for the estimator */
  tki_buf all;
  tki_buf_init(&all);
  for (size_t i = 0; i < tkn_conv_count(c.conv); i++) {
    const char *t;
    size_t n;
    tkn_conv_text(c.conv, i, &t, &n);
    tki_buf_append(&all, t, n);
    tki_buf_putc(&all, '\n');
  }
  /* the same text with some non-ASCII words mixed in */
  tki_buf mixed;
  tki_buf_init(&mixed);
  for (size_t k = 0; k < all.len; k++) {
    tki_buf_putc(&mixed, all.data[k]);
    if (all.data[k] == ' ' && rnd(20) == 0)
      tki_buf_puts(&mixed, rnd(2) ? "caf\xC3\xA9 " : "\xE6\x9D\xB1\xE4\xBA\xAC ");
  }

  printf("input: %zu generated support-conversation messages (seed fixed); OpenAI JSON %.2f MB, "
         "Anthropic JSON %.2f MB, message text %.2f MB (ASCII), %.2f MB (with some UTF-8)\n",
         nmsgs, olen / 1e6, alen / 1e6, all.len / 1e6, mixed.len / 1e6);
  printf("rerun: %s [MB]   or   meson test -C <builddir> --benchmark --suite bench -v conv\n\n",
         argv[0]);

  double t_cjson = time_it(do_cjson, &c);
  double t_load_o = time_it(do_load, &c);
  double t_write_o = time_it(do_write, &c);
  c.format = TKN_PROVIDER_ANTHROPIC;
  double t_convert = time_it(do_write, &c);
  c.json = anth;
  c.len = alen;
  double t_load_a = time_it(do_load, &c);
  double t_write_a = time_it(do_write, &c);
  c.json = openai;
  c.len = olen;
  c.format = TKN_PROVIDER_OPENAI;
  do_load(&c);

  printf("%-44s %10s   %s\n", "operation", "MB/s", "compared with");
  printf("%-44s %10.0f\n", "cJSON bare parse + free (OpenAI JSON)", mbs(olen, t_cjson));
  printf("%-44s %10.0f   %.2fx the time of cJSON's bare parse\n", "read OpenAI (tkn_conv_load)",
         mbs(olen, t_load_o), t_load_o / t_cjson);
  printf("%-44s %10.0f   %.2fx the speed of reading it\n", "write OpenAI (same format)",
         mbs(olen, t_write_o), t_load_o / t_write_o);
  printf("%-44s %10.0f   %.2fx the speed of reading OpenAI\n", "read Anthropic",
         mbs(alen, t_load_a), mbs(alen, t_load_a) / mbs(olen, t_load_o));
  printf("%-44s %10.0f   %.2fx the speed of reading it\n", "write Anthropic (same format)",
         mbs(alen, t_write_a), t_load_a / t_write_a);
  printf("%-44s %10.0f   %.2fx the time of writing OpenAI\n",
         "convert OpenAI -> Anthropic (write, output MB)", mbs(alen, t_convert),
         t_convert / t_write_o);

  c.text = all.data;
  c.text_len = all.len;
  c.fast = 1;
  double t_fast = time_it(do_estimate, &c);
  c.fast = 0;
  double t_slow = time_it(do_estimate, &c);
  c.text = mixed.data;
  c.text_len = mixed.len;
  c.fast = 1;
  double t_mixed = time_it(do_estimate, &c);
  printf("%-44s %10.0f   %.2fx the byte loop (%.0f MB/s)\n", "estimator, ASCII text (64-byte path)",
         mbs(all.len, t_fast), t_slow / t_fast, mbs(all.len, t_slow));
  printf("%-44s %10.0f   %.2fx the ASCII speed\n", "estimator, text with some UTF-8",
         mbs(mixed.len, t_mixed), t_fast / t_mixed * ((double)mixed.len / all.len));

  if (tkn_tokenizer_new_estimator(&c.tok)) die("estimator", "out of memory");
  double t_fresh = time_it(do_count_fresh, &c);
  int64_t total;
  tkn_tokenizer_count_conv(c.tok, c.conv, NULL, &total, NULL);
  double t_cached = time_it(do_count_cached, &c);
  printf("%-44s %10.0f   (%zu messages, %lld tokens)\n", "count conversation, first time (text MB)",
         mbs(all.len, t_fresh), tkn_conv_count(c.conv), (long long)total);
  printf("%-44s %10.0f   %.0fx faster than the first count\n", "recount unchanged (cached)",
         mbs(all.len, t_cached), t_fresh / t_cached);

  tkn_tokenizer_free(c.tok);
  tkn_conv_free(c.conv);
  tki_buf_free(&all);
  tki_buf_free(&mixed);
  tkn_free(openai);
  tkn_free(anth);
  return 0;
}
