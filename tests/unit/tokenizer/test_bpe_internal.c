/* Internals of the BPE encoder: the pre-tokeniser's class table agrees with
 * utf8proc on every code point; tiktoken's scan (the shortest pieces), the
 * min-tree (pieces of up to 64 bytes), the heap merge and the backtracking
 * encoder (longer ones) give the same ids on every input, so switching
 * between them by piece length cannot change an id. */
#include "test_util.h"

#include "tokenizer/bpe_internal.h"

static uint32_t g_seed = 12345;
static uint32_t rnd(void) {
  g_seed = g_seed * 1103515245u + 12345u;
  return g_seed >> 8;
}

/* The rank table of encoding e (0: cl100k_base, 1: o200k_base), made from
 * the embedded data; skips the test when the library has none. */
static const tki_ranks *open_encoding(int e, tkn_tokenizer **tok) {
  const char *name = e ? "o200k_base" : "cl100k_base";
  int rc = tkn_tokenizer_new_encoding(tok, name, strlen(name));
  if (rc == TKN_ERR_UNAVAILABLE) skip(); /* built with -Dembed_ranks=false */
  assert_int_equal(rc, TKN_OK);
  const tki_ranks *r = tki_bpe_ranks(*tok);
  assert_non_null(r);
  return r;
}

static void check_agree(const tki_ranks *r, const uint8_t *p, size_t n) {
  uint32_t a[64], b[64], c[64], d[64], e[64];
  size_t na = 0, nb = 0, nc = 0, nd = 0, ne = 0;
  assert_int_equal(tki_bpe_merge_piece(r, p, n, TKI_MERGE_SCAN, a, 64, &na), TKN_OK);
  assert_int_equal(tki_bpe_merge_piece(r, p, n, TKI_MERGE_HEAP, b, 64, &nb), TKN_OK);
  assert_int_equal(tki_bpe_merge_piece(r, p, n, TKI_MERGE_TREE, c, 64, &nc), TKN_OK);
  assert_int_equal(tki_bpe_merge_piece(r, p, n, TKI_MERGE_BACKTRACK, d, 64, &nd), TKN_OK);
  assert_int_equal(tki_bpe_merge_piece(r, p, n, TKI_MERGE_PAIRS, e, 64, &ne), TKN_OK);
  assert_int_equal(na, nb);
  assert_memory_equal(a, b, na * sizeof *a);
  assert_int_equal(na, nc);
  assert_memory_equal(a, c, na * sizeof *a);
  assert_int_equal(na, nd);
  assert_memory_equal(a, d, na * sizeof *a);
  assert_int_equal(na, ne);
  assert_memory_equal(a, e, na * sizeof *a);
  /* the ids spell the piece */
  size_t o = 0;
  for (size_t i = 0; i < na; i++) {
    size_t len = r->off[a[i] + 1] - r->off[a[i]];
    assert_true(o + len <= n);
    assert_memory_equal(r->bytes + r->off[a[i]], p + o, len);
    o += len;
  }
  assert_int_equal(o, n);
}

static void scan_tree_and_heap_merge_alike(void **state) {
  (void)state;
  static const char *alphabets[] = {"abcdefghijklmnopqrstuvwxyz", "aeiou ", "ab", "a",
                                    "0123456789", "ABCDEFGHIJKLMNOPQRSTUVWXYZabc", " \n\t"};
  for (int e = 0; e < 2; e++) {
    tkn_tokenizer *tok = NULL;
    const tki_ranks *r = open_encoding(e, &tok);
    uint8_t buf[64];
    for (int t = 0; t < 3000; t++) {
      const char *al = alphabets[t % 7];
      size_t k = strlen(al), n = 2 + rnd() % 63;
      for (size_t i = 0; i < n; i++) buf[i] = (uint8_t)al[rnd() % k];
      check_agree(r, buf, n);
    }
    for (int t = 0; t < 500; t++) { /* arbitrary bytes (pieces need not be UTF-8 here) */
      size_t n = 2 + rnd() % 63;
      for (size_t i = 0; i < n; i++) buf[i] = (uint8_t)rnd();
      check_agree(r, buf, n);
    }
    tkn_tokenizer_free(tok);
  }
}

/* The heap merge and the backtracking encoder agree on long pieces: random
 * letters, few-letter alphabets (long repeats), arbitrary bytes, UTF-8 text,
 * and texts made of random tokens of the table (which meet its unusual
 * tokens, and make the greedy first choice fail often). */
