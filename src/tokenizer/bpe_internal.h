/* Internals of the BPE encodings: the rank table (ranks.c), the
 * pre-tokeniser (pretok.c) and the encoder (bpe.c). */
#ifndef TOKENOMY_BPE_INTERNAL_H
#define TOKENOMY_BPE_INTERNAL_H

#include <stdatomic.h>
#include <string.h>

#include "tokenizer_internal.h"

/* Pre-tokenisation patterns (tiktoken's pat_str of each encoding). */
#define TKI_PAT_CL100K 1
#define TKI_PAT_O200K 2

/* End (byte offset) of the piece that starts at pos < len, exactly as
 * tiktoken's regex finds it in [0, len).  s must be valid UTF-8. */
size_t tki_pretok_next(int pattern, const uint8_t *s, size_t len, size_t pos);
/* The same without the shortcut for ASCII words: for tests. */
size_t tki_pretok_next_slow(int pattern, const uint8_t *s, size_t len, size_t pos);
/* The scanner's class bits of a code point (0 beyond U+10FFFF): for tests. */
unsigned tki_pretok_class(uint32_t cp);
/* The generated class table (unicode_classes.c, from ucd.lock's Unicode
 * version): tki_ucd_stage2[tki_ucd_stage1[cp >> 8] << 8 | (cp & 0xFF)]. */
extern const char tki_ucd_version[];
extern const uint8_t tki_ucd_stage1[0x1100];
extern const uint8_t tki_ucd_stage2[];
/* The same classes, for the scan of 2-byte and 3-byte characters: of every
 * code point below U+0800, and of each block of 64 code points of the BMP
 * (cp >> 6) whose members all share one (0xFF where they do not). */
extern const uint8_t tki_ucd_low[0x800];
extern const uint8_t tki_ucd_bmp64[0x400];

/* One slot of the open-addressing table (32 bytes, two per cache line).  The
 * first 16 bytes of the token live in the slot, so a token of up to 16 bytes
 * (nearly all of them) is checked with one memory access and no byte
 * comparison. */
typedef struct tki_rank_slot {
  uint64_t head;  /* bytes 0..7, zero-padded (see tki_ranks_head) */
  uint64_t head2; /* bytes 8..15, zero-padded */
  uint32_t rank1; /* rank + 1; 0: empty */
  uint16_t len;   /* token length */
  uint16_t tag;   /* high bits of the hash */
  uint64_t pad;
} tki_rank_slot;

/* A slot of the table of tokens of at most 8 bytes (16 bytes, four per cache
 * line): the key is the zero-padded bytes and the length, compared exactly.
 * Most pairs looked up while merging are this short, and this table is less
 * than half the size of one holding every token, so more of it stays in
 * cache. */
typedef struct tki_short_slot {
  uint64_t head;  /* bytes 0..7, zero-padded */
  uint32_t rank1; /* rank + 1; 0: empty */
  uint32_t len;   /* token length */
} tki_short_slot;

typedef struct tki_special {
  const char *text;
  uint32_t len;
  uint32_t id;
} tki_special;

#define TKI_FILTER_BITS (1u << 22)
#define TKI_FILTER_MASK (TKI_FILTER_BITS - 1)

/* The immutable rank table of one encoding.  Its tables are either built at
 * run time (a rank file: tki_ranks_parse) or laid out at build time in an
 * image compiled into the library (tki_ranks_from_image), used where it lies:
 * loading is then pointer setup, and only the pages a text touches become
 * resident. */
