/* Build-time generator: lay out the encoder's tables (rank hash tables,
 * filter, prefix filter, single-byte and pair ranks, token bytes and offsets,
 * the long-piece encoder's pair table)
 * for each encoding, with ranks.c's own code, as the image the library uses
 * where it lies (tki_ranks_from_image), and an assembler file that includes
 * the images byte for byte.
 *
 * usage: gen-ranks-image CL100K.tkr O200K.tkr OUT_CL100K.bin OUT_O200K.bin OUT.S
 *                        CL100K_NAME O200K_NAME
 * (the .tkr blobs come from gen-ranks.py, which checked the rank files'
 * sha256 pins; the names are the images' paths as OUT.S's .incbin gives
 * them).  Run by meson; not installed. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "bpe_internal.h"

/* What ranks.c needs of the core, for this tool alone. */
void *tki_malloc(size_t size) { return malloc(size ? size : 1); }
void *tki_calloc(size_t n, size_t size) { return calloc(n ? n : 1, size ? size : 1); }
void *tki_realloc(void *ptr, size_t size) { return realloc(ptr, size ? size : 1); }
void tki_free(void *ptr) { free(ptr); }
int tki_err(char err[TKI_ERRLEN], int status, const char *fmt, ...) {
  (void)err;
  va_list ap;
  va_start(ap, fmt);
  fputs("gen-ranks-image: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return status;
}

static uint8_t *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  uint8_t *buf = NULL;
  size_t n = 0, cap = 0;
  for (;;) {
    if (n == cap) {
      cap = cap ? 2 * cap : (1u << 22);
      uint8_t *nb = realloc(buf, cap);
      if (!nb) break;
      buf = nb;
    }
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (got == 0) break;
  }
  fclose(f);
  *len = n;
  return buf;
}

static int write_image(const char *blob_path, const char *out_path, uint64_t *size) {
  size_t blen = 0;
  uint8_t *blob = read_all(blob_path, &blen);
  if (!blob) {
    fprintf(stderr, "gen-ranks-image: cannot read %s\n", blob_path);
    return 1;
  }
  tki_ranks r;
  if (tki_ranks_from_blob(&r, blob, blen, NULL)) return 1;
  const uint64_t *prefix = tki_ranks_prefix_build(&r);
  const uint32_t *pairs = tki_ranks_pairs_build(&r);
  if (!prefix || !pairs) return 1;
  if (!pairs[3 * (size_t)r.n])
    fprintf(stderr, "gen-ranks-image: %s: a token ranks below one of its parts; long pieces "
                    "will use the slower pair check\n", blob_path);
  const void *src[TKI_IMG_SECTIONS] = {r.off,    r.bytes,     r.sslots,    r.slots, r.pair_rank,
                                       r.filter, prefix,      r.byte_rank, pairs};
  tki_ranks_image_head h;
  memset(&h, 0, sizeof h);
  memcpy(h.magic, TKI_IMAGE_MAGIC, 8);
  h.endian = 0x01020304u;
  h.layout = TKI_IMAGE_LAYOUT;
  h.n = r.n;
  h.max_len = r.max_len;
  h.mask = r.mask;
  h.smask = r.smask;
  uint64_t at = (sizeof h + 63) & ~(uint64_t)63, len[TKI_IMG_SECTIONS];
  for (int s = 0; s < TKI_IMG_SECTIONS; s++) {
    len[s] = tki_ranks_image_section(s, r.n, r.off[r.n], r.mask, r.smask);
    h.at[s] = at;
    at = (at + len[s] + 63) & ~(uint64_t)63;
  }
  h.size = at;
  h.check = tki_ranks_image_check(&h);
  FILE *f = fopen(out_path, "wb");
  static const uint8_t zero[64];
  int bad = !f || fwrite(&h, sizeof h, 1, f) != 1;
  uint64_t pos = sizeof h;
  for (int s = 0; s < TKI_IMG_SECTIONS && !bad; s++) {
    bad |= fwrite(zero, 1, (size_t)(h.at[s] - pos), f) != h.at[s] - pos;
    bad |= fwrite(src[s], 1, (size_t)len[s], f) != len[s];
    pos = h.at[s] + len[s];
  }
  bad |= !bad && fwrite(zero, 1, (size_t)(h.size - pos), f) != h.size - pos;
  if (f && fclose(f)) bad = 1;
  if (bad) {
    fprintf(stderr, "gen-ranks-image: cannot write %s\n", out_path);
    return 1;
  }
  /* the layout reads back as written */
  size_t ilen = 0;
  uint8_t *img = read_all(out_path, &ilen);
  tki_ranks back;
  if (!img || tki_ranks_from_image(&back, img, ilen, NULL) || back.n != r.n ||
      memcmp(back.sslots, r.sslots, (size_t)len[TKI_IMG_SSLOTS]) != 0) {
    fprintf(stderr, "gen-ranks-image: %s does not read back\n", out_path);
    return 1;
  }
  free(img);
  free((void *)prefix);
  free((void *)pairs);
  tki_ranks_free(&r);
  free(blob);
  *size = h.size;
  return 0;
}

static void asm_image(FILE *f, const char *name, const char *bin, uint64_t size) {
  fprintf(f,
          "  .section .rodata.tki_ranks_image_%s,\"a\"\n"
          "  .balign 64\n"
          "  .globl tki_ranks_image_%s\n"
          "  .hidden tki_ranks_image_%s\n"
          "  .type tki_ranks_image_%s, @object\n"
          "  .size tki_ranks_image_%s, %llu\n"
          "tki_ranks_image_%s:\n"
          "  .incbin \"%s\"\n"
          "  .balign 8\n"
          "  .globl tki_ranks_image_%s_len\n"
          "  .hidden tki_ranks_image_%s_len\n"
          "  .type tki_ranks_image_%s_len, @object\n"
          "  .size tki_ranks_image_%s_len, 8\n"
          "tki_ranks_image_%s_len:\n"
          "  .quad %llu\n",
          name, name, name, name, name, (unsigned long long)size, name, bin, name, name, name,
          name, name, (unsigned long long)size);
}

int main(int argc, char **argv) {
  if (argc != 8) {
    fprintf(stderr, "usage: gen-ranks-image CL.tkr O200K.tkr OUT_CL.bin OUT_O200K.bin OUT.S "
                    "CL_NAME O200K_NAME\n");
    return 2;
  }
  for (int i = 6; i < 8; i++)
    if (strpbrk(argv[i], "\"\\\n")) {
      fprintf(stderr, "gen-ranks-image: %s: a path .incbin cannot quote\n", argv[i]);
      return 2;
    }
  uint64_t size_cl = 0, size_o2 = 0;
  if (write_image(argv[1], argv[3], &size_cl) || write_image(argv[2], argv[4], &size_o2))
    return 1;
  FILE *f = fopen(argv[5], "w");
  if (!f) return 1;
  fprintf(f, "/* Generated by src/tokenizer/gen-ranks-image.c: the rank images. */\n");
  asm_image(f, "cl100k", argv[6], size_cl);
  asm_image(f, "o200k", argv[7], size_o2);
  fprintf(f, "  .section .note.GNU-stack,\"\",@progbits\n");
  return fclose(f) ? 1 : 0;
}
