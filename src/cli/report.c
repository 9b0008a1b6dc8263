/* tokenomy report: a meter export (tkn_meter_export, JSON) as tables, or as
 * one self-contained, responsive HTML page (no external assets, no script);
 * with --baseline, a second export (the baseline run's) beside it. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char HELP[] =
    "usage: tokenomy report [--html | --json] [--baseline BASELINE.json] [EXPORT.json]\n"
    "\n"
    "Render a meter export (the JSON of tkn_meter_export, e.g. written by\n"
    "`tokenomy simulate --export-meter FILE`) as tables by model, tier, task type,\n"
    "workflow, tenant and routing reason, with each workflow's percentiles of tokens\n"
    "and cost per call and its suggested budget; with --html as one self-contained\n"
    "HTML page (responsive, charts in plain HTML and CSS); with --json the totals,\n"
    "each workflow's percentiles and budgets, and the comparison as JSON.\n"
    "\n"
    "  --baseline F  a second export, of the run to compare with (e.g. written by\n"
    "                `tokenomy simulate --export-baseline-meter F`): baseline and\n"
    "                optimised side by side, quality (successes, validation pass\n"
    "                rate) beside cost\n";

static const struct {
  const char *key;
  const char *title;
} DIMS[] = {{"by_model", "model"},         {"by_tier", "tier"},
            {"by_task_type", "task type"}, {"by_workflow", "workflow"},
            {"by_tenant", "tenant"},       {"by_routing_reason", "routing reason"}};
#define N_DIMS 6

static const cJSON *obj(const cJSON *o, const char *k) {
  return cJSON_GetObjectItemCaseSensitive(o, k);
}

static double num(const cJSON *o, const char *k) {
  const cJSON *v = obj(o, k);
  return cJSON_IsNumber(v) ? v->valuedouble : 0.0;
}

/* A number of the export as an integer: exports are checked to hold int64
 * values (check_export), and a derived value past the range is clamped; the
 * cast alone would be undefined there. */
static int64_t i64(double v) {
  if (!(v == v)) return 0;
  if (v >= 9223372036854775808.0) return INT64_MAX;
  if (v < -9223372036854775808.0) return INT64_MIN;
  return (int64_t)v;
}

/* Picodollars as USD with 6 decimals. */
static const char *usd_of(double picodollars, char *buf, size_t len) {
  return cli_usd(i64(picodollars), 6, buf, len);
}

static const char *usd(const cJSON *o, char *buf, size_t len) {
  return usd_of(num(o, "cost"), buf, len);
}

static const char *rate(const cJSON *o, const char *k, char *buf, size_t len) {
  const cJSON *v = obj(o, k);
  if (cJSON_IsNumber(v))
    snprintf(buf, len, "%.1f%%", v->valuedouble * 100.0);
  else
    snprintf(buf, len, "n/a");
  return buf;
}

/* The first number of the export outside int64 (a meter export holds
 * counts and picodollars, all int64), or NULL. */
static const cJSON *out_of_range(const cJSON *j) {
  if (cJSON_IsNumber(j))
    return j->valuedouble >= -9223372036854775808.0 && j->valuedouble < 9223372036854775808.0
               ? NULL
               : j;
  const cJSON *c, *bad;
  cJSON_ArrayForEach(c, j) {
    if ((bad = out_of_range(c))) return bad;
  }
  return NULL;
}

static int check_export(const cJSON *j) {
  if (!cJSON_IsObject(j) || !cJSON_IsObject(obj(j, "total"))) return 0;
  for (int d = 0; d < N_DIMS; d++)
    if (!cJSON_IsObject(obj(j, DIMS[d].key))) return 0;
  return 1;
}

/* ---- the measures compared between a baseline and an optimised run ---- */

