/* tokenomy: one command per part of the library, reading files or standard
 * input and writing JSON or a table to standard output. */
#include <string.h>

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
    "  tools select  the tools a BM25 search picks from a catalogue for a query\n"
    "\n"
    "`tokenomy <command> --help` describes each; --json prints any figures as\n"
    "JSON.  Exit status: 0 success, 1 bad usage, 2 bad input, 3 a result that is\n"
    "not a success (validate: an invalid document; batch join: dead letters).\n";

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
  } cmds[] = {{"count", cmd_count},       {"prune", cmd_prune},         {"route", cmd_route},
              {"assemble", cmd_assemble}, {"cache-sim", cmd_cache_sim}, {"batch", cmd_batch},
              {"validate", cmd_validate}, {"cost", cmd_cost},           {"prices", cmd_prices},
              {"simulate", cmd_simulate}, {"replay", cmd_replay},       {"report", cmd_report},
              {"tools", cmd_tools}};
  for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
    if (!strcmp(argv[1], cmds[i].name)) return cmds[i].fn(argc - 1, argv + 1);
  fprintf(stderr, "tokenomy: unknown command '%s' (see tokenomy --help)\n", argv[1]);
  return 1;
}
