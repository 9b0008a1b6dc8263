/* tokenomy demo: read a support-agent conversation (OpenAI Chat Completions),
 * convert it to Anthropic Messages and back, check that every message came
 * through, and print its token count per message and in total with the
 * built-in estimator.
 *
 *   tokenomy-demo [conversation.json]
 *
 * Without an argument it reads the bundled examples/data/support-conversation.json. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tokenomy.h>

#ifndef TKN_DEMO_DATA
#define TKN_DEMO_DATA "examples/data/support-conversation.json"
#endif

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 1 << 16, n = 0, r;
  char *buf = malloc(cap);
  while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
    n += r;
    if (n == cap) {
      char *nb = realloc(buf, cap *= 2);
      if (!nb) free(buf);
      buf = nb;
    }
  }
  fclose(f);
  *len = n;
  return buf;
}

static int same_bytes(const char *a, size_t an, const char *b, size_t bn) {
  return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

/* Role, text, tool calls and tool-call id of message i agree in a and b. */
static int same_message(tkn_conv *a, tkn_conv *b, size_t i) {
  const char *ta, *tb;
  size_t na, nb;
  if (tkn_conv_role(a, i) != tkn_conv_role(b, i)) return 0;
  if (tkn_conv_text(a, i, &ta, &na) || tkn_conv_text(b, i, &tb, &nb)) return 0;
  if (!same_bytes(ta, na, tb, nb)) return 0;
  tkn_conv_tool_call_id(a, i, &ta, &na);
  tkn_conv_tool_call_id(b, i, &tb, &nb);
  if (!same_bytes(ta ? ta : "", na, tb ? tb : "", nb)) return 0;
  size_t calls = tkn_conv_tool_call_count(a, i);
  if (calls != tkn_conv_tool_call_count(b, i)) return 0;
  for (size_t j = 0; j < calls; j++) {
    const char *ida, *idb, *fa, *fb, *xa, *xb;
    size_t ila, ilb, fla, flb, xla, xlb;
    tkn_conv_tool_call(a, i, j, &ida, &ila, &fa, &fla, &xa, &xla);
    tkn_conv_tool_call(b, i, j, &idb, &ilb, &fb, &flb, &xb, &xlb);
    if (!same_bytes(ida, ila, idb, ilb) || !same_bytes(fa, fla, fb, flb) ||
        !same_bytes(xa, xla, xb, xlb))
      return 0;
  }
  return 1;
}

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : TKN_DEMO_DATA;
  size_t len = 0;
  char *json = read_file(path, &len);
  if (!json) {
    fprintf(stderr, "tokenomy-demo: cannot read %s\n", path);
    return 1;
  }
  tkn_conv *conv = NULL, *anth = NULL, *back = NULL;
  tkn_tokenizer *tok = NULL;
  char *anth_json = NULL, *back_json = NULL;
  size_t anth_len = 0, back_len = 0;
  int status = 1;

  if (tkn_conv_from_json(&conv, TKN_PROVIDER_AUTO, json, len)) {
    fprintf(stderr, "tokenomy-demo: %s: %s\n", path, tkn_error_last()->message);
    goto out;
  }
  size_t n = tkn_conv_count(conv);
  printf("tokenomy %s demo\n", tkn_version_string());
  printf("read %s: %zu messages, %zu bytes (%s)\n\n", path, n, len,
         tkn_conv_source_format(conv) == TKN_PROVIDER_ANTHROPIC ? "Anthropic Messages"
                                                              : "OpenAI Chat Completions");

  /* OpenAI -> Anthropic -> OpenAI */
  if (tkn_conv_to_json(conv, TKN_PROVIDER_ANTHROPIC, &anth_json, &anth_len)) {
    fprintf(stderr, "tokenomy-demo: to Anthropic: %s\n", tkn_error_last()->message);
    goto out;
  }
  if (tkn_conv_from_json(&anth, TKN_PROVIDER_ANTHROPIC, anth_json, anth_len) ||
      tkn_conv_to_json(anth, TKN_PROVIDER_OPENAI, &back_json, &back_len) ||
      tkn_conv_from_json(&back, TKN_PROVIDER_OPENAI, back_json, back_len)) {
    fprintf(stderr, "tokenomy-demo: round trip failed: %s\n", tkn_error_last()->message);
    goto out;
  }
  size_t kept = 0;
  for (size_t i = 0; i < n && i < tkn_conv_count(back); i++) kept += same_message(conv, back, i);
  printf("converted to Anthropic Messages: %zu bytes\n", anth_len);
  printf("converted back to OpenAI:        %zu bytes, %zu messages\n", back_len,
         tkn_conv_count(back));
  printf("round trip: %zu of %zu messages preserved (role, text, tool calls, tool-call ids)%s\n\n",
         kept, n, kept == n && tkn_conv_count(back) == n ? "" : "  <-- MISMATCH");

  /* token counts with the built-in estimator */
  if (tkn_tokenizer_new_estimator(&tok)) goto out;
  int64_t total = 0;
  int64_t *per = calloc(n ? n : 1, sizeof *per);
  if (!per || tkn_tokenizer_count_conv(tok, conv, NULL, &total, per)) {
    fprintf(stderr, "tokenomy-demo: count: %s\n", tkn_error_last()->message);
    free(per);
    goto out;
  }
  printf("%4s  %-10s %7s  %s\n", "#", "role", "tokens", "content");
  for (size_t i = 0; i < n; i++) {
    const char *text;
    size_t tlen;
    tkn_conv_text(conv, i, &text, &tlen);
    char preview[48];
    size_t calls = tkn_conv_tool_call_count(conv, i);
    if (calls) {
      const char *fn;
      size_t fnl;
      tkn_conv_tool_call(conv, i, 0, NULL, NULL, &fn, &fnl, NULL, NULL);
      snprintf(preview, sizeof preview, "[%zu tool call%s: %.*s%s]", calls, calls > 1 ? "s" : "",
               (int)fnl, fn, calls > 1 ? ", ..." : "");
    } else {
      size_t k = tlen < 40 ? tlen : 40;
      while (k > 0 && k < tlen && ((unsigned char)text[k] & 0xC0) == 0x80) k--; /* whole chars */
      snprintf(preview, sizeof preview, "%.*s%s", (int)k, text, k < tlen ? "..." : "");
    }
    for (char *p = preview; *p; p++)
      if (*p == '\n') *p = ' ';
    printf("%4zu  %-10s %7lld  %s\n", i, tkn_role_name(tkn_conv_role(conv, i)), (long long)per[i],
           preview);
  }
  tkn_count_options defaults = TKN_COUNT_OPTIONS_INIT;
  printf("%4s  %-10s %7lld  (%s tokenizer; includes %d per message and %d to prime the reply)\n",
         "", "total", (long long)total, tkn_tokenizer_name(tok), defaults.per_message,
         defaults.reply_priming);
  free(per);
  status = kept == n ? 0 : 1;

out:
  tkn_free(anth_json);
  tkn_free(back_json);
  tkn_conv_free(conv);
  tkn_conv_free(anth);
  tkn_conv_free(back);
  tkn_tokenizer_free(tok);
  free(json);
  return status;
}
