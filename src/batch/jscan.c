/* The batch JSON skimmer (see jscan.h): RFC 8259 syntax, one pass, no tree.
 * UTF-8 is checked in the same pass, inside strings (JSON is ASCII outside). */
#include <stdint.h>
#include <string.h>

#include "../internal.h"
#include "jscan.h"

static int is_ws(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static size_t skip_ws(const char *s, size_t len, size_t i) {
  while (i < len && is_ws((unsigned char)s[i])) i++;
  return i;
}

static int hexdig(unsigned char c) {
  return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL
/* Non-zero if a byte of w is '"', '\\' or below 0x20 (may also be non-zero
 * for a word without one after a borrow; the byte loop then decides). */
static inline uint64_t has_special(uint64_t w) {
  uint64_t q = w ^ (ONES * '"'), b = w ^ (ONES * '\\');
  /* a byte >= 0x80 (start of a UTF-8 sequence, checked below) sets its own high bit */
  return (((q - ONES) & ~q) | ((b - ONES) & ~b) | ((w - ONES * 0x20) & ~w) | w) & HIGHS;
}

/* s[i] is the opening quote; returns the index past the closing quote, or
 * sets *why and returns (size_t)-1 with *err at the problem. */
static size_t scan_string(const char *s, size_t len, size_t i, size_t *err, const char **why) {
  i++;
  for (;;) {
    /* the common case: a run of plain bytes, eight at a time while no byte
     * is a quote, a backslash or a control character */
    while (i + 8 <= len) {
      uint64_t w;
      memcpy(&w, s + i, 8);
      if (has_special(w)) break;
      i += 8;
    }
    while (i < len) {
      unsigned char c = (unsigned char)s[i];
      if (c >= 0x80) {
        size_t n = tki_utf8_seq((const unsigned char *)s, len, i);
        if (!n) {
          *err = i;
          *why = TKI_JSCAN_BAD_UTF8;
          return (size_t)-1;
        }
        i += n;
        continue;
      }
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

/* An explicit stack keeps deep input off the C stack.  Each open container
 * carries the paths still to be matched inside it (a bit per path), the key
 * level its keys are compared at, and the paths whose value it is. */
#define JS_MAX_STACK 256

const char TKI_JSCAN_BAD_UTF8[] = "invalid UTF-8";

typedef struct js_frame {
  char kind;      /* '{' or '[' */
  uint32_t mask;  /* paths to compare this object's keys against */
  uint32_t rec;   /* paths whose value is this container */
  int level;      /* index into a path's keys for this object's keys */
  size_t start;
} js_frame;

static void record(tki_span *out, uint32_t rec, size_t start, size_t end) {
  for (int k = 0; rec; k++, rec >>= 1)
    if (rec & 1) {
      out[k].off = start;
      out[k].len = end - start;
    }
}

int tki_jscan_extract(const char *s, size_t len, int max_depth, const tki_jpath *paths,
                      int npaths, tki_span *out, size_t *pos, const char **why) {
  js_frame st[JS_MAX_STACK];
  int depth = 0;
  if (max_depth > JS_MAX_STACK) max_depth = JS_MAX_STACK;
  if (npaths > 32) npaths = 32;
  for (int k = 0; k < npaths; k++) out[k].off = out[k].len = 0;
  size_t err = 0;
  size_t i = skip_ws(s, len, 0);
  /* what the value about to be read is: */
  uint32_t cur_mask = npaths == 32 ? 0xFFFFFFFFu : ((1u << npaths) - 1); /* paths going deeper */
  uint32_t cur_rec = 0; /* paths ending at it */
  int cur_level = 0;
  for (;;) {
    if (i >= len) {
      err = len;
      *why = "unexpected end of input";
      goto fail;
    }
    size_t vstart = i;
    switch (s[i]) {
      case '{':
      case '[':
        if (depth >= max_depth) {
          err = i;
          *why = "nesting too deep";
          goto fail;
        }
        st[depth].kind = s[i];
        st[depth].mask = s[i] == '{' ? cur_mask : 0;
        st[depth].rec = cur_rec;
        st[depth].level = cur_level;
        st[depth].start = i;
        depth++;
        i = skip_ws(s, len, i + 1);
        if (i < len && (s[i] == '}' || s[i] == ']')) {
          if ((s[i] == '}') != (st[depth - 1].kind == '{')) {
            err = i;
            *why = "mismatched bracket";
            goto fail;
          }
          i++;
          depth--;
          record(out, st[depth].rec, st[depth].start, i);
          goto after_value;
        }
        if (st[depth - 1].kind == '{') goto object_key;
        cur_mask = cur_rec = 0; /* paths do not go through arrays */
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
    if (cur_rec) record(out, cur_rec, vstart, i);
  after_value:
    if (depth == 0) break;
    i = skip_ws(s, len, i);
    if (i >= len) {
      err = len;
      *why = "unexpected end of input";
      goto fail;
    }
    if (s[i] == ',') {
      i = skip_ws(s, len, i + 1);
      if (st[depth - 1].kind == '{') goto object_key;
      cur_mask = cur_rec = 0;
      continue;
    }
    if ((s[i] == '}' && st[depth - 1].kind == '{') || (s[i] == ']' && st[depth - 1].kind == '[')) {
      i++;
      depth--;
      record(out, st[depth].rec, st[depth].start, i);
      goto after_value;
    }
    err = i;
    *why = st[depth - 1].kind == '{' ? "expected ',' or '}'" : "expected ',' or ']'";
    goto fail;
  object_key:
    if (i >= len || s[i] != '"') {
      err = i < len ? i : len;
      *why = "expected a string key";
      goto fail;
    }
    {
      size_t kstart = i + 1;
      i = scan_string(s, len, i, &err, why);
      if (i == (size_t)-1) goto fail;
      uint32_t m = st[depth - 1].mask;
      int level = st[depth - 1].level;
      cur_mask = cur_rec = 0;
      cur_level = level + 1;
      for (int k = 0; m; k++, m >>= 1) {
        if (!(m & 1)) continue;
        const char *key = paths[k].keys[level];
        size_t klen = strlen(key);
        if (klen == i - 1 - kstart && memcmp(key, s + kstart, klen) == 0) {
          if (paths[k].n == level + 1) cur_rec |= 1u << k;
          else cur_mask |= 1u << k;
        }
      }
    }
    i = skip_ws(s, len, i);
    if (i >= len || s[i] != ':') {
      err = i < len ? i : len;
      *why = "expected ':'";
      goto fail;
    }
    i = skip_ws(s, len, i + 1);
  }
  i = skip_ws(s, len, i);
  if (i < len) {
    err = i;
    *why = "unexpected text after the JSON value";
    goto fail;
  }
  return 0;
fail:
  *pos = err;
  return -1;
}

int tki_jscan_is_null(const char *s, tki_span v) {
  return v.len == 4 && memcmp(s + v.off, "null", 4) == 0;
}
