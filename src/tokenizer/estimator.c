/* The built-in token estimator: no data file, one pass over the UTF-8 text.
 *
 * It approximates what the byte-pair encodings of OpenAI's models do, with
 * costs measured against them (see "calibration" below):
 *  - letters form words; an ASCII word costs by its length from a table (a
 *    short word is about one token, a long one a token every few letters); a
 *    word with other letters costs its letters at its script's rate (CJK
 *    ideographs and kana close to one a character, other alphabets less);
 *    every word is at least one token;
 *  - digits go in groups of up to 3;
 *  - a run of one punctuation character ("-----" as much as ".") is about one
 *    token, a run right after another costs less (nothing more when either
 *    is a double quote: `":"`, `","`), a lone punctuation character before a
 *    letter mostly joins it ("_name", ".c"), and line ends right after
 *    punctuation join it (`",\n`);
 *  - symbols outside the Basic Multilingual Plane (most emoji) are two;
 *  - a space before a word is part of that word; other whitespace runs are a
 *    token per 80 characters (indentation is one token);
 *  - control characters and unassigned code points are one token each.
 * Costs add up in thousandths of a token and the total is rounded once.
 * ASCII bytes are classed by a table, and pure-ASCII stretches are costed 64
 * bytes at a time from SSE2 bit masks; only other code points ask utf8proc
 * for their category.  Calibration changes the parameters below, not the
 * walk: both paths cost runs through the same functions, and a unit test
 * checks that they agree. */
#include <string.h>
#include <utf8proc.h>

#include "tokenizer_internal.h"

/* ---- calibration: thousandths of a token, per encoding ----
 * Measured on the corpus of tests/bench/tokenizer/estimator_eval.mjs (prose,
 * code, markup, Markdown, JSON as found and re-serialised compactly, CJK and
 * other scripts from /usr/share and /usr/lib) against the exact
 * encodings: the mean tokens of a word by its letter count and per letter of
 * each script, then the punctuation and space costs fitted to the per-document
 * error.  ASCII costs are the same for both encodings; the script rates differ
 * (o200k_base spends far fewer tokens on non-Latin text).  The eval benchmark
 * reprints the error per kind of text beside tokenx's. */
enum { G_LATIN_EXT, G_GREEK, G_CYRILLIC, G_ARM_GEO, G_HEB_AR, G_INDIC, G_THAI, G_HANGUL, G_KANA,
       G_HAN, G_OTHER, G__COUNT };

#define DIGIT_GROUP 3     /* digits a token */
#define SPACE_RUN_FOLD 80 /* whitespace not folded into a word: a run of up to this many */
#define WORD_TABLE 21 /* ASCII words of 1..20 letters by table, longer by slope */
#define PUNCT_TABLE 9 /* punctuation runs of 1..8 characters by table */
typedef struct est_params {
  int32_t word[WORD_TABLE];   /* an ASCII word of n letters (its leading space included) */
  int32_t word_slope;         /* each letter beyond the table */
  int32_t latin_in_word;      /* an ASCII letter in a word with other letters */
  int32_t punct[PUNCT_TABLE]; /* a run of n times the same punctuation character */
  int32_t punct_slope;
  int32_t punct_joined;       /* the last punctuation character before a letter */
  int32_t punct_follow;       /* added to a run of one character that follows another */
  int32_t digit_group;        /* up to 3 digits */
  int32_t space_run;          /* whitespace not folded into a word: a run of up to 16 */
  int32_t rate[G__COUNT];     /* a letter (or mark) of each script */
  int32_t symbol, symbol_astral; /* other characters: BMP, beyond (emoji) */
  int32_t quote_follow;       /* punct_follow when either character is '"' (`":`, `","`) */
} est_params;

#define ASCII_COSTS                                                                          \
  {0, 1000, 1050, 1040, 1060, 1085, 1230, 1150, 1275, 1300, 1325, 1500, 1600, 1800, 1950,   \
   2100, 2300, 2600, 2900, 3200, 3500},                                                      \
      200, 250, {0, 1000, 1000, 1150, 1150, 1150, 1150, 1150, 1150}, 0, 475, -500, 1000, 1000
static const est_params k_o200k = {
    ASCII_COSTS,
    /* latin-ext greek cyrillic arm/geo heb/ar indic thai hangul kana han other */
    {600, 700, 399, 1000, 425, 510, 450, 1100, 705, 764, 1000},
    1000, 2000, -1000};
