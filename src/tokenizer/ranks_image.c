/* The rank images compiled into the library: laid out at build time by
 * gen-ranks-image.c from the pinned rank files and included byte for byte by
 * the generated ranks_image.S (.incbin), in read-only data. */
#include "bpe_internal.h"

extern const uint8_t tki_ranks_image_cl100k[];
extern const uint64_t tki_ranks_image_cl100k_len;
extern const uint8_t tki_ranks_image_o200k[];
extern const uint64_t tki_ranks_image_o200k_len;

const uint8_t *tki_ranks_image(int cl, size_t *len) {
  *len = (size_t)(cl ? tki_ranks_image_cl100k_len : tki_ranks_image_o200k_len);
  return cl ? tki_ranks_image_cl100k : tki_ranks_image_o200k;
}
