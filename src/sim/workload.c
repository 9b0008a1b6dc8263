/* Workloads for `tokenomy simulate`: the format's checker and the bundled,
 * deterministically generated workloads (a support agent, a document
 * pipeline, a code reviewer).  The format is documented in
 * the README, "Workload format"; in short:
 *
 * {"name", "description", "seed", "baseline_model",
 *  "system": text, "reference": text, "tools": [tool definitions],
 *  "schemas": {task_type: JSON Schema},        structured output per task type
 *  "caps": {task_type: output cap},            optimised output caps
 *  "brevity": text,                            instruction for free-text answers
 *  "router": router config (router.h),
 *  "models": {model: {"capability": 0..1, "invalid_json": 0..1}},
 *  "optimise": {"max_context_tokens", "context_target_tokens" (0: half the max),
 *               "soft_budget_tokens", "keep_last_turns"},
 *  "confidence_auroc": 0.5..1,                 how well self-reported confidence
 *                                              separates right from wrong (0.7)
 *  "tool_ttl_ms": N,                           the tool cache's time to live (600000)
 *  "workflows": [{"id", "workflow", "tenant", "gap_ms",
 *     "facts": {name: text},
 *     "turns": [{"user": text, "task_type", "difficulty": 0..1,
 *                "answer": text, "needs": [fact names], "batch": bool,
 *                "tags": [strings],
 *                "tool": {"name", "arguments": JSON text, "result": text,
 *                         "refetch": bool (the same call made earlier: the
 *                         tool cache may serve it)}}]}]}
 *
 * A turn with a "tool" is two model calls, as in a real agent loop: the
 * model first asks for the tool (finish reason "tool_calls"), the host runs
 * it and appends its result (a "tool" message), then the model answers.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

const char *const wl_bundled[] = {"support-agent", "document-pipeline", "code-reviewer", NULL};

uint64_t sim_mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

double sim_unit(uint64_t x) {
  return (double)(sim_mix(x) >> 11) / 9007199254740992.0;
}

/* ---- the checker ---- */

static int bad(char *err, size_t len, const char *where, const char *what) {
  snprintf(err, len, "workload: %s: %s", where, what);
  return 1;
}

static int want_string(const cJSON *o, const char *k, int required, const char *where, char *err,
                       size_t len) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  char w[160];
  snprintf(w, sizeof w, "%s.%s", where, k);
  if (!v) return required ? bad(err, len, w, "missing") : 0;
  if (!cJSON_IsString(v)) return bad(err, len, w, "expected a string");
  return 0;
}

/* An optional whole number in [lo, hi] (the simulator casts these to
 * integers: a value outside is an error here, never undefined behaviour). */
static int want_int(const cJSON *o, const char *k, int64_t lo, int64_t hi, const char *where,
                    char *err, size_t len, int64_t *out) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  if (!v) return 0;
  if (cli_json_int(v, lo, hi, out)) return 0;
  char w[160], what[96];
  snprintf(w, sizeof w, "%s.%s", where, k);
  snprintf(what, sizeof what, "expected a whole number from %lld to %lld", (long long)lo,
           (long long)hi);
  return bad(err, len, w, what);
}

#define WL_MAX_COUNT (INT64_C(1) << 53)
#define WL_MAX_GAP_MS (INT64_C(1) << 40) /* 35 years */

