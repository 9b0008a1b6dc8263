#!/usr/bin/env python3
"""The status codes each public function lists in its header comment.

ARCHITECTURE.md ("Error model") and DEVELOPERS.md: every public function is
documented in its header with the status codes it returns.  This module reads
that list from the headers; run as a script it is the test that holds the
rule (suite unit, `status-lists`):

  - every `TKN_API int tkn_...(...)` that returns a status (not one of
    NOT_STATUS below) has a comment directly above its declaration (only
    #define lines may come between) that names at least one TKN_ERR_ code,
    or refers to another function's list ("Errors as tkn_x", "Codes as
    tkn_x", "those of tkn_x") that resolves to codes;
  - every code named is a real TKN_ code of common.h ("TKN_ERR_PARSE /
    _UTF8" names TKN_ERR_UTF8, which must exist too);
  - every function referred to exists and has a list itself.

gen_errors_test.py uses codes() to generate the cross-check: a status that
test_errors observes from a function but its header does not list fails.

usage: status_lists.py INCLUDE_DIR [tokenomy-redis]
"""
import glob
import os
import re
import sys

# int functions whose value is not a TKN_ status (kept in step with
# gen_errors_test.py, which imports it), and tkn_error_set, which returns
# the status it is given.
NOT_STATUS = {
    'tkn_role_from_name',          # a TKN_ROLE_* or -1
    'tkn_conv_role',               # a TKN_ROLE_* or -1
    'tkn_conv_has_parts',          # 0 / 1
    'tkn_conv_pinned',             # 0 / 1
    'tkn_toolcache_is_cacheable',  # 0 / 1
    'tkn_schema_result_status',    # the status of a validation already run
}
RETURNS_ITS_ARGUMENT = {'tkn_error_set'}

DECL = re.compile(r'^TKN_(?:REDIS_)?API\s+(int|int32_t)\s+(tkn_\w+)\s*\(')
CODE = re.compile(r'\bTKN_(?:ERR_[A-Z0-9_]+|OK)\b')
# "TKN_ERR_PARSE / _UTF8 / _LIMIT", "TKN_ERR_SCHEMA or _PARSE": the short forms
SHORT = re.compile(r'(?:/|\bor|,)[\s*]*_([A-Z][A-Z0-9_]*)\b')
REF = re.compile(r'(?:[Ee]rrors|[Cc]odes|[Ss]tatus(?:es)?|[Tt]hose)[\s*]+(?:as|of)[\s*]+(tkn_\w+)')


def known_codes(include):
    with open(os.path.join(include, 'tokenomy', 'common.h')) as f:
        text = f.read()
    return set(re.findall(r'#define\s+(TKN_ERR_[A-Z0-9_]+|TKN_OK)\b', text)) - {'TKN_ERR__COUNT'}


def headers(include, redis=False):
    hs = sorted(glob.glob(os.path.join(include, 'tokenomy', '*.h')))
    if redis:
        hs += sorted(glob.glob(os.path.join(include, 'tokenomy-redis', '*.h')))
    return hs


def doc_comments(path):
    """{function: (line, comment text)} for every status-returning function."""
    with open(path) as f:
        lines = f.read().split('\n')
    out = {}
    for i, line in enumerate(lines):
        m = DECL.match(line)
        if not m or m.group(1) != 'int':
            continue
        j = i - 1
        while j >= 0 and lines[j].lstrip().startswith('#define'):
            j -= 1
        doc = []
        while j >= 0 and lines[j].rstrip().endswith('*/'):  # stacked comment blocks
            k = j
            while k >= 0 and '/*' not in lines[k]:
                k -= 1
            doc = lines[k:j + 1] + doc
            j = k - 1
        out[m.group(2)] = (i + 1, '\n'.join(doc))
    return out


def parse(include, redis=False):
    """{function: (header, line, set of codes named, [functions referred to])}."""
    funcs = {}
    for h in headers(include, redis):
        for name, (line, doc) in doc_comments(h).items():
            if name in NOT_STATUS or name in RETURNS_ITS_ARGUMENT:
                continue
            named = set(CODE.findall(doc))
            first = doc.find('TKN_ERR_')
            if first >= 0:
                named |= {'TKN_ERR_' + s for s in SHORT.findall(doc[first:])}
            refs = [r for r in REF.findall(doc) if r != name]
            funcs[name] = (os.path.basename(h), line, named, refs)
    return funcs


