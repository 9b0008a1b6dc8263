/* JSON parsing with the checks every reader of outside input needs: size,
 * NUL bytes, UTF-8, nesting depth and trailing garbage, each reported with
 * its line, column and byte offset, before cJSON sees the text. */
#include <stdio.h>
#include <string.h>

#include "../internal.h"

void tki_line_col(const char *text, size_t len, size_t offset, size_t *line, size_t *col) {
  size_t l = 1, c = 1;
  if (offset > len) offset = len;
  for (size_t i = 0; i < offset; i++) {
    if (text[i] == '\n') {
      l++;
      c = 1;
    } else if (((unsigned char)text[i] & 0xC0) != 0x80) {
      c++;
    }
  }
  *line = l;
  *col = c;
}

static int err_at(char err[TKI_ERRLEN], int status, const char *what, const char *json,
                  size_t len, size_t off, const char *msg) {
  size_t line, col;
  tki_line_col(json, len, off, &line, &col);
  tki_err(err, status, "%s: %s at line %zu, column %zu (byte %zu)", what, msg, line, col, off);
  tki_fail_where((int64_t)off, NULL);
  return status;
}

/* Depth of nesting outside strings; stops at the first level past max. */
static int check_depth(const char *json, size_t len, int max_depth, size_t *where) {
  int depth = 0, in_str = 0;
  for (size_t i = 0; i < len; i++) {
    char c = json[i];
    if (in_str) {
      if (c == '\\')
        i++;
      else if (c == '"')
        in_str = 0;
      continue;
    }
    if (c == '"') {
      in_str = 1;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) {
        *where = i;
        return 0;
      }
    } else if (c == ']' || c == '}') {
      depth--;
    }
  }
  return 1;
}

static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* ---- what cJSON would lose ----
 * cJSON reads every number into a double and every string into a C string, so
 * 1234567890123456789 and 1234567890123456800 become one value and "a\u0000b"
 * becomes "a". tki_json_parse keeps both apart: a number that a double may not
 * hold exactly keeps its text in the node's valuestring (unused by cJSON for
 * numbers, freed by cJSON_Delete), and an escaped NUL inside a string or key
 * is read as the two bytes C0 80, which never occur in checked UTF-8 input,
 * so strings stay C strings without two different ones becoming equal. */

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* Length of the JSON number at s (strict grammar), 0 if malformed; *exact is
 * 1 when a double holds its value exactly (an integer of at most 15 digits). */
static size_t number_len(const char *s, size_t n, int *exact) {
  size_t i = 0, digits = 0;
  int plain = 1;
  if (i < n && s[i] == '-') i++;
  if (i >= n || !is_digit(s[i])) return 0;
  if (s[i] == '0') {
    i++;
    digits = 1;
  } else {
    while (i < n && is_digit(s[i])) i++, digits++;
  }
  if (i < n && s[i] == '.') {
    plain = 0;
    if (++i >= n || !is_digit(s[i])) return 0;
    while (i < n && is_digit(s[i])) i++;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    plain = 0;
    i++;
    if (i < n && (s[i] == '+' || s[i] == '-')) i++;
    if (i >= n || !is_digit(s[i])) return 0;
    while (i < n && is_digit(s[i])) i++;
  }
  if (i < n && (is_digit(s[i]) || s[i] == '.' || s[i] == 'e' || s[i] == 'E' || s[i] == '+' ||
                s[i] == '-'))
    return 0; /* "01", "1.2.3", "1e5+3" */
  *exact = plain && digits <= 15;
  return i;
}

static int is_nul_escape(const char *s, size_t n, size_t i) {
  return i + 6 <= n && s[i + 1] == 'u' && memcmp(s + i + 2, "0000", 4) == 0;
}

/* Walks the text once: counts escaped NULs and inexact numbers, and checks
 * every number against the JSON grammar (cJSON takes "01" or "1."). */
static int scan_values(const char *s, size_t n, size_t *nuls, size_t *inexact, size_t *bad) {
  *nuls = *inexact = 0;
  for (size_t i = 0; i < n;) {
    char c = s[i];
    if (c == '"') {
      for (i++; i < n && s[i] != '"'; i++)
        if (s[i] == '\\') *nuls += is_nul_escape(s, n, i), i++;
      i++;
    } else if (c == '-' || is_digit(c)) {
      int exact = 0;
      size_t l = number_len(s + i, n - i, &exact);
      if (!l) {
        *bad = i;
        return 0;
      }
      *inexact += !exact;
      i += l;
    } else {
      i++;
    }
  }
  return 1;
}

/* The text with each escaped NUL inside a string replaced by C0 80. When
 * copy_off is not SIZE_MAX, returns instead the offset in s of byte copy_off
 * of that copy (to report cJSON's errors where the user wrote them). */
