/* tki_utf8_valid against a reference written here from RFC 3629 alone, a
 * byte at a time (no overlongs, no surrogates, nothing above U+10FFFF): the
 * verdict and the offset of the first bad sequence must be the same.  The
 * validator's word steps (16 and 8 ASCII bytes, four 2-byte or two 3-byte
 * characters at once) stop at every alignment here; the reference shares no
 * code with them, not even tki_utf8_seq. */
#include "test_util.h"

#include "internal.h"
#include "ref_utf8.h"

static void check(const uint8_t *s, size_t len, const char *what, size_t a, size_t b) {
  size_t want_bad = 0, got_bad = 0;
  int want = ref_valid(s, len, &want_bad);
  int got = tki_utf8_valid((const char *)s, len, &got_bad);
  if (got != want || (!want && got_bad != want_bad)) {
    char hex[3 * 128 + 1] = "";
    for (size_t i = 0; i < len && i < 128; i++) snprintf(hex + 3 * i, 4, "%02X ", s[i]);
    fail_msg("%s %zu/%zu, %zu bytes [%s]: %d at %zu, RFC 3629 %d at %zu", what, a, b, len, hex,
             got, got_bad, want, want_bad);
  }
}

/* One of each class of sequence, valid and not, with its boundary values. */
static const char *const seqs[] = {
    /* valid */
    "\x00", "A", "\x7F", "\xC2\x80", "\xC2\xBF", "\xD0\x9F", "\xDF\xBF", "\xE0\xA0\x80",
    "\xE0\xBF\xBF", "\xE1\x80\x80", "\xE4\xB8\xAD", "\xEC\xBF\xBF", "\xED\x80\x80",
    "\xED\x9F\xBF", "\xEE\x80\x80", "\xEF\xBF\xBF", "\xF0\x90\x80\x80", "\xF0\x9F\x98\x80",
    "\xF0\xBF\xBF\xBF", "\xF1\x80\x80\x80", "\xF3\xBF\xBF\xBF", "\xF4\x80\x80\x80",
    "\xF4\x8F\xBF\xBF",
    /* stray continuation bytes, bad leads */
    "\x80", "\xBF", "\x80\x80", "\xC0\x80", "\xC1\xBF", "\xF5\x80\x80\x80", "\xF7\xBF\xBF\xBF",
    "\xF8\x88\x80\x80\x80", "\xFC\x84\x80\x80\x80\x80", "\xFE", "\xFF",
    /* overlong, surrogate, above U+10FFFF */
    "\xE0\x80\x80", "\xE0\x9F\xBF", "\xED\xA0\x80", "\xED\xAD\xBF", "\xED\xBF\xBF",
    "\xF0\x80\x80\x80", "\xF0\x8F\xBF\xBF", "\xF4\x90\x80\x80", "\xF4\xBF\xBF\xBF",
    /* truncated (before the tail, or at the end when the tail is empty) */
    "\xC2", "\xDF", "\xE0", "\xE0\xA0", "\xE1\x80", "\xEF\xBF", "\xF0", "\xF0\x90",
    "\xF0\x90\x80", "\xF4\x8F\xBF",
    /* a continuation byte missing or replaced by ASCII or a lead */
    "\xC2\x41", "\xC2\xC2\x80", "\xE1\x41\x80", "\xE1\x80\x41", "\xE1\x80\xC2\x80",
    "\xE1\xE1\x80\x80", "\xF1\x41\x80\x80", "\xF1\x80\x41\x80", "\xF1\x80\x80\x41",
    "\xF1\x80\x80\xF1\x80\x80\x80",
};

/* What comes between the ASCII run and the sequence: nothing, or characters
 * the word steps take at once (four 2-byte, two 3-byte), or a 4-byte one. */
static const char *const fills[] = {"", "\xD0\x9F\xD0\xB4\xC3\xA9\xC2\xAB", "\xE4\xB8\xAD\xE0\xA6\x95",
                                    "\xF0\x9F\x98\x80", "\xD0\x9F", "\xE4\xB8\xAD"};

