/* Benchmark of the prompt part: assembling and rendering a 100 KB prompt of 50
 * messages (target: under 100 us), and fingerprinting throughput (target: at
 * least 2 GB/s).  Each figure is printed beside a reference measured in the
 * same run: rendering beside a cJSON build-and-print of the same request
 * (what a host without tokenomy would do), hashing beside memcpy.
 * Rerun: meson test -C build --benchmark --suite bench -v prompt
 *    or: build/tests/bench/prompt/bench_prompt */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <tokenomy.h>

#include "internal.h"

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* The host's tokenizer is not what is measured: a constant-time stand-in. */
static int quarter_count(const char *text, size_t len, int64_t *out, void *user) {
  (void)text;
  (void)user;
  *out = (int64_t)((len + 3) / 4);
  return 0;
}

static void fill_text(char *s, size_t n, unsigned seed) {
  static const char *const words[] = {"the ", "order ", "shipped ", "customer ", "refund ",
                                      "policy ", "section ", "details, ", "please ", "check.\n"};
  size_t len = 0;
  while (len < n) {
    seed = seed * 1103515245u + 12345u;
    const char *w = words[(seed >> 16) % 10];
    size_t k = strlen(w);
    if (len + k > n) k = n - len;
    memcpy(s + len, w, k);
    len += k;
  }
  s[n] = '\0';
}

#define MESSAGES 50
#define MSG_BYTES 1800
#define SYSTEM_BYTES 8000
#define RUNS 2000

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return v[n / 2];
}

