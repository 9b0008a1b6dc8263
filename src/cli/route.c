/* tokenomy route: a task routed through a router config, with the explanation. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char ROUTE_HELP[] =
    "usage: tokenomy route --config ROUTER.json [--explain] [--json] [TASK.json]\n"
    "\n"
    "Route a task (a JSON object of attributes) through a router config and print\n"
    "the tier, model and rule as JSON; --explain prints every rule's evaluation.\n"
    "(--json is accepted: JSON is the only output.)\n";

int cmd_route(int argc, char **argv) {
  const char *config = NULL, *file = NULL;
  int explain = 0, json = 1;
  const cli_option opts[] = {{"--config", CLI_STR, &config, NULL, 0, 0, NULL},
                             {"--json", CLI_FLAG, &json, NULL, 0, 0, NULL},
                             {"--explain", CLI_FLAG, &explain, NULL, 0, 0, NULL},
                             CLI_OPT_END};
  int parsed = cli_parse_file("route", ROUTE_HELP, opts, &file, argc, argv);
  if (parsed >= 0) return parsed;
  if (!config) return CLI_USAGE_ERR("route", "--config is required (see --help)");
  size_t clen = 0, tlen = 0;
  char *ctext = cli_read(config, &clen);
  if (!ctext) return cli_fail("route", "cannot read %s", config);
  char err[512];
  tkn_router *r = NULL;
  int rc = cli_keep_err(tkn_router_new_json(&r, ctext, clen, NULL), err, sizeof err);
  free(ctext);
  if (rc) return cli_fail("route", "%s: %s", config, err);
  char *ttext = cli_read(file, &tlen);
  if (!ttext) {
    tkn_router_free(r);
    return cli_fail("route", "cannot read %s", file ? file : "standard input");
  }
  tkn_task *task = NULL;
  rc = cli_keep_err(tkn_task_from_json(&task, ttext, tlen), err, sizeof err);
  free(ttext);
  int status = 0;
  if (rc) {
    status = cli_fail("route", "task: %s", err);
  } else if (explain) {
    char *js = NULL;
    rc = tkn_router_explain(r, task, &js, NULL);
    if (rc) status = cli_fail("route", "%s", tkn_strerror(rc));
    else puts(js);
    tkn_free(js);
  } else {
    tkn_router_decision d = TKN_ROUTER_DECISION_INIT;
    rc = tkn_router_decide(r, task, &d);
    if (rc) {
      status =
          cli_fail("route", "%s",
                   rc == TKN_ERR_UNAVAILABLE ? "every model is cooling down" : tkn_strerror(rc));
    } else {
      cJSON *o = cJSON_CreateObject();
      cJSON_AddStringToObject(o, "tier", d.tier_name);
      cJSON_AddStringToObject(o, "model", d.model);
      cJSON_AddNumberToObject(o, "rule", d.rule);
      cJSON_AddStringToObject(o, "reason", d.reason);
      cJSON_AddBoolToObject(o, "cascade", d.cascade);
      cli_print_json(o);
      cJSON_Delete(o);
    }
  }
  tkn_task_free(task);
  tkn_router_free(r);
  return status;
}
