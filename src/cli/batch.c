/* tokenomy batch make / join: batch request files written from requests, and
 * result files joined and costed at batch prices. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char BATCH_HELP[] =
    "usage: tokenomy batch make [--provider openai|anthropic] [--out PREFIX] [--json]\n"
    "                           [REQUESTS]\n"
    "       tokenomy batch join [--provider openai|anthropic] [--requests REQUESTS]\n"
    "                           [--json] RESULTS.jsonl...\n"
    "\n"
    "make: REQUESTS is a JSON array (or JSON lines) of {\"custom_id\": .., \"body\": {..}};\n"
    "      writes the provider's batch JSONL to standard output, or to PREFIX-0.jsonl,\n"
    "      PREFIX-1.jsonl, ... when files split at the provider's limits.  The counts\n"
    "      go to standard error (with --json as a JSON object; on standard output\n"
    "      when --out leaves it free).\n"
    "join: reads result files, joins them to the submitted ids (from REQUESTS), costs\n"
    "      them at batch prices (built-in table, by the model each result names) and\n"
    "      prints a summary with the dead letters as JSON (--json: the same; JSON is\n"
    "      its only output).  Without --requests the ids are taken from the results,\n"
    "      so a missing result cannot be noticed (said on standard error).  Results\n"
    "      that cannot be priced are counted as \"unpriced\" with the reason.\n"
    "      Exit status: 0 every result joined and succeeded; 3 dead letters\n"
    "      (missing, errored, canceled, expired, duplicate or unknown results: the\n"
    "      summary lists them); 1 bad usage; 2 bad input.\n";

typedef struct wctx {
  const char *prefix;
  FILE *f;
} wctx;

static int w_begin(uint32_t index, void *user) {
  wctx *w = user;
  if (!w->prefix) return 0;
  char path[1024];
  snprintf(path, sizeof path, "%s-%u.jsonl", w->prefix, index);
  if (w->f) fclose(w->f);
  w->f = fopen(path, "wb");
  return w->f ? 0 : 1;
}
static int w_write(const char *data, size_t len, void *user) {
  wctx *w = user;
  return fwrite(data, 1, len, w->f ? w->f : stdout) == len ? 0 : 1;
}

/* Requests as a cJSON array, from a JSON array or JSON lines.  A NUL byte
 * (never JSON) or an escaped NUL (cJSON's strings end at it, so an id or a
 * body would be cut) refuses the file, naming the line: nothing after it is
 * dropped in silence. */
static cJSON *read_requests(const char *cmd, const char *file) {
  size_t len = 0;
  const char *name = file && strcmp(file, "-") != 0 ? file : "standard input";
  char *text = cli_read(file, &len);
  if (!text) {
    cli_fail(cmd, "cannot read %s", name);
    return NULL;
  }
  size_t at = 0;
  int what = cli_find_nul(text, len, &at);
  if (what) {
    size_t line = 1;
    for (size_t i = 0; i < at; i++) line += text[i] == '\n';
    cli_fail(cmd, "%s line %zu (byte %zu): %s", name, line, at,
             what == 1 ? "a NUL byte, which is not JSON"
                       : "an escaped NUL (\\u0000), which this command cannot pass on exactly");
    free(text);
    return NULL;
  }
  cJSON *arr = NULL;
  const char *end = NULL;
  if (cli_looks_json(text) && (arr = cJSON_ParseWithLengthOpts(text, len, &end, 0)) &&
      cJSON_IsArray(arr) && cli_only_space(end, len - (size_t)(end - text))) {
    free(text);
    return arr;
  }
  cJSON_Delete(arr);
  arr = cJSON_CreateArray();
  char *line = text;
  int lineno = 1;
  while (line && *line) {
    char *nl = strchr(line, '\n');
    size_t ll = nl ? (size_t)(nl - line) : strlen(line);
    if (ll && !(ll == 1 && line[0] == '\r')) {
      const char *jend = NULL;
      cJSON *j = cJSON_ParseWithLengthOpts(line, ll, &jend, 0);
      if (j && !cli_only_space(jend, ll - (size_t)(jend - line))) {
        cJSON_Delete(j);
        j = NULL;
      }
      if (!j) {
        cli_fail(cmd, "%s line %d: not JSON", file ? file : "standard input", lineno);
        cJSON_Delete(arr);
        free(text);
        return NULL;
      }
      cJSON_AddItemToArray(arr, j);
    }
    line = nl ? nl + 1 : NULL;
    lineno++;
  }
  free(text);
  return arr;
}

static const cli_choice PROVIDERS[] = {
    {"openai", TKN_PROVIDER_OPENAI}, {"anthropic", TKN_PROVIDER_ANTHROPIC}, {NULL, 0}};
#define PROVIDER_OPT(dst) {"--provider", CLI_CHOICE, dst, "openai or anthropic", 0, 0, PROVIDERS}

