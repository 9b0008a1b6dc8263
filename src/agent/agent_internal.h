/* The agent part's private types: the response the host fills, the agent and
 * the result of a turn. */
#ifndef TKN_AGENT_INTERNAL_H
#define TKN_AGENT_INTERNAL_H

#include <stdatomic.h>

#include "internal.h"
#include "tokenomy/agent.h"
#include "tokenomy/llm.h"

typedef struct tki_lstr {
  char *s;
  size_t len;
} tki_lstr;

struct tkn_llm_response {
  tki_lstr content;
  tki_lstr tool_calls;
  tki_lstr finish;
  tki_lstr usage_json;
  tki_lstr error_msg;
  tkn_usage usage;
  int has_usage;
  int batched;
  int32_t error;
};

/* A prompt piece sent with every turn. */
typedef struct tki_piece {
  int is_tool;
  uint32_t kind;
  uint32_t stability;
  char *name;
  size_t name_len;
  char *text;
  size_t text_len;
} tki_piece;

struct tkn_agent {
  tkn_agent_options o; /* strings below replace the borrowed ones */
  tki_lstr model;
  tki_lstr workflow;
  tki_lstr tenant;
  tkn_tokenizer *own_tok;
  const tkn_tokenizer *tok;
  tkn_prices *own_prices;
  const tkn_prices *prices;
  tkn_prune_options prune;
  tkn_pruner *pruner;
  /* the default policy's ledger (prune.ledger points here), for the conversation
   * it last ran on: a turn on another conversation (another handle, or fewer
   * messages than it left) starts a fresh one */
  tkn_prune_ledger own_ledger;
  uint64_t ledger_conv; /* tki_conv_serial of that conversation (0: none yet) */
  size_t ledger_n;
  tkn_prompt_builder *check; /* the pieces, added as they come, to check them */
  tki_piece *pieces;
  size_t n_pieces;
  size_t cap_pieces;
  uint32_t *always; /* the copy of o.toolsel_always */
  atomic_int busy; /* in tkn_agent_turn: a call back into the agent from its callbacks is refused */
};

struct tkn_agent_result {
  tki_lstr content;
  tki_lstr tool_calls;
  tki_lstr model;
  char *trace;
  size_t trace_len;
  const char *finish;
  tkn_agent_stats stats;
};

/* Tool selection (turn_tools.c), for an agent with a catalogue: the
 * selected catalogue indices for the conversation's last two turns
 * (*sel to free with tki_free), their tools added to a prompt builder (by
 * the provider's mode), and the "tools" step's fields written to a trace. */
int tki_agent_tools_select(const tkn_agent *a, tkn_conv *conv, uint32_t **sel, size_t *n);
int tki_agent_tools_add(const tkn_agent *a, tkn_prompt_builder *b, const uint32_t *sel, size_t n);
void tki_agent_tools_trace(const tkn_agent *a, const uint32_t *sel, size_t n, tki_buf *trace);

#endif
