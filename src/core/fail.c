/* The failure classes of a model call (llm.h), one family shared by the
 * host's responses and the router's retry and failover rules; core holds the
 * names so that both parts read the same table. */
#include <string.h>

#include "internal.h"
#include "tokenomy/llm.h"

static const char *const fail_names[TKN_LLM_FAIL__COUNT] = {
    "rate_limit", "timeout", "server", "bad_request", "auth", "content_policy"};

const char *tkn_llm_fail_name(int32_t cls) {
  if (cls == TKN_LLM_FAIL_NONE) return "none";
  return cls >= 0 && cls < TKN_LLM_FAIL__COUNT ? fail_names[cls] : NULL;
}

int32_t tkn_llm_fail_from_name(const char *name, size_t len) {
  len = tki_len(name, len);
  if (!name) return TKN_LLM_FAIL_NONE;
  for (int32_t i = 0; i < TKN_LLM_FAIL__COUNT; i++)
    if (strlen(fail_names[i]) == len && memcmp(fail_names[i], name, len) == 0) return i;
  return TKN_LLM_FAIL_NONE;
}