static void heap_and_backtracking_agree(const tki_ranks *r, const uint8_t *p, size_t n) {
  size_t cap = n + 1, na = 0, nb = 0;
  uint32_t *a = malloc(cap * sizeof *a), *b = malloc(cap * sizeof *b);
  assert_non_null(a);
  assert_non_null(b);
  assert_int_equal(tki_bpe_merge_piece(r, p, n, TKI_MERGE_HEAP, a, cap, &na), TKN_OK);
  /* the guessing encoder with its own chunks (2 KB), then 16-byte ones:
   * wrong guesses at every chunk end, so the search and the pair checks do
   * most of the work; then the pair-table encoder (no guess, no merge) */
  for (int method = TKI_MERGE_BACKTRACK; method <= TKI_MERGE_PAIRS; method++) {
    assert_int_equal(tki_bpe_merge_piece(r, p, n, method, b, cap, &nb), TKN_OK);
    if (na != nb || memcmp(a, b, na * sizeof *a) != 0) {
      size_t i = 0;
      while (i < na && i < nb && a[i] == b[i]) i++;
      fail_msg("%zu bytes: heap %zu ids, backtracking (method %d) %zu ids, first difference at "
               "id %zu", n, na, method, nb, i);
    }
  }
  free(a);
  free(b);
}

static void long_pieces_merge_alike(void **state) {
  (void)state;
  static const char *alphabets[] = {"abcdefghijklmnopqrstuvwxyz", "aeiou", "ab", "a", "0123456789",
                                    " ", "=-", "\xd0\xb0\xd0\xb1\xd0\xb2"};
  for (int e = 0; e < 2; e++) {
    tkn_tokenizer *tok = NULL;
    const tki_ranks *r = open_encoding(e, &tok);
    enum { MAX = 6000 };
    uint8_t *buf = malloc(MAX);
    assert_non_null(buf);
    for (int t = 0; t < 240; t++) {
      size_t n = 65 + rnd() % (t < 200 ? 400 : MAX - 65);
      int kind = t % 10;
      if (kind < 8) {
        const char *al = alphabets[kind];
        size_t k = strlen(al);
        if (kind == 7) /* three 2-byte letters: whole characters */
          for (size_t i = 0; i + 1 < n; i += 2) memcpy(buf + i, al + 2 * (rnd() % 3), 2);
        else
          for (size_t i = 0; i < n; i++) buf[i] = (uint8_t)al[rnd() % k];
      } else if (kind == 8) {
        for (size_t i = 0; i < n; i++) buf[i] = (uint8_t)rnd();
      } else { /* random tokens, end to end */
        size_t o = 0;
        while (o < n) {
          uint32_t k = rnd() % r->n;
          size_t len = r->off[k + 1] - r->off[k];
          if (len > n - o) len = n - o;
          memcpy(buf + o, r->bytes + r->off[k], len);
          o += len;
        }
      }
      heap_and_backtracking_agree(r, buf, n);
    }
    free(buf);
    tkn_tokenizer_free(tok);
  }
}

/* The scanner's class table is of the Unicode version tiktoken uses (16):
 * code points first assigned in Unicode 16 have their classes (these were
 * unassigned, so punctuation to the scanner, under utf8proc's Unicode 15),
 * and the classes of older ones and of ASCII are what they always were. */
static void class_table_is_unicode_16(void **state) {
  (void)state;
  enum { L = 1, N = 2, WS = 4, NL = 8, UP = 16, LO = 32 };
  static const struct { uint32_t cp; unsigned cls; } want[] = {
      {'A', L | UP}, {'z', L | LO}, {'7', N}, {' ', WS}, {'\n', WS | NL}, {'\r', WS | NL},
      {'!', 0}, {0x017F, L | LO}, {0x0301, UP | LO}, {0x3000, WS}, {0x2028, WS},
      {0x0660, N}, {0x4E2D, L | UP | LO}, {0x1F600, 0}, {0x10FFFF, 0},
      {0x1C89, L | UP},      /* CYRILLIC CAPITAL LETTER TJE (16.0) */
      {0x1C8A, L | LO},      /* CYRILLIC SMALL LETTER TJE (16.0) */
      {0x0897, UP | LO},     /* ARABIC PEPET (16.0, a mark) */
      {0x2EBF0, L | UP | LO}, /* CJK UNIFIED IDEOGRAPH-2EBF0 (Extension I, 16.0) */
      {0x10D50, L | UP},     /* GARAY CAPITAL LETTER A (16.0) */
      {0x16D43, L | UP | LO}, /* KIRAT RAI LETTER A (16.0) */
      {0x16D70, N},          /* KIRAT RAI DIGIT ZERO (16.0) */
      {0x1E5F1, N},          /* OL ONAL DIGIT ONE (16.0) */
      {0x13460, L | UP | LO}, /* EGYPTIAN HIEROGLYPH-13460 (Extension A, 16.0) */
  };
  for (size_t i = 0; i < sizeof want / sizeof *want; i++)
    if (tki_pretok_class(want[i].cp) != want[i].cls)
      fail_msg("U+%04X: class %u, want %u", (unsigned)want[i].cp,
               tki_pretok_class(want[i].cp), want[i].cls);
  assert_string_equal(tki_ucd_version, "16.0.0");
  assert_int_equal(tki_pretok_class(0x110000), 0);
  size_t letters = 0;
  for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) letters += (tki_pretok_class(cp) & L) != 0;
  assert_true(letters > 140000); /* Unicode 16 has 141,000 and more letters */
  /* the shortcut tables hold the same classes as the two stages */
  for (uint32_t cp = 0; cp < 0x800; cp++)
    if (tki_ucd_low[cp] != tki_pretok_class(cp)) fail_msg("U+%04X: tki_ucd_low", (unsigned)cp);
  size_t uniform = 0;
  for (uint32_t cp = 0; cp < 0x10000; cp++) {
    unsigned c = tki_ucd_bmp64[cp >> 6];
    if (c != 0xFF && c != tki_pretok_class(cp)) fail_msg("U+%04X: tki_ucd_bmp64", (unsigned)cp);
    uniform += c != 0xFF;
  }
  assert_true(uniform > 0x8000); /* most blocks are one class (CJK, Hangul...) */
}

