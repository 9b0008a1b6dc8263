/* The built-in token estimator: no data file, one pass over the UTF-8 text.
 *
 * It approximates what a byte-pair encoding of a modern LLM does:
 *  - letters form words; a word costs its letters at its script's rate
 *    (Latin ~4 letters a token, other alphabets more, CJK ideographs, kana and
 *    hangul about one a character), rounded to the nearest token, at least 1;
 *  - digits go in groups of up to 3;
 *  - each punctuation or symbol character is about one token (a run of the
 *    same ASCII character, like "-----", folds 8 to a token); symbols outside
 *    the Basic Multilingual Plane (most emoji) are two;
 *  - a space before a word is part of that word; other whitespace runs fold
 *    8 characters to a token;
 *  - control characters and unassigned code points are one token each.
 * ASCII bytes are classed by a table, and pure-ASCII stretches are costed 64
 * bytes at a time from SSE2 bit masks; only other code points ask utf8proc
 * for their category.  Calibration against exact encodings changes the rates
 * and the per-kind cost functions below, not the walk: both paths cost runs
 * through those functions, and a unit test checks that they agree. */
#include <string.h>
#include <utf8proc.h>

#include "tokenizer_internal.h"

/* ---- rates: milli-tokens per letter of a word ---- */
#define RATE_LATIN 250     /* ASCII letters: ~4 per token */
#define RATE_LATIN_EXT 400 /* accented and extended Latin */
#define RATE_GREEK 450
#define RATE_CYRILLIC 370
#define RATE_ARMENIAN_GEORGIAN 500
#define RATE_HEBREW_ARABIC 400
#define RATE_INDIC 700 /* Devanagari .. Malayalam, Sinhala */
#define RATE_THAI_LAO 600
#define RATE_HANGUL 900
#define RATE_KANA 800
#define RATE_HAN 1000
#define RATE_OTHER 500

#define PUNCT_RUN_FOLD 8 /* same ASCII punctuation repeated: this many a token */
#define SPACE_RUN_FOLD 8 /* whitespace not folded into a word: this many a token */
#define DIGIT_GROUP 3

typedef struct script_range {
  int32_t lo, hi;
  int32_t rate;
} script_range;

/* Sorted by lo; code points of letters not listed use RATE_OTHER. */
static const script_range g_scripts[] = {
    {0x00C0, 0x024F, RATE_LATIN_EXT},        {0x0250, 0x02FF, RATE_LATIN_EXT},
    {0x0370, 0x03FF, RATE_GREEK},            {0x0400, 0x052F, RATE_CYRILLIC},
    {0x0530, 0x058F, RATE_ARMENIAN_GEORGIAN}, {0x0590, 0x05FF, RATE_HEBREW_ARABIC},
    {0x0600, 0x06FF, RATE_HEBREW_ARABIC},    {0x0750, 0x077F, RATE_HEBREW_ARABIC},
    {0x08A0, 0x08FF, RATE_HEBREW_ARABIC},    {0x0900, 0x0DFF, RATE_INDIC},
    {0x0E00, 0x0EFF, RATE_THAI_LAO},         {0x10A0, 0x10FF, RATE_ARMENIAN_GEORGIAN},
    {0x1100, 0x11FF, RATE_HANGUL},           {0x1C80, 0x1C8F, RATE_CYRILLIC},
    {0x1E00, 0x1EFF, RATE_LATIN_EXT},        {0x1F00, 0x1FFF, RATE_GREEK},
    {0x2C60, 0x2C7F, RATE_LATIN_EXT},        {0x2DE0, 0x2DFF, RATE_CYRILLIC},
    {0x3040, 0x30FF, RATE_KANA},             {0x3130, 0x318F, RATE_HANGUL},
    {0x31F0, 0x31FF, RATE_KANA},             {0x3400, 0x4DBF, RATE_HAN},
    {0x4E00, 0x9FFF, RATE_HAN},              {0xA640, 0xA69F, RATE_CYRILLIC},
    {0xA720, 0xA7FF, RATE_LATIN_EXT},        {0xAC00, 0xD7AF, RATE_HANGUL},
    {0xF900, 0xFAFF, RATE_HAN},              {0xFF21, 0xFF5A, RATE_LATIN_EXT},
    {0xFF66, 0xFF9F, RATE_KANA},             {0x20000, 0x3FFFF, RATE_HAN},
};

static int32_t script_rate(int32_t cp) {
  size_t lo = 0, hi = sizeof g_scripts / sizeof g_scripts[0];
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (cp < g_scripts[mid].lo) hi = mid;
    else if (cp > g_scripts[mid].hi) lo = mid + 1;
    else return g_scripts[mid].rate;
  }
  return RATE_OTHER;
}

/* ---- the walk ---- */