int wl_check(const cJSON *wl, char *err, size_t len) {
  if (!cJSON_IsObject(wl)) return bad(err, len, "$", "expected an object");
  if (want_string(wl, "name", 1, "$", err, len) || want_string(wl, "system", 1, "$", err, len) ||
      want_string(wl, "reference", 0, "$", err, len) ||
      want_string(wl, "baseline_model", 1, "$", err, len) ||
      want_string(wl, "brevity", 0, "$", err, len))
    return 1;
  const cJSON *tools = cJSON_GetObjectItemCaseSensitive(wl, "tools");
  if (tools && !cJSON_IsArray(tools)) return bad(err, len, "$.tools", "expected an array");
  const cJSON *schemas = cJSON_GetObjectItemCaseSensitive(wl, "schemas");
  if (schemas && !cJSON_IsObject(schemas)) return bad(err, len, "$.schemas", "expected an object");
  const cJSON *caps = cJSON_GetObjectItemCaseSensitive(wl, "caps");
  if (caps && !cJSON_IsObject(caps)) return bad(err, len, "$.caps", "expected an object");
  const cJSON *c;
  int64_t x;
  cJSON_ArrayForEach(c, caps) {
    if (!cli_json_int(c, 1, WL_MAX_COUNT, &x))
      return bad(err, len, "$.caps", "caps must be whole numbers from 1 to 2^53");
  }
  const cJSON *opt = cJSON_GetObjectItemCaseSensitive(wl, "optimise");
  if (opt && !cJSON_IsObject(opt)) return bad(err, len, "$.optimise", "expected an object");
  if (want_int(opt, "max_context_tokens", 0, WL_MAX_COUNT, "$.optimise", err, len, &x) ||
      want_int(opt, "context_target_tokens", 0, WL_MAX_COUNT, "$.optimise", err, len, &x) ||
      want_int(opt, "soft_budget_tokens", 0, WL_MAX_COUNT, "$.optimise", err, len, &x) ||
      want_int(opt, "keep_last_turns", 0, UINT32_MAX, "$.optimise", err, len, &x))
    return 1;
  if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(wl, "router")))
    return bad(err, len, "$.router", "expected a router config object");
  const cJSON *models = cJSON_GetObjectItemCaseSensitive(wl, "models");
  if (!cJSON_IsObject(models)) return bad(err, len, "$.models", "expected an object");
  cJSON_ArrayForEach(c, models) {
    const cJSON *cap = cJSON_GetObjectItemCaseSensitive(c, "capability");
    if (!cJSON_IsNumber(cap) || cap->valuedouble < 0 || cap->valuedouble > 1)
      return bad(err, len, "$.models", "each model needs a capability in [0, 1]");
  }
  const cJSON *au = cJSON_GetObjectItemCaseSensitive(wl, "confidence_auroc");
  if (au && (!cJSON_IsNumber(au) || au->valuedouble < 0.5 || au->valuedouble > 1))
    return bad(err, len, "$.confidence_auroc", "expected a number in [0.5, 1]");
  if (want_int(wl, "tool_ttl_ms", 0, WL_MAX_COUNT, "$", err, len, &x)) return 1;
  const cJSON *flows = cJSON_GetObjectItemCaseSensitive(wl, "workflows");
  if (!cJSON_IsArray(flows) || cJSON_GetArraySize(flows) == 0)
    return bad(err, len, "$.workflows", "expected a non-empty array");
  int i = 0;
  double clock_ms = 0; /* where the simulated clock ends: gaps add up over every turn */
  cJSON_ArrayForEach(c, flows) {
    char w[96];
    snprintf(w, sizeof w, "$.workflows[%d]", i);
    if (!cJSON_IsObject(c)) return bad(err, len, w, "expected an object");
    int64_t gap = 30000;
    if (want_int(c, "gap_ms", 0, WL_MAX_GAP_MS, w, err, len, &gap)) return 1;
    clock_ms += (double)gap * cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(c, "turns"));
    if (clock_ms > (double)(INT64_C(1) << 62))
      return bad(err, len, w, "the gaps of the workflows add up past 2^62 ms");
    if (want_string(c, "id", 1, w, err, len) || want_string(c, "workflow", 1, w, err, len) ||
        want_string(c, "tenant", 0, w, err, len))
      return 1;
    const cJSON *facts = cJSON_GetObjectItemCaseSensitive(c, "facts");
    if (facts && !cJSON_IsObject(facts)) return bad(err, len, w, "facts: expected an object");
    const cJSON *turns = cJSON_GetObjectItemCaseSensitive(c, "turns");
    if (!cJSON_IsArray(turns) || cJSON_GetArraySize(turns) == 0)
      return bad(err, len, w, "turns: expected a non-empty array");
    int j = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, turns) {
      char tw[128];
      snprintf(tw, sizeof tw, "%s.turns[%d]", w, j);
      if (!cJSON_IsObject(t)) return bad(err, len, tw, "expected an object");
      if (want_string(t, "user", 1, tw, err, len) || want_string(t, "task_type", 1, tw, err, len) ||
          want_string(t, "answer", 0, tw, err, len))
        return 1;
      const cJSON *tool = cJSON_GetObjectItemCaseSensitive(t, "tool");
      if (tool) {
        char tlw[160];
        snprintf(tlw, sizeof tlw, "%s.tool", tw);
        if (!cJSON_IsObject(tool)) return bad(err, len, tlw, "expected an object");
        if (want_string(tool, "name", 1, tlw, err, len) ||
            want_string(tool, "arguments", 1, tlw, err, len) ||
            want_string(tool, "result", 1, tlw, err, len))
          return 1;
      }
      const cJSON *d = cJSON_GetObjectItemCaseSensitive(t, "difficulty");
      if (d && (!cJSON_IsNumber(d) || d->valuedouble < 0 || d->valuedouble > 1))
        return bad(err, len, tw, "difficulty: expected a number in [0, 1]");
      const cJSON *needs = cJSON_GetObjectItemCaseSensitive(t, "needs");
      const cJSON *n;
      if (needs && !cJSON_IsArray(needs)) return bad(err, len, tw, "needs: expected an array");
      cJSON_ArrayForEach(n, needs) {
        if (!cJSON_IsString(n) || !cJSON_GetObjectItemCaseSensitive(facts, n->valuestring))
          return bad(err, len, tw, "needs: each entry must name one of the workflow's facts");
      }
      j++;
    }
    i++;
  }
  return 0;
}

/* ---- generation ---- */

typedef struct gen {
  uint64_t state;
} gen;

