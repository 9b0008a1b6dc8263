/* The BPE encodings (cl100k_base, o200k_base) behind the tkn_tokenizer
 * interface, bit-exact with tiktoken.
 *
 * Text is validated, split at special tokens (per the options), cut into
 * pieces by the pre-tokeniser (pretok.c), and each piece is looked up whole
 * or merged: repeatedly join the adjacent pair whose bytes have the lowest
 * rank, the leftmost on ties, as tiktoken does.  Pieces of up to 12 bytes
 * use tiktoken's own scan, up to 64 a min-tree over the parts (but CJK and
 * other 3-byte characters from 16 bytes), longer ones an encoder linear in
 * their length (where tiktoken's time is quadratic) that checks pairs of
 * tokens with a table built with the ranks; for ranks where that table does
 * not hold, a heap over a linked list up to BACKTRACK_MIN, and beyond a
 * linear encoder that guesses from heap merges.  The built-in encodings' tables are laid
 * out at build time and used where they lie (ranks.c: the image).  The
 * tokenizer is immutable (but, for a rank file, the encoder's prefix filter
 * and pair table, built on first need and published once, atomically); all
 * scratch space lives on the stack or in allocations owned by one call. */
#include <errno.h>
#include <stdio.h>

#include "bpe_internal.h"

/* Pieces up to SMALL_PIECE bytes are remembered per call; up to TREE_MIN
 * bytes they merge by tiktoken's scan (fastest when short), up to
 * SMALL_PIECE by the min-tree, beyond by the heap. */
#define SMALL_PIECE 64
#ifndef TREE_MIN
#define TREE_MIN 12
#endif
/* Pieces of more than SMALL_PIECE bytes, and those of at least PAIRS_MIN
 * bytes of 3- and 4-byte characters, use the pair-table encoder; where the
 * ranks do not allow it, pieces of at least BACKTRACK_MIN bytes use the
 * guessing one. */
#ifndef PAIRS_MIN
#define PAIRS_MIN 16
#endif
/* Pieces of at least BACKTRACK_MIN bytes use the backtracking encoder. */
#ifndef BACKTRACK_MIN
#define BACKTRACK_MIN 1024
#endif

typedef struct bpe_impl {
  tki_ranks ranks;
  int pattern;               /* TKI_PAT_* */
  uint32_t special_default;  /* TKN_SPECIAL_* for tkn_tokenizer_count */
  const tki_special *specials;
  uint32_t nspecials;
  uint32_t vocab;            /* largest id + 1 */
  char name[32];
  uint32_t cache_mask;       /* slots of the piece cache - 1; UINT32_MAX: no cache */
  /* The piece cache (below), allocated on the first piece that needs
   * merging and published once with compare-and-swap */
  _Atomic(struct pc_slot *) cache;
} bpe_impl;

#define SP(s, id) { s, sizeof(s) - 1, id }
static const tki_special k_cl100k_specials[] = {
    SP("<|endoftext|>", 100257), SP("<|fim_prefix|>", 100258), SP("<|fim_middle|>", 100259),
    SP("<|fim_suffix|>", 100260), SP("<|endofprompt|>", 100276)};
static const tki_special k_o200k_specials[] = {SP("<|endoftext|>", 199999),
                                               SP("<|endofprompt|>", 200018)};
#undef SP

/* Where ids go: an array (encode), an array that grows (encode_alloc) or
 * nowhere (count); the text stops past limit ids. */
typedef struct sink {
  uint32_t *ids;
  size_t cap;
  size_t n;
  uint64_t limit;      /* stop once n > limit */
  int grow;            /* ids is ours to enlarge when full (tki_realloc) */
  int failed;          /* enlarging failed: out of memory (limit is then 0) */
  const uint8_t *stop; /* where the text was left when the limit stopped it */
} sink;

/* An id that does not fit: enlarge a growing sink (doubling), else drop it
 * (it is still counted). */
static void sink_full(sink *o, uint32_t id) {
  if (!o->grow || o->failed) return;
  size_t ncap = o->cap < 1024 ? 1024 : o->cap * 2;
  uint32_t *nids = ncap <= SIZE_MAX / sizeof *nids ? tki_realloc(o->ids, ncap * sizeof *nids)
                                                    : NULL;
  if (!nids) {
    o->failed = 1;
    o->limit = 0;
    return;
  }
  o->ids = nids;
  o->cap = ncap;
  o->ids[o->n] = id;
}

static inline void emit(sink *o, uint32_t id) {
  if (o->n < o->cap)
    o->ids[o->n] = id;
  else
    sink_full(o, id);
  o->n++;
}

/* cnt ids at once (a piece's, from the memo or the piece cache): copied
 * when they fit, not checked one by one. */
static inline void emit_n(sink *o, const uint32_t *ids, size_t cnt) {
  if (o->n + cnt <= o->cap) {
    memcpy(o->ids + o->n, ids, cnt * sizeof *ids);
    o->n += cnt;
  } else {
    for (size_t i = 0; i < cnt; i++) emit(o, ids[i]);
  }
}

/* ---- merging one piece ---- */

/* tiktoken's scan, for short pieces: part i starts at pt[i].st, is token
 * pt[i].tk, and pt[i].rk is the rank of the pair (part i, part i+1). */
typedef struct part {
  uint32_t st, rk, tk;
} part;

static void merge_scan(const tki_ranks *r, const uint8_t *text, size_t n, sink *o) {
  part pt[SMALL_PIECE + 1];
  size_t m = n + 1;
  /* a copy with 16 zero bytes after it, so that keys load without a branch */
  uint8_t p[SMALL_PIECE + 16];
  memcpy(p, text, n);
  memset(p + n, 0, 16);
  for (size_t i = 0; i < n; i++) {
    pt[i].st = (uint32_t)i;
    pt[i].tk = r->byte_rank[p[i]];
    pt[i].rk = i + 1 < n ? tki_ranks_get2(r, p + i) : UINT32_MAX;
  }
  pt[n].st = (uint32_t)n;
  pt[n].rk = UINT32_MAX;
  while (m > 2) {
    uint32_t best = UINT32_MAX;
    size_t bi = 0;
    for (size_t i = 0; i + 1 < m; i++)
      if (pt[i].rk < best) {
        best = pt[i].rk;
        bi = i;
      }
    if (best == UINT32_MAX) break;
    /* join parts bi and bi+1 */
    pt[bi].tk = best;
    for (size_t j = bi + 1; j + 1 < m; j++) pt[j] = pt[j + 1];
    m--;
    /* the two pairs around the new part, looked up together */
    tki_probe qa = {0, 0, 0, 0}, qb = {0, 0, 0, 0};
    if (bi + 2 < m) tki_ranks_probe(r, p + pt[bi].st, pt[bi + 2].st - pt[bi].st, &qa);
    if (bi > 0) tki_ranks_probe(r, p + pt[bi - 1].st, pt[bi + 1].st - pt[bi - 1].st, &qb);
    pt[bi].rk = bi + 2 < m ? tki_ranks_finish(r, p + pt[bi].st, pt[bi + 2].st - pt[bi].st, &qa)
                           : UINT32_MAX;
    if (bi > 0)
      pt[bi - 1].rk = tki_ranks_finish(r, p + pt[bi - 1].st, pt[bi + 1].st - pt[bi - 1].st, &qb);
  }
  if (!o->ids) { /* counting */
    o->n += m - 1;
    return;
  }
  for (size_t i = 0; i + 1 < m; i++) emit(o, pt[i].tk);
}

/* The tournament merge, for pieces of up to SMALL_PIECE bytes (the scan is
 * quadratic: a CJK run of 60 bytes costs it thousands of steps).  Each part
 * (by its start i) has the key rank(part, next part) << 6 | i, UINT32_MAX
 * when it has no pair; a min-tree over the starts gives the lowest rank, the
 * leftmost among equal ranks (the smaller start), as tiktoken chooses; a
 * merge changes three keys, each in log2(n) steps.  Ranks must be below
 * 2^26 (TREE_RANKS). */
#define TREE_RANKS (1u << 26)

static inline void tree_set(uint32_t *t, size_t leaves, uint32_t i, uint32_t key) {
  size_t k = leaves + i;
  t[k] = key;
  for (k >>= 1; k; k >>= 1) {
    uint32_t a = t[2 * k], b = t[2 * k + 1], m = a < b ? a : b;
    if (t[k] == m) break; /* the ancestors are unchanged */
    t[k] = m;
  }
}

static inline uint32_t tree_key(uint32_t rank, uint32_t i) {
  return rank == UINT32_MAX ? UINT32_MAX : rank << 6 | i;
}

