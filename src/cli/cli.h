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
/* Read a file and parse it as JSON; on failure prints the error and returns NULL. */
cJSON *cli_read_json(const char *cmd, const char *path, char **text_out);

/* 1 if argv[i] equals one of the names. */
int cli_is(const char *arg, const char *a, const char *b);
/* "--name=value" or "--name value": the value, advancing *i; NULL if argv[*i] is not it. */
const char *cli_opt(int argc, char **argv, int *i, const char *name);

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