/* Byte classes: ASCII by table, everything >= 0x80 goes the slow way. */
enum { K_LETTER, K_DIGIT, K_SPACE, K_PUNCT, K_CTRL, K_HIGH };
#define L K_LETTER
#define D K_DIGIT
#define S K_SPACE
#define P K_PUNCT
#define C K_CTRL
#define H K_HIGH
static const uint8_t g_cls[256] = {
    C, C, C, C, C, C, C, C, C, S, S, S, S, S, C, C,
    C, C, C, C, C, C, C, C, C, C, C, C, C, C, C, C,
    S, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P,
    D, D, D, D, D, D, D, D, D, D, P, P, P, P, P, P,
    P, L, L, L, L, L, L, L, L, L, L, L, L, L, L, L,
    L, L, L, L, L, L, L, L, L, L, L, P, P, P, P, P,
    P, L, L, L, L, L, L, L, L, L, L, L, L, L, L, L,
    L, L, L, L, L, L, L, L, L, L, L, P, P, P, P, C,
    H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H,
    H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H,
    H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H,
    H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H,
    H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H,
    H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H,
    H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H,
    H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H,
};
#undef L
#undef D
#undef S
#undef P
#undef C
#undef H

/* The run being measured. */
enum { RUN_NONE, RUN_WORD, RUN_DIGITS, RUN_SPACE, RUN_PUNCT };

typedef struct est {
  int64_t tokens;
  int run;
  int64_t amount;  /* WORD: milli-tokens; DIGITS, SPACE, PUNCT: characters */
  int32_t cp;      /* PUNCT: the repeated character */
  int fold;        /* SPACE: its last character is a space that joins the next token */
} est;

/* ---- the cost of each kind of run: the one place calibration changes ----
 * The 64-byte path costs ASCII runs by these same functions, given a length;
 * a unit test checks that both paths agree on random text. */

/* A word whose letters add up to `milli` thousandths of a token. */
static inline int64_t word_tokens(int64_t milli) {
  int64_t t = (milli + 500) / 1000;
  return t > 0 ? t : 1;
}
/* n ASCII letters. */
static inline int64_t ascii_word_tokens(int64_t n) { return word_tokens(n * RATE_LATIN); }
static inline int64_t digit_tokens(int64_t n) { return (n + DIGIT_GROUP - 1) / DIGIT_GROUP; }
/* n times the same punctuation character. */
static inline int64_t punct_tokens(int64_t n) { return (n + PUNCT_RUN_FOLD - 1) / PUNCT_RUN_FOLD; }
/* n whitespace characters not folded into what follows. */
static inline int64_t space_tokens(int64_t n) { return (n + SPACE_RUN_FOLD - 1) / SPACE_RUN_FOLD; }

/* The cost of the run just ended; `more` says whether anything follows it. */
static inline void flush(est *e, int more) {
  switch (e->run) {
    case RUN_WORD: e->tokens += word_tokens(e->amount); break;
    case RUN_DIGITS: e->tokens += digit_tokens(e->amount); break;
    case RUN_PUNCT: e->tokens += punct_tokens(e->amount); break;
    case RUN_SPACE: e->tokens += space_tokens(e->amount - (more && e->fold ? 1 : 0)); break;
    default: break;
  }
  e->run = RUN_NONE;
  e->amount = 0;
}

static inline void begin(est *e, int run) {
  if (e->run != run) {
    flush(e, 1);
    e->run = run;
  }
}

/* Decode one strict UTF-8 sequence (no overlongs, surrogates or > U+10FFFF)
 * starting with a byte >= 0x80; 0 if invalid. */
static size_t decode(const uint8_t *s, size_t avail, int32_t *cp) {
  uint8_t c = s[0];
  size_t n;
  uint8_t lo = 0x80, hi = 0xBF;
  int32_t v;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
    v = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    v = c & 0x0F;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    v = c & 0x07;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (avail < n || s[1] < lo || s[1] > hi) return 0;
  v = (v << 6) | (s[1] & 0x3F);
  for (size_t k = 2; k < n; k++) {
    if ((s[k] & 0xC0) != 0x80) return 0;
    v = (v << 6) | (s[k] & 0x3F);
  }
  *cp = v;
  return n;
}

static void one_token(est *e, int64_t n) {
  flush(e, 1);
  e->tokens += n;
}

