/* Versions, status texts and the process-wide allocator hook. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "../internal.h"

static tkn_allocator g_alloc = TKN_ALLOCATOR_INIT;

static const char *const g_status_text[TKN_ERR__COUNT] = {
    [TKN_OK] = "ok",
    [TKN_ERR_NOMEM] = "out of memory",
    [TKN_ERR_INVALID] = "invalid argument",
    [TKN_ERR_PARSE] = "parse error",
    [TKN_ERR_UTF8] = "invalid UTF-8",
    [TKN_ERR_LIMIT] = "limit exceeded",
    [TKN_ERR_NOT_FOUND] = "not found",
    [TKN_ERR_BUDGET] = "budget exceeded",
    [TKN_ERR_CALLBACK] = "callback failed",
    [TKN_ERR_UNSUPPORTED] = "unsupported",
    [TKN_ERR_SCHEMA] = "does not conform to the schema",
    [TKN_ERR_STATE] = "not allowed in the current state",
    [TKN_ERR_OVERFLOW] = "integer overflow",
    [TKN_ERR_DUPLICATE] = "duplicate",
    [TKN_ERR_IO] = "input/output error",
    [TKN_ERR_SPECIAL_TOKEN] = "special token not allowed",
    [TKN_ERR_VERSION] = "unknown options version",
    [TKN_ERR_TOO_SMALL] = "buffer too small",
    [TKN_ERR_UNAVAILABLE] = "unavailable",
    [TKN_ERR_CANCELLED] = "cancelled",
    [TKN_ERR_AUTH] = "authentication or permission refused",
};

unsigned tkn_version_number(void) { return TKN_VERSION_NUMBER; }

const char *tkn_version_string(void) { return TKN_VERSION_STRING; }

const char *tkn_strerror(int status) {
  if (status < 0 || status >= TKN_ERR__COUNT || !g_status_text[status])
    return "unknown status code";
  return g_status_text[status];
}

TKI_DEFINE_INIT(tkn_allocator_init, tkn_allocator, alloc, TKN_ALLOCATOR_VERSION,
                TKN_ALLOCATOR_INIT)

int tkn_set_allocator(const tkn_allocator *alloc) {
  if (!alloc) {
    tkn_allocator init = TKN_ALLOCATOR_INIT;
    g_alloc = init;
    return TKN_OK;
  }
  if (alloc->version != TKN_ALLOCATOR_VERSION) return tki_fail(TKN_ERR_VERSION, "tkn_set_allocator: unknown version");
  if (!alloc->malloc_fn || !alloc->realloc_fn || !alloc->free_fn)
    return tki_fail_null("tkn_set_allocator", !alloc->malloc_fn    ? "alloc->malloc_fn"
                                              : !alloc->realloc_fn ? "alloc->realloc_fn"
                                                                   : "alloc->free_fn");
  g_alloc = *alloc;
  return TKN_OK;
}

void tkn_free(void *ptr) { tki_free(ptr); }

void *tki_malloc(size_t size) {
  if (size == 0) size = 1;
  return g_alloc.malloc_fn ? g_alloc.malloc_fn(size, g_alloc.user) : malloc(size);
}

void *tki_calloc(size_t n, size_t size) {
  size_t total;
  if (__builtin_mul_overflow(n, size, &total)) return NULL;
  void *p = tki_malloc(total);
  if (p) memset(p, 0, total ? total : 1);
  return p;
}

void *tki_realloc(void *ptr, size_t size) {
  if (size == 0) size = 1;
  return g_alloc.realloc_fn ? g_alloc.realloc_fn(ptr, size, g_alloc.user) : realloc(ptr, size);
}

void tki_free(void *ptr) {
  if (!ptr) return;
  if (g_alloc.free_fn)
    g_alloc.free_fn(ptr, g_alloc.user);
  else
    free(ptr);
}

char *tki_strndup(const char *s, size_t len) {
  if (len == SIZE_MAX) return NULL;
  char *p = tki_malloc(len + 1);
  if (!p) return NULL;
  if (len) memcpy(p, s, len);
  p[len] = '\0';
  return p;
}

int tki_grow(void **arr, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return TKN_OK;
  size_t ncap = *cap ? *cap : 8;
  while (ncap < need) {
    if (ncap > SIZE_MAX / 2) return TKN_ERR_OVERFLOW;
    ncap *= 2;
  }
  size_t bytes;
  if (__builtin_mul_overflow(ncap, elem, &bytes)) return TKN_ERR_OVERFLOW;
  void *p = tki_realloc(*arr, bytes);
  if (!p) return tki_fail(TKN_ERR_NOMEM, "out of memory");
  *arr = p;
  *cap = ncap;
  return TKN_OK;
}