static void merge_tree(const tki_ranks *r, const uint8_t *text, size_t n, sink *o) {
  uint8_t p[SMALL_PIECE + 16]; /* padded copy, as in merge_scan */
  uint32_t t[2 * SMALL_PIECE], tk[SMALL_PIECE];
  uint8_t nx[SMALL_PIECE], pv[SMALL_PIECE];
  memcpy(p, text, n);
  memset(p + n, 0, 16);
  size_t leaves = 2;
  while (leaves < n) leaves <<= 1;
  for (size_t i = 0; i < n; i++) {
    tk[i] = r->byte_rank[p[i]];
    nx[i] = (uint8_t)(i + 1);
    pv[i] = (uint8_t)(i ? i - 1 : 0);
    t[leaves + i] = tree_key(i + 1 < n ? tki_ranks_get2(r, p + i) : UINT32_MAX, (uint32_t)i);
  }
  for (size_t i = n; i < leaves; i++) t[leaves + i] = UINT32_MAX;
  for (size_t k = leaves - 1; k > 0; k--) t[k] = t[2 * k] < t[2 * k + 1] ? t[2 * k] : t[2 * k + 1];
  size_t parts = n;
  while (t[1] != UINT32_MAX) {
    uint32_t i = t[1] & 63, j = nx[i], e = j < n ? nx[j] : (uint32_t)n;
    tk[i] = t[1] >> 6;
    nx[i] = (uint8_t)e;
    if (e < n) pv[e] = (uint8_t)i;
    parts--;
    tree_set(t, leaves, j, UINT32_MAX);
    /* the two pairs around the new part, looked up together */
    tki_probe qa = {0, 0, 0, 0}, qb = {0, 0, 0, 0};
    uint32_t q = pv[i];
    if (e < n) tki_ranks_probe(r, p + i, nx[e] - i, &qa);
    if (i > 0) tki_ranks_probe(r, p + q, e - q, &qb);
    tree_set(t, leaves, i, tree_key(e < n ? tki_ranks_finish(r, p + i, nx[e] - i, &qa)
                                          : UINT32_MAX, i));
    if (i > 0) tree_set(t, leaves, q, tree_key(tki_ranks_finish(r, p + q, e - q, &qb), q));
  }
  if (!o->ids) {
    o->n += parts;
    return;
  }
  for (uint32_t i = 0; i < n; i = nx[i]) emit(o, tk[i]);
}

/* A piece of 2 to SMALL_PIECE bytes: the scan when short, else the tree. */
static void merge_small(const tki_ranks *r, const uint8_t *p, size_t n, sink *o) {
  if (n <= TREE_MIN || r->n > TREE_RANKS)
    merge_scan(r, p, n, o);
  else
    merge_tree(r, p, n, o);
}

#define NONE UINT32_MAX

/* ---- the piece cache: pieces merged before, shared by the threads ----
 *
 * Natural text repeats its words, so most pieces that need merging were
 * merged before (Hugging Face tokenizers keeps a word -> ids cache for the
 * same reason).  The cache is a table of 64-byte slots, each holding a
 * piece of 2 to PC_BYTES bytes (its bytes zero-padded, its length) and its
 * ids (at most PC_IDS), in sets of two slots (one 128-byte block) chosen by
 * the hash: a piece is looked for in both and goes to one never written, else
 * to the one another bit of the hash picks.  Direct-mapped (one slot per
 * hash), pieces whose hashes met evicted each other: a warm pass over the
 * translations merged 8,605 pieces again (cl100k), 4,771 with sets of two;
 * moving the first slot's piece to the second on each write (first in, first
 * out) kept fewer (6,232) and cost the cold pass 1% more instructions.  A hit
 * is checked against the piece's bytes, never the hash alone, so a hit gives
 * exactly the ids merging gives.
 *
 * The tokenizer stays shareable without locks: each slot is a sequence lock.
 * Its sequence word is odd while a writer fills it; a writer claims a slot
 * with a compare-and-swap from an even value (and skips the slot when that
 * fails: another thread is writing it); a reader copies the slot and reads
 * the sequence word again, and any change, or an odd or zero value, is a
 * miss.  Every word of a slot is atomic (relaxed loads and stores, ordered by
 * the fences of the C11 sequence lock), so there is no data race for the
 * C11 model or for ThreadSanitizer.  A miss only costs the merge. */
#define PC_BYTES 24
#define PC_IDS 8
typedef struct pc_slot {
  _Atomic uint32_t seq;  /* even: stable (0: never written); odd: being written */
  _Atomic uint32_t meta; /* piece bytes | ids << 8 */
  _Atomic uint64_t key[PC_BYTES / 8]; /* the piece's bytes, zero-padded */
  _Atomic uint32_t ids[PC_IDS];
} pc_slot;
_Static_assert(sizeof(pc_slot) == 64, "a slot is one cache line");

/* The table of a tokenizer (mask + 1 slots, at least 2, 128-byte aligned;
 * the pointer to free is stored just before it), made on first need; NULL
 * when out of memory (the cache is then skipped). */
static pc_slot *pc_table(const bpe_impl *b) {
  bpe_impl *w = (bpe_impl *)b; /* only the atomic pointer is written */
  pc_slot *t = atomic_load_explicit(&w->cache, memory_order_acquire);
  if (t) return t;
  size_t slots = (size_t)b->cache_mask + 1;
  uint8_t *raw = tki_calloc(slots + 3, sizeof(pc_slot));
  if (!raw) return NULL;
  uintptr_t at = ((uintptr_t)raw + sizeof(void *) + 127) & ~(uintptr_t)127;
  pc_slot *made = (pc_slot *)at;
  memcpy((uint8_t *)made - sizeof(void *), &raw, sizeof raw);
  pc_slot *expected = NULL;
  if (!atomic_compare_exchange_strong_explicit(&w->cache, &expected, made, memory_order_acq_rel,
                                               memory_order_acquire)) {
    tki_free(raw); /* another thread was first */
    return expected;
  }
  return made;
}

static void pc_free(pc_slot *t) {
  if (!t) return;
  void *raw;
  memcpy(&raw, (uint8_t *)t - sizeof(void *), sizeof raw);
  tki_free(raw);
}

/* The key words of a piece of n <= PC_BYTES bytes. */
static inline void pc_key(const uint8_t *p, size_t n, uint64_t k[PC_BYTES / 8]) {
  k[0] = tki_ranks_head(p, n < 8 ? n : 8);
  k[1] = n > 8 ? tki_ranks_head(p + 8, n - 8 < 8 ? n - 8 : 8) : 0;
  k[2] = n > 16 ? tki_ranks_head(p + 16, n - 16) : 0;
}

/* The set (two slots) of hash h. */
static inline pc_slot *pc_slot_of(pc_slot *t, uint32_t mask, uint64_t h) {
  return &t[(uint32_t)(h >> 32) & mask & ~1u];
}

/* The ids of the piece with key k (n bytes) in slot s into ids: their
 * number, 0 on a miss. */
static inline uint32_t pc_get1(pc_slot *s, size_t n, const uint64_t k[PC_BYTES / 8],
                               uint32_t ids[PC_IDS]) {
  uint32_t s1 = atomic_load_explicit(&s->seq, memory_order_acquire);
  uint32_t meta = atomic_load_explicit(&s->meta, memory_order_relaxed);
  if ((meta & 0xFF) != n) return 0;
  uint64_t diff = 0;
  for (size_t i = 0; i < PC_BYTES / 8; i++)
    diff |= atomic_load_explicit(&s->key[i], memory_order_relaxed) ^ k[i];
  uint32_t cnt = meta >> 8;
  if (diff || cnt > PC_IDS) return 0;
  for (uint32_t i = 0; i < cnt; i++)
    ids[i] = atomic_load_explicit(&s->ids[i], memory_order_relaxed);
  atomic_thread_fence(memory_order_acquire);
  uint32_t s2 = atomic_load_explicit(&s->seq, memory_order_relaxed);
  return s1 == s2 && s1 && !(s1 & 1) ? cnt : 0;
}

/* The same in the set at s. */
static inline uint32_t pc_get(pc_slot *s, size_t n, const uint64_t k[PC_BYTES / 8],
                              uint32_t ids[PC_IDS]) {
  uint32_t cnt = pc_get1(s, n, k, ids);
  return cnt ? cnt : pc_get1(s + 1, n, k, ids);
}

/* Write a piece's ids (cnt <= PC_IDS) into slot s, unless another thread is
 * writing it. */
static inline void pc_put1(pc_slot *s, size_t n, const uint64_t k[PC_BYTES / 8],
                           const uint32_t *ids, uint32_t cnt) {
  uint32_t q = atomic_load_explicit(&s->seq, memory_order_relaxed);
  if ((q & 1) || !atomic_compare_exchange_strong_explicit(&s->seq, &q, q + 1,
                                                          memory_order_relaxed,
                                                          memory_order_relaxed))
    return;
  atomic_thread_fence(memory_order_release);
  atomic_store_explicit(&s->meta, (uint32_t)n | cnt << 8, memory_order_relaxed);
  for (size_t i = 0; i < PC_BYTES / 8; i++)
    atomic_store_explicit(&s->key[i], k[i], memory_order_relaxed);
  for (uint32_t i = 0; i < cnt; i++)
    atomic_store_explicit(&s->ids[i], ids[i], memory_order_relaxed);
  /* q + 2 skips 0 (never written) when the word wraps */
  atomic_store_explicit(&s->seq, q + 2 ? q + 2 : 2, memory_order_release);
}

/* Remember a piece's ids (cnt <= PC_IDS) in the set at s: in a slot never
 * written, else in the one bit 20 of the hash picks. */
static inline void pc_put(pc_slot *s, size_t n, const uint64_t k[PC_BYTES / 8],
                          const uint32_t *ids, uint32_t cnt, uint64_t h) {
  pc_slot *w = s + (h >> 20 & 1);
  if (!atomic_load_explicit(&s->seq, memory_order_relaxed))
    w = s;
  else if (!atomic_load_explicit(&s[1].seq, memory_order_relaxed))
    w = s + 1;
  pc_put1(w, n, k, ids, cnt);
}


/* A memo of the pieces one call had to merge (words repeat): direct-mapped
 * by hash, verified by bytes, ids kept in an arena.  Made on the call's
 * MEMO_AFTER-th merge, so short calls pay nothing, with one slot for every
 * 16 bytes of text (MEMO_MIN to MEMO_MAX slots of 16 bytes: at most 64 KB,
 * so that making it stays cheap for texts of a few KB). */
