/* Built with -Dembed_ranks=false: no rank images; BPE tokenizers are made
 * from a rank file (tkn_tokenizer_load_ranks). */
#include "bpe_internal.h"

const uint8_t *tki_ranks_image(int cl, size_t *len) {
  (void)cl;
  *len = 0;
  return NULL;
}