static const est_params k_cl100k = {
    ASCII_COSTS,
    {800, 1000, 629, 1500, 858, 1540, 1000, 1600, 1009, 1086, 1500},
    1000, 2000, -1000};

typedef struct script_range {
  int32_t lo, hi;
  int32_t group;
} script_range;

/* Sorted by lo; code points of letters not listed are G_OTHER. */
static const script_range g_scripts[] = {
    {0x00C0, 0x024F, G_LATIN_EXT},  {0x0250, 0x02FF, G_LATIN_EXT}, {0x0370, 0x03FF, G_GREEK},
    {0x0400, 0x052F, G_CYRILLIC},   {0x0530, 0x058F, G_ARM_GEO},   {0x0590, 0x05FF, G_HEB_AR},
    {0x0600, 0x06FF, G_HEB_AR},     {0x0750, 0x077F, G_HEB_AR},    {0x08A0, 0x08FF, G_HEB_AR},
    {0x0900, 0x0DFF, G_INDIC},      {0x0E00, 0x0EFF, G_THAI},      {0x10A0, 0x10FF, G_ARM_GEO},
    {0x1100, 0x11FF, G_HANGUL},     {0x1C80, 0x1C8F, G_CYRILLIC},  {0x1E00, 0x1EFF, G_LATIN_EXT},
    {0x1F00, 0x1FFF, G_GREEK},      {0x2C60, 0x2C7F, G_LATIN_EXT}, {0x2DE0, 0x2DFF, G_CYRILLIC},
    {0x3040, 0x30FF, G_KANA},       {0x3130, 0x318F, G_HANGUL},    {0x31F0, 0x31FF, G_KANA},
    {0x3400, 0x4DBF, G_HAN},        {0x4E00, 0x9FFF, G_HAN},       {0xA640, 0xA69F, G_CYRILLIC},
    {0xA720, 0xA7FF, G_LATIN_EXT},  {0xAC00, 0xD7AF, G_HANGUL},    {0xF900, 0xFAFF, G_HAN},
    {0xFF21, 0xFF5A, G_LATIN_EXT},  {0xFF66, 0xFF9F, G_KANA},      {0x20000, 0x3FFFF, G_HAN},
};

static int32_t script_rate(const est_params *P, int32_t cp) {
  size_t lo = 0, hi = sizeof g_scripts / sizeof g_scripts[0];
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (cp < g_scripts[mid].lo) hi = mid;
    else if (cp > g_scripts[mid].hi) lo = mid + 1;
    else return P->rate[g_scripts[mid].group];
  }
  return P->rate[G_OTHER];
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
  const est_params *P;
  int64_t tokens;  /* thousandths of a token */
  int run;
  int64_t amount;  /* WORD: milli-tokens; DIGITS, SPACE, PUNCT: characters */
  int32_t cp;      /* PUNCT: the repeated character */
  int fold;        /* SPACE: its last character is a space that joins the next token */
  int alone;       /* PUNCT: one character, after neither punctuation nor a space: it
                      joins a letter that follows */
} est;

/* ---- the cost of each kind of run: the one place calibration changes ----
 * The 64-byte path costs ASCII runs by these same functions, given a length;
 * a unit test checks that both paths agree on random text. */

/* A word whose letters add up to `milli` (at least one token). */
static inline int64_t word_tokens(int64_t milli) { return milli > 1000 ? milli : 1000; }
/* n ASCII letters. */
static inline int64_t ascii_word_tokens(const est_params *P, int64_t n) {
  return n < WORD_TABLE ? P->word[n] : P->word[WORD_TABLE - 1] + (n - WORD_TABLE + 1) * P->word_slope;
}
static inline int64_t digit_tokens(const est_params *P, int64_t n) {
  return (n + DIGIT_GROUP - 1) / DIGIT_GROUP * P->digit_group;
}
/* n punctuation characters in a row. */
static inline int64_t punct_tokens(const est_params *P, int64_t n) {
  return n < PUNCT_TABLE ? P->punct[n]
                         : P->punct[PUNCT_TABLE - 1] + (n - PUNCT_TABLE + 1) * P->punct_slope;
}
/* n whitespace characters not folded into what follows. */
static inline int64_t space_tokens(const est_params *P, int64_t n) {
  return (n + SPACE_RUN_FOLD - 1) / SPACE_RUN_FOLD * P->space_run;
}

