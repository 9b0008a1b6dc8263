/* The UTF-8 rule of RFC 3629 written a byte at a time (no overlongs, no
 * surrogates, nothing above U+10FFFF), sharing no code with the library's
 * validator (not even tki_utf8_seq): the reference tki_utf8_valid is checked
 * against, by tests/unit/core/test_utf8.c and the fuzz_pretok harness. */
#ifndef TKN_TESTS_REF_UTF8_H
#define TKN_TESTS_REF_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* 1 if s is valid UTF-8; else 0 and *bad is where the first invalid sequence
 * starts (a stray byte, a bad lead, or a lead whose sequence is cut short,
 * broken, overlong, a surrogate or above U+10FFFF). */
static inline int ref_valid(const uint8_t *s, size_t len, size_t *bad) {
  size_t i = 0;
  while (i < len) {
    uint8_t c = s[i];
    size_t n;
    uint32_t cp, min;
    if (c < 0x80) {
      i++;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 2, cp = c & 0x1Fu, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      n = 3, cp = c & 0x0Fu, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      n = 4, cp = c & 0x07u, min = 0x10000;
    } else {
      goto bad; /* a continuation byte, or F8..FF */
    }
    if (len - i < n) goto bad;
    for (size_t k = 1; k < n; k++) {
      if ((s[i + k] & 0xC0) != 0x80) goto bad;
      cp = cp << 6 | (s[i + k] & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) goto bad;
    i += n;
  }
  return 1;
bad:
  *bad = i;
  return 0;
}

#endif
