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
#include "../unit/ref_utf8.h"

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
