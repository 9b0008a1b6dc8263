/* The deterministic simulated model behind `tokenomy simulate`: a host whose
 * complete() answers by task type, right or wrong by the tier's capability
 * against the task's difficulty, with usage objects whose cached tokens come
 * from the prompt-cache planner (cacheplan.h) run over the request bodies. */
#ifndef TKN_CLI_SIM_H
#define TKN_CLI_SIM_H

#include "cli/cli.h"

#define SIM_MAX_MODELS 16
#define SIM_CONF_CENTER 0.8  /* mean self-reported confidence */
#define SIM_CONF_SIGMA 0.12 /* its spread around the mean of right / of wrong answers */

typedef struct sim_model {
  char name[64];
  double capability;
  double invalid_json;
  tkn_cacheplan *plan;
  int64_t calls;
} sim_model;

typedef struct sim {
  const cJSON *wl;
  uint64_t seed;
  int batching;              /* honour the request's batch flag */
  const tkn_tokenizer *tok;
  const tkn_prices *prices;
  sim_model models[SIM_MAX_MODELS];
  size_t n_models;
  int64_t now_ms;
  /* the turn being answered */
  const cJSON *flow;
  const cJSON *turn;
  int turn_index;
  int tool_pending;          /* the turn's tool has not run yet: ask for it */
  int turn_calls;            /* answering calls of this turn so far (summaries
                                excluded, so a summary does not change the draw) */
  /* what the last answering call did */
  int last_correct;
  int last_missing;          /* needed facts absent from the request */
  int last_truncated;        /* cut by the output cap, or shorter than the task needs */
  double auroc;              /* how well the self-reported confidence separates right
                                from wrong answers (workload "confidence_auroc") */
  double conf_shift;         /* the gap of mean confidence, right minus wrong, that gives it */
  struct sim_memo *memo;     /* token counts of block texts seen before */
  double *conf;              /* each answer's reported confidence, and whether it */
  unsigned char *right;      /* was right: the realised AUROC (sim_auroc) */
  size_t n_conf, cap_conf;
  int64_t batch_calls;
  char err[256];
  int failed;                /* the simulation itself failed (not a model failure) */
} sim;

int sim_init(sim *s, const cJSON *wl, uint64_t seed, const tkn_tokenizer *tok,
             const tkn_prices *prices, int batching);
void sim_free(sim *s);
/* The AUROC of the confidences reported so far (0.5 if undefined). */
double sim_auroc(const sim *s);
/* tkn_llm_callbacks.complete */
int sim_complete(const tkn_llm_request *rq, tkn_llm_response *resp, void *user);

#endif
