/* libFuzzer harness: the command-line tool's argument parsing (the option
 * table every command shares, src/cli/options.c) and its JSON number checks
 * (src/cli/common.c).  The input is argv, arguments separated by NUL bytes.
 * Every parse either goes on with each value stored within its declared
 * range or choices, or ends with an exit status (0 help, 1 usage); a
 * number check never casts outside int64 (UBSan would abort). */
#include <limits.h>

#include "cli/cli.h"
#include "fuzz_util.h"

static const cli_choice CHOICES[] = {{"openai", 1}, {"anthropic", 2}, {NULL, 0}};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *buf = malloc(size + 1);
  if (!buf) return 0;
  if (size) memcpy(buf, data, size);
  buf[size] = '\0';
  char *argv[66];
  int argc = 0;
  argv[argc++] = "tokenomy";
  for (size_t i = 0; i <= size && argc < 65;) {
    argv[argc++] = buf + i;
    i += strlen(buf + i) + 1;
  }
  argv[argc] = NULL;

  int flag = 0, choice = 0;
  const char *str = NULL, *file = NULL;
  long long small = -7, big = -7;
  uint64_t u = 0;
  const cli_option opts[] = {{"--flag", CLI_FLAG, &flag, NULL, 0, 0, NULL},
                             {"--str", CLI_STR, &str, NULL, 0, 0, NULL},
                             {"--small", CLI_INT, &small, "-5 to 1000", -5, 1000, NULL},
                             {"--big", CLI_INT, &big, ">= 0", 0, LLONG_MAX, NULL},
                             {"--u64", CLI_U64, &u, "a number", 0, 0, NULL},
                             {"--provider", CLI_CHOICE, &choice, "a provider", 0, 0, CHOICES},
                             {NULL, CLI_FLAG, NULL, NULL, 0, 0, NULL}};
  const char *files[3];
  int nfiles = 0;
  const cli_command c = {"fuzz", "usage: fuzz\n", opts, 1, NULL, files, 3, &nfiles, NULL};
  const cli_command one = {"fuzz", "usage: fuzz\n", opts, 1, &file, NULL, 0, NULL, NULL};
  int rc = cli_parse(size % 2 ? &c : &one, argc, argv);
  FZ_CHECK(rc == -1 || rc == 0 || rc == 1 || rc == 2);
  if (rc == -1) {
    FZ_CHECK(small == -7 || (small >= -5 && small <= 1000));
    FZ_CHECK(big == -7 || big >= 0);
    FZ_CHECK(choice == 0 || choice == 1 || choice == 2);
    FZ_CHECK(flag == 0 || flag == 1);
    FZ_CHECK(nfiles >= 0 && nfiles <= 3);
  }
  /* each argument as a JSON number against a few ranges */
  for (int i = 1; i < argc; i++) {
    cJSON *j = cJSON_Parse(argv[i]);
    static const int64_t ranges[][2] = {
        {0, INT64_MAX}, {INT64_MIN, INT64_MAX}, {1, INT64_C(1) << 53}, {-5, 5}};
    for (size_t k = 0; j && k < sizeof ranges / sizeof *ranges; k++) {
      int64_t out = 0;
      if (cli_json_int(j, ranges[k][0], ranges[k][1], &out)) {
        FZ_CHECK(out >= ranges[k][0] && out <= ranges[k][1]);
        FZ_CHECK((double)out == j->valuedouble);
      }
    }
    cJSON_Delete(j);
  }
  free(buf);
  return 0;
}