/* The cost of the run just ended; `more` says whether anything follows it. */
static inline void flush(est *e, int more) {
  switch (e->run) {
    case RUN_WORD: e->tokens += word_tokens(e->amount); break;
    case RUN_DIGITS: e->tokens += digit_tokens(e->P, e->amount); break;
    case RUN_PUNCT: e->tokens += punct_tokens(e->P, e->amount); break;
    case RUN_SPACE: e->tokens += space_tokens(e->P, e->amount - (more && e->fold ? 1 : 0)); break;
    default: break;
  }
  e->run = RUN_NONE;
  e->amount = 0;
}

/* A letter follows a punctuation run.  A lone punctuation character joins
 * the word (BPE pieces like "_name", ".c", "(x" are mostly one token); a
 * longer run, or one after a space, is a piece of its own (`{"`, ` "`, `("`
 * then the word: the pattern takes punctuation greedily). */
static inline void punct_before_letter(est *e) {
  if (e->run != RUN_PUNCT) return;
  if (e->alone && e->amount == 1) {
    e->tokens += e->P->punct_joined;
    e->run = RUN_NONE;
    e->amount = 0;
  } else {
    flush(e, 1);
  }
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

static void one_token(est *e, int64_t milli) {
  flush(e, 1);
  e->tokens += milli;
}

/* A code point outside ASCII, by its Unicode category. */
static void step_high(est *e, int32_t cp, size_t nbytes) {
  switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
      punct_before_letter(e);
      begin(e, RUN_WORD);
      e->amount += script_rate(e->P, cp);
      break;
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
      /* combining marks belong to the word they sit in */
      if (e->run == RUN_WORD) e->amount += script_rate(e->P, cp);
      else one_token(e, e->P->symbol);
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
      one_token(e, nbytes == 4 ? e->P->symbol_astral : e->P->symbol);
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

/* Population count without the libgcc call __builtin_popcountll becomes on
 * baseline x86-64 (no POPCNT instruction assumed). */
static inline int64_t pc64(uint64_t x) {
  x = x - ((x >> 1) & 0x5555555555555555ULL);
  x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
  x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
  return (int64_t)((x * 0x0101010101010101ULL) >> 56);
}

/* The cost of a run of length p, by kind. */
enum { COST_WORD, COST_DIGITS, COST_PUNCT, COST_SPACE };
static inline int64_t run_tokens(const est_params *P, int kind, int64_t p) {
  switch (kind) {
    case COST_WORD: return p ? ascii_word_tokens(P, p) : 0;
    case COST_DIGITS: return digit_tokens(P, p);
    case COST_PUNCT: return p ? punct_tokens(P, p) : 0;
    default: return space_tokens(P, p);
  }
}

/* The cost of the runs of x (q: "continues the run of the byte before"; a
 * run ends before the block's last run starts, so before bit 63).  `folded`
 * marks the runs whose last byte joins what follows: they cost as one byte
 * shorter.  One step per run. */
static inline int64_t runs_cost(const est_params *P, int kind, uint64_t x, uint64_t q,
                                uint64_t folded) {
  int64_t t = 0;
  uint64_t starts = x & ~q;
  /* runs of one byte that fold cost nothing (most spaces: one before a word) */
  starts &= ~(starts & ~(q >> 1) & folded);
  for (; starts; starts &= starts - 1) {
    int b = __builtin_ctzll(starts);
    uint64_t more = ~(q >> (b + 1)); /* its first zero ends the run */
    int len = 1 + __builtin_ctzll(more);
    int fold = (int)((folded >> (b + len - 1)) & 1);
    t += run_tokens(P, kind, len - fold);
  }
  return t;
}

static size_t block64(const est_params *P, const uint8_t *s, uint64_t before_space,
                      uint64_t before_punct, int64_t *tokens, size_t *high_end) {
  const __m128i c20 = _mm_set1_epi8(0x20);
  uint64_t high = 0, L = 0, D = 0, W = 0, SP = 0, C = 0, EQ = 0, NL = 0, QT = 0;
  for (int k = 0; k < 4; k++) { /* one 16-byte chunk at a time: masks, not vectors, are kept */
    __m128i v = _mm_loadu_si128((const __m128i *)(s + 16 * k));
    high |= (uint64_t)(uint16_t)_mm_movemask_epi8(v) << (16 * k);
    __m128i lower = _mm_or_si128(v, c20);
    __m128i lt = _mm_and_si128(_mm_cmpgt_epi8(lower, _mm_set1_epi8('a' - 1)),
                               _mm_cmplt_epi8(lower, _mm_set1_epi8('z' + 1)));
    __m128i dg = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)),
                               _mm_cmplt_epi8(v, _mm_set1_epi8('9' + 1)));
    __m128i sp = _mm_cmpeq_epi8(v, c20);
    __m128i qt = _mm_cmpeq_epi8(v, _mm_set1_epi8('"'));
    __m128i nl = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\n')),
                              _mm_cmpeq_epi8(v, _mm_set1_epi8('\r')));
    __m128i ws = _mm_or_si128(sp, _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8(8)),
                                                _mm_cmplt_epi8(v, _mm_set1_epi8(14))));
    __m128i ct = _mm_or_si128(_mm_andnot_si128(ws, _mm_cmplt_epi8(v, c20)),
                              _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7F)));
    /* the byte before each byte (the first one's is never looked at) */
    __m128i prev = k ? _mm_loadu_si128((const __m128i *)(s + 16 * k - 1)) : _mm_slli_si128(v, 1);
    __m128i eq = _mm_cmpeq_epi8(v, prev);
    L |= (uint64_t)(uint16_t)_mm_movemask_epi8(lt) << (16 * k);
    D |= (uint64_t)(uint16_t)_mm_movemask_epi8(dg) << (16 * k);
    W |= (uint64_t)(uint16_t)_mm_movemask_epi8(ws) << (16 * k);
    SP |= (uint64_t)(uint16_t)_mm_movemask_epi8(sp) << (16 * k);
    NL |= (uint64_t)(uint16_t)_mm_movemask_epi8(nl) << (16 * k);
    QT |= (uint64_t)(uint16_t)_mm_movemask_epi8(qt) << (16 * k);
    C |= (uint64_t)(uint16_t)_mm_movemask_epi8(ct) << (16 * k);
    EQ |= (uint64_t)(uint16_t)_mm_movemask_epi8(eq) << (16 * k);
  }
  if (high) {
    *high_end = (size_t)(64 - __builtin_clzll(high));
    return 0;
  }
  uint64_t PU = ~(L | D | W | C);
  /* line ends right after punctuation join it: they cost nothing and end
   * the punctuation run (a run of them, grown a step at a time) */
  uint64_t ab = NL & (PU << 1);
  for (uint64_t g = NL & (ab << 1) & ~ab; g; g = NL & (ab << 1) & ~ab) ab |= g;
  W &= ~ab;
  uint64_t qL = L & (L << 1), qD = D & (D << 1), qW = W & (W << 1), qP = PU & (PU << 1) & EQ;
  uint64_t start = ~(qL | qD | qW | qP | ab);
  int last = 63 - __builtin_clzll(start);
  if (last == 0) {
    *high_end = 0;
    return 0;
  }
  uint64_t valid = (1ULL << last) - 1;
  int64_t t = runs_cost(P, COST_WORD, L & valid, qL, 0);
  t += runs_cost(P, COST_DIGITS, D & valid, qD, 0);
  /* a lone punctuation character (a run of one, after neither punctuation
   * nor a space) that a letter follows joins the word (punct_before_letter) */
  uint64_t joins = PU & valid & ~qP & ~(qP >> 1) & (L >> 1) & ~(PU << 1 | before_punct) &
                   ~(SP << 1 | before_space);
  t += runs_cost(P, COST_PUNCT, PU & valid, qP, joins);
  t += pc64(joins) * P->punct_joined;
  /* runs after another, up to the one at `last` (the byte loop goes on
   * from there with nothing pending) */
  uint64_t follows = PU & (valid | (1ULL << last)) & ~qP & (PU << 1);
  uint64_t quoted = follows & (QT | QT << 1);
  t += pc64(follows & ~quoted) * P->punct_follow + pc64(quoted) * P->quote_follow;
  t += runs_cost(P, COST_SPACE, W & valid, qW, SP); /* a run ending in ' ' folds it */
  t += pc64(C & valid) * P->symbol;
  *tokens += t;
  return (size_t)last;
}
#endif

