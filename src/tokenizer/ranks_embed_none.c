/* Built with -Dembed_ranks=false: no embedded rank data; BPE tokenizers are
 * made from a rank file (tkn_tokenizer_load_ranks). */
#include "bpe_internal.h"

const uint8_t *const tki_ranks_blob_cl100k = NULL;
const size_t tki_ranks_blob_cl100k_len = 0;
const uint8_t *const tki_ranks_blob_o200k = NULL;
const size_t tki_ranks_blob_o200k_len = 0;
