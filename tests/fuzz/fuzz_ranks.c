/* libFuzzer harness: the tiktoken rank-file loader.  The input is a rank
 * file, a "\n--\n" line, and a text.  Invariants: a refused file says why in
 * one line and gives no tokenizer; a loaded one has at least the 256 single
 * bytes, and encoding any valid text then decoding the ids gives the text
 * back (every byte has a rank, so any text can be spelt). */
#include "fuzz_util.h"

#include "internal.h"
#include "tokenomy/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *ranks, *text;
  size_t ranks_len, text_len;
  fz_split(data, size, &ranks, &ranks_len, &text, &text_len);
  tkn_ranks_options ro = TKN_RANKS_OPTIONS_INIT;
  ro.flavor = (size & 1) ? TKN_BPE_CL100K : TKN_BPE_O200K;
  ro.data = ranks;
  ro.len = ranks_len;
  ro.special = TKN_SPECIAL_PLAIN;
  if (!ranks_len) return 0; /* no data means the embedded ranks */
  tkn_tokenizer *tok = (tkn_tokenizer *)&ro;
  char err[512];
  int rc = fz_keep_err(tkn_tokenizer_load_ranks(&tok, &ro), err, sizeof err);
  if (rc != TKN_OK) {
    FZ_CHECK(tok == NULL);
    fz_one_line(err);
    FZ_CHECK(rc == TKN_ERR_PARSE || rc == TKN_ERR_DUPLICATE || rc == TKN_ERR_SCHEMA ||
             rc == TKN_ERR_LIMIT);
    return 0;
  }
  FZ_CHECK(tkn_tokenizer_vocab_size(tok) >= 256);
  if (tki_utf8_valid(text, text_len, NULL)) {
    tkn_encode_options eo = TKN_ENCODE_OPTIONS_INIT;
    eo.special = TKN_SPECIAL_ALLOW;
    uint32_t *ids = NULL;
    size_t n = 0;
    FZ_CHECK(tkn_tokenizer_encode_alloc(tok, text, text_len, &eo, &ids, &n) == TKN_OK);
    for (size_t i = 0; i < n; i++) FZ_CHECK(ids[i] < tkn_tokenizer_vocab_size(tok));
    char *dec = NULL;
    size_t dlen = 0;
    FZ_CHECK(tkn_tokenizer_decode(tok, ids, n, &dec, &dlen) == TKN_OK);
    FZ_CHECK(dlen == text_len && memcmp(dec, text, dlen) == 0);
    int64_t c = -1;
    FZ_CHECK(tkn_tokenizer_count(tok, text, text_len, &c) == TKN_OK);
    tkn_free(dec);
    tkn_free(ids);
  }
  tkn_tokenizer_free(tok);
  return 0;
}
