/* The helpers every command shares: errors, reading files, money and numbers
 * as text, a progress bar, JSON output, tokenizers by name. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

int cli_fail(const char *cmd, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "tokenomy %s: ", cmd);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return 2;
}

char *cli_read(const char *path, size_t *len) {
  FILE *f = (!path || !strcmp(path, "-")) ? stdin : fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap + 1);
  while (buf) {
    size_t r = fread(buf + n, 1, cap - n, f);
    n += r;
    if (r == 0) break;
    if (n == cap) {
      char *nb = realloc(buf, cap * 2 + 1);
      if (!nb) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = nb;
      cap *= 2;
    }
  }
  int err = ferror(f);
  if (f != stdin) fclose(f);
  if (!buf || err) {
    free(buf);
    return NULL;
  }
  buf[n] = '\0';
  if (len) *len = n;
  return buf;
}

int cli_only_space(const char *s, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r') return 0;
  return 1;
}

int cli_find_nul(const char *text, size_t len, size_t *at) {
  for (size_t i = 0; i < len; i++) {
    if (text[i] == '\0') {
      *at = i;
      return 1;
    }
    if (text[i] == '\\') {
      if (i + 5 < len && text[i + 1] == 'u' && !memcmp(text + i + 2, "0000", 4)) {
        *at = i;
        return 2;
      }
      i++; /* the escaped character: "\\u0000" is a backslash, then text */
    }
  }
  return 0;
}

cJSON *cli_read_json(const char *cmd, const char *path, char **text_out) {
  size_t len = 0;
  const char *name = path && strcmp(path, "-") != 0 ? path : "standard input";
  char *text = cli_read(path, &len);
  if (!text) {
    cli_fail(cmd, "cannot read %s", name);
    return NULL;
  }
  const char *end = NULL;
  size_t nul_at = 0;
  int nul = cli_find_nul(text, len, &nul_at);
  cJSON *j = nul ? NULL : cJSON_ParseWithLengthOpts(text, len, &end, 0);
  if (j && !cli_only_space(end, len - (size_t)(end - text))) {
    cJSON_Delete(j); /* a second value, or text after the first: not one document */
    j = NULL;
  }
  if (nul) end = text + nul_at;
  if (!j) {
    size_t off = end ? (size_t)(end - text) : 0, line = 1, col = 1;
    for (size_t i = 0; i < off && i < len; i++) {
      if (text[i] == '\n') {
        line++;
        col = 1;
      } else {
        col++;
      }
    }
    cli_fail(cmd, "%s: %s (line %zu, column %zu)", name,
             nul == 1   ? "a NUL byte, which is not JSON"
             : nul == 2 ? "an escaped NUL (\\u0000), which this command cannot pass on exactly"
                        : "not JSON",
             line, col);
    free(text);
    return NULL;
  }
  if (text_out) *text_out = text;
  else free(text);
  return j;
}

const char *cli_usd(int64_t units, int digits, char *buf, size_t len) {
  char full[TKN_USD_BUFLEN];
  if (tkn_usd_format(units, full, sizeof full, NULL) != TKN_OK) {
    snprintf(buf, len, "?");
    return buf;
  }
  char *dot = strchr(full, '.');
  if (dot) dot[digits > 0 ? digits + 1 : 0] = '\0';
  snprintf(buf, len, "%s", full);
  return buf;
}

const char *cli_int(int64_t v, char *buf, size_t len) {
  char tmp[32];
  snprintf(tmp, sizeof tmp, "%lld", (long long)(v < 0 ? -v : v));
  size_t n = strlen(tmp), o = 0;
  if (v < 0 && o + 1 < len) buf[o++] = '-';
  for (size_t i = 0; i < n && o + 2 < len; i++) {
    buf[o++] = tmp[i];
    if ((n - i - 1) % 3 == 0 && i + 1 < n) buf[o++] = ',';
  }
  buf[o] = '\0';
  return buf;
}

int cli_model_tokenizer(const char *cmd, const char *model, tkn_tokenizer **out,
                        char *counter, size_t cap) {
  const char *enc = tkn_tokenizer_encoding_for_model(model, TKN_NUL_TERMINATED);
  if (enc && tkn_tokenizer_new_encoding(out, enc, TKN_NUL_TERMINATED) == TKN_OK) {
    snprintf(counter, cap, "exact %s", enc);
    return 0;
  }
  /* no exact tokenizer: the estimator, calibrated to the encoding when known */
  int rc = enc ? tkn_tokenizer_new_estimator_for(out, enc, TKN_NUL_TERMINATED)
               : tkn_tokenizer_new_estimator(out);
  if (rc) return cli_fail(cmd, "tokenizer: %s", tkn_error_last()->message);
  snprintf(counter, cap, "estimator (%s)",
           enc ? "this build has no embedded ranks" : "no exact tokenizer for this model");
  return 0;
}

void cli_progress(const char *label, size_t done, size_t total) {
  static int tty = -1;
  if (tty < 0) tty = isatty(2);
  if (!tty || total == 0) return;
  int width = 30, filled = (int)((double)done / (double)total * width);
  fprintf(stderr, "\r%-24s [", label);
  for (int i = 0; i < width; i++) fputc(i < filled ? '#' : '.', stderr);
  fprintf(stderr, "] %zu/%zu", done, total);
  if (done >= total) fputs("\r\033[K", stderr);
  fflush(stderr);
}

int cli_json_int(const cJSON *v, int64_t lo, int64_t hi, int64_t *out) {
  if (!cJSON_IsNumber(v)) return 0;
  double d = v->valuedouble;
  /* int64 holds [-2^63, 2^63): check that before the cast, which is
   * undefined outside it ((double)INT64_MAX is 2^63 itself) */
  if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) || d != floor(d)) return 0;
  int64_t x = (int64_t)d;
  if (x < lo || x > hi) return 0;
  *out = x;
  return 1;
}

void cli_print_json(const cJSON *o) {
  char *s = cJSON_Print(o);
  puts(s ? s : "null");
  free(s);
}

int cli_looks_json(const char *s) {
  while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r') s++;
  return *s == '[' || *s == '{';
}

int cli_make_tokenizer(const char *cmd, const char *name, const char *model, tkn_tokenizer **out) {
  char err[256] = "";
  int rc;
  if (model) {
    rc = cli_keep_err(tkn_tokenizer_new_for_model(out, model, strlen(model)), err, sizeof err);
    if (rc) return CLI_USAGE_ERR(cmd, "--model %s: %s", model, err[0] ? err : tkn_strerror(rc));
    return 0;
  }
  if (name && !strcmp(name, "estimator")) return tkn_tokenizer_new_estimator(out) ? 2 : 0;
  rc = cli_keep_err(tkn_tokenizer_new_encoding(out, name ? name : "o200k_base",
                                               strlen(name ? name : "o200k_base")),
                    err, sizeof err);
  if (rc == TKN_ERR_UNAVAILABLE && !name) return tkn_tokenizer_new_estimator(out) ? 2 : 0;
  if (rc) return CLI_USAGE_ERR(cmd, "--encoding %s: %s", name, err[0] ? err : tkn_strerror(rc));
  return 0;
}