/* A code point outside ASCII, by its Unicode category. */
static void step_high(est *e, int32_t cp, size_t nbytes) {
  switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
      begin(e, RUN_WORD);
      e->amount += script_rate(cp);
      break;
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
      /* combining marks belong to the word they sit in */
      if (e->run == RUN_WORD) e->amount += script_rate(cp);
      else one_token(e, 1);
      break;
    case UTF8PROC_CATEGORY_ND:
      begin(e, RUN_DIGITS);
      e->amount++;
      break;
    case UTF8PROC_CATEGORY_ZS:
      begin(e, RUN_SPACE);
      e->amount++;
      e->fold = 1;
      break;
    case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP:
      begin(e, RUN_SPACE);
      e->amount++;
      e->fold = 0;
      break;
    default: /* punctuation, symbols, other numbers, controls, format, unassigned */
      one_token(e, nbytes == 4 ? 2 : 1);
      break;
  }
}

/* ---- the ASCII fast path: 64 bytes at a time ----
 *
 * Called where a run begins and nothing is pending, on 64 bytes: if they are
 * all ASCII, the runs that end inside the block are costed from bit masks
 * (exactly as the byte loop would cost them) and the number of bytes they
 * span is returned; the last run, which may go on past the block, is left to
 * the caller.  0 when the block holds a byte >= 0x80 (*high_end: the offset
 * after the last one) or a single run. */
#if defined(__SSE2__)
#include <emmintrin.h>

static inline uint64_t movemask64(__m128i a, __m128i b, __m128i c, __m128i d) {
  return (uint64_t)(uint16_t)_mm_movemask_epi8(a) | (uint64_t)(uint16_t)_mm_movemask_epi8(b) << 16 |
         (uint64_t)(uint16_t)_mm_movemask_epi8(c) << 32 |
         (uint64_t)(uint16_t)_mm_movemask_epi8(d) << 48;
}

/* The cost of a run of length p, by kind. */
enum { COST_WORD, COST_DIGITS, COST_PUNCT, COST_SPACE };
static inline int64_t run_tokens(int kind, int64_t p) {
  switch (kind) {
    case COST_WORD: return p ? ascii_word_tokens(p) : 0;
    case COST_DIGITS: return digit_tokens(p);
    case COST_PUNCT: return punct_tokens(p);
    default: return space_tokens(p);
  }
}

/* The cost of the runs of x (q: "continues the run of the byte before"):
 * a run of length n costs the sum of the steps run_tokens(p) - run_tokens(p - 1)
 * for p = 1..n, so every run that reaches position p adds that step.  `folded` marks the runs whose last
 * byte joins what follows: they cost as one byte shorter. */
static inline int64_t runs_cost(int kind, uint64_t x, uint64_t q, uint64_t folded) {
  int64_t t = 0;
  uint64_t end = x & ~(q >> 1) & folded;
  uint64_t m = x; /* positions at least p into their run */
  int64_t before = 0; /* run_tokens(kind, p - 1) */
  for (int p = 1; m; p++) {
    uint64_t next = m & (q << (p - 1));
    int64_t cost = run_tokens(kind, p), step = cost - before;
    before = cost;
    if (step) {
      uint64_t exact = m & ~next; /* exactly p into their run: one per run reaching p */
      t += step * (__builtin_popcountll(exact) - __builtin_popcountll(exact & end));
    }
    m = next;
  }
  return t;
}

static size_t block64(const uint8_t *s, int64_t *tokens, size_t *high_end) {
  __m128i v[4], lt[4], dg[4], ws[4], sp[4], ct[4], eq[4];
  const __m128i c20 = _mm_set1_epi8(0x20);
  for (int k = 0; k < 4; k++) v[k] = _mm_loadu_si128((const __m128i *)(s + 16 * k));
  uint64_t high = movemask64(v[0], v[1], v[2], v[3]);
  if (high) {
    *high_end = (size_t)(64 - __builtin_clzll(high));
    return 0;
  }
  for (int k = 0; k < 4; k++) {
    __m128i lower = _mm_or_si128(v[k], c20);
    lt[k] = _mm_and_si128(_mm_cmpgt_epi8(lower, _mm_set1_epi8('a' - 1)),
                          _mm_cmplt_epi8(lower, _mm_set1_epi8('z' + 1)));
    dg[k] = _mm_and_si128(_mm_cmpgt_epi8(v[k], _mm_set1_epi8('0' - 1)),
                          _mm_cmplt_epi8(v[k], _mm_set1_epi8('9' + 1)));
    sp[k] = _mm_cmpeq_epi8(v[k], c20);
    ws[k] = _mm_or_si128(sp[k], _mm_and_si128(_mm_cmpgt_epi8(v[k], _mm_set1_epi8(8)),
                                              _mm_cmplt_epi8(v[k], _mm_set1_epi8(14))));
    ct[k] = _mm_or_si128(_mm_andnot_si128(ws[k], _mm_cmplt_epi8(v[k], c20)),
                         _mm_cmpeq_epi8(v[k], _mm_set1_epi8(0x7F)));
    /* the byte before each byte (the first one's is never looked at) */
    __m128i prev = k ? _mm_loadu_si128((const __m128i *)(s + 16 * k - 1)) : _mm_slli_si128(v[0], 1);
    eq[k] = _mm_cmpeq_epi8(v[k], prev);
  }
  uint64_t L = movemask64(lt[0], lt[1], lt[2], lt[3]);
  uint64_t D = movemask64(dg[0], dg[1], dg[2], dg[3]);
  uint64_t W = movemask64(ws[0], ws[1], ws[2], ws[3]);
  uint64_t SP = movemask64(sp[0], sp[1], sp[2], sp[3]);
  uint64_t C = movemask64(ct[0], ct[1], ct[2], ct[3]);
  uint64_t EQ = movemask64(eq[0], eq[1], eq[2], eq[3]);
  uint64_t P = ~(L | D | W | C);
  uint64_t qL = L & (L << 1), qD = D & (D << 1), qW = W & (W << 1), qP = P & (P << 1) & EQ;
  uint64_t start = ~(qL | qD | qW | qP);
  int last = 63 - __builtin_clzll(start);
  if (last == 0) {
    *high_end = 0;
    return 0;
  }
  uint64_t valid = (1ULL << last) - 1;
  int64_t t = runs_cost(COST_WORD, L & valid, qL, 0);
  t += runs_cost(COST_DIGITS, D & valid, qD, 0);
  t += runs_cost(COST_PUNCT, P & valid, qP, 0);
  t += runs_cost(COST_SPACE, W & valid, qW, SP); /* a run ending in ' ' folds it */
  t += __builtin_popcountll(C & valid);
  *tokens += t;
  return (size_t)last;
}
#endif