static uint64_t next(gen *g) {
  g->state = sim_mix(g->state);
  return g->state;
}
static int pick(gen *g, int n) {
  return (int)(next(g) % (uint64_t)n);
}
static double unit(gen *g) {
  return (double)(next(g) >> 11) / 9007199254740992.0;
}

static const char *const WORDS[] = {
    "account",  "address",  "agent",    "amount",   "before",   "billing",  "cannot",
    "careful",  "carrier",  "change",   "charged",  "checked",  "customer", "delivery",
    "details",  "email",    "expected", "friday",   "happened", "invoice",  "issue",
    "label",    "last",     "later",    "manager",  "monday",   "morning",  "needed",
    "number",   "package",  "payment",  "please",   "portal",   "problem",  "quickly",
    "received", "recently", "refund",   "replace",  "request",  "return",   "second",
    "service",  "shipment", "since",    "status",   "still",    "support",  "thanks",
    "through",  "tracking", "update",   "waiting",  "warehouse", "week",    "without"};
#define NWORDS (sizeof WORDS / sizeof WORDS[0])

static void words(gen *g, char *buf, size_t cap, int n) {
  size_t o = strlen(buf);
  for (int i = 0; i < n && o + 16 < cap; i++) {
    const char *w = WORDS[pick(g, (int)NWORDS)];
    o += (size_t)snprintf(buf + o, cap - o, "%s%s", i ? " " : "", w);
    if (i % 11 == 10 && o + 2 < cap) o += (size_t)snprintf(buf + o, cap - o, ".");
  }
  if (o + 2 < cap) snprintf(buf + o, cap - o, ".");
}

static char *text(gen *g, const char *lead, int n) {
  size_t cap = (size_t)n * 12 + strlen(lead) + 64;
  char *b = calloc(1, cap);
  if (!b) return NULL;
  snprintf(b, cap, "%s%s", lead, *lead ? " " : "");
  words(g, b, cap, n);
  return b;
}

static void add_str(cJSON *o, const char *k, const char *v) {
  cJSON_AddItemToObject(o, k, cJSON_CreateString(v ? v : ""));
}

static cJSON *parse(const char *s) {
  return cJSON_Parse(s);
}

static const char *const FIRST[] = {"Dana", "Ravi", "Mei", "Tomas", "Aisha", "Lena", "Kofi", "Ines"};
static const char *const LAST[] = {"Whitfield", "Okafor", "Lindqvist", "Moreau", "Tanaka", "Silva"};
static const char *const TENANTS[] = {"acme", "globex", "initech"};

static cJSON *common(gen *g, const char *name, const char *desc, const char *system,
                     const char *ref_title, int ref_words) {
  cJSON *wl = cJSON_CreateObject();
  add_str(wl, "name", name);
  add_str(wl, "description", desc);
  cJSON_AddNumberToObject(wl, "seed", (double)(g->state & 0xffff));
  add_str(wl, "baseline_model", "gpt-4o");
  add_str(wl, "system", system);
  char *ref = text(g, ref_title, ref_words);
  add_str(wl, "reference", ref);
  free(ref);
  add_str(wl, "brevity", "Answer in at most 80 words.");
  cJSON_AddItemToObject(
      wl, "router",
      parse("{\"tiers\":[{\"name\":\"small\",\"models\":[\"gpt-4o-mini\"],\"threshold\":0.75},"
            "{\"name\":\"medium\",\"models\":[\"gpt-4.1-mini\"],\"threshold\":0.7},"
            "{\"name\":\"large\",\"models\":[\"gpt-4o\"],\"threshold\":0.0}],"
            "\"rules\":["
            "{\"when\":{\"attr\":\"tags\",\"contains\":\"reasoning\"},\"tier\":\"large\","
            "\"reason\":\"needs reasoning\"},"
            "{\"when\":{\"attr\":\"task_type\",\"in\":[\"classify\",\"extract\"]},"
            "\"tier\":\"small\",\"reason\":\"short structured task\",\"cascade\":true},"
            "{\"when\":{\"attr\":\"task_type\",\"eq\":\"summarise\"},\"tier\":\"small\","
            "\"reason\":\"summary\",\"cascade\":true},"
            "{\"when\":{\"attr\":\"task_type\",\"in\":[\"reply\",\"review\"]},\"tier\":\"medium\","
            "\"reason\":\"conversation\",\"cascade\":true}],"
            "\"default_tier\":\"large\","
            "\"cascade\":{\"max_escalations\":2,\"confidence_path\":\"confidence\"},"
            "\"failures\":{\"allowed_fails\":3,\"window_s\":60,\"cooldown_s\":30}}"));
  cJSON_AddItemToObject(
      wl, "models",
      parse("{\"gpt-4o-mini\":{\"capability\":0.62,\"invalid_json\":0.06},"
            "\"gpt-4.1-mini\":{\"capability\":0.78,\"invalid_json\":0.02},"
            "\"gpt-4o\":{\"capability\":0.9,\"invalid_json\":0.005}}"));
  cJSON_AddItemToObject(wl, "optimise",
                        parse("{\"max_context_tokens\":1800,\"soft_budget_tokens\":100000,"
                              "\"keep_last_turns\":2}"));
  /* self-reported confidence is a weak signal (studies of verbalised
   * confidence find AUROCs around 0.6-0.75), not an oracle */
  cJSON_AddNumberToObject(wl, "confidence_auroc", 0.7);
  cJSON_AddNumberToObject(wl, "tool_ttl_ms", 600000);
  return wl;
}