enum { M_INT, M_USD, M_RATE };
static const struct {
  const char *key, *title;
  int kind;
} MEASURES[] = {{"calls", "calls", M_INT},
                {"successes", "successes", M_INT},
                {"validation_pass_rate", "validation pass rate", M_RATE},
                {"input_tokens", "input tokens", M_INT},
                {"cache_read_tokens", "of which cached", M_INT},
                {"output_tokens", "output tokens", M_INT},
                {"cost", "cost (USD)", M_USD},
                {"cost_per_success", "cost per success (USD)", M_USD},
                {"cache_hit_rate", "cache hit rate", M_RATE}};
#define N_MEASURES 9

static const char *measure(const cJSON *t, int k, char *buf, size_t len) {
  if (MEASURES[k].kind == M_RATE) return rate(t, MEASURES[k].key, buf, len);
  const cJSON *v = obj(t, MEASURES[k].key);
  if (!cJSON_IsNumber(v) || v->valuedouble < 0) return snprintf(buf, len, "n/a"), buf;
  if (MEASURES[k].kind == M_USD) return usd_of(v->valuedouble, buf, len);
  return cli_int(i64(v->valuedouble), buf, len);
}

/* The change from baseline to optimised, in percent (rates: in points). */
static const char *change(const cJSON *b, const cJSON *o, int k, char *buf, size_t len) {
  const cJSON *vb = obj(b, MEASURES[k].key), *vo = obj(o, MEASURES[k].key);
  if (!cJSON_IsNumber(vb) || !cJSON_IsNumber(vo) || vb->valuedouble < 0 || vo->valuedouble < 0)
    snprintf(buf, len, "n/a");
  else if (MEASURES[k].kind == M_RATE)
    snprintf(buf, len, "%+.1f pt", (vo->valuedouble - vb->valuedouble) * 100.0);
  else if (vb->valuedouble == 0)
    snprintf(buf, len, "n/a");
  else
    snprintf(buf, len, "%+.1f%%", (vo->valuedouble - vb->valuedouble) / vb->valuedouble * 100.0);
  return buf;
}

/* ---- text ---- */

static void table_dims(const cJSON *j) {
  char a[48], b[48], c[48], d[48], e[48], f[48], g[48];
  for (int k = 0; k < N_DIMS; k++) {
    const cJSON *dim = obj(j, DIMS[k].key);
    if (!dim->child) continue;
    printf("\n| %-24s | %8s | %12s | %12s | %10s | %12s | %8s | %8s |\n", DIMS[k].title, "calls",
           "input", "cached", "output", "cost (USD)", "hit rate", "valid");
    printf("|--------------------------|----------|--------------|--------------|------------|"
           "--------------|----------|----------|\n");
    const cJSON *row;
    cJSON_ArrayForEach(row, dim) {
      printf("| %-24s | %8s | %12s | %12s | %10s | %12s | %8s | %8s |\n", row->string,
             cli_int(i64(num(row, "calls")), a, sizeof a),
             cli_int(i64(num(row, "input_tokens")), b, sizeof b),
             cli_int(i64(num(row, "cache_read_tokens")), c, sizeof c),
             cli_int(i64(num(row, "output_tokens")), d, sizeof d), usd(row, e, sizeof e),
             rate(row, "cache_hit_rate", f, sizeof f),
             rate(row, "validation_pass_rate", g, sizeof g));
    }
  }
}

/* The percentile cells of one workflow: tokens p50/p95/p99, cost p50/p95/p99,
 * suggested budget tokens and USD (10 strings of 48 bytes). */
static int pct_cells(const cJSON *row, char cells[10][48]) {
  const cJSON *p = obj(row, "percentiles");
  if (!cJSON_IsObject(p)) return 0;
  snprintf(cells[0], 48, "%s", cli_int(i64(num(p, "count")), cells[9], 48));
  static const char *const q[3] = {"p50", "p95", "p99"};
  for (int k = 0; k < 3; k++) {
    cli_int(i64(num(obj(p, "tokens"), q[k])), cells[1 + k], 48);
    usd_of(num(obj(p, "cost"), q[k]), cells[4 + k], 48);
  }
  const cJSON *bud = obj(p, "suggested_budget");
  cli_int(i64(num(bud, "tokens")), cells[7], 48);
  usd_of(num(bud, "cost"), cells[8], 48);
  return 1;
}

