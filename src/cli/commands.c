#include "cli.h"
#define STUB(f) int f(int argc, char **argv) { (void)argc; (void)argv; return cli_fail("x", "not yet"); }
STUB(cmd_count) STUB(cmd_prune) STUB(cmd_route) STUB(cmd_assemble) STUB(cmd_cache_sim) STUB(cmd_batch) STUB(cmd_validate) STUB(cmd_cost)