/* Every class after ASCII runs of 0..40 bytes (and the fills) and before
 * ASCII tails of 0..20 bytes, once and twice in a row. */
static void every_class_at_every_alignment(void **state) {
  (void)state;
  uint8_t buf[160];
  for (size_t q = 0; q < sizeof seqs / sizeof *seqs; q++) {
    const char *sq = seqs[q];
    size_t ns = q < 2 ? 1 : strlen(sq); /* seqs[0] is the NUL byte */
    for (size_t f = 0; f < sizeof fills / sizeof *fills; f++)
      for (size_t a = 0; a <= 40; a++)
        for (size_t z = 0; z <= 20; z++)
          for (int twice = 0; twice < 2; twice++) {
            size_t n = 0;
            for (size_t i = 0; i < a; i++) buf[n++] = (uint8_t)('a' + i % 26);
            memcpy(buf + n, fills[f], strlen(fills[f]));
            n += strlen(fills[f]);
            for (int r = 0; r <= twice; r++) {
              memcpy(buf + n, sq, ns);
              n += ns;
            }
            for (size_t i = 0; i < z; i++) buf[n++] = (uint8_t)('0' + i % 10);
            check(buf, n, "class", q, a * 100 + z);
          }
  }
}

static uint64_t g_state = 0x9E3779B97F4A7C15ULL;
static uint32_t rnd(void) { /* xorshift64*, seeded: the same strings every run */
  g_state ^= g_state >> 12;
  g_state ^= g_state << 25;
  g_state ^= g_state >> 27;
  return (uint32_t)((g_state * 0x2545F4914F6CDD1DULL) >> 32);
}

/* UTF-8 of code point cp into b: its length. */
static size_t put_utf8(uint8_t *b, uint32_t cp) {
  if (cp < 0x80) return b[0] = (uint8_t)cp, 1;
  if (cp < 0x800)
    return b[0] = (uint8_t)(0xC0 | cp >> 6), b[1] = (uint8_t)(0x80 | (cp & 0x3F)), 2;
  if (cp < 0x10000)
    return b[0] = (uint8_t)(0xE0 | cp >> 12), b[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F)),
           b[2] = (uint8_t)(0x80 | (cp & 0x3F)), 3;
  b[0] = (uint8_t)(0xF0 | cp >> 18);
  b[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
  b[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
  b[3] = (uint8_t)(0x80 | (cp & 0x3F));
  return 4;
}

/* A valid character of `len` bytes, any code point of that length. */
static size_t valid_char(uint8_t *b, int len) {
  uint32_t cp;
  switch (len) {
  case 1: cp = rnd() % 0x80; break;
  case 2: cp = 0x80 + rnd() % (0x800 - 0x80); break;
  case 3:
    do cp = 0x800 + rnd() % (0x10000 - 0x800);
    while (cp >= 0xD800 && cp <= 0xDFFF);
    break;
  default: cp = 0x10000 + rnd() % (0x110000 - 0x10000); break;
  }
  return put_utf8(b, cp);
}

/* Something invalid: a stray continuation, a bad lead, an overlong, a
 * surrogate, above U+10FFFF, a broken or a cut sequence. */
static size_t invalid_bytes(uint8_t *b) {
  switch (rnd() % 8) {
  case 0: b[0] = (uint8_t)(0x80 + rnd() % 0x40); return 1;
  case 1: /* C0, C1 or F5..FF, alone or before a continuation byte */
    b[0] = (uint8_t)(rnd() % 2 ? 0xC0 + rnd() % 2 : 0xF5 + rnd() % 11);
    b[1] = (uint8_t)(0x80 + rnd() % 0x40);
    return 1 + rnd() % 2;
  case 2: { /* overlong of a random shorter code point */
    uint32_t cp = rnd() % 0x800;
    if (cp < 0x80 || rnd() % 2) {
      b[0] = (uint8_t)(0xE0), b[1] = (uint8_t)(0x80 | (cp >> 6 & 0x1F)), b[2] = (uint8_t)(0x80 | (cp & 0x3F));
      return 3;
    }
    b[0] = (uint8_t)(0xF0), b[1] = 0x80 | (uint8_t)(rnd() % 0x10), b[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3F)),
    b[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
  }
  case 3: return put_utf8(b, 0xD800 + rnd() % 0x800); /* a surrogate */
  case 4: { /* above U+10FFFF */
    uint32_t cp = 0x110000 + rnd() % 0x2F0000;
    b[0] = (uint8_t)(0xF0 | cp >> 18), b[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3F)),
    b[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3F)), b[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
  }
  case 5: case 6: { /* a valid character cut short */
    size_t n = valid_char(b, 2 + (int)(rnd() % 3));
    return 1 + rnd() % (n - 1);
  }
  default: { /* a valid character with one continuation byte replaced */
    size_t n = valid_char(b, 2 + (int)(rnd() % 3));
    size_t k = 1 + rnd() % (n - 1);
    static const uint8_t repl[] = {0x00, 0x41, 0x7F, 0xC0, 0xC2, 0xE1, 0xF0, 0xFF};
    b[k] = repl[rnd() % sizeof repl];
    return n;
  }
  }
}

