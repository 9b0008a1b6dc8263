/* The rank table of a BPE encoding: token bytes -> rank, from tiktoken's text
 * format (base64, space, rank per line), from a compact blob (the build's
 * generator), or pointed into an image laid out at build time.  Built once,
 * then only read (shared by threads without locks). */
#include "bpe_internal.h"

uint64_t tki_ranks_tail_hash(const uint8_t *p, size_t n) {
  uint64_t h = TKI_TAIL_SEED;
  while (n >= 8) {
    uint64_t v;
    memcpy(&v, p, 8);
    h = tki_tail_word(h, v);
    p += 8;
    n -= 8;
  }
  if (n) h = tki_tail_rest(h, tki_ranks_head(p, n));
  return tki_tail_end(h);
}

void tki_ranks_free(tki_ranks *r) {
  if (!r) return;
  for (size_t i = 0; i < sizeof r->owned / sizeof r->owned[0]; i++) tki_free(r->owned[i]);
  const uint64_t *pf = atomic_load_explicit(&r->prefix, memory_order_acquire);
  const uint32_t *pt = atomic_load_explicit(&r->pairs, memory_order_acquire);
  if (!r->image) { /* built on first need (bpe.c) */
    tki_free((void *)pf);
    tki_free((void *)pt);
  }
  memset(r, 0, sizeof *r);
}

/* Build the hash tables, the filter and the single-byte and pair ranks over
 * r->bytes / r->off. */
static int build_table(tki_ranks *r, char err[TKI_ERRLEN]) {
  /* two tables, by token length (up to 8 bytes, more), each with a load
   * factor of at most 0.8 */
  uint64_t nshort = 0;
  for (uint32_t k = 0; k < r->n; k++) nshort += r->off[k + 1] - r->off[k] <= 8;
  uint64_t nlong = r->n - nshort, size = 1024, ssize = 1024;
  while (size < nlong + nlong / 4) size <<= 1;
  while (ssize < nshort + nshort / 4) ssize <<= 1;
  if (size > ((uint64_t)1 << 32) || ssize > ((uint64_t)1 << 32))
    return tki_err(err, TKN_ERR_LIMIT, "rank table: too many tokens");
  tki_rank_slot *slots = tki_calloc((size_t)size, sizeof *slots);
  tki_short_slot *sslots = tki_calloc((size_t)ssize, sizeof *sslots);
  uint32_t *pair_rank = tki_malloc(65536 * sizeof *pair_rank);
  uint64_t *filter = tki_calloc(TKI_FILTER_BITS / 64, sizeof *filter);
  uint32_t *byte_rank = tki_malloc(256 * sizeof *byte_rank);
  r->owned[1] = slots;
  r->owned[2] = sslots;
  r->owned[3] = pair_rank;
  r->owned[4] = filter;
  r->owned[5] = byte_rank;
  if (!slots || !sslots || !pair_rank || !filter || !byte_rank)
    return tki_err(err, TKN_ERR_NOMEM, "rank table: out of memory");
  r->slots = slots;
  r->sslots = sslots;
  r->pair_rank = pair_rank;
  r->filter = filter;
  r->byte_rank = byte_rank;
  r->mask = (uint32_t)(size - 1);
  r->smask = (uint32_t)(ssize - 1);
  for (size_t i = 0; i < 65536; i++) pair_rank[i] = UINT32_MAX;
  for (int b = 0; b < 256; b++) byte_rank[b] = UINT32_MAX;
  r->max_len = 0;
  for (uint32_t k = 0; k < r->n; k++) {
    size_t n = r->off[k + 1] - r->off[k];
    if (n > r->max_len) r->max_len = (uint32_t)n;
  }
  for (uint32_t k = 0; k < r->n; k++) {
    const uint8_t *p = r->bytes + r->off[k];
    size_t n = r->off[k + 1] - r->off[k];
    if (n == 0 || n > 65535)
      return tki_err(err, TKN_ERR_SCHEMA, "rank table: rank %u has %zu bytes (1 to 65535)",
                     (unsigned)k, n);
    if (tki_ranks_get(r, p, n) != UINT32_MAX)
      return tki_err(err, TKN_ERR_DUPLICATE, "rank table: ranks %u and %u are the same bytes",
                     (unsigned)tki_ranks_get(r, p, n), (unsigned)k);
    uint64_t head, head2;
    tki_key_exact(p, n, &head, &head2);
    uint64_t h = tki_ranks_hash(p, n, head, head2);
    if (n <= 8) {
      uint32_t i = (uint32_t)h & r->smask;
      while (sslots[i].rank1) i = (i + 1) & r->smask;
      sslots[i].head = head;
      sslots[i].rank1 = k + 1;
      sslots[i].len = (uint32_t)n;
    } else {
      uint32_t mask = r->mask;
      uint32_t i = (uint32_t)h & mask;
      while (slots[i].rank1) i = (i + 1) & mask;
      slots[i].head = head;
      slots[i].head2 = head2;
      slots[i].rank1 = k + 1;
      slots[i].len = (uint16_t)n;
      slots[i].tag = (uint16_t)(h >> 48);
    }
    uint32_t bit = (uint32_t)(h >> 26) & TKI_FILTER_MASK;
    filter[bit >> 6] |= (uint64_t)1 << (bit & 63);
    if (n == 1) byte_rank[p[0]] = k;
    if (n == 2) pair_rank[p[0] | (uint32_t)p[1] << 8] = k;
  }
  for (int b = 0; b < 256; b++)
    if (byte_rank[b] == UINT32_MAX)
      return tki_err(err, TKN_ERR_SCHEMA, "rank table: byte 0x%02x has no rank", b);
  return TKN_OK;
}

