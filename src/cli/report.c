/* tokenomy report: a meter export (tkn_meter_export, JSON) as a table, or as
 * one self-contained HTML page with inline SVG charts (no external assets). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char HELP[] =
    "usage: tokenomy report [--html] [EXPORT.json]\n"
    "\n"
    "Render a meter export (the JSON of tkn_meter_export, e.g. written by\n"
    "`tokenomy simulate --export-meter FILE`) as tables by model, tier, task type,\n"
    "workflow, tenant and routing reason; with --html as one self-contained HTML page\n"
    "with inline SVG charts.\n";

static const struct {
  const char *key;
  const char *title;
} DIMS[] = {{"by_model", "model"},         {"by_tier", "tier"},
            {"by_task_type", "task type"}, {"by_workflow", "workflow"},
            {"by_tenant", "tenant"},       {"by_routing_reason", "routing reason"}};
#define N_DIMS 6

static double num(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsNumber(v) ? v->valuedouble : 0.0;
}

static const char *usd(const cJSON *o, char *buf, size_t len) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "cost_usd");
  snprintf(buf, len, "%.6s", "");
  if (cJSON_IsString(v)) {
    /* exact decimal text: keep 6 decimals */
    snprintf(buf, len, "%s", v->valuestring);
    char *dot = strchr(buf, '.');
    if (dot && strlen(dot) > 7) dot[7] = '\0';
  }
  return buf;
}

static const char *rate(const cJSON *o, const char *k, char *buf, size_t len) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  if (cJSON_IsNumber(v))
    snprintf(buf, len, "%.1f%%", v->valuedouble * 100.0);
  else
    snprintf(buf, len, "n/a");
  return buf;
}

static int check_export(const cJSON *j) {
  if (!cJSON_IsObject(j) || !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(j, "total"))) return 0;
  for (int d = 0; d < N_DIMS; d++)
    if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(j, DIMS[d].key))) return 0;
  return 1;
}

static void table(const cJSON *j) {
  const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "total");
  char a[48], b[48], c[48], d[48], e[48], f[48], g[48];
  printf("total: %s calls, %s input tokens (%s cached), %s output tokens, %s USD, cache hit "
         "rate %s, validation pass rate %s\n",
         cli_int((int64_t)num(t, "calls"), a, sizeof a),
         cli_int((int64_t)num(t, "input_tokens"), b, sizeof b),
         cli_int((int64_t)num(t, "cache_read_tokens"), c, sizeof c),
         cli_int((int64_t)num(t, "output_tokens"), d, sizeof d), usd(t, e, sizeof e),
         rate(t, "cache_hit_rate", f, sizeof f), rate(t, "validation_pass_rate", g, sizeof g));
  for (int k = 0; k < N_DIMS; k++) {
    const cJSON *dim = cJSON_GetObjectItemCaseSensitive(j, DIMS[k].key);
    if (!dim->child) continue;
    printf("\n| %-24s | %8s | %12s | %12s | %10s | %12s | %8s | %8s |\n", DIMS[k].title, "calls",
           "input", "cached", "output", "cost (USD)", "hit rate", "valid");
    printf("|--------------------------|----------|--------------|--------------|------------|"
           "--------------|----------|----------|\n");
    const cJSON *row;
    cJSON_ArrayForEach(row, dim) {
      printf("| %-24.24s | %8s | %12s | %12s | %10s | %12s | %8s | %8s |\n", row->string,
             cli_int((int64_t)num(row, "calls"), a, sizeof a),
             cli_int((int64_t)num(row, "input_tokens"), b, sizeof b),
             cli_int((int64_t)num(row, "cache_read_tokens"), c, sizeof c),
             cli_int((int64_t)num(row, "output_tokens"), d, sizeof d), usd(row, e, sizeof e),
             rate(row, "cache_hit_rate", f, sizeof f),
             rate(row, "validation_pass_rate", g, sizeof g));
    }
  }
}

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

/* A horizontal bar chart of one field over the keys of a dimension. */
static void bar_chart(const cJSON *dim, const char *field, const char *title, int money) {
  double max = 0;
  int n = 0;
  const cJSON *row;
  cJSON_ArrayForEach(row, dim) {
    double v = money ? num(row, "cost") : num(row, field);
    if (v > max) max = v;
    n++;
  }
  if (!n) return;
  int h = 28 * n + 36, w = 640;
  printf("<figure><figcaption>");
  html_text(title);
  printf("</figcaption><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
         "role=\"img\">",
         w, h);
  int i = 0;
  cJSON_ArrayForEach(row, dim) {
    double v = money ? num(row, "cost") : num(row, field);
    int bw = max > 0 ? (int)(v / max * 380.0) : 0;
    int y = 10 + 28 * i;
    printf("<text x=\"0\" y=\"%d\" font-size=\"12\">", y + 15);
    html_text(row->string);
    printf("</text><rect x=\"170\" y=\"%d\" width=\"%d\" height=\"20\" fill=\"%s\"/>", y,
           bw > 0 ? bw : 1, COLORS[i % 8]);
    char a[48];
    if (money)
      usd(row, a, sizeof a);
    else
      cli_int((int64_t)v, a, sizeof a);
    printf("<text x=\"%d\" y=\"%d\" font-size=\"12\">%s%s</text>", 176 + bw, y + 15, a,
           money ? " USD" : "");
    i++;
  }
  printf("</svg></figure>\n");
}