static cJSON *turn(const char *user, const char *type, double difficulty, const char *answer,
                   int batch) {
  cJSON *t = cJSON_CreateObject();
  add_str(t, "user", user);
  add_str(t, "task_type", type);
  cJSON_AddNumberToObject(t, "difficulty", (double)(int)(difficulty * 100) / 100.0);
  if (answer) add_str(t, "answer", answer);
  if (batch) cJSON_AddTrueToObject(t, "batch");
  return t;
}

static void needs(cJSON *t, const char *a, const char *b) {
  cJSON *n = cJSON_GetObjectItemCaseSensitive(t, "needs");
  if (!n) n = cJSON_AddArrayToObject(t, "needs");
  if (a) cJSON_AddItemToArray(n, cJSON_CreateString(a));
  if (b) cJSON_AddItemToArray(n, cJSON_CreateString(b));
}

/* Facts that are not identifiers: a summary's verbatim ledger of ids does
 * not keep them, so pruning can lose them. */
static const char *const ISSUES[] = {
    "the zipper on the left pocket tore after two days",
    "the box arrived crushed and the poles were bent",
    "the jacket runs two sizes smaller than the chart says",
    "the courier left it at a neighbour who is away",
    "the sole started peeling off on the first hike",
    "the charge appeared twice on my statement",
    "the filter cartridge was missing from the box",
    "the tent was the green one, not the grey one I ordered"};
static const char *const CONCERNS[] = {
    "the retry loop never resets its backoff",
    "the lock is taken after the early return",
    "the buffer is sized before the length check",
    "the error path leaks the file handle",
    "the cache key ignores the tenant",
    "the timeout is read in seconds but set in milliseconds"};
static const char *const TERMS[] = {
    "payment due within forty-five days of receipt",
    "late fees waived for the first quarter",
    "prices fixed until the end of the year",
    "delivery charged separately at cost",
    "two percent discount for payment within ten days"};
static const char *const STATUS_NOW[] = {
    "rerouted to the regional depot after a failed delivery",
    "delivered to the parcel locker by the main entrance",
    "returned to sender as the address was incomplete",
    "held at customs pending an import form"};

static void tag(cJSON *t, const char *tg) {
  cJSON *a = cJSON_AddArrayToObject(t, "tags");
  cJSON_AddItemToArray(a, cJSON_CreateString(tg));
}

static const char *CLASSIFY_SCHEMA_FMT =
    "{\"type\":\"object\",\"properties\":{\"label\":{\"enum\":[%s]},"
    "\"confidence\":{\"type\":\"number\",\"minimum\":0,\"maximum\":1}},"
    "\"required\":[\"label\",\"confidence\"],\"additionalProperties\":false}";

static cJSON *classify_schema(const char *labels) {
  char buf[1024];
  snprintf(buf, sizeof buf, CLASSIFY_SCHEMA_FMT, labels);
  return parse(buf);
}

static cJSON *extract_schema(const char *field, const char *pattern) {
  char buf[1024];
  snprintf(buf, sizeof buf,
           "{\"type\":\"object\",\"properties\":{\"%s\":{\"type\":\"string\",\"pattern\":\"%s\","
           "\"maxLength\":40},\"confidence\":{\"type\":\"number\",\"minimum\":0,\"maximum\":1}},"
           "\"required\":[\"%s\",\"confidence\"],\"additionalProperties\":false}",
           field, pattern, field);
  return parse(buf);
}

static void tools3(cJSON *wl, const char *a, const char *b, const char *c) {
  cJSON *tools = cJSON_AddArrayToObject(wl, "tools");
  const char *names[] = {a, b, c};
  for (int i = 0; i < 3; i++) {
    char buf[512];
    snprintf(buf, sizeof buf,
             "{\"name\":\"%s\",\"description\":\"%s: look up or act on the record named by id; "
             "returns JSON.\",\"parameters\":{\"type\":\"object\",\"properties\":{\"id\":"
             "{\"type\":\"string\"},\"note\":{\"type\":\"string\"}},\"required\":[\"id\"]}}",
             names[i], names[i]);
    cJSON_AddItemToArray(tools, parse(buf));
  }
}

static const char *const INTENTS[] = {"refund", "shipping", "billing", "product", "account"};

/* ---- tool results: what a support agent's history is mostly made of ---- */

static const char *const PRODUCTS[] = {"Trailhead 40L backpack", "Ridgeline rain shell",
                                       "Summit down jacket", "Basecamp 2P tent",
                                       "Alpine trekking poles", "Cascade hiking boots",
                                       "Merino base layer", "Canyon water filter"};
