/* libFuzzer harness: the tokenizer's fast paths against their references,
 * where a wrong answer still round-trips (so fuzz_tokenizer cannot see it).
 * tki_utf8_valid against a byte-at-a-time RFC 3629 validator (verdict and
 * first bad offset); then, on the input (or its valid prefix, up to the
 * first bad byte), tki_pretok_next against tki_pretok_next_slow, the general
 * scanner, for both patterns: at every piece start of the scanner's own
 * split, and for inputs of up to 4 KB from every code point. */
#include "fuzz_util.h"

#include "internal.h"
#include "tokenizer/bpe_internal.h"

/* The RFC's rule alone (see tests/unit/core/test_utf8.c). */
static int ref_valid(const uint8_t *s, size_t len, size_t *bad) {
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
      break;
    }
    if (len - i < n) break;
    size_t k = 1;
    for (; k < n && (s[i + k] & 0xC0) == 0x80; k++) cp = cp << 6 | (s[i + k] & 0x3Fu);
    if (k < n || cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) break;
    i += n;
  }
  *bad = i;
  return i == len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  size_t want_bad = 0, got_bad = 0;
  int want = ref_valid(data, size, &want_bad);
  int got = tki_utf8_valid((const char *)data, size, &got_bad);
  FZ_CHECK(got == want);
  FZ_CHECK(want || got_bad == want_bad);
  size_t len = want_bad; /* the valid prefix: all of it when valid */
  for (int pat = TKI_PAT_CL100K; pat <= TKI_PAT_O200K; pat++) {
    for (size_t pos = 0; pos < len;) {
      size_t e = tki_pretok_next_slow(pat, data, len, pos);
      FZ_CHECK(e > pos && e <= len);
      FZ_CHECK(tki_pretok_next(pat, data, len, pos) == e);
      pos = e;
    }
    if (len <= 4096)
      for (size_t pos = 0; pos < len; pos++)
        if ((data[pos] & 0xC0) != 0x80)
          FZ_CHECK(tki_pretok_next(pat, data, len, pos) == tki_pretok_next_slow(pat, data, len, pos));
  }
  return 0;
}