typedef struct tki_ranks {
  uint32_t n;            /* ranks 0..n-1 */
  uint32_t max_len;      /* longest token */
  const uint8_t *bytes;  /* token bytes, concatenated in rank order */
  const uint32_t *off;   /* n + 1 offsets into bytes */
  const tki_rank_slot *slots;   /* mask + 1 slots: the tokens of more than 8 bytes */
  uint32_t mask;
  const tki_short_slot *sslots; /* smask + 1 slots: the tokens of 1 to 8 bytes */
  uint32_t smask;
  const uint32_t *byte_rank;    /* 256 entries: the rank of each single byte */
  const uint64_t *filter; /* 2^22 bits, one per hash value: most lookups of
                            non-tokens (frequent while merging) stop here,
                            in 512 KB that stay in cache, not in the table */
  const uint32_t *pair_rank; /* 65536 entries: rank of the 2-byte token b0 b1
                                at [b0 | b1 << 8], UINT32_MAX when none */
  void *owned[7];        /* what we allocated (all NULL for an image) */
  /* One bit per hash value (the low TKI_PREFIX_BITS bits) of every prefix of
   * every token: the long-piece encoder walks a token's length up while the
   * bytes so far can still begin a token.  In the image; for a rank file
   * built on the first long piece (bpe.c: prefix_filter), published once
   * with compare-and-swap, so the table stays lock-free to share; freed with
   * the rest when it is not the image's. */
  _Atomic(const uint64_t *) prefix;
  /* The pair table of the long-piece encoder (tki_ranks_pairs_build): in
   * the image; for a rank file built on first need and published like the
   * prefix filter. */
  _Atomic(const uint32_t *) pairs;
  const void *image;     /* the image the tables lie in; NULL when built */
} tki_ranks;
#define TKI_PREFIX_BITS (1u << 24)

/* The first min(n, 8) bytes of p as an integer (zero-padded). */
static inline uint64_t tki_ranks_head(const uint8_t *p, size_t n) {
  uint64_t v = 0;
  if (n >= 8) {
    memcpy(&v, p, 8);
    return v;
  }
  unsigned sh = 0;
  if (n & 4) {
    uint32_t x;
    memcpy(&x, p, 4);
    v = x;
    p += 4;
    sh = 32;
  }
  if (n & 2) {
    uint16_t x;
    memcpy(&x, p, 2);
    v |= (uint64_t)x << sh;
    p += 2;
    sh += 16;
  }
  if (n & 1) v |= (uint64_t)p[0] << sh;
  return v;
}

/* A key is the token's first 16 bytes as two zero-padded words (head,
 * head2), its length, and for tokens longer than 16 bytes a hash of the rest
 * (tki_ranks_tail_hash).  The hash of a key costs two multiplications when
 * the token has at most 16 bytes (nearly all of them). */

/* Hash of the bytes after the first 16 (n > 0): from TKI_TAIL_SEED, each
 * whole word folded in by tki_tail_word, the rest (zero-padded) by
 * tki_tail_rest, then tki_tail_end. */
uint64_t tki_ranks_tail_hash(const uint8_t *p, size_t n);
#define TKI_TAIL_SEED 0x2545F4914F6CDD1Dull
static inline uint64_t tki_tail_word(uint64_t h, uint64_t v) {
  h = (h ^ v) * 0xBF58476D1CE4E5B9ull;
  return h ^ (h >> 29);
}
static inline uint64_t tki_tail_rest(uint64_t h, uint64_t v) {
  return (h ^ v) * 0x94D049BB133111EBull;
}
static inline uint64_t tki_tail_end(uint64_t h) { return h ^ (h >> 32); }

static inline uint64_t tki_ranks_mix(uint64_t head, uint64_t head2, size_t n, uint64_t tail) {
  uint64_t h = head * 0xBF58476D1CE4E5B9ull +
               (head2 ^ tail ^ ((uint64_t)n * 0x9E3779B97F4A7C15ull)) * 0x94D049BB133111EBull;
  h ^= h >> 29;
  h *= 0xBF58476D1CE4E5B9ull;
  h ^= h >> 32;
  return h;
}

/* Rank of the 2 bytes at p (a direct table: merges start with these). */
static inline uint32_t tki_ranks_get2(const tki_ranks *r, const uint8_t *p) {
  return r->pair_rank[p[0] | (uint32_t)p[1] << 8];
}

