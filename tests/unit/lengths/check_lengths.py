#!/usr/bin/env python3
"""Check that test_lengths.c has a row for every (const char *, size_t) pair
the host hands the library, as the public headers declare them:
  - a function's parameters `const char *X, size_t Y`, and arrays
    `const char *const *X, const size_t *Y` (one row per pointer parameter);
  - a struct's fields `const char *X; size_t Y;`, except in the structs the
    library fills for the host (OUTPUT below), where the length is always the
    byte length.
A new function or field without a row, or a row naming a pair the headers no
longer have, fails.  usage: check_lengths.py INCLUDE_DIR test_lengths.c
"""
import glob
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', '..', 'bindings', 'python'))
from gen_ffi import split_params, strip_comments  # noqa: E402

# Filled by the library (results, the request handed to the host's callbacks).
OUTPUT = {'tkn_batch_result', 'tkn_batch_dead_letter', 'tkn_model_price',
          'tkn_prompt_segment_info', 'tkn_llm_request'}

PTR = r'const char \*\s*(\w+)'
LEN = r'size_t (\w+)'
ARR_PTR = r'const char \*const \*\s*(\w+)'
ARR_LEN = r'const size_t \*\s*(\w+)'


def header_pairs(include):
    pairs, structs = set(), set()
    headers = sorted(glob.glob(os.path.join(include, 'tokenomy', '*.h')) +
                     glob.glob(os.path.join(include, 'tokenomy-redis', '*.h')))
    for h in headers:
        with open(h) as f:
            text = strip_comments(f.read())
        for m in re.finditer(r'TKN_(?:REDIS_)?API[^;]*?\b(tkn_\w+)\s*\(([^;]*)\)\s*;', text):
            params = split_params(m.group(2))
            for a, b in zip(params, params[1:]):
                for pa, pb in ((PTR, LEN), (ARR_PTR, ARR_LEN)):
                    ma, mb = re.fullmatch(pa, a), re.fullmatch(pb, b)
                    if ma and mb:
                        pairs.add((m.group(1), ma.group(1)))
        for m in re.finditer(r'typedef struct (\w+) \{(.*?)\} \w+;', text, re.S):
            fields = [' '.join(f.split()) for f in m.group(2).split(';')]
            for a, b in zip(fields, fields[1:]):
                ma, mb = re.fullmatch(PTR, a), re.fullmatch(LEN, b)
                if ma and mb:
                    structs.add(m.group(1))
                    if m.group(1) not in OUTPUT:
                        pairs.add((m.group(1), ma.group(1)))
    return pairs, structs


def main():
    include, test = sys.argv[1], sys.argv[2]
    pairs, structs = header_pairs(include)
    with open(test) as f:
        rows = set(re.findall(r'^\s*\{"(tkn_\w+)", "(\w+)",', f.read(), re.M))
    problems = ['no row for %s(%s)' % p for p in sorted(pairs - rows)]
    problems += ['a row for %s(%s), which the headers do not have' % p
                 for p in sorted(rows - pairs)]
    problems += ['OUTPUT names %s, which has no pair' % s for s in sorted(OUTPUT - structs)]
    if problems:
        print('\n'.join(problems))
        return 1
    print('%d pairs in the headers, each with its row' % len(pairs))
    return 0


if __name__ == '__main__':
    sys.exit(main())
