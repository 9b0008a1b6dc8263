/* The simulated model: deterministic from the seed, the workflow, the turn,
 * the model and the answering call of the turn; never touches the network. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

static uint64_t fnv(const char *s, size_t n, uint64_t h) {
  if (!h) h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) {
    h ^= (unsigned char)s[i];
    h *= 1099511628211ull;
  }
  return h;
}

/* Exact counts are the slow part of a run and every block text recurs on
 * each later call of its workflow: counts are memoised by the text's hash. */
#define MEMO_SLOTS (1u << 16)
typedef struct sim_memo {
  uint64_t key[MEMO_SLOTS];
  int64_t tokens[MEMO_SLOTS];
} sim_memo;

/* The standard normal quantile, by bisection on erfc (only at start-up). */
static double probit(double p) {
  double lo = -8, hi = 8;
  for (int i = 0; i < 100; i++) {
    double mid = (lo + hi) / 2;
    if (0.5 * erfc(-mid / sqrt(2.0)) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

int sim_init(sim *s, const cJSON *wl, uint64_t seed, const tkn_tokenizer *tok,
             const tkn_prices *prices, int batching) {
  memset(s, 0, sizeof *s);
  s->memo = calloc(1, sizeof *s->memo);
  if (!s->memo) return -1;
  const cJSON *au = cJSON_GetObjectItemCaseSensitive(wl, "confidence_auroc");
  s->auroc = cJSON_IsNumber(au) ? au->valuedouble : 0.7;
  if (s->auroc < 0.5) s->auroc = 0.5;
  if (s->auroc > 0.999) s->auroc = 0.999;
  /* two normals of equal spread sigma, means d apart: AUROC = Phi(d / (sigma sqrt 2)) */
  s->conf_shift = SIM_CONF_SIGMA * sqrt(2.0) * probit(s->auroc);
  s->wl = wl;
  s->seed = seed;
  s->tok = tok;
  s->prices = prices;
  s->batching = batching;
  s->now_ms = 1764000000000; /* any epoch: the planner needs only order */
  const cJSON *m;
  cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(wl, "models")) {
    if (s->n_models == SIM_MAX_MODELS) break;
    sim_model *sm = &s->models[s->n_models++];
    snprintf(sm->name, sizeof sm->name, "%s", m->string);
    sm->capability = cJSON_GetObjectItemCaseSensitive(m, "capability")->valuedouble;
    const cJSON *inv = cJSON_GetObjectItemCaseSensitive(m, "invalid_json");
    sm->invalid_json = cJSON_IsNumber(inv) ? inv->valuedouble : 0.0;
  }
  return 0;
}

void sim_free(sim *s) {
  free(s->memo);
  free(s->conf);
  free(s->right);
  for (size_t i = 0; i < s->n_models; i++) tkn_cacheplan_free(s->models[i].plan);
  memset(s, 0, sizeof *s);
}

static sim_model *model_of(sim *s, const char *name, size_t len) {
  for (size_t i = 0; i < s->n_models; i++)
    if (strlen(s->models[i].name) == len && !memcmp(s->models[i].name, name, len))
      return &s->models[i];
  return NULL;
}

static int64_t count(sim *s, const char *t, size_t n) {
  uint64_t key = fnv(t, n, 0) | 1u;
  size_t slot = (size_t)(key & (MEMO_SLOTS - 1));
  for (size_t probe = 0; s->memo && probe < 8; probe++, slot = (slot + 1) & (MEMO_SLOTS - 1)) {
    if (s->memo->key[slot] == key) return s->memo->tokens[slot];
    if (!s->memo->key[slot]) break;
  }
  int64_t c = 0;
  if (tkn_tokenizer_count(s->tok, t, n, &c) != TKN_OK) c = (int64_t)(n / 4);
  if (s->memo && !s->memo->key[slot]) {
    s->memo->key[slot] = key;
    s->memo->tokens[slot] = c;
  }
  return c;
}

/* A standard normal draw from two uniform ones (Box-Muller). */
static double normal(uint64_t h) {
  double u1 = sim_unit(h ^ 0x51), u2 = sim_unit(h ^ 0x52);
  if (u1 < 1e-12) u1 = 1e-12;
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* The fewest words an answer of this type can have and still do its job:
 * a brevity rule or a cap below it degrades the answer. */
static int needed_words(const char *type) {
  if (!strcmp(type, "review")) return 150;
  if (!strcmp(type, "reply")) return 50;
  if (!strcmp(type, "summarise")) return 40;
  return 1;
}

/* The request's blocks (each tool, each system part, each message) through
 * the model's prompt-cache planner: the input and cached tokens of this call. */
static int cache_account(sim *s, sim_model *m, const cJSON *body, int64_t *input, int64_t *cached) {
  if (!m->plan) {
    tkn_cacheplan_options o = TKN_CACHEPLAN_OPTIONS_INIT;
    tkn_model_price p = TKN_MODEL_PRICE_INIT;
    o.provider = TKN_PROVIDER_OPENAI;
    o.model = m->name;
    o.model_len = strlen(m->name);
    /* picodollars per million tokens -> per token (cacheplan.h), rounded */
    int known = tkn_prices_lookup(s->prices, m->name, strlen(m->name), &p) == TKN_OK;
    int64_t per_token = known ? (p.input_per_mtok + 500000) / 1000000 : 1000000;
    o.price_input = per_token > 0 ? per_token : 1;
    if (p.has & TKN_PRICE_CACHE_READ) o.price_cache_read = (p.cache_read_per_mtok + 500000) / 1000000;
    if (tkn_cacheplan_new(&m->plan, &o) != TKN_OK) return -1;
  }
  tkn_cacheplan_block blocks[1024];
  size_t n = 0;
  uint64_t fp = 0;
  const char *keys[] = {"tools", "messages"};
  for (int k = 0; k < 2; k++) {
    const cJSON *item;
    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(body, keys[k])) {
      const cJSON *content = cJSON_GetObjectItemCaseSensitive(item, "content");
      /* one block per part of an array content (the system segments) */
      const cJSON *parts = cJSON_IsArray(content) ? content : NULL;
      const cJSON *part = parts ? parts->child : NULL;
      do {
        char *js = cJSON_PrintUnformatted(part ? part : item);
        if (!js) return -1;
        size_t jl = strlen(js);
        fp = fnv(js, jl, fp ? fp : 1);
        if (n < 1024) {
          blocks[n].fingerprint = fp;
          blocks[n].tokens = count(s, js, jl) + (part ? 0 : 3);
          blocks[n].flags = 0;
          blocks[n].segment = TKN_PROMPT_NONE;
          n++;
        }
        free(js);
        part = part ? part->next : NULL;
      } while (part);
    }
  }
  tkn_cacheplan_result before;
  memset(&before, 0, sizeof before);
  before.version = TKN_CACHEPLAN_RESULT_VERSION;
  tkn_cacheplan_result after = before;
  if (tkn_cacheplan_result_get(m->plan, &before) ||
      tkn_cacheplan_add_blocks(m->plan, s->now_ms, blocks, n) ||
      tkn_cacheplan_result_get(m->plan, &after))
    return -1;
  *input = after.input_tokens - before.input_tokens;
  *cached = after.cached_tokens - before.cached_tokens;
  return 0;
}

static const char *const FILLER[] = {"the", "order", "policy", "we", "can", "will", "your",
                                     "check", "update", "team", "next", "step", "review",
                                     "confirm", "details", "record", "within", "days",
                                     "note", "change", "risk", "line", "fix", "test"};

/* n words of deterministic filler prose. */
static void prose(tkn_llm_response *resp, const char *head, int n, uint64_t h, char **out) {
  (void)resp;
  size_t cap = strlen(head) + (size_t)n * 9 + 16, o = 0;
  char *b = malloc(cap);
  if (!b) {
    *out = NULL;
    return;
  }
  o += (size_t)snprintf(b, cap, "%s", head);
  for (int i = 0; i < n && o + 10 < cap; i++) {
    h = sim_mix(h);
    o += (size_t)snprintf(b + o, cap - o, "%s%s", o ? " " : "", FILLER[h % 24]);
    if (i % 13 == 12) b[o++] = '.', b[o] = '\0';
  }
  *out = b;
}

/* The first property name of a schema that is not "confidence". */
static void schema_field(const char *schema, size_t len, char *out, size_t cap) {
  snprintf(out, cap, "value");
  cJSON *j = cJSON_ParseWithLength(schema, len);
  const cJSON *p;
  cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(j, "properties")) {
    if (strcmp(p->string, "confidence") != 0) {
      snprintf(out, cap, "%s", p->string);
      break;
    }
  }
  cJSON_Delete(j);
}

/* A wrong answer of the same shape: another label, or the id with digits changed. */
static void wrong_answer(const char *answer, uint64_t h, const cJSON *schema_labels, char *out,
                         size_t cap) {
  int n = cJSON_GetArraySize(schema_labels);
  if (n > 1) {
    for (int k = 0; k < n; k++) {
      const cJSON *l = cJSON_GetArrayItem(schema_labels, (int)((h + (uint64_t)k) % (uint64_t)n));
      if (cJSON_IsString(l) && strcmp(l->valuestring, answer) != 0) {
        snprintf(out, cap, "%s", l->valuestring);
        return;
      }
    }
  }
  snprintf(out, cap, "%s", answer);
  for (char *c = out; *c; c++)
    if (*c >= '0' && *c <= '9') {
      *c = (char)('0' + (*c - '0' + 1 + (int)(h % 8)) % 10);
    }
}

static const cJSON *labels_of(const char *schema, size_t len, cJSON **tree) {
  *tree = cJSON_ParseWithLength(schema, len);
  const cJSON *props = cJSON_GetObjectItemCaseSensitive(*tree, "properties");
  const cJSON *label = cJSON_GetObjectItemCaseSensitive(props, "label");
  return cJSON_GetObjectItemCaseSensitive(label, "enum");
}

static int natural_words(const char *type) {
  if (!strcmp(type, "classify")) return 120;
  if (!strcmp(type, "extract")) return 100;
  if (!strcmp(type, "review")) return 520;
  if (!strcmp(type, "summarise")) return 200;
  return 230; /* reply */
}

/* The usage object of a reply, in OpenAI chat's shape. */
static void usage_json(char *buf, size_t cap, int64_t input, int64_t out, int64_t cached) {
  snprintf(buf, cap,
           "{\"prompt_tokens\":%lld,\"completion_tokens\":%lld,"
           "\"prompt_tokens_details\":{\"cached_tokens\":%lld}}",
           (long long)input, (long long)out, (long long)cached);
}

/* The model asks for the turn's tool; the host runs it and asks again. */
static int ask_tool(sim *s, tkn_llm_response *resp, const char *fid, int64_t input,
                    int64_t cached) {
  const cJSON *tool = cJSON_GetObjectItemCaseSensitive(s->turn, "tool");
  cJSON *calls = cJSON_CreateArray(), *c = cJSON_CreateObject(), *fn = NULL;
  char id[96];
  snprintf(id, sizeof id, "call_%s_%d", fid, s->turn_index);
  cJSON_AddItemToArray(calls, c);
  cJSON_AddStringToObject(c, "id", id);
  cJSON_AddStringToObject(c, "type", "function");
  fn = cJSON_AddObjectToObject(c, "function");
  cJSON_AddStringToObject(fn, "name", cJSON_GetObjectItemCaseSensitive(tool, "name")->valuestring);
  cJSON_AddStringToObject(fn, "arguments",
                          cJSON_GetObjectItemCaseSensitive(tool, "arguments")->valuestring);
  char *js = cJSON_PrintUnformatted(calls);
  cJSON_Delete(calls);
  int64_t out = js ? count(s, js, strlen(js)) : 0;
  char usage[256];
  usage_json(usage, sizeof usage, input, out, cached);
  int rc = js ? tkn_llm_response_set_tool_calls(resp, js, strlen(js)) : TKN_ERR_NOMEM;
  free(js);
  if (!rc) rc = tkn_llm_response_set_finish_reason(resp, "tool_calls", 10);
  if (!rc) rc = tkn_llm_response_set_usage_json(resp, TKN_USAGE_OPENAI_CHAT, usage, strlen(usage));
  if (rc) {
    snprintf(s->err, sizeof s->err, "response: %s", tkn_error_last()->message);
    s->failed = 1;
    return 1;
  }
  return 0;
}

/* A summary keeps each fact it can see, the stronger the model the likelier. */
static void summary_text(const sim_model *m, const tkn_llm_request *rq, const cJSON *facts,
                         uint64_t h, tkn_llm_response *resp, char **text) {
  char head[512] = "Summary:";
  const cJSON *f;
  cJSON_ArrayForEach(f, facts) {
    if (strstr(rq->body, f->valuestring) && sim_unit(h ^ fnv(f->string, strlen(f->string), 0)) <
                                                0.6 + 0.4 * m->capability) {
      size_t o = strlen(head);
      snprintf(head + o, sizeof head - o, " %s: %s;", f->string, f->valuestring);
    }
  }
  prose(resp, head, 60, h, text);
}

/* Each answer's reported confidence and whether it was right (sim_auroc). */
static void keep_confidence(sim *s, double conf, int correct) {
  if (s->n_conf == s->cap_conf) {
    size_t cap = s->cap_conf ? s->cap_conf * 2 : 256;
    double *nc = realloc(s->conf, cap * sizeof *nc);
    if (nc) s->conf = nc;
    unsigned char *nr = nc ? realloc(s->right, cap) : NULL;
    if (nr) s->right = nr, s->cap_conf = cap;
  }
  if (s->n_conf < s->cap_conf) {
    s->conf[s->n_conf] = conf;
    s->right[s->n_conf++] = (unsigned char)correct;
  }
}

/* Whether the answer is right: never with a needed fact missing from the
 * request, else by the model's capability against the task's difficulty.
 * *conf: the self-reported confidence, right and wrong answers overlapping
 * as much as the workload's AUROC says (no oracle). */
static int draw_answer(sim *s, const sim_model *m, const tkn_llm_request *rq, const cJSON *facts,
                       uint64_t h, double *conf) {
  const cJSON *dj = cJSON_GetObjectItemCaseSensitive(s->turn, "difficulty");
  double difficulty = cJSON_IsNumber(dj) ? dj->valuedouble : 0.5;
  int missing = 0;
  const cJSON *n;
  cJSON_ArrayForEach(n, cJSON_GetObjectItemCaseSensitive(s->turn, "needs")) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(facts, n->valuestring);
    if (cJSON_IsString(v) && !strstr(rq->body, v->valuestring)) missing++;
  }
  double p = 1.0 / (1.0 + exp(-(m->capability - difficulty) * 10.0));
  int correct = !missing && sim_unit(h ^ 0x11) < p;
  double c = SIM_CONF_CENTER + (correct ? 0.5 : -0.5) * s->conf_shift +
             SIM_CONF_SIGMA * normal(h ^ 0x22);
  if (c < 0.01) c = 0.01;
  if (c > 0.99) c = 0.99;
  *conf = c;
  s->last_correct = correct;
  s->last_missing = missing;
  s->last_truncated = 0;
  keep_confidence(s, c, correct);
  return correct;
}

