/* Conformance helper: encode documents with a built-in encoding and write
 * the ids, for a peer (tiktoken) to compare.
 * usage: bpe_dump ENCODING IN OUT
 *   IN:  documents, each a little-endian u32 byte length then the bytes;
 *   OUT: per document, a little-endian u32 id count then the u32 ids
 *        (special tokens refused: a document must not contain one).
 * Each document is encoded twice, the second time with the piece cache
 * holding its words; the two must agree. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tokenomy.h>

/* The status of a call, its tkn_error_last() message copied into buf. */
static inline int keep_err(int rc, char *buf, size_t len) {
  if (buf && len) snprintf(buf, len, "%s", rc ? tkn_error_last()->message : "");
  return rc;
}

static int read_u32(FILE *f, uint32_t *v) {
  unsigned char b[4];
  if (fread(b, 1, 4, f) != 4) return 0;
  *v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
  return 1;
}

static void write_u32(FILE *f, uint32_t v) {
  unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                        (unsigned char)(v >> 24)};
  fwrite(b, 1, 4, f);
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: bpe_dump ENCODING IN OUT\n");
    return 2;
  }
  char err[256] = "";
  tkn_tokenizer *tok = NULL;
  int rc = keep_err(tkn_tokenizer_new_encoding(&tok, argv[1], strlen(argv[1])), err, sizeof err);
  if (rc) {
    fprintf(stderr, "bpe_dump: %s\n", err);
    return rc == TKN_ERR_UNAVAILABLE ? 77 : 1; /* 77: skipped (no embedded ranks) */
  }
  FILE *in = fopen(argv[2], "rb"), *out = fopen(argv[3], "wb");
  if (!in || !out) {
    fprintf(stderr, "bpe_dump: cannot open %s or %s\n", argv[2], argv[3]);
    return 1;
  }
  uint32_t len;
  size_t docs = 0, total = 0;
  int status = 0;
  while (read_u32(in, &len)) {
    char *doc = malloc(len ? len : 1);
    if (!doc || fread(doc, 1, len, in) != len) {
      fprintf(stderr, "bpe_dump: truncated input\n");
      return 1;
    }
    uint32_t *ids = NULL;
    size_t n = 0;
    tkn_encode_options o = TKN_ENCODE_OPTIONS_INIT;
    int rc = tkn_tokenizer_encode_alloc(tok, doc, len, &o, &ids, &n);
    if (rc) {
      fprintf(stderr, "bpe_dump: document %zu: %s (%s)\n", docs, tkn_strerror(rc), tkn_error_last()->message);
      status = 1;
      n = 0;
    }
    int64_t count = -1;
    if (!rc && (tkn_tokenizer_count(tok, doc, len, &count) || (size_t)count != n)) {
      fprintf(stderr, "bpe_dump: document %zu: count %lld differs from encode %zu\n", docs,
              (long long)count, n);
      status = 1;
    }
    /* again, now that the tokenizer's piece cache holds this document's
     * words: the same ids (the ones written are the first encoding's, which
     * found the cache filled only by the documents before) */
    uint32_t *again = NULL;
    size_t n2 = 0;
    if (!rc && (tkn_tokenizer_encode_alloc(tok, doc, len, &o, &again, &n2) || n2 != n ||
                (n && memcmp(again, ids, n * sizeof *ids) != 0))) {
      fprintf(stderr, "bpe_dump: document %zu: a second encoding differs from the first\n", docs);
      status = 1;
    }
    tkn_free(again);
    write_u32(out, (uint32_t)n);
    for (size_t i = 0; i < n; i++) write_u32(out, ids[i]);
    tkn_free(ids);
    free(doc);
    docs++;
    total += n;
  }
  fclose(in);
  if (fclose(out)) status = 1;
  tkn_tokenizer_free(tok);
  fprintf(stderr, "bpe_dump: %s: %zu documents, %zu tokens\n", argv[1], docs, total);
  return status;
}
