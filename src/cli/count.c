/* tokenomy count: the tokens of a text or a conversation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* An exact tokenizer whose count() treats special-token text as `special`
 * (TKN_SPECIAL_*), for an encoding or a model's encoding. */
static int make_tokenizer_special(const char *cmd, const char *name, const char *model,
                                  uint32_t special, tkn_tokenizer **out) {
  if (name && !strcmp(name, "estimator"))
    return CLI_USAGE_ERR(cmd, "--special needs an exact encoding, not the estimator");
  const char *enc = name ? name : "o200k_base";
  if (model) {
    enc = tkn_tokenizer_encoding_for_model(model, strlen(model));
    if (!enc) return CLI_USAGE_ERR(cmd, "--model %s: no known encoding", model);
  }
  tkn_ranks_options ro = TKN_RANKS_OPTIONS_INIT;
  ro.flavor = !strcmp(enc, "cl100k_base")  ? TKN_BPE_CL100K
              : !strcmp(enc, "o200k_base") ? TKN_BPE_O200K
                                           : 0;
  if (!ro.flavor)
    return CLI_USAGE_ERR(cmd, "--encoding %s: not known (cl100k_base, o200k_base)", enc);
  ro.special = special;
  char err[256] = "";
  int rc = cli_keep_err(tkn_tokenizer_load_ranks(out, &ro), err, sizeof err);
  if (rc) return CLI_USAGE_ERR(cmd, "%s: %s", enc, err[0] ? err : tkn_strerror(rc));
  return 0;
}

static const char COUNT_HELP[] =
    "usage: tokenomy count [--encoding E | --model M] [--special S] [--text] [--json] [FILE]\n"
    "\n"
    "Count the tokens of a text, or of a conversation (OpenAI or Anthropic JSON:\n"
    "each message with the provider's per-message overhead).  Input that starts\n"
    "with [ or { is read as a conversation unless --text is given.\n"
    "  --encoding E  o200k_base (default), cl100k_base, or estimator\n"
    "  --model M     the encoding of model M (e.g. gpt-4o)\n"
    "  --special S   text that spells a special token such as <|endoftext|>:\n"
    "                plain (default: ordinary text, as providers read user text),\n"
    "                allow (the special token's id) or refuse (an error with its offset)\n"
    "  --json        {\"tokens\":N,\"tokenizer\":..,\"messages\":[..]}\n";

/* --special refuse met a special token: one line with its byte offset (from
 * tkn_error_last()) in the text that holds it: the input itself, or the
 * message field the JSON path names in a conversation. */
static int special_refused(const char *file, tkn_conv *conv, const char *text, size_t len) {
  const tkn_error *e = tkn_error_last();
  int64_t at = e->offset;
  char where[160] = "";
  size_t msg = 0;
  char field[64] = "";
  if (conv && sscanf(e->path, "$.messages[%zu].%63s", &msg, field) == 2) {
    snprintf(where, sizeof where, "messages[%zu].%s, ", msg, field);
    if (strcmp(field, "content") != 0 || tkn_conv_text(conv, msg, &text, &len) != TKN_OK)
      text = NULL;
  } else if (conv) {
    text = NULL;
  }
  size_t n = 0; /* the special token as written: "<|...|>" */
  if (text && at >= 0 && (size_t)at + 2 <= len && text[at] == '<' && text[at + 1] == '|') {
    const char *end = NULL;
    for (size_t i = (size_t)at + 2; !end && i + 1 < len && i < (size_t)at + 64; i++)
      if (text[i] == '|' && text[i + 1] == '>') end = text + i + 2;
    if (end) n = (size_t)(end - (text + at));
  }
  return cli_fail("count", "%s: %sbyte %lld: special token %.*s%srefused by --special refuse "
                  "(--special plain counts it as text, --special allow as one token)",
                  file ? file : "standard input", where, (long long)at, (int)n,
                  n ? text + at : "", n ? " " : "");
}

static const cli_choice SPECIAL[] = {{"plain", (int)TKN_SPECIAL_PLAIN},
                                     {"allow", (int)TKN_SPECIAL_ALLOW},
                                     {"refuse", (int)TKN_SPECIAL_REFUSE},
                                     {NULL, 0}};