/* The walk; `fast` enables the 64-byte ASCII path (0 only to test that both
 * give the same counts). */
static int estimate(const est_params *P, const char *text, size_t len, int fast, int64_t *out) {
  (void)fast;
  const uint8_t *s = (const uint8_t *)text;
  est e;
  memset(&e, 0, sizeof e);
  e.P = P;
  size_t i = 0;
#if defined(__SSE2__)
  size_t simd_from = 0; /* no block before this offset: it holds non-ASCII */
#endif
  while (i < len) {
#if defined(__SSE2__)
    if (fast && e.run == RUN_NONE && len - i >= 64 && i >= simd_from) {
      /* the byte before the block (a run the block before left over may
       * start the block: its follow cost is counted, its join is not) */
      uint64_t bsp = i > 0 && s[i - 1] == ' ', bpu = i > 0 && g_cls[s[i - 1]] == K_PUNCT;
      size_t high_end = 0, k = block64(P, s + i, bsp, bpu, &e.tokens, &high_end);
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
        punct_before_letter(&e);
        while (j < len && g_cls[s[j]] == K_LETTER) j++;
        if (e.run == RUN_WORD || (j < len && g_cls[s[j]] == K_HIGH)) {
          /* the word may go on with letters outside ASCII */
          begin(&e, RUN_WORD);
          e.amount += (int64_t)(j - i) * P->latin_in_word;
        } else {
          flush(&e, 1);
          e.tokens += ascii_word_tokens(P, (int64_t)(j - i));
        }
        break;
      case K_DIGIT:
        while (j < len && g_cls[s[j]] == K_DIGIT) j++;
        begin(&e, RUN_DIGITS);
        e.amount += (int64_t)(j - i);
        break;
      case K_SPACE:
        if (e.run == RUN_PUNCT && (s[i] == '\n' || s[i] == '\r')) {
          /* line ends right after punctuation join it (`",\n`, ` {\n`) */
          while (j < len && (s[j] == '\n' || s[j] == '\r')) j++;
          flush(&e, 1);
          break;
        }
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
        if (e.run == RUN_PUNCT && e.cp == s[i]) {
          e.amount++;
          break;
        }
        /* (the byte before, not the run: the 64-byte path may have costed it) */
        e.alone = !(i > 0 && (s[i - 1] == ' ' || g_cls[s[i - 1]] == K_PUNCT));
        if (e.run == RUN_PUNCT) /* "();" costs less than 3, `":"` less still */
          e.tokens += e.cp == '"' || s[i] == '"' ? P->quote_follow : P->punct_follow;
        flush(&e, 1);
        e.run = RUN_PUNCT;
        e.cp = s[i];
        e.amount = 1;
        break;
      case K_CTRL:
        one_token(&e, P->symbol);
        break;
      default: {
        int32_t cp;
        size_t n = decode(s + i, len - i, &cp);
        if (!n) return tki_fail_at(TKN_ERR_UTF8, (int64_t)i, NULL, "text: invalid UTF-8 at byte %zu", i);
        step_high(&e, cp, n);
        j = i + n;
        break;
      }
    }
    i = j;
  }
  flush(&e, 0);
  *out = (e.tokens + 500) / 1000;
  return TKN_OK;
}

