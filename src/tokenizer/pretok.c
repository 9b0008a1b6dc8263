/* Pre-tokenisation of the OpenAI encodings without a regex engine.
 *
 * tiktoken splits text with a regex whose alternatives are tried in order at
 * each position (first match wins, greedy quantifiers backtrack) before BPE
 * runs on each piece.  This scanner computes the same pieces directly.  The
 * patterns (tiktoken_ext/openai_public.py) are:
 *
 * cl100k_base:
 *   (?i:'s|'t|'re|'ve|'m|'ll|'d) | [^\r\n\p{L}\p{N}]?\p{L}+ | \p{N}{1,3}
 *   | ' '?[^\s\p{L}\p{N}]+[\r\n]* | \s*[\r\n]+ | \s+(?!\S) | \s+
 * o200k_base:
 *   [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|...)?
 *   | [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|...)?
 *   | \p{N}{1,3} | ' '?[^\s\p{L}\p{N}]+[\r\n/]* | \s*[\r\n]+ | \s+(?!\S) | \s+
 *
 * \s is Unicode White_Space (Rust regex), \p{L}, \p{N} and \p{M} are general
 * categories, all of the Unicode version tiktoken's regex engine is built with
 * (ucd.lock; the table is generated into unicode_classes.c), and (?i:'s) also
 * matches "'S" and "'ſ" (U+017F folds to s). */
#include "bpe_internal.h"

#if defined(__GNUC__)
#define ALWAYS_INLINE __attribute__((always_inline)) inline
#define NOINLINE __attribute__((noinline))
#else
#define ALWAYS_INLINE inline
#define NOINLINE
#endif

/* Character classes, as bits (gen-unicode.py writes the same values). */
enum {
  C_L = 1u << 0,  /* \p{L} */
  C_N = 1u << 1,  /* \p{N} */
  C_WS = 1u << 2, /* \s: White_Space */
  C_NL = 1u << 3, /* \r or \n */
  C_UP = 1u << 4, /* [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}] */
  C_LO = 1u << 5, /* [\p{Ll}\p{Lm}\p{Lo}\p{M}] */
};
/* [^\s\p{L}\p{N}]: anything that is none of these. */
#define C_PUNCT(c) (!((c) & (C_L | C_N | C_WS)))
/* [^\r\n\p{L}\p{N}] */
#define C_PREFIX(c) (!((c) & (C_L | C_N | C_NL)))

/* The classes of ASCII, as a table built at compile time. */
#define A1(c) (((c) == '\r' || (c) == '\n') ? (C_WS | C_NL) \
  : (((c) >= 0x09 && (c) <= 0x0D) || (c) == ' ') ? C_WS \
  : ((c) >= 'A' && (c) <= 'Z') ? (C_L | C_UP) \
  : ((c) >= 'a' && (c) <= 'z') ? (C_L | C_LO) \
  : ((c) >= '0' && (c) <= '9') ? C_N : 0)
#define A4(c) A1(c), A1(c + 1), A1(c + 2), A1(c + 3)
#define A16(c) A4(c), A4(c + 4), A4(c + 8), A4(c + 12)
#define A64(c) A16(c), A16(c + 16), A16(c + 32), A16(c + 48)
static const uint8_t k_ascii[128] = {A64(0), A64(64)};

/* The class of any code point (< 0x110000), from the generated table: const
 * data, used where it lies (nothing is computed when a tokenizer is made). */
static inline unsigned class_of_cp(uint32_t cp) {
  return tki_ucd_stage2[(uint32_t)tki_ucd_stage1[cp >> 8] << 8 | (cp & 0xFF)];
}

unsigned tki_pretok_class(uint32_t cp) { return cp < 0x110000 ? class_of_cp(cp) : 0; }

/* Class of the code point at s[i] (i < len); *next gets the position after it.
 * Inlined into every loop (a call per character costs more than the lookup). */
static ALWAYS_INLINE unsigned cls_at(const uint8_t *s, size_t len, size_t i, size_t *next) {
  uint8_t b = s[i];
  if (b < 0x80) {
    *next = i + 1;
    return k_ascii[b];
  }
  (void)len;
  if (b < 0xE0) {
    *next = i + 2;
    return class_of_cp((uint32_t)(b & 0x1F) << 6 | (s[i + 1] & 0x3F));
  }
  if (b < 0xF0) {
    *next = i + 3;
    return class_of_cp((uint32_t)(b & 0x0F) << 12 | (uint32_t)(s[i + 1] & 0x3F) << 6 |
                       (s[i + 2] & 0x3F));
  }
  *next = i + 4;
  return class_of_cp((uint32_t)(b & 0x07) << 18 | (uint32_t)(s[i + 1] & 0x3F) << 12 |
                     (uint32_t)(s[i + 2] & 0x3F) << 6 | (s[i + 3] & 0x3F));
}