int cmd_count(int argc, char **argv) {
  const char *enc = NULL, *model = NULL, *file = NULL;
  int json = 0, text_only = 0, special = -1;
  const cli_option opts[] = {
      {"--encoding", CLI_STR, &enc, NULL, 0, 0, NULL},
      {"--model", CLI_STR, &model, NULL, 0, 0, NULL},
      {"--special", CLI_CHOICE, &special, "plain, allow or refuse", 0, 0, SPECIAL},
      {"--json", CLI_FLAG, &json, NULL, 0, 0, NULL},
      {"--text", CLI_FLAG, &text_only, NULL, 0, 0, NULL},
      CLI_OPT_END};
  int parsed = cli_parse_file("count", COUNT_HELP, opts, &file, argc, argv);
  if (parsed >= 0) return parsed;
  tkn_tokenizer *tok = NULL;
  int rc;
  if (special >= 0) {
    rc = make_tokenizer_special("count", enc, model, (uint32_t)special, &tok);
  } else {
    rc = cli_make_tokenizer("count", enc, model, &tok);
  }
  if (rc) return rc;
  size_t len = 0;
  char *in = cli_read(file, &len);
  if (!in) {
    tkn_tokenizer_free(tok);
    return cli_fail("count", "cannot read %s", file ? file : "standard input");
  }
  int status = 0;
  cJSON *out = cJSON_CreateObject();
  int64_t total = 0;
  if (!text_only && cli_looks_json(in)) {
    tkn_conv *conv = NULL;
    char err[512];
    rc = cli_keep_err(tkn_conv_from_json(&conv, TKN_PROVIDER_AUTO, in, len), err, sizeof err);
    if (rc) {
      status = cli_fail("count", "%s: %s", file ? file : "standard input", err);
    } else {
      size_t n = tkn_conv_count(conv);
      int64_t *per = calloc(n ? n : 1, sizeof *per);
      rc = per ? tkn_tokenizer_count_conv(tok, conv, NULL, &total, per) : TKN_ERR_NOMEM;
      if (rc == TKN_ERR_SPECIAL_TOKEN) {
        status = special_refused(file, conv, NULL, 0);
      } else if (rc) {
        status = cli_fail("count", "%s", tkn_error_last()->message);
      } else {
        cJSON *msgs = cJSON_AddArrayToObject(out, "messages");
        for (size_t i = 0; i < n; i++) {
          cJSON *m = cJSON_CreateObject();
          cJSON_AddStringToObject(m, "role", tkn_role_name(tkn_conv_role(conv, i)));
          cJSON_AddNumberToObject(m, "tokens", (double)per[i]);
          cJSON_AddItemToArray(msgs, m);
        }
      }
      free(per);
      tkn_conv_free(conv);
    }
  } else {
    rc = tkn_tokenizer_count(tok, in, len, &total);
    if (rc == TKN_ERR_SPECIAL_TOKEN)
      status = special_refused(file, NULL, in, len);
    else if (rc == TKN_ERR_UTF8)
      status = cli_fail("count", "%s: byte %lld: not valid UTF-8", file ? file : "standard input",
                        (long long)tkn_error_last()->offset);
    else if (rc)
      status = cli_fail("count", "%s", tkn_error_last()->message);
  }
  if (!status) {
    cJSON_AddNumberToObject(out, "tokens", (double)total);
    cJSON_AddStringToObject(out, "tokenizer", tkn_tokenizer_name(tok));
    if (json) {
      cli_print_json(out);
    } else {
      const cJSON *msgs = cJSON_GetObjectItem(out, "messages");
      const cJSON *m;
      int i = 0;
      cJSON_ArrayForEach(m, msgs) {
        printf("%4d  %-10s %8d\n", i++, cJSON_GetObjectItem(m, "role")->valuestring,
               (int)cJSON_GetObjectItem(m, "tokens")->valuedouble);
      }
      printf("%lld tokens (%s)\n", (long long)total, tkn_tokenizer_name(tok));
    }
  }
  cJSON_Delete(out);
  free(in);
  tkn_tokenizer_free(tok);
  return status;
}
