/* The tokenizer handle: a vtable over the makers, and the host-callback maker.
 * A tokenizer never changes after it is made, so the only shared state is the
 * id counter, which is atomic. */
#include <stdatomic.h>

#include "tokenizer_internal.h"

static atomic_uint_fast64_t g_next_id = 1;

int tki_tokenizer_make(tkn_tokenizer **out, const tki_tokenizer_vt *vt, void *impl) {
  tkn_tokenizer *tok = tki_calloc(1, sizeof *tok);
  if (!tok) return tki_fail(TKN_ERR_NOMEM, "out of memory");
  tok->vt = vt;
  tok->impl = impl;
  tok->name = vt->name;
  tok->id = atomic_fetch_add(&g_next_id, 1);
  *out = tok;
  return TKN_OK;
}

void tkn_tokenizer_free(tkn_tokenizer *tok) {
  if (!tok) return;
  if (tok->vt->destroy) tok->vt->destroy(tok);
  tki_free(tok);
}

const char *tkn_tokenizer_name(const tkn_tokenizer *tok) { return tok ? tok->name : NULL; }

int tkn_tokenizer_count(const tkn_tokenizer *tok, const char *text, size_t len, int64_t *out) {
  len = tki_len(text, len);
  if (!tok || !out) return tki_fail_null("tkn_tokenizer_count", !tok ? "tok" : "out");
  if (!text && len)
    return tki_fail(TKN_ERR_INVALID, "tkn_tokenizer_count: text is NULL with a length");
  if (!text) text = "";
  return tok->vt->count(tok, text, len, out);
}

int tki_unknown_encoding(const char *who, const char *name, size_t len) {
  static const char *const known[] = {"cl100k_base", "o200k_base"};
  const char *cut = NULL;
  for (size_t i = 0; i < 2 && name; i++)
    if (len < strlen(known[i]) && memcmp(known[i], name, len) == 0) cut = known[i];
  int shown = (int)(len > 64 ? 64 : len);
  if (cut && len)
    return tki_fail(TKN_ERR_NOT_FOUND,
                    "%s: encoding \"%.*s\" (%zu bytes) is not known: it is the start of "
                    "\"%s\"; was the length counted short? (TKN_NUL_TERMINATED reads to "
                    "the NUL)", who, shown, name, len, cut);
  return tki_fail(TKN_ERR_NOT_FOUND,
                  "%s: encoding \"%.*s\" (%zu bytes) is not known (cl100k_base, o200k_base)",
                  who, shown, name ? name : "", len);
}

/* ---- the host's tokenizer ---- */

typedef struct cb_impl {
  tkn_tokenizer_callbacks cb;
  void *user;
} cb_impl;

static int cb_count(const tkn_tokenizer *tok, const char *text, size_t len, int64_t *out) {
  const cb_impl *impl = tok->impl;
  int64_t n = 0;
  if (impl->cb.count(text, len, &n, impl->user) != 0 || n < 0)
    return tki_fail(TKN_ERR_CALLBACK, "tokenizer: the host's count callback failed");
  *out = n;
  return TKN_OK;
}

static void cb_destroy(tkn_tokenizer *tok) {
  cb_impl *impl = tok->impl;
  if (impl->cb.destroy) impl->cb.destroy(impl->user);
  tki_free(impl);
}

static const tki_tokenizer_vt cb_vt = {"callback", cb_count, cb_destroy};

TKI_DEFINE_INIT(tkn_tokenizer_callbacks_init, tkn_tokenizer_callbacks, cb, TKN_TOKENIZER_CALLBACKS_VERSION,
                TKN_TOKENIZER_CALLBACKS_INIT)

int tkn_tokenizer_new_callback(tkn_tokenizer **out, const tkn_tokenizer_callbacks *cb,
                               void *user) {
  if (!out) return tki_fail(TKN_ERR_INVALID, "tkn_tokenizer_new_callback: out is NULL");
  *out = NULL;
  if (!cb) return tki_fail_null("tkn_tokenizer_new_callback", "cb");
  if (!cb->count) return tki_fail_null("tkn_tokenizer_new_callback", "cb->count");
  if (cb->version != TKN_TOKENIZER_CALLBACKS_VERSION) return tki_fail(TKN_ERR_VERSION, "tkn_tokenizer_new_callback: unknown version");
  cb_impl *impl = tki_calloc(1, sizeof *impl);
  if (!impl) return tki_fail(TKN_ERR_NOMEM, "tkn_tokenizer_new_callback: out of memory");
  impl->cb = *cb;
  impl->user = user;
  int rc = tki_tokenizer_make(out, &cb_vt, impl);
  if (rc) tki_free(impl);
  return rc;
}

TKI_DEFINE_INIT(tkn_count_options_init, tkn_count_options, opts, TKN_COUNT_OPTIONS_VERSION,
                TKN_COUNT_OPTIONS_INIT)