#define MEMO_MIN 256
#define MEMO_MAX 4096
#define MEMO_AFTER 16
#define MEMO_MAX_IDS (1u << 18)
typedef struct memo_entry {
  uint32_t hash; /* high half of the piece's hash; 0 with n == 0: empty */
  uint32_t at;   /* the piece's first occurrence: offset from scratch.base */
  uint32_t off;  /* its ids in the arena */
  uint16_t n;    /* bytes */
  uint16_t cnt;  /* ids */
} memo_entry;

/* Scratch memory of one call (heap merge, memo), freed when it returns. */
typedef struct scratch {
  const bpe_impl *b; /* the tokenizer (NULL: no piece cache) */
  pc_slot *pc;       /* its piece cache, once looked up */
  int pc_none;       /* no piece cache in this call (off, or out of memory) */
  void *mem;
  size_t cap;
  const uint8_t *base; /* the call's text */
  size_t len;
  uint32_t merges;
  uint32_t memo_mask;
  memo_entry *memo;
  uint32_t *arena;
  uint32_t arena_n, arena_cap;
} scratch;

static void scratch_free(scratch *sc) {
  tki_free(sc->mem);
  tki_free(sc->memo);
  tki_free(sc->arena);
}

/* The heap merge for long pieces.  Parts form a list by start offset: the
 * part starting at i ends at nx[i] (NONE once i is merged away) and is token
 * tk[i]; pr[i] is the rank of the pair (part i, the next part).  An indexed
 * binary min-heap holds each part with a pair, keyed by (pr[i], i): the
 * lowest rank first, the leftmost among equal ranks, exactly tiktoken's
 * choice; at[i] is its place in the heap (NONE when absent).  Each merge
 * changes three entries, so the time is O(n log n) and the memory 24 bytes
 * a byte. */
typedef struct mheap {
  uint32_t *hp, *at;
  const uint32_t *pr;
  uint32_t n;
} mheap;

/* The key (pr[i], i) as one number: the rank, then the offset. */
static inline uint64_t mh_key(const mheap *m, uint32_t i) {
  return (uint64_t)m->pr[i] << 32 | i;
}

static inline int mh_less(const mheap *m, uint32_t a, uint32_t b) {
  return mh_key(m, a) < mh_key(m, b);
}

static void mh_place(mheap *m, uint32_t k, uint32_t node) {
  m->hp[k] = node;
  m->at[node] = k;
}

static void mh_up(mheap *m, uint32_t k) {
  uint32_t node = m->hp[k];
  while (k > 0) {
    uint32_t up = (k - 1) / 2;
    if (!mh_less(m, node, m->hp[up])) break;
    mh_place(m, k, m->hp[up]);
    k = up;
  }
  mh_place(m, k, node);
}

static void mh_down(mheap *m, uint32_t k) {
  uint32_t node = m->hp[k];
  for (;;) {
    uint32_t c = 2 * k + 1;
    if (c >= m->n) break;
    if (c + 1 < m->n && mh_less(m, m->hp[c + 1], m->hp[c])) c++;
    if (!mh_less(m, m->hp[c], node)) break;
    mh_place(m, k, m->hp[c]);
    k = c;
  }
  mh_place(m, k, node);
}

static void mh_remove(mheap *m, uint32_t node) {
  uint32_t k = m->at[node];
  if (k == NONE) return;
  m->at[node] = NONE;
  uint32_t last = m->hp[--m->n];
  if (k == m->n) return;
  mh_place(m, k, last);
  mh_up(m, k);
  mh_down(m, m->at[last]);
}

/* pr[node] changed: move, insert or drop its entry. */
static void mh_update(mheap *m, uint32_t node) {
  if (m->pr[node] == UINT32_MAX) {
    mh_remove(m, node);
  } else if (m->at[node] == NONE) {
    mh_place(m, m->n++, node);
    mh_up(m, m->n - 1);
  } else {
    uint32_t k = m->at[node];
    mh_up(m, k);
    mh_down(m, m->at[node]);
  }
}

static int merge_heap(const tki_ranks *r, const uint8_t *p, size_t n, sink *o, scratch *sc) {
  size_t need = 6 * (n + 1) * sizeof(uint32_t);
  if (need > sc->cap) {
    void *mem = tki_malloc(need);
    if (!mem) return tki_fail(TKN_ERR_NOMEM, "out of memory");
    tki_free(sc->mem);
    sc->mem = mem;
    sc->cap = need;
  }
  uint32_t *nx = sc->mem, *pv = nx + n + 1, *pr = pv + n + 1, *tk = pr + n + 1;
  mheap m = {tk + n + 1, tk + 2 * (n + 1), pr, 0};
  for (size_t i = 0; i < n; i++) {
    nx[i] = (uint32_t)(i + 1);
    pv[i] = (uint32_t)(i ? i - 1 : 0);
    tk[i] = r->byte_rank[p[i]];
    pr[i] = i + 1 < n ? tki_ranks_get2(r, p + i) : UINT32_MAX;
    m.at[i] = NONE;
    if (pr[i] != UINT32_MAX) mh_place(&m, m.n++, (uint32_t)i);
  }
  for (uint32_t k = m.n / 2; k-- > 0;) mh_down(&m, k); /* heapify */
  size_t parts = n;
  while (m.n) {
    uint32_t i = m.hp[0], j = nx[i]; /* join parts i and j */
    tk[i] = pr[i];
    nx[i] = nx[j];
    if (nx[j] < n) pv[nx[j]] = i;
    nx[j] = NONE;
    parts--;
    pr[j] = UINT32_MAX;
    mh_remove(&m, j);
    pr[i] = nx[i] < n ? tki_ranks_get_in(r, p + i, nx[nx[i]] - i, n - i) : UINT32_MAX;
    mh_update(&m, i);
    if (i > 0) {
      uint32_t q = pv[i];
      pr[q] = tki_ranks_get_in(r, p + q, nx[i] - q, n - q);
      mh_update(&m, q);
    }
  }
  if (!o->ids)
    o->n += parts;
  else
    for (uint32_t i = 0; i < n; i = nx[i]) emit(o, tk[i]);
  return TKN_OK;
}

/* ---- long pieces: the backtracking encoder, linear in the length ----
 *
 * The heap merge is O(n log n) and its memory access is random, so on one
 * long piece without a split point (a megabyte of letters) its time per
 * byte grows with the length.  Long pieces use instead an encoder that is
 * linear in the length and gives the same ids.  It rests on three
 * properties of tiktoken's merge rule (lowest rank first, the leftmost
 * among equal ranks), true of any rank table:
 *   - a token sequence is "valid" when merging its bytes gives back that
 *     sequence; every text has exactly one valid sequence, its encoding;
 *   - any run of consecutive tokens of a valid sequence is valid (merges
 *     never cross its token boundaries, and the merges inside a run are
 *     chosen in the same order whatever is around it);
 *   - a valid sequence ending in token a, followed by token b such that
 *     [a, b] is valid, is valid (the merges of the two overlap only in a,
 *     whose merges are the same in both, and every pair across the new
 *     boundary loses, at each step, to a merge that loses nothing).
 * So the encoder walks the text left to right, keeping a valid sequence of
 * the text so far: at each position it tries a token that starts there and
 * takes the first whose pair with the previous token is valid (checked by
 * merging the two tokens' bytes: a few bytes) and whose end is not known to
 * be dead.  When no token fits, the position is dead (no valid sequence of
 * the text continues from its unique valid prefix), is marked so, and the
 * last token is replaced by its next choice.  A position is entered at most
 * once and each token starting at it is tried at most once, so the work is
 * at most the text's length times the tokens starting at one position
 * (bounded by the longest token): linear, not quadratic.  The first valid
 * sequence that reaches the end is the encoding, by uniqueness.
 *
 * Which token first: the text is cut into chunks of GUESS_CHUNK bytes and
 * each is merged on its own by the heap (linear in the text: the chunks are
 * short); the token a chunk's merge starts at a position is tried first, then
 * the others, longest first.  Merges are local, so away from the chunks' ends
 * the guess is the encoding; and two guessed tokens next to each other in
 * one chunk are a valid pair without a check (a run of a valid sequence), so
 * pairs are checked only where the guess changes.  Runs of one character,
 * whose tokens are long and many (runs of '=' have tokens of 64 bytes and
 * more), cost about the same per byte as random letters. */

/* The prefix filter (see tki_ranks.prefix): the image's, or built on first
 * use; NULL when out of memory. */
static const uint64_t *prefix_filter(const tki_ranks *r) {
  tki_ranks *w = (tki_ranks *)r; /* only the atomic pointer is written */
  const uint64_t *f = atomic_load_explicit(&w->prefix, memory_order_acquire);
  if (f) return f; /* the image's, or built before */
  uint64_t *built = tki_ranks_prefix_build(r);
  if (!built) return NULL;
  const uint64_t *expected = NULL;
  if (!atomic_compare_exchange_strong_explicit(&w->prefix, &expected, built,
                                               memory_order_acq_rel, memory_order_acquire)) {
    tki_free(built); /* another thread was first: the same bits */
    return expected;
  }
  return built;
}

/* The longest token of at most lim bytes at p (16 bytes readable past
 * p + lim): its length (0 when none, lim == 0) and rank. */