int main(void) {
  tkn_tokenizer_callbacks cb = TKN_TOKENIZER_CALLBACKS_INIT;
  cb.count = quarter_count;
  tkn_tokenizer *tok = NULL;
  tkn_conv *conv = NULL;
  tkn_prompt_builder *b = NULL;
  if (tkn_tokenizer_new_callback(&tok, &cb, NULL) || tkn_conv_new(&conv) ||
      tkn_prompt_builder_new(&b, NULL))
    return 1;
  char *text = malloc(SYSTEM_BYTES + 1);
  for (int i = 0; i < MESSAGES; i++) {
    fill_text(text, MSG_BYTES, (unsigned)i);
    if (tkn_conv_append_text(conv, i % 2 ? TKN_ROLE_ASSISTANT : TKN_ROLE_USER, text, MSG_BYTES))
      return 1;
  }
  const char *tools[3] = {
      ("{\"name\":\"get_order\",\"description\":\"Look up an order\",\"parameters\":{\"type\":"
       "\"object\",\"properties\":{\"id\":{\"type\":\"string\"}},\"required\":[\"id\"]}}"),
      ("{\"name\":\"refund\",\"description\":\"Refund an order\",\"parameters\":{\"type\":"
       "\"object\",\"properties\":{\"id\":{\"type\":\"string\"},\"amount\":{\"type\":"
       "\"number\"}}}}"),
      ("{\"name\":\"escalate\",\"description\":\"Hand over to a human\"}")
  };
  for (int i = 0; i < 3; i++)
    if (tkn_prompt_builder_add_tool(b, tools[i], strlen(tools[i]), NULL)) return 1;
  fill_text(text, SYSTEM_BYTES, 99);
  if (tkn_prompt_builder_add_text(b, TKN_SEG_STATIC, TKN_STABILITY_STATIC, "system", 6, text,
                                  SYSTEM_BYTES, NULL) ||
      tkn_prompt_builder_set_history(b, conv, TKN_STABILITY_SESSION, NULL) ||
      tkn_prompt_builder_add_text(b, TKN_SEG_DYNAMIC, TKN_STABILITY_VOLATILE, "query", 5,
                                  "Where is my order?", 18, NULL))
    return 1;

  tkn_render_options oa = TKN_RENDER_OPTIONS_INIT, an = TKN_RENDER_OPTIONS_INIT;
  oa.model = an.model = "model";
  oa.model_len = an.model_len = 5;
  an.format = TKN_FORMAT_ANTHROPIC;
  an.max_tokens = 1024;
  static double t_asm[RUNS], t_oa[RUNS], t_an[RUNS], t_cj[RUNS];
  size_t oa_len = 0, an_len = 0;
  tkn_prompt *p = NULL;
  double m_asm[2], m_oa[2], m_an[2];
  for (int pass = 0; pass < 2; pass++) {
#if defined(__GLIBC__)
    /* pass 1: keep freed pages mapped, as a long-running host's heap does; by
     * default glibc returns the top of the heap to the kernel on each free
     * and every request page-faults it back */
    if (pass == 1) mallopt(M_TOP_PAD, 1 << 20);
#endif
    for (int r = 0; r < RUNS; r++) {
      tkn_prompt_free(p);
      double t0 = now_us();
      if (tkn_prompt_assemble(&p, b, tok)) return 1;
      double t1 = now_us();
      char *out = NULL;
      if (tkn_prompt_render(p, &oa, &out, &oa_len, NULL, 0)) return 1;
      double t2 = now_us();
      tkn_free(out);
      double t3 = now_us();
      if (tkn_prompt_render(p, &an, &out, &an_len, NULL, 0)) return 1;
      double t4 = now_us();
      tkn_free(out);
      t_asm[r] = t1 - t0;
      t_oa[r] = t2 - t1;
      t_an[r] = t4 - t3;
    }
    m_asm[pass] = median(t_asm, RUNS);
    m_oa[pass] = median(t_oa, RUNS);
    m_an[pass] = median(t_an, RUNS);
  }
  /* the reference: the same OpenAI request built as a cJSON tree and printed */
  for (int r = 0; r < RUNS; r++) {
    double t0 = now_us();
    cJSON *req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "model", "model");
    cJSON *msgs = cJSON_AddArrayToObject(req, "messages");
    cJSON *sys = cJSON_CreateObject();
    cJSON_AddStringToObject(sys, "role", "system");
    cJSON_AddStringToObject(sys, "content", text);
    cJSON_AddItemToArray(msgs, sys);
    for (size_t i = 0; i < tkn_conv_count(conv); i++) {
      const char *t;
      size_t len;
      tkn_conv_text(conv, i, &t, &len);
      cJSON *m = cJSON_CreateObject();
      cJSON_AddStringToObject(m, "role", tkn_role_name(tkn_conv_role(conv, i)));
      cJSON_AddStringToObject(m, "content", t);
      cJSON_AddItemToArray(msgs, m);
    }
    char *s = cJSON_PrintUnformatted(req);
    cJSON_Delete(req);
    double t1 = now_us();
    cJSON_free(s);
    t_cj[r] = t1 - t0;
  }
  double m_cj = median(t_cj, RUNS);

  /* fingerprinting: XXH64 chained over the prompt's blocks, as assembly does,
   * beside memcpy of the same bytes */
  size_t total = 64u << 20;
  char *big = malloc(total), *dst = malloc(total);
  fill_text(big, total - 1, 7);
  uint64_t h = 0;
  double best_hash = 1e30, best_copy = 1e30;
  for (int r = 0; r < 5; r++) {
    double t0 = now_us();
    h = tki_hash64(big, total, h);
    double t1 = now_us();
    memcpy(dst, big, total);
    double t2 = now_us();
    if (t1 - t0 < best_hash) best_hash = t1 - t0;
    if (t2 - t1 < best_copy) best_copy = t2 - t1;
  }
  double gbs_hash = (double)total / best_hash / 1e3, gbs_copy = (double)total / best_copy / 1e3;
  /* and the real thing: per-block chaining over the assembled 100 KB prompt */
  size_t nblocks = tkn_prompt_block_count(p);
  tkn_prompt_segment_info info;
  memset(&info, 0, sizeof info);
  info.version = TKN_PROMPT_SEGMENT_INFO_VERSION;
  uint64_t prompt_bytes = 0;
  for (size_t i = 0; i < tkn_prompt_segment_count(p); i++) {
    tkn_prompt_segment(p, i, &info);
    prompt_bytes += info.bytes;
  }

  printf("prompt benchmark (median of %d runs per pass; rerun: meson test -C build --benchmark --suite "
         "bench -v prompt)\n",
         RUNS);
  printf("input: %d messages of %d bytes + %d-byte system prompt + 3 tools + query = %llu "
         "canonical bytes in %zu blocks, %lld tokens (tokenizer: constant-time stand-in)\n",
         MESSAGES, MSG_BYTES, SYSTEM_BYTES, (unsigned long long)prompt_bytes, nblocks,
         (long long)tkn_prompt_tokens(p));
  for (int pass = 0; pass < 2; pass++) {
    printf("%s\n", pass ? "-- allocator keeps freed pages (glibc M_TOP_PAD 1 MiB): steady state"
                        : "-- default allocator (glibc trims the heap after each request)");
    printf("%-48s %10s %12s %8s\n", "step", "median us", "reference us", "ratio");
    printf("%-48s %10.1f %12.1f %8.2f\n", "assemble (order, lint, serialise, fingerprint)",
           m_asm[pass], 100.0, m_asm[pass] / 100.0);
    printf("%-48s %10.1f %12.1f %8.2f\n", "render OpenAI (vs cJSON build+print)", m_oa[pass], m_cj,
           m_oa[pass] / m_cj);
    printf("%-48s %10.1f %12.1f %8.2f\n", "assemble + render OpenAI (vs 100 us target)",
           m_asm[pass] + m_oa[pass], 100.0, (m_asm[pass] + m_oa[pass]) / 100.0);
    printf("%-48s %10.1f %12.1f %8.2f\n", "assemble + render Anthropic (vs 100 us target)",
           m_asm[pass] + m_an[pass], 100.0, (m_asm[pass] + m_an[pass]) / 100.0);
  }
  printf("request bytes: OpenAI %zu, Anthropic %zu\n", oa_len, an_len);
  printf("%-48s %10s %12s %8s\n", "fingerprinting (64 MiB, best of 5)", "GB/s", "reference",
         "ratio");
  printf("%-48s %10.2f %12.2f %8.2f\n", "XXH64 (vs memcpy)", gbs_hash, gbs_copy,
         gbs_hash / gbs_copy);
  printf("%-48s %10.2f %12.2f %8.2f\n", "XXH64 (vs 2 GB/s target)", gbs_hash, 2.0,
         gbs_hash / 2.0);
  printf("(hash %016llx)\n", (unsigned long long)h);
  tkn_prompt_free(p);
  free(big);
  free(dst);
  free(text);
  tkn_prompt_builder_free(b);
  tkn_conv_free(conv);
  tkn_tokenizer_free(tok);
  return 0;
}