/* Bytes 8..15 of [p, p+n), zero-padded (0 when n <= 8). */
static inline uint64_t tki_ranks_head2(const uint8_t *p, size_t n) {
  return n > 8 ? tki_ranks_head(p + 8, n - 8 < 8 ? n - 8 : 8) : 0;
}

/* The low k bytes of a word (all of it when k >= 8). */
static inline uint64_t tki_low_bytes(uint64_t v, size_t k) {
  return k >= 8 ? v : v & ((((uint64_t)1) << (k * 8)) - 1);
}

/* The key words of [p, p+n) when at least 16 bytes from p may be read (a
 * padded copy, or text with 16 bytes left): two loads, no branch on n. */
static inline void tki_key_wide(const uint8_t *p, size_t n, uint64_t *head, uint64_t *head2) {
  uint64_t a, b;
  memcpy(&a, p, 8);
  memcpy(&b, p + 8, 8);
  *head = tki_low_bytes(a, n);
  *head2 = n > 8 ? tki_low_bytes(b, n - 8) : 0;
}

/* The key words of [p, p+n), reading only those bytes. */
static inline void tki_key_exact(const uint8_t *p, size_t n, uint64_t *head, uint64_t *head2) {
  *head = tki_ranks_head(p, n);
  *head2 = tki_ranks_head2(p, n);
}

/* Hash of the key of [p, p+n) with its words. */
static inline uint64_t tki_ranks_hash(const uint8_t *p, size_t n, uint64_t head, uint64_t head2) {
  return tki_ranks_mix(head, head2, n, n > 16 ? tki_ranks_tail_hash(p + 16, n - 16) : 0);
}

/* Look bytes [p, p+n) up in one table of slots (mask + 1 of them). */
static inline uint32_t tki_table_find(const tki_ranks *r, const tki_rank_slot *slots,
                                      uint32_t mask, const uint8_t *p, size_t n, uint64_t head,
                                      uint64_t head2, uint64_t h) {
  uint16_t tag = (uint16_t)(h >> 48);
  for (uint32_t i = (uint32_t)h & mask;; i = (i + 1) & mask) {
    const tki_rank_slot *s = &slots[i];
    if (!s->rank1) return UINT32_MAX;
    if (s->head == head && s->head2 == head2 && s->len == n && s->tag == tag) {
      uint32_t k = s->rank1 - 1;
      if (n <= 16 || memcmp(r->bytes + r->off[k] + 16, p + 16, n - 16) == 0) return k;
    }
  }
}

/* Look a key of n <= 8 bytes up in the short table. */
static inline uint32_t tki_short_find(const tki_ranks *r, size_t n, uint64_t head, uint64_t h) {
  for (uint32_t i = (uint32_t)h & r->smask;; i = (i + 1) & r->smask) {
    const tki_short_slot *s = &r->sslots[i];
    if (!s->rank1) return UINT32_MAX;
    if (s->head == head && s->len == n) return s->rank1 - 1;
  }
}

/* The first slot a key of n bytes with hash h is looked for in (to
 * prefetch). */
static inline const void *tki_ranks_slot_of(const tki_ranks *r, size_t n, uint64_t h) {
  return n <= 8 ? (const void *)&r->sslots[(uint32_t)h & r->smask]
                : (const void *)&r->slots[(uint32_t)h & r->mask];
}

/* Rank of [p, p+n) (0 < n <= max_len) from its key words and hash, without
 * the filter: the short table or the long one, by length. */
static inline uint32_t tki_ranks_lookup(const tki_ranks *r, const uint8_t *p, size_t n,
                                        uint64_t head, uint64_t head2, uint64_t h) {
  if (n <= 8) return tki_short_find(r, n, head, h);
  return tki_table_find(r, r->slots, r->mask, p, n, head, head2, h);
}