static size_t longest_token(const tki_ranks *r, const uint64_t *pf, const uint8_t *p, size_t lim,
                            uint32_t *rank) {
  size_t best = 0;
  if (lim > r->max_len) lim = r->max_len;
  /* the keys of up to 8 bytes are the low bytes of one word: their hashes
   * first, and the filter words they need fetched together, not one miss
   * after the other */
  uint64_t w, hs[9];
  memcpy(&w, p, 8);
  size_t k8 = lim < 8 ? lim : 8;
  for (size_t len = 2; len <= k8; len++) {
    hs[len] = tki_ranks_mix(tki_low_bytes(w, len), 0, len, 0);
    __builtin_prefetch(&pf[((uint32_t)hs[len] & (TKI_PREFIX_BITS - 1)) >> 6]);
    if (len > 2) __builtin_prefetch(&r->filter[((uint32_t)(hs[len] >> 26) & TKI_FILTER_MASK) >> 6]);
  }
  /* the hash of the bytes past the first 16 is tki_ranks_tail_hash's,
   * carried from one length to the next: its state after the whole words */
  uint64_t tail = TKI_TAIL_SEED;
  for (size_t len = 1; len <= lim; len++) {
    uint64_t head, head2, t = 0;
    if (len <= 8) {
      if (len == 1) { /* every byte is a token and begins some */
        best = 1;
        *rank = r->byte_rank[p[0]];
        continue;
      }
      uint64_t h = hs[len];
      uint32_t bit = (uint32_t)h & (TKI_PREFIX_BITS - 1);
      if (!(pf[bit >> 6] >> (bit & 63) & 1)) break;
      uint32_t k = len == 2 ? tki_ranks_get2(r, p)
                            : tki_ranks_find(r, p, len, tki_low_bytes(w, len), 0, h);
      if (k != NONE) {
        best = len;
        *rank = k;
      }
      continue;
    }
    tki_key_wide(p, len, &head, &head2);
    if (len > 16) {
      size_t k = len - 16;
      uint64_t v;
      memcpy(&v, p + 16 + ((k - 1) & ~(size_t)7), 8);
      if (!(k & 7)) {
        tail = tki_tail_word(tail, v);
        t = tki_tail_end(tail);
      } else {
        t = tki_tail_end(tki_tail_rest(tail, tki_low_bytes(v, k & 7)));
      }
    }
    uint64_t h = tki_ranks_mix(head, head2, len, t);
    uint32_t bit = (uint32_t)h & (TKI_PREFIX_BITS - 1);
    if (!(pf[bit >> 6] >> (bit & 63) & 1)) break; /* no token begins with these bytes */
    uint32_t k = len == 1 ? r->byte_rank[p[0]] : tki_ranks_find(r, p, len, head, head2, h);
    if (k != NONE) {
      best = len;
      *rank = k;
    }
  }
  return best;
}

/* Whether merging [p, p+n) gives exactly the tokens a (la bytes) then b, or,
 * with la == n, exactly a. */
static int merges_to(const tki_ranks *r, const uint8_t *p, size_t n, size_t la, uint32_t a,
                     uint32_t b, scratch *sc, int *rc) {
  uint32_t ids[3];
  sink o = {ids, 3, 0, UINT64_MAX, 0, 0, NULL};
  if (n > SMALL_PIECE)
    *rc = merge_heap(r, p, n, &o, sc);
  else
    merge_small(r, p, n, &o);
  if (la == n) return o.n == 1 && ids[0] == a;
  return o.n == 2 && ids[0] == a && ids[1] == b;
}

/* The next token to try at p (lim bytes left) after one of `after` bytes (0:
 * none tried yet): first the guess g (a rank, NONE when the guess has no
 * token starting here), then the others from the longest down.  Returns the
 * length (0: none left) and the rank. */
static size_t next_candidate(const tki_ranks *r, const uint64_t *pf, const uint8_t *p, size_t lim,
                             uint32_t g, size_t after, uint32_t *rank) {
  size_t glen = g != NONE ? r->off[g + 1] - r->off[g] : 0;
  if (!after && glen) {
    *rank = g;
    return glen;
  }
  if (after && after != glen) lim = after - 1; /* the longest phase goes on */
  for (;;) {
    size_t len = longest_token(r, pf, p, lim, rank);
    if (!len || len != glen) return len;
    lim = len - 1; /* the guess was tried first */
  }
}

/* Guesses come from the heap merge of chunks of GUESS_CHUNK bytes (tests
 * also use tiny chunks, to meet many chunk ends). */
#define GUESS_CHUNK 2048

static int merge_backtrack(const tki_ranks *r, const uint8_t *text, size_t n, size_t chunk,
                           sink *o, scratch *sc) {
  const uint64_t *pf = prefix_filter(r);
  if (!pf || n > UINT32_MAX - 16) return pf ? TKN_ERR_LIMIT : TKN_ERR_NOMEM;
  /* a padded copy (keys load 16 bytes), the tokens so far (start, rank),
   * one bit per position: dead, the guessed token at each position */
  uint8_t *p = tki_malloc(n + 16);
  uint32_t *st = tki_malloc((n + 1) * sizeof *st), *tk = tki_malloc((n + 1) * sizeof *tk);
  uint32_t *guess = tki_malloc((n + 1) * sizeof *guess);
  uint64_t *dead = tki_calloc(n / 64 + 1, sizeof *dead);
  int rc = TKN_OK;
  if (!p || !st || !tk || !guess || !dead) {
    rc = TKN_ERR_NOMEM;
    goto out;
  }
  memcpy(p, text, n);
  memset(p + n, 0, 16);
  /* The guess: each chunk merged on its own.  Away from the chunks' ends it
   * is nearly always the encoding (merges are local), so the first token
   * tried nearly always holds; near the ends the search below corrects it. */
  for (size_t c = 0; c < n; c += chunk) {
    size_t k = n - c < chunk ? n - c : chunk;
    sink g = {tk, n + 1, 0, UINT64_MAX, 0, 0, NULL}; /* tk is free until the search */
    if (k == 1) {
      tk[0] = r->byte_rank[p[c]];
      g.n = 1;
    } else {
      rc = merge_heap(r, p + c, k, &g, sc);
      if (rc) goto out;
    }
    for (size_t i = 0, at = c; i < g.n; i++) {
      size_t end = at + r->off[tk[i] + 1] - r->off[tk[i]];
      guess[at] = tk[i];
      while (++at < end) guess[at] = NONE;
    }
  }
  guess[n] = NONE;
  size_t m = 0, pos = 0; /* m tokens cover [0, pos) */
  uint32_t rank = NONE;
  size_t len = next_candidate(r, pf, p, n, guess[0], 0, &rank);
  while (pos < n) {
    while (len) {
      size_t end = pos + len;
      if (!(dead[end >> 6] >> (end & 63) & 1)) {
        /* two tokens next to each other in one chunk's merge are a valid
         * pair (a run of a valid sequence is valid): no check needed */
        int ok = rank == guess[pos] &&
                 (!m || (tk[m - 1] == guess[st[m - 1]] && st[m - 1] / chunk == pos / chunk));
        if (!ok)
          ok = m ? merges_to(r, p + st[m - 1], end - st[m - 1], pos - st[m - 1], tk[m - 1], rank,
                             sc, &rc)
                 : merges_to(r, p, len, len, rank, NONE, sc, &rc);
        if (rc) goto out;
        if (ok) break;
      }
      len = next_candidate(r, pf, p + pos, n - pos, guess[pos], len, &rank);
    }
    if (len) { /* take it */
      st[m] = (uint32_t)pos;
      tk[m++] = rank;
      pos += len;
      if (pos < n) len = next_candidate(r, pf, p + pos, n - pos, guess[pos], 0, &rank);
      continue;
    }
    /* nothing fits: pos is dead; go back to the last token's next choice */
    dead[pos >> 6] |= (uint64_t)1 << (pos & 63);
    if (!m) { /* cannot happen (every text has an encoding): be exact anyway */
      rc = merge_heap(r, text, n, o, sc);
      goto out;
    }
    size_t last = pos - st[--m];
    pos = st[m];
    len = next_candidate(r, pf, p + pos, n - pos, guess[pos], last, &rank);
  }
  if (!o->ids)
    o->n += m;
  else
    for (size_t i = 0; i < m; i++) emit(o, tk[i]);
out:
  tki_free(p);
  tki_free(st);
  tki_free(tk);
  tki_free(guess);
  tki_free(dead);
  return rc;
}

/* ---- long pieces: the pair-table encoder ----
 *
 * The same search as above (keep a valid sequence of the text so far, take
 * at each position the first token that continues it, mark a position from
 * which nothing does dead and replace the last token), in the order GitHub's
 * `bpe` crate uses: the longest token first, then each shorter one (the
 * table's longest proper prefix of the last one tried), with no guess; and
 * the check of a pair (a, b) without merging its bytes.  The pair table
 * (tki_ranks_pairs_build) gives each token the two parts of the last merge
 * that makes it when its bytes are merged alone.  When every token ranks
 * above its parts, the merges of a valid sequence happen in rank order on
 * each side of a boundary, and [a, b] is valid exactly when no pair of parts
 * across the boundary merges before the merge that ends it: going back in
 * time from (a, b), undo the later of the two (the higher rank: a part that
 * ranks lower was made first), and at each step the pair across (x, y),
 * whose bytes are a token c, would merge unless c ranks above the merge
 * that makes x's or y's next part; equal ranks go to the leftmost pair, so
 * the limit is the left merge's rank, or the right one's plus one.  The
 * pair across is looked up by its bytes, which lie around the boundary in
 * the text: tiktoken's rule (any adjacent pair whose bytes are a token
 * merges), not only the pairs the table lists. */

/* The pair table (see tki_ranks.pairs): the image's, or built on first
 * use; NULL when out of memory. */
static const uint32_t *pair_table(const tki_ranks *r) {
  tki_ranks *w = (tki_ranks *)r; /* only the atomic pointer is written */
  const uint32_t *t = atomic_load_explicit(&w->pairs, memory_order_acquire);
  if (t) return t;
  uint32_t *built = tki_ranks_pairs_build(r);
  if (!built) return NULL;
  const uint32_t *expected = NULL;
  if (!atomic_compare_exchange_strong_explicit(&w->pairs, &expected, built,
                                               memory_order_acq_rel, memory_order_acquire)) {
    tki_free(built); /* another thread was first: the same table */
    return expected;
  }
  return built;
}