/* Seeded random strings: ASCII runs of every length, valid characters of
 * every length, and (in most strings) something invalid at a random place;
 * one string in eight ends with a cut sequence. */
static void random_text_biased_toward_utf8(void **state) {
  (void)state;
  uint8_t buf[256];
  for (int t = 0; t < 300000; t++) {
    size_t n = 0, target = rnd() % 120;
    int bad_left = rnd() % 4 ? 1 + (int)(rnd() % 2) : 0;
    while (n < target) {
      uint32_t r = rnd() % 16;
      if (r < 5) { /* an ASCII run */
        size_t k = rnd() % 41;
        for (size_t i = 0; i < k; i++) buf[n++] = (uint8_t)(0x20 + rnd() % 0x5F);
      } else if (r < 14) { /* a run of valid characters of one length, or mixed */
        size_t k = 1 + rnd() % 8;
        int len = 1 + (int)(rnd() % 4), mixed = rnd() % 3 == 0;
        for (size_t i = 0; i < k; i++) n += valid_char(buf + n, mixed ? 1 + (int)(rnd() % 4) : len);
      } else if (bad_left && rnd() % 2) {
        n += invalid_bytes(buf + n);
        bad_left--;
      }
    }
    if (rnd() % 8 == 0) { /* a cut sequence at the very end */
      uint8_t c[4];
      size_t m = valid_char(c, 2 + (int)(rnd() % 3));
      size_t keep = 1 + rnd() % (m - 1);
      memcpy(buf + n, c, keep);
      n += keep;
    }
    assert_true(n <= sizeof buf);
    check(buf, n, "random string", (size_t)t, 0);
  }
}

/* The reference itself, on the RFC's own examples and boundaries. */
static void reference_is_rfc_3629(void **state) {
  (void)state;
  size_t bad = 99;
  assert_true(ref_valid((const uint8_t *)"\x41\xE2\x89\xA2\xCE\x91\x2E", 7, &bad));
  assert_true(ref_valid((const uint8_t *)"\xED\x95\x9C\xEA\xB5\xAD\xEC\x96\xB4", 9, &bad));
  assert_true(ref_valid((const uint8_t *)"\xEF\xBB\xBF\xF0\xA3\x8E\xB4", 7, &bad));
  assert_false(ref_valid((const uint8_t *)"ab\xC0\x80", 4, &bad));
  assert_int_equal(bad, 2);
  assert_false(ref_valid((const uint8_t *)"\xED\xA1\x8C\xED\xBE\xB4", 6, &bad));
  assert_int_equal(bad, 0);
  assert_false(ref_valid((const uint8_t *)"x\xF4\x90\x80\x80", 5, &bad));
  assert_int_equal(bad, 1);
  assert_false(ref_valid((const uint8_t *)"xy\xE2\x82", 4, &bad));
  assert_int_equal(bad, 2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(reference_is_rfc_3629),
      cmocka_unit_test(every_class_at_every_alignment),
      cmocka_unit_test(random_text_biased_toward_utf8),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
