/* libFuzzer harness: budgets driven by operation sequences, checked against
 * a model.  The input is the hard limits, then operations (reserve, commit,
 * release, charge, status) with amounts from the bytes, small or near
 * INT64_MAX.  After every operation the budget's committed and reserved
 * amounts must equal the model's, a reservation must be granted exactly when
 * the model says it fits under the hard limit (an overflow refused), and
 * failures must say why in one line. */
#include <tokenomy.h>

#include "fuzz_util.h"

/* an amount: small, a power of two near the int64 range, or raw bytes */
static int64_t amount(fz_reader *r) {
  uint8_t k = fz_byte(r);
  switch (k % 4) {
  case 0: return fz_byte(r);
  case 1: return (int64_t)fz_byte(r) << 8 | fz_byte(r);
  case 2: return INT64_MAX - fz_byte(r);
  default: return (int64_t)(fz_u64(r) >> (k % 2)); /* sometimes negative */
  }
}

#define MAXRES 8

typedef struct model {
  int64_t hard[2], committed[2], reserved[2];
} model;

static int add_ok(int64_t a, int64_t b, int64_t *out) { return !__builtin_add_overflow(a, b, out); }

static void check_state(tkn_budget *b, const model *m) {
  tkn_budget_state st = TKN_BUDGET_STATE_INIT;
  FZ_CHECK(tkn_budget_status(b, &st) == TKN_OK);
  FZ_CHECK(st.tokens_committed == m->committed[0]);
  FZ_CHECK(st.tokens_reserved == m->reserved[0]);
  FZ_CHECK(st.money_committed == m->committed[1]);
  FZ_CHECK(st.money_reserved == m->reserved[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz_reader r = {data, size};
  model m;
  memset(&m, 0, sizeof m);
  tkn_budget_options o = TKN_BUDGET_OPTIONS_INIT;
  m.hard[0] = amount(&r);
  m.hard[1] = amount(&r);
  if (m.hard[0] < 0) m.hard[0] = -(m.hard[0] + 1);
  if (m.hard[1] < 0) m.hard[1] = -(m.hard[1] + 1);
  o.hard_tokens = m.hard[0];
  o.hard_money = m.hard[1];
  tkn_budget *b = NULL;
  if (fz_keep_err(tkn_budget_new(&b, &o, NULL), NULL, 0) != TKN_OK) return 0;
  tkn_budget_reservation *res[MAXRES] = {0};
  int64_t held[MAXRES][2];
  while (r.n) {
    uint8_t op = fz_byte(&r);
    int slot = (op >> 3) % MAXRES;
    tkn_budget_amount a = TKN_BUDGET_AMOUNT_INIT;
    a.input_tokens = amount(&r);
    a.output_tokens = op & 0x80 ? amount(&r) : 0;
    a.money = amount(&r);
    int neg = a.input_tokens < 0 || a.output_tokens < 0 || a.money < 0;
    int64_t tok, want[2];
    int sum_ok = add_ok(a.input_tokens, a.output_tokens, &tok);
    want[0] = tok;
    want[1] = a.money;
    switch (op % 5) {
    case 0:
    case 3: { /* reserve (0) or charge (3) */
      if (op % 5 == 0 && res[slot]) break;
      int fits = !neg && sum_ok;
      for (int k = 0; fits && k < 2; k++) {
        int64_t used, after;
        fits = add_ok(m.committed[k], m.reserved[k], &used) && add_ok(used, want[k], &after) &&
               after <= m.hard[k];
      }
      int rc = op % 5 == 0 ? tkn_budget_reserve(b, &a, &res[slot]) : tkn_budget_charge(b, &a);
      fz_keep_err(rc, NULL, 0);
      if (neg) FZ_CHECK(rc == TKN_ERR_INVALID);
      else if (fits) FZ_CHECK(rc == TKN_OK);
      else FZ_CHECK(rc == TKN_ERR_BUDGET || rc == TKN_ERR_OVERFLOW);
      if (rc != TKN_OK) {
        if (op % 5 == 0) res[slot] = NULL;
        break;
      }
      for (int k = 0; k < 2; k++) {
        if (op % 5 == 0) m.reserved[k] += want[k], held[slot][k] = want[k];
        else m.committed[k] += want[k];
      }
      break;
    }
    case 1: { /* commit what was used */
      if (!res[slot]) break;
      int64_t c[2];
      /* the budget keeps committed + reserved as one running total too */
      int64_t total;
      int ok = !neg && sum_ok;
      for (int k = 0; ok && k < 2; k++)
        ok = add_ok(m.committed[k], want[k], &c[k]) &&
             add_ok(c[k], m.reserved[k] - held[slot][k], &total);
      int rc = fz_keep_err(tkn_budget_commit(res[slot], &a), NULL, 0);
      if (neg) FZ_CHECK(rc == TKN_ERR_INVALID);
      else if (ok) FZ_CHECK(rc == TKN_OK);
      else FZ_CHECK(rc == TKN_ERR_OVERFLOW);
      if (rc != TKN_OK) break; /* still open */
      for (int k = 0; k < 2; k++) {
        m.committed[k] = c[k];
        m.reserved[k] -= held[slot][k];
      }
      res[slot] = NULL;
      break;
    }
    case 2: /* release */
      if (!res[slot]) break;
      tkn_budget_release(res[slot]);
      for (int k = 0; k < 2; k++) m.reserved[k] -= held[slot][k];
      res[slot] = NULL;
      break;
    default:
      break;
    }
    check_state(b, &m);
  }
  for (int i = 0; i < MAXRES; i++) tkn_budget_release(res[i]);
  tkn_budget_free(b);
  return 0;
}
