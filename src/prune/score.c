/* The built-in message score's features: the kind of a message (tool results
 * and user corrections matter most, acknowledgements least) and its
 * information density (identifiers, numbers and long words per word).
 * Plain ASCII heuristics over UTF-8 text: other bytes count as letters. */
#include <string.h>

#include "prune_internal.h"
#include "tokenomy/conv.h"

static int is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static unsigned char lower(unsigned char c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

static int is_letter(unsigned char c) { c = lower(c); return c >= 'a' && c <= 'z'; }

/* Does the text, lowercased, hold `needle` (ASCII, lowercase) at byte i? */
static int match_at(const char *text, size_t len, size_t i, const char *needle) {
  size_t j = 0;
  while (needle[j] && i + j < len && lower((unsigned char)text[i + j]) == (unsigned char)needle[j])
    j++;
  return needle[j] == '\0';
}

static const char *const g_acks[] = {
    "ok",   "okay",      "thanks", "thank you", "thx",      "got it",  "sure",
    "great", "cool",     "nice",   "perfect",   "sounds good", "alright", "all right",
    "yes",  "yep",       "np",     "no problem", "you're welcome", "understood", "will do",
    "noted", "awesome",  "ack",    "k",         "done",     "good",    "fine",
};

static const char *const g_corrections[] = {
    "actually", "correction", "i meant", "that's wrong", "that is wrong", "not correct",
    "incorrect", "no,", "instead", "mistake", "should be", "not what i", "wrong",
};

/* A short message made only of acknowledgement words and punctuation. */
static int is_ack(const char *text, size_t len) {
  if (len == 0 || len > 48) return 0;
  size_t i = 0;
  int matched = 0;
  while (i < len) {
    while (i < len && (is_space((unsigned char)text[i]) || strchr(".,!?:;-()", text[i]))) i++;
    if (i == len) break;
    size_t best = 0;
    for (size_t k = 0; k < sizeof g_acks / sizeof g_acks[0]; k++) {
      size_t m = strlen(g_acks[k]);
      if (m > len - i || m <= best) continue;
      size_t j = 0;
      while (j < m && lower((unsigned char)text[i + j]) == (unsigned char)g_acks[k][j]) j++;
      if (j == m && (i + m == len || !is_letter((unsigned char)text[i + m])))
        best = m;
    }
    if (!best) return 0;
    matched++;
    i += best;
  }
  return matched > 0;
}

/* One pass: at each word start, the phrases beginning with that letter. */
static int is_correction(const char *text, size_t len) {
  for (size_t i = 0; i < len; i++) {
    if (!is_letter((unsigned char)text[i]) || (i > 0 && is_letter((unsigned char)text[i - 1])))
      continue;
    unsigned char c = lower((unsigned char)text[i]);
    for (size_t k = 0; k < sizeof g_corrections / sizeof g_corrections[0]; k++)
      if ((unsigned char)g_corrections[k][0] == c && match_at(text, len, i, g_corrections[k]))
        return 1;
  }
  return 0;
}

static double density_of(const char *text, size_t len) {
  size_t words = 0, informative = 0, i = 0;
  while (i < len) {
    while (i < len && is_space((unsigned char)text[i])) i++;
    if (i == len) break;
    size_t start = i;
    int digit = 0, upper = 0, symbol = 0;
    while (i < len && !is_space((unsigned char)text[i])) {
      unsigned char c = (unsigned char)text[i];
      if (c >= '0' && c <= '9') digit = 1;
      else if (c >= 'A' && c <= 'Z' && i > start) upper = 1;
      else if (c == '_' || c == '/' || c == ':' || c == '@' || c == '#' || c == '=') symbol = 1;
      i++;
    }
    words++;
    if (digit || upper || symbol || i - start >= 8) informative++;
  }
  return (double)informative / (double)(words + 4);
}

void tki_prune_features_of(int32_t role, int has_tool_calls, const char *text, size_t len,
                           tki_prune_features *out) {
  out->ack = (role == TKN_ROLE_USER || role == TKN_ROLE_ASSISTANT) && is_ack(text, len);
  out->correction = role == TKN_ROLE_USER && !out->ack && is_correction(text, len);
  out->density = density_of(text, len);
  switch (role) {
  case TKN_ROLE_SYSTEM:
  case TKN_ROLE_DEVELOPER:
    out->kind = TKI_KIND_SYSTEM;
    break;
  case TKN_ROLE_TOOL:
    out->kind = TKI_KIND_TOOL_RESULT;
    break;
  case TKN_ROLE_USER:
    out->kind = out->ack ? TKI_KIND_ACK : out->correction ? TKI_KIND_CORRECTION : TKI_KIND_USER;
    break;
  default:
    out->kind = out->ack ? TKI_KIND_ACK : has_tool_calls ? TKI_KIND_TOOL_CALL : TKI_KIND_ASSISTANT;
    break;
  }
}