/* (?i:'s|'t|'re|'ve|'m|'ll|'d) at i: its end, or 0 when it does not match. */
static ALWAYS_INLINE size_t contraction(const uint8_t *s, size_t len, size_t i) {
  if (i + 1 >= len || s[i] != '\'') return 0;
  uint8_t c = s[i + 1] | 0x20; /* ASCII lower case (harmless for other bytes here) */
  if (s[i + 1] < 0x80) {
    if (c == 's' || c == 't' || c == 'm' || c == 'd') return i + 2;
    if (i + 2 < len) {
      uint8_t d = s[i + 2] | 0x20;
      if ((c == 'r' && d == 'e') || (c == 'v' && d == 'e') || (c == 'l' && d == 'l')) return i + 3;
    }
    return 0;
  }
  /* U+017F LATIN SMALL LETTER LONG S folds to 's' */
  if (i + 2 < len && s[i + 1] == 0xC5 && s[i + 2] == 0xBF) return i + 3;
  return 0;
}

/* End of the run of code points from i whose class has any bit of `mask`. */
static inline size_t run_of(const uint8_t *s, size_t len, size_t i, unsigned mask) {
  while (i < len) {
    size_t nx;
    if (!(cls_at(s, len, i, &nx) & mask)) break;
    i = nx;
  }
  return i;
}

/* \p{N}{1,3} at i (whose class is C_N). */
static size_t digits(const uint8_t *s, size_t len, size_t i) {
  for (int k = 0; k < 3 && i < len; k++) {
    size_t nx;
    if (!(cls_at(s, len, i, &nx) & C_N)) break;
    i = nx;
  }
  return i;
}

/* ' '?[^\s\p{L}\p{N}]+ followed by the trailing set, at i; 0 if no match. */
static size_t punct(const uint8_t *s, size_t len, size_t i, unsigned c0, int o200k) {
  size_t j = i, nx;
  if (s[i] == ' ' && i + 1 < len && C_PUNCT(cls_at(s, len, i + 1, &nx))) {
    j = i + 1;
  } else if (!C_PUNCT(c0)) {
    return 0;
  }
  while (j < len) {
    if (!C_PUNCT(cls_at(s, len, j, &nx))) break;
    j = nx;
  }
  while (j < len && (s[j] == '\r' || s[j] == '\n' || (o200k && s[j] == '/'))) j++;
  return j;
}

/* \s*[\r\n]+ | \s+(?!\S) | \s+ at i (whose class is C_WS). */
static size_t spaces(const uint8_t *s, size_t len, size_t i) {
  size_t j = i, last_start = i, after_nl = 0, count = 0;
  while (j < len) {
    size_t nx;
    unsigned c = cls_at(s, len, j, &nx);
    if (!(c & C_WS)) break;
    if (c & C_NL) after_nl = nx;
    last_start = j;
    count++;
    j = nx;
  }
  if (after_nl) return after_nl;       /* \s*[\r\n]+: through the last newline */
  if (j == len || count == 1) return j; /* \s+(?!\S) at the end, or \s+ */
  return last_start;                    /* \s+(?!\S): all but the last */
}

/* cl100k: [^\r\n\p{L}\p{N}]?\p{L}+ at i; 0 if no match. */
static size_t cl_letters(const uint8_t *s, size_t len, size_t i, unsigned c0, size_t n0) {
  if (c0 & C_L) return run_of(s, len, n0, C_L);
  if (C_PREFIX(c0) && n0 < len) {
    size_t nx;
    if (cls_at(s, len, n0, &nx) & C_L) return run_of(s, len, nx, C_L);
  }
  (void)i;
  return 0;
}

/* o200k, first alternative without its prefix, from i:
 * [UP]*[LO]+ then an optional contraction; 0 if no match. */
