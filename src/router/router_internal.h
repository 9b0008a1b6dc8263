/* Router internals shared by the files of src/router: the compiled form of a
 * config, task attributes, condition bytecode and its evaluation. */
#ifndef TOKENOMY_ROUTER_INTERNAL_H
#define TOKENOMY_ROUTER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "../internal.h"
#include "tokenomy/router.h"

#define TKI_R_MAX_TIERS 64
#define TKI_R_MAX_MODELS_PER_TIER 64
#define TKI_R_MAX_RULES 4096
#define TKI_R_MAX_ATTRS 256
#define TKI_R_MAX_NODES 4096
#define TKI_R_MAX_SET 4096
#define TKI_R_CONFIG_MAX (1u << 20)
#define TKI_R_DEPTH_MAX 64
#define TKI_TASK_MAX_ATTRS 1024
#define TKI_TASK_MAX_LIST 65536

/* A string with its length and hash (XXH64, seed 0). */
typedef struct tki_rstr {
  char *s;
  size_t len;
  uint64_t hash;
} tki_rstr;

/* ---- tasks ---- */
enum { TKI_V_STRING = 1, TKI_V_NUMBER, TKI_V_BOOL, TKI_V_LIST };

typedef struct tki_tval {
  tki_rstr name;
  int type;
  double num;
  int b;
  tki_rstr str;   /* TKI_V_STRING */
  tki_rstr *items; /* TKI_V_LIST */
  size_t n;
} tki_tval;

struct tkn_task {
  tki_tval *attrs;
  size_t n, cap;
  char *id;
  size_t id_len;
  int has_id;
};

const tki_tval *tki_task_find(const tkn_task *t, const char *name, size_t len, uint64_t hash);

/* ---- conditions ---- */
enum {
  TKI_OP_EQ = 1, TKI_OP_NE, TKI_OP_IN, TKI_OP_NOT_IN, TKI_OP_LT, TKI_OP_LE, TKI_OP_GT,
  TKI_OP_GE, TKI_OP_EXISTS, TKI_OP_CONTAINS, TKI_OP_PREFIX,
  /* bytecode only: "the attribute is present" (exists true, or false with
   * the successors swapped), and eq specialised by the operand's type */
  TKI_OP_PRESENT, TKI_OP_EQ_STR, TKI_OP_EQ_NUM, TKI_OP_EQ_BOOL, TKI_OP_IN_STR,
  TKI_OP_PREFIX_STR, TKI_OP_CONTAINS_STR
};

/* Condition tree node kinds (kept for explain). */
enum { TKI_N_LEAF = 1, TKI_N_ALL, TKI_N_ANY, TKI_N_NOT };

/* An operand of a leaf: a string, a number or a boolean. */
typedef struct tki_operand {
  int kind; /* TKI_V_STRING, TKI_V_NUMBER, TKI_V_BOOL */
  double num;
  int b;
  tki_rstr str;
} tki_operand;

typedef struct tki_node {
  int kind;
  int op;          /* leaf */
  uint32_t attr;   /* leaf: interned attribute id */
  uint32_t opnd;   /* leaf: first operand */
  uint32_t nopnd;  /* leaf: operand count */
  uint32_t first;  /* combinator: first child index in the rule's child list */
  uint32_t count;  /* combinator: number of children */
  char *path;      /* JSON path of the node, for explain */
} tki_node;

/* The compiled form: one instruction per leaf test, with the index of the
 * instruction to run next when the test holds (t) and when it does not (f).
 * all/any/not and constants vanish into those successors; a successor with
 * TKI_PC_MATCH set ends the program: rule (pc & ~TKI_PC_MATCH) matched, or
 * no rule did (TKI_PC_NONE).  Negated tests (ne, not_in, exists false) are
 * the positive test with t and f swapped. */
