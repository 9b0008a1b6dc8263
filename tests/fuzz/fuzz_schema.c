/* libFuzzer harness: JSON Schema compile and validate.  The input is a schema,
 * a "\n--\n" line, and a document.  Invariants: a failed compile says why in
 * one line and returns no schema; validation gives one of the documented
 * statuses, the same through tkn_schema_validate and tkn_schema_check, the
 * same on a second run with the same result object, and errors only when
 * invalid (each with a keyword and a one-line message); the output cap of a
 * compiled schema is a number or "unbounded". */
#include "fuzz_util.h"

#include "tokenomy/schema.h"

static tkn_tokenizer *estimator;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!estimator && tkn_tokenizer_new_estimator(&estimator) != TKN_OK) abort();
  const char *schema_text, *doc;
  size_t schema_len, doc_len;
  fz_split(data, size, &schema_text, &schema_len, &doc, &doc_len);

  tkn_schema_options opts = TKN_SCHEMA_OPTIONS_INIT;
  opts.max_errors = 4;
  tkn_schema *s = (tkn_schema *)&opts; /* must be reset to NULL on failure */
  char err[512];
  int rc = fz_keep_err(tkn_schema_compile(&s, schema_text, schema_len, &opts), err, sizeof err);
  if (rc != TKN_OK) {
    FZ_CHECK(s == NULL);
    fz_one_line(err);
    FZ_CHECK(rc == TKN_ERR_PARSE || rc == TKN_ERR_UTF8 || rc == TKN_ERR_LIMIT ||
             rc == TKN_ERR_SCHEMA || rc == TKN_ERR_UNSUPPORTED);
    return 0;
  }

  int64_t cap = -1;
  uint32_t flags = 0;
  rc = tkn_schema_output_cap(s, estimator, NULL, &cap, &flags);
  FZ_CHECK(rc == TKN_OK || rc == TKN_ERR_OVERFLOW);
  if (rc == TKN_OK) FZ_CHECK((flags & TKN_SCHEMA_CAP_UNBOUNDED) ? cap == 0 : cap >= 0);

  tkn_schema_result *res = NULL;
  FZ_CHECK(tkn_schema_result_new(&res) == TKN_OK);
  int v = tkn_schema_validate(s, doc, doc_len, res);
  FZ_CHECK(v == TKN_OK || v == TKN_ERR_SCHEMA || v == TKN_ERR_PARSE || v == TKN_ERR_UTF8 ||
           v == TKN_ERR_LIMIT);
  FZ_CHECK(tkn_schema_result_status(res) == v);
  size_t nerr = tkn_schema_result_error_count(res);
  if (v == TKN_OK) {
    FZ_CHECK(nerr == 0);
    char *reask = NULL;
    FZ_CHECK(tkn_schema_result_reask(res, &reask, NULL) == TKN_ERR_STATE);
  } else {
    fz_one_line(tkn_error_last()->message);
    if (v == TKN_ERR_SCHEMA) {
      FZ_CHECK(nerr >= 1 && nerr <= 4);
      for (size_t i = 0; i < nerr; i++) {
        const char *ip, *kw, *sp, *msg;
        FZ_CHECK(tkn_schema_result_error(res, i, &ip, &kw, &sp, &msg) == TKN_OK);
        FZ_CHECK(ip && (ip[0] == '\0' || ip[0] == '/'));
        FZ_CHECK(kw && kw[0]);
        FZ_CHECK(sp && sp[0] == '#');
        fz_one_line(msg);
      }
      FZ_CHECK(tkn_schema_result_error(res, nerr, NULL, NULL, NULL, NULL) == TKN_ERR_NOT_FOUND);
      char *reask = NULL;
      size_t rlen = 0;
      FZ_CHECK(tkn_schema_result_reask(res, &reask, &rlen) == TKN_OK);
      FZ_CHECK(reask && strlen(reask) == rlen);
      tkn_free(reask);
    } else {
      FZ_CHECK(nerr == 0);
    }
  }
  /* The same document again, through the result and through check. */
  FZ_CHECK(tkn_schema_validate(s, doc, doc_len, res) == v);
  FZ_CHECK(tkn_schema_result_error_count(res) == nerr);
  char cerr[256];
  cerr[0] = 'x';
  FZ_CHECK(fz_keep_err(tkn_schema_check(s, doc, doc_len), cerr, sizeof cerr) == v);
  if (v != TKN_OK) fz_one_line(cerr);
  tkn_schema_result_free(res);
  tkn_schema_free(s);
  return 0;
}
