/* The thread-local last error behind tkn_error_last(): one fixed slot per
 * thread, so recording a failure never allocates (it must work when memory
 * is out) and threads sharing a handle never see each other's errors. */
#include <stdio.h>
#include <string.h>

#include "../internal.h"

typedef struct tki_error_slot {
  tkn_error pub;
  char message[TKI_ERRLEN];
  char path[TKI_PATHLEN];
} tki_error_slot;

static _Thread_local tki_error_slot g_slot = {{TKN_OK, "", -1, ""}, "", ""};
static _Thread_local unsigned long g_seq; /* failures recorded on this thread */

unsigned long tki_error_seq(void) { return g_seq; }

static void one_line(char *s) {
  for (; *s; s++)
    if (*s == '\n' || *s == '\r') *s = ' ';
}

static void point_at_own_text(void) {
  g_slot.pub.message = g_slot.message;
  g_slot.pub.path = g_slot.path;
}

const tkn_error *tkn_error_last(void) {
  point_at_own_text();
  return &g_slot.pub;
}

void tkn_error_clear(void) {
  g_slot.pub.status = TKN_OK;
  g_slot.pub.offset = -1;
  g_slot.message[0] = '\0';
  g_slot.path[0] = '\0';
  point_at_own_text();
}

int tki_vfail(int status, const char *fmt, va_list ap) {
  /* Format into a scratch copy first: an argument may be the current message
   * (a caller prefixing what a lower layer said). */
  char text[TKI_ERRLEN];
  vsnprintf(text, sizeof text, fmt, ap);
  one_line(text);
  /* A caller quoting the failure just recorded ("budget: %s") adds context to
   * the same fault: keep where it was. */
  int same_fault = g_slot.message[0] && strstr(text, g_slot.message) != NULL;
  memcpy(g_slot.message, text, sizeof text);
  g_slot.pub.status = status;
  g_seq++;
  if (!same_fault) {
    g_slot.pub.offset = -1;
    g_slot.path[0] = '\0';
  }
  point_at_own_text();
  return status;
}

int tki_fail(int status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  tki_vfail(status, fmt, ap);
  va_end(ap);
  return status;
}

int tki_fail_null(const char *fn, const char *name) {
  return tki_fail(TKN_ERR_INVALID, "%s: %s is NULL", fn, name);
}

int tki_fail_at(int status, int64_t offset, const char *path, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  tki_vfail(status, fmt, ap);
  va_end(ap);
  tki_fail_where(offset, path);
  return status;
}

void tki_fail_where(int64_t offset, const char *path) {
  if (offset >= 0) g_slot.pub.offset = offset;
  if (path && path[0]) {
    char copy[TKI_PATHLEN];
    snprintf(copy, sizeof copy, "%s", path); /* path may point into the slot */
    one_line(copy);
    memcpy(g_slot.path, copy, sizeof copy);
  }
}

int tki_fail_prefix(const char *fmt, ...) {
  char head[TKI_ERRLEN];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(head, sizeof head, fmt, ap);
  va_end(ap);
  char text[TKI_ERRLEN];
  size_t n = strlen(head), m = strlen(g_slot.message);
  if (m > sizeof text - 1 - n) m = sizeof text - 1 - n; /* head is < sizeof text */
  memcpy(text, head, n);
  memcpy(text + n, g_slot.message, m);
  text[n + m] = '\0';
  one_line(text);
  memcpy(g_slot.message, text, sizeof text);
  point_at_own_text();
  return g_slot.pub.status;
}

int tki_error_status(void) { return g_slot.pub.status; }

const char *tki_error_message(void) { return g_slot.message; }

/* Handle-buffer form kept while the parts move to the channel: records the
 * failure in the channel and, if err is not NULL, in the handle's buffer. */
int tki_verr(char err[TKI_ERRLEN], int status, const char *fmt, va_list ap) {
  tki_vfail(status, fmt, ap);
  if (err) memcpy(err, g_slot.message, TKI_ERRLEN);
  return status;
}

int tki_err(char err[TKI_ERRLEN], int status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  tki_verr(err, status, fmt, ap);
  va_end(ap);
  return status;
}

void tki_copy_err(char *dst, size_t dstlen, const char *src) {
  if (!dst || dstlen == 0) return;
  if (!src) src = "";
  size_t n = strlen(src);
  if (n >= dstlen) n = dstlen - 1;
  memcpy(dst, src, n);
  dst[n] = '\0';
}

/* "/items/0/a b" -> "$.items[0]['a b']": the instance paths schema
 * validation records, in the notation tkn_error.path uses everywhere. */
void tki_pointer_to_jsonpath(const char *ptr, char *out, size_t cap) {
  tki_buf b;
  tki_buf_init(&b);
  tki_buf_putc(&b, '$');
  const char *p = ptr ? ptr : "";
  while (*p == '/') {
    const char *s = ++p;
    while (*p && *p != '/') p++;
    size_t n = (size_t)(p - s);
    int digits = n > 0, ident = n > 0 && !(s[0] >= '0' && s[0] <= '9');
    for (size_t i = 0; i < n; i++) {
      char c = s[i];
      int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_';
      if (!(c >= '0' && c <= '9')) digits = 0;
      if (!alnum) ident = 0;
    }
    if (digits) {
      tki_buf_putc(&b, '[');
      tki_buf_append(&b, s, n);
      tki_buf_putc(&b, ']');
    } else if (ident) {
      tki_buf_putc(&b, '.');
      tki_buf_append(&b, s, n);
    } else {
      tki_buf_puts(&b, "['");
      for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '~' && i + 1 < n && (s[i + 1] == '0' || s[i + 1] == '1')) {
          c = s[++i] == '0' ? '~' : '/';
        }
        if (c == '\'' || c == '\\') tki_buf_putc(&b, '\\');
        tki_buf_putc(&b, c);
      }
      tki_buf_puts(&b, "']");
    }
  }
  snprintf(out, cap, "%s", b.data && !b.failed ? b.data : "");
  tki_buf_free(&b);
}

int tkn_error_set(int status, const char *message) {
  return tki_fail(status, "%s", message ? message : tkn_strerror(status));
}
