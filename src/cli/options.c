/* The option parsing of every command, in one place: a command declares its
 * options as a table (cli.h) and cli_parse walks argv against it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_is(const char *arg, const char *a, const char *b) {
  return arg && ((a && !strcmp(arg, a)) || (b && !strcmp(arg, b)));
}

/* argv[*i] names the option: "--name" (for an option with a value, the value
 * is the next argument) or "--name=value".  1 with *value set (NULL when
 * there is none), else 0. */
static int match(const cli_option *o, int argc, char **argv, int *i, const char **value) {
  size_t n = strlen(o->name);
  const char *a = argv[*i];
  if (strncmp(a, o->name, n) != 0 || (a[n] != '\0' && a[n] != '=')) return 0;
  if (a[n] == '=') *value = a + n + 1;
  else if (o->kind != CLI_FLAG && *i + 1 < argc) *value = argv[++*i];
  else *value = NULL;
  return 1;
}

static int want(const cli_command *c, const cli_option *o, const char *v) {
  return CLI_USAGE_ERR(c->name, "%s: expected %s, got '%s'", o->name, o->want, v);
}

/* Store the value of one option; -1, or the exit status of a usage error. */
static int store(const cli_command *c, const cli_option *o, const char *v) {
  char *end = NULL;
  switch (o->kind) {
  case CLI_FLAG:
    *(int *)o->dst = 1;
    return -1;
  case CLI_STR:
    *(const char **)o->dst = v;
    return -1;
  case CLI_INT: {
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (!*v || *end || errno || x < o->min || x > o->max) return want(c, o, v);
    *(long long *)o->dst = x;
    return -1;
  }
  case CLI_U64: {
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (!*v || *end || errno || *v == '-' || *v == '+') return want(c, o, v);
    *(uint64_t *)o->dst = (uint64_t)x;
    return -1;
  }
  case CLI_CHOICE:
    for (const cli_choice *ch = o->choices; ch->name; ch++) {
      if (!strcmp(v, ch->name)) {
        *(int *)o->dst = ch->value;
        return -1;
      }
    }
    return want(c, o, v);
  }
  return want(c, o, v);
}

/* A positional argument; -1, or the exit status of a usage error. */
static int positional(const cli_command *c, const char *arg) {
  if (c->files) {
    if (*c->nfiles < c->max_files) {
      c->files[(*c->nfiles)++] = arg;
      return -1;
    }
    if (c->too_many) return CLI_USAGE_ERR(c->name, c->too_many, c->files[c->max_files - 1], arg);
    return CLI_USAGE_ERR(c->name, "too many files (at most %d)", c->max_files);
  }
  if (c->file) {
    *c->file = arg;
    return -1;
  }
  return CLI_USAGE_ERR(c->name, "unknown option '%s' (see --help)", arg);
}

int cli_parse(const cli_command *c, int argc, char **argv) {
  for (int i = c->first; i < argc; i++) {
    if (cli_is(argv[i], "--help", "-h")) {
      fputs(c->help, stdout);
      return 0;
    }
    const cli_option *o = c->opts;
    const char *v = NULL;
    while (o && o->name && !match(o, argc, argv, &i, &v)) o++;
    int rc;
    if (o && o->name) {
      if (o->kind == CLI_FLAG ? v != NULL : v == NULL)
        return CLI_USAGE_ERR(c->name, "%s %s (see --help)", o->name,
                             o->kind == CLI_FLAG ? "takes no value" : "needs a value");
      rc = store(c, o, v);
    } else if (argv[i][0] == '-' && argv[i][1]) {
      rc = CLI_USAGE_ERR(c->name, "unknown option '%s' (see --help)", argv[i]);
    } else {
      rc = positional(c, argv[i]);
    }
    if (rc >= 0) return rc;
  }
  return -1;
}

int cli_parse_file(const char *cmd, const char *help, const cli_option *opts, const char **file,
                   int argc, char **argv) {
  const cli_command c = {cmd, help, opts, 1, file, NULL, 0, NULL, NULL};
  return cli_parse(&c, argc, argv);
}

int cli_parse_sub(const char *cmd, const char *help, const char *sub, const cli_option *opts,
                  const char **file, int argc, char **argv) {
  const char *pos[2];
  int npos = 0;
  const cli_command c = {cmd, help, opts, 1, NULL, pos, 2, &npos,
                         "one file only (got '%s' and '%s')"};
  int parsed = cli_parse(&c, argc, argv);
  if (parsed >= 0) return parsed;
  if (!npos) return CLI_USAGE_ERR(cmd, "a subcommand is required: %s (see --help)", sub);
  if (strcmp(pos[0], sub) != 0)
    return CLI_USAGE_ERR(cmd, "unknown subcommand '%s' (expected: %s)", pos[0], sub);
  *file = npos == 2 ? pos[1] : NULL;
  return -1;
}