/* The walk; `fast` enables the 64-byte ASCII path (0 only to test that both
 * give the same counts). */
int tki_estimator_count(const char *text, size_t len, int fast, int64_t *out) {
  (void)fast;
  const uint8_t *s = (const uint8_t *)text;
  est e;
  memset(&e, 0, sizeof e);
  size_t i = 0;
#if defined(__SSE2__)
  size_t simd_from = 0; /* no block before this offset: it holds non-ASCII */
#endif
  while (i < len) {
#if defined(__SSE2__)
    if (fast && e.run == RUN_NONE && len - i >= 64 && i >= simd_from) {
      size_t high_end = 0, k = block64(s + i, &e.tokens, &high_end);
      if (k) {
        i += k;
        continue;
      }
      simd_from = i + (high_end ? high_end : 1);
    }
#endif
    size_t j = i + 1;
    switch (g_cls[s[i]]) {
      case K_LETTER:
        while (j < len && g_cls[s[j]] == K_LETTER) j++;
        if (e.run == RUN_WORD || (j < len && g_cls[s[j]] == K_HIGH)) {
          /* the word may go on with letters outside ASCII */
          begin(&e, RUN_WORD);
          e.amount += (int64_t)(j - i) * RATE_LATIN;
        } else {
          flush(&e, 1);
          e.tokens += ascii_word_tokens((int64_t)(j - i));
        }
        break;
      case K_DIGIT:
        while (j < len && g_cls[s[j]] == K_DIGIT) j++;
        begin(&e, RUN_DIGITS);
        e.amount += (int64_t)(j - i);
        break;
      case K_SPACE:
        if (s[i] == ' ' && e.run != RUN_SPACE && j < len && g_cls[s[j]] < K_SPACE) {
          /* the common case: one space that joins the word after it */
          flush(&e, 1);
          break;
        }
        while (j < len && g_cls[s[j]] == K_SPACE) j++;
        begin(&e, RUN_SPACE);
        e.amount += (int64_t)(j - i);
        e.fold = s[j - 1] == ' ';
        break;
      case K_PUNCT:
        if (e.run != RUN_PUNCT || e.cp != s[i]) {
          flush(&e, 1);
          e.run = RUN_PUNCT;
          e.cp = s[i];
        }
        e.amount++;
        break;
      case K_CTRL:
        one_token(&e, 1);
        break;
      default: {
        int32_t cp;
        size_t n = decode(s + i, len - i, &cp);
        if (!n) return TKN_ERR_UTF8;
        step_high(&e, cp, n);
        j = i + n;
        break;
      }
    }
    i = j;
  }
  flush(&e, 0);
  *out = e.tokens;
  return TKN_OK;
}

static int est_count(const tkn_tokenizer *tok, const char *text, size_t len, int64_t *out) {
  (void)tok;
  return tki_estimator_count(text, len, 1, out);
}

static const tki_tokenizer_vt est_vt = {"estimator", est_count, NULL};

int tkn_tokenizer_new_estimator(tkn_tokenizer **out) {
  if (!out) return TKN_ERR_INVALID;
  *out = NULL;
  return tki_tokenizer_make(out, &est_vt, NULL);
}
