/* The inputs issue 21 found quadratic (or worse), timed at two sizes: the
 * CPU time of one call at size n and at 2n, and their ratio (about 2 for a
 * linear cost, 4 for a quadratic one).  Prints, never asserts a time.
 *   tool cache:   arguments of 1 MiB, one key repeated (canonicalisation)
 *   prompt:       a tool definition of 2 MiB, one key repeated (add_tool)
 *   uniqueItems:  an array of 1 MiB of distinct items
 *   pattern:      a catastrophic pattern, ^(a+)+$, under anyOf/not/contains,
 *                 against 70 KB of "aaa...ab" (the regex gives up; the
 *                 document fails, as schema.h says)
 * Before the fixes (same machine class, the figures): 8.2 s, 37.5 s,
 * 24-28 s and 22-25 s. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <tokenomy.h>

static double cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* {"k":1,"k":1,...} of about n bytes, wrapped as prefix ... suffix */
static char *dup_keys(size_t n, const char *prefix, const char *suffix, size_t *len) {
  size_t pl = strlen(prefix), sl = strlen(suffix);
  char *s = malloc(n + pl + sl + 16);
  size_t o = 0;
  memcpy(s, prefix, pl);
  o += pl;
  s[o++] = '{';
  while (o < n) o += (size_t)sprintf(s + o, "%s\"k\":1", s[o - 1] == '{' ? "" : ",");
  s[o++] = '}';
  memcpy(s + o, suffix, sl);
  o += sl;
  s[o] = '\0';
  *len = o;
  return s;
}

static double time_toolcache(size_t n, int *rc) {
  tkn_toolcache_options o = TKN_TOOLCACHE_OPTIONS_INIT;
  o.max_args_bytes = 4u << 20;
  tkn_toolcache *c = NULL;
  tkn_toolcache_new(&c, &o);
  tkn_toolcache_set_policy(c, "t", 1, 1, 0, TKN_TOOLCACHE_SCOPE_GLOBAL);
  size_t len;
  char *args = dup_keys(n, "", "", &len);
  char *v = NULL;
  size_t vl;
  double t0 = cpu_s();
  *rc = tkn_toolcache_get(c, "t", 1, args, len, NULL, 0, &v, &vl);
  double t = cpu_s() - t0;
  tkn_free(v);
  free(args);
  tkn_toolcache_free(c);
  return t;
}

static double time_prompt(size_t n, int *rc) {
  tkn_prompt_builder *b = NULL;
  tkn_prompt_builder_new(&b, NULL);
  size_t len;
  char *tool = dup_keys(n, "{\"name\":\"t\",\"parameters\":{\"type\":\"object\",\"x\":", "}}",
                        &len);
  double t0 = cpu_s();
  *rc = tkn_prompt_builder_add_tool(b, tool, len, NULL);
  double t = cpu_s() - t0;
  free(tool);
  tkn_prompt_builder_free(b);
  return t;
}

static double time_schema(const char *schema, char *doc, size_t len, int *rc) {
  tkn_schema *s = NULL;
  tkn_schema_result *res = NULL;
  tkn_schema_compile(&s, schema, strlen(schema), NULL);
  tkn_schema_result_new(&res);
  double t0 = cpu_s();
  *rc = tkn_schema_validate(s, doc, len, res);
  double t = cpu_s() - t0;
  tkn_schema_result_free(res);
  tkn_schema_free(s);
  return t;
}

static double time_unique(size_t n, int *rc) {
  char *d = malloc(n + 32);
  size_t o = 0;
  d[o++] = '[';
  for (unsigned i = 0; o < n; i++) o += (size_t)sprintf(d + o, "%s%u", i ? "," : "", i);
  d[o++] = ']';
  double t = time_schema("{\"type\":\"array\",\"uniqueItems\":true}", d, o, rc);
  free(d);
  return t;
}

static double time_pattern(size_t n, int *rc) {
  char *d = malloc(n + 8);
  d[0] = '[';
  d[1] = '"';
  memset(d + 2, 'a', n);
  memcpy(d + 2 + n, "b\"]", 3);
  double t = time_schema("{\"anyOf\":[{\"not\":{\"contains\":{\"pattern\":\"^(a+)+$\"}}}]}", d,
                         n + 5, rc);
  free(d);
  return t;
}

typedef double (*timer)(size_t n, int *rc);

/* The median of 3 runs at n and at 2n. */
static void row(const char *name, timer f, size_t n) {
  double a[3], b[3];
  int rc = 0, rc2 = 0;
  for (int i = 0; i < 3; i++) a[i] = f(n, &rc), b[i] = f(2 * n, &rc2);
  for (int i = 0; i < 3; i++)
    for (int j = i + 1; j < 3; j++) {
      if (a[j] < a[i]) { double x = a[i]; a[i] = a[j]; a[j] = x; }
      if (b[j] < b[i]) { double x = b[i]; b[i] = b[j]; b[j] = x; }
    }
  printf("| %-34s | %8zu | %9.4f | %9.4f | %5.2f | %s |\n", name, n, a[1], b[1],
         a[1] > 0 ? b[1] / a[1] : 0.0, tkn_strerror(rc));
}

int main(void) {
  printf("quadratic inputs of issue 21: CPU seconds of one call (median of 3), at n and 2n\n");
  printf("| %-34s | %8s | %9s | %9s | %5s | %s |\n", "input", "n bytes", "s at n", "s at 2n",
         "ratio", "status");
  row("tool cache get, one key repeated", time_toolcache, (size_t)1 << 20);
  row("prompt add_tool, one key repeated", time_prompt, (size_t)2 << 20);
  row("uniqueItems, distinct numbers", time_unique, (size_t)1 << 20);
  row("^(a+)+$ under anyOf/not/contains", time_pattern, (size_t)70000);
  printf("(before the fixes, at n: 8.2 s, 37.5 s, 24-28 s, 22-25 s)\n");
  return 0;
}
