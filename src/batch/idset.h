/* A set of custom ids (open addressing over XXH64), with a per-id counter:
 * the writer's uniqueness check and the reader's join table. */
#ifndef TOKENOMY_BATCH_IDSET_H
#define TOKENOMY_BATCH_IDSET_H

#include "../internal.h"
#include "tokenomy/batch.h"

typedef struct tki_idset_ent {
  uint64_t hash;
  size_t off;      /* into the arena */
  size_t len;
  uint64_t seen;   /* the reader counts results here */
} tki_idset_ent;

typedef struct tki_idset {
  uint32_t *slots; /* entry index + 1; 0 = empty */
  size_t nslots;   /* power of two */
  tki_idset_ent *ents;
  size_t n, ecap;
  tki_buf arena;   /* the ids, NUL-separated */
} tki_idset;

void tki_idset_init(tki_idset *s);
void tki_idset_free(tki_idset *s);
/* Make room for one more id of `len` bytes, so that the next add cannot fail. */
int tki_idset_reserve(tki_idset *s, size_t len);
/* Index of the id, or (size_t)-1. */
size_t tki_idset_find(const tki_idset *s, const char *id, size_t len);
/* Add (after tki_idset_reserve succeeded for it); returns the new index. */
size_t tki_idset_add(tki_idset *s, const char *id, size_t len);
static inline const char *tki_idset_str(const tki_idset *s, size_t i) {
  return s->arena.data + s->ents[i].off;
}

/* The ids a writer wrote (writer.c). */
const tki_idset *tki_batch_writer_ids(const tkn_batch_writer *w);

#endif
