/* A strict UTF-8 validator (RFC 3629: no overlongs, no surrogates, nothing
 * above U+10FFFF) with an ASCII fast path, 8 bytes at a time. */
#include <string.h>

#include "../internal.h"

int tki_utf8_valid(const char *str, size_t len, size_t *bad_offset) {
  const unsigned char *s = (const unsigned char *)str;
  size_t i = 0;
  while (i < len) {
    if (i + 8 <= len) {
      uint64_t w;
      memcpy(&w, s + i, 8);
      if ((w & 0x8080808080808080ULL) == 0) {
        i += 8;
        continue;
      }
    }
    unsigned char c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      goto bad;
    }
    if (len - i <= n) goto bad; /* truncated sequence */
    if (s[i + 1] < lo || s[i + 1] > hi) goto bad;
    for (size_t k = 2; k <= n; k++)
      if ((s[i + k] & 0xC0) != 0x80) goto bad;
    i += n + 1;
  }
  return 1;
bad:
  if (bad_offset) *bad_offset = i;
  return 0;
}
