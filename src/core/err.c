/* One-line error texts kept in a fixed buffer on each handle, so that
 * reporting a failure never allocates (it must work when memory is out). */
#include <stdio.h>
#include <string.h>

#include "../internal.h"

int tki_verr(char err[TKI_ERRLEN], int status, const char *fmt, va_list ap) {
  if (!err) return status;
  vsnprintf(err, TKI_ERRLEN, fmt, ap);
  for (char *p = err; *p; p++)
    if (*p == '\n' || *p == '\r') *p = ' ';
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
