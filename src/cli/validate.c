/* tokenomy validate: a JSON document checked against a JSON Schema. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char VALIDATE_HELP[] =
    "usage: tokenomy validate --schema SCHEMA.json [--model M | --encoding E] [--json]\n"
    "                         [DOCUMENT.json]\n"
    "\n"
    "Validate one JSON document against a JSON Schema (draft 2020-12).  Exit status\n"
    "0 when valid, 3 when not (each error printed), 2 for unreadable input or a\n"
    "schema that does not compile, 1 for bad usage (e.g. two documents).\n"
    "Also prints the largest output the schema allows, in tokens (the output cap),\n"
    "counted with the model's encoding (--model), an encoding (--encoding), or\n"
    "o200k_base; \"unbounded\" when the schema sets no limit.\n";

int cmd_validate(int argc, char **argv) {
  const char *schema_file = NULL, *file = NULL, *model = NULL, *enc = NULL;
  const char *files[1];
  int json = 0, nfiles = 0;
  const cli_option opts[] = {{"--schema", CLI_STR, &schema_file, NULL, 0, 0, NULL},
                             {"--model", CLI_STR, &model, NULL, 0, 0, NULL},
                             {"--encoding", CLI_STR, &enc, NULL, 0, 0, NULL},
                             {"--json", CLI_FLAG, &json, NULL, 0, 0, NULL},
                             CLI_OPT_END};
  const cli_command c = {"validate", VALIDATE_HELP, opts, 1, NULL, files, 1, &nfiles,
                         "one document at a time: '%s' and then '%s'"};
  int parsed = cli_parse(&c, argc, argv);
  if (parsed >= 0) return parsed;
  if (nfiles) file = files[0];
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
  tkn_tokenizer *tok = NULL;
  int status = cli_make_tokenizer("validate", enc, model, &tok);
  if (!status && tkn_schema_result_new(&res)) status = cli_fail("validate", "out of memory");
  rc = status ? TKN_OK : tkn_schema_validate(s, doc, dlen, res);
  if (status) {
    /* said already */
  } else if (rc != TKN_OK && rc != TKN_ERR_SCHEMA) {
    status =
        cli_fail("validate", "%s: %s", file ? file : "standard input", tkn_error_last()->message);
  } else {
    int64_t cap = 0;
    uint32_t flags = 0;
    char cap_err[256] = "";
    int cap_rc = cli_keep_err(tkn_schema_output_cap(s, tok, NULL, &cap, &flags), cap_err,
                              sizeof cap_err);
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
      if (cap_rc) {
        cJSON_AddNullToObject(o, "output_cap");
        cJSON_AddStringToObject(o, "output_cap_error", cap_err);
      } else if (flags & TKN_SCHEMA_CAP_UNBOUNDED) {
        cJSON_AddNullToObject(o, "output_cap");
      } else {
        cJSON_AddNumberToObject(o, "output_cap", (double)cap);
      }
      cJSON_AddStringToObject(o, "output_cap_encoding", tkn_tokenizer_name(tok));
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
    if (!json) {
      if (cap_rc) printf("output cap: not computed (%s)\n", cap_err);
      else if (flags & TKN_SCHEMA_CAP_UNBOUNDED) printf("output cap: unbounded\n");
      else printf("output cap: %lld tokens (%s)\n", (long long)cap, tkn_tokenizer_name(tok));
    }
    if (rc != TKN_OK) status = 3;
  }
  tkn_tokenizer_free(tok);
  tkn_schema_result_free(res);
  tkn_schema_free(s);
  free(doc);
  return status;
}
