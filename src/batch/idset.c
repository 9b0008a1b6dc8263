/* The custom-id set (see idset.h). */
#include <string.h>

#include "idset.h"

#define IDSET_SEED 0x6261746368696473ULL /* "batchids" */

void tki_idset_init(tki_idset *s) {
  memset(s, 0, sizeof *s);
  tki_buf_init(&s->arena);
}

void tki_idset_free(tki_idset *s) {
  tki_free(s->slots);
  tki_free(s->ents);
  tki_buf_free(&s->arena);
  tki_idset_init(s);
}

static void place(uint32_t *slots, size_t nslots, uint64_t hash, uint32_t idx1) {
  size_t m = nslots - 1;
  for (size_t j = hash & m;; j = (j + 1) & m) {
    if (!slots[j]) {
      slots[j] = idx1;
      return;
    }
  }
}

int tki_idset_reserve(tki_idset *s, size_t len) {
  if (s->n >= UINT32_MAX - 1) return TKN_ERR_LIMIT;
  int rc = tki_grow((void **)&s->ents, &s->ecap, s->n + 1, sizeof *s->ents);
  if (rc) return rc;
  if (tki_buf_reserve(&s->arena, len + 1)) {
    s->arena.failed = 0; /* nothing was lost: the set stays usable */
    return tki_fail(TKN_ERR_NOMEM, "out of memory");
  }
  if ((s->n + 1) * 2 > s->nslots) { /* load factor at most 1/2 */
    size_t ns = s->nslots ? s->nslots * 2 : 64;
    uint32_t *slots = tki_calloc(ns, sizeof *slots);
    if (!slots) return tki_fail(TKN_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < s->n; i++) place(slots, ns, s->ents[i].hash, (uint32_t)(i + 1));
    tki_free(s->slots);
    s->slots = slots;
    s->nslots = ns;
  }
  return TKN_OK;
}

size_t tki_idset_find(const tki_idset *s, const char *id, size_t len) {
  if (!s->nslots) return (size_t)-1;
  uint64_t h = tki_hash64(id, len, IDSET_SEED);
  size_t m = s->nslots - 1;
  for (size_t j = h & m; s->slots[j]; j = (j + 1) & m) {
    const tki_idset_ent *e = &s->ents[s->slots[j] - 1];
    if (e->hash == h && e->len == len && memcmp(s->arena.data + e->off, id, len) == 0)
      return s->slots[j] - 1;
  }
  return (size_t)-1;
}

size_t tki_idset_add(tki_idset *s, const char *id, size_t len) {
  uint64_t h = tki_hash64(id, len, IDSET_SEED);
  size_t i = s->n++;
  s->ents[i].hash = h;
  s->ents[i].off = s->arena.len;
  s->ents[i].len = len;
  s->ents[i].seen = 0;
  tki_buf_append(&s->arena, id, len); /* reserved: cannot fail */
  tki_buf_putc(&s->arena, '\0');
  place(s->slots, s->nslots, h, (uint32_t)(i + 1));
  return i;
}