/* The pre-tokeniser's shortcuts for ASCII (words; whitespace, punctuation,
 * digits) end every piece where the general scanner does, on random text of
 * ASCII letters of both cases, apostrophes and contractions, whitespace,
 * digits, CR/LF, punctuation, and non-ASCII letters, marks, digits, spaces and
 * punctuation next to them (é, combining acute, long s, Cyrillic, CJK, an
 * emoji, Arabic-Indic one, ellipsis, ideographic space, line separator), from
 * every code point of the text. */
static void ascii_shortcut_agrees_with_the_scanner(void **state) {
  (void)state;
  static const char *atoms[] = {"a", "b", "z", "A", "Q", "Z", "'", "'s", "'S", "'ll", "'Re", "'ve",
                                " ", "  ", "\t", "\r\n", "\n", "0", "42", "!", ".", "/", "-",
                                "\xc3\xa9", "\xc3\x89", "\xcc\x81", "\xc5\xbf", "\xd0\xb4",
                                "\xd0\x94", "\xe4\xb8\xad", "\xf0\x9f\x98\x80", "\xc2\xa0",
                                "the", "The", "THE", "camelCase", "x", "\"%s\".", "123",
                                "4567", "\xd9\xa1", "\xe2\x80\xa6", "\xe3\x80\x80",
                                "\xe2\x80\xa8", "\r", "\t\t", "  \n ", "//", "\x0b"};
  const size_t natoms = sizeof atoms / sizeof *atoms;
  char buf[512];
  for (int t = 0; t < 20000; t++) {
    size_t len = 0, k = 1 + rnd() % 24;
    for (size_t i = 0; i < k; i++) {
      const char *a = atoms[rnd() % natoms];
      memcpy(buf + len, a, strlen(a));
      len += strlen(a);
    }
    const uint8_t *u = (const uint8_t *)buf;
    for (int pat = TKI_PAT_CL100K; pat <= TKI_PAT_O200K; pat++)
      for (size_t pos = 0; pos < len; pos++) {
        if ((u[pos] & 0xC0) == 0x80) continue; /* not a code point's start */
        size_t want = tki_pretok_next_slow(pat, u, len, pos);
        size_t got = tki_pretok_next(pat, u, len, pos);
        if (got != want)
          fail_msg("pattern %d, text \"%.*s\" from %zu: %zu, scanner %zu", pat, (int)len, buf,
                   pos, got, want);
      }
  }
}

