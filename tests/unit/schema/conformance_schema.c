/* Runs the official JSON Schema Test Suite (draft 2020-12) against
 * tkn_schema_compile / tkn_schema_validate.
 *
 * Every file is either run or listed below as left out, with the reason.  In a
 * file that is run, every case must pass; a case whose schema is rejected
 * because it uses something we do not support (TKN_ERR_UNSUPPORTED) is
 * counted and listed as skipped, never as passed.  The suite is vendored
 * (json-schema-test-suite/ beside this file, its version in its README), so
 * this runs on every clone.  Exit 0: all run cases pass; 1: a case failed or
 * the suite cannot be read. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema/sjson.h"
#include "tokenomy/schema.h"

/* The status of a call, its tkn_error_last() message copied into buf. */
static inline int keep_err(int rc, char *buf, size_t len) {
  if (buf && len) snprintf(buf, len, "%s", rc ? tkn_error_last()->message : "");
  return rc;
}

static const struct {
  const char *file;
  const char *reason;
} left_out[] = {
    {"anchor.json", "$anchor is not supported"},
    {"dynamicRef.json", "$dynamicRef / $dynamicAnchor are not supported"},
    {"refRemote.json", "references to other documents are not supported"},
    {"unevaluatedItems.json", "unevaluatedItems is not supported"},
    {"unevaluatedProperties.json", "unevaluatedProperties is not supported"},
    {"vocabulary.json", "$vocabulary and custom metaschemas are not supported"},
    {"defs.json", "validates schemas against the 2020-12 metaschema (a remote $ref using $dynamicRef)"},
};

static const char *left_out_reason(const char *name) {
  for (size_t i = 0; i < sizeof left_out / sizeof left_out[0]; i++)
    if (strcmp(left_out[i].file, name) == 0) return left_out[i].reason;
  return NULL;
}

static char *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  if (buf) buf[n] = '\0';
  *len = (size_t)n;
  return buf;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static const tki_sj *member(const tki_sj *obj, const char *key) {
  return tki_sj_get(obj, key, strlen(key));
}

typedef struct totals {
  long pass, fail, skip;
} totals;

static void run_file(const char *dir, const char *name, totals *all) {
  char path[8400];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  size_t len;
  char *text = read_all(path, &len);
  if (!text) {
    printf("FAIL %s: cannot read\n", name);
    all->fail++;
    return;
  }
  tki_arena arena;
  tki_arena_init(&arena);
  tki_sj_parser parser;
  memset(&parser, 0, sizeof parser);
  tki_sj root;
  char err[TKI_ERRLEN];
  if (tki_sj_parse(&parser, &arena, text, len, 1u << 26, 256, name, &root, err)) {
    printf("FAIL %s: %s\n", name, err);
    all->fail++;
    goto out;
  }
  totals t = {0, 0, 0};
  for (uint32_t g = 0; g < root.n; g++) {
    const tki_sj *group = &root.u.items[g];
    const tki_sj *desc = member(group, "description");
    const tki_sj *schema = member(group, "schema");
    const tki_sj *tests = member(group, "tests");
    tki_buf sb;
    tki_buf_init(&sb);
    tki_sj_write(schema, &sb);
    tkn_schema *s = NULL;
    char cerr[512];
    int rc = keep_err(tkn_schema_compile(&s, sb.data, sb.len, NULL), cerr, sizeof cerr);
    tki_buf_free(&sb);
    if (rc == TKN_ERR_UNSUPPORTED) {
      printf("  skipped: %s: \"%.*s\" (%u cases): %s\n", name, (int)desc->n, desc->u.str,
             tests->n, cerr);
      t.skip += tests->n;
      continue;
    }
    if (rc) {
      printf("  FAIL %s: \"%.*s\": compile: %s\n", name, (int)desc->n, desc->u.str, cerr);
      t.fail += tests->n;
      continue;
    }
    tkn_schema_result *res;
    tkn_schema_result_new(&res);
    for (uint32_t i = 0; i < tests->n; i++) {
      const tki_sj *tc = &tests->u.items[i];
      const tki_sj *data = member(tc, "data");
      const tki_sj *valid = member(tc, "valid");
      const tki_sj *tdesc = member(tc, "description");
      tki_buf db;
      tki_buf_init(&db);
      tki_sj_write(data, &db);
      int vr = tkn_schema_validate(s, db.data, db.len, res);
      int expect_valid = valid->boolean;
      int good = expect_valid ? vr == TKN_OK : vr == TKN_ERR_SCHEMA;
      if (good) {
        t.pass++;
      } else {
        t.fail++;
        printf("  FAIL %s: \"%.*s\" / \"%.*s\": expected %s, got %s (%s); data %s\n", name,
               (int)desc->n, desc->u.str, (int)tdesc->n, tdesc->u.str,
               expect_valid ? "valid" : "invalid", tkn_strerror(vr),
               tkn_error_last()->message, db.data);
      }
      tki_buf_free(&db);
    }
    tkn_schema_result_free(res);
    tkn_schema_free(s);
  }
  printf("%-32s %4ld passed %4ld failed %4ld skipped\n", name, t.pass, t.fail, t.skip);
  all->pass += t.pass;
  all->fail += t.fail;
  all->skip += t.skip;
out:
  tki_sj_parser_free(&parser);
  tki_arena_free(&arena);
  free(text);
}

int main(void) {
  const char *base = getenv("TKN_SOURCE_ROOT");
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/tests/unit/schema/json-schema-test-suite/draft2020-12",
           base ? base : ".");
  DIR *d = opendir(dir);
  if (!d) {
    printf("FAIL: cannot read the vendored JSON Schema Test Suite at %s\n", dir);
    return 1;
  }
  char *names[256];
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < 256) {
    size_t l = strlen(e->d_name);
    if (l > 5 && strcmp(e->d_name + l - 5, ".json") == 0) names[n++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(names, n, sizeof names[0], cmp_str);
  printf("JSON Schema Test Suite, draft 2020-12, from %s\n", dir);
  totals all = {0, 0, 0};
  size_t run = 0, out = sizeof left_out / sizeof left_out[0];
  for (size_t i = 0; i < out; i++)
    printf("%-32s left out (not vendored): %s\n", left_out[i].file, left_out[i].reason);
  for (size_t i = 0; i < n; i++) {
    if (left_out_reason(names[i])) {
      printf("%-32s is vendored but left out: remove it from the folder\n", names[i]);
      all.fail++;
    } else {
      run_file(dir, names[i], &all);
      run++;
    }
    free(names[i]);
  }
  printf("files: %zu run, %zu left out; cases: %ld passed, %ld failed, %ld skipped "
         "(unsupported keyword)\n",
         run, out, all.pass, all.fail, all.skip);
  return all.fail ? 1 : 0;
}
