/* The README example: a conversation from JSON, counted with the estimator. */
#include <stdio.h>
#include <string.h>
#include <tokenomy.h>

int main(void) {
  const char *json = "[{\"role\":\"system\",\"content\":\"You are terse.\"},"
                     "{\"role\":\"user\",\"content\":\"How many tokens is this?\"}]";
  tkn_conv *conv;
  if (tkn_conv_from_json(&conv, TKN_PROVIDER_AUTO, json, strlen(json))) {
    fprintf(stderr, "tokenomy: %s\n", tkn_error_last()->message);
    return 1;
  }
  tkn_tokenizer *tok;
  int64_t total = 0;
  if (tkn_tokenizer_new_estimator(&tok) == TKN_OK &&
      tkn_tokenizer_count_conv(tok, conv, NULL, &total, NULL) == TKN_OK)
    printf("%zu messages, about %lld tokens\n", tkn_conv_count(conv), (long long)total);
  tkn_tokenizer_free(tok);
  tkn_conv_free(conv);
  return 0;
}