/* The answer to the turn: the schema's JSON (now and then cut short), or
 * prose as long as the task type runs, or as the tightest length
 * instruction in the request allows (too brief for the task: degraded). */
static void answer_text(sim *s, const sim_model *m, const tkn_llm_request *rq, const cJSON *facts,
                        uint64_t h, tkn_llm_response *resp, char **text) {
  const char *type = cJSON_GetObjectItemCaseSensitive(s->turn, "task_type")->valuestring;
  const cJSON *ans = cJSON_GetObjectItemCaseSensitive(s->turn, "answer");
  double conf;
  int correct = draw_answer(s, m, rq, facts, h, &conf);
  char answer[128] = "";
  cJSON *stree = NULL;
  const cJSON *labels = rq->response_schema
                            ? labels_of(rq->response_schema, rq->response_schema_len, &stree)
                            : NULL;
  if (cJSON_IsString(ans)) {
    if (correct)
      snprintf(answer, sizeof answer, "%s", ans->valuestring);
    else
      wrong_answer(ans->valuestring, h, labels, answer, sizeof answer);
  }
  if (rq->response_schema) {
    char field[64];
    schema_field(rq->response_schema, rq->response_schema_len, field, sizeof field);
    char js[256];
    snprintf(js, sizeof js, "{\"%s\":\"%s\",\"confidence\":%.2f}", labels ? "label" : field,
             answer[0] ? answer : "n/a", conf);
    if (sim_unit(h ^ 0x33) < m->invalid_json) js[strlen(js) - 1] = '\0'; /* cut short */
    *text = strdup(js);
  } else {
    int words = natural_words(type);
    /* the tightest of the length instructions it was given */
    for (const char *brev = strstr(rq->body, "Answer in at most "); brev;
         brev = strstr(brev + 18, "Answer in at most ")) {
      int limit = atoi(brev + 18);
      if (limit > 0 && limit < words) words = limit;
    }
    if (words < needed_words(type)) s->last_truncated = 1; /* over-brief */
    char head[256];
    snprintf(head, sizeof head, "%s%s%sConfidence %.2f.", answer[0] ? "The answer is " : "",
             answer, answer[0] ? ". " : "", conf);
    prose(resp, head, words, h, text);
  }
  cJSON_Delete(stree);
}

