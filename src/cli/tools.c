/* tokenomy tools select: the tools a catalogue search picks for a query. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char TOOLS_HELP[] =
    "usage: tokenomy tools select --query TEXT [--k N] [--always NAME,...] [--json]\n"
    "                             [TOOLS.json]\n"
    "\n"
    "Rank a tool catalogue for a query (the user's last message, say) with BM25 over\n"
    "the tools' names, descriptions and parameter names (toolsel.h) and print the k\n"
    "best (those that match at all), plus the --always tools, in catalogue order:\n"
    "the order they are sent in, so the same set gives the same cached prefix.\n"
    "TOOLS.json: an array of tool definitions (OpenAI, Anthropic or neutral form),\n"
    "or an object holding one in \"tools\" (a replay trace file).\n"
    "\n"
    "  --query TEXT     what to rank the tools for (required)\n"
    "  --k N            at most N ranked tools (3)\n"
    "  --always LIST    tool names sent whatever the query (comma-separated)\n"
    "  --json           the selection as JSON\n";

/* The catalogue of a file's tools; 0, or the exit status after the message. */
static int load(const char *file, tkn_toolsel **cat) {
  cJSON *root = cli_read_json("tools select", file, NULL);
  if (!root) return 2;
  const cJSON *tools =
      cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "tools") : root;
  if (!cJSON_IsArray(tools)) {
    cJSON_Delete(root);
    return cli_fail("tools select", "%s: expected an array of tool definitions or an object "
                    "with \"tools\"", file ? file : "standard input"), 2;
  }
  int status = 0;
  char err[512];
  if (cli_keep_err(tkn_toolsel_new(cat, NULL), err, sizeof err))
    status = (cli_fail("tools select", "%s", err), 2);
  size_t i = 0;
  const cJSON *t;
  cJSON_ArrayForEach(t, tools) {
    if (status) break;
    char *js = cJSON_PrintUnformatted(t);
    int rc = js ? cli_keep_err(tkn_toolsel_add(*cat, js, strlen(js), NULL), err, sizeof err)
                : (snprintf(err, sizeof err, "out of memory"), TKN_ERR_NOMEM);
    free(js);
    if (rc) status = (cli_fail("tools select", "tools[%zu]: %s", i, err), 2);
    i++;
  }
  cJSON_Delete(root);
  return status;
}

/* The catalogue indices of a comma-separated list of names. */
static int always_list(const tkn_toolsel *cat, const char *list, uint32_t *out, size_t *n) {
  *n = 0;
  for (const char *p = list; p && *p;) {
    size_t l = strcspn(p, ",");
    uint32_t idx;
    if (tkn_toolsel_find(cat, p, l, &idx))
      return cli_fail("tools select", "--always: no tool '%.*s' in the catalogue", (int)l, p), 2;
    out[(*n)++] = idx;
    p += l + (p[l] == ',');
  }
  return 0;
}

static void print(const tkn_toolsel *cat, const char *query, long long k, const uint32_t *sel,
                  size_t n, const double *scores, int json) {
  const char *name;
  size_t nl;
  if (json) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "query", query);
    cJSON_AddNumberToObject(o, "k", (double)k);
    cJSON_AddNumberToObject(o, "tools", (double)tkn_toolsel_count(cat));
    cJSON *arr = cJSON_AddArrayToObject(o, "selected");
    for (size_t i = 0; i < n; i++) {
      cJSON *e = cJSON_CreateObject();
      tkn_toolsel_tool(cat, sel[i], &name, &nl, NULL, NULL);
      char *nm = malloc(nl + 1);
      if (nm) memcpy(nm, name, nl), nm[nl] = '\0';
      cJSON_AddNumberToObject(e, "index", sel[i]);
      cJSON_AddStringToObject(e, "name", nm ? nm : "");
      cJSON_AddNumberToObject(e, "score", scores[sel[i]]);
      cJSON_AddItemToArray(arr, e);
      free(nm);
    }
    cli_print_json(o);
    cJSON_Delete(o);
    return;
  }
  printf("%zu of %zu tools (BM25, k=%lld), in catalogue order:\n", n, tkn_toolsel_count(cat), k);
  for (size_t i = 0; i < n; i++) {
    tkn_toolsel_tool(cat, sel[i], &name, &nl, NULL, NULL);
    printf("  %4u  %-40.*s  %8.4f\n", sel[i], (int)nl, name, scores[sel[i]]);
  }
}

int cmd_tools(int argc, char **argv) {
  const char *file = NULL, *query = NULL, *always = NULL;
  long long k = 3;
  int json = 0;
  const cli_option opts[] = {{"--query", CLI_STR, &query, NULL, 0, 0, NULL},
                             {"--k", CLI_INT, &k, "a number >= 0", 0, UINT32_MAX, NULL},
                             {"--always", CLI_STR, &always, NULL, 0, 0, NULL},
                             {"--json", CLI_FLAG, &json, NULL, 0, 0, NULL},
                             CLI_OPT_END};
  int parsed = cli_parse_sub("tools", TOOLS_HELP, "select", opts, &file, argc, argv);
  if (parsed >= 0) return parsed;
  if (!query) return CLI_USAGE_ERR("tools select", "--query is required (see --help)");
  tkn_toolsel *cat = NULL;
  int status = load(file, &cat);
  size_t n = tkn_toolsel_count(cat), na = 0;
  uint32_t *sel = calloc(n ? n : 1, sizeof *sel), *alw = calloc(n ? n : 1, sizeof *alw);
  double *scores = calloc(n ? n : 1, sizeof *scores);
  char err[512];
  if (!status && (!sel || !alw || !scores)) status = (cli_fail("tools select", "out of memory"), 2);
  if (!status) status = always_list(cat, always, alw, &na);
  size_t m = 0;
  if (!status &&
      (cli_keep_err(tkn_toolsel_scores(cat, query, strlen(query), scores, n), err, sizeof err) ||
       cli_keep_err(tkn_toolsel_select(cat, query, strlen(query), (uint32_t)k, alw, na, sel, n,
                                       &m), err, sizeof err)))
    status = (cli_fail("tools select", "--query: %s", err), 2);
  if (!status) print(cat, query, k, sel, m, scores, json);
  free(sel);
  free(alw);
  free(scores);
  tkn_toolsel_free(cat);
  return status;
}
