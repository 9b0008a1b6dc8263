/* libFuzzer harness: token counting on arbitrary bytes, with the estimator
 * and both embedded BPE encodings (cl100k_base, o200k_base).  Invariants:
 * invalid UTF-8 is TKN_ERR_UTF8 for every tokenizer (with a one-line message
 * naming where); valid text encodes, and decoding the ids gives the text back
 * byte for byte (special tokens encoded as text or as their ids alike); the
 * sizing call, tkn_tokenizer_count and tkn_tokenizer_count_limit agree with
 * the number of ids; refusing special tokens changes nothing unless the
 * text spells one. */
#include "fuzz_util.h"

#include "internal.h"
#include "tokenomy/tokenizer.h"

static tkn_tokenizer *estimator, *bpe[2];

static void init(void) {
  if (estimator) return;
  char err[256];
  if (tkn_tokenizer_new_estimator(&estimator) ||
      fz_keep_err(tkn_tokenizer_new_encoding(&bpe[0], "cl100k_base", 11), err, sizeof err) ||
      fz_keep_err(tkn_tokenizer_new_encoding(&bpe[1], "o200k_base", 10), err, sizeof err)) {
    fprintf(stderr, "cannot make the tokenizers\n");
    abort();
  }
}

static void check_limit(const tkn_tokenizer *tok, const char *text, size_t len, int64_t n,
                        const tkn_encode_options *eo) {
  int64_t got = -1;
  FZ_CHECK(tkn_tokenizer_count_limit(tok, text, len, n, eo, &got) == TKN_OK && got == n);
  if (n > 0) {
    int64_t lim = n / 2;
    FZ_CHECK(tkn_tokenizer_count_limit(tok, text, len, lim, eo, &got) == TKN_OK);
    FZ_CHECK(got == lim + 1);
  }
}

static void check_bpe(const tkn_tokenizer *tok, const char *text, size_t len, int valid) {
  tkn_encode_options eo = TKN_ENCODE_OPTIONS_INIT;
  eo.special = TKN_SPECIAL_PLAIN;
  uint32_t *ids = NULL;
  size_t n = 0;
  int rc = tkn_tokenizer_encode_alloc(tok, text, len, &eo, &ids, &n);
  if (!valid) {
    FZ_CHECK(rc == TKN_ERR_UTF8);
    FZ_CHECK(tkn_error_last()->status == rc && tkn_error_last()->offset >= 0);
    fz_one_line(tkn_error_last()->message);
    int64_t c;
    FZ_CHECK(tkn_tokenizer_count(tok, text, len, &c) == TKN_ERR_UTF8);
    return;
  }
  FZ_CHECK(rc == TKN_OK);
  FZ_CHECK((n == 0) == (ids == NULL));
  FZ_CHECK(n <= len);
  char *dec = NULL;
  size_t dlen = 0;
  FZ_CHECK(tkn_tokenizer_decode(tok, ids, n, &dec, &dlen) == TKN_OK);
  FZ_CHECK(dlen == len && memcmp(dec, text, len) == 0);
  tkn_free(dec);
  size_t need = 0;
  rc = tkn_tokenizer_encode(tok, text, len, &eo, NULL, 0, &need);
  FZ_CHECK(rc == (n ? TKN_ERR_TOO_SMALL : TKN_OK) && need == n);
  check_limit(tok, text, len, (int64_t)n, &eo);

  /* Special tokens as ids: decodes to the same text too. */
  eo.special = TKN_SPECIAL_ALLOW;
  uint32_t *ids2 = NULL;
  size_t n2 = 0;
  FZ_CHECK(tkn_tokenizer_encode_alloc(tok, text, len, &eo, &ids2, &n2) == TKN_OK);
  FZ_CHECK(tkn_tokenizer_decode(tok, ids2, n2, &dec, &dlen) == TKN_OK);
  FZ_CHECK(dlen == len && memcmp(dec, text, len) == 0);
  tkn_free(dec);
  int spells_special = n2 != n || (n && memcmp(ids, ids2, n * sizeof *ids) != 0);
  tkn_free(ids2);

  /* Refusing: the same ids unless the text spells a special token. */
  eo.special = TKN_SPECIAL_REFUSE;
  int64_t c = -1;
  rc = tkn_tokenizer_count(tok, text, len, &c);
  if (rc == TKN_OK) {
    FZ_CHECK(c == (int64_t)n);
  } else {
    FZ_CHECK(rc == TKN_ERR_SPECIAL_TOKEN);
    uint32_t *ids3 = NULL;
    size_t n3 = 0;
    FZ_CHECK(tkn_tokenizer_encode_alloc(tok, text, len, &eo, &ids3, &n3) ==
             TKN_ERR_SPECIAL_TOKEN);
    FZ_CHECK(tkn_error_last()->offset >= 0);
    fz_one_line(tkn_error_last()->message);
    (void)spells_special;
  }
  tkn_free(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  init();
  const char *text = (const char *)data;
  int valid = tki_utf8_valid(text, size, NULL);
  int64_t c = -1;
  int rc = tkn_tokenizer_count(estimator, text, size, &c);
  if (!valid) {
    FZ_CHECK(rc == TKN_ERR_UTF8);
  } else {
    FZ_CHECK(rc == TKN_OK && c >= 0 && (size_t)c <= size);
    check_limit(estimator, text, size, c, NULL);
  }
  check_bpe(bpe[0], text, size, valid);
  check_bpe(bpe[1], text, size, valid);
  return 0;
}
