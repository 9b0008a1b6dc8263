/* libFuzzer harness: the tool cache driven by operation sequences, checked
 * against a model.  The input is the arguments JSON (up to the first "\n--\n",
 * any size up to 1 MiB: canonicalising it must stay linear), then operations:
 * put, get, invalidate a tool or a scope, clear, purge, move the clock.  A
 * get must hit exactly when the model holds an unexpired entry for (tool,
 * scope), and return its value; failures say why in one line. */
#include <tokenomy.h>

#include "fuzz_util.h"

static int64_t g_now;
static int64_t clock_cb(void *user) {
  (void)user;
  return g_now;
}

typedef struct slot {
  int present;
  int64_t expires; /* 0: never */
  char value[16];
} slot;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *args, *ops;
  size_t alen, olen;
  fz_split(data, size, &args, &alen, &ops, &olen);
  tkn_toolcache_options o = TKN_TOOLCACHE_OPTIONS_INIT;
  o.clock = clock_cb;
  o.max_bytes = 64u << 20;
  o.max_args_bytes = 1u << 20;
  tkn_toolcache *c = NULL;
  FZ_CHECK(tkn_toolcache_new(&c, &o) == TKN_OK);
  g_now = 1000;
  static const char *const tools[2] = {"search", "lookup"};
  static const char *const scopes[2] = {"s1", "s2"};
  const int64_t ttl[2] = {0, 50};
  for (int t = 0; t < 2; t++)
    FZ_CHECK(tkn_toolcache_set_policy(c, tools[t], strlen(tools[t]), 1, ttl[t],
                                      TKN_TOOLCACHE_SCOPE_SESSION) == TKN_OK);
  slot m[2][2];
  memset(m, 0, sizeof m);
  int args_rc = -1; /* the status of a call with these arguments, once known */
  unsigned counter = 0;
  for (size_t i = 0; i < olen; i++) {
    uint8_t op = (uint8_t)ops[i];
    int t = (op >> 3) & 1, s = (op >> 4) & 1;
    slot *e = &m[t][s];
    switch (op % 7) {
    case 0: { /* put */
      char v[16];
      snprintf(v, sizeof v, "v%u", counter++);
      int rc = fz_keep_err(tkn_toolcache_put(c, tools[t], strlen(tools[t]), args, alen,
                                             scopes[s], 2, v, strlen(v), 1),
                           NULL, 0);
      if (args_rc < 0 && rc != TKN_ERR_NOMEM) args_rc = rc;
      FZ_CHECK(rc == args_rc);
      if (rc == TKN_OK) {
        e->present = 1;
        e->expires = ttl[t] ? g_now + ttl[t] : 0;
        memcpy(e->value, v, sizeof v);
      }
      break;
    }
    case 1: { /* get */
      char *v = NULL;
      size_t vl = 0;
      int rc = fz_keep_err(tkn_toolcache_get(c, tools[t], strlen(tools[t]), args, alen,
                                             scopes[s], 2, &v, &vl),
                           NULL, 0);
      int live = e->present && (!e->expires || g_now < e->expires);
      if (args_rc == TKN_OK || args_rc < 0) {
        if (rc == TKN_OK) {
          FZ_CHECK(live);
          FZ_CHECK(vl == strlen(e->value) && memcmp(v, e->value, vl) == 0);
        } else {
          FZ_CHECK(rc == TKN_ERR_NOT_FOUND || (args_rc < 0 && rc != TKN_ERR_NOMEM));
          if (args_rc == TKN_OK) FZ_CHECK(!live);
        }
      }
      tkn_free(v);
      break;
    }
    case 2:
      FZ_CHECK(tkn_toolcache_invalidate_tool(c, tools[t], strlen(tools[t]), NULL) == TKN_OK);
      m[t][0].present = m[t][1].present = 0;
      break;
    case 3:
      FZ_CHECK(tkn_toolcache_invalidate_scope(c, TKN_TOOLCACHE_SCOPE_SESSION, scopes[s], 2,
                                              NULL) == TKN_OK);
      m[0][s].present = m[1][s].present = 0;
      break;
    case 4:
      FZ_CHECK(tkn_toolcache_clear(c) == TKN_OK);
      memset(m, 0, sizeof m);
      break;
    case 5:
      FZ_CHECK(tkn_toolcache_purge_expired(c, NULL) == TKN_OK);
      break;
    default:
      g_now += op >> 2; /* time passes */
      break;
    }
  }
  tkn_toolcache_stats st = TKN_TOOLCACHE_STATS_INIT;
  FZ_CHECK(tkn_toolcache_stats_get(c, &st) == TKN_OK);
  FZ_CHECK(st.entries <= 4);
  tkn_toolcache_free(c);
  return 0;
}