static size_t o2_alt1(const uint8_t *s, size_t len, size_t i) {
  size_t j = i, last_lo_end = 0, nx;
  unsigned c = 0;
  while (j < len) { /* the [UP]* run, remembering its last [LO] member */
    c = cls_at(s, len, j, &nx);
    if (!(c & C_UP)) break;
    if (c & C_LO) last_lo_end = nx;
    j = nx;
  }
  size_t end;
  if (j < len && (c & C_LO)) {
    end = run_of(s, len, nx, C_LO); /* [LO]+ after the whole run */
  } else if (last_lo_end) {
    end = last_lo_end; /* backtrack: [LO]+ is the run's last [LO] member */
  } else {
    return 0;
  }
  size_t k = contraction(s, len, end);
  return k ? k : end;
}

/* o200k, second alternative without its prefix: [UP]+[LO]* contraction?. */
static size_t o2_alt2(const uint8_t *s, size_t len, size_t i) {
  size_t j = run_of(s, len, i, C_UP);
  if (j == i) return 0;
  j = run_of(s, len, j, C_LO);
  size_t k = contraction(s, len, j);
  return k ? k : j;
}

static size_t o2_letters(const uint8_t *s, size_t len, size_t i, unsigned c0, size_t n0) {
  size_t e, n1;
  /* both alternatives start with an [UP] or [LO] member: a prefix followed by
   * anything else cannot begin them (a cheap test for punctuation and
   * spaces, the common case) */
  int prefix = C_PREFIX(c0) && n0 < len && (cls_at(s, len, n0, &n1) & (C_UP | C_LO));
  if (prefix && (e = o2_alt1(s, len, n0))) return e;
  if ((c0 & (C_UP | C_LO)) && (e = o2_alt1(s, len, i))) return e;
  if (prefix && (e = o2_alt2(s, len, n0))) return e;
  if ((c0 & C_UP) && (e = o2_alt2(s, len, i))) return e;
  return 0;
}

size_t tki_pretok_next_slow(int pattern, const uint8_t *s, size_t len, size_t pos) {
  size_t n0, e;
  unsigned c0 = cls_at(s, len, pos, &n0);
  if (pattern == TKI_PAT_CL100K) {
    if ((e = contraction(s, len, pos))) return e;
    if ((e = cl_letters(s, len, pos, c0, n0))) return e;
  } else {
    if ((e = o2_letters(s, len, pos, c0, n0))) return e;
  }
  if (c0 & C_N) return digits(s, len, pos);
  if ((e = punct(s, len, pos, c0, pattern == TKI_PAT_O200K))) return e;
  if (c0 & C_WS) return spaces(s, len, pos);
  return n0; /* not reached: every code point is L, N, \s or punctuation */
}

/* The class of the code point at s[i] and the position after it, for the
 * shortcuts below: 2-byte characters from tki_ucd_low, 3-byte ones from
 * tki_ucd_bmp64 where their block of 64 has one class (CJK, Hangul, kana,
 * most of the letters of a script), else from the two stages the general
 * scanner's cls_at reads. */
static ALWAYS_INLINE unsigned cls_fast(const uint8_t *s, size_t i, size_t *next) {
  uint8_t b = s[i];
  if (b < 0x80) {
    *next = i + 1;
    return k_ascii[b];
  }
  if (b < 0xE0) {
    *next = i + 2;
    return tki_ucd_low[(b & 0x1F) << 6 | (s[i + 1] & 0x3F)];
  }
  if (b < 0xF0) {
    *next = i + 3;
    uint32_t hi = (uint32_t)(b & 0x0F) << 6 | (s[i + 1] & 0x3F); /* cp >> 6 */
    unsigned c = tki_ucd_bmp64[hi];
    return c != 0xFF ? c : class_of_cp(hi << 6 | (s[i + 2] & 0x3F));
  }
  *next = i + 4;
  return class_of_cp((uint32_t)(b & 0x07) << 18 | (uint32_t)(s[i + 1] & 0x3F) << 12 |
                     (uint32_t)(s[i + 2] & 0x3F) << 6 | (s[i + 3] & 0x3F));
}

/* The common piece of any script: an optional prefix character then letters
 * (cl100k: [^\r\n\p{L}\p{N}]?\p{L}+; o200k: the two letter alternatives
 * merged into one scan, then an optional contraction), without the general
 * scanner's alternatives: its end, or 0 where the general scanner must decide
 * (no letter first or after the prefix, an apostrophe first in cl100k, a mark
 * first in o200k, where the alternatives with and without the prefix
 * differ).  Where a letter begins the piece (after the prefix or not), the
 * letter alternatives of both patterns always match, and first. */