static const char *const CARRIERS[] = {"UPS", "FedEx", "USPS", "DHL"};
static const char *const PLACES[] = {"Memphis, TN", "Louisville, KY", "Reno, NV", "Columbus, OH",
                                     "Allentown, PA", "Ontario, CA", "Dallas, TX"};
static const char *const EVENTS[] = {"label created", "picked up", "arrived at facility",
                                     "departed facility", "in transit", "out for delivery",
                                     "delivery exception: address", "held at facility"};

static void tracking_number(gen *g, char *out, size_t cap) {
  static const char alnum[] = "0123456789ABCDEFGHJKLMNPRSTUVWXY";
  size_t o = (size_t)snprintf(out, cap, "1Z");
  for (int i = 0; i < 16 && o + 1 < cap; i++) out[o++] = alnum[pick(g, 32)];
  out[o] = '\0';
}

/* The JSON an order-lookup API returns: customer, items, payment, shipment
 * with its scan events.  Typically 400-700 tokens. */
static char *order_record(gen *g, const char *order, const char *name, const char *intent,
                          const char *tracking) {
  cJSON *o = cJSON_CreateObject();
  add_str(o, "order_id", order);
  add_str(o, "status", !strcmp(intent, "refund") ? "return_requested" : "shipped");
  char buf[160];
  snprintf(buf, sizeof buf, "2026-11-%02dT%02d:%02d:00Z", 1 + pick(g, 20), pick(g, 24), pick(g, 60));
  add_str(o, "placed_at", buf);
  cJSON *cu = cJSON_AddObjectToObject(o, "customer");
  add_str(cu, "name", name);
  char email[96];
  snprintf(email, sizeof email, "%s@example.com", name);
  for (char *c = email; *c; c++) *c = *c == ' ' ? '.' : (*c >= 'A' && *c <= 'Z') ? (char)(*c + 32) : *c;
  add_str(cu, "email", email);
  snprintf(buf, sizeof buf, "CUS-%06d", pick(g, 999999));
  add_str(cu, "customer_id", buf);
  add_str(cu, "loyalty_tier", pick(g, 3) ? "member" : "gold");
  cJSON *items = cJSON_AddArrayToObject(o, "items");
  int n = 1 + pick(g, 3), total = 0;
  for (int i = 0; i < n; i++) {
    cJSON *it = cJSON_CreateObject();
    snprintf(buf, sizeof buf, "NW-%05d", pick(g, 99999));
    add_str(it, "sku", buf);
    add_str(it, "title", PRODUCTS[pick(g, 8)]);
    int qty = 1 + (pick(g, 5) == 0), cents = 2900 + pick(g, 30000);
    cJSON_AddNumberToObject(it, "qty", qty);
    snprintf(buf, sizeof buf, "%d.%02d", cents / 100, cents % 100);
    add_str(it, "unit_price", buf);
    add_str(it, "fulfilment", pick(g, 4) ? "warehouse" : "drop-ship");
    total += qty * cents;
    cJSON_AddItemToArray(items, it);
  }
  cJSON *pay = cJSON_AddObjectToObject(o, "payment");
  add_str(pay, "method", pick(g, 2) ? "card" : "paypal");
  snprintf(buf, sizeof buf, "%04d", pick(g, 9999));
  add_str(pay, "card_last4", buf);
  snprintf(buf, sizeof buf, "%d.%02d", total / 100, total % 100);
  add_str(pay, "captured", buf);
  add_str(pay, "currency", "USD");
  cJSON *sh = cJSON_AddObjectToObject(o, "shipment");
  add_str(sh, "carrier", CARRIERS[pick(g, 4)]);
  add_str(sh, "service", pick(g, 3) ? "ground" : "2-day");
  add_str(sh, "tracking_number", tracking);
  snprintf(buf, sizeof buf, "%d %s Street, %s", 10 + pick(g, 990), LAST[pick(g, 6)],
           PLACES[pick(g, 7)]);
  add_str(sh, "ship_to", buf);
  cJSON *ev = cJSON_AddArrayToObject(sh, "events");
  int ne = 3 + pick(g, 4);
  for (int i = 0; i < ne; i++) {
    cJSON *e = cJSON_CreateObject();
    snprintf(buf, sizeof buf, "2026-11-%02dT%02d:%02d:00Z", 5 + i, pick(g, 24), pick(g, 60));
    add_str(e, "at", buf);
    add_str(e, "location", PLACES[pick(g, 7)]);
    add_str(e, "event", EVENTS[i == ne - 1 ? 5 + pick(g, 3) : pick(g, 5)]);
    cJSON_AddItemToArray(ev, e);
  }
  char *notes = text(g, "", 25 + pick(g, 30));
  add_str(o, "internal_notes", notes);
  free(notes);
  char *js = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  return js;
}

/* A knowledge-base search: the top three passages with their scores, as a
 * retrieval tool returns them.  Typically 700-1000 tokens. */