/* Whether the filter lets a key with hash h through. */
static inline int tki_ranks_maybe(const tki_ranks *r, uint64_t h) {
  uint32_t bit = (uint32_t)(h >> 26) & TKI_FILTER_MASK;
  return (int)(r->filter[bit >> 6] >> (bit & 63) & 1);
}

/* Rank of bytes [p, p+n) whose key words and hash are known (n <= max_len). */
static inline uint32_t tki_ranks_find(const tki_ranks *r, const uint8_t *p, size_t n,
                                      uint64_t head, uint64_t head2, uint64_t h) {
  if (!tki_ranks_maybe(r, h)) return UINT32_MAX;
  return tki_ranks_lookup(r, p, n, head, head2, h);
}

/* A lookup in two steps, so that several can overlap their memory
 * latency: tki_ranks_probe hashes and prefetches, tki_ranks_finish looks up.
 * p must have 16 readable bytes (see tki_key_wide). */
typedef struct tki_probe {
  uint64_t head, head2, h;
  int maybe; /* passed the filter */
} tki_probe;

static inline void tki_ranks_probe(const tki_ranks *r, const uint8_t *p, size_t n, tki_probe *q) {
  q->maybe = 0;
  if (n > r->max_len || n == 0) return;
  tki_key_wide(p, n, &q->head, &q->head2);
  q->h = tki_ranks_hash(p, n, q->head, q->head2);
  /* the slot is fetched while the filter is read, not after */
  __builtin_prefetch(tki_ranks_slot_of(r, n, q->h));
  q->maybe = 1;
}

static inline uint32_t tki_ranks_finish(const tki_ranks *r, const uint8_t *p, size_t n,
                                        const tki_probe *q) {
  return q->maybe ? tki_ranks_find(r, p, n, q->head, q->head2, q->h) : UINT32_MAX;
}

/* Rank of bytes [p, p+n), or UINT32_MAX when it is not a token; reads only
 * [p, p+avail) (avail >= n). */
static inline uint32_t tki_ranks_get_in(const tki_ranks *r, const uint8_t *p, size_t n,
                                        size_t avail) {
  if (n > r->max_len || n == 0) return UINT32_MAX;
  uint64_t head, head2;
  if (avail >= 16)
    tki_key_wide(p, n, &head, &head2);
  else
    tki_key_exact(p, n, &head, &head2);
  return tki_ranks_find(r, p, n, head, head2, tki_ranks_hash(p, n, head, head2));
}

/* Rank of bytes [p, p+n), or UINT32_MAX when it is not a token. */
static inline uint32_t tki_ranks_get(const tki_ranks *r, const uint8_t *p, size_t n) {
  return tki_ranks_get_in(r, p, n, n);
}

/* Parse tiktoken rank text (base64 SP rank LF per line) into r. */
int tki_ranks_parse(tki_ranks *r, const char *text, size_t len, char err[TKI_ERRLEN]);
/* Build r over a blob (see gen-ranks.py: "TKR1", u32 n, n length bytes, the
 * token bytes); bytes are referenced, not copied. */
int tki_ranks_from_blob(tki_ranks *r, const uint8_t *blob, size_t len, char err[TKI_ERRLEN]);
/* The prefix filter of r (TKI_PREFIX_BITS bits), newly allocated; NULL when
 * out of memory. */
uint64_t *tki_ranks_prefix_build(const tki_ranks *r);
/* The pair table of r, newly allocated (NULL when out of memory): 3n + 1
 * words.  [2k], [2k + 1]: the two tokens whose merge is the last step of
 * merging token k's bytes alone (k, k for a single byte; TKI_UNREACHABLE,
 * TKI_UNREACHABLE when that merge does not give k, which can then never be
 * in an encoding); [2n + k]: the longest token that is a proper prefix of
 * token k (TKI_UNREACHABLE when none); [3n]: 0 unless both parts of every
 * token that has them rank below it (the encoder's pair check rests on it:
 * bpe.c), else 1 when every token is reachable, 2 when some are not. */
