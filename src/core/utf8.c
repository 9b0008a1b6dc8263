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
    size_t n = tki_utf8_seq(s, len, i);
    if (!n) goto bad;
    i += n;
  }
  return 1;
bad:
  if (bad_offset) *bad_offset = i;
  return 0;
}