static char *kb_results(gen *g, const char *intent) {
  cJSON *o = cJSON_CreateObject();
  cJSON *rs = cJSON_AddArrayToObject(o, "results");
  for (int i = 0; i < 3; i++) {
    cJSON *r = cJSON_CreateObject();
    char buf[96];
    snprintf(buf, sizeof buf, "KB-%04d", pick(g, 9999));
    add_str(r, "id", buf);
    snprintf(buf, sizeof buf, "%s policy, section %d.%d", intent, 1 + pick(g, 6), 1 + pick(g, 9));
    add_str(r, "title", buf);
    cJSON_AddNumberToObject(r, "score", (double)(90 - 12 * i - pick(g, 10)) / 100.0);
    char *body = text(g, "", 130 + pick(g, 70));
    add_str(r, "text", body);
    free(body);
    cJSON_AddItemToArray(rs, r);
  }
  char *js = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  return js;
}

/* Attach the tool the agent calls before answering this turn. */
static void with_tool(cJSON *t, const char *name, const char *args, char *result) {
  cJSON *tl = cJSON_AddObjectToObject(t, "tool");
  add_str(tl, "name", name);
  add_str(tl, "arguments", args);
  add_str(tl, "result", result ? result : "{}");
  free(result);
}

/* The support agent.  What makes it look like one in production: the
 * history is mostly tool results (the order record, 400-700 tokens, on the
 * first reply; knowledge-base passages, 700-1000 tokens, on about a third
 * of the other replies; the refund receipt), conversations run 7 to 17
 * turns (about four in five over 8), and later turns ask for facts from far
 * back: the order number the customer typed, or the tracking number only
 * the order lookup returned. */
static cJSON *support_agent(gen *g) {
  cJSON *wl = common(g, "support-agent",
                     "A customer-support agent: triage, extraction, a conversation that grows "
                     "turn by turn, and an after-contact summary for the CRM.",
                     "You are the customer support agent of Northwind Outfitters. Be accurate and "
                     "kind, follow the refund and shipping policy below exactly, never invent "
                     "order details, use the tools to look records up, and escalate to a human "
                     "when the policy does not cover the case.",
                     "Northwind Outfitters returns, refunds and shipping policy.", 1500);
  tools3(wl, "lookup_order", "refund_order", "search_kb");
  cJSON *schemas = cJSON_AddObjectToObject(wl, "schemas");
  cJSON_AddItemToObject(schemas, "classify",
                        classify_schema("\"refund\",\"shipping\",\"billing\",\"product\",\"account\""));
  cJSON_AddItemToObject(schemas, "extract", extract_schema("order_id", "^ORD-[0-9]{5}$"));
  cJSON_AddItemToObject(wl, "caps", parse("{\"reply\":220,\"summarise\":160}"));
  cJSON *flows = cJSON_AddArrayToObject(wl, "workflows");
  for (int w = 0; w < 40; w++) {
    cJSON *f = cJSON_CreateObject();
    char id[32], order[16], name[48];
    snprintf(id, sizeof id, "sup-%04d", w + 1);
    snprintf(order, sizeof order, "ORD-%05d", 10000 + pick(g, 89999));
    snprintf(name, sizeof name, "%s %s", FIRST[pick(g, 8)], LAST[pick(g, 6)]);
    add_str(f, "id", id);
    add_str(f, "workflow", "support");
    add_str(f, "tenant", TENANTS[pick(g, 3)]);
    cJSON_AddNumberToObject(f, "gap_ms", 30000 + pick(g, 60000));
    cJSON *facts = cJSON_AddObjectToObject(f, "facts");
    add_str(facts, "order", order);
    add_str(facts, "name", name);
    char tracking[24];
    tracking_number(g, tracking, sizeof tracking);
    add_str(facts, "tracking", tracking); /* only in the order lookup's result */
    const char *intent = INTENTS[pick(g, 5)];
    const char *issue = ISSUES[pick(g, 8)];
    add_str(facts, "issue", issue);
    cJSON *turns = cJSON_AddArrayToObject(f, "turns");
    char lead[256];
    snprintf(lead, sizeof lead, "Hi, this is %s. My order %s is a %s problem: %s.", name, order,
             intent, issue);
    char *u = text(g, lead, 50 + pick(g, 40));
    cJSON_AddItemToArray(turns, turn(u, "classify", 0.2 + 0.6 * unit(g), intent, 0));
    free(u);
    u = text(g, "Can you take the order number from my message and check it?", 20);
    cJSON *t = turn(u, "extract", 0.15 + 0.3 * unit(g), order, 0);
    needs(t, "order", NULL);
    cJSON_AddItemToArray(turns, t);
    free(u);
    int n = 4 + pick(g, 11);
    char *record = NULL;
    for (int k = 0; k < n; k++) {
      /* every fourth reply needs a fact from far back: the order number the
       * customer gave, or the tracking number only the lookup returned; and
       * some later ones the problem as the customer put it */
      int recall = k % 4 == 3, track = recall && k % 8 == 7, again = k >= 5 && k % 4 == 1;
      u = text(g, track    ? "Can you give me the tracking number again, and where is it now?"
                  : recall ? "Going back to my order, what did you find?"
                  : again  ? "Remind me what I said was wrong with it, and what happens next?"
                           : "",
               30 + pick(g, 50));
      t = turn(u, "reply", 0.2 + 0.7 * unit(g), NULL, 0);
      if (recall) needs(t, track ? "tracking" : "order", NULL);
      if (again) needs(t, "issue", NULL);
      if (unit(g) < 0.15) tag(t, "reasoning");
      /* the agent looks the order up on its first reply, searches the
       * knowledge base on about a third of the others, and files the refund */
      char args[96];
      if (k == 0) {
        snprintf(args, sizeof args, "{\"id\":\"%s\"}", order);
        record = order_record(g, order, name, intent, tracking);
        with_tool(t, "lookup_order", args, record ? strdup(record) : NULL);
      } else if (recall && record && unit(g) < 0.6) {
        /* the agent looks the order up again "just in case"; now and then
         * the record has changed since, and the turn needs what changed */
        snprintf(args, sizeof args, "{\"id\":\"%s\"}", order);
        char *res = strdup(record);
        if (unit(g) < 0.25) {
          const char *now = STATUS_NOW[pick(g, 4)];
          char fact[32];
          snprintf(fact, sizeof fact, "status_now_%d", k);
          add_str(facts, fact, now);
          needs(t, fact, NULL);
          cJSON *r = cJSON_Parse(record);
          cJSON_ReplaceItemInObject(r, "status", cJSON_CreateString(now));
          free(res);
          res = cJSON_PrintUnformatted(r);
          cJSON_Delete(r);
        }
        with_tool(t, "lookup_order", args, res);
        cJSON_AddTrueToObject(cJSON_GetObjectItemCaseSensitive(t, "tool"), "refetch");
      } else if (k == 2 && !strcmp(intent, "refund")) {
        char rf[160];
        snprintf(args, sizeof args, "{\"id\":\"%s\",\"note\":\"customer request\"}", order);
        snprintf(rf, sizeof rf,
                 "{\"refund_id\":\"RF-%06d\",\"order_id\":\"%s\",\"status\":\"pending\","
                 "\"amount\":\"%d.%02d\",\"eta_business_days\":%d}",
                 pick(g, 999999), order, 20 + pick(g, 300), pick(g, 100), 3 + pick(g, 5));
        with_tool(t, "refund_order", args, strdup(rf));
      } else if (unit(g) < 0.33) {
        snprintf(args, sizeof args, "{\"id\":\"%s\",\"note\":\"%s\"}", order, intent);
        with_tool(t, "search_kb", args, kb_results(g, intent));
      }
      cJSON_AddItemToArray(turns, t);
      free(u);
    }
    free(record);
    t = turn("Write the after-contact summary for the CRM: customer, order, issue, outcome.",
             "summarise", 0.3, NULL, 1);
    needs(t, "order", "name");
    needs(t, "issue", NULL);
    cJSON_AddItemToArray(turns, t);
    cJSON_AddItemToArray(flows, f);
  }
  return wl;
}

