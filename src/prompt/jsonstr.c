/* JSON string literals for prompt bytes.  Prompts are mostly long runs of
 * text that need no escaping, so the scan looks at 16 bytes at a time (SSE2)
 * or 8 (portable), and whole runs are copied at once.  The escapes are the
 * minimal set tki_buf_json_string and the canonical form use (\" \\ \n \r \t
 * \b \f, else \u00xx), so the bytes are identical to theirs (a unit test
 * compares them). */
#include <string.h>

#if defined(__SSE2__) && defined(__GNUC__)
#include <emmintrin.h>
#define HAVE_SSE2 1
#endif

#include "prompt_internal.h"

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* Non-zero if one of the 8 bytes may be < 0x20, '"' or '\\' (a borrow may
 * flag a neighbour too; a byte that is one is never missed). */
static inline uint64_t maybe_special(uint64_t w) {
  uint64_t ctl = (w - ONES * 0x20) & ~w;
  uint64_t q = w ^ (ONES * '"');
  uint64_t bs = w ^ (ONES * '\\');
  return (ctl | ((q - ONES) & ~q) | ((bs - ONES) & ~bs)) & HIGHS;
}

static inline int special(unsigned char c) { return c < 0x20 || c == '"' || c == '\\'; }

size_t tki_prompt_json_special(const char *s, size_t i, size_t len) {
#ifdef HAVE_SSE2
  const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
  const __m128i ctl = _mm_set1_epi8(0x1f);
  for (; i + 16 <= len; i += 16) {
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
    /* c <= 0x1f (unsigned) exactly when max(c, 0x1f) == 0x1f */
    __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
                             _mm_cmpeq_epi8(_mm_max_epu8(v, ctl), ctl));
    unsigned mask = (unsigned)_mm_movemask_epi8(m);
    if (mask) return i + (size_t)__builtin_ctz(mask);
  }
#endif
  for (; i + 8 <= len; i += 8) {
    uint64_t w;
    memcpy(&w, s + i, 8);
    if (maybe_special(w)) break;
  }
  for (; i < len; i++)
    if (special((unsigned char)s[i])) return i;
  return len;
}

size_t tki_prompt_json_escape(unsigned char c, char out[6]) {
  static const char hex[] = "0123456789abcdef";
  out[0] = '\\';
  switch (c) {
  case '"': out[1] = '"'; return 2;
  case '\\': out[1] = '\\'; return 2;
  case '\n': out[1] = 'n'; return 2;
  case '\r': out[1] = 'r'; return 2;
  case '\t': out[1] = 't'; return 2;
  case '\b': out[1] = 'b'; return 2;
  case '\f': out[1] = 'f'; return 2;
  default:
    out[1] = 'u';
    out[2] = '0';
    out[3] = '0';
    out[4] = hex[c >> 4];
    out[5] = hex[c & 15];
    return 6;
  }
}

int tki_prompt_json_string(tki_buf *b, const char *s, size_t len) {
  /* room for the text, the quotes and one escape; grown only when escapes
   * make the literal longer than that */
  if (tki_buf_reserve(b, len + 8)) return tki_fail(TKN_ERR_NOMEM, "out of memory");
  b->data[b->len++] = '"';
  size_t start = 0;
  for (;;) {
    size_t i = tki_prompt_json_special(s, start, len);
    size_t run = i - start;
    /* tki_buf_reserve(b, x) leaves x + 1 bytes free: the run, one escape (6),
     * the closing quote and the NUL */
    if (b->cap - b->len < run + 8 && tki_buf_reserve(b, run + 7 + (len - i)))
      return tki_fail(TKN_ERR_NOMEM, "out of memory");
    if (run) memcpy(b->data + b->len, s + start, run);
    b->len += run;
    if (i == len) break;
    b->len += tki_prompt_json_escape((unsigned char)s[i], b->data + b->len);
    start = i + 1;
  }
  b->data[b->len++] = '"';
  b->data[b->len] = '\0';
  return TKN_OK;
}
