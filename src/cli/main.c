/* tokenomy: one command per part of the library, reading files or standard
 * input and writing JSON or a table to standard output. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char USAGE[] =
    "usage: tokenomy <command> [options] [file]\n"
    "\n"
    "Cut what LLM agents spend on tokens.  Files default to standard input.\n"
    "\n"
    "commands:\n"
    "  count       count the tokens of a text or a conversation\n"
    "  prune       cut a conversation to a token budget (tool pairs kept whole)\n"
    "  route       route a task through a router config, with the explanation\n"
    "  assemble    assemble a prompt spec and render the provider request\n"
    "  cache-sim   simulate a provider's prompt cache over a request log\n"
    "  batch make  write batch request files (JSONL) from requests\n"
    "  batch join  join batch result files and cost them at batch prices\n"
    "  validate    validate a JSON document against a JSON Schema\n"
    "  cost        the exact cost of a call from a model and a usage object\n"
    "  prices check  what a LiteLLM price file loads as: skipped keys, unmodelled fields\n"
    "  simulate    replay a workload of agent workflows: naive vs optimised\n"
    "  replay      what each context strategy would cost on recorded conversations\n"
    "  report      render a meter export as a table or an HTML page\n"
    "\n"
    "`tokenomy <command> --help` describes each.  Exit status: 0 success,\n"
    "1 bad usage, 2 bad input.\n";

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

cJSON *cli_read_json(const char *cmd, const char *path, char **text_out) {
  size_t len = 0;
  char *text = cli_read(path, &len);
  if (!text) {
    cli_fail(cmd, "cannot read %s", path && strcmp(path, "-") != 0 ? path : "standard input");
    return NULL;
  }
  const char *end = NULL;
  cJSON *j = cJSON_ParseWithLengthOpts(text, len, &end, 0);
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
    cli_fail(cmd, "%s: not JSON (line %zu, column %zu)",
             path && strcmp(path, "-") != 0 ? path : "standard input", line, col);
    free(text);
    return NULL;
  }
  if (text_out)
    *text_out = text;
  else
    free(text);
  return j;
}

int cli_is(const char *arg, const char *a, const char *b) {
  return arg && ((a && !strcmp(arg, a)) || (b && !strcmp(arg, b)));
}

const char *cli_opt(int argc, char **argv, int *i, const char *name) {
  size_t n = strlen(name);
  const char *a = argv[*i];
  if (strncmp(a, name, n) != 0) return NULL;
  if (a[n] == '=') return a + n + 1;
  if (a[n] != '\0') return NULL;
  if (*i + 1 >= argc) return NULL;
  return argv[++*i];
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

int main(int argc, char **argv) {
  if (argc < 2 || cli_is(argv[1], "--help", "-h") || cli_is(argv[1], "help", NULL)) {
    fputs(USAGE, argc < 2 ? stderr : stdout);
    return argc < 2 ? 1 : 0;
  }
  if (cli_is(argv[1], "--version", NULL)) {
    printf("tokenomy %s\n", tkn_version_string());
    return 0;
  }
  static const struct {
    const char *name;
    int (*fn)(int, char **);
  } cmds[] = {{"count", cmd_count},       {"prune", cmd_prune},       {"route", cmd_route},
              {"assemble", cmd_assemble}, {"cache-sim", cmd_cache_sim}, {"batch", cmd_batch},
              {"validate", cmd_validate}, {"cost", cmd_cost},         {"prices", cmd_prices},         {"simulate", cmd_simulate},
              {"replay", cmd_replay},
              {"report", cmd_report}};
  for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
    if (!strcmp(argv[1], cmds[i].name)) return cmds[i].fn(argc - 1, argv + 1);
  fprintf(stderr, "tokenomy: unknown command '%s' (see tokenomy --help)\n", argv[1]);
  return 1;
}