static void table_percentiles(const cJSON *j) {
  const cJSON *wf = obj(j, "by_workflow");
  if (!wf->child) return;
  printf("\nper workflow, per call (percentiles within 1%%; suggested budget = p99 + %lld%%):\n",
         (long long)i64(num(j, "budget_margin_pct")));
  printf("| %-24s | %8s | %9s | %9s | %9s | %10s | %10s | %10s | %12s | %12s |\n", "workflow",
         "calls", "tok p50", "tok p95", "tok p99", "USD p50", "USD p95", "USD p99", "budget tok",
         "budget USD");
  printf("|--------------------------|----------|-----------|-----------|-----------|------------|"
         "------------|------------|--------------|--------------|\n");
  const cJSON *row;
  cJSON_ArrayForEach(row, wf) {
    char c[10][48];
    if (!pct_cells(row, c)) continue;
    printf("| %-24s | %8s | %9s | %9s | %9s | %10s | %10s | %10s | %12s | %12s |\n", row->string,
           c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8]);
  }
}

static void table_compare(const cJSON *base, const cJSON *opt) {
  const cJSON *b = obj(base, "total"), *o = obj(opt, "total");
  printf("\nbaseline vs optimised:\n| %-24s | %16s | %16s | %10s |\n", "", "baseline",
         "optimised", "change");
  printf("|--------------------------|------------------|------------------|------------|\n");
  for (int k = 0; k < N_MEASURES; k++) {
    char x[48], y[48], z[48];
    printf("| %-24s | %16s | %16s | %10s |\n", MEASURES[k].title, measure(b, k, x, sizeof x),
           measure(o, k, y, sizeof y), change(b, o, k, z, sizeof z));
  }
}

static void table(const cJSON *j, const cJSON *base) {
  const cJSON *t = obj(j, "total");
  char a[48], b[48], c[48], d[48], e[48], f[48], g[48];
  printf("total: %s calls, %s input tokens (%s cached), %s output tokens, %s USD, cache hit "
         "rate %s, validation pass rate %s\n",
         cli_int(i64(num(t, "calls")), a, sizeof a),
         cli_int(i64(num(t, "input_tokens")), b, sizeof b),
         cli_int(i64(num(t, "cache_read_tokens")), c, sizeof c),
         cli_int(i64(num(t, "output_tokens")), d, sizeof d), usd(t, e, sizeof e),
         rate(t, "cache_hit_rate", f, sizeof f), rate(t, "validation_pass_rate", g, sizeof g));
  if (base) table_compare(base, j);
  table_percentiles(j);
  table_dims(j);
}

/* ---- HTML ---- */

/* Text escaped for HTML. */
static void html_text(const char *s) {
  for (; *s; s++) {
    switch (*s) {
      case '<': fputs("&lt;", stdout); break;
      case '>': fputs("&gt;", stdout); break;
      case '&': fputs("&amp;", stdout); break;
      case '"': fputs("&quot;", stdout); break;
      default: putchar(*s);
    }
  }
}

static const char *const COLORS[] = {"#3b6ea8", "#e07b39", "#4f9d69", "#b5485d", "#8a6fb5",
                                     "#c9a227", "#5aa3b0", "#7a7a7a"};
#define BASE_COLOR "#a9a9a9"