static const char *const DOCTYPES[] = {"invoice", "contract", "receipt", "statement"};

static cJSON *document_pipeline(gen *g) {
  cJSON *wl = common(g, "document-pipeline",
                     "A back-office pipeline over long documents: classify, extract fields, "
                     "summarise, draft a note. Most steps are latency-insensitive (batchable).",
                     "You process business documents for the finance team. Extract exactly what "
                     "is asked, quote numbers as written, and say when a field is missing.",
                     "Finance team field guide: document types, field definitions, formats.", 1300);
  tools3(wl, "fetch_vendor", "post_ledger", "search_docs");
  cJSON *schemas = cJSON_AddObjectToObject(wl, "schemas");
  cJSON_AddItemToObject(schemas, "classify",
                        classify_schema("\"invoice\",\"contract\",\"receipt\",\"statement\""));
  cJSON_AddItemToObject(schemas, "extract", extract_schema("reference", "^DOC-[0-9]{6}$"));
  cJSON_AddItemToObject(wl, "caps", parse("{\"reply\":220,\"summarise\":200}"));
  cJSON *flows = cJSON_AddArrayToObject(wl, "workflows");
  for (int w = 0; w < 30; w++) {
    cJSON *f = cJSON_CreateObject();
    char id[32], ref[16];
    snprintf(id, sizeof id, "doc-%04d", w + 1);
    snprintf(ref, sizeof ref, "DOC-%06d", 100000 + pick(g, 899999));
    add_str(f, "id", id);
    add_str(f, "workflow", "documents");
    add_str(f, "tenant", TENANTS[pick(g, 3)]);
    cJSON_AddNumberToObject(f, "gap_ms", 5000 + pick(g, 10000));
    cJSON *facts = cJSON_AddObjectToObject(f, "facts");
    add_str(facts, "reference", ref);
    const char *type = DOCTYPES[pick(g, 4)];
    const char *terms = TERMS[pick(g, 5)];
    add_str(facts, "terms", terms);
    cJSON *turns = cJSON_AddArrayToObject(f, "turns");
    char lead[256];
    snprintf(lead, sizeof lead, "Document %s (%s) follows. Terms: %s.", ref, type, terms);
    char *u = text(g, lead, 700 + pick(g, 600));
    cJSON_AddItemToArray(turns, turn(u, "classify", 0.1 + 0.5 * unit(g), type, 1));
    free(u);
    cJSON *t = turn("Extract the document reference.", "extract", 0.2 + 0.4 * unit(g), ref, 1);
    needs(t, "reference", NULL);
    cJSON_AddItemToArray(turns, t);
    t = turn("Summarise the document for the ledger in five lines.", "summarise",
             0.3 + 0.3 * unit(g), NULL, 1);
    needs(t, "reference", "terms");
    cJSON_AddItemToArray(turns, t);
    u = text(g, "Draft a short note to the vendor about anything unusual.", 15);
    t = turn(u, "reply", 0.3 + 0.6 * unit(g), NULL, 0);
    if (unit(g) < 0.2) tag(t, "reasoning");
    cJSON_AddItemToArray(turns, t);
    free(u);
    cJSON_AddItemToArray(flows, f);
  }
  return wl;
}