uint64_t *tki_ranks_prefix_build(const tki_ranks *r) {
  uint64_t *f = tki_calloc(TKI_PREFIX_BITS / 64, sizeof *f);
  if (!f) return NULL;
  for (uint32_t k = 0; k < r->n; k++) {
    const uint8_t *p = r->bytes + r->off[k];
    size_t n = r->off[k + 1] - r->off[k];
    for (size_t len = 1; len <= n; len++) {
      uint64_t head, head2;
      tki_key_exact(p, len, &head, &head2);
      uint32_t bit = (uint32_t)tki_ranks_hash(p, len, head, head2) & (TKI_PREFIX_BITS - 1);
      f[bit >> 6] |= (uint64_t)1 << (bit & 63);
    }
  }
  return f;
}

/* Merge token k's bytes alone, as tiktoken would (the lowest rank first,
 * the leftmost among equal ones; pieces are short): the parts of the last
 * merge when it gives k, else TKI_UNREACHABLE. */
static void last_merge(const tki_ranks *r, uint32_t k, uint32_t *left, uint32_t *right) {
  const uint8_t *p = r->bytes + r->off[k];
  size_t n = r->off[k + 1] - r->off[k];
  *left = *right = TKI_UNREACHABLE;
  uint32_t st[256 + 1], tk[256], rk[256];
  if (n < 2 || n > 256) return; /* single bytes are the caller's; longer than any
                                   token of the built-in encodings: the table is
                                   then not used (see below) */
  for (size_t i = 0; i < n; i++) {
    st[i] = (uint32_t)i;
    tk[i] = r->byte_rank[p[i]];
    rk[i] = i + 1 < n ? tki_ranks_get(r, p + i, 2) : UINT32_MAX;
  }
  st[n] = (uint32_t)n;
  size_t m = n; /* parts */
  while (m > 1) {
    size_t bi = 0;
    uint32_t best = UINT32_MAX;
    for (size_t i = 0; i + 1 < m; i++)
      if (rk[i] < best) {
        best = rk[i];
        bi = i;
      }
    if (best == UINT32_MAX) return;
    *left = tk[bi];
    *right = tk[bi + 1];
    tk[bi] = best;
    for (size_t j = bi + 1; j < m; j++) {
      st[j] = st[j + 1];
      if (j + 1 < m) {
        tk[j] = tk[j + 1];
        rk[j] = rk[j + 1];
      }
    }
    m--;
    rk[bi] = bi + 1 < m ? tki_ranks_get(r, p + st[bi], st[bi + 2] - st[bi]) : UINT32_MAX;
    if (bi > 0) rk[bi - 1] = tki_ranks_get(r, p + st[bi - 1], st[bi + 1] - st[bi - 1]);
  }
  if (tk[0] != k) *left = *right = TKI_UNREACHABLE;
}

