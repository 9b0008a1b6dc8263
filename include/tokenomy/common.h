/* tokenomy: common ground shared by every part.
 *
 * Version macros and their run-time twins, status codes, the process-wide
 * allocator hook and tkn_free().  Every other public header includes this one.
 *
 * ABI rules (see README "Stability"): status codes are appended, never
 * renumbered; options structs start with `uint32_t version` and only grow at
 * the end; nothing crossing the ABI is a bool, an enum or a FILE*.
 *
 * Threading: everything here is safe from any thread, except
 * tkn_set_allocator(), which must be called before any other tkn_ function.
 */
#ifndef TOKENOMY_COMMON_H
#define TOKENOMY_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* TKN_API marks every exported declaration; everything else is hidden. */
#if defined(_WIN32)
#  if defined(TKN_BUILDING_LIBRARY)
#    define TKN_API __declspec(dllexport)
#  else
#    define TKN_API
#  endif
#elif defined(__GNUC__) && __GNUC__ >= 4
#  define TKN_API __attribute__((visibility("default")))
#else
#  define TKN_API
#endif

/* ---- Versions ---------------------------------------------------------- */

#define TKN_VERSION_MAJOR 0
#define TKN_VERSION_MINOR 1
#define TKN_VERSION_PATCH 0
/* MAJOR*10000 + MINOR*100 + PATCH: compare numerically. */
#define TKN_VERSION_NUMBER \
  (TKN_VERSION_MAJOR * 10000 + TKN_VERSION_MINOR * 100 + TKN_VERSION_PATCH)
#define TKN_VERSION_STRING "0.1.0"

/* The version of the library actually loaded, which may differ from the
 * header a program was compiled against. */
TKN_API unsigned tkn_version_number(void);
TKN_API const char *tkn_version_string(void);

/* ---- Status codes ------------------------------------------------------
 * Every fallible function returns one of these as an int.  Values are pinned:
 * new codes are appended, none is ever renumbered or removed. */
#define TKN_OK 0
#define TKN_ERR_NOMEM 1           /* an allocation failed */
#define TKN_ERR_INVALID 2         /* a bad argument: NULL, out of range, ... */
#define TKN_ERR_PARSE 3           /* malformed input text (JSON, rank file, ...) */
#define TKN_ERR_UTF8 4            /* a string is not valid UTF-8 */
#define TKN_ERR_LIMIT 5           /* an input exceeds a documented limit */
#define TKN_ERR_NOT_FOUND 6       /* a name, id or key is not known */
#define TKN_ERR_BUDGET 7          /* a budget refuses the charge */
#define TKN_ERR_CALLBACK 8        /* a host callback reported failure */
#define TKN_ERR_UNSUPPORTED 9     /* valid input that this version does not handle */
#define TKN_ERR_SCHEMA 10         /* input does not conform to its schema or format */
#define TKN_ERR_STATE 11          /* the call is not allowed in the object's state */
#define TKN_ERR_OVERFLOW 12       /* an integer result would overflow */
#define TKN_ERR_DUPLICATE 13      /* a name, id or key is already present */
#define TKN_ERR_IO 14             /* a host sink or store reported an I/O failure */
#define TKN_ERR_SPECIAL_TOKEN 15  /* special-token text where it is not allowed */
#define TKN_ERR_VERSION 16        /* an options struct of an unknown version */
#define TKN_ERR_TOO_SMALL 17      /* a caller's buffer is too small; size reported */
#define TKN_ERR_UNAVAILABLE 18    /* a shared store or resource cannot be reached */
#define TKN_ERR_CANCELLED 19      /* the host asked to stop */
#define TKN_ERR__COUNT 20         /* one past the last code; grows with new codes */

/* A static, never-NULL English description of a status code ("unknown status
 * code" for values outside the table).  Details of a particular failure are on
 * the handle that failed (tkn_<part>_errmsg). */
TKN_API const char *tkn_strerror(int status);

/* ---- Memory --------------------------------------------------------------
 * One process-wide allocator serves the library and the cJSON it parses with.
 * Set it once, before any other tkn_ call; it may not change while any object
 * made by the library is alive.  Passing NULL restores malloc/realloc/free. */
#define TKN_ALLOCATOR_VERSION 1
typedef struct tkn_allocator {
  uint32_t version; /* TKN_ALLOCATOR_VERSION */
  void *(*malloc_fn)(size_t size, void *user);
  void *(*realloc_fn)(void *ptr, size_t size, void *user);
  void (*free_fn)(void *ptr, void *user);
  void *user;
} tkn_allocator;
#define TKN_ALLOCATOR_INIT { TKN_ALLOCATOR_VERSION, NULL, NULL, NULL, NULL }

/* Fill *alloc with the defaults of `version`; TKN_ERR_VERSION if unknown. */
TKN_API int tkn_allocator_init(tkn_allocator *alloc, uint32_t version);

/* Install the allocator (copied).  All three functions must be set.
 * TKN_ERR_INVALID if one is missing, TKN_ERR_VERSION for an unknown version. */
TKN_API int tkn_set_allocator(const tkn_allocator *alloc);

/* Free memory the library handed out (strings, id arrays, JSON text).
 * NULL is a no-op. */
TKN_API void tkn_free(void *ptr);

#ifdef __cplusplus
}
#endif

#endif /* TOKENOMY_COMMON_H */