static const char *const SEVERITIES[] = {"blocker", "major", "minor", "nit"};

static cJSON *code_reviewer(gen *g) {
  cJSON *wl = common(g, "code-reviewer",
                     "A code-review assistant: review a diff, rate its severity, answer the "
                     "author's follow-up questions, write the changelog line.",
                     "You review C and Python changes for the platform team. Point at lines, "
                     "explain the risk, suggest the fix, and keep to the style guide below.",
                     "Platform team style guide and review checklist.", 1400);
  tools3(wl, "read_file", "run_tests", "blame");
  cJSON *schemas = cJSON_AddObjectToObject(wl, "schemas");
  cJSON_AddItemToObject(schemas, "classify",
                        classify_schema("\"blocker\",\"major\",\"minor\",\"nit\""));
  cJSON_AddItemToObject(wl, "caps", parse("{\"reply\":260,\"review\":500,\"summarise\":120}"));
  cJSON *flows = cJSON_AddArrayToObject(wl, "workflows");
  for (int w = 0; w < 25; w++) {
    cJSON *f = cJSON_CreateObject();
    char id[32], pr[16];
    snprintf(id, sizeof id, "pr-%04d", w + 1);
    snprintf(pr, sizeof pr, "PR-%04d", 1000 + pick(g, 8999));
    add_str(f, "id", id);
    add_str(f, "workflow", "review");
    add_str(f, "tenant", TENANTS[pick(g, 3)]);
    cJSON_AddNumberToObject(f, "gap_ms", 60000 + pick(g, 120000));
    cJSON *facts = cJSON_AddObjectToObject(f, "facts");
    add_str(facts, "pr", pr);
    const char *concern = CONCERNS[pick(g, 6)];
    add_str(facts, "concern", concern);
    cJSON *turns = cJSON_AddArrayToObject(f, "turns");
    char lead[160];
    snprintf(lead, sizeof lead, "Please review %s. My own worry: %s. The diff:", pr, concern);
    char *u = text(g, lead, 400 + pick(g, 500));
    cJSON *t = turn(u, "review", 0.4 + 0.5 * unit(g), NULL, 0);
    if (unit(g) < 0.4) tag(t, "reasoning");
    cJSON_AddItemToArray(turns, t);
    free(u);
    cJSON_AddItemToArray(turns, turn("Rate the severity of the worst finding.", "classify",
                                     0.3 + 0.5 * unit(g), SEVERITIES[pick(g, 4)], 0));
    int n = 3 + pick(g, 6);
    for (int k = 0; k < n; k++) {
      u = text(g, k % 3 == 2 ? "About the change in the PR, one more question:" : "", 25 + pick(g, 40));
      t = turn(u, "reply", 0.2 + 0.7 * unit(g), NULL, 0);
      if (k % 3 == 2) needs(t, "pr", k % 2 ? "concern" : NULL);
      cJSON_AddItemToArray(turns, t);
      free(u);
    }
    t = turn("Write the changelog line for this PR.", "summarise", 0.2, NULL, 1);
    needs(t, "pr", "concern");
    cJSON_AddItemToArray(turns, t);
    cJSON_AddItemToArray(flows, f);
  }
  return wl;
}

cJSON *wl_generate(const char *name, uint64_t seed) {
  gen g = {sim_mix(seed ^ 0x746f6b656e6f6d79ull)};
  if (!strcmp(name, "support-agent")) return support_agent(&g);
  if (!strcmp(name, "document-pipeline")) return document_pipeline(&g);
  if (!strcmp(name, "code-reviewer")) return code_reviewer(&g);
  return NULL;
}