static inline size_t tok_len(const tki_ranks *r, uint32_t t) { return r->off[t + 1] - r->off[t]; }

/* Rank of [p, p+n) (n >= 2), 16 bytes readable from p. */
static inline uint32_t rank_wide(const tki_ranks *r, const uint8_t *p, size_t n) {
  if (n > r->max_len) return NONE;
  if (n == 2) return tki_ranks_get2(r, p);
  uint64_t head, head2;
  tki_key_wide(p, n, &head, &head2);
  return tki_ranks_find(r, p, n, head, head2, tki_ranks_hash(p, n, head, head2));
}

/* Whether [a, b] is valid, a (la bytes) ending and b (lb bytes) starting at q
 * (a, b reachable).  The caller knows both lengths: looking them up again
 * (two reads of off[], often cache misses) cost 11% of the search's time on
 * CJK (o200k). */
static int pair_valid(const tki_ranks *r, const uint32_t *pt, const uint8_t *q, uint32_t a,
                      size_t la, uint32_t b, size_t lb) {
  uint32_t limit = NONE;
  for (;;) {
    uint32_t c = rank_wide(r, q - la, la + lb);
    if (c != NONE && c < limit) return 0;
    if (a > b) { /* a was made last: undo it */
      limit = a;
      uint32_t ar = pt[2 * (size_t)a + 1];
      if (ar == a) { /* a single byte: undo b */
        limit = b + 1;
        uint32_t bl = pt[2 * (size_t)b];
        if (bl == b) return 1;
        b = bl;
        lb = tok_len(r, b);
      } else {
        a = ar;
        la = tok_len(r, a);
      }
    } else { /* b was made last (or a and b are equal: the right one is made later) */
      limit = b + 1;
      uint32_t bl = pt[2 * (size_t)b];
      if (bl == b) {
        limit = a;
        uint32_t ar = pt[2 * (size_t)a + 1];
        if (ar == a) return 1;
        a = ar;
        la = tok_len(r, a);
      } else {
        b = bl;
        lb = tok_len(r, b);
      }
    }
  }
}

/* Whether the len bytes at a and at b are the same, 8 bytes readable from
 * each (a call of memcmp for a few bytes cost more than the compare). */
static inline int same_bytes(const uint8_t *a, const uint8_t *b, size_t len) {
  if (len > 8) return memcmp(a, b, len) == 0;
  uint64_t x, y;
  memcpy(&x, a, 8);
  memcpy(&y, b, 8);
  return tki_low_bytes(x ^ y, len) == 0;
}

/* The search over p (n bytes, 16 readable past the end): tokens and their
 * starts into tk and st (n + 1 each), dead and rep (n / 64 + 1 words each,
 * dead zeroed) mark positions; returns the count, 0 when no sequence was found (impossible:
 * the caller then merges the piece otherwise). */
static size_t pairs_search(const tki_ranks *r, const uint32_t *pt, const uint64_t *pf,
                           const uint8_t *p, size_t n, uint32_t *st, uint32_t *tk,
                           uint64_t *dead, uint64_t *rep) {
  const uint32_t *prefix = pt + 2 * (size_t)r->n;
  int all = pt[3 * (size_t)r->n] == 1; /* every token is reachable */
  size_t m = 0, pos = 0;
  uint32_t rank = NONE;
  size_t len = longest_token(r, pf, p, n, &rank);
  int again = 0; /* the token tried is the last one again (the text repeats) */
  for (;;) {
    size_t end = pos + len;
    if (!(dead[end >> 6] >> (end & 63) & 1) && (all || pt[2 * (size_t)rank] != TKI_UNREACHABLE) &&
        (!m || pair_valid(r, pt, p + pos, tk[m - 1], pos - st[m - 1], rank, len))) {
      st[m] = (uint32_t)pos;
      tk[m++] = rank;
      if (again) /* taken out of turn: taken back, the search at pos starts over */
        rep[pos >> 6] |= (uint64_t)1 << (pos & 63);
      else
        rep[pos >> 6] &= ~((uint64_t)1 << (pos & 63));
      pos = end;
      if (pos == n) return m;
      /* in a run (of '=', of spaces) the encoding is mostly one token over
       * and over, which is not always the longest: try that first */
      again = n - pos >= len && same_bytes(p + pos, p + pos - len, len);
      if (!again) len = longest_token(r, pf, p + pos, n - pos, &rank);
      continue;
    }
    if (again) { /* then the usual order */
      again = 0;
      len = longest_token(r, pf, p + pos, n - pos, &rank);
      continue;
    }
    for (;;) { /* the next shorter token, or back */
      uint32_t nx = prefix[rank];
      if (nx != NONE) {
        rank = nx;
        len = tok_len(r, nx);
        break;
      }
      dead[pos >> 6] |= (uint64_t)1 << (pos & 63);
      if (!m) return 0;
      m--;
      pos = st[m];
      rank = tk[m];
      if (rep[pos >> 6] >> (pos & 63) & 1) { /* every token at pos, in the usual order */
        len = longest_token(r, pf, p + pos, n - pos, &rank);
        break;
      }
    }
  }
}

/* A piece by the pair-table encoder; TKN_ERR_UNSUPPORTED (nothing emitted)
 * when the table does not hold for this rank table.  Should the search end
 * without a sequence (it cannot), the heap merges the piece, or, for tests
 * (strict), TKN_ERR_NOT_FOUND. */








#define PAIRS_STACK 256
static int merge_pairs(const tki_ranks *r, const uint8_t *text, size_t n, sink *o, scratch *sc,
                       int strict) {
  const uint64_t *pf = prefix_filter(r);
  const uint32_t *pt = pf ? pair_table(r) : NULL;
  if (!pt) return tki_fail(TKN_ERR_NOMEM, "out of memory");
  if (!pt[3 * (size_t)r->n]) return TKN_ERR_UNSUPPORTED;
  if (n > UINT32_MAX - 16)
    return tki_fail(TKN_ERR_LIMIT, "text: a piece of %zu bytes is too long", n);
  /* short pieces on the stack, longer ones in allocations */
  uint8_t p_s[PAIRS_STACK + 16];
  uint32_t st_s[PAIRS_STACK + 1], tk_s[PAIRS_STACK + 1];
  uint64_t dead_s[2 * (PAIRS_STACK / 64 + 1)];
  int small = n <= PAIRS_STACK;
  uint8_t *p = small ? p_s : tki_malloc(n + 16);
  uint32_t *st = small ? st_s : tki_malloc((n + 1) * sizeof *st);
  uint32_t *tk = small ? tk_s : tki_malloc((n + 1) * sizeof *tk);
  uint64_t *dead = small ? dead_s : tki_malloc(2 * (n / 64 + 1) * sizeof *dead);
  int rc = TKN_OK;
  if (dead) memset(dead, 0, (n / 64 + 1) * sizeof *dead);
  if (!p || !st || !tk || !dead) {
    rc = tki_fail(TKN_ERR_NOMEM, "out of memory");
  } else {
    memcpy(p, text, n);
    memset(p + n, 0, 16);
    size_t m = pairs_search(r, pt, pf, p, n, st, tk, dead, dead + n / 64 + 1);
    if (!m)
      rc = strict ? TKN_ERR_NOT_FOUND : merge_heap(r, text, n, o, sc);
    else if (!o->ids)
      o->n += m;
    else
      for (size_t i = 0; i < m; i++) emit(o, tk[i]);
  }
  if (!small) {
    tki_free(p);
    tki_free(st);
    tki_free(tk);
    tki_free(dead);
  }
  return rc;
}