def codes(funcs, name, seen=None):
    """The codes `name` lists, its references followed."""
    seen = seen or set()
    if name in seen or name not in funcs:
        return set()
    seen.add(name)
    out = set(funcs[name][2])
    for r in funcs[name][3]:
        out |= codes(funcs, r, seen)
    return out - {'TKN_OK'}


def problems(include, redis=False):
    funcs = parse(include, redis)
    real = known_codes(include)
    bad = []
    for name, (h, line, named, refs) in sorted(funcs.items()):
        where = '%s:%d: %s' % (h, line, name)
        for c in sorted(named - real):
            bad.append('%s: names %s, which is not a status code of common.h' % (where, c))
        for r in refs:
            if r not in funcs:
                bad.append('%s: refers to the codes of %s, which is not a status-returning '
                           'public function' % (where, r))
            elif not codes(funcs, r):
                bad.append('%s: refers to the codes of %s, which lists none' % (where, r))
        if not codes(funcs, name):
            bad.append('%s: no list of the status codes it returns in the comment above it '
                       '(name each TKN_ERR_ code, or "Errors as tkn_other")' % where)
    return funcs, bad


def emit_c(include, redis, out):
    """A C header: tkn_listed_codes(name), the bit mask (1 << code) of the codes
    the header of public function `name` lists; 0 for a name not listed."""
    with open(os.path.join(include, 'tokenomy', 'common.h')) as f:
        values = {m.group(1): int(m.group(2)) for m in
                  re.finditer(r'#define\s+(TKN_ERR_[A-Z0-9_]+)\s+(\d+)', f.read())}
    funcs = parse(include, redis)
    w = ['/* Generated by status_lists.py from the public headers: do not edit. */',
         '#include <string.h>',
         'static unsigned long long tkn_listed_codes(const char *name) {',
         '  static const struct { const char *name; unsigned long long codes; } t[] = {']
    for name in sorted(funcs):
        bits = sorted(values[c] for c in codes(funcs, name) if c in values)
        w.append('      {"%s", %s},' % (name, ' | '.join('(1ULL << %d)' % b for b in bits) or '0'))
    w += ['  };',
          '  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)',
          '    if (strcmp(t[i].name, name) == 0) return t[i].codes;',
          '  return 0;',
          '}']
    with open(out, 'w') as f:
        f.write('\n'.join(w) + '\n')


def emit_nomem(include, out):
    """A C header: tkn_nomem_listed[], the public functions whose header lists
    TKN_ERR_NOMEM (tests/unit/oom drives each of them to it)."""
    funcs = parse(include)
    names = sorted(n for n in funcs if 'TKN_ERR_NOMEM' in codes(funcs, n))
    w = ['/* Generated by status_lists.py from the public headers: do not edit. */',
         'static const char *const tkn_nomem_listed[] = {']
    w += ['    "%s",' % n for n in names]
    w += ['};']
    with open(out, 'w') as f:
        f.write('\n'.join(w) + '\n')


def main():
    if sys.argv[1] == '--emit-nomem':  # status_lists.py --emit-nomem INCLUDE OUT.h
        emit_nomem(sys.argv[2], sys.argv[3])
        return
    if sys.argv[1] == '--emit-c':  # status_lists.py --emit-c INCLUDE OUT.h [tokenomy-redis]
        emit_c(sys.argv[2], len(sys.argv) > 4 and sys.argv[4] == 'tokenomy-redis', sys.argv[3])
        return
    include = sys.argv[1]
    redis = len(sys.argv) > 2 and sys.argv[2] == 'tokenomy-redis'
    funcs, bad = problems(include, redis)
    for b in bad:
        print('FAIL ' + b)
    print('%d status-returning public functions, %d with a list of their codes, %d problems'
          % (len(funcs), sum(1 for n in funcs if codes(funcs, n)), len(bad)))
    sys.exit(1 if bad else 0)


if __name__ == '__main__':
    main()