/* One stacked bar: the total's tokens by kind. */
static void kinds_chart(const cJSON *t) {
  double cached = num(t, "cache_read_tokens"), input = num(t, "input_tokens");
  double writes = num(t, "cache_write_5m_tokens") + num(t, "cache_write_1h_tokens");
  double parts[4] = {input - cached - writes, cached, writes, num(t, "output_tokens")};
  const char *names[4] = {"input, uncached", "input, cached", "cache writes", "output"};
  double sum = parts[0] + parts[1] + parts[2] + parts[3];
  if (sum <= 0) return;
  printf("<figure><figcaption>tokens by kind</figcaption><svg xmlns=\"http://www.w3.org/2000/svg\" "
         "width=\"640\" height=\"90\" role=\"img\">");
  double x = 0;
  for (int k = 0; k < 4; k++) {
    double wpx = parts[k] / sum * 600.0;
    printf("<rect x=\"%.1f\" y=\"0\" width=\"%.1f\" height=\"28\" fill=\"%s\"/>", x, wpx, COLORS[k]);
    char a[48];
    printf("<rect x=\"%d\" y=\"44\" width=\"10\" height=\"10\" fill=\"%s\"/><text x=\"%d\" y=\"54\" "
           "font-size=\"11\">%s %s</text>",
           k * 160, COLORS[k], k * 160 + 14, names[k], cli_int((int64_t)parts[k], a, sizeof a));
    x += wpx;
  }
  printf("</svg></figure>\n");
}

static void html(const cJSON *j) {
  const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "total");
  char a[48], b[48], c[48];
  puts("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
       "<title>tokenomy report</title><style>"
       "body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:980px}"
       "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;"
       "text-align:right}td:first-child,th:first-child{text-align:left}"
       "figure{margin:1.5em 0}figcaption{font-weight:bold;margin-bottom:.4em}"
       ".kpi{display:inline-block;margin-right:2em}.kpi b{display:block;font-size:1.5em}"
       "</style></head><body><h1>tokenomy report</h1>");
  printf("<div class=\"kpi\"><b>%s</b>calls</div>", cli_int((int64_t)num(t, "calls"), a, sizeof a));
  printf("<div class=\"kpi\"><b>%s USD</b>cost</div>", usd(t, b, sizeof b));
  printf("<div class=\"kpi\"><b>%s</b>cache hit rate</div>", rate(t, "cache_hit_rate", c, sizeof c));
  char g[48];
  printf("<div class=\"kpi\"><b>%s</b>validation pass rate</div>\n",
         rate(t, "validation_pass_rate", g, sizeof g));
  kinds_chart(t);
  bar_chart(cJSON_GetObjectItemCaseSensitive(j, "by_model"), NULL, "cost by model", 1);
  bar_chart(cJSON_GetObjectItemCaseSensitive(j, "by_task_type"), NULL, "cost by task type", 1);
  bar_chart(cJSON_GetObjectItemCaseSensitive(j, "by_tier"), "calls", "calls by tier", 0);
  for (int k = 0; k < N_DIMS; k++) {
    const cJSON *dim = cJSON_GetObjectItemCaseSensitive(j, DIMS[k].key);
    if (!dim->child) continue;
    printf("<h2>by ");
    html_text(DIMS[k].title);
    printf("</h2><table><tr><th>");
    html_text(DIMS[k].title);
    printf("</th><th>calls</th><th>input</th><th>cached</th><th>output</th><th>cost (USD)</th>"
           "<th>hit rate</th><th>valid</th></tr>\n");
    const cJSON *row;
    cJSON_ArrayForEach(row, dim) {
      char d[48], e[48], f[48], h[48];
      printf("<tr><td>");
      html_text(row->string);
      printf("</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
             cli_int((int64_t)num(row, "calls"), a, sizeof a),
             cli_int((int64_t)num(row, "input_tokens"), b, sizeof b),
             cli_int((int64_t)num(row, "cache_read_tokens"), c, sizeof c),
             cli_int((int64_t)num(row, "output_tokens"), d, sizeof d), usd(row, e, sizeof e),
             rate(row, "cache_hit_rate", f, sizeof f), rate(row, "validation_pass_rate", h, sizeof h));
    }
    printf("</table>\n");
  }
  puts("</body></html>");
}

int cmd_report(int argc, char **argv) {
  const char *file = NULL;
  int as_html = 0;
  const cli_option opts[] = {{"--html", CLI_FLAG, &as_html, NULL, 0, 0, NULL},
                             {NULL, CLI_FLAG, NULL, NULL, 0, 0, NULL}};
  const cli_command c = {"report", HELP, opts, 1, &file, NULL, 0, NULL, NULL};
  int parsed = cli_parse(&c, argc, argv);
  if (parsed >= 0) return parsed;
  cJSON *j = cli_read_json("report", file, NULL);
  if (!j) return 2;
  if (!check_export(j)) {
    cJSON_Delete(j);
    return cli_fail("report", "%s: not a meter export (expected \"total\" and the by_* objects)",
                    file ? file : "standard input");
  }
  if (as_html)
    html(j);
  else
    table(j);
  cJSON_Delete(j);
  return 0;
}