/* Ids of a piece of n >= 2 bytes that is not a token itself; h is its hash. */
static int merge_piece(const tki_ranks *r, const uint8_t *p, size_t n, uint64_t h, sink *o,
                       scratch *sc) {
  if (n > SMALL_PIECE) {
    int rc = merge_pairs(r, p, n, o, sc, 0);
    if (rc != TKN_ERR_UNSUPPORTED) return rc;
    /* ranks where the pair table does not hold */
    return n < BACKTRACK_MIN ? merge_heap(r, p, n, o, sc)
                             : merge_backtrack(r, p, n, GUESS_CHUNK, o, sc);
  }
  /* the call's memo first (small, so it stays in the nearest cache), made
   * on the call's MEMO_AFTER-th merge */
  memo_entry *e = NULL;
  if (sc->memo) {
    e = &sc->memo[(uint32_t)h & sc->memo_mask];
    if (e->n == n && e->hash == (uint32_t)(h >> 32) && memcmp(sc->base + e->at, p, n) == 0) {
      if (!o->ids)
        o->n += e->cnt;
      else
        emit_n(o, sc->arena + e->off, e->cnt);
      return TKN_OK;
    }
  } else if (++sc->merges == MEMO_AFTER) {
    size_t slots = MEMO_MIN;
    while (slots < MEMO_MAX && slots < sc->len / 16) slots <<= 1;
    sc->memo = tki_calloc(slots, sizeof *sc->memo);
    sc->memo_mask = (uint32_t)slots - 1;
    sc->arena_cap = 1024;
    sc->arena = tki_malloc(sc->arena_cap * sizeof *sc->arena);
    if (!sc->memo || !sc->arena) {
      scratch_free(sc);
      memset(sc, 0, sizeof *sc);
      return tki_fail(TKN_ERR_NOMEM, "out of memory");
    }
  }
  /* then the tokenizer's piece cache, when the piece fits a slot */
  uint32_t ids[SMALL_PIECE];
  size_t cnt = 0;
  pc_slot *slot = NULL;
  uint64_t key[PC_BYTES / 8];
  if (n <= PC_BYTES && !sc->pc_none) {
    if (!sc->pc) {
      sc->pc = sc->b && sc->b->cache_mask != UINT32_MAX ? pc_table(sc->b) : NULL;
      sc->pc_none = !sc->pc;
    }
    if (sc->pc) {
      pc_key(p, n, key);
      slot = pc_slot_of(sc->pc, sc->b->cache_mask, h);
      cnt = pc_get(slot, n, key, ids);
    }
  }
  if (!cnt) { /* merge */
    sink local = {ids, SMALL_PIECE, 0, UINT64_MAX, 0, 0, NULL};
    /* n <= SMALL_PIECE here: longer ones went above */
    /* the pair-table encoder from PAIRS_MIN bytes when the piece is of 3-
     * and 4-byte characters (its first or, after a space or mark, second
     * byte leads one: CJK, Thai, ...), where it measured faster than the
     * tree; on words of 2-byte characters (Cyrillic, Arabic) it was slower */
    int rc = n >= PAIRS_MIN && (p[0] >= 0xE0 || p[1] >= 0xE0) ? merge_pairs(r, p, n, &local, sc, 0)
                                                              : TKN_ERR_UNSUPPORTED;
    if (rc == TKN_ERR_UNSUPPORTED)
      merge_small(r, p, n, &local);
    else if (rc)
      return rc;
    cnt = local.n;
    if (slot && cnt <= PC_IDS) pc_put(slot, n, key, ids, (uint32_t)cnt, h);
  }
  if (!o->ids)
    o->n += cnt;
  else
    emit_n(o, ids, cnt);
  if (e && sc->arena_n + cnt <= MEMO_MAX_IDS) {
    if (sc->arena_n + cnt > sc->arena_cap) {
      uint32_t ncap = sc->arena_cap * 2;
      uint32_t *na = tki_realloc(sc->arena, ncap * sizeof *na);
      if (!na) return TKN_OK; /* the memo is only a shortcut */
      sc->arena = na;
      sc->arena_cap = ncap;
    }
    memcpy(sc->arena + sc->arena_n, ids, cnt * sizeof *ids);
    *e = (memo_entry){(uint32_t)(h >> 32), (uint32_t)(p - sc->base), sc->arena_n, (uint16_t)n,
                      (uint16_t)cnt};
    sc->arena_n += (uint32_t)cnt;
  }
  return TKN_OK;
}

int tki_bpe_merge_piece(const tki_ranks *r, const uint8_t *p, size_t n, int method,
                        uint32_t *ids, size_t cap, size_t *out_n) {
  sink o = {ids, cap, 0, UINT64_MAX, 0, 0, NULL};
  if (n < 2 || method < TKI_MERGE_SCAN || method > TKI_MERGE_PAIRS ||
      ((method == TKI_MERGE_SCAN || method == TKI_MERGE_TREE) && n > SMALL_PIECE) ||
      (method == TKI_MERGE_TREE && r->n > TREE_RANKS))
    return TKN_ERR_INVALID;
  int rc = TKN_OK;
  scratch sc = {0};
  if (method == TKI_MERGE_HEAP)
    rc = merge_heap(r, p, n, &o, &sc);
  else if (method == TKI_MERGE_BACKTRACK || method == TKI_MERGE_BACKTRACK_SMALL)
    rc = merge_backtrack(r, p, n, method == TKI_MERGE_BACKTRACK ? GUESS_CHUNK : 16, &o, &sc);
  else if (method == TKI_MERGE_PAIRS)
    rc = merge_pairs(r, p, n, &o, &sc, 1);
  else if (method == TKI_MERGE_TREE)
    merge_tree(r, p, n, &o);
  else
    merge_scan(r, p, n, &o);
  scratch_free(&sc);
  *out_n = o.n;
  return rc;
}

/* ---- text -> pieces -> ids ---- */

/* Pieces are found in batches: the table slots of a whole batch are
 * prefetched before the first lookup, so their memory latencies overlap. */
#define BATCH 16

/* Ordinary text [s, s+len): pre-tokenise and encode each piece. */
static int encode_ordinary(const bpe_impl *b, const uint8_t *s, size_t len, sink *o,
                           scratch *sc) {
  const tki_ranks *r = &b->ranks;
  uint32_t start[BATCH + 1];
  uint64_t head[BATCH], head2[BATCH], hash[BATCH];
  for (size_t pos = 0; pos < len;) {
    size_t k = 0;
    for (; k < BATCH && pos < len; k++) { /* the next pieces, their slots prefetched */
      size_t end = tki_pretok_next(b->pattern, s, len, pos);
      size_t n = end - pos;
      start[k] = (uint32_t)pos;
      if (n >= 2 && n <= SMALL_PIECE) {
        if (len - pos >= 16)
          tki_key_wide(s + pos, n, &head[k], &head2[k]);
        else
          tki_key_exact(s + pos, n, &head[k], &head2[k]);
        hash[k] = tki_ranks_hash(s + pos, n, head[k], head2[k]);
        __builtin_prefetch(tki_ranks_slot_of(r, n, hash[k]));
        /* pieces with a non-ASCII letter first often need merging: their
         * piece cache slot is fetched now too, not when the merge asks */
        if (sc->pc && n <= PC_BYTES && (s[pos] | s[pos + 1]) >= 0x80) {
          const pc_slot *set = pc_slot_of(sc->pc, b->cache_mask, hash[k]);
          __builtin_prefetch(set);
          __builtin_prefetch(set + 1);
        }
      } else {
        hash[k] = 0;
      }
      pos = end;
    }
    start[k] = (uint32_t)pos;
    for (size_t i = 0; i < k; i++) {
      const uint8_t *p = s + start[i];
      size_t n = start[i + 1] - start[i];
      if (n == 1) {
        emit(o, r->byte_rank[p[0]]);
      } else {
        /* whole pieces are mostly tokens: straight to the (prefetched) slot */
        uint32_t id = n <= r->max_len && n <= SMALL_PIECE
                          ? tki_ranks_lookup(r, p, n, head[i], head2[i], hash[i])
                          : tki_ranks_get(r, p, n);
        if (id != UINT32_MAX) {
          emit(o, id);
        } else {
          int rc = merge_piece(r, p, n, hash[i], o, sc);
          if (rc) return rc;
        }
      }
      if (o->n > o->limit) {
        o->stop = s + start[i + 1];
        return TKN_OK;
      }
    }
  }
  return TKN_OK;
}

/* The first special token starting at or after `from`, or NULL. */
static const tki_special *find_special(const bpe_impl *b, const char *t, size_t len, size_t from,
                                       size_t *at) {
  while (from + 1 < len) {
    const char *q = memchr(t + from, '<', len - from - 1);
    if (!q) return NULL;
    size_t i = (size_t)(q - t);
    if (t[i + 1] == '|')
      for (uint32_t k = 0; k < b->nspecials; k++) {
        const tki_special *sp = &b->specials[k];
        if (len - i >= sp->len && memcmp(t + i, sp->text, sp->len) == 0) {
          *at = i;
          return sp;
        }
      }
    from = i + 1;
  }
  return NULL;
}

static int run_text(const bpe_impl *b, const char *text, size_t len,
                    const tkn_encode_options *opts, uint32_t mode, sink *o, scratch *sc);

static int run(const bpe_impl *b, const char *text, size_t len, const tkn_encode_options *opts,
               uint32_t mode, sink *o) {
  scratch sc = {0};
  sc.b = b;
  sc.base = (const uint8_t *)text;
  sc.len = len;
  int rc = run_text(b, text, len, opts, mode, o, &sc);
  scratch_free(&sc);
  return rc;
}

static int run_text(const bpe_impl *b, const char *text, size_t len,
                    const tkn_encode_options *opts, uint32_t mode, sink *o, scratch *sc) {
  (void)opts;
  size_t bad;
  if (mode > TKN_SPECIAL_PLAIN)
    return tki_fail(TKN_ERR_INVALID, "encode options: unknown special-token mode");
  if (len > UINT32_MAX)
    return tki_fail(TKN_ERR_LIMIT, "text: %zu bytes, more than the 4 GiB - 1 limit", len);
  if (!tki_utf8_valid(text, len, &bad))
    return tki_fail_at(TKN_ERR_UTF8, (int64_t)bad, NULL, "text: invalid UTF-8 at byte %zu", bad);
  const uint8_t *s = (const uint8_t *)text;
  if (mode == TKN_SPECIAL_PLAIN) return encode_ordinary(b, s, len, o, sc);
  size_t at = 0;
  const tki_special *sp = find_special(b, text, len, 0, &at);
  if (mode == TKN_SPECIAL_REFUSE) {
    if (sp) {
      return tki_fail_at(
          TKN_ERR_SPECIAL_TOKEN, (int64_t)at, NULL,
          "text: special token %s at byte %zu is not allowed (encode options: "
          "TKN_SPECIAL_ALLOW to encode it as a special token, TKN_SPECIAL_PLAIN as text)",
          sp->text, at);
    }
    return encode_ordinary(b, s, len, o, sc);
  }
  size_t pos = 0;
  while (sp) { /* TKN_SPECIAL_ALLOW: ordinary text up to each special token */
    int rc = encode_ordinary(b, s + pos, at - pos, o, sc);
    if (rc || o->n > o->limit) return rc;
    emit(o, sp->id);
    pos = at + sp->len;
    if (o->n > o->limit) {
      o->stop = s + pos;
      return TKN_OK;
    }
    sp = find_special(b, text, len, pos, &at);
  }
  return encode_ordinary(b, s + pos, len - pos, o, sc);
}