/* Bar widths are percentages of the bar column; labels wrap, values never. */
static const char CSS[] =
    "*{box-sizing:border-box}"
    "body{font-family:system-ui,sans-serif;margin:0;padding:1rem;color:#222;line-height:1.4}"
    "main{max-width:72rem;margin:0 auto}"
    "h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem}"
    ".kpis{display:flex;flex-wrap:wrap;gap:.8rem 2rem}.kpi b{display:block;font-size:1.4em}"
    ".scroll{overflow-x:auto;max-width:100%}"
    "table{border-collapse:collapse;margin:.5rem 0}"
    "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right;white-space:nowrap}"
    "td:first-child,th:first-child{text-align:left;white-space:normal;overflow-wrap:anywhere;"
    "min-width:7em;max-width:min(22em,45vw)}"
    ".bars{display:grid;grid-template-columns:fit-content(35%) minmax(3rem,1fr) max-content;"
    "gap:.3rem .6rem;align-items:center;margin:.5rem 0}"
    ".lbl{overflow-wrap:anywhere;min-width:0}"
    ".bar i{display:block;height:1rem;min-width:1px}.bar i+i{margin-top:2px}"
    ".val{white-space:nowrap;text-align:right;font-variant-numeric:tabular-nums}"
    ".stack{display:flex;height:1.6rem;width:100%}.stack i{display:block;height:100%}"
    ".legend{display:flex;flex-wrap:wrap;gap:.3rem 1.2rem;margin:.4rem 0;font-size:.9em}"
    ".sw{display:inline-block;width:.8em;height:.8em;margin-right:.3em}"
    "figure{margin:1.5rem 0}figcaption{font-weight:bold;margin-bottom:.4em}";

/* A bar chart of one measure over the keys of a dimension; with a baseline
 * export's same dimension, each key gets the baseline's bar above its own. */
static void bar_chart(const cJSON *dim, const cJSON *bdim, const char *field, const char *title,
                      int money) {
  double max = 0;
  int n = 0;
  const cJSON *row;
  cJSON_ArrayForEach(row, dim) {
    double v = num(row, field), bv = bdim ? num(obj(bdim, row->string), field) : 0;
    if (v > max) max = v;
    if (bv > max) max = bv;
    n++;
  }
  if (!n) return;
  printf("<figure><figcaption>");
  html_text(title);
  if (bdim)
    printf(" <small>(<span class=\"sw\" style=\"background:" BASE_COLOR
           "\"></span>baseline above the optimised run)</small>");
  printf("</figcaption><div class=\"bars\">\n");
  int i = 0;
  cJSON_ArrayForEach(row, dim) {
    char a[48], b[48];
    double v = num(row, field);
    const cJSON *brow = bdim ? obj(bdim, row->string) : NULL;
    printf("<div class=\"lbl\">");
    html_text(row->string);
    printf("</div><div class=\"bar\">");
    if (bdim)
      printf("<i style=\"width:%.2f%%;background:" BASE_COLOR "\"></i>",
             max > 0 ? num(brow, field) / max * 100.0 : 0.0);
    printf("<i style=\"width:%.2f%%;background:%s\"></i></div><div class=\"val\">",
           max > 0 ? v / max * 100.0 : 0.0, COLORS[i % 8]);
    if (bdim) {
      if (brow)
        printf("%s<br>", money ? usd_of(num(brow, field), b, sizeof b)
                               : cli_int(i64(num(brow, field)), b, sizeof b));
      else
        printf("-<br>");
    }
    printf("%s%s</div>\n", money ? usd_of(v, a, sizeof a) : cli_int(i64(v), a, sizeof a),
           money ? " USD" : "");
    i++;
  }
  printf("</div></figure>\n");
}

/* One stacked bar: the total's tokens by kind. */
static void kinds_chart(const cJSON *t) {
  double cached = num(t, "cache_read_tokens"), input = num(t, "input_tokens");
  double writes = num(t, "cache_write_5m_tokens") + num(t, "cache_write_1h_tokens");
  double parts[4] = {input - cached - writes, cached, writes, num(t, "output_tokens")};
  const char *names[4] = {"input, uncached", "input, cached", "cache writes", "output"};
  double sum = parts[0] + parts[1] + parts[2] + parts[3];
  if (sum <= 0) return;
  printf("<figure><figcaption>tokens by kind</figcaption><div class=\"stack\">");
  for (int k = 0; k < 4; k++)
    printf("<i style=\"width:%.2f%%;background:%s\"></i>", parts[k] / sum * 100.0, COLORS[k]);
  printf("</div><div class=\"legend\">");
  for (int k = 0; k < 4; k++) {
    char a[48];
    printf("<span><span class=\"sw\" style=\"background:%s\"></span>%s %s</span>", COLORS[k],
           names[k], cli_int(i64(parts[k]), a, sizeof a));
  }
  printf("</div></figure>\n");
}

