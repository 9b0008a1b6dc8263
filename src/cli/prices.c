/* tokenomy prices: what a LiteLLM price file gives the library.  `check`
 * loads a file the way `cost --prices` does and lists what the load could not
 * take: the entries skipped (key and reason), the money fields it does not
 * model (how many entries have each), and whether a strict load passes. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char PRICES_HELP[] =
    "usage: tokenomy prices check [--json] [--strict] LITELLM.json\n"
    "\n"
    "Load a LiteLLM model_prices_and_context_window.json and report what the\n"
    "library makes of it: entries loaded, entries skipped (key and reason: a\n"
    "negative price, a price not exact at 1e-18 USD per token, a missing alias_of\n"
    "target, ...), the money fields it does not model (audio, image, priority,\n"
    "flex, ...: entries that have each, and the first), and the first fault a\n"
    "strict load stops at.  A skipped model is never priced by another entry.\n"
    "--strict exits 2 when any entry is skipped.\n";

static int check(const char *path, int json, int strict) {
  size_t len = 0;
  char *text = cli_read(path, &len);
  if (!text) return cli_fail("prices", "cannot read %s", path ? path : "standard input");
  char err[512] = "", strict_err[512] = "";
  tkn_prices *p = NULL;
  int src = cli_keep_err(tkn_prices_load(&p, text, len, NULL), strict_err, sizeof strict_err);
  tkn_prices_free(p);
  p = NULL;
  tkn_prices_options o = TKN_PRICES_OPTIONS_INIT;
  o.skip_invalid = 1;
  int rc = cli_keep_err(tkn_prices_load(&p, text, len, &o), err, sizeof err);
  free(text);
  if (rc != TKN_OK) return cli_fail("prices", "%s: %s", path ? path : "standard input", err);
  size_t skipped = tkn_prices_skipped(p), unmodelled = tkn_prices_unmodelled(p);
  cJSON *out = cJSON_CreateObject();
  cJSON_AddStringToObject(out, "file", path ? path : "-");
  cJSON_AddNumberToObject(out, "loaded", (double)tkn_prices_count(p));
  cJSON_AddNumberToObject(out, "skipped_count", (double)skipped);
  cJSON *sk = cJSON_AddArrayToObject(out, "skipped");
  for (size_t i = 0; i < skipped; i++) {
    const char *key = "", *reason = "";
    tkn_prices_skipped_at(p, i, &key, &reason);
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "key", key);
    cJSON_AddStringToObject(e, "reason", reason);
    cJSON_AddItemToArray(sk, e);
  }
  cJSON *um = cJSON_AddArrayToObject(out, "unmodelled");
  for (size_t i = 0; i < unmodelled; i++) {
    const char *field = "", *first = "";
    size_t n = 0;
    tkn_prices_unmodelled_at(p, i, &field, &n, &first);
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "field", field);
    cJSON_AddNumberToObject(e, "entries", (double)n);
    cJSON_AddStringToObject(e, "first_key", first);
    cJSON_AddItemToArray(um, e);
  }
  if (src == TKN_OK) cJSON_AddNullToObject(out, "strict_error");
  else cJSON_AddStringToObject(out, "strict_error", strict_err);
  if (json) {
    char *s = cJSON_Print(out);
    puts(s ? s : "null");
    free(s);
  } else {
    char a[32], b[32];
    printf("%s: %s models loaded, %s skipped\n", path ? path : "standard input",
           cli_int((int64_t)tkn_prices_count(p), a, sizeof a), cli_int((int64_t)skipped, b, sizeof b));
    printf("strict load: %s\n", src == TKN_OK ? "ok" : strict_err);
    if (skipped) printf("\nskipped (never priced by another entry):\n");
    for (const cJSON *e = sk->child; e; e = e->next)
      printf("  %s\n    %s\n", cJSON_GetObjectItem(e, "key")->valuestring,
             cJSON_GetObjectItem(e, "reason")->valuestring);
    if (unmodelled) printf("\nmoney fields not modelled (entries with it, first entry):\n");
    for (const cJSON *e = um->child; e; e = e->next)
      printf("  %-60s %6d  %s\n", cJSON_GetObjectItem(e, "field")->valuestring,
             cJSON_GetObjectItem(e, "entries")->valueint,
             cJSON_GetObjectItem(e, "first_key")->valuestring);
  }
  cJSON_Delete(out);
  tkn_prices_free(p);
  return strict && skipped ? 2 : 0;
}

int cmd_prices(int argc, char **argv) {
  const char *file = NULL;
  int json = 0, strict = 0;
  const cli_option opts[] = {{"--json", CLI_FLAG, &json, NULL, 0, 0, NULL},
                             {"--strict", CLI_FLAG, &strict, NULL, 0, 0, NULL},
                             CLI_OPT_END};
  int parsed = cli_parse_sub("prices", PRICES_HELP, "check", opts, &file, argc, argv);
  if (parsed >= 0) return parsed;
  return check(file, json, strict);
}
