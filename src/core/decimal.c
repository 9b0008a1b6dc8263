/* Exact decimal text to scaled integer, so that a price written as 3e-06 or
 * 0.000003 becomes exactly 3,000,000 picodollars: the digits are read as an
 * integer and the decimal point moved by counting, never through a double.
 * The public USD helpers of common.h (tkn_usd_parse, tkn_usd_format) are the
 * same conversion at scale 12. */
#include <stdio.h>
#include <string.h>

#include "../internal.h"

#define MAX_EXP_DIGITS 6 /* |exponent| < 10^6; larger ones are far out of range anyway */

static int is_digit(char c) { return c >= '0' && c <= '9'; }

int tki_decimal_scaled(const char *s, size_t len, int scale, int64_t *out) {
  if (!s || len == 0) return TKN_ERR_PARSE;
  size_t i = 0;
  int neg = 0;
  if (s[i] == '-') {
    neg = 1;
    i++;
  }
  /* integer part: "0" or [1-9][0-9]* */
  size_t int_start = i;
  while (i < len && is_digit(s[i])) i++;
  size_t int_end = i;
  if (int_end == int_start) return TKN_ERR_PARSE;
  if (s[int_start] == '0' && int_end - int_start > 1) return TKN_ERR_PARSE;
  size_t frac_start = i, frac_end = i;
  if (i < len && s[i] == '.') {
    i++;
    frac_start = i;
    while (i < len && is_digit(s[i])) i++;
    frac_end = i;
    if (frac_end == frac_start) return TKN_ERR_PARSE;
  }
  long exp10 = 0;
  if (i < len && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    int eneg = 0;
    if (i < len && (s[i] == '+' || s[i] == '-')) eneg = s[i++] == '-';
    size_t es = i;
    while (i < len && is_digit(s[i])) {
      if (i - es >= MAX_EXP_DIGITS) return TKN_ERR_OVERFLOW;
      exp10 = exp10 * 10 + (s[i] - '0');
      i++;
    }
    if (i == es) return TKN_ERR_PARSE;
    if (eneg) exp10 = -exp10;
  }
  if (i != len) return TKN_ERR_PARSE;

  /* All significant digits, as one digit string: int part then fraction.
   * value = digits x 10^(exp10 - frac_len + scale). */
  long shift = exp10 - (long)(frac_end - frac_start) + scale;
  /* Skip leading zeros of the digit string; trailing zeros may be divided out. */
  char digits[1024];
  size_t nd = 0;
  for (size_t k = int_start; k < int_end; k++) {
    if (nd == 0 && s[k] == '0') continue;
    if (nd >= sizeof digits) return TKN_ERR_OVERFLOW;
    digits[nd++] = s[k];
  }
  for (size_t k = frac_start; k < frac_end; k++) {
    if (nd == 0 && s[k] == '0') continue;
    if (nd >= sizeof digits) return TKN_ERR_UNSUPPORTED; /* absurdly long mantissa */
    digits[nd++] = s[k];
  }
  if (nd == 0) { /* zero, whatever the exponent */
    *out = 0;
    return TKN_OK;
  }
  /* Negative shift: the last -shift digits must be zeros that drop off. */
  while (shift < 0 && nd > 0 && digits[nd - 1] == '0') {
    nd--;
    shift++;
  }
  if (shift < 0) return TKN_ERR_UNSUPPORTED;
  if (shift > 19 || nd > 19) {
    /* More than 19 digits is beyond int64 (nd cannot be 0 here). */
    return TKN_ERR_OVERFLOW;
  }
  /* Accumulate as a negative number so that INT64_MIN is reachable. */
  int64_t v = 0;
  for (size_t k = 0; k < nd; k++) {
    if (__builtin_mul_overflow(v, 10, &v) || __builtin_sub_overflow(v, digits[k] - '0', &v))
      return TKN_ERR_OVERFLOW;
  }
  for (long k = 0; k < shift; k++)
    if (__builtin_mul_overflow(v, 10, &v)) return TKN_ERR_OVERFLOW;
  if (!neg) {
    if (v == INT64_MIN) return TKN_ERR_OVERFLOW;
    v = -v;
  }
  *out = v;
  return TKN_OK;
}

int tkn_usd_parse(const char *text, size_t len, int64_t *out) {
  len = tki_len(text, len);
  if (!text || !out) return tki_fail(TKN_ERR_INVALID, "usd: NULL %s", text ? "out" : "text");
  const char *orig = text;
  size_t orig_len = len;
  /* "$2" and "-$0.5" read as "2" and "-0.5": the sign may sit either side. */
  char tmp[128];
  if (len > 0 && (text[0] == '$' || (len > 1 && text[0] == '-' && text[1] == '$'))) {
    int neg = text[0] == '-';
    size_t skip = (size_t)neg + 1;
    if (len - skip + 1 > sizeof tmp) return tki_fail(TKN_ERR_PARSE, "usd: amount too long");
    if (neg) tmp[0] = '-';
    memcpy(tmp + neg, text + skip, len - skip);
    text = tmp;
    len = len - skip + (size_t)neg;
  }
  int64_t v;
  int rc = tki_decimal_scaled(text, len, 12, &v);
  if (rc == TKN_OK) {
    *out = v;
    return TKN_OK;
  }
  int shown = orig_len > 40 ? 40 : (int)orig_len;
  const char *why = rc == TKN_ERR_PARSE         ? "not a decimal number"
                    : rc == TKN_ERR_UNSUPPORTED ? "finer than 1e-12 USD (one picodollar)"
                                                : "beyond the int64 picodollar range";
  return tki_fail(rc, "usd: \"%.*s%s\" is %s", shown, orig, orig_len > 40 ? "..." : "", why);
}

int tkn_usd_format(int64_t picodollars, char *buf, size_t buflen, size_t *written) {
  if (!buf) return tki_fail_null("tkn_usd_format", "buf");
  char tmp[TKN_USD_BUFLEN];
  /* Work on the magnitude as uint64 so INT64_MIN is fine. */
  uint64_t mag = picodollars < 0 ? (uint64_t)0 - (uint64_t)picodollars : (uint64_t)picodollars;
  uint64_t whole = mag / UINT64_C(1000000000000), frac = mag % UINT64_C(1000000000000);
  int n = snprintf(tmp, sizeof tmp, "%s%llu.%012llu", picodollars < 0 ? "-" : "",
                   (unsigned long long)whole, (unsigned long long)frac);
  if (n < 0 || (size_t)n >= buflen)
    return tki_fail(TKN_ERR_TOO_SMALL, "usd: %d bytes needed, the buffer has %zu", n + 1, buflen);
  memcpy(buf, tmp, (size_t)n + 1);
  if (written) *written = (size_t)n;
  return TKN_OK;
}
