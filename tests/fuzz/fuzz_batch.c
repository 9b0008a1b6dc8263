/* libFuzzer harness: the batch result reader and request writer, both built
 * on the batch JSON skimmer.  Reader: the same bytes fed whole and in chunks
 * of a size the input picks must give the same status and summary, and a
 * failure always says why in one line.  Writer: a body it accepts must come
 * out as one line that the shared JSON reader parses. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "tokenomy/batch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int feed(const char *in, size_t len, uint32_t provider, size_t chunk,
                tkn_batch_summary *sum, size_t *ndl) {
  tkn_batch_reader_options o = TKN_BATCH_READER_OPTIONS_INIT;
  o.provider = provider;
  o.max_line_bytes = 4096;
  tkn_batch_reader *r;
  if (tkn_batch_reader_new(&r, &o)) abort();
  tkn_batch_reader_expect(r, "a", 1);
  tkn_batch_reader_expect(r, "r1", 2);
  int rc = TKN_OK;
  for (size_t at = 0; at < len && !rc; at += chunk)
    rc = tkn_batch_reader_feed(r, in + at, len - at < chunk ? len - at : chunk);
  if (!rc) rc = tkn_batch_reader_finish(r);
  if (rc) {
    const char *msg = tkn_error_last()->message;
    if (!msg[0] || strchr(msg, '\n')) abort();
  }
  sum->version = TKN_BATCH_SUMMARY_VERSION;
  tkn_batch_reader_summary(r, sum);
  *ndl = tkn_batch_reader_dead_letter_count(r);
  tkn_batch_reader_free(r);
  return rc;
}

static tki_buf written;
static int w_begin(uint32_t index, void *user) {
  (void)index;
  (void)user;
  return 0;
}
static int w_write(const char *d, size_t n, void *user) {
  (void)user;
  return tki_buf_append(&written, d, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  uint32_t provider = (data[0] & 1) ? TKN_PROVIDER_ANTHROPIC : TKN_PROVIDER_OPENAI;
  size_t chunk = (size_t)(data[1] % 17) + 1;
  const char *in = (const char *)data + 2;
  size_t len = size - 2;
  if (data[0] & 2) { /* the writer */
    tkn_batch_writer_options o = TKN_BATCH_WRITER_OPTIONS_INIT;
    o.provider = provider;
    o.begin_file = w_begin;
    o.write = w_write;
    tkn_batch_writer *w;
    if (tkn_batch_writer_new(&w, &o)) abort();
    tki_buf_init(&written);
    if (tkn_batch_writer_add(w, "id", 2, in, len) == TKN_OK) {
      char err[TKI_ERRLEN];
      cJSON *line = NULL;
      if (written.len == 0 || written.data[written.len - 1] != '\n') abort();
      if (memchr(written.data, '\n', written.len - 1)) abort();
      if (tki_json_parse(written.data, written.len, 1 << 22, 900, "line", &line, err) == TKN_OK)
        cJSON_Delete(line);
      else if (!strstr(err, "memory"))
        abort();
    } else {
      const char *msg = tkn_error_last()->message;
      if (!msg[0] || strchr(msg, '\n')) abort();
    }
    tki_buf_free(&written);
    tkn_batch_writer_free(w);
    return 0;
  }
  tkn_batch_summary a, b;
  size_t na, nb;
  int ra = feed(in, len, provider, len ? len : 1, &a, &na);
  int rb = feed(in, len, provider, chunk, &b, &nb);
  if (ra != rb || na != nb || memcmp(&a, &b, sizeof a) != 0) abort();
  return 0;
}
