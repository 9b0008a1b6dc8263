/* Looking messages up by tool-call id: a hash index built on the first lookup
 * after a change (O(n)), so that pairing every tool call with its result in a
 * long conversation stays linear.  Any change to the messages or their ids
 * drops it (tki_conv_ids_changed); if memory for it runs out, lookups fall
 * back to a scan, so they never fail for want of memory. */
#include <string.h>

#include "conv_internal.h"

#define NO_CALL UINT32_MAX /* the slot names a tool result, not a call */
#define EMPTY UINT32_MAX   /* msg of an unused slot */

typedef struct tki_id_slot {
  uint64_t hash;
  uint32_t msg;
  uint32_t call;
} tki_id_slot;

void tki_conv_ids_changed(tkn_conv *conv) { conv->idx_ok = 0; }

void tki_conv_index_free(tkn_conv *conv) {
  tki_free(conv->idx);
  conv->idx = NULL;
  conv->idx_cap = 0;
  conv->idx_ok = 0;
}

static uint64_t id_hash(const char *id, size_t len, int is_call) {
  return tki_hash64(id, len, is_call ? 0x63616c6cULL : 0x72657375ULL);
}

static void slot_id(const tkn_conv *conv, const tki_id_slot *s, const char **id, size_t *len) {
  const tki_msg *m = &conv->msgs[s->msg];
  if (s->call == NO_CALL) {
    *id = m->tcid;
    *len = m->tcid_len;
  } else {
    *id = m->calls[s->call].id;
    *len = m->calls[s->call].id_len;
  }
}

/* The slot holding (id, kind), or the empty slot where it would go. */
static tki_id_slot *probe(const tkn_conv *conv, const char *id, size_t len, int is_call,
                          uint64_t h) {
  size_t mask = conv->idx_cap - 1;
  for (size_t k = (size_t)h & mask;; k = (k + 1) & mask) {
    tki_id_slot *s = &conv->idx[k];
    if (s->msg == EMPTY) return s;
    if (s->hash != h || (s->call == NO_CALL) == is_call) continue;
    const char *sid;
    size_t slen;
    slot_id(conv, s, &sid, &slen);
    if (slen == len && memcmp(sid, id, len) == 0) return s;
  }
}

static void add(tkn_conv *conv, size_t i, uint32_t call, const char *id, size_t len) {
  int is_call = call != NO_CALL;
  uint64_t h = id_hash(id, len, is_call);
  tki_id_slot *s = probe(conv, id, len, is_call, h);
  if (s->msg != EMPTY) return; /* the first message with this id wins */
  s->hash = h;
  s->msg = (uint32_t)i;
  s->call = call;
}

static int build(tkn_conv *conv) {
  size_t total = 0;
  for (size_t i = 0; i < conv->n; i++) total += conv->msgs[i].ncalls + (conv->msgs[i].tcid != NULL);
  size_t cap = 16;
  while (cap < 2 * total) cap *= 2;
  if (cap != conv->idx_cap) {
    tki_id_slot *t = tki_calloc(cap, sizeof *t);
    if (!t) return tki_fail(TKN_ERR_NOMEM, "out of memory");
    tki_free(conv->idx);
    conv->idx = t;
    conv->idx_cap = cap;
  }
  memset(conv->idx, 0xFF, cap * sizeof *conv->idx); /* every msg EMPTY */
  for (size_t i = 0; i < conv->n; i++) {
    const tki_msg *m = &conv->msgs[i];
    for (size_t j = 0; j < m->ncalls; j++) add(conv, i, (uint32_t)j, m->calls[j].id, m->calls[j].id_len);
    if (m->tcid) add(conv, i, NO_CALL, m->tcid, m->tcid_len);
  }
  conv->idx_ok = 1;
  return TKN_OK;
}

static int scan(const tkn_conv *conv, const char *id, size_t len, int is_call, size_t *index) {
  for (size_t i = 0; i < conv->n; i++) {
    const tki_msg *m = &conv->msgs[i];
    if (is_call) {
      for (size_t j = 0; j < m->ncalls; j++)
        if (m->calls[j].id_len == len && memcmp(m->calls[j].id, id, len) == 0) {
          *index = i;
          return TKN_OK;
        }
    } else if (m->tcid && m->tcid_len == len && memcmp(m->tcid, id, len) == 0) {
      *index = i;
      return TKN_OK;
    }
  }
  return TKN_ERR_NOT_FOUND;
}

/* The conversation is logically const here: the index is a cache, under the
 * conversation's one-thread-at-a-time rule like the token counts. */
int tki_conv_find_id(const tkn_conv *cconv, const char *id, size_t len, int is_call,
                     size_t *index) {
  tkn_conv *conv = (tkn_conv *)cconv;
  if (!id) id = "";
  if (!conv->idx_ok && build(conv)) return scan(conv, id, len, is_call, index);
  tki_id_slot *s = probe(conv, id, len, is_call, id_hash(id, len, is_call));
  if (s->msg == EMPTY) return TKN_ERR_NOT_FOUND;
  *index = s->msg;
  return TKN_OK;
}
