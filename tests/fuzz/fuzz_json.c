/* libFuzzer harness: the JSON reader every parser shares (size, NUL, UTF-8
 * and depth checks, then cJSON) and the canonical writer behind prompt
 * prefixes and tool-cache keys.  Canonical output must itself parse and be a
 * fixed point. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char err[TKI_ERRLEN];
  tki_buf out;
  tki_buf_init(&out);
  int rc = tki_json_canonicalize((const char *)data, size, 1 << 20, 64, "fuzz", &out, err);
  if (rc == TKN_OK) {
    size_t len;
    char *first = tki_buf_steal(&out, &len);
    if (!first) abort();
    tki_buf again;
    tki_buf_init(&again);
    if (tki_json_canonicalize(first, len, 1 << 21, 64, "again", &again, err) != TKN_OK) abort();
    if (again.len != len || memcmp(again.data, first, len) != 0) abort();
    tki_buf_free(&again);
    tkn_free(first);
  } else {
    if (!err[0] || strchr(err, '\n')) abort(); /* a failure always says why, in one line */
    tki_buf_free(&out);
  }
  return 0;
}