int tki_estimator_count(const char *text, size_t len, int fast, int64_t *out) {
  return estimate(&k_o200k, text, len, fast, out);
}

static int est_count(const tkn_tokenizer *tok, const char *text, size_t len, int64_t *out) {
  return estimate(tok->impl ? tok->impl : &k_o200k, text, len, 1, out);
}

static const tki_tokenizer_vt est_vt = {"estimator", est_count, NULL};

int tkn_tokenizer_new_estimator(tkn_tokenizer **out) {
  if (!out) return tki_fail(TKN_ERR_INVALID, "tkn_tokenizer_new_estimator: out is NULL");
  *out = NULL;
  return tki_tokenizer_make(out, &est_vt, NULL);
}

int tkn_tokenizer_new_estimator_for(tkn_tokenizer **out, const char *encoding, size_t len) {
  len = tki_len(encoding, len);
  if (!out) return tki_fail(TKN_ERR_INVALID, "tkn_tokenizer_new_estimator_for: out is NULL");
  *out = NULL;
  const est_params *P;
  if (encoding && len == 11 && memcmp(encoding, "cl100k_base", 11) == 0) P = &k_cl100k;
  else if (encoding && len == 10 && memcmp(encoding, "o200k_base", 10) == 0) P = &k_o200k;
  else return tki_unknown_encoding("tkn_tokenizer_new_estimator_for", encoding, len);
  /* impl points at static data: there is nothing to destroy */
  return tki_tokenizer_make(out, &est_vt, (void *)(uintptr_t)P);
}
