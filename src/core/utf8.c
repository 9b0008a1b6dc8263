/* A strict UTF-8 validator (RFC 3629: no overlongs, no surrogates, nothing
 * above U+10FFFF) with an ASCII fast path, 8 bytes at a time, and, where the
 * byte order allows, a fast path that checks 2-byte and 3-byte characters a
 * word at a time (four 2-byte or two 3-byte characters at once).  Anything
 * else, and any error, goes through tki_utf8_seq, the one rule, so the offset
 * of the first bad byte is its. */
#include <string.h>

#include "../internal.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define LE_WORDS 1
/* 2-byte character in the low 16 bits of w: C2..DF then a continuation byte. */
static inline int two(uint64_t w) { return (w & 0xC0E0) == 0x80C0 && (w & 0x1E); }
/* 3-byte character in the low 24 bits of w: E0..EF then two continuation
 * bytes, neither an overlong (below U+0800) nor a surrogate (U+D800..U+DFFF);
 * x is its code point >> 6. */
static inline int three(uint64_t w) {
  uint64_t x = (w & 0x0F) << 6 | (w >> 8 & 0x3F);
  return (w & 0xC0C0F0) == 0x8080E0 && x >= 0x20 && (x >> 5) != 0x1B;
}
#else
#define LE_WORDS 0
#endif

int tki_utf8_valid(const char *str, size_t len, size_t *bad_offset) {
  const unsigned char *s = (const unsigned char *)str;
  size_t i = 0;
  while (i < len) {
    if (s[i] < 0x80) { /* ASCII: 16 then 8 bytes at a time, then up to the next other byte */
      for (uint64_t a, b; len - i >= 16; i += 16) {
        memcpy(&a, s + i, 8);
        memcpy(&b, s + i + 8, 8);
        if ((a | b) & 0x8080808080808080ULL) break;
      }
      if (len - i >= 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        uint64_t hi = w & 0x8080808080808080ULL;
        if (!hi) {
          i += 8;
          continue;
        }
#if LE_WORDS
        i += (size_t)__builtin_ctzll(hi) >> 3; /* the ASCII bytes before the first other one */
#endif
      }
      while (i < len && s[i] < 0x80) i++;
      continue;
    }
#if LE_WORDS
    if (len - i >= 8) {
      uint64_t w;
      memcpy(&w, s + i, 8);
      if (two(w)) {
        i += two(w >> 16) && two(w >> 32) && two(w >> 48) ? 8 : 2;
        continue;
      }
      if (three(w)) {
        i += three(w >> 24) ? 6 : 3;
        continue;
      }
    }
#endif
    size_t n = tki_utf8_seq(s, len, i);
    if (!n) goto bad;
    i += n;
  }
  return 1;
bad:
  if (bad_offset) *bad_offset = i;
  return 0;
}
