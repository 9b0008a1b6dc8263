/* A growable byte buffer whose failures are sticky: a writer appends freely
 * and checks once, at tki_buf_steal(). */
#include <stdio.h>
#include <string.h>

#include "../internal.h"

void tki_buf_init(tki_buf *b) { memset(b, 0, sizeof *b); }

void tki_buf_free(tki_buf *b) {
  tki_free(b->data);
  tki_buf_init(b);
}

int tki_buf_reserve(tki_buf *b, size_t extra) {
  if (b->failed) return tki_fail(TKN_ERR_NOMEM, "out of memory");
  size_t need;
  if (__builtin_add_overflow(b->len, extra, &need) || need == SIZE_MAX) {
    b->failed = 1;
    return TKN_ERR_OVERFLOW;
  }
  need += 1; /* room for the NUL */
  if (need <= b->cap) return TKN_OK;
  size_t ncap = b->cap ? b->cap : 64;
  while (ncap < need) ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
  char *p = tki_realloc(b->data, ncap);
  if (!p) {
    b->failed = 1;
    return tki_fail(TKN_ERR_NOMEM, "out of memory");
  }
  b->data = p;
  b->cap = ncap;
  return TKN_OK;
}

int tki_buf_append(tki_buf *b, const void *data, size_t len) {
  int rc = tki_buf_reserve(b, len);
  if (rc) return rc;
  if (len) memcpy(b->data + b->len, data, len);
  b->len += len;
  b->data[b->len] = '\0';
  return TKN_OK;
}

int tki_buf_puts(tki_buf *b, const char *s) { return tki_buf_append(b, s, strlen(s)); }

int tki_buf_putc(tki_buf *b, char c) { return tki_buf_append(b, &c, 1); }

int tki_buf_printf(tki_buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char small[256];
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) {
    b->failed = 1;
    return TKN_ERR_INVALID;
  }
  if ((size_t)n < sizeof small) return tki_buf_append(b, small, (size_t)n);
  int rc = tki_buf_reserve(b, (size_t)n);
  if (rc) return rc;
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
  return TKN_OK;
}

int tki_buf_json_string(tki_buf *b, const char *s, size_t len) {
  static const char hex[] = "0123456789abcdef";
  int rc = tki_buf_reserve(b, len + 2);
  if (rc) return rc;
  tki_buf_putc(b, '"');
  size_t start = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c != '"' && c != '\\' && c != 0xC0) continue;
    if (c == 0xC0 && (i + 1 >= len || (unsigned char)s[i + 1] != 0x80)) continue;
    tki_buf_append(b, s + start, i - start);
    start = i + 1;
    if (c == 0xC0) { /* a NUL as tki_json_parse keeps it inside a C string */
      c = 0;
      start = ++i + 1;
    }
    switch (c) {
      case '"': tki_buf_append(b, "\\\"", 2); break;
      case '\\': tki_buf_append(b, "\\\\", 2); break;
      case '\n': tki_buf_append(b, "\\n", 2); break;
      case '\r': tki_buf_append(b, "\\r", 2); break;
      case '\t': tki_buf_append(b, "\\t", 2); break;
      case '\b': tki_buf_append(b, "\\b", 2); break;
      case '\f': tki_buf_append(b, "\\f", 2); break;
      default: {
        char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        tki_buf_append(b, esc, 6);
      }
    }
  }
  tki_buf_append(b, s + start, len - start);
  return tki_buf_putc(b, '"');
}

char *tki_buf_steal(tki_buf *b, size_t *len) {
  if (b->failed) {
    tki_buf_free(b);
    return NULL;
  }
  if (!b->data && tki_buf_reserve(b, 0)) {
    tki_buf_free(b);
    return NULL;
  }
  b->data[b->len] = '\0';
  char *p = b->data;
  if (len) *len = b->len;
  tki_buf_init(b);
  return p;
}

int tki_buf_give(tki_buf *b, char **out, size_t *out_len, const char *what) {
  *out = tki_buf_steal(b, out_len);
  if (!*out) return tki_fail(TKN_ERR_NOMEM, "%s: out of memory", what);
  return TKN_OK;
}
