/* The batch JSON skimmer (see jscan.h): RFC 8259 syntax, one pass, no tree.
 * UTF-8 is checked separately (tki_utf8_valid) before a line is skimmed. */
#include <string.h>

#include "jscan.h"

static int is_ws(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static size_t skip_ws(const char *s, size_t len, size_t i) {
  while (i < len && is_ws((unsigned char)s[i])) i++;
  return i;
}

static int hexdig(unsigned char c) {
  return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

/* s[i] is the opening quote; returns the index past the closing quote, or
 * sets *why and returns (size_t)-1 with *err at the problem. */
static size_t scan_string(const char *s, size_t len, size_t i, size_t *err, const char **why) {
  i++;
  for (;;) {
    /* the common case: a run of plain bytes */
    while (i < len) {
      unsigned char c = (unsigned char)s[i];
      if (c == '"' || c == '\\' || c < 0x20) break;
      i++;
    }
    if (i >= len) {
      *err = len;
      *why = "unterminated string";
      return (size_t)-1;
    }
    unsigned char c = (unsigned char)s[i];
    if (c == '"') return i + 1;
    if (c < 0x20) {
      *err = i;
      *why = "control character in a string";
      return (size_t)-1;
    }
    /* backslash */
    if (i + 1 >= len) {
      *err = len;
      *why = "unterminated string";
      return (size_t)-1;
    }
    switch (s[i + 1]) {
      case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
        i += 2;
        break;
      case 'u':
        if (i + 5 >= len || !hexdig((unsigned char)s[i + 2]) || !hexdig((unsigned char)s[i + 3]) ||
            !hexdig((unsigned char)s[i + 4]) || !hexdig((unsigned char)s[i + 5])) {
          *err = i;
          *why = "bad \\u escape";
          return (size_t)-1;
        }
        i += 6;
        break;
      default:
        *err = i;
        *why = "bad escape in a string";
        return (size_t)-1;
    }
  }
}

static size_t scan_number(const char *s, size_t len, size_t i, size_t *err, const char **why) {
  size_t start = i;
  if (i < len && s[i] == '-') i++;
  if (i < len && s[i] == '0') {
    i++;
  } else if (i < len && s[i] >= '1' && s[i] <= '9') {
    while (i < len && s[i] >= '0' && s[i] <= '9') i++;
  } else {
    goto bad;
  }
  if (i < len && s[i] == '.') {
    i++;
    if (i >= len || s[i] < '0' || s[i] > '9') goto bad;
    while (i < len && s[i] >= '0' && s[i] <= '9') i++;
  }
  if (i < len && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    if (i < len && (s[i] == '+' || s[i] == '-')) i++;
    if (i >= len || s[i] < '0' || s[i] > '9') goto bad;
    while (i < len && s[i] >= '0' && s[i] <= '9') i++;
  }
  return i;
bad:
  *err = i < len ? i : start;
  *why = "bad number";
  return (size_t)-1;
}

static size_t scan_literal(const char *s, size_t len, size_t i, const char *lit, size_t *err,
                           const char **why) {
  size_t n = strlen(lit);
  if (len - i < n || memcmp(s + i, lit, n) != 0) {
    *err = i;
    *why = "unexpected character";
    return (size_t)-1;
  }
  return i + n;
}

/* An explicit stack of container kinds keeps deep input off the C stack. */
#define JS_MAX_STACK 256

int tki_jscan_value(const char *s, size_t len, size_t *pos, size_t *start, int max_depth,
                    const char **why) {
  char stack[JS_MAX_STACK];
  int depth = 0;
  if (max_depth > JS_MAX_STACK) max_depth = JS_MAX_STACK;
  size_t err = 0;
  size_t i = skip_ws(s, len, *pos);
  if (start) *start = i;
  /* expecting a value at i */
  for (;;) {
    if (i >= len) {
      err = len;
      *why = "unexpected end of input";
      goto fail;
    }
    switch (s[i]) {
      case '{':
      case '[':
        if (depth >= max_depth) {
          err = i;
          *why = "nesting too deep";
          goto fail;
        }
        stack[depth++] = s[i];
        i = skip_ws(s, len, i + 1);
        if (i < len && (s[i] == '}' || s[i] == ']')) {
          if ((s[i] == '}') != (stack[depth - 1] == '{')) {
            err = i;
            *why = "mismatched bracket";
            goto fail;
          }
          depth--;
          i++;
          goto after_value;
        }
        if (stack[depth - 1] == '{') goto object_key;
        continue;
      case '"': i = scan_string(s, len, i, &err, why); break;
      case 't': i = scan_literal(s, len, i, "true", &err, why); break;
      case 'f': i = scan_literal(s, len, i, "false", &err, why); break;
      case 'n': i = scan_literal(s, len, i, "null", &err, why); break;
      default:
        if (s[i] == '-' || (s[i] >= '0' && s[i] <= '9')) {
          i = scan_number(s, len, i, &err, why);
        } else {
          err = i;
          *why = "unexpected character";
          goto fail;
        }
    }
    if (i == (size_t)-1) goto fail;
  after_value:
    if (depth == 0) {
      *pos = i;
      return 0;
    }
    i = skip_ws(s, len, i);
    if (i >= len) {
      err = len;
      *why = "unexpected end of input";
      goto fail;
    }
    if (s[i] == ',') {
      i = skip_ws(s, len, i + 1);
      if (stack[depth - 1] == '{') goto object_key;
      continue;
    }
    if ((s[i] == '}' && stack[depth - 1] == '{') || (s[i] == ']' && stack[depth - 1] == '[')) {
      depth--;
      i++;
      goto after_value;
    }
    err = i;
    *why = stack[depth - 1] == '{' ? "expected ',' or '}'" : "expected ',' or ']'";
    goto fail;
  object_key:
    if (i >= len || s[i] != '"') {
      err = i < len ? i : len;
      *why = "expected a string key";
      goto fail;
    }
    i = scan_string(s, len, i, &err, why);
    if (i == (size_t)-1) goto fail;
    i = skip_ws(s, len, i);
    if (i >= len || s[i] != ':') {
      err = i < len ? i : len;
      *why = "expected ':'";
      goto fail;
    }
    i = skip_ws(s, len, i + 1);
  }
fail:
  *pos = err;
  return -1;
}

int tki_jscan_document(const char *s, size_t len, int max_depth, size_t *pos, const char **why) {
  size_t i = 0;
  if (tki_jscan_value(s, len, &i, NULL, max_depth, why)) {
    *pos = i;
    return -1;
  }
  i = skip_ws(s, len, i);
  if (i < len) {
    *pos = i;
    *why = "unexpected text after the JSON value";
    return -1;
  }
  return 0;
}

int tki_jscan_fields(const char *s, tki_span obj, const char *const *keys, size_t n,
                     tki_span *out) {
  for (size_t k = 0; k < n; k++) out[k].off = out[k].len = 0;
  size_t end = obj.off + obj.len;
  size_t i = skip_ws(s, end, obj.off);
  if (i >= end || s[i] != '{') return -1;
  i = skip_ws(s, end, i + 1);
  const char *why;
  size_t err;
  while (i < end && s[i] == '"') {
    size_t kstart = i + 1;
    size_t kend = scan_string(s, end, i, &err, &why);
    if (kend == (size_t)-1) return -1;
    size_t klen = kend - 1 - kstart;
    i = skip_ws(s, end, kend);
    if (i >= end || s[i] != ':') return -1;
    i++;
    size_t vstart;
    if (tki_jscan_value(s, end, &i, &vstart, JS_MAX_STACK, &why)) return -1;
    for (size_t k = 0; k < n; k++) {
      if (strlen(keys[k]) == klen && memcmp(keys[k], s + kstart, klen) == 0) {
        out[k].off = vstart;
        out[k].len = i - vstart;
      }
    }
    i = skip_ws(s, end, i);
    if (i < end && s[i] == ',') i = skip_ws(s, end, i + 1);
  }
  return 0;
}

int tki_jscan_is_null(const char *s, tki_span v) {
  return v.len == 4 && memcmp(s + v.off, "null", 4) == 0;
}