#define TKI_PC_MATCH 0x80000000u
#define TKI_PC_NONE 0xFFFFFFFFu
typedef struct tki_insn {
  uint16_t code;  /* TKI_OP_EQ_*, IN, LT, LE, GT, GE, CONTAINS, PREFIX, PRESENT */
  uint16_t attr;
  uint32_t a;     /* first operand */
  uint32_t n;     /* operand count */
  uint32_t t, f;  /* successors */
  uint32_t len;   /* EQ_STR, PREFIX_STR, CONTAINS_STR: operand length; EQ_BOOL: the value */
  union {
    double num;    /* EQ_NUM, LT, LE, GT, GE */
    uint64_t hash; /* EQ_STR, CONTAINS_STR */
  } u;
  const char *s;  /* EQ_STR, PREFIX_STR, CONTAINS_STR */
} tki_insn;

/* ---- compiled router ---- */
typedef struct tki_tier {
  tki_rstr name;
  uint32_t *models; /* model ids */
  size_t n_models;
  double threshold;
} tki_tier;

typedef struct tki_rule {
  int32_t tier;
  int32_t shadow_tier; /* -1: none */
  double shadow_rate;
  uint64_t shadow_cut; /* sampled when (hash >> 11) < shadow_cut */
  int cascade;
  char *reason;
  uint32_t node_root;            /* index in router->nodes; UINT32_MAX: no condition */
  int constant;                  /* 1 always true, 0 never, -1 depends */
  _Atomic uint64_t sampled, compared, agreed;
} tki_rule;

typedef struct tki_model {
  tki_rstr name;
  int64_t *fails; /* ring of failure times (allowed_fails entries), under the mutex */
  size_t n_fails, head;
  _Atomic int64_t cool_until;
} tki_model;

/* A step of the confidence path: a key or an array index. */
typedef struct tki_pstep {
  char *key; /* NULL: index */
  size_t index;
} tki_pstep;

struct tkn_router {
  tki_tier *tiers;
  size_t n_tiers, tiers_cap; /* cap: entries allocated (zeroed past n) */
  tki_rule *rules;
  size_t n_rules, rules_cap;
  int32_t default_tier;
  tki_model *models;
  size_t n_models;
  tki_rstr *attrs;
  size_t n_attrs;
  uint16_t *attr_table; /* open addressing on the name hash: id + 1, 0 empty */
  size_t attr_mask;
  tki_operand *opnds;
  size_t n_opnds;
  tki_insn *code;
  size_t n_code;
  uint32_t entry; /* first instruction, or a TKI_PC_MATCH successor */
  tki_node *nodes;
  size_t n_nodes;
  uint32_t *children; /* child node indices of combinators */
  size_t n_children;
  /* cascade */
  int32_t max_escalations;
  tki_pstep *path;
  size_t n_path;
  char *path_text;
  /* failures */
  int32_t allowed_fails;
  int64_t window_ms;
  int64_t cooldown_ms;
  double cooldown_s;
  int32_t window_s;
  int32_t retries[TKN_LLM_FAIL__COUNT];
  /* run time */
  tkn_router_options opts;
  pthread_mutex_t lock;
  _Atomic int cool_any; /* a cooldown was ever set: the clock must be read */
};

/* config.c */
int tki_router_compile(const cJSON *root, const tkn_router_options *opts, tkn_router **out,
                       char err[TKI_ERRLEN]);
void tki_router_destroy(tkn_router *r);

/* eval.c */
/* Index of the first matching rule, or -1. */
int32_t tki_router_match(const tkn_router *r, const tkn_task *t);
const char *tki_op_name(int op);

/* router.c */
int64_t tki_router_now(const tkn_router *r);
/* First available model from tier `from` up: sets *tier and *model. */
int tki_router_pick(const tkn_router *r, int32_t from, int64_t now, int32_t *tier,
                    uint32_t *model);

/* Append a double as JSON (shortest text that reads back; null if not finite). */
void tki_buf_double(tki_buf *b, double v);

#endif
