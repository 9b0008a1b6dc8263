/* The rank table of a BPE encoding: token bytes -> rank, from tiktoken's text
 * format (base64, space, rank per line) or from the compact blob the build
 * embeds.  Built once, then only read (shared by threads without locks). */
#include "bpe_internal.h"

uint64_t tki_ranks_tail_hash(const uint8_t *p, size_t n) {
  uint64_t h = 0x2545F4914F6CDD1Dull;
  while (n >= 8) {
    uint64_t v;
    memcpy(&v, p, 8);
    h = (h ^ v) * 0xBF58476D1CE4E5B9ull;
    h ^= h >> 29;
    p += 8;
    n -= 8;
  }
  if (n) h = (h ^ tki_ranks_head(p, n)) * 0x94D049BB133111EBull;
  return h ^ (h >> 32);
}

void tki_ranks_free(tki_ranks *r) {
  if (!r) return;
  tki_free(r->off);
  tki_free(r->slots);
  tki_free(r->sslots);
  tki_free(r->pair_rank);
  tki_free(r->filter);
  tki_free(r->owned);
  tki_free(atomic_load_explicit(&r->prefix, memory_order_acquire));
  memset(r, 0, sizeof *r);
}

/* Build the hash table and the single-byte ranks over r->bytes / r->off. */
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
  r->slots = tki_calloc((size_t)size, sizeof *r->slots);
  r->sslots = tki_calloc((size_t)ssize, sizeof *r->sslots);
  if (!r->slots || !r->sslots) return tki_err(err, TKN_ERR_NOMEM, "rank table: out of memory");
  r->mask = (uint32_t)(size - 1);
  r->smask = (uint32_t)(ssize - 1);
  r->pair_rank = tki_malloc(65536 * sizeof *r->pair_rank);
  r->filter = tki_calloc(TKI_FILTER_BITS / 64, sizeof *r->filter);
  if (!r->pair_rank || !r->filter)
    return tki_err(err, TKN_ERR_NOMEM, "rank table: out of memory");
  for (size_t i = 0; i < 65536; i++) r->pair_rank[i] = UINT32_MAX;
  for (int b = 0; b < 256; b++) r->byte_rank[b] = UINT32_MAX;
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
      tki_short_slot *t = r->sslots;
      uint32_t i = (uint32_t)h & r->smask;
      while (t[i].rank1) i = (i + 1) & r->smask;
      t[i].head = head;
      t[i].rank1 = k + 1;
      t[i].len = (uint32_t)n;
    } else {
      tki_rank_slot *t = r->slots;
      uint32_t mask = r->mask;
      uint32_t i = (uint32_t)h & mask;
      while (t[i].rank1) i = (i + 1) & mask;
      t[i].head = head;
      t[i].head2 = head2;
      t[i].rank1 = k + 1;
      t[i].len = (uint16_t)n;
      t[i].tag = (uint16_t)(h >> 48);
    }
    uint32_t bit = (uint32_t)(h >> 26) & TKI_FILTER_MASK;
    r->filter[bit >> 6] |= (uint64_t)1 << (bit & 63);
    if (n == 1) r->byte_rank[p[0]] = k;
    if (n == 2) r->pair_rank[p[0] | (uint32_t)p[1] << 8] = k;
  }
  for (int b = 0; b < 256; b++)
    if (r->byte_rank[b] == UINT32_MAX)
      return tki_err(err, TKN_ERR_SCHEMA, "rank table: byte 0x%02x has no rank", b);
  return TKN_OK;
}

int tki_ranks_from_blob(tki_ranks *r, const uint8_t *blob, size_t len, char err[TKI_ERRLEN]) {
  memset(r, 0, sizeof *r);
  if (!blob || len < 8 || memcmp(blob, "TKR1", 4) != 0)
    return tki_err(err, TKN_ERR_PARSE, "embedded ranks: bad header");
  uint32_t n = (uint32_t)blob[4] | (uint32_t)blob[5] << 8 | (uint32_t)blob[6] << 16 |
               (uint32_t)blob[7] << 24;
  if (n > (len - 8)) return tki_err(err, TKN_ERR_PARSE, "embedded ranks: truncated");
  r->n = n;
  r->off = tki_malloc(((size_t)n + 1) * sizeof *r->off);
  if (!r->off) return tki_err(err, TKN_ERR_NOMEM, "embedded ranks: out of memory");
  const uint8_t *lens = blob + 8;
  uint64_t o = 0;
  for (uint32_t k = 0; k < n; k++) {
    r->off[k] = (uint32_t)o;
    o += lens[k];
  }
  if (o > len - 8 - n || o > UINT32_MAX) {
    tki_ranks_free(r);
    return tki_err(err, TKN_ERR_PARSE, "embedded ranks: truncated");
  }
  r->off[n] = (uint32_t)o;
  r->bytes = blob + 8 + n;
  int rc = build_table(r, err);
  if (rc) tki_ranks_free(r);
  return rc;
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
  r->owned = sorted;
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
