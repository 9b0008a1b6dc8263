#!/usr/bin/env python3
"""Generate the NULL-argument audit from the public headers.

DEVELOPERS.md: bad input is a one-line error that names what is wrong.  For
every status-returning public function and every pointer parameter of it,
the generated test calls the function with that one argument NULL and every
other argument filled with something that works (a working handle of its
type from null_args_fixtures.h, an options struct at its INIT defaults, a
text, a place for each result), and checks:

  - it returns without crashing;
  - when it fails, tkn_error_last() holds that status, and its message names
    the parameter as the header names it (`conv`, `out`, `opts`): a message
    such as "invalid argument" or "a required argument is NULL" fails.

A pointer the function accepts as NULL (documented "may be NULL") is
recognised by the call behaving as with the argument given: it succeeds,
or fails with the same status and message as the call with every argument
filled (the fault is then elsewhere, not in the NULL).  A (text, length)
pair is passed NULL with length 1, which no function may take as text.
`void *user` is never required and is skipped.

usage: gen_null_args_test.py INCLUDE_DIR OUTPUT.c
"""
import glob
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, '..', '..', '..', 'bindings', 'python'))
from gen_ffi import split_params, strip_comments  # noqa: E402
import status_lists  # noqa: E402

SKIP = {'tkn_set_allocator', 'tkn_error_set'}
# Handles a successful call takes over: the fixture must not free them again.
CONSUMES = {'tkn_budget_commit': 'budget_reservation'}
FUNC_PTRS = {'tkn_agent_tool_fn': 'fx_tool_fn', 'tkn_router_comparator': 'fx_comparator'}
# Scalars that work (by parameter name; (function, name) first): a 0 for
# these would fail the call before it reads the pointer under test.
SCALARS = {
    ('tkn_meter_export', 'format'): 'TKN_METER_JSON',
    ('tkn_llm_response_set_usage_json', 'format'): 'TKN_USAGE_OPENAI_CHAT',
    ('tkn_usage_parse', 'format'): 'TKN_USAGE_OPENAI_CHAT',
    'format': 'TKN_PROVIDER_OPENAI', 'provider': 'TKN_PROVIDER_OPENAI', 'kind': 'TKN_SEG_STATIC',
    'role': 'TKN_ROLE_USER', 'cls': 'TKN_LLM_FAIL_SERVER', 'dimension': 'TKN_METER_TOTAL',
    'min_cache_tokens': '1024', 'failures': '1', 'max_work': '1000', 'k': '1', 'cap': '4',
    'buflen': '256', 'max_breakpoints': '4', 'n': '4',
}
FREE = {'tkn_pruner': 'tkn_prune_free', 'tkn_budget_reservation': 'tkn_budget_release'}


def parse_param(p):
    p = ' '.join(p.split())
    m = re.match(r'(.*?)\s*\b(\w+)$', p)
    return m.group(1).replace(' *', '*').replace('* ', '*').strip(), m.group(2)


