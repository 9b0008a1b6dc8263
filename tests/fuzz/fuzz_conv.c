/* libFuzzer harness: the conversation reader and writer, both formats.
 * The first byte picks the format read (AUTO, OpenAI, Anthropic); the rest is
 * the JSON.  Invariants: a failure says why in one line and leaves the
 * conversation as it was; what loads writes back in its own format as a fixed
 * point (write -> load -> write gives the same bytes); a clone writes the same
 * bytes; a conversion that succeeds loads in the other format and is itself a
 * fixed point there; counting with the estimator never fails on loaded text. */
#include "fuzz_util.h"

#include "tokenomy/conv.h"
#include "tokenomy/tokenizer.h"

static tkn_tokenizer *estimator;


static char *write_fmt(tkn_conv *c, int fmt, size_t *len, int *rc) {
  char *out = NULL;
  *rc = tkn_conv_to_json(c, fmt, &out, len);
  if (*rc != TKN_OK) {
    FZ_CHECK(out == NULL);
    fz_one_line(tkn_error_last()->message);
  } else {
    FZ_CHECK(out != NULL);
    FZ_CHECK(out[*len] == '\0');
  }
  return out;
}

/* Written bytes of `fmt`, loaded again as `fmt` and written again: same bytes. */
static void check_fixed_point(const char *text, size_t len, int fmt) {
  tkn_conv *c = NULL;
  char err[256];
  int rc = fz_keep_err(tkn_conv_from_json(&c, fmt, text, len), err, sizeof err);
  if (rc != TKN_OK) {
    fprintf(stderr, "written %s does not load: %s\n%.*s\n",
            fmt == TKN_PROVIDER_OPENAI ? "openai" : "anthropic", err, (int)len, text);
    abort();
  }
  size_t len2;
  char *again = write_fmt(c, fmt, &len2, &rc);
  FZ_CHECK(rc == TKN_OK);
  if (len2 != len || memcmp(again, text, len) != 0) {
    fprintf(stderr, "not a fixed point:\n%.*s\n%.*s\n", (int)len, text, (int)len2, again);
    abort();
  }
  tkn_free(again);
  tkn_conv_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  if (!estimator && tkn_tokenizer_new_estimator(&estimator) != TKN_OK) abort();
  static const int formats[3] = {TKN_PROVIDER_AUTO, TKN_PROVIDER_OPENAI, TKN_PROVIDER_ANTHROPIC};
  int fmt = formats[data[0] % 3];
  const char *json = (const char *)data + 1;
  size_t len = size - 1;

  /* A conversation that already holds one message: a failed load keeps it. */
  tkn_conv *c = NULL;
  FZ_CHECK(tkn_conv_new(&c) == TKN_OK);
  FZ_CHECK(tkn_conv_append_text(c, TKN_ROLE_USER, "keep", 4) == TKN_OK);
  int rc = tkn_conv_load(c, fmt, json, len);
  if (rc != TKN_OK) {
    fz_one_line(tkn_error_last()->message);
    FZ_CHECK(tkn_conv_count(c) == 1);
    const char *t;
    size_t tl;
    FZ_CHECK(tkn_conv_text(c, 0, &t, &tl) == TKN_OK && tl == 4 && memcmp(t, "keep", 4) == 0);
    tkn_conv_free(c);
    return 0;
  }
  int src = tkn_conv_source_format(c);
  FZ_CHECK(src == TKN_PROVIDER_OPENAI || src == TKN_PROVIDER_ANTHROPIC);
  if (fmt != TKN_PROVIDER_AUTO) FZ_CHECK(src == fmt);
  size_t n = tkn_conv_count(c);
  for (size_t i = 0; i < n; i++) {
    FZ_CHECK(tkn_role_name(tkn_conv_role(c, i)) != NULL);
    const char *t;
    size_t tl;
    FZ_CHECK(tkn_conv_text(c, i, &t, &tl) == TKN_OK);
  }
  int64_t total = 0;
  rc = tkn_tokenizer_count_conv(estimator, c, NULL, &total, NULL);
  FZ_CHECK(rc == TKN_OK || rc == TKN_ERR_OVERFLOW);
  if (rc == TKN_OK) FZ_CHECK(total >= 0);

  /* Its own format: the first write is a fixed point. */
  size_t wlen;
  char *w = write_fmt(c, src, &wlen, &rc);
  if (rc == TKN_OK) {
    check_fixed_point(w, wlen, src);
    tkn_conv *copy = NULL;
    FZ_CHECK(tkn_conv_clone(&copy, c) == TKN_OK);
    size_t clen;
    char *cw = write_fmt(copy, src, &clen, &rc);
    FZ_CHECK(rc == TKN_OK && clen == wlen && memcmp(cw, w, wlen) == 0);
    tkn_free(cw);
    tkn_conv_free(copy);
    tkn_free(w);
  } else {
    /* Only a hand-built or unconvertible shape may refuse; a loaded one in
     * its own format must always write. */
    fprintf(stderr, "loaded conversation does not write back: %s\n", tkn_error_last()->message);
    abort();
  }

  /* The other format: when the conversion succeeds, it reads back there. */
  int other = src == TKN_PROVIDER_OPENAI ? TKN_PROVIDER_ANTHROPIC : TKN_PROVIDER_OPENAI;
  char *o = write_fmt(c, other, &wlen, &rc);
  if (rc == TKN_OK) {
    tkn_conv *back = NULL;
    char err[256];
    int brc = fz_keep_err(tkn_conv_from_json(&back, other, o, wlen), err, sizeof err);
    if (brc != TKN_OK) {
      fprintf(stderr, "converted text does not load: %s\n%.*s\n", err, (int)wlen, o);
      abort();
    }
    size_t blen;
    char *bw = write_fmt(back, other, &blen, &brc);
    FZ_CHECK(brc == TKN_OK);
    check_fixed_point(bw, blen, other);
    tkn_free(bw);
    tkn_conv_free(back);
    tkn_free(o);
  } else {
    FZ_CHECK(rc == TKN_ERR_SCHEMA || rc == TKN_ERR_UNSUPPORTED || rc == TKN_ERR_STATE ||
             rc == TKN_ERR_PARSE || rc == TKN_ERR_LIMIT);
  }
  tkn_conv_free(c);
  return 0;
}