/* UTF-8 of code point cp into b: its length. */
static size_t put_utf8(uint8_t *b, uint32_t cp) {
  if (cp < 0x80) {
    b[0] = (uint8_t)cp;
    return 1;
  }
  if (cp < 0x800) {
    b[0] = (uint8_t)(0xC0 | cp >> 6);
    b[1] = (uint8_t)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    b[0] = (uint8_t)(0xE0 | cp >> 12);
    b[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
    b[2] = (uint8_t)(0x80 | (cp & 0x3F));
    return 3;
  }
  b[0] = (uint8_t)(0xF0 | cp >> 18);
  b[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
  b[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
  b[3] = (uint8_t)(0x80 | (cp & 0x3F));
  return 4;
}

/* The pre-tokeniser's shortcuts (ASCII words, words and punctuation of any
 * script) end every piece where the general scanner does, for every code
 * point X in the contexts where its class decides a piece: after a space,
 * ASCII and Cyrillic letters of either case, a CJK letter, a combining mark,
 * punctuation, a newline, a tab and a space, and itself; before letters of
 * either case, digits, contractions ('s, 'S, 'll, 'D) and the end of the
 * text; both patterns, from every code point near X.  A class table the
 * shortcuts read cannot disagree with the scanner's unnoticed. */
static void letter_shortcut_agrees_with_the_scanner_on_every_code_point(void **state) {
  (void)state;
  /* each context: the text before X, then after it ("" for the end) */
  static const char *const ctx[][2] = {
      {" ", "'s"},          {"a", "'S a"},         {"A", "b"},
      {"\xd0\xb4", "\xd0\x94'll"}, {"\xd0\x94", "\xd0\xb4"},  {"\xe4\xb8\xad", "'D"},
      {"\xcc\x81", "\xcc\x81" "A"},   {"!", "1"},            {"\n", "\n"},
      {"'", "x"},           {"\t ", "a"},         {"", ""},
  };
  uint8_t buf[64];
  for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;
    uint8_t x[4];
    size_t nx = put_utf8(x, cp);
    for (size_t c = 0; c < sizeof ctx / sizeof *ctx; c++) {
      size_t a = strlen(ctx[c][0]), z = strlen(ctx[c][1]), len = 0;
      memcpy(buf, ctx[c][0], a);
      len = a;
      memcpy(buf + len, x, nx);
      len += nx;
      if (c == sizeof ctx / sizeof *ctx - 1) { /* X twice, then the end */
        memcpy(buf + len, x, nx);
        len += nx;
      }
      memcpy(buf + len, ctx[c][1], z);
      len += z;
      for (int pat = TKI_PAT_CL100K; pat <= TKI_PAT_O200K; pat++)
        for (size_t pos = 0; pos <= a; pos++) { /* from the context's start, and from X */
          if ((buf[pos] & 0xC0) == 0x80) continue;
          size_t want = tki_pretok_next_slow(pat, buf, len, pos);
          size_t got = tki_pretok_next(pat, buf, len, pos);
          if (got != want)
            fail_msg("pattern %d, U+%04X in context %zu, from byte %zu: %zu, scanner %zu", pat,
                     (unsigned)cp, c, pos, got, want);
        }
    }
  }
}

/* Code points of every class the pre-tokeniser tells apart, for the text
 * below: letters of both cases, titlecase, modifier and other letters,
 * marks (Mn, Mc, Me), digits and other numbers (Nd, Nl, No), punctuation and
 * symbols, spaces and separators, format characters, unassigned and private
 * use; ASCII, 2-byte characters of several scripts, 3-byte ones (blocks the
 * shortcut table holds whole and mixed ones) and 4-byte ones. */
static const uint32_t k_class_cps[][14] = {
    /* ASCII lower, upper case; digits; whitespace; punctuation */
    {'a', 'e', 's', 't', 'z', 'x', 'l', 'd', 'r', 'v', 'm', 'q', 'k', 'b'},
    {'A', 'E', 'S', 'T', 'Z', 'X', 'L', 'D', 'R', 'V', 'M', 'Q', 'K', 'B'},
    {'0', '1', '2', '5', '9', '0', '7', '3', '4', '6', '8', '1', '0', '9'},
    {' ', ' ', ' ', '\t', '\n', '\r', '\v', '\f', ' ', '\n', ' ', ' ', '\t', '\r'},
    {'!', '.', ',', '/', '-', '"', '\'', '(', ')', '?', '#', '$', '@', '_'},
    /* 2-byte: lower (Latin, Greek, Cyrillic, Armenian, Deseret-free), upper,
     * titlecase, modifier letters, other letters (Hebrew, Arabic, Syriac) */
    {0xE9, 0xDF, 0x17F, 0x3B1, 0x3C9, 0x434, 0x44F, 0x561, 0x101, 0x24F, 0x4CF, 0x586, 0x1C6, 0x3C2},
    {0xC9, 0xC0, 0x100, 0x391, 0x3A9, 0x414, 0x42F, 0x531, 0x1C4, 0x1F1, 0x4C0, 0x556, 0x130, 0x3D2},
    {0x1C5, 0x1C8, 0x1CB, 0x1F2, 0x2B0, 0x2B0, 0x2C6, 0x2E0, 0x2EC, 0x37A, 0x559, 0x640, 0x7F4, 0x1C5},
    {0x5D0, 0x5EA, 0x628, 0x64A, 0x710, 0x780, 0x7CA, 0x800, 0x6D5, 0x6FF, 0x5D1, 0x627, 0x631, 0x1BB},
    /* 2-byte marks; digits and numbers; punctuation, symbols; spaces, NEL,
     * soft hyphen, unassigned */
    {0x300, 0x301, 0x308, 0x36F, 0x483, 0x488, 0x591, 0x5B0, 0x610, 0x64B, 0x670, 0x711, 0x7EB, 0x5C7},
    {0x660, 0x661, 0x669, 0x6F0, 0x7C0, 0x7C9, 0xB2, 0xB3, 0xB9, 0xBC, 0xBD, 0xBE, 0x6F9, 0x7C1},
    {0xAB, 0xBB, 0xBF, 0xA1, 0xA7, 0xB6, 0xB7, 0xD7, 0xF7, 0xA9, 0x60C, 0x61F, 0x5BE, 0x37E},
    {0xA0, 0x85, 0xA0, 0x85, 0xAD, 0x378, 0x379, 0x380, 0x600, 0x61C, 0x6DD, 0x70F, 0xA0, 0x85},
    /* 3-byte letters: CJK, kana, Hangul, Thai, Georgian, Indic, Ethiopic, and
     * cased (Latin extended additional, fullwidth, Cherokee, Glagolitic) */
    {0x4E2D, 0x6587, 0x3042, 0x30A2, 0xD55C, 0xAE00, 0xE01, 0xE2A, 0x10D0, 0x915, 0x995, 0x1200, 0xA000, 0x3400},
    {0x1E00, 0x1E01, 0x1E9E, 0x1EA1, 0xFF21, 0xFF41, 0x13A0, 0xAB70, 0x2C00, 0x2C30, 0x1F08, 0x1F00, 0x2C60, 0xA640},
    {0x1F88, 0x1FBC, 0x1D2C, 0x1D62, 0x3005, 0x309D, 0x30FC, 0xFF70, 0xA015, 0x1D9B, 0x2071, 0x207F, 0xFF9E, 0x16D},
    /* 3-byte marks (Mn, Mc, Me), numbers (Nd, Nl, No) */
    {0x94D, 0x93F, 0x903, 0xE31, 0xE48, 0x20DD, 0x20E3, 0x1AB0, 0x302A, 0x3099, 0xFE0F, 0xFE20, 0x9BC, 0x1B44},
    {0x966, 0x967, 0x9E6, 0xE50, 0xE51, 0xFF10, 0xFF19, 0x2160, 0x216B, 0x3007, 0x2460, 0x2474, 0x3021, 0x1040},
    /* 3-byte punctuation and symbols; spaces and separators; format,
     * private use, noncharacters */
    {0x2026, 0x2014, 0x201C, 0x201D, 0x2018, 0x2019, 0x3001, 0x3002, 0x300C, 0x20AC, 0x2192, 0xFF01, 0xFF0C, 0x2603},
    {0x3000, 0x2002, 0x2003, 0x2009, 0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x1680, 0x2000, 0x3000, 0x2028, 0x2007},
    {0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x180E, 0xE000, 0xF8FF, 0xFFFF, 0xFDD0, 0x2065, 0x0E3B, 0x1FFF, 0x2FFF},
    /* 4-byte: letters (CJK ext., cased Deseret and mathematical, Gothic),
     * digits and numbers, marks, symbols and emoji, format, private use */
    {0x20000, 0x2A6D6, 0x10400, 0x10428, 0x1D400, 0x1D41A, 0x10330, 0x1E900, 0x1E922, 0x16E40, 0x16E60, 0x1D7CA, 0x1D7CB, 0x2F800},
    {0x1D7CE, 0x1D7FF, 0x104A0, 0x11066, 0x1E950, 0x10107, 0x1F100, 0x12400, 0x1D165, 0x1D167, 0x11000, 0x1E944, 0x16F51, 0xE0100},
    {0x1F600, 0x1F44D, 0x1F3FB, 0x1F1E6, 0x1F1FA, 0x1F9D1, 0x1D11E, 0x1F4A9, 0xE0001, 0xE0067, 0xF0000, 0x10FFFD, 0x1FFFE, 0x10FFFF},
};

/* tki_pretok_next against the scanner from every code point of s, both
 * patterns. */
static void compare_pieces(const uint8_t *s, size_t len, int t) {
  for (int pat = TKI_PAT_CL100K; pat <= TKI_PAT_O200K; pat++)
    for (size_t pos = 0; pos < len; pos++) {
      if ((s[pos] & 0xC0) == 0x80) continue; /* not a code point's start */
      size_t want = tki_pretok_next_slow(pat, s, len, pos);
      size_t got = tki_pretok_next(pat, s, len, pos);
      if (got != want) {
        char hex[3 * 96 + 1] = "";
        for (size_t i = pos; i < len && i < pos + 96; i++)
          snprintf(hex + 3 * (i - pos), 4, "%02X ", s[i]);
        fail_msg("pattern %d, case %d, from byte %zu of %zu [%s]: %zu, scanner %zu", pat, t, pos,
                 len, hex, got, want);
      }
    }
}

/* The pre-tokeniser's shortcuts end every piece where the general scanner
 * does, on seeded random text drawn from every class above: runs of one
 * class (words of a script, digit runs, space runs), single characters, and
 * contractions in both cases, from every code point of the text and of a
 * prefix of it (the rest left in place after), both patterns.  A wrong
 * class in a shortcut table, a shortcut that takes an alternative the regex
 * would not, or one that looks past the end, shows as a different piece end. */
static void shortcuts_agree_with_the_scanner_on_text_of_every_class(void **state) {
  (void)state;
  static const char *const contr[] = {"'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T",
                                      "'RE", "'Ve", "'M", "'LL", "'D", "'", "''"};
  const size_t nclass = sizeof k_class_cps / sizeof *k_class_cps;
  uint8_t buf[512];
  for (int t = 0; t < 150000; t++) {
    size_t len = 0, k = 1 + rnd() % 32;
    for (size_t i = 0; i < k && len < sizeof buf - 64; i++) {
      uint32_t r = rnd() % 8;
      if (r == 0) { /* a contraction */
        const char *c = contr[rnd() % (sizeof contr / sizeof *contr)];
        memcpy(buf + len, c, strlen(c));
        len += strlen(c);
        continue;
      }
      const uint32_t *cls = k_class_cps[rnd() % nclass];
      size_t run = r < 4 ? 1 : 1 + rnd() % 6; /* one character, or a run of the class */
      for (size_t j = 0; j < run; j++) len += put_utf8(buf + len, cls[rnd() % 14]);
    }
    /* the whole text, alone in a block of its size (valgrind and ASan see a
     * read past its end), then a prefix ending at a random code point with
     * the rest of the text after it (a read past the end that changes a
     * piece shows: text between special tokens is encoded in place so) */
    uint8_t *exact = malloc(len);
    assert_non_null(exact);
    memcpy(exact, buf, len);
    compare_pieces(exact, len, t);
    free(exact);
    size_t cut = rnd() % (len + 1);
    while (cut < len && (buf[cut] & 0xC0) == 0x80) cut++;
    compare_pieces(buf, cut, t);
  }
}

/* Every token of both encodings is found under its own rank, whichever table
 * (up to 8 bytes, longer) holds it, through every lookup path; its bytes
 * with one byte more or less are found only if they are a token themselves
 * (checked against the rank list by bytes). */
static void every_token_is_found_under_its_rank(void **state) {
  (void)state;
  for (int e = 0; e < 2; e++) {
    tkn_tokenizer *tok = NULL;
    const tki_ranks *r = open_encoding(e, &tok);
    size_t shorts = 0;
    for (uint32_t k = 0; k < r->n; k++) {
      const uint8_t *p = r->bytes + r->off[k];
      size_t n = r->off[k + 1] - r->off[k];
      shorts += n <= 8;
      if (tki_ranks_get(r, p, n) != k) fail_msg("%s: rank %u not found", tkn_tokenizer_name(tok), (unsigned)k);
      uint8_t buf[256 + 16];
      if (n + 1 <= 256) { /* the padded path (tki_ranks_probe) agrees */
        memset(buf, 0, sizeof buf);
        memcpy(buf, p, n);
        tki_probe q;
        tki_ranks_probe(r, buf, n, &q);
        assert_int_equal(tki_ranks_finish(r, buf, n, &q), k);
        /* one byte more: a token only if the rank list says so */
        buf[n] = (uint8_t)rnd();
        uint32_t got = tki_ranks_get(r, buf, n + 1);
        if (got != UINT32_MAX) {
          assert_int_equal(r->off[got + 1] - r->off[got], n + 1);
          assert_memory_equal(r->bytes + r->off[got], buf, n + 1);
        }
      }
      if (n >= 2) { /* one byte less */
        uint32_t got = tki_ranks_get(r, p, n - 1);
        if (got != UINT32_MAX) {
          assert_int_equal(r->off[got + 1] - r->off[got], n - 1);
          assert_memory_equal(r->bytes + r->off[got], p, n - 1);
        }
      }
    }
    assert_true(shorts > 0 && shorts < r->n); /* both tables are used */
    tkn_tokenizer_free(tok);
  }
}

/* The image laid out at build time holds exactly the tables this code
 * builds at run time from the same tokens (so the generator and the lookups
 * agree on every hash and slot), with the prefix filter built in. */
static void image_is_the_tables_built_at_run_time(void **state) {
  (void)state;
  for (int e = 0; e < 2; e++) {
    tkn_tokenizer *tok = NULL;
    const tki_ranks *r = open_encoding(e, &tok);
    assert_non_null(r->image);
    /* the tokens as a blob ("TKR1", n, lengths, bytes), built again */
    size_t nb = r->off[r->n], len = 8 + r->n + nb;
    uint8_t *blob = malloc(len);
    assert_non_null(blob);
    memcpy(blob, "TKR1", 4);
    for (int i = 0; i < 4; i++) blob[4 + i] = (uint8_t)(r->n >> (8 * i));
    for (uint32_t k = 0; k < r->n; k++) blob[8 + k] = (uint8_t)(r->off[k + 1] - r->off[k]);
    memcpy(blob + 8 + r->n, r->bytes, nb);
    tki_ranks b;
    assert_int_equal(tki_ranks_from_blob(&b, blob, len, NULL), TKN_OK);
    assert_null(b.image);
    assert_int_equal(b.n, r->n);
    assert_int_equal(b.max_len, r->max_len);
    assert_int_equal(b.mask, r->mask);
    assert_int_equal(b.smask, r->smask);
    assert_memory_equal(b.off, r->off, ((size_t)r->n + 1) * sizeof *r->off);
    assert_memory_equal(b.sslots, r->sslots, ((size_t)r->smask + 1) * sizeof *r->sslots);
    assert_memory_equal(b.slots, r->slots, ((size_t)r->mask + 1) * sizeof *r->slots);
    assert_memory_equal(b.pair_rank, r->pair_rank, 65536 * sizeof *r->pair_rank);
    assert_memory_equal(b.filter, r->filter, TKI_FILTER_BITS / 8);
    assert_memory_equal(b.byte_rank, r->byte_rank, 256 * sizeof *r->byte_rank);
    uint64_t *pf = tki_ranks_prefix_build(&b);
    assert_non_null(pf);
    assert_memory_equal(pf, atomic_load(&r->prefix), TKI_PREFIX_BITS / 8);
    tki_free(pf);
    /* the pair table too; in both encodings every token ranks above its
     * parts (the pair-table encoder's condition), and comes out of a merge */
    uint32_t *pt = tki_ranks_pairs_build(&b);
    assert_non_null(pt);
    assert_memory_equal(pt, atomic_load(&r->pairs), TKI_PAIRS_WORDS(r->n) * sizeof *pt);
    assert_int_equal(pt[3 * (size_t)r->n], 1);
    size_t unreachable = 0;
    for (uint32_t k = 0; k < r->n; k++) unreachable += pt[2 * (size_t)k] == TKI_UNREACHABLE;
    print_message("%s: %zu of %u tokens never come out of a merge\n",
                  e ? "o200k_base" : "cl100k_base", unreachable, (unsigned)r->n);
    tki_free(pt);
    tki_ranks_free(&b);
    free(blob);
    tkn_tokenizer_free(tok);
  }
}

/* A rank file of the 256 bytes (rank = byte value) and the given tokens
 * after them, as tiktoken's text. */
static char *rank_text(const char *const *tokens, size_t ntok) {
  static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  char *out = malloc(64 * (256 + ntok)), *w = out;
  assert_non_null(out);
  for (size_t k = 0; k < 256 + ntok; k++) {
    uint8_t one = (uint8_t)k;
    const uint8_t *t = k < 256 ? &one : (const uint8_t *)tokens[k - 256];
    size_t n = k < 256 ? 1 : strlen(tokens[k - 256]);
    for (size_t i = 0; i < n; i += 3) {
      uint32_t v = (uint32_t)t[i] << 16 | (i + 1 < n ? (uint32_t)t[i + 1] << 8 : 0) |
                   (i + 2 < n ? t[i + 2] : 0);
      *w++ = b64[v >> 18 & 63];
      *w++ = b64[v >> 12 & 63];
      *w++ = i + 1 < n ? b64[v >> 6 & 63] : '=';
      *w++ = i + 2 < n ? b64[v & 63] : '=';
    }
    w += sprintf(w, " %zu\n", k);
  }
  *w = 0;
  return out;
}

/* The pair-table encoder's condition is checked, not assumed: a rank file
 * with a token that ranks below one of its parts ("xyz" before "xy") gets no
 * pair table; its long pieces take the guessing encoder and come out as the
 * heap merges them.  In one that meets it, a token's parts are those of its
 * last merge ("cab" is "c" + "ab", never "ca" + "b"), a token that merging
 * its bytes does not make ("zzz": no "zz") is marked and never taken, and
 * long pieces come out as the heap merges them. */
static void pair_table_condition_is_checked(void **state) {
  (void)state;
  static const char *const bad[] = {"xyz", "xy", "==", "===="};
  static const char *const good[] = {"ab", "bc", "abc", "ca", "cab", "==", "====", "bcab", "zzz"};
  for (int t = 0; t < 2; t++) {
    char *text = rank_text(t ? good : bad, t ? 9 : 4);
    tkn_ranks_options o = TKN_RANKS_OPTIONS_INIT;
    o.flavor = TKN_BPE_O200K;
    o.data = text;
    o.len = strlen(text);
    tkn_tokenizer *tok = NULL;
    assert_int_equal(tkn_tokenizer_load_ranks(&tok, &o), TKN_OK);
    const tki_ranks *r = tki_bpe_ranks(tok);
    uint32_t *pt = tki_ranks_pairs_build(r);
    assert_non_null(pt);
    assert_int_equal(pt[3 * (size_t)r->n], t ? 2 : 0); /* 2: "zzz" is unreachable */
    if (!t) { /* "xyz": parts "xy" (257) and "z", above it */
      assert_int_equal(pt[2 * 256], 257);
    } else { /* "ca" (259) is made of "c" "a"; "cab" (260): "c" + "ab", "ca" + "b" never */
      assert_int_equal(pt[2 * 259], 'c');
      assert_int_equal(pt[2 * 260], 'c');
      assert_int_equal(pt[2 * 260 + 1], 256);
      assert_int_equal(pt[2 * 264], TKI_UNREACHABLE);
    }
    enum { N = 3000 };
    uint8_t *buf = malloc(N);
    uint32_t *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b);
    assert_non_null(buf);
    assert_non_null(a);
    assert_non_null(b);
    static const char al[] = "abcxyz=";
    for (int rep = 0; rep < 20; rep++) {
      size_t n = 1100 + rnd() % (N - 1100), na = 0, nb = 0;
      for (size_t i = 0; i < n; i++) buf[i] = (uint8_t)al[rnd() % (rep < 10 ? 7 : 3)];
      assert_int_equal(tki_bpe_merge_piece(r, buf, n, TKI_MERGE_HEAP, a, N, &na), TKN_OK);
      int rc = tki_bpe_merge_piece(r, buf, n, TKI_MERGE_PAIRS, b, N, &nb);
      assert_int_equal(rc, t ? TKN_OK : TKN_ERR_UNSUPPORTED);
      if (!t) /* what the encoder does then */
        assert_int_equal(tki_bpe_merge_piece(r, buf, n, TKI_MERGE_BACKTRACK, b, N, &nb), TKN_OK);
      assert_int_equal(na, nb);
      assert_memory_equal(a, b, na * sizeof *a);
      int64_t c = 0; /* through the tokenizer: one piece of letters */
      if (rep >= 10) {
        assert_int_equal(tkn_tokenizer_count(tok, (const char *)buf, n, &c), TKN_OK);
        assert_int_equal(c, (int64_t)na);
      }
    }
    tki_free(pt);
    free(buf);
    free(a);
    free(b);
    free(text);
    tkn_tokenizer_free(tok);
  }
}

/* An image that does not match this code is refused with one line, never
 * read: another magic (layout or hash version), byte order, damaged header,
 * wrong length, misaligned, sections out of bounds. */
static void a_foreign_or_damaged_image_is_refused(void **state) {
  (void)state;
  size_t len = 0;
  const uint8_t *img = tki_ranks_image(1, &len);
  if (!img) skip();
  uint8_t *copy = malloc(len + 8);
  assert_non_null(copy);
  tki_ranks r;
  memcpy(copy, img, len);
  assert_int_equal(tki_ranks_from_image(&r, copy, len, NULL), TKN_OK);
  tki_ranks_free(&r);
  static const size_t at[] = {offsetof(tki_ranks_image_head, magic) + 7,
                              offsetof(tki_ranks_image_head, endian),
                              offsetof(tki_ranks_image_head, layout),
                              offsetof(tki_ranks_image_head, n),
                              offsetof(tki_ranks_image_head, at) + 8,
                              offsetof(tki_ranks_image_head, check)};
  for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
    memcpy(copy, img, sizeof(tki_ranks_image_head));
    copy[at[i]] ^= 0x40;
    assert_int_equal(tki_ranks_from_image(&r, copy, len, NULL), TKN_ERR_PARSE);
    assert_non_null(strstr(tkn_error_last()->message, "rank image:"));
    assert_null(r.image);
  }
  /* a consistent header whose section runs past the end */
  memcpy(copy, img, sizeof(tki_ranks_image_head));
  tki_ranks_image_head h;
  memcpy(&h, copy, sizeof h);
  h.at[TKI_IMG_PREFIX] = h.size - 64;
  h.check = tki_ranks_image_check(&h);
  memcpy(copy, &h, sizeof h);
  assert_int_equal(tki_ranks_from_image(&r, copy, len, NULL), TKN_ERR_PARSE);
  memcpy(copy, img, sizeof(tki_ranks_image_head));
  assert_int_equal(tki_ranks_from_image(&r, copy, len - 64, NULL), TKN_ERR_PARSE);
  memmove(copy + 4, copy, len);
  assert_int_equal(tki_ranks_from_image(&r, copy + 4, len, NULL), TKN_ERR_PARSE);
  assert_int_equal(tki_ranks_from_image(&r, NULL, 0, NULL), TKN_ERR_PARSE);
  free(copy);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(scan_tree_and_heap_merge_alike),
      cmocka_unit_test(long_pieces_merge_alike),
      cmocka_unit_test(class_table_is_unicode_16),
      cmocka_unit_test(every_token_is_found_under_its_rank),
      cmocka_unit_test(ascii_shortcut_agrees_with_the_scanner),
      cmocka_unit_test(letter_shortcut_agrees_with_the_scanner_on_every_code_point),
      cmocka_unit_test(shortcuts_agree_with_the_scanner_on_text_of_every_class),
      cmocka_unit_test(image_is_the_tables_built_at_run_time),
      cmocka_unit_test(a_foreign_or_damaged_image_is_refused),
      cmocka_unit_test(pair_table_condition_is_checked),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