static void html_compare(const cJSON *base, const cJSON *opt) {
  const cJSON *b = obj(base, "total"), *o = obj(opt, "total");
  printf("<h2>baseline vs optimised</h2><div class=\"scroll\"><table id=\"compare\"><tr><th>"
         "</th><th>baseline</th><th>optimised</th><th>change</th></tr>\n");
  for (int k = 0; k < N_MEASURES; k++) {
    char x[48], y[48], z[48];
    printf("<tr data-measure=\"%s\"><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
           MEASURES[k].key, MEASURES[k].title, measure(b, k, x, sizeof x),
           measure(o, k, y, sizeof y), change(b, o, k, z, sizeof z));
  }
  printf("</table></div>\n");
}

static void html_percentiles(const cJSON *j) {
  const cJSON *wf = obj(j, "by_workflow");
  if (!wf->child) return;
  printf("<h2>per workflow: tokens and cost per call, suggested budgets</h2>"
         "<p>Percentiles within 1%%; the suggested budget per call is p99 + %lld%%.</p>"
         "<div class=\"scroll\"><table id=\"percentiles\"><tr><th>workflow</th><th>calls</th>"
         "<th>tokens p50</th><th>p95</th><th>p99</th><th>cost p50 (USD)</th><th>p95</th>"
         "<th>p99</th><th>budget (tokens)</th><th>budget (USD)</th></tr>\n",
         (long long)i64(num(j, "budget_margin_pct")));
  const cJSON *row;
  cJSON_ArrayForEach(row, wf) {
    char c[10][48];
    if (!pct_cells(row, c)) continue;
    printf("<tr><td>");
    html_text(row->string);
    printf("</td>");
    for (int k = 0; k < 9; k++) printf("<td>%s</td>", c[k]);
    printf("</tr>\n");
  }
  printf("</table></div>\n");
}

static void html_dims(const cJSON *j) {
  for (int k = 0; k < N_DIMS; k++) {
    const cJSON *dim = obj(j, DIMS[k].key);
    if (!dim->child) continue;
    printf("<h2>by %s</h2><div class=\"scroll\"><table><tr><th>%s</th><th>calls</th>"
           "<th>input</th><th>cached</th><th>output</th><th>cost (USD)</th><th>hit rate</th>"
           "<th>valid</th></tr>\n",
           DIMS[k].title, DIMS[k].title);
    const cJSON *row;
    cJSON_ArrayForEach(row, dim) {
      char a[48], b[48], c[48], d[48], e[48], f[48], h[48];
      printf("<tr><td>");
      html_text(row->string);
      printf("</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td>"
             "<td>%s</td></tr>\n",
             cli_int(i64(num(row, "calls")), a, sizeof a),
             cli_int(i64(num(row, "input_tokens")), b, sizeof b),
             cli_int(i64(num(row, "cache_read_tokens")), c, sizeof c),
             cli_int(i64(num(row, "output_tokens")), d, sizeof d), usd(row, e, sizeof e),
             rate(row, "cache_hit_rate", f, sizeof f),
             rate(row, "validation_pass_rate", h, sizeof h));
    }
    printf("</table></div>\n");
  }
}