static const tkn_encode_options k_default_opts = TKN_ENCODE_OPTIONS_INIT;

static int check_opts(const tkn_encode_options *opts) {
  if (opts && opts->version != TKN_ENCODE_OPTIONS_VERSION)
    return tki_fail(TKN_ERR_VERSION, "encode options: version %u is not %u", opts->version,
                    TKN_ENCODE_OPTIONS_VERSION);
  return TKN_OK;
}

/* ---- the vtable ---- */

static int bpe_count(const tkn_tokenizer *tok, const char *text, size_t len, int64_t *out) {
  const bpe_impl *b = tok->impl;
  sink o = {NULL, 0, 0, UINT64_MAX, 0, 0, NULL};
  int rc = run(b, text, len, NULL, b->special_default, &o);
  if (rc) return rc;
  *out = (int64_t)o.n;
  return TKN_OK;
}

/* Into the caller's array: the text stops at the first id that does not fit
 * (a sizing call, cap 0, counts it all), and *n is then the ids so far plus
 * the bytes not encoded, which is enough (TKN_ENCODE_IDS_BOUND). */
static int bpe_encode(const tkn_tokenizer *tok, const char *text, size_t len,
                      const tkn_encode_options *opts, uint32_t *ids, size_t cap, size_t *n) {
  sink o = {ids, ids ? cap : 0, 0, cap ? (uint64_t)cap : UINT64_MAX, 0, 0, NULL};
  int rc = run(tok->impl, text, len, opts, opts->special, &o);
  if (rc) return rc;
  *n = o.stop ? o.n + (size_t)((const uint8_t *)text + len - o.stop) : o.n;
  if (o.n > cap) {
    return tki_fail(TKN_ERR_TOO_SMALL, "encode: the ids do not fit in a buffer of %zu (%s %zu)",
                    cap, o.stop ? "at most" : "exactly", *n);
  }
  return TKN_OK;
}

static int bpe_count_limit(const tkn_tokenizer *tok, const char *text, size_t len, int64_t limit,
                           const tkn_encode_options *opts, int64_t *out) {
  sink o = {NULL, 0, 0, (uint64_t)limit, 0, 0, NULL};
  int rc = run(tok->impl, text, len, opts, opts->special, &o);
  if (rc) return rc;
  *out = o.n > (uint64_t)limit ? limit + 1 : (int64_t)o.n;
  return TKN_OK;
}

static int bpe_decode(const tkn_tokenizer *tok, const uint32_t *ids, size_t n, tki_buf *out) {
  const bpe_impl *b = tok->impl;
  const tki_ranks *r = &b->ranks;
  for (size_t i = 0; i < n; i++) {
    uint32_t id = ids[i];
    if (id < r->n) {
      tki_buf_append(out, r->bytes + r->off[id], r->off[id + 1] - r->off[id]);
      continue;
    }
    uint32_t k = 0;
    while (k < b->nspecials && b->specials[k].id != id) k++;
    if (k == b->nspecials)
      return tki_fail(TKN_ERR_NOT_FOUND, "decode: token id %u is not in the vocabulary",
                      (unsigned)id);
    tki_buf_append(out, b->specials[k].text, b->specials[k].len);
  }
  return out->failed ? TKN_ERR_NOMEM : TKN_OK;
}

static void bpe_destroy(tkn_tokenizer *tok) {
  bpe_impl *b = tok->impl;
  tki_ranks_free(&b->ranks);
  pc_free(atomic_load_explicit(&b->cache, memory_order_acquire));
  tki_free(b);
}

/* The shared vtable has count and destroy; encode, count_limit and decode
 * are BPE-only and dispatched by recognising this vtable. */
static const tki_tokenizer_vt bpe_vt = {"bpe", bpe_count, bpe_destroy};
#define IS_BPE(tok) ((tok)->vt == &bpe_vt)

/* ---- makers ---- */

/* Read a whole file the caller named. */
static int read_file(const char *path, char **data, size_t *len, char err[TKI_ERRLEN]) {
  FILE *f = fopen(path, "rb");
  if (!f) return tki_err(err, TKN_ERR_IO, "rank file %s: cannot open: %s", path, strerror(errno));
  size_t cap = 1 << 20, n = 0;
  char *buf = tki_malloc(cap);
  int rc = TKN_OK;
  while (buf) {
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (n < cap) break;
    if (cap > ((size_t)1 << 32)) {
      rc = tki_err(err, TKN_ERR_LIMIT, "rank file %s: larger than 4 GiB", path);
      break;
    }
    char *nb = tki_realloc(buf, cap * 2);
    if (!nb) {
      tki_free(buf);
      buf = NULL;
      break;
    }
    buf = nb;
    cap *= 2;
  }
  if (!rc && !buf) rc = tki_err(err, TKN_ERR_NOMEM, "rank file %s: out of memory", path);
  if (!rc && ferror(f)) rc = tki_err(err, TKN_ERR_IO, "rank file %s: read error", path);
  fclose(f);
  if (rc) {
    tki_free(buf);
    return rc;
  }
  *data = buf;
  *len = n;
  return TKN_OK;
}

static int make_bpe(tkn_tokenizer **out, const tkn_ranks_options *o) {
  char *err = NULL; /* failures go to tkn_error_last() */
  int rc;
  if (o->flavor != TKN_BPE_CL100K && o->flavor != TKN_BPE_O200K) {
    rc = tki_err(err, TKN_ERR_INVALID, "ranks options: flavor must be TKN_BPE_CL100K or "
                                       "TKN_BPE_O200K");
    goto fail;
  }
  if (o->piece_cache_kb > (1u << 20)) {
    rc = tki_err(err, TKN_ERR_INVALID, "ranks options: piece_cache_kb %u is over 1048576 (1 GB)",
                 (unsigned)o->piece_cache_kb);
    goto fail;
  }
  if (o->special > TKN_SPECIAL_PLAIN) {
    rc = tki_err(err, TKN_ERR_INVALID, "ranks options: unknown special-token mode %u",
                 (unsigned)o->special);
    goto fail;
  }
  bpe_impl *b = tki_calloc(1, sizeof *b);
  if (!b) {
    rc = tki_err(err, TKN_ERR_NOMEM, "tokenizer: out of memory");
    goto fail;
  }
  int cl = o->flavor == TKN_BPE_CL100K;
  b->pattern = cl ? TKI_PAT_CL100K : TKI_PAT_O200K;
  b->special_default = o->special;
  b->cache_mask = UINT32_MAX; /* no cache */
  if (o->piece_cache_kb) {
    uint32_t slots = 1;
    while ((uint64_t)slots * 2 * sizeof(pc_slot) <= (uint64_t)o->piece_cache_kb * 1024) slots *= 2;
    b->cache_mask = slots - 1;
  }
  b->specials = cl ? k_cl100k_specials : k_o200k_specials;
  b->nspecials = cl ? 5 : 2;
  if (o->path) {
    size_t len = 0;
    char *data = NULL;
    rc = read_file(o->path, &data, &len, err);
    if (!rc) {
      rc = tki_ranks_parse(&b->ranks, data, len, err);
      tki_free(data);
    }
  } else if (o->data) {
    rc = tki_ranks_parse(&b->ranks, o->data, o->len, err);
  } else {
    size_t ilen = 0;
    const uint8_t *img = tki_ranks_image(cl, &ilen);
    if (!img)
      rc = tki_err(err, TKN_ERR_UNAVAILABLE,
                   "%s: this library was built without embedded ranks (-Dembed_ranks=false); "
                   "load a rank file instead", cl ? "cl100k_base" : "o200k_base");
    else
      rc = tki_ranks_from_image(&b->ranks, img, ilen, err);
  }
  if (rc) {
    tki_free(b);
    goto fail;
  }
  uint32_t vocab = b->ranks.n;
  for (uint32_t k = 0; k < b->nspecials; k++) {
    if (b->specials[k].id < b->ranks.n) {
      rc = tki_err(err, TKN_ERR_SCHEMA, "ranks: special token %s has id %u, inside the ranks",
                   b->specials[k].text, (unsigned)b->specials[k].id);
      tki_ranks_free(&b->ranks);
      tki_free(b);
      goto fail;
    }
    if (b->specials[k].id + 1 > vocab) vocab = b->specials[k].id + 1;
  }
  b->vocab = vocab;
  rc = tki_tokenizer_make(out, &bpe_vt, b);
  if (rc) {
    tki_err(err, rc, "tokenizer: out of memory");
    tki_ranks_free(&b->ranks);
    tki_free(b);
    goto fail;
  }
  (*out)->name = cl ? "cl100k_base" : "o200k_base";
  return TKN_OK;
fail:
  return rc;
}

/* ---- public ---- */

TKI_DEFINE_INIT(tkn_encode_options_init, tkn_encode_options, opts, TKN_ENCODE_OPTIONS_VERSION,
                TKN_ENCODE_OPTIONS_INIT)

TKI_DEFINE_INIT_V1(tkn_ranks_options_init, tkn_ranks_options, opts, TKN_RANKS_OPTIONS_VERSION,
                   TKN_RANKS_OPTIONS_INIT, piece_cache_kb)

/* Model families by name: the name itself, or the name followed by '-' (dated
 * and sized variants) or ':' (fine-tunes). */
