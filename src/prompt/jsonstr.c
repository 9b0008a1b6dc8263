/* JSON string literals for prompt bytes.  Prompts are mostly long runs of
 * text that need no escaping, so the scan looks at eight bytes at a time and
 * copies whole runs.  The escapes are the minimal set tki_buf_json_string and
 * the canonical form use (\" \\ \n \r \t \b \f, else \u00xx), so the bytes
 * are identical to theirs (a unit test compares them). */
#include <string.h>

#include "prompt_internal.h"

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* Non-zero if one of the 8 bytes may be < 0x20, '"' or '\\' (a borrow may
 * flag a neighbour too; a byte that is one is never missed). */
static inline uint64_t maybe_special(uint64_t w) {
  uint64_t ctl = (w - ONES * 0x20) & ~w;
  uint64_t q = w ^ (ONES * '"');
  uint64_t bs = w ^ (ONES * '\\');
  return (ctl | ((q - ONES) & ~q) | ((bs - ONES) & ~bs)) & HIGHS;
}

static inline int special(unsigned char c) { return c < 0x20 || c == '"' || c == '\\'; }

static void put_escape(tki_buf *b, unsigned char c) {
  static const char hex[] = "0123456789abcdef";
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

int tki_prompt_json_string(tki_buf *b, const char *s, size_t len) {
  if (tki_buf_reserve(b, len + 2)) return TKN_ERR_NOMEM;
  tki_buf_putc(b, '"');
  size_t i = 0, start = 0;
  while (i < len) {
    if (i + 8 <= len) {
      uint64_t w;
      memcpy(&w, s + i, 8);
      if (!maybe_special(w)) {
        i += 8;
        continue;
      }
    }
    size_t end = i + 8 < len ? i + 8 : len;
    for (; i < end; i++) {
      if (!special((unsigned char)s[i])) continue;
      tki_buf_append(b, s + start, i - start);
      put_escape(b, (unsigned char)s[i]);
      start = i + 1;
    }
  }
  tki_buf_append(b, s + start, len - start);
  return tki_buf_putc(b, '"');
}