def main():
    include, out = sys.argv[1], sys.argv[2]
    headers = sorted(glob.glob(os.path.join(include, 'tokenomy', '*.h')))
    alltext = ''
    funcs = []
    for h in headers:
        with open(h) as f:
            raw = f.read()
        alltext += raw
        text = strip_comments(raw)
        for m in re.finditer(r'TKN_API\s+(int)\s+(tkn_\w+)\s*\(([^;]*)\)\s*;', text):
            _, name, params = m.groups()
            if name in status_lists.NOT_STATUS or name in SKIP:
                continue
            ps = split_params(params)
            ps = [] if ps == ['void'] else [parse_param(p) for p in ps]
            funcs.append((name, ps))
    opaque = set(re.findall(r'typedef struct (tkn_\w+) \1;', alltext))
    macros = set(re.findall(r'#define\s+(TKN_\w+)', alltext))

    def base(t):
        return t.replace('const', '').replace('*', '').strip()

    cases = []
    for name, ps in funcs:
        decls, fill, nullv, post, ptrs = [], [], [], [], []
        for k, (t, pn) in enumerate(ps):
            b = base(t)
            stars = t.count('*')
            v = 'v%d' % k
            prev_text = k > 0 and ps[k - 1][0] == 'const char*' and t == 'size_t'
            if prev_text:
                fill.append('TKN_NUL_TERMINATED')
                nullv.append('1')  # with the text before it NULL (see below)
                continue
            if t in FUNC_PTRS:
                fill.append(FUNC_PTRS[t])
                nullv.append('NULL')
                ptrs.append(k)
                continue
            if stars == 0 and pn == 'version' and k == 1 and base(ps[0][0]).startswith('tkn_'):
                fill.append(base(ps[0][0]).upper() + '_VERSION')  # tkn_x_init(x, version)
                if fill[-1] not in macros:
                    fill[-1] = '0'
                nullv.append(None)
                continue
            if stars == 0 or (b == 'void' and pn == 'user'):
                fill.append('NULL' if b == 'void' else SCALARS.get((name, pn), SCALARS.get(pn, '0')))
                nullv.append(None)
                continue
            ptrs.append(k)
            nullv.append('NULL')
            if b in opaque and stars == 1:
                fill.append('f.' + b[4:])
            elif b in opaque and stars == 2:
                decls.append('%s *%s = NULL;' % (b, v))
                fill.append('&' + v)
                post.append('%s(%s);' % (FREE.get(b, b + '_free'), v))
            elif t == 'const char*':
                fill.append('"{}"')
            elif t in ('char**', 'uint32_t**') or (b in ('tkn_prompt_finding',) and stars == 2):
                decls.append('%s %s = NULL;' % (t[:-1], v))
                fill.append('&' + v)
                post.append('tkn_free(%s);' % v)
            elif t in ('const char**', 'const size_t**'):
                decls.append('%s %s = NULL;' % (t[:-1], v))
                fill.append('&' + v)
            elif t == 'const char*const*':
                decls.append('const char *%s[4] = {"a", "b", "c", "d"};' % v)
                fill.append(v)
            elif t == 'char*':
                decls.append('char %s[256] = "";' % v)
                fill.append(v)
            elif b in ('size_t', 'int64_t', 'uint32_t', 'int32_t', 'uint64_t', 'double',
                       'uint8_t', 'int'):
                decls.append('%s %s[4] = {0};' % (b, v))
                fill.append(v)
            elif b.startswith('tkn_') and stars == 1:
                init = b.upper() + '_INIT'
                # four of them: a count beside the pointer may be 4 (SCALARS)
                if init in macros:
                    decls.append('%s %s[4] = {%s};' % (b, v, ', '.join([init] * 4)))
                else:
                    decls.append('%s %s[4];\n    memset(%s, 0, sizeof %s);' % (b, v, v, v))
                fill.append(v)
            else:
                sys.exit('gen_null_args_test: %s: no filler for parameter %s %s' % (name, t, pn))
        # a NULL text goes with length 1
        if ptrs:
            cases.append((name, ps, decls, fill, nullv, post, ptrs))
    w = ['/* Generated by gen_null_args_test.py from the public headers: do not edit. */',
         '#include "null_args_fixtures.h"', '']
    w.append('/* Call function i with argument `null_arg` NULL (-1: none); the status. */')
    w.append('static int call(size_t i, int null_arg) {')
    w.append('  fx f;')
    w.append('  fx_make(&f);')
    w.append('  tkn_error_clear(); /* the fixture may have recorded a miss */')
    w.append('  int rc = -1;')
    w.append('  switch (i) {')
    for i, (name, ps, decls, fill, nullv, post, ptrs) in enumerate(cases):
        args = []
        for k in range(len(ps)):
            if nullv[k] is None:
                args.append(fill[k])
            elif nullv[k] == '1':  # the length of the text before it
                args.append('(null_arg == %d ? 1 : %s)' % (k - 1, fill[k]))
            else:
                args.append('(null_arg == %d ? NULL : %s)' % (k, fill[k]))
        w.append('  case %d: {' % i)
        for d in decls:
            w.append('    ' + d)
        w.append('    rc = %s(%s);' % (name, ', '.join(args)))
        if name in CONSUMES:
            w.append('    if (rc == TKN_OK) f.%s = NULL;' % CONSUMES[name])
        for p in post:
            w.append('    ' + p)
        w.append('    break;')
        w.append('  }')
    w.append('  default: break;')
    w.append('  }')
    w.append('  fx_free(&f);')
    w.append('  return rc;')
    w.append('}')
    w.append('static const struct { const char *name; int n; int args[16]; '
             'const char *names[16]; } fns[] = {')
    for name, ps, decls, fill, nullv, post, ptrs in cases:
        w.append('    {"%s", %d, {%s}, {%s}},' % (name, len(ptrs), ', '.join(map(str, ptrs)),
                                              ', '.join('"%s"' % ps[k][1] for k in ptrs)))
    w.append('};')
    w.append(r'''
/* `word` occurs in `text` as a word of its own (not inside tkn_conv_text) */
static int names(const char *text, const char *word) {
  size_t n = strlen(word);
  for (const char *p = strstr(text, word); p; p = strstr(p + 1, word)) {
    int before = p > text && (p[-1] == '_' || (p[-1] >= 'a' && p[-1] <= 'z') ||
                              (p[-1] >= 'A' && p[-1] <= 'Z') || (p[-1] >= '0' && p[-1] <= '9'));
    char c = p[n];
    int after = c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                (c >= '0' && c <= '9');
    if (!before && !after) return 1;
  }
  return 0;
}

static void a_null_argument_is_named_in_the_message(void **state) {
  (void)state;
  size_t calls = 0, refused = 0, optional = 0, unnamed = 0, unrecorded = 0;
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    tkn_error_clear();
    int rc0 = call(i, -1);
    char msg0[512];
    snprintf(msg0, sizeof msg0, "%s", rc0 ? tkn_error_last()->message : "");
    for (int k = 0; k < fns[i].n; k++) {
      tkn_error_clear();
      int rc = call(i, fns[i].args[k]);
      calls++;
      const tkn_error *e = tkn_error_last();
      if (rc == TKN_OK || (rc == rc0 && strcmp(e->message, msg0) == 0)) {
        if (getenv("NULL_ARGS_VERBOSE") && rc != TKN_OK)
          print_message("%s with %s NULL: as without (\"%s\")\n", fns[i].name, fns[i].names[k],
                        e->message);
        optional++;
        continue;
      }
      refused++;
      if (e->status != rc || e->message[0] == '\0') {
        print_error("%s with %s NULL: returned %d, not recorded (\"%s\")\n", fns[i].name,
                    fns[i].names[k], rc, e->message);
        unrecorded++;
      } else if (!names(e->message, fns[i].names[k])) {
        print_error("%s with %s NULL: \"%s\" does not name %s\n", fns[i].name, fns[i].names[k],
                    e->message, fns[i].names[k]);
        unnamed++;
      }
    }
  }
  print_message("%zu functions, %zu calls with one pointer NULL: %zu refused, %zu accepted "
                "(optional), %zu not recorded, %zu not naming the argument\n",
                sizeof fns / sizeof fns[0], calls, refused, optional, unrecorded, unnamed);
  if (unrecorded) fail_msg("%zu refusals not recorded in tkn_error_last()", unrecorded);
  if (unnamed) fail_msg("%zu messages that do not name the NULL argument", unnamed);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(a_null_argument_is_named_in_the_message)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}''')
    with open(out, 'w') as f:
        f.write('\n'.join(w) + '\n')


if __name__ == '__main__':
    main()
