/* Conformance helper: count an OpenAI conversation with a tokenizer whose
 * counts come from a table (computed by a peer), so that only tokenomy's
 * per-message overhead and choice of what to count is under test.
 *
 *   count_lookup FILE
 * FILE: {"messages": [...], "counts": {"<string>": <tokens>, ...}}
 * Prints "<total> <message 0> <message 1> ..." with the default options; a
 * string missing from the table fails (exit 1), naming it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "tokenomy.h"

/* The status of a call, its tkn_error_last() message copied into buf. */
static inline int keep_err(int rc, char *buf, size_t len) {
  if (buf && len) snprintf(buf, len, "%s", rc ? tkn_error_last()->message : "");
  return rc;
}

static const cJSON *g_counts;

static int lookup(const char *text, size_t len, int64_t *out, void *user) {
  (void)user;
  for (const cJSON *c = g_counts->child; c; c = c->next)
    if (strlen(c->string) == len && memcmp(c->string, text, len) == 0) {
      *out = (int64_t)c->valuedouble;
      return 0;
    }
  fprintf(stderr, "count_lookup: no count for \"%.*s\"\n", (int)len, text);
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: count_lookup FILE\n");
    return 2;
  }
  FILE *f = fopen(argv[1], "rb");
  if (!f) {
    perror(argv[1]);
    return 2;
  }
  static char buf[1 << 22];
  size_t len = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[len] = '\0';
  cJSON *root = cJSON_Parse(buf);
  g_counts = cJSON_GetObjectItemCaseSensitive(root, "counts");
  if (!cJSON_IsObject(g_counts)) {
    fprintf(stderr, "count_lookup: no \"counts\" object\n");
    return 2;
  }
  char err[256];
  tkn_conv *conv;
  if (keep_err(tkn_conv_from_json(&conv, TKN_PROVIDER_OPENAI, buf, len), err, sizeof err)) {
    fprintf(stderr, "count_lookup: %s\n", err);
    return 1;
  }
  tkn_tokenizer_callbacks cb = TKN_TOKENIZER_CALLBACKS_INIT;
  cb.count = lookup;
  tkn_tokenizer *tok;
  int64_t total;
  size_t n = tkn_conv_count(conv);
  int64_t *per = calloc(n + 1, sizeof *per);
  if (!per || tkn_tokenizer_new_callback(&tok, &cb, NULL) ||
      tkn_tokenizer_count_conv(tok, conv, NULL, &total, per)) {
    fprintf(stderr, "count_lookup: %s\n", tkn_error_last()->message);
    return 1;
  }
  printf("%lld", (long long)total);
  for (size_t i = 0; i < n; i++) printf(" %lld", (long long)per[i]);
  printf("\n");
  free(per);
  tkn_tokenizer_free(tok);
  tkn_conv_free(conv);
  cJSON_Delete(root);
  return 0;
}