typedef struct family {
  const char *prefix;
  const char *encoding;
} family;
static const family k_families[] = {
    {"gpt-4o", "o200k_base"},          {"chatgpt-4o", "o200k_base"},
    {"gpt-4.1", "o200k_base"},         {"gpt-4.5", "o200k_base"},
    {"gpt-5", "o200k_base"},           {"o1", "o200k_base"},
    {"o3", "o200k_base"},              {"o4", "o200k_base"},
    {"gpt-4", "cl100k_base"},          {"gpt-3.5-turbo", "cl100k_base"},
    {"gpt-3.5", "cl100k_base"},        {"gpt-35-turbo", "cl100k_base"},
    {"text-embedding-3-small", "cl100k_base"}, {"text-embedding-3-large", "cl100k_base"},
    {"text-embedding-ada-002", "cl100k_base"},
};

const char *tkn_tokenizer_encoding_for_model(const char *model, size_t len) {
  len = tki_len(model, len);
  if (!model) return NULL;
  if (len > 3 && memcmp(model, "ft:", 3) == 0) { /* ft:gpt-4o-mini:org::id */
    model += 3;
    len -= 3;
  }
  for (size_t i = 0; i < sizeof k_families / sizeof k_families[0]; i++) {
    size_t n = strlen(k_families[i].prefix);
    if (len >= n && memcmp(model, k_families[i].prefix, n) == 0 &&
        (len == n || model[n] == '-' || model[n] == ':'))
      return k_families[i].encoding;
  }
  return NULL;
}

int tkn_tokenizer_new_encoding(tkn_tokenizer **out, const char *name, size_t name_len) {
  name_len = tki_len(name, name_len);
  if (!out) return tki_fail(TKN_ERR_INVALID, "tkn_tokenizer_new_encoding: out is NULL");
  *out = NULL;
  if (!name && name_len) return tki_fail(TKN_ERR_INVALID, "tkn_tokenizer_new_encoding: name is NULL");
  tkn_ranks_options o = TKN_RANKS_OPTIONS_INIT;
  if (name_len == 11 && memcmp(name, "cl100k_base", 11) == 0) {
    o.flavor = TKN_BPE_CL100K;
  } else if (name_len == 10 && memcmp(name, "o200k_base", 10) == 0) {
    o.flavor = TKN_BPE_O200K;
  } else {
    return tki_unknown_encoding("tkn_tokenizer_new_encoding", name, name_len);
  }
  return make_bpe(out, &o);
}

int tkn_tokenizer_new_for_model(tkn_tokenizer **out, const char *model, size_t len) {
  len = tki_len(model, len);
  if (!out) return tki_fail(TKN_ERR_INVALID, "tkn_tokenizer_new_for_model: out is NULL");
  *out = NULL;
  if (!model && len) return tki_fail(TKN_ERR_INVALID, "tkn_tokenizer_new_for_model: model is NULL");
  const char *enc = tkn_tokenizer_encoding_for_model(model, len);
  if (!enc) {
    return tki_fail(TKN_ERR_NOT_FOUND, "tkn_tokenizer_new_for_model: model \"%.*s\" (%zu "
                    "bytes) has no known encoding", (int)(len > 64 ? 64 : len),
                    model ? model : "", len);
  }
  return tkn_tokenizer_new_encoding(out, enc, strlen(enc));
}

int tkn_tokenizer_load_ranks(tkn_tokenizer **out, const tkn_ranks_options *opts) {
  if (!out || !opts) return tki_fail_null("tkn_tokenizer_load_ranks", !out ? "out" : "opts");
  *out = NULL;
  if (opts->version != TKN_RANKS_OPTIONS_VERSION && opts->version != 1)
    return tki_fail(TKN_ERR_VERSION, "ranks options: version %u is not 1 or %u", opts->version,
                    TKN_RANKS_OPTIONS_VERSION);
  if ((opts->path && opts->data) ||
      (!opts->data && opts->len && opts->len != TKN_NUL_TERMINATED))
    return tki_fail(TKN_ERR_INVALID, "ranks options: give a path or data, not both");
  tkn_ranks_options norm = TKN_RANKS_OPTIONS_INIT; /* version 1 ends before piece_cache_kb */
  memcpy(&norm, opts, opts->version == 1 ? offsetof(tkn_ranks_options, piece_cache_kb)
                                         : sizeof norm);
  norm.version = TKN_RANKS_OPTIONS_VERSION;
  norm.len = tki_len(norm.data, norm.len);
  return make_bpe(out, &norm);
}

int tkn_tokenizer_encode(const tkn_tokenizer *tok, const char *text, size_t len,
                         const tkn_encode_options *opts, uint32_t *ids, size_t cap, size_t *n) {
  len = tki_len(text, len);
  if (!tok || !n) return tki_fail_null("tkn_tokenizer_encode", !tok ? "tok" : "n");
  if (!text && len)
    return tki_fail(TKN_ERR_INVALID, "tkn_tokenizer_encode: text is NULL with a length");
  if (!ids && cap)
    return tki_fail(TKN_ERR_INVALID, "tkn_tokenizer_encode: ids is NULL with a length");
  int rc = check_opts(opts);
  if (rc) return rc;
  if (!IS_BPE(tok)) return tki_fail(TKN_ERR_UNSUPPORTED, "tkn_tokenizer_encode: unsupported");
  return bpe_encode(tok, text ? text : "", len, opts ? opts : &k_default_opts, ids, cap, n);
}

int tkn_tokenizer_encode_alloc(const tkn_tokenizer *tok, const char *text, size_t len,
                               const tkn_encode_options *opts, uint32_t **ids, size_t *n) {
  len = tki_len(text, len);
  if (!tok || !ids || !n)
    return tki_fail_null("tkn_tokenizer_encode_alloc", !tok ? "tok" : !ids ? "ids" : "n");
  if (!text && len)
    return tki_fail(TKN_ERR_INVALID, "tkn_tokenizer_encode_alloc: text is NULL with a length");
  *ids = NULL;
  *n = 0;
  int rc = check_opts(opts);
  if (rc) return rc;
  if (!IS_BPE(tok)) return tki_fail(TKN_ERR_UNSUPPORTED, "tkn_tokenizer_encode_alloc: unsupported");
  if (!opts) opts = &k_default_opts;
  if (!text) text = "";
  /* one pass into an array that grows; the first guess fits most text
   * (prose and code average 3 to 5 bytes a token) */
  size_t cap = len / 3 + 16;
  if (cap > len + 1) cap = len + 1;
  sink o = {tki_malloc(cap * sizeof(uint32_t)), cap, 0, UINT64_MAX, 1, 0, NULL};
  if (!o.ids) return tki_fail(TKN_ERR_NOMEM, "encode: out of memory");
  rc = run(tok->impl, text, len, opts, opts->special, &o);
  if (!rc && o.failed) rc = tki_fail(TKN_ERR_NOMEM, "encode: out of memory");
  if (rc || o.n == 0) {
    tki_free(o.ids);
    return rc;
  }
  if (o.cap - o.n >= 4096) { /* give back what a wide guess left unused */
    uint32_t *shrunk = tki_realloc(o.ids, o.n * sizeof *o.ids);
    if (shrunk) o.ids = shrunk;
  }
  *ids = o.ids;
  *n = o.n;
  return TKN_OK;
}

int tkn_tokenizer_count_limit(const tkn_tokenizer *tok, const char *text, size_t len,
                              int64_t limit, const tkn_encode_options *opts, int64_t *out) {
  len = tki_len(text, len);
  if (!tok || !out) return tki_fail_null("tkn_tokenizer_count_limit", !tok ? "tok" : "out");
  if (!text && len)
    return tki_fail(TKN_ERR_INVALID, "tkn_tokenizer_count_limit: text is NULL with a length");
  if (limit < 0 || limit == INT64_MAX)
    return tki_fail(TKN_ERR_INVALID, "tkn_tokenizer_count_limit: limit %lld is not in [0, "
                    "INT64_MAX)", (long long)limit);
  int rc = check_opts(opts);
  if (rc) return rc;
  if (!text) text = "";
  if (!IS_BPE(tok)) {
    int64_t n = 0;
    rc = tok->vt->count(tok, text, len, &n);
    if (rc) return rc;
    *out = n > limit ? limit + 1 : n;
    return TKN_OK;
  }
  return bpe_count_limit(tok, text, len, limit, opts ? opts : &k_default_opts, out);
}

int tkn_tokenizer_decode(const tkn_tokenizer *tok, const uint32_t *ids, size_t n, char **out,
                         size_t *len) {
  if (!tok || !out || !len)
    return tki_fail_null("tkn_tokenizer_decode", !tok ? "tok" : !out ? "out" : "len");
  if (!ids && n)
    return tki_fail(TKN_ERR_INVALID, "tkn_tokenizer_decode: ids is NULL with a length");
  *out = NULL;
  *len = 0;
  if (!IS_BPE(tok)) return tki_fail(TKN_ERR_UNSUPPORTED, "tkn_tokenizer_decode: unsupported");
  tki_buf b;
  tki_buf_init(&b);
  int rc = bpe_decode(tok, ids, n, &b);
  if (rc == TKN_ERR_NOMEM || (!rc && tki_buf_append(&b, "", 0))) /* NUL-terminated if empty */
    rc = tki_fail(TKN_ERR_NOMEM, "decode: out of memory");
  if (rc) {
    tki_buf_free(&b);
    return rc;
  }
  return tki_buf_give(&b, out, len, "decode");
}

uint32_t tkn_tokenizer_vocab_size(const tkn_tokenizer *tok) {
  if (!tok || !IS_BPE(tok)) return 0;
  return ((const bpe_impl *)tok->impl)->vocab;
}

const tki_ranks *tki_bpe_ranks(const tkn_tokenizer *tok) {
  return tok && IS_BPE(tok) ? &((const bpe_impl *)tok->impl)->ranks : NULL;
}