static size_t mask_nuls(const char *s, size_t n, char *out, size_t copy_off) {
  size_t o = 0;
  int in_str = 0;
  for (size_t i = 0; i < n; i++) {
    if (copy_off != SIZE_MAX && o >= copy_off) return i;
    char c = s[i];
    if (in_str && c == '\\' && is_nul_escape(s, n, i)) {
      if (out) out[o] = (char)0xC0, out[o + 1] = (char)0x80;
      o += 2;
      i += 5;
      continue;
    }
    if (out) out[o] = c;
    o++;
    if (in_str && c == '\\' && i + 1 < n) {
      if (out) out[o] = s[i + 1];
      o++;
      i++;
    } else if (c == '"') {
      in_str = !in_str;
    }
  }
  return copy_off != SIZE_MAX ? n : o;
}

typedef struct {
  const char *s;
  size_t n, i;
} num_cursor;

/* The next number in the text after the cursor (strings skipped). */
static size_t next_number(num_cursor *c, size_t *len, int *exact) {
  while (c->i < c->n) {
    char ch = c->s[c->i];
    if (ch == '"') {
      for (c->i++; c->i < c->n && c->s[c->i] != '"'; c->i++)
        if (c->s[c->i] == '\\') c->i++;
      c->i++;
    } else if (ch == '-' || is_digit(ch)) {
      size_t at = c->i;
      *len = number_len(c->s + at, c->n - at, exact);
      c->i += *len ? *len : 1;
      return at;
    } else {
      c->i++;
    }
  }
  *len = 0;
  *exact = 1;
  return c->n;
}

/* Numbers meet the text in document order: the tree, walked depth first in
 * child order, lists them as the text does. */
static int keep_number_text(cJSON *v, num_cursor *c) {
  for (; v; v = v->next) {
    if (cJSON_IsNumber(v)) {
      size_t len;
      int exact;
      size_t at = next_number(c, &len, &exact);
      if (!exact && len && !v->valuestring) {
        /* cJSON_Delete frees it: cJSON's allocator, not ours */
        v->valuestring = cJSON_malloc(len + 1);
        if (!v->valuestring) return TKN_ERR_NOMEM;
        memcpy(v->valuestring, c->s + at, len);
        v->valuestring[len] = '\0';
      }
    } else if (v->child) {
      int rc = keep_number_text(v->child, c);
      if (rc) return rc;
    }
  }
  return TKN_OK;
}

/* ---- syntax ----
 * cJSON reports a failed allocation like a syntax error, and its allocator is
 * not ours to watch; so when it fails, the text's syntax decides which it
 * was.  The check of the first value accepts exactly what cJSON does after
 * the checks above (numbers, NULs, UTF-8 and depth are already strict): like
 * cJSON, any byte up to 0x20 is white space and raw control bytes may stand
 * inside strings; a \\u escape of a surrogate must be a valid pair. */

static size_t skip_ws(const char *s, size_t n, size_t i) {
  while (i < n && (unsigned char)s[i] <= 0x20) i++;
  return i;
}