static void html(const cJSON *j, const cJSON *base) {
  const cJSON *t = obj(j, "total");
  char a[48], b[48], c[48], g[48];
  printf("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
         "<title>tokenomy report</title><style>%s</style></head><body><main>"
         "<h1>tokenomy report</h1>\n",
         CSS);
  printf("<div class=\"kpis\"><div class=\"kpi\"><b>%s</b>calls</div>",
         cli_int(i64(num(t, "calls")), a, sizeof a));
  printf("<div class=\"kpi\"><b>%s USD</b>cost</div>", usd(t, b, sizeof b));
  printf("<div class=\"kpi\"><b>%s</b>cache hit rate</div>",
         rate(t, "cache_hit_rate", c, sizeof c));
  printf("<div class=\"kpi\"><b>%s</b>validation pass rate</div></div>\n",
         rate(t, "validation_pass_rate", g, sizeof g));
  if (base) html_compare(base, j);
  kinds_chart(t);
  const cJSON *nb = NULL;
  bar_chart(obj(j, "by_model"), base ? obj(base, "by_model") : nb, "cost", "cost by model", 1);
  bar_chart(obj(j, "by_task_type"), base ? obj(base, "by_task_type") : nb, "cost",
            "cost by task type", 1);
  bar_chart(obj(j, "by_tier"), base ? obj(base, "by_tier") : nb, "calls", "calls by tier", 0);
  html_percentiles(j);
  html_dims(j);
  puts("</main></body></html>");
}

/* ---- JSON ---- */

static void json_out(const cJSON *j, const cJSON *base) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddItemToObject(o, "total", cJSON_Duplicate(obj(j, "total"), 1));
  cJSON *wf = cJSON_AddObjectToObject(o, "workflows");
  const cJSON *row;
  cJSON_ArrayForEach(row, obj(j, "by_workflow")) {
    const cJSON *p = obj(row, "percentiles");
    if (cJSON_IsObject(p)) cJSON_AddItemToObject(wf, row->string, cJSON_Duplicate(p, 1));
  }
  if (base) {
    cJSON *cmp = cJSON_AddObjectToObject(o, "baseline_vs_optimised");
    for (int k = 0; k < N_MEASURES; k++) {
      cJSON *m = cJSON_AddObjectToObject(cmp, MEASURES[k].key);
      const cJSON *vb = obj(obj(base, "total"), MEASURES[k].key);
      const cJSON *vo = obj(obj(j, "total"), MEASURES[k].key);
      cJSON_AddItemToObject(m, "baseline", vb ? cJSON_Duplicate(vb, 1) : cJSON_CreateNull());
      cJSON_AddItemToObject(m, "optimised", vo ? cJSON_Duplicate(vo, 1) : cJSON_CreateNull());
    }
  }
  cli_print_json(o);
  cJSON_Delete(o);
}

static cJSON *read_export(const char *file) {
  cJSON *j = cli_read_json("report", file, NULL);
  if (j && !check_export(j)) {
    cJSON_Delete(j);
    cli_fail("report", "%s: not a meter export (expected \"total\" and the by_* objects)",
             file ? file : "standard input");
    return NULL;
  }
  const cJSON *bad = j ? out_of_range(j) : NULL;
  if (bad) {
    cli_fail("report", "%s: \"%s\" is %g, outside the int64 range of a meter export",
             file ? file : "standard input", bad->string ? bad->string : "(an array element)",
             bad->valuedouble);
    cJSON_Delete(j);
    return NULL;
  }
  return j;
}

int cmd_report(int argc, char **argv) {
  const char *file = NULL, *base_file = NULL;
  int as_html = 0, as_json = 0;
  const cli_option opts[] = {{"--html", CLI_FLAG, &as_html, NULL, 0, 0, NULL},
                             {"--json", CLI_FLAG, &as_json, NULL, 0, 0, NULL},
                             {"--baseline", CLI_STR, &base_file, NULL, 0, 0, NULL},
                             CLI_OPT_END};
  int parsed = cli_parse_file("report", HELP, opts, &file, argc, argv);
  if (parsed >= 0) return parsed;
  if (as_html && as_json) return CLI_USAGE_ERR("report", "--html or --json, not both");
  cJSON *j = read_export(file);
  if (!j) return 2;
  cJSON *base = NULL;
  if (base_file && !(base = read_export(base_file))) {
    cJSON_Delete(j);
    return 2;
  }
  if (as_html)
    html(j, base);
  else if (as_json)
    json_out(j, base);
  else
    table(j, base);
  cJSON_Delete(j);
  cJSON_Delete(base);
  return 0;
}
