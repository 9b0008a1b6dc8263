/* The conversation's internal representation, shared by the conv part's
 * reader, writer and accessors only (other parts use conv.h, and the
 * tokenizer's counting conv_count.h).
 *
 * Every string is owned, NUL-terminated and carries its length.  Fields that
 * tokenomy does not model are kept as cJSON values ("extra"), tagged with the
 * format they came from, and written back only when writing that format. */
#ifndef TOKENOMY_CONV_INTERNAL_H
#define TOKENOMY_CONV_INTERNAL_H

#include "internal.h"
#include "tokenomy/conv.h"

/* How a message's content was given. */
#define TKI_C_ABSENT 0 /* no "content" key */
#define TKI_C_NULL 1   /* "content": null */
#define TKI_C_STRING 2 /* a string */
#define TKI_C_PARTS 3  /* an array of parts / blocks */

/* An entry of tki_msg.order naming a tool call rather than a part. */
#define TKI_ORDER_CALL 0x80000000u

typedef struct tki_part {
  char *type;              /* "text", "image_url", "image", ... */
  char *text;              /* text parts only (else NULL) */
  size_t text_len;
  cJSON *raw;              /* text part: its other fields (or NULL);
                              other parts: the whole object as read */
  int fmt;                 /* format raw came from */
} tki_part;

typedef struct tki_call {
  char *id;
  size_t id_len;
  char *name;
  size_t name_len;
  char *args; /* JSON text */
  size_t args_len;
  cJSON *extra;    /* other fields of the call object (OpenAI: "type" too) */
  cJSON *fn_extra; /* OpenAI: other fields of "function" */
  int fmt;
} tki_call;

typedef struct tki_msg {
  int role;
  int fmt;     /* format read from; TKN_PROVIDER_AUTO when built by hand */
  int content; /* TKI_C_* */
  char *text;  /* TKI_C_STRING */
  size_t text_len;
  tki_part *parts; /* TKI_C_PARTS */
  size_t nparts;
  char *joined; /* lazily built: text parts joined with "\n" */
  size_t joined_len;
  char *name; /* NULL if none */
  size_t name_len;
  tki_call *calls;
  size_t ncalls;
  char *tcid; /* tool-call id of a tool result, NULL if none */
  size_t tcid_len;
  int pinned;
  int is_error;  /* Anthropic tool_result is_error: -1 absent, 0 false, 1 true */
  int anth_join; /* Anthropic: part of the same Anthropic message as the previous one */
  uint32_t *order; /* Anthropic: order of blocks (part index or TKI_ORDER_CALL|call index) */
  size_t norder;
  cJSON *extra;       /* unknown message fields (object) */
  cJSON *block_extra; /* Anthropic tool_result block: unknown fields (object) */
  /* token count cache, keyed by tokenizer id and the count options */
  int cache_ok;
  uint64_t cache_tok;
  int32_t cache_opts[4];
  int64_t cache_val;
} tki_msg;

struct tkn_conv {
  tki_msg *msgs;
  size_t n, cap;
  int src_fmt;      /* TKN_PROVIDER_* last loaded from */
  int top_object;   /* the input was an object holding "messages" */
  cJSON *top_extra; /* top-level fields beside messages / system (object) */
  int top_fmt;
  struct tki_id_slot *idx; /* tool-call id index (conv_index.c) */
  size_t idx_cap;
  int idx_ok;
  uint64_t serial; /* this handle's number, unique in the process and never reused (its
                      address can be): per-conversation state elsewhere keys by it */
};

/* ---- conv.c ---- */
void tki_msg_free(tki_msg *m);
/* Drop the cached token count and joined text (after any change). */
void tki_msg_touch(tki_msg *m);
/* The text of a message (string content, or text parts joined). */
int tki_msg_text(tki_msg *m, const char **text, size_t *len);
/* Insert msgs[0..k) (taken over) before index i; on failure nothing changes
 * and the caller still owns them. */
int tki_conv_insert_msgs(tkn_conv *conv, size_t i, tki_msg *msgs, size_t k);

/* ---- conv_index.c ---- */
/* Every change to the messages or their tool-call ids calls this. */
void tki_conv_ids_changed(tkn_conv *conv);
void tki_conv_index_free(tkn_conv *conv);
/* First message holding tool call `id` (is_call) or answering it. */
int tki_conv_find_id(const tkn_conv *conv, const char *id, size_t len, int is_call,
                     size_t *index);

/* ---- conv_read.c ---- */
/* A parsed conversation, before it replaces the current one. */
typedef struct tki_conv_data {
  tki_msg *msgs;
  size_t n, cap;
  int fmt;
  int top_object;
  cJSON *top_extra;
} tki_conv_data;
void tki_conv_data_free(tki_conv_data *d);
int tki_conv_read(const char *json, size_t len, int format, tki_conv_data *out,
                  char err[TKI_ERRLEN]);
/* One message object (may become several messages for Anthropic). */
int tki_conv_read_message(const char *json, size_t len, int format, tki_conv_data *out,
                          char err[TKI_ERRLEN]);

/* ---- conv_write.c ---- */
int tki_conv_write(tkn_conv *conv, int format, tki_buf *out);
int tki_conv_write_message(tkn_conv *conv, size_t i, int format, tki_buf *out);

#endif