/* The reply: the text cut where the output cap stops the model, its usage,
 * batched when asked and batching is on.  Takes the text. */
static int reply(sim *s, const tkn_llm_request *rq, tkn_llm_response *resp, char *text,
                 int64_t input, int64_t cached) {
  int64_t cap = rq->max_output_tokens > 0 ? rq->max_output_tokens : 4096;
  size_t tl = strlen(text);
  int64_t out = count(s, text, tl);
  const char *finish = "stop";
  if (out > cap) {
    /* the cap stops the model mid-answer */
    size_t cut = tl;
    while (cut > 0 && count(s, text, cut) > cap) cut = cut * 9 / 10;
    text[cut] = '\0';
    tl = cut;
    out = count(s, text, tl);
    finish = "length";
    if (rq->purpose != TKN_LLM_PURPOSE_SUMMARY) s->last_truncated = 1;
  }
  char usage[256];
  usage_json(usage, sizeof usage, input, out, cached);
  int rc = tkn_llm_response_set_content(resp, text, tl);
  free(text);
  if (!rc) rc = tkn_llm_response_set_finish_reason(resp, finish, strlen(finish));
  if (!rc) rc = tkn_llm_response_set_usage_json(resp, TKN_USAGE_OPENAI_CHAT, usage, strlen(usage));
  if (!rc && rq->batch && s->batching) {
    rc = tkn_llm_response_set_batched(resp, 1);
    s->batch_calls++;
  }
  if (rc) {
    snprintf(s->err, sizeof s->err, "response: %s", tkn_error_last()->message);
    s->failed = 1;
    return 1;
  }
  return 0;
}

