/* tokenomy validate: a JSON document checked against a JSON Schema. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char VALIDATE_HELP[] =
    "usage: tokenomy validate --schema SCHEMA.json [--json] [DOCUMENT.json]\n"
    "\n"
    "Validate a JSON document against a JSON Schema (draft 2020-12).  Exit status\n"
    "0 when valid, 3 when not (each error printed), 2 for unreadable input.\n"
    "Also prints the largest output the schema allows, in tokens (the output cap).\n";

int cmd_validate(int argc, char **argv) {
  const char *schema_file = NULL, *file = NULL;
  int json = 0;
  const cli_option opts[] = {{"--schema", CLI_STR, &schema_file, NULL, 0, 0, NULL},
                             {"--json", CLI_FLAG, &json, NULL, 0, 0, NULL},
                             {NULL, CLI_FLAG, NULL, NULL, 0, 0, NULL}};
  const cli_command c = {"validate", VALIDATE_HELP, opts, 1, &file, NULL, 0, NULL, NULL};
  int parsed = cli_parse(&c, argc, argv);
  if (parsed >= 0) return parsed;
  if (!schema_file) return CLI_USAGE_ERR("validate", "--schema is required (see --help)");
  size_t slen = 0, dlen = 0;
  char *stext = cli_read(schema_file, &slen);
  if (!stext) return cli_fail("validate", "cannot read %s", schema_file);
  char err[512];
  tkn_schema *s = NULL;
  int rc = cli_keep_err(tkn_schema_compile(&s, stext, slen, NULL), err, sizeof err);
  free(stext);
  if (rc) return cli_fail("validate", "%s: %s", schema_file, err);
  char *doc = cli_read(file, &dlen);
  if (!doc) {
    tkn_schema_free(s);
    return cli_fail("validate", "cannot read %s", file ? file : "standard input");
  }
  tkn_schema_result *res = NULL;
  tkn_schema_result_new(&res);
  rc = tkn_schema_validate(s, doc, dlen, res);
  int status = 0;
  if (rc != TKN_OK && rc != TKN_ERR_SCHEMA) {
    status =
        cli_fail("validate", "%s: %s", file ? file : "standard input", tkn_error_last()->message);
  } else {
    tkn_tokenizer *tok = NULL;
    tkn_tokenizer_new_estimator(&tok);
    int64_t cap = 0;
    uint32_t flags = 0;
    tkn_schema_output_cap(s, tok, NULL, &cap, &flags);
    tkn_tokenizer_free(tok);
    size_t n = tkn_schema_result_error_count(res);
    if (json) {
      cJSON *o = cJSON_CreateObject();
      cJSON_AddBoolToObject(o, "valid", rc == TKN_OK);
      cJSON *errs = cJSON_AddArrayToObject(o, "errors");
      for (size_t i = 0; i < n; i++) {
        const char *ip = NULL, *kw = NULL, *sp = NULL, *msg = NULL;
        tkn_schema_result_error(res, i, &ip, &kw, &sp, &msg);
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "instance_path", ip ? ip : "");
        cJSON_AddStringToObject(e, "keyword", kw ? kw : "");
        cJSON_AddStringToObject(e, "schema_path", sp ? sp : "");
        cJSON_AddStringToObject(e, "message", msg ? msg : "");
        cJSON_AddItemToArray(errs, e);
      }
      if (flags & TKN_SCHEMA_CAP_UNBOUNDED) cJSON_AddNullToObject(o, "output_cap");
      else cJSON_AddNumberToObject(o, "output_cap", (double)cap);
      cli_print_json(o);
      cJSON_Delete(o);
    } else if (rc == TKN_OK) {
      printf("valid\n");
    } else {
      for (size_t i = 0; i < n; i++) {
        const char *ip = NULL, *msg = NULL;
        tkn_schema_result_error(res, i, &ip, NULL, NULL, &msg);
        printf("invalid at %s: %s\n", ip && *ip ? ip : "(root)", msg ? msg : "");
      }
    }
    if (rc != TKN_OK) status = 3;
  }
  tkn_schema_result_free(res);
  tkn_schema_free(s);
  free(doc);
  return status;
}