#define TKI_UNREACHABLE UINT32_MAX
uint32_t *tki_ranks_pairs_build(const tki_ranks *r);
/* The words of the pair table of n tokens. */
#define TKI_PAIRS_WORDS(n) (3 * (uint64_t)(n) + 1)

/* ---- the image: every table of one encoding laid out at build time ----
 * gen-ranks-image.c builds the tables with this file's code and writes them
 * out; the library compiles the images in (ranks_image.c) and points r into
 * one.  The header says what the layout assumes (byte order, slot sizes,
 * filter sizes, the version of the hash), so an image that does not match
 * this code is refused, not misread; sections are 64-byte aligned offsets
 * from the image's start. */
#define TKI_IMAGE_MAGIC "TKNRIM03" /* bump with any change of layout or hash */
enum { TKI_IMG_OFF, TKI_IMG_BYTES, TKI_IMG_SSLOTS, TKI_IMG_SLOTS, TKI_IMG_PAIR, TKI_IMG_FILTER,
       TKI_IMG_PREFIX, TKI_IMG_BYTE_RANK, TKI_IMG_PAIRS, TKI_IMG_SECTIONS };
typedef struct tki_ranks_image_head {
  char magic[8];   /* TKI_IMAGE_MAGIC */
  uint32_t endian; /* 0x01020304 as written */
  uint32_t layout; /* TKI_IMAGE_LAYOUT */
  uint32_t n, max_len, mask, smask;
  uint64_t at[TKI_IMG_SECTIONS]; /* offsets of the sections */
  uint64_t size;                 /* bytes of the whole image */
  uint64_t check;                /* tki_ranks_image_check of the bytes before it */
} tki_ranks_image_head;
#define TKI_IMAGE_LAYOUT                                                      \
  ((uint32_t)sizeof(tki_rank_slot) | (uint32_t)sizeof(tki_short_slot) << 8 | \
   (uint32_t)(TKI_FILTER_BITS == (1u << 22)) << 16 |                         \
   (uint32_t)(TKI_PREFIX_BITS == (1u << 24)) << 17)
/* The bytes each section takes in an image of n tokens with these masks. */
uint64_t tki_ranks_image_section(int section, uint32_t n, uint64_t bytes, uint32_t mask,
                                 uint32_t smask);
/* A hash of the header up to its check field. */
uint64_t tki_ranks_image_check(const tki_ranks_image_head *h);
/* Point r into an image of len bytes (8-byte aligned); TKN_ERR_PARSE with a
 * one-line message when its header does not match this code. */
int tki_ranks_from_image(tki_ranks *r, const uint8_t *img, size_t len, char err[TKI_ERRLEN]);
/* The image of an encoding compiled into the library (cl: cl100k_base, else
 * o200k_base); NULL when built with -Dembed_ranks=false. */
const uint8_t *tki_ranks_image(int cl, size_t *len);
void tki_ranks_free(tki_ranks *r);

/* Merge one piece of n >= 2 bytes with one method, without looking the
 * whole piece up first: for tests.  The scan and the tree take n <= 64 (the
 * tree: ranks below 2^26); the heap and the backtracking encoder any n. */
#define TKI_MERGE_SCAN 0
#define TKI_MERGE_HEAP 1
#define TKI_MERGE_TREE 2
#define TKI_MERGE_BACKTRACK 3
#define TKI_MERGE_BACKTRACK_SMALL 4 /* guesses from 16-byte chunks: many chunk ends */
#define TKI_MERGE_PAIRS 5 /* the pair-table encoder (TKN_ERR_UNSUPPORTED when the table
                             does not hold for these ranks) */
int tki_bpe_merge_piece(const tki_ranks *r, const uint8_t *p, size_t n, int method,
                        uint32_t *ids, size_t cap, size_t *out_n);
/* The rank table inside a BPE tokenizer (NULL for other kinds). */
const tki_ranks *tki_bpe_ranks(const tkn_tokenizer *tok);

#endif