uint32_t *tki_ranks_pairs_build(const tki_ranks *r) {
  uint32_t *t = tki_malloc((size_t)TKI_PAIRS_WORDS(r->n) * sizeof *t);
  if (!t) return NULL;
  uint32_t monotone = 1, reachable = 1, *prefix = t + 2 * (size_t)r->n;
  for (uint32_t k = 0; k < r->n; k++) {
    const uint8_t *p = r->bytes + r->off[k];
    size_t n = r->off[k + 1] - r->off[k];
    if (n == 1) {
      t[2 * k] = t[2 * k + 1] = k;
    } else {
      last_merge(r, k, &t[2 * k], &t[2 * k + 1]);
      if (n > 256 || (t[2 * k] != TKI_UNREACHABLE && (t[2 * k] >= k || t[2 * k + 1] >= k)))
        monotone = 0;
      if (t[2 * k] == TKI_UNREACHABLE) reachable = 0;
    }
    prefix[k] = TKI_UNREACHABLE;
    for (size_t len = n - 1; len >= 1; len--) {
      uint32_t q = tki_ranks_get(r, p, len);
      if (q != UINT32_MAX) {
        prefix[k] = q;
        break;
      }
    }
  }
  t[3 * (size_t)r->n] = monotone ? 2 - reachable : 0;
  return t;
}

int tki_ranks_from_blob(tki_ranks *r, const uint8_t *blob, size_t len, char err[TKI_ERRLEN]) {
  memset(r, 0, sizeof *r);
  if (!blob || len < 8 || memcmp(blob, "TKR1", 4) != 0)
    return tki_err(err, TKN_ERR_PARSE, "rank blob: bad header");
  uint32_t n = (uint32_t)blob[4] | (uint32_t)blob[5] << 8 | (uint32_t)blob[6] << 16 |
               (uint32_t)blob[7] << 24;
  if (n > (len - 8)) return tki_err(err, TKN_ERR_PARSE, "rank blob: truncated");
  r->n = n;
  uint32_t *off = tki_malloc(((size_t)n + 1) * sizeof *off);
  if (!off) return tki_err(err, TKN_ERR_NOMEM, "rank blob: out of memory");
  r->owned[0] = off;
  r->off = off;
  const uint8_t *lens = blob + 8;
  uint64_t o = 0;
  for (uint32_t k = 0; k < n; k++) {
    off[k] = (uint32_t)o;
    o += lens[k];
  }
  if (o > len - 8 - n || o > UINT32_MAX) {
    tki_ranks_free(r);
    return tki_err(err, TKN_ERR_PARSE, "rank blob: truncated");
  }
  off[n] = (uint32_t)o;
  r->bytes = blob + 8 + n;
  int rc = build_table(r, err);
  if (rc) tki_ranks_free(r);
  return rc;
}

/* ---- the image ---- */

uint64_t tki_ranks_image_section(int section, uint32_t n, uint64_t bytes, uint32_t mask,
                                 uint32_t smask) {
  switch (section) {
    case TKI_IMG_OFF: return ((uint64_t)n + 1) * sizeof(uint32_t);
    case TKI_IMG_BYTES: return bytes;
    case TKI_IMG_SSLOTS: return ((uint64_t)smask + 1) * sizeof(tki_short_slot);
    case TKI_IMG_SLOTS: return ((uint64_t)mask + 1) * sizeof(tki_rank_slot);
    case TKI_IMG_PAIR: return 65536 * sizeof(uint32_t);
    case TKI_IMG_FILTER: return TKI_FILTER_BITS / 8;
    case TKI_IMG_PREFIX: return TKI_PREFIX_BITS / 8;
    case TKI_IMG_BYTE_RANK: return 256 * sizeof(uint32_t);
    case TKI_IMG_PAIRS: return TKI_PAIRS_WORDS(n) * sizeof(uint32_t);
    default: return 0;
  }
}

uint64_t tki_ranks_image_check(const tki_ranks_image_head *h) {
  const uint8_t *p = (const uint8_t *)h;
  uint64_t v = 0xcbf29ce484222325ull; /* FNV-1a */
  for (size_t i = 0; i < offsetof(tki_ranks_image_head, check); i++)
    v = (v ^ p[i]) * 0x100000001b3ull;
  return v;
}

