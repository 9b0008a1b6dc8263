/* The volatile-content linter: finds what makes a "static" prompt segment
 * change from one request to the next (dates, times, timestamps, UUIDs, long
 * hex or base64 ids, request counters), so that the cache prefix can be fixed
 * before it is paid for.  A hand-written scanner: one pass, no allocation
 * except the findings, word-bounded matches, the longest detector first. */
#include <string.h>

#include "prompt_internal.h"

static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int is_upper(int c) { return c >= 'A' && c <= 'Z'; }
static int is_lower(int c) { return c >= 'a' && c <= 'z'; }
static int is_alnum(int c) { return is_digit(c) || is_upper(c) || is_lower(c); }
static int is_hex(int c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
static int is_b64(int c) { return is_alnum(c) || c == '+' || c == '/' || c == '_' || c == '-'; }
static int lower(int c) { return is_upper(c) ? c + 32 : c; }

typedef struct scan {
  const unsigned char *s;
  size_t len;
} scan;

static int at(const scan *x, size_t i) { return i < x->len ? x->s[i] : -1; }

/* Number of consecutive digits at i (at most max); their value in *v. */
static size_t digits(const scan *x, size_t i, size_t max, int *v) {
  size_t n = 0;
  int val = 0;
  while (n < max && is_digit(at(x, i + n))) {
    if (val < 100000) val = val * 10 + (at(x, i + n) - '0');
    n++;
  }
  if (v) *v = val;
  return n;
}

/* The match ends at i: the next character must not continue a word/number. */
static int ends_word(const scan *x, size_t i) { return !is_alnum(at(x, i)); }

static size_t match_uuid(const scan *x, size_t i) {
  static const int groups[5] = {8, 4, 4, 4, 12};
  size_t p = i;
  for (int g = 0; g < 5; g++) {
    for (int k = 0; k < groups[g]; k++, p++)
      if (!is_hex(at(x, p))) return 0;
    if (g < 4 && at(x, p++) != '-') return 0;
  }
  return ends_word(x, p) ? p - i : 0;
}

/* HH:MM[:SS[.fff]] with optional am/pm; returns the length, 0 if none. */
static size_t match_clock(const scan *x, size_t i, int allow_ampm) {
  int h, m, sec;
  size_t nh = digits(x, i, 2, &h);
  if (nh == 0 || h > 23 || at(x, i + nh) != ':') return 0;
  size_t p = i + nh + 1;
  if (digits(x, p, 3, &m) != 2 || m > 59) return 0;
  p += 2;
  if (at(x, p) == ':' && digits(x, p + 1, 3, &sec) == 2 && sec <= 60) {
    p += 3;
    if (at(x, p) == '.' && is_digit(at(x, p + 1))) {
      p++;
      while (is_digit(at(x, p))) p++;
    }
  }
  if (allow_ampm) {
    size_t q = p + (at(x, p) == ' ');
    if ((lower(at(x, q)) == 'a' || lower(at(x, q)) == 'p') && lower(at(x, q + 1)) == 'm' &&
        ends_word(x, q + 2))
      p = q + 2;
  }
  return is_digit(at(x, p)) ? 0 : p - i;
}

/* YYYY-MM-DD or YYYY/MM/DD, optionally followed by a time and a zone (then a
 * timestamp). */
static size_t match_iso(const scan *x, size_t i, uint32_t *kind) {
  int y, mo, d;
  if (digits(x, i, 5, &y) != 4) return 0;
  int sep = at(x, i + 4);
  if (sep != '-' && sep != '/') return 0;
  if (digits(x, i + 5, 3, &mo) != 2 || mo < 1 || mo > 12 || at(x, i + 7) != sep) return 0;
  if (digits(x, i + 8, 3, &d) != 2 || d < 1 || d > 31) return 0;
  size_t p = i + 10;
  *kind = TKN_LINT_DATE;
  if ((at(x, p) == 'T' || at(x, p) == ' ') && is_digit(at(x, p + 1))) {
    size_t t = match_clock(x, p + 1, 0);
    if (t) {
      p += 1 + t;
      *kind = TKN_LINT_TIMESTAMP;
      if (at(x, p) == 'Z') {
        p++;
      } else if ((at(x, p) == '+' || at(x, p) == '-') && digits(x, p + 1, 2, NULL) == 2) {
        size_t q = p + 3;
        if (at(x, q) == ':') q++;
        if (digits(x, q, 2, NULL) == 2) p = q + 2;
      }
    }
  }
  return ends_word(x, p) ? p - i : 0;
}

/* D/M/YYYY, M/D/YY, DD.MM.YYYY, DD-MM-YYYY. */
static size_t match_dmy(const scan *x, size_t i) {
  int a, b;
  size_t na = digits(x, i, 3, &a);
  if (na == 0 || na > 2) return 0;
  int sep = at(x, i + na);
  if (sep != '/' && sep != '.' && sep != '-') return 0;
  size_t p = i + na + 1;
  size_t nb = digits(x, p, 3, &b);
  if (nb == 0 || nb > 2 || at(x, p + nb) != sep) return 0;
  p += nb + 1;
  size_t ny = digits(x, p, 5, NULL);
  if (!(ny == 4 || (ny == 2 && sep == '/'))) return 0;
  if (a < 1 || b < 1 || a > 31 || b > 31 || (a > 12 && b > 12)) return 0;
  p += ny;
  if (at(x, p) == '.' && is_digit(at(x, p + 1))) return 0; /* a version number */
  return ends_word(x, p) ? p - i : 0;
}

static const char *const k_months[12] = {"january", "february", "march",     "april",
                                         "may",     "june",     "july",      "august",
                                         "september", "october", "november", "december"};
static const unsigned char k_month_len[12] = {7, 8, 5, 5, 3, 4, 4, 6, 9, 7, 8, 8};

/* A month name (full, or its first three letters with an optional '.'),
 * capitalised.  Returns the length. */
static size_t match_month(const scan *x, size_t i) {
  if (!is_upper(at(x, i))) return 0;
  for (int m = 0; m < 12; m++) {
    const char *name = k_months[m];
    size_t n = k_month_len[m], k = 0;
    while (k < n && lower(at(x, i + k)) == name[k]) k++;
    if (k == n && ends_word(x, i + n)) return n;
    if (k >= 3 && ends_word(x, i + 3)) return 3 + (at(x, i + 3) == '.');
  }
  return 0;
}

/* 1-2 digit day with an optional ordinal suffix. */
static size_t match_day(const scan *x, size_t i) {
  int d;
  size_t n = digits(x, i, 3, &d);
  if (n == 0 || n > 2 || d < 1 || d > 31) return 0;
  size_t p = i + n;
  static const char *const suf[4] = {"st", "nd", "rd", "th"};
  for (int k = 0; k < 4; k++)
    if (lower(at(x, p)) == suf[k][0] && lower(at(x, p + 1)) == suf[k][1] && ends_word(x, p + 2))
      return p + 2 - i;
  return ends_word(x, p) ? p - i : 0;
}

/* "Nov 28", "November 28th, 2026", "November 2026", "28 November 2026". */
static size_t match_text_date(const scan *x, size_t i) {
  size_t m = match_month(x, i);
  if (m) {
    size_t p = i + m;
    if (at(x, p) != ' ') return 0;
    size_t d = match_day(x, p + 1);
    if (d) {
      p += 1 + d;
      size_t q = p + (at(x, p) == ',');
      if (at(x, q) == ' ' && digits(x, q + 1, 5, NULL) == 4 && ends_word(x, q + 5)) p = q + 5;
      return p - i;
    }
    if (digits(x, p + 1, 5, NULL) == 4 && ends_word(x, p + 5)) return p + 5 - i;
    return 0;
  }
  size_t d = match_day(x, i);
  if (!d || at(x, i + d) != ' ') return 0;
  size_t p = i + d + 1;
  m = match_month(x, p);
  if (!m) return 0;
  p += m;
  if (at(x, p) == ' ' && digits(x, p + 1, 5, NULL) == 4 && ends_word(x, p + 5)) p += 5;
  return p - i;
}

static int starts_ci(const scan *x, size_t i, const char *w) {
  for (size_t k = 0; w[k]; k++)
    if (lower(at(x, i + k)) != w[k]) return 0;
  return 1;
}

static const char *const k_counters[] = {"request",  "req",     "turn",     "attempt",
                                         "retry",    "iteration", "invocation", "call",
                                         "counter",  "seq",     "sequence", "message",
                                         "msg",      "run"};

/* "request #42", "Turn 7", "attempt: 3", "call no. 12", "run number 5". */
static size_t match_counter(const scan *x, size_t i) {
  int first = lower(at(x, i));
  for (size_t c = 0; c < sizeof k_counters / sizeof *k_counters; c++) {
    const char *kw = k_counters[c];
    if (kw[0] != first) continue;
    size_t n = strlen(kw), k = 0;
    while (k < n && lower(at(x, i + k)) == kw[k]) k++;
    if (k != n || is_alnum(at(x, i + n))) continue;
    size_t p = i + n;
    int marked = 0;
    if (at(x, p) == ' ') p++;
    if (at(x, p) == '#') {
      p++;
      marked = 1;
    } else if (at(x, p) == ':') {
      p++;
      marked = 1;
    } else if (lower(at(x, p)) == 'n' && lower(at(x, p + 1)) == 'o' && at(x, p + 2) == '.') {
      p += 3;
      marked = 1;
    } else if (starts_ci(x, p, "number")) {
      p += 6;
      marked = 1;
    }
    if (at(x, p) == ' ') p++;
    /* a bare "turn 3" is counted too; "run"/"call"/"message" need a marker */
    if (!marked && (c >= 7)) return 0;
    size_t nd = digits(x, p, 12, NULL);
    if (nd == 0 || !ends_word(x, p + nd)) return 0;
    return p + nd - i;
  }
  return 0;
}

/* 10-digit (seconds, 2001-2033) or 13-digit (milliseconds) Unix time. */
static size_t match_epoch(const scan *x, size_t i) {
  size_t n = digits(x, i, 14, NULL);
  if ((n == 10 || n == 13) && at(x, i) == '1' && ends_word(x, i + n) && at(x, i + n) != '.')
    return n;
  return 0;
}

/* Long ids: a run of hex digits, or of the base64 / base64url alphabet. */
static size_t match_id(const scan *x, size_t i, uint32_t *kind) {
  size_t h = 0, b = 0;
  int hd = 0, hl = 0;
  while (is_hex(at(x, i + h))) {
    if (is_digit(at(x, i + h))) hd = 1;
    else hl = 1;
    h++;
  }
  size_t nd = 0, nu = 0, nl = 0, changes = 0;
  int prev = 0;
  while (is_b64(at(x, i + b))) {
    int c = at(x, i + b), cls = is_digit(c) ? 1 : is_upper(c) ? 2 : is_lower(c) ? 3 : 4;
    nd += cls == 1;
    nu += cls == 2;
    nl += cls == 3;
    if (prev && cls != prev) changes++;
    prev = cls;
    b++;
  }
  size_t end = b;
  while (at(x, i + end) == '=' && end < b + 2) end++;
  if (h >= 16 && h == b && hd && hl && ends_word(x, i + h)) {
    *kind = TKN_LINT_HEX_ID;
    return h;
  }
  /* random strings switch character class about every other character;
   * camelCase words and paths rarely do */
  if (b >= 20 && nd >= 2 && nu >= 2 && nl >= 2 && changes * 3 >= b && ends_word(x, i + end)) {
    *kind = TKN_LINT_BASE64_ID;
    return end;
  }
  return 0;
}

/* The longest volatile match starting at word start i, 0 if none. */
static size_t match_at(const scan *x, size_t i, uint32_t mask, uint32_t *kind) {
  size_t n;
  int c = at(x, i);
  if (is_hex(c) && (mask & (1u << TKN_LINT_UUID)) && (n = match_uuid(x, i))) {
    *kind = TKN_LINT_UUID;
    return n;
  }
  if (is_digit(c)) {
    uint32_t k;
    if ((n = match_iso(x, i, &k)) && (mask & (1u << k))) {
      *kind = k;
      return n;
    }
    if ((mask & (1u << TKN_LINT_DATE)) && ((n = match_dmy(x, i)) || (n = match_text_date(x, i)))) {
      *kind = TKN_LINT_DATE;
      return n;
    }
    if ((mask & (1u << TKN_LINT_TIME)) && (n = match_clock(x, i, 1))) {
      *kind = TKN_LINT_TIME;
      return n;
    }
    if ((mask & (1u << TKN_LINT_TIMESTAMP)) && (n = match_epoch(x, i))) {
      *kind = TKN_LINT_TIMESTAMP;
      return n;
    }
  } else if (is_upper(c) && (mask & (1u << TKN_LINT_DATE)) && (n = match_text_date(x, i))) {
    *kind = TKN_LINT_DATE;
    return n;
  }
  if (is_alnum(c) && (mask & (1u << TKN_LINT_COUNTER)) && (n = match_counter(x, i))) {
    *kind = TKN_LINT_COUNTER;
    return n;
  }
  if (is_b64(c)) {
    uint32_t k;
    if ((n = match_id(x, i, &k)) && (mask & (1u << k))) {
      *kind = k;
      return n;
    }
  }
  return 0;
}

int tki_prompt_lint(const char *text, size_t len, uint32_t mask, uint32_t segment,
                    tki_findings *out) {
  scan x = {(const unsigned char *)text, len};
  size_t i = 0;
  while (i < len) {
    int prev = i ? x.s[i - 1] : ' ';
    uint32_t kind = 0;
    size_t n = 0;
    if (!is_b64(prev) && prev != '.' && prev != ':') n = match_at(&x, i, mask, &kind);
    if (!n) {
      i++;
      continue;
    }
    int rc = tki_findings_push(out, kind, segment, TKN_PROMPT_NONE, i, n);
    if (rc) return rc;
    i += n;
  }
  return TKN_OK;
}

int tki_findings_push(tki_findings *f, uint32_t kind, uint32_t segment, uint32_t other,
                      uint64_t offset, uint64_t length) {
  if (tki_grow((void **)&f->v, &f->cap, f->n + 1, sizeof *f->v)) return tki_fail(TKN_ERR_NOMEM, "out of memory");
  tkn_prompt_finding *d = &f->v[f->n++];
  d->version = TKN_PROMPT_FINDING_VERSION;
  d->kind = kind;
  d->segment = segment;
  d->other = other;
  d->offset = offset;
  d->length = length;
  return TKN_OK;
}

int tkn_prompt_lint(const char *text, size_t len, uint32_t mask, tkn_prompt_finding **out,
                    size_t *n) {
  len = tki_len(text, len);
  if (!out || !n) return tki_fail_null("tkn_prompt_lint", !out ? "out" : "n");
  if (!text && len) return tki_fail(TKN_ERR_INVALID, "tkn_prompt_lint: text is NULL with a length");
  *out = NULL;
  *n = 0;
  if (len > TKN_PROMPT_MAX_TEXT) return tki_fail(TKN_ERR_LIMIT, "tkn_prompt_lint: over a limit");
  if (!tki_utf8_valid(text ? text : "", len, NULL)) return tki_fail(TKN_ERR_UTF8, "tkn_prompt_lint: invalid UTF-8");
  tki_findings f = {0};
  int rc = tki_prompt_lint(text ? text : "", len, mask, 0, &f);
  if (rc) {
    tki_free(f.v);
    return rc;
  }
  *out = f.v;
  *n = f.n;
  return TKN_OK;
}

const char *tkn_prompt_issue_name(uint32_t kind) {
  switch (kind) {
  case TKN_LINT_DATE: return "date";
  case TKN_LINT_TIME: return "time";
  case TKN_LINT_TIMESTAMP: return "timestamp";
  case TKN_LINT_UUID: return "uuid";
  case TKN_LINT_HEX_ID: return "hex id";
  case TKN_LINT_BASE64_ID: return "base64 id";
  case TKN_LINT_COUNTER: return "counter";
  case TKN_ISSUE_ORDER: return "order";
  default: return NULL;
  }
}