static size_t uni_word(int pattern, const uint8_t *s, size_t len, size_t pos) {
  size_t j = pos, nx;
  unsigned c = cls_fast(s, pos, &nx);
  if (!(c & C_L)) {
    if (!C_PREFIX(c) || nx >= len) return 0;
    if (pattern == TKI_PAT_CL100K ? s[pos] == '\'' : (c & (C_UP | C_LO)) != 0) return 0;
    j = nx;
    if (!(cls_fast(s, j, &nx) & C_L)) return 0;
  }
  if (pattern == TKI_PAT_CL100K) { /* \p{L}+ */
    while (nx < len && (cls_fast(s, nx, &j) & C_L)) nx = j;
    return nx;
  }
  /* o200k from j, a letter: [UP]*[LO]+ if [LO] ends or follows the [UP] run
   * (backtracking to its last [LO] member), else [UP]+[LO]* (the [UP] run
   * alone); then an optional contraction */
  size_t e = j, last_lo = 0;
  c = 0;
  while (e < len) {
    c = cls_fast(s, e, &nx);
    if (!(c & C_UP)) break;
    if (c & C_LO) last_lo = nx;
    e = nx;
  }
  if (e < len && (c & C_LO)) {
    e = nx;
    while (e < len && (cls_fast(s, e, &nx) & C_LO)) e = nx;
  } else if (last_lo) {
    e = last_lo;
  }
  size_t k = contraction(s, len, e);
  return k ? k : e;
}

/* ascii_word's answer where its word runs into a non-ASCII character. */
#define NOT_ASCII SIZE_MAX

/* ASCII letters and their cases, from the class table. */
static inline int ascii_letter(uint8_t b) { return b < 0x80 && (k_ascii[b] & C_L); }
static inline int ascii_upper(uint8_t b) { return (uint8_t)(b - 'A') < 26; }
static inline int ascii_lower(uint8_t b) { return (uint8_t)(b - 'a') < 26; }

/* The common piece of ASCII text, an optional prefix character then ASCII
 * letters ended by an ASCII character or the end of the text, without the
 * general scanner's alternatives: its end, NOT_ASCII where the word runs
 * into a byte >= 0x80 (uni_word then decides), or 0 where the general scanner
 * must decide (a byte >= 0x80 second, an apostrophe first in cl100k, no
 * letter).  For ASCII the classes reduce to: letters are \p{L}; upper
 * case is [UP] and not [LO], lower case the opposite; a prefix is any
 * character but a letter, a digit, \r and \n. */
static ALWAYS_INLINE size_t ascii_word(int pattern, const uint8_t *s, size_t len, size_t pos) {
  uint8_t b = s[pos];
  size_t j;
  if (ascii_letter(b)) {
    j = pos;
  } else if (b < 0x80 && !(k_ascii[b] & (C_N | C_NL)) && pos + 1 < len && ascii_letter(s[pos + 1]) &&
             !(pattern == TKI_PAT_CL100K && b == '\'')) {
    j = pos + 1;
  } else {
    return 0;
  }
  size_t e = j;
  if (pattern == TKI_PAT_CL100K) { /* [^\r\n\p{L}\p{N}]?\p{L}+ */
    while (e < len && ascii_letter(s[e])) e++;
    return e < len && s[e] >= 0x80 ? NOT_ASCII : e;
  }
  /* o200k: [UP]*[LO]+ when lower case follows the upper-case run, else
   * [UP]+[LO]* (the run alone); then an optional contraction */
  while (e < len && ascii_upper(s[e])) e++;
  if (e < len && ascii_lower(s[e]))
    while (e < len && ascii_lower(s[e])) e++;
  if (e < len && s[e] >= 0x80) return NOT_ASCII;
  size_t k = contraction(s, len, e);
  return k ? k : e;
}

static inline int ascii_punct(uint8_t b) { return b < 0x80 && !(k_ascii[b] & (C_L | C_N | C_WS)); }

/* The other common pieces of ASCII text, where no word begins (ascii_word
 * found none): a run of whitespace, punctuation (' '?[^\s\p{L}\p{N}]+ and
 * its trailing set), or \p{N}{1,3} of ASCII digits; their end, or 0 where the
 * general scanner must decide (a byte >= 0x80 where it matters, a letter
 * after the first character, an apostrophe first in cl100k). */