int tki_ranks_from_image(tki_ranks *r, const uint8_t *img, size_t len, char err[TKI_ERRLEN]) {
  memset(r, 0, sizeof *r);
  tki_ranks_image_head h;
  if (!img || len < sizeof h || ((uintptr_t)img & 7))
    return tki_err(err, TKN_ERR_PARSE, "rank image: too short or misaligned");
  memcpy(&h, img, sizeof h);
  if (memcmp(h.magic, TKI_IMAGE_MAGIC, 8) != 0 || h.endian != 0x01020304u ||
      h.layout != TKI_IMAGE_LAYOUT)
    return tki_err(err, TKN_ERR_PARSE, "rank image: made for another layout, byte order or hash");
  if (h.check != tki_ranks_image_check(&h) || h.size != len || h.n == 0 ||
      ((uint64_t)h.mask & ((uint64_t)h.mask + 1)) || ((uint64_t)h.smask & ((uint64_t)h.smask + 1)))
    return tki_err(err, TKN_ERR_PARSE, "rank image: damaged header");
  const uint32_t *off = (const uint32_t *)(const void *)(img + h.at[TKI_IMG_OFF]);
  for (int s = 0; s < TKI_IMG_SECTIONS; s++) {
    uint64_t bytes = s == TKI_IMG_BYTES && h.at[TKI_IMG_OFF] + 4 * ((uint64_t)h.n + 1) <= len
                         ? off[h.n] : 0;
    uint64_t need = tki_ranks_image_section(s, h.n, bytes, h.mask, h.smask);
    if ((h.at[s] & 63) || h.at[s] < sizeof h || h.at[s] > len || need > len - h.at[s])
      return tki_err(err, TKN_ERR_PARSE, "rank image: section %d out of bounds", s);
  }
  r->image = img;
  r->n = h.n;
  r->max_len = h.max_len;
  r->mask = h.mask;
  r->smask = h.smask;
  r->off = off;
  r->bytes = img + h.at[TKI_IMG_BYTES];
  r->sslots = (const tki_short_slot *)(const void *)(img + h.at[TKI_IMG_SSLOTS]);
  r->slots = (const tki_rank_slot *)(const void *)(img + h.at[TKI_IMG_SLOTS]);
  r->pair_rank = (const uint32_t *)(const void *)(img + h.at[TKI_IMG_PAIR]);
  r->filter = (const uint64_t *)(const void *)(img + h.at[TKI_IMG_FILTER]);
  r->byte_rank = (const uint32_t *)(const void *)(img + h.at[TKI_IMG_BYTE_RANK]);
  atomic_init(&r->prefix, (const uint64_t *)(const void *)(img + h.at[TKI_IMG_PREFIX]));
  atomic_init(&r->pairs, (const uint32_t *)(const void *)(img + h.at[TKI_IMG_PAIRS]));
  return TKN_OK;
}

static int b64_value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

/* Decode standard base64 (padded) [s, s+n) into out; returns the byte count
 * or -1 with *bad set to the offset of the offending character. */
static long b64_decode(const char *s, size_t n, uint8_t *out, size_t *bad) {
  if (n == 0 || n % 4) {
    *bad = n;
    return -1;
  }
  size_t o = 0;
  for (size_t i = 0; i < n; i += 4) {
    int v[4], pad = 0;
    for (int k = 0; k < 4; k++) {
      unsigned char c = (unsigned char)s[i + k];
      if (c == '=' && i + 4 == n && k >= 2) {
        v[k] = 0;
        pad++;
        continue;
      }
      if (pad || (v[k] = b64_value(c)) < 0) {
        *bad = i + (size_t)k;
        return -1;
      }
    }
    uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
    out[o++] = (uint8_t)(w >> 16);
    if (pad < 2) out[o++] = (uint8_t)(w >> 8);
    if (pad < 1) out[o++] = (uint8_t)w;
  }
  return (long)o;
}

