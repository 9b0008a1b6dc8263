/* The tokenomy command-line tool: shared helpers.  The tool uses the public
 * API only (plus cJSON for its own JSON input and output), as any host does. */
#ifndef TKN_CLI_H
#define TKN_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>
#include <tokenomy.h>

/* Print "tokenomy <cmd>: <message>" on stderr (one line); returns 1 (usage) or 2. */
int cli_fail(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* The status of a library call, with its one-line detail (tkn_error_last)
 * copied into buf when it failed ("" when it succeeded). */
static inline int cli_keep_err(int rc, char *buf, size_t len) {
  if (buf && len) snprintf(buf, len, "%s", rc ? tkn_error_last()->message : "");
  return rc;
}

/* Read a whole file ("-" or NULL: standard input).  NUL-terminated; free(). */
char *cli_read(const char *path, size_t *len);
/* 1 if the len bytes at s are all JSON whitespace. */
int cli_only_space(const char *s, size_t len);
/* Where JSON text holds a NUL byte (returns 1) or the escape \u0000
 * (returns 2) first, *at its byte offset; 0 when neither. */
int cli_find_nul(const char *text, size_t len, size_t *at);
/* Read a file and parse it as JSON (one value, then only whitespace; no NUL
 * byte, no escaped NUL); on failure prints the error and returns NULL. */
cJSON *cli_read_json(const char *cmd, const char *path, char **text_out);

/* 1 if argv[i] equals one of the names. */
int cli_is(const char *arg, const char *a, const char *b);

/* ---- the shared option table (options.c) ----
 * Each command declares its options once, as a table; cli_parse walks argv
 * against it ("--name=value" or "--name value"), prints the help for --help
 * or -h, stores each value where the table says, and fails with one line
 * ("tokenomy CMD: ...", exit status 1) on an unknown option, a missing value,
 * a number out of its range or a word not among the choices. */
typedef enum cli_kind {
  CLI_FLAG, /* no value: *(int *)dst = 1 */
  CLI_STR, /* *(const char **)dst = the value */
  CLI_INT, /* *(long long *)dst = a decimal integer in [min, max] */
  CLI_U64, /* *(uint64_t *)dst = a decimal integer without a sign */
  CLI_CHOICE /* *(int *)dst = the value of the choice the word names */
} cli_kind;

typedef struct cli_choice {
  const char *name;
  int value;
} cli_choice;

typedef struct cli_option {
  const char *name; /* "--model"; the table ends with a NULL name */
  cli_kind kind;
  void *dst;
  const char *want; /* CLI_INT, CLI_U64, CLI_CHOICE: "expected <want>, got '..'" */
  long long min, max; /* CLI_INT: the accepted range */
  const cli_choice *choices; /* CLI_CHOICE: ends with a NULL name */
} cli_option;

typedef struct cli_command {
  const char *name; /* as errors name it: "count", "batch make" */
  const char *help; /* printed on standard output for --help or -h */
  const cli_option *opts; /* NULL-name terminated */
  int first; /* the index of argv's first option (1, or 2 after a subcommand) */
  /* Positional arguments ("-" is one: standard input).  With `file`, the last
   * one given is kept; with `files`, up to max_files are kept in order and one
   * more fails with `too_many` (a format given the last kept and the extra
   * argument) or "too many files".  With neither, a positional argument is an
   * unknown option. */
  const char **file;
  const char **files;
  int max_files;
  int *nfiles;
  const char *too_many;
} cli_command;

/* Parse argv[c->first..argc-1].  Returns -1 to go on, else the exit status
 * to return at once: 0 after printing the help, 1 after a usage error. */
int cli_parse(const cli_command *c, int argc, char **argv);
/* The usual command: options from argv[1..], and at most one positional
 * argument, the last one given kept in *file (file NULL: none accepted).
 * Returns as cli_parse does. */
int cli_parse_file(const char *cmd, const char *help, const cli_option *opts, const char **file,
                   int argc, char **argv);
/* A command with one subcommand and at most one file ("tokenomy prices check
 * [FILE]", "tokenomy tools select [FILE]"): options from argv[1..], the first
 * positional argument must be `sub`, the one after it (if any) goes to *file.
 * A missing or unknown subcommand and a second file are usage errors.
 * Returns as cli_parse does. */
int cli_parse_sub(const char *cmd, const char *help, const char *sub, const cli_option *opts,
                  const char **file, int argc, char **argv);
/* The row that ends an option table. */
#define CLI_OPT_END {NULL, CLI_FLAG, NULL, NULL, 0, 0, NULL}

/* Print "tokenomy <cmd>: <message>" on stderr; returns 1 (bad usage). */
#define CLI_USAGE_ERR(cmd, ...) (cli_fail(cmd, __VA_ARGS__), 1)

/* ---- helpers shared by the commands (common.c) ---- */

/* A JSON number that is a whole number in [lo, hi]: 1 with *out set, else 0.  Checked before any cast, so a huge or fractional
 * value from a user's file is an error, never undefined behaviour. */
int cli_json_int(const cJSON *v, int64_t lo, int64_t hi, int64_t *out);
/* A JSON value printed (formatted) on standard output. */
void cli_print_json(const cJSON *o);
/* The first non-space byte is '[' or '{': the text is JSON. */
int cli_looks_json(const char *s);
/* A tokenizer by name: "estimator", an encoding, or a model's encoding (model
 * wins).  The default is o200k_base when the library has it, else the
 * estimator.  0, or the exit status after printing the error. */
int cli_make_tokenizer(const char *cmd, const char *name, const char *model, tkn_tokenizer **out);
/* The counter for `model`: its exact BPE encoding where one is known and its
 * ranks are built in, else the estimator.  *counter gets what was used
 * ("exact o200k_base", "estimator"), which the caller prints; returns 0, or
 * 2 (the failure printed) if not even the estimator can be made. */
int cli_model_tokenizer(const char *cmd, const char *model, tkn_tokenizer **out,
                        char *counter, size_t cap);
/* Build and assemble the prompt of an assemble spec (assemble.c; cache-sim
 * uses it for each request of its log); *conv holds the history.  0, or the
 * exit status after printing the error. */
int cli_assemble_spec(const char *cmd, const cJSON *spec, const tkn_tokenizer *tok, tkn_conv **conv,
                      tkn_prompt **out);

/* Money (picodollars) as USD with `digits` decimals, into buf. */
const char *cli_usd(int64_t units, int digits, char *buf, size_t len);
/* An integer with thousands separators. */
const char *cli_int(int64_t v, char *buf, size_t len);

/* A progress bar on stderr, only when stderr is a terminal. */
void cli_progress(const char *label, size_t done, size_t total);

/* Subcommands: each returns the exit status. */
int cmd_count(int argc, char **argv);
int cmd_prune(int argc, char **argv);
int cmd_route(int argc, char **argv);
int cmd_assemble(int argc, char **argv);
int cmd_cache_sim(int argc, char **argv);
int cmd_batch(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_cost(int argc, char **argv);
int cmd_prices(int argc, char **argv);
int cmd_simulate(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_tools(int argc, char **argv);

/* ---- the simulation (sim.c, workload.c, simulate.c) ---- */

/* Generate a bundled workload by name ("support-agent", "document-pipeline",
 * "code-reviewer"); NULL for an unknown name. */
cJSON *wl_generate(const char *name, uint64_t seed);
/* The bundled names, NULL-terminated. */
extern const char *const wl_bundled[];
/* Check a workload's shape; 0 or 1 with a one-line message in err. */
int wl_check(const cJSON *wl, char *err, size_t errlen);

/* Deterministic pseudo-random numbers. */
uint64_t sim_mix(uint64_t x);
double sim_unit(uint64_t x); /* in [0, 1) */

#endif