static long hex4(const char *s, size_t n, size_t i) {
  long v = 0;
  for (size_t k = i; k < i + 4; k++) {
    if (k >= n) return -1;
    char c = s[k];
    int d = is_digit(c) ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                                  : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

/* The end of the string starting at s[i] == '"', or 0 if malformed. */
static size_t string_end(const char *s, size_t n, size_t i) {
  for (i++; i < n; i++) {
    if (s[i] == '"') return i + 1;
    if (s[i] != '\\') continue;
    if (++i >= n) return 0;
    if (s[i] != 'u') {
      if (!strchr("\"\\/bfnrt", s[i])) return 0;
      continue;
    }
    long u = hex4(s, n, i + 1);
    if (u < 0 || (u >= 0xDC00 && u <= 0xDFFF)) return 0;
    i += 4;
    if (u >= 0xD800 && u <= 0xDBFF) { /* a high surrogate wants its low half */
      if (i + 2 >= n || s[i + 1] != '\\' || s[i + 2] != 'u') return 0;
      long lo = hex4(s, n, i + 3);
      if (lo < 0xDC00 || lo > 0xDFFF) return 0;
      i += 6;
    }
  }
  return 0;
}

/* The end of the value starting at or after s[i], or 0 if malformed. */
static size_t value_end(const char *s, size_t n, size_t i) {
  i = skip_ws(s, n, i);
  if (i >= n) return 0;
  char c = s[i];
  if (c == '"') return string_end(s, n, i);
  if (c == '-' || is_digit(c)) {
    int exact;
    size_t l = number_len(s + i, n - i, &exact);
    return l ? i + l : 0;
  }
  static const char *const words[] = {"true", "false", "null"};
  for (int k = 0; k < 3; k++) {
    size_t wl = strlen(words[k]);
    if (n - i >= wl && memcmp(s + i, words[k], wl) == 0) return i + wl;
  }
  if (c != '[' && c != '{') return 0;
  char close = c == '[' ? ']' : '}';
  i = skip_ws(s, n, i + 1);
  if (i < n && s[i] == close) return i + 1;
  for (;;) {
    if (close == '}') {
      i = skip_ws(s, n, i);
      if (i >= n || s[i] != '"' || !(i = string_end(s, n, i))) return 0;
      i = skip_ws(s, n, i);
      if (i >= n || s[i] != ':') return 0;
      i++;
    }
    if (!(i = value_end(s, n, i))) return 0;
    i = skip_ws(s, n, i);
    if (i >= n) return 0;
    if (s[i] == close) return i + 1;
    if (s[i] != ',') return 0;
    i++;
  }
}

static int syntax_ok(const char *s, size_t n) { return value_end(s, n, 0) != 0; }

size_t tki_json_unmask_nuls(char *s, size_t len) {
  size_t o = 0;
  for (size_t i = 0; i < len; i++) {
    if ((unsigned char)s[i] == 0xC0 && i + 1 < len && (unsigned char)s[i + 1] == 0x80) {
      s[o++] = '\0';
      i++;
    } else {
      s[o++] = s[i];
    }
  }
  if (o < len) s[o] = '\0';
  return o;
}

int tki_json_parse(const char *json, size_t len, size_t max_len, int max_depth,
                   const char *what, cJSON **out, char err[TKI_ERRLEN]) {
  *out = NULL;
  if (!json && len) return tki_err(err, TKN_ERR_INVALID, "%s: json is NULL with a length", what);
  if (len > max_len)
    return tki_err(err, TKN_ERR_LIMIT, "%s: %zu bytes exceeds the limit of %zu bytes", what,
                   len, max_len);
  const char *nul = len ? memchr(json, '\0', len) : NULL;
  if (nul)
    return err_at(err, TKN_ERR_PARSE, what, json, len, (size_t)(nul - json), "NUL byte");
  size_t bad;
  if (!tki_utf8_valid(json, len, &bad))
    return err_at(err, TKN_ERR_UTF8, what, json, len, bad, "invalid UTF-8");
  if (max_depth > 900) max_depth = 900; /* below cJSON's own nesting limit */
  if (!check_depth(json, len, max_depth, &bad)) {
    char msg[64];
    snprintf(msg, sizeof msg, "nesting deeper than %d levels", max_depth);
    return err_at(err, TKN_ERR_LIMIT, what, json, len, bad, msg);
  }
  size_t start = 0;
  while (start < len && is_ws(json[start])) start++;
  if (start == len) return err_at(err, TKN_ERR_PARSE, what, json, len, len, "empty input");
  size_t nuls, inexact;
  if (!scan_values(json, len, &nuls, &inexact, &bad))
    return err_at(err, TKN_ERR_PARSE, what, json, len, bad, "malformed number");
  const char *text = json;
  size_t text_len = len;
  char *masked = NULL;
  if (nuls) {
    text_len = len - 4 * nuls;
    masked = tki_malloc(text_len + 1);
    if (!masked) return tki_err(err, TKN_ERR_NOMEM, "%s: out of memory while parsing", what);
    mask_nuls(json, len, masked, SIZE_MAX);
    masked[text_len] = '\0';
    text = masked;
  }
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts(text, text_len, &end, 0);
  size_t off = end && end >= text && end <= text + text_len ? (size_t)(end - text) : 0;
  if (masked) off = mask_nuls(json, len, NULL, off);
  tki_free(masked);
  if (!root) {
    /* the original text: masking only turns an escape inside a string into
     * two raw bytes, so its syntax is the same, and `masked` is freed */
    if (syntax_ok(json, len))
      return tki_err(err, TKN_ERR_NOMEM, "%s: out of memory while parsing", what);
    return err_at(err, TKN_ERR_PARSE, what, json, len, off, "malformed JSON");
  }
  while (off < len && is_ws(json[off])) off++;
  if (off < len) {
    cJSON_Delete(root);
    return err_at(err, TKN_ERR_PARSE, what, json, len, off, "unexpected text after the JSON value");
  }
  if (inexact) {
    num_cursor c = {json, len, 0};
    if (keep_number_text(root, &c)) {
      cJSON_Delete(root);
      return tki_err(err, TKN_ERR_NOMEM, "%s: out of memory while parsing", what);
    }
  }
  *out = root;
  return TKN_OK;
}
