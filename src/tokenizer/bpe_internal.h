/* Internals of the BPE encodings: the rank table (ranks.c), the
 * pre-tokeniser (pretok.c) and the encoder (bpe.c). */
#ifndef TOKENOMY_BPE_INTERNAL_H
#define TOKENOMY_BPE_INTERNAL_H

#include <string.h>

#include "tokenizer_internal.h"

/* Pre-tokenisation patterns (tiktoken's pat_str of each encoding). */
#define TKI_PAT_CL100K 1
#define TKI_PAT_O200K 2

/* End (byte offset) of the piece that starts at pos < len, exactly as
 * tiktoken's regex finds it in [0, len).  s must be valid UTF-8. */
size_t tki_pretok_next(int pattern, const uint8_t *s, size_t len, size_t pos);

/* One slot of the open-addressing table: rank + 1 (0: empty) and the high
 * 32 bits of the key's hash, so most misses compare no bytes. */
typedef struct tki_rank_slot {
  uint32_t rank1;
  uint32_t tag;
} tki_rank_slot;

typedef struct tki_special {
  const char *text;
  uint32_t len;
  uint32_t id;
} tki_special;

/* The immutable rank table of one encoding. */
typedef struct tki_ranks {
  uint32_t n;            /* ranks 0..n-1 */
  const uint8_t *bytes;  /* token bytes, concatenated in rank order */
  uint32_t *off;         /* n + 1 offsets into bytes */
  tki_rank_slot *slots;  /* mask + 1 slots */
  uint32_t mask;
  uint32_t byte_rank[256];
  uint8_t *owned;        /* bytes we allocated (NULL for embedded data) */
} tki_ranks;

/* The 64-bit hash the table uses. */
uint64_t tki_ranks_hash(const uint8_t *p, size_t n);

/* Rank of bytes [p, p+n), or UINT32_MAX when it is not a token. */
static inline uint32_t tki_ranks_get(const tki_ranks *r, const uint8_t *p, size_t n) {
  uint64_t h = tki_ranks_hash(p, n);
  uint32_t tag = (uint32_t)(h >> 32);
  for (uint32_t i = (uint32_t)h & r->mask;; i = (i + 1) & r->mask) {
    const tki_rank_slot *s = &r->slots[i];
    if (!s->rank1) return UINT32_MAX;
    if (s->tag == tag) {
      uint32_t k = s->rank1 - 1;
      uint32_t a = r->off[k], b = r->off[k + 1];
      if (b - a == n && memcmp(r->bytes + a, p, n) == 0) return k;
    }
  }
}

/* Parse tiktoken rank text (base64 SP rank LF per line) into r. */
int tki_ranks_parse(tki_ranks *r, const char *text, size_t len, char err[TKI_ERRLEN]);
/* Build r over an embedded blob (see gen-ranks.py: "TKR1", u32 n, n length
 * bytes, the token bytes); bytes are referenced, not copied. */
int tki_ranks_from_blob(tki_ranks *r, const uint8_t *blob, size_t len, char err[TKI_ERRLEN]);
void tki_ranks_free(tki_ranks *r);

/* Merge one piece of n >= 2 bytes with the scan (use_heap 0; n <= 64) or
 * the heap (1), without looking the whole piece up first: for tests. */
int tki_bpe_merge_piece(const tki_ranks *r, const uint8_t *p, size_t n, int use_heap,
                        uint32_t *ids, size_t cap, size_t *out_n);
/* The rank table inside a BPE tokenizer (NULL for other kinds). */
const tki_ranks *tki_bpe_ranks(const tkn_tokenizer *tok);

/* The embedded blobs (ranks_embed.c, generated; NULL/0 when not built in). */
extern const uint8_t *const tki_ranks_blob_cl100k;
extern const size_t tki_ranks_blob_cl100k_len;
extern const uint8_t *const tki_ranks_blob_o200k;
extern const size_t tki_ranks_blob_o200k_len;

#endif