int tki_ranks_parse(tki_ranks *r, const char *text, size_t len, char err[TKI_ERRLEN]) {
  memset(r, 0, sizeof *r);
  if (len > UINT32_MAX) return tki_err(err, TKN_ERR_LIMIT, "rank file: larger than 4 GiB");
  /* Count lines to size the arrays; decoded bytes never exceed the text. */
  size_t lines = 1;
  for (size_t i = 0; i < len; i++) lines += text[i] == '\n';
  uint32_t *rank_off = tki_malloc((lines + 1) * sizeof *rank_off);
  uint8_t *bytes = tki_malloc(len ? len : 1);
  uint32_t *seen_len = tki_malloc((lines + 1) * sizeof *seen_len);
  int rc = TKN_OK;
  if (!rank_off || !bytes || !seen_len) {
    rc = tki_err(err, TKN_ERR_NOMEM, "rank file: out of memory");
    goto fail;
  }
  /* rank_off[k] = offset of rank k's bytes (UINT32_MAX: not seen yet). */
  for (size_t k = 0; k <= lines; k++) rank_off[k] = UINT32_MAX;
  size_t o = 0, line = 0, n = 0;
  uint32_t max_rank = 0;
  for (size_t i = 0; i < len;) {
    size_t e = i;
    while (e < len && text[e] != '\n') e++;
    line++;
    size_t le = e;
    if (le > i && text[le - 1] == '\r') le--;
    if (le > i) {
      size_t sp = i;
      while (sp < le && text[sp] != ' ') sp++;
      size_t bad = 0;
      if (sp == le) {
        rc = tki_err(err, TKN_ERR_PARSE, "rank file: line %zu, column %zu: expected a space",
                     line, le - i + 1);
        goto fail;
      }
      long nb = b64_decode(text + i, sp - i, bytes + o, &bad);
      if (nb < 0) {
        rc = tki_err(err, TKN_ERR_PARSE, "rank file: line %zu, column %zu: bad base64", line,
                     bad + 1);
        goto fail;
      }
      if (nb > 65535) {
        rc = tki_err(err, TKN_ERR_LIMIT, "rank file: line %zu: token longer than 65535 bytes",
                     line);
        goto fail;
      }
      uint64_t rank = 0;
      size_t d = sp + 1;
      if (d == le) {
        rc = tki_err(err, TKN_ERR_PARSE, "rank file: line %zu, column %zu: expected a rank",
                     line, d - i + 1);
        goto fail;
      }
      for (; d < le; d++) {
        if (text[d] < '0' || text[d] > '9' || rank > 0x7FFFFFFF) {
          rc = tki_err(err, TKN_ERR_PARSE, "rank file: line %zu, column %zu: bad rank", line,
                       d - i + 1);
          goto fail;
        }
        rank = rank * 10 + (uint64_t)(text[d] - '0');
      }
      if (rank >= lines) {
        rc = tki_err(err, TKN_ERR_SCHEMA, "rank file: line %zu: rank %llu leaves a gap", line,
                     (unsigned long long)rank);
        goto fail;
      }
      if (rank_off[rank] != UINT32_MAX) {
        rc = tki_err(err, TKN_ERR_DUPLICATE, "rank file: line %zu: rank %llu given twice", line,
                     (unsigned long long)rank);
        goto fail;
      }
      rank_off[rank] = (uint32_t)o;
      seen_len[rank] = (uint32_t)nb;
      o += (size_t)nb;
      n++;
      if (rank > max_rank) max_rank = (uint32_t)rank;
    }
    i = e + 1;
  }
  if (n == 0) {
    rc = tki_err(err, TKN_ERR_SCHEMA, "rank file: no tokens");
    goto fail;
  }
  if ((size_t)max_rank + 1 != n) {
    for (uint32_t k = 0; k <= max_rank; k++)
      if (rank_off[k] == UINT32_MAX) {
        rc = tki_err(err, TKN_ERR_SCHEMA, "rank file: rank %u is missing", (unsigned)k);
        goto fail;
      }
  }
  /* Lay the bytes out in rank order so that off[] is a prefix sum. */
  uint8_t *sorted = tki_malloc(o ? o : 1);
  if (!sorted) {
    rc = tki_err(err, TKN_ERR_NOMEM, "rank file: out of memory");
    goto fail;
  }
  r->n = (uint32_t)n;
  size_t w = 0;
  for (size_t k = 0; k < n; k++) {
    memcpy(sorted + w, bytes + rank_off[k], seen_len[k]);
    rank_off[k] = (uint32_t)w;
    w += seen_len[k];
  }
  rank_off[n] = (uint32_t)w;
  tki_free(bytes);
  tki_free(seen_len);
  r->owned[0] = rank_off;
  r->owned[6] = sorted;
  r->bytes = sorted;
  r->off = rank_off;
  rc = build_table(r, err);
  if (rc) tki_ranks_free(r);
  return rc;
fail:
  tki_free(rank_off);
  tki_free(bytes);
  tki_free(seen_len);
  memset(r, 0, sizeof *r);
  return rc;
}