static int batch_make(int argc, char **argv) {
  const char *file = NULL, *prefix = NULL;
  int prov = TKN_PROVIDER_OPENAI, json = 0;
  const cli_option opts[] = {PROVIDER_OPT(&prov),
                             {"--out", CLI_STR, &prefix, NULL, 0, 0, NULL},
                             {"--json", CLI_FLAG, &json, NULL, 0, 0, NULL},
                             CLI_OPT_END};
  const cli_command c = {"batch make", BATCH_HELP, opts, 2, &file, NULL, 0, NULL, NULL};
  int parsed = cli_parse(&c, argc, argv);
  if (parsed >= 0) return parsed;
  cJSON *reqs = read_requests("batch make", file);
  if (!reqs) return 2;
  wctx wc = {prefix, NULL};
  tkn_batch_writer_options o = TKN_BATCH_WRITER_OPTIONS_INIT;
  o.provider = (uint32_t)prov;
  o.begin_file = w_begin;
  o.write = w_write;
  o.user = &wc;
  tkn_batch_writer *w = NULL;
  int status = tkn_batch_writer_new(&w, &o) ? cli_fail("batch make", "cannot make the writer") : 0;
  int i = 0;
  const cJSON *r;
  cJSON_ArrayForEach(r, reqs) {
    if (status) break;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(r, "custom_id");
    const cJSON *body =
        cJSON_GetObjectItemCaseSensitive(r, prov == TKN_PROVIDER_OPENAI ? "body" : "params");
    if (!body) body = cJSON_GetObjectItemCaseSensitive(r, "body");
    if (!cJSON_IsString(id) || !body) {
      status = cli_fail("batch make",
                        "requests[%d]: expected {\"custom_id\": string, \"body\": object}", i);
      break;
    }
    char *js = cJSON_PrintUnformatted(body);
    int rc = js ? tkn_batch_writer_add(w, id->valuestring, strlen(id->valuestring), js, strlen(js))
                : TKN_ERR_NOMEM;
    free(js);
    if (rc) status = cli_fail("batch make", "requests[%d]: %s", i, tkn_error_last()->message);
    i++;
  }
  if (!status && tkn_batch_writer_finish(w))
    status = cli_fail("batch make", "%s", tkn_error_last()->message);
  if (!status) {
    uint32_t files = 0;
    uint64_t n = 0, bytes = 0;
    tkn_batch_writer_counts(w, &files, &n, &bytes);
    if (json)
      fprintf(prefix ? stdout : stderr, "{\"requests\": %llu, \"files\": %u, \"bytes\": %llu}\n",
              (unsigned long long)n, files, (unsigned long long)bytes);
    else
      fprintf(stderr, "batch make: %llu requests, %u file(s), %llu bytes\n",
              (unsigned long long)n, files, (unsigned long long)bytes);
  }
  if (wc.f) fclose(wc.f);
  tkn_batch_writer_free(w);
  cJSON_Delete(reqs);
  return status;
}

/* Without --requests: every custom id of the result files is taken as
 * submitted (a second result for one id is then the reader's duplicate).
 * Lines that do not parse are left to the reader, which says where. */
static int expect_from_results(tkn_batch_reader *r, const char *const *files, int nfiles) {
  for (int i = 0; i < nfiles; i++) {
    size_t len = 0;
    char *text = cli_read(files[i], &len);
    if (!text) return cli_fail("batch join", "cannot read %s", files[i]);
    for (char *line = text; line && *line;) {
      char *nl = strchr(line, '\n');
      size_t ll = nl ? (size_t)(nl - line) : strlen(line);
      cJSON *j = ll ? cJSON_ParseWithLength(line, ll) : NULL;
      const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "custom_id");
      if (cJSON_IsString(id)) {
        int rc = tkn_batch_reader_expect(r, id->valuestring, strlen(id->valuestring));
        if (rc && rc != TKN_ERR_DUPLICATE) {
          cJSON_Delete(j);
          free(text);
          return cli_fail("batch join", "%s: %s", files[i], tkn_error_last()->message);
        }
      }
      cJSON_Delete(j);
      line = nl ? nl + 1 : NULL;
    }
    free(text);
  }
  return 0;
}

/* The first reason a succeeded result could not be priced. */
typedef struct join_ctx {
  char unpriced[256];
} join_ctx;

static int on_result(const tkn_batch_result *res, void *user) {
  join_ctx *j = user;
  if (res->status == TKN_BATCH_SUCCEEDED && res->meter_status != TKN_OK && !j->unpriced[0])
    snprintf(j->unpriced, sizeof j->unpriced, "%s: %s", res->custom_id,
             res->meter_error && *res->meter_error ? res->meter_error
                                                   : tkn_strerror(res->meter_status));
  return 0;
}

