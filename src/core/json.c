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

int tki_json_parse(const char *json, size_t len, size_t max_len, int max_depth,
                   const char *what, cJSON **out, char err[TKI_ERRLEN]) {
  *out = NULL;
  if (!json && len) return tki_err(err, TKN_ERR_INVALID, "%s: NULL text", what);
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
  const char *end = NULL;
  tki_cjson_begin();
  cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
  if (!root) {
    if (tki_cjson_alloc_failed())
      return tki_err(err, TKN_ERR_NOMEM, "%s: out of memory while parsing", what);
    size_t off = end && end >= json && end <= json + len ? (size_t)(end - json) : 0;
    return err_at(err, TKN_ERR_PARSE, what, json, len, off, "malformed JSON");
  }
  size_t off = (size_t)(end - json);
  while (off < len && is_ws(json[off])) off++;
  if (off < len) {
    cJSON_Delete(root);
    return err_at(err, TKN_ERR_PARSE, what, json, len, off, "unexpected text after the JSON value");
  }
  *out = root;
  return TKN_OK;
}