int sim_complete(const tkn_llm_request *rq, tkn_llm_response *resp, void *user) {
  sim *s = user;
  sim_model *m = model_of(s, rq->model, rq->model_len);
  if (!m) {
    tkn_llm_response_set_error(resp, TKN_LLM_FAIL_BAD_REQUEST, "unknown model", 13);
    return 1;
  }
  m->calls++;
  cJSON *body = cJSON_ParseWithLength(rq->body, rq->body_len);
  if (!body) {
    tkn_llm_response_set_error(resp, TKN_LLM_FAIL_BAD_REQUEST, "body is not JSON", 16);
    return 1;
  }
  int64_t input = 0, cached = 0;
  if (cache_account(s, m, body, &input, &cached)) {
    cJSON_Delete(body);
    snprintf(s->err, sizeof s->err, "the cache planner failed");
    s->failed = 1;
    tkn_llm_response_set_error(resp, TKN_LLM_FAIL_SERVER, "simulator failure", 17);
    return 1;
  }
  cJSON_Delete(body);

  const cJSON *facts = cJSON_GetObjectItemCaseSensitive(s->flow, "facts");
  const char *fid = cJSON_GetObjectItemCaseSensitive(s->flow, "id")->valuestring;
  /* the draw depends on the turn, the model and how many times this turn
   * was answered, not on calls made for other purposes (summaries) */
  uint64_t nth = rq->purpose == TKN_LLM_PURPOSE_SUMMARY ? 1000u + rq->attempt
                                                        : (uint64_t)++s->turn_calls;
  uint64_t h = sim_mix(s->seed ^ fnv(fid, strlen(fid), 0) ^ ((uint64_t)s->turn_index << 40) ^
                       fnv(m->name, strlen(m->name), 0) ^ (nth << 20));
  char *text = NULL;
  if (rq->purpose == TKN_LLM_PURPOSE_SUMMARY)
    summary_text(m, rq, facts, h, resp, &text);
  else if (s->tool_pending)
    return ask_tool(s, resp, fid, input, cached);
  else
    answer_text(s, m, rq, facts, h, resp, &text);
  if (!text) {
    tkn_llm_response_set_error(resp, TKN_LLM_FAIL_SERVER, "out of memory", 13);
    return 1;
  }
  return reply(s, rq, resp, text, input, cached);
}

/* Mann-Whitney: the chance that a right answer reports more confidence than
 * a wrong one (ties count half).  Quadratic, over one run's answers. */
double sim_auroc(const sim *s) {
  double wins = 0, pairs = 0;
  for (size_t i = 0; i < s->n_conf; i++) {
    if (!s->right[i]) continue;
    for (size_t j = 0; j < s->n_conf; j++) {
      if (s->right[j]) continue;
      wins += s->conf[i] > s->conf[j] ? 1.0 : s->conf[i] == s->conf[j] ? 0.5 : 0.0;
      pairs += 1;
    }
  }
  return pairs > 0 ? wins / pairs : 0.5;
}