static ALWAYS_INLINE size_t ascii_other(int pattern, const uint8_t *s, size_t len, size_t pos) {
  uint8_t b = s[pos];
  if (b >= 0x80) return 0;
  unsigned c = k_ascii[b];
  size_t j = pos;
  if (c & C_N) { /* \p{N}{1,3} */
    while (j < len && j < pos + 3 && (uint8_t)(s[j] - '0') < 10) j++;
    return j < pos + 3 && j < len && s[j] >= 0x80 ? 0 : j;
  }
  if (c & C_WS) { /* the alternatives for whitespace, as spaces() */
    size_t after_nl = 0;
    while (j < len && s[j] < 0x80 && (k_ascii[s[j]] & C_WS)) {
      if (k_ascii[s[j]] & C_NL) after_nl = j + 1;
      j++;
    }
    if (j < len && s[j] >= 0x80) { /* another character ends the run unless it is \s */
      size_t nx;
      if (!after_nl && j == pos + 1) return 0; /* maybe a prefix, or ' ' then punctuation */
      if (cls_fast(s, j, &nx) & C_WS) return 0;
      return after_nl ? after_nl : j - 1; /* \s*[\r\n]+, or \s+(?!\S) */
    }
    if (after_nl) return after_nl; /* \s*[\r\n]+ */
    if (j == len) return j;
    if (j == pos + 1) {
      /* one whitespace character: a letter after it begins a word (which
       * ascii_word left to the scanner), punctuation after a space is
       * punctuation's piece */
      if (k_ascii[s[j]] & C_L) return 0;
      if (b != ' ' || !ascii_punct(s[j])) return j; /* \s+ */
      /* ' ' then punctuation: punctuation's piece, below */
    } else {
      return j - 1; /* \s+(?!\S) */
    }
  } else {
    if (pattern == TKI_PAT_CL100K && b == '\'') return 0; /* maybe a contraction */
    /* punctuation: a letter after it would begin a word */
    if (pos + 1 < len && (s[pos + 1] >= 0x80 || (k_ascii[s[pos + 1]] & C_L))) return 0;
  }
  /* [^\s\p{L}\p{N}]+ from j, then [\r\n]* (o200k: [\r\n/]*) */
  while (j < len && ascii_punct(s[j])) j++;
  if (j < len && s[j] >= 0x80) return 0;
  while (j < len && (s[j] == '\r' || s[j] == '\n' || (pattern == TKI_PAT_O200K && s[j] == '/')))
    j++;
  return j;
}

/* Punctuation of any script where no word begins: ' '?[^\s\p{L}\p{N}]+ then
 * its trailing set, from a non-ASCII character or a space before one; its
 * end, or 0 where the general scanner must decide (a letter after the first
 * character; in o200k a mark, which begins a word, first or after the
 * space). */
static size_t uni_punct(int pattern, const uint8_t *s, size_t len, size_t pos) {
  unsigned word = pattern == TKI_PAT_CL100K ? C_L : C_UP | C_LO;
  size_t j = pos, nx;
  if (s[pos] == ' ') j++; /* then a non-ASCII character (the caller's test) */
  unsigned c = cls_fast(s, j, &nx);
  if (!C_PUNCT(c) || (c & word)) return 0;
  if (j == pos && nx < len && (cls_fast(s, nx, &j) & word)) return 0; /* a prefix */
  for (j = nx; j < len && C_PUNCT(cls_fast(s, j, &nx));) j = nx;
  while (j < len && (s[j] == '\r' || s[j] == '\n' || (pattern == TKI_PAT_O200K && s[j] == '/')))
    j++;
  return j;
}

/* Pieces with a non-ASCII character first or second, or an ASCII word that
 * runs into one: words and punctuation of any script, then the shortcuts for
 * ASCII, then the general scanner. */
static NOINLINE size_t next_uni(int pattern, const uint8_t *s, size_t len, size_t pos) {
  size_t e = uni_word(pattern, s, len, pos);
  if (!e) e = uni_punct(pattern, s, len, pos);
  if (!e) e = ascii_other(pattern, s, len, pos);
  return e ? e : tki_pretok_next_slow(pattern, s, len, pos);
}

/* The shortcuts for ASCII are inlined here, the rest is called last (so the
 * common case needs no stack frame). */
size_t tki_pretok_next(int pattern, const uint8_t *s, size_t len, size_t pos) {
  size_t e = ascii_word(pattern, s, len, pos);
  if (e && e != NOT_ASCII) return e;
  if (e || s[pos] >= 0x80 || (pos + 1 < len && s[pos + 1] >= 0x80))
    return next_uni(pattern, s, len, pos);
  e = ascii_other(pattern, s, len, pos);
  return e ? e : tki_pretok_next_slow(pattern, s, len, pos);
}