static int batch_join(int argc, char **argv) {
  const char *requests = NULL;
  const char *files[256];
  int nfiles = 0, prov = TKN_PROVIDER_OPENAI, json = 0;
  join_ctx jc;
  memset(&jc, 0, sizeof jc);
  const cli_option opts[] = {PROVIDER_OPT(&prov),
                             {"--requests", CLI_STR, &requests, NULL, 0, 0, NULL},
                             {"--json", CLI_FLAG, &json, NULL, 0, 0, NULL},
                             CLI_OPT_END};
  const cli_command c = {"batch join", BATCH_HELP, opts, 2, NULL, files, 256, &nfiles, NULL};
  int parsed = cli_parse(&c, argc, argv);
  if (parsed >= 0) return parsed;
  if (!nfiles) return CLI_USAGE_ERR("batch join", "give at least one result file (see --help)");
  tkn_prices *prices = NULL;
  tkn_prices_new_default(&prices);
  tkn_batch_reader_options o = TKN_BATCH_READER_OPTIONS_INIT;
  o.provider = (uint32_t)prov;
  o.prices = prices;
  o.on_result = on_result;
  o.user = &jc;
  tkn_batch_reader *r = NULL;
  int status = tkn_batch_reader_new(&r, &o) ? cli_fail("batch join", "cannot make the reader") : 0;
  if (!status && requests) {
    cJSON *reqs = read_requests("batch join", requests);
    if (!reqs) status = 2;
    const cJSON *q;
    cJSON_ArrayForEach(q, reqs) {
      const cJSON *id = cJSON_GetObjectItemCaseSensitive(q, "custom_id");
      if (!status && (!cJSON_IsString(id) ||
                      tkn_batch_reader_expect(r, id->valuestring, strlen(id->valuestring))))
        status = cli_fail("batch join", "%s: a request without a usable custom_id (%s)", requests,
                          tkn_error_last()->message);
    }
    cJSON_Delete(reqs);
  } else if (!status) {
    status = expect_from_results(r, files, nfiles);
  }
  for (int i = 0; i < nfiles && !status; i++) {
    size_t len = 0;
    char *text = cli_read(files[i], &len);
    if (!text) {
      status = cli_fail("batch join", "cannot read %s", files[i]);
      break;
    }
    if (tkn_batch_reader_feed(r, text, len) || tkn_batch_reader_end_file(r))
      status = cli_fail("batch join", "%s: %s", files[i], tkn_error_last()->message);
    free(text);
  }
  if (!status && tkn_batch_reader_finish(r))
    status = cli_fail("batch join", "%s", tkn_error_last()->message);
  if (!status) {
    tkn_batch_summary s = TKN_BATCH_SUMMARY_INIT;
    tkn_batch_reader_summary(r, &s);
    cJSON *out = cJSON_CreateObject();
    char usd[48];
    cJSON_AddNumberToObject(out, "lines", (double)s.lines);
    cJSON_AddNumberToObject(out, "expected", (double)s.expected);
    cJSON_AddNumberToObject(out, "succeeded", (double)s.succeeded);
    cJSON_AddNumberToObject(out, "errored", (double)s.errored);
    cJSON_AddNumberToObject(out, "missing", (double)s.missing);
    cJSON_AddNumberToObject(out, "unknown", (double)s.unknown);
    cJSON_AddNumberToObject(out, "input_tokens", (double)s.input_tokens);
    cJSON_AddNumberToObject(out, "output_tokens", (double)s.output_tokens);
    cJSON_AddNumberToObject(out, "duplicates", (double)s.duplicates);
    cJSON_AddNumberToObject(out, "canceled", (double)s.canceled);
    cJSON_AddNumberToObject(out, "expired", (double)s.expired);
    cJSON_AddBoolToObject(out, "requests_given", requests != NULL);
    cJSON_AddNumberToObject(out, "priced", (double)s.priced);
    cJSON_AddNumberToObject(out, "unpriced", (double)s.unpriced);
    if (s.unpriced) cJSON_AddStringToObject(out, "unpriced_reason", jc.unpriced);
    cJSON_AddStringToObject(out, "cost_usd", cli_usd(s.cost, 12, usd, sizeof usd));
    char *dl = NULL;
    if (tkn_batch_reader_dead_letters_json(r, &dl, NULL) == TKN_OK)
      cJSON_AddItemToObject(out, "dead_letters", cJSON_Parse(dl));
    tkn_free(dl);
    cli_print_json(out);
    cJSON_Delete(out);
    if (!requests)
      fprintf(stderr, "batch join: no --requests: the ids are taken from the results, so a "
                      "missing result cannot be noticed\n");
    if (s.unpriced)
      fprintf(stderr, "batch join: %llu succeeded result(s) could not be priced (first: %s)\n",
              (unsigned long long)s.unpriced, jc.unpriced);
    size_t dead = tkn_batch_reader_dead_letter_count(r);
    if (dead) {
      fprintf(stderr, "batch join: %zu dead letter(s) (listed in \"dead_letters\")\n", dead);
      status = 3;
    }
  }
  tkn_batch_reader_free(r);
  tkn_prices_free(prices);
  return status;
}

int cmd_batch(int argc, char **argv) {
  if (argc < 2 || cli_is(argv[1], "--help", "-h")) {
    fputs(BATCH_HELP, argc < 2 ? stderr : stdout);
    return argc < 2 ? 1 : 0;
  }
  if (!strcmp(argv[1], "make")) return batch_make(argc, argv);
  if (!strcmp(argv[1], "join")) return batch_join(argc, argv);
  return CLI_USAGE_ERR("batch", "unknown batch command '%s' (make or join)", argv[1]);
}
