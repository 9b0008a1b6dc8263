#!/usr/bin/env python3
"""Generate tokenomy/_ffi.py (ctypes declarations) from the public C headers.

Usage: python3 gen_ffi.py [INCLUDE_DIR] [OUTPUT]   (defaults: ../../include, tokenomy/_ffi.py)

The headers are the contract: every TKN_API function, every struct that
crosses the ABI, every function-pointer type and every integer/string macro
becomes a declaration here, so the binding never restates (or drifts from)
what the C side says.  The parser knows only the C subset the headers use
(ARCHITECTURE.md, "Rules that keep the ABI stable": fixed-width integers,
opaque handles, plain structs, function pointers); anything else makes it
fail loudly.  A unit test regenerates the
file and compares, so a header change without a regeneration is caught.
"""
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

SCALARS = {
    'int': 'c_int', 'unsigned': 'c_uint', 'size_t': 'c_size_t', 'double': 'c_double',
    'int8_t': 'c_int8', 'uint8_t': 'c_uint8', 'int16_t': 'c_int16', 'uint16_t': 'c_uint16',
    'int32_t': 'c_int32', 'uint32_t': 'c_uint32', 'int64_t': 'c_int64', 'uint64_t': 'c_uint64',
    'char': 'c_char', 'void': None,
}


def strip_comments(text):
    text = re.sub(r'/\*.*?\*/', ' ', text, flags=re.S)
    return re.sub(r'//[^\n]*', ' ', text)


def split_params(params):
    """A parameter list split at its top-level commas (a function-pointer
    parameter stays whole), each parameter with its white space folded."""
    out, depth, cur = [], 0, ''
    for ch in params:
        if ch == '(':
            depth += 1
        elif ch == ')':
            depth -= 1
        if ch == ',' and depth == 0:
            out.append(cur)
            cur = ''
        else:
            cur += ch
    if cur.strip():
        out.append(cur)
    return [' '.join(p.split()) for p in out]


def include_order(headers):
    """The headers, each after the headers of its folder it includes (llm.h
    needs usage.h's types), otherwise in the order given."""
    ordered = []

    def visit(h):
        if h in ordered:
            return
        with open(h) as f:
            for inc in re.findall(r'#include "([a-z0-9_]+\.h)"', f.read()):
                dep = os.path.join(os.path.dirname(h), inc)
                if os.path.exists(dep):
                    visit(dep)
        ordered.append(h)
    for h in headers:
        visit(h)
    return ordered


def header_order(include_dir):
    with open(os.path.join(include_dir, 'tokenomy.h')) as f:
        umbrella = f.read()
    names = re.findall(r'#include "tokenomy/([a-z0-9_]+\.h)"', umbrella)
    return [os.path.join(include_dir, 'tokenomy', n) for n in names]


class Parser:
    def __init__(self):
        self.structs = {}    # name -> [(field, ctype-expr)] (in order of definition)
        self.struct_order = []
        self.opaque = set()
        self.fnptrs = {}     # typedef name -> (ret, [param types])
        self.fnptr_order = []
        self.functions = []  # (name, ret, [param types], header)
        self.consts = []     # (name, python literal)
        self.const_env = {}
        self.handle_params = {}  # function -> ((param index, opaque type), ...)

    # ---- types ----
    def ctype(self, decl, in_callback=False):
        """decl: a declaration without its name, e.g. 'const char *const *'."""
        d = decl.replace('struct ', ' ')
        strings_array = re.search(r'char\s*\*\s*const\s*\*', d) is not None
        stars = d.count('*')
        base = re.sub(r'\bconst\b', ' ', d).replace('*', ' ').split()
        if len(base) != 1:
            raise ValueError('cannot map type %r' % decl)
        base = base[0]
        if strings_array:
            return 'POINTER(c_char_p)'
        if base in SCALARS:
            c = SCALARS[base]
            if base == 'char':
                if stars == 1:
                    return 'c_void_p' if in_callback else 'c_char_p'
                if stars == 2:
                    return 'POINTER(c_void_p)'
            if c is None:
                return [None, 'c_void_p', 'POINTER(c_void_p)'][stars]
            t = c
        elif base in self.opaque:
            return ['c_void_p', 'c_void_p', 'POINTER(c_void_p)'][stars] if stars else self.fail(decl)
        elif base in self.structs:
            t = base
        elif base in self.fnptrs:
            t = base
        else:
            raise ValueError('unknown type %r' % decl)
        for _ in range(stars):
            t = 'POINTER(%s)' % t
        return t

    def handle_of(self, p):
        """The opaque type a parameter points to once (a handle), else None."""
        d = ' '.join(p.replace('struct ', ' ').split())
        if '(' in d or d.count('*') != 1:
            return None
        words = re.sub(r'\bconst\b', ' ', d).replace('*', ' ').split()
        return words[0] if words and words[0] in self.opaque else None

    def fail(self, decl):
        raise ValueError('cannot map %r' % decl)

    def param_type(self, p, in_callback=False):
        p = ' '.join(p.split())
        if p == 'void':
            return None
        m = re.match(r'^(.*?)\(\s*\*\s*(\w*)\s*\)\s*\((.*)\)$', p)
        if m:  # an inline function pointer (only inside structs here)
            return self.fnptr_expr(m.group(1), m.group(3))
        m = re.match(r'^(.*?[\s\*])(\w+)$', p)
        if not m or m.group(2) in SCALARS or m.group(2) in self.structs or m.group(2) in self.opaque:
            return self.ctype(p, in_callback)  # unnamed parameter
        return self.ctype(m.group(1), in_callback)

    def fnptr_expr(self, ret, params):
        r = self.ctype(ret, True) if ret.strip() != 'void' else 'None'
        ps = [self.param_type(x, True) for x in split_params(params)]
        ps = [x for x in ps if x is not None]
        return 'CFUNCTYPE(%s%s)' % (r, ''.join(', ' + x for x in ps))

    # ---- declarations ----
    def parse(self, path):
        with open(path) as f:
            text = strip_comments(f.read())
        # macros, joined over backslash-newlines
        text = text.replace('\\\n', ' ')
        for m in re.finditer(r'^[ \t]*#[ \t]*define[ \t]+(TKN_\w+)[ \t]+(.+)$', text, re.M):
            self.define(m.group(1), m.group(2).strip())
        body = re.sub(r'^[ \t]*#.*$', ' ', text, flags=re.M)
        body = body.replace('extern "C" {', ' ')
        body = re.sub(r'^\s*}\s*$', ' ', body, flags=re.M)
        stmts = []
        # statements end at ';' outside braces
        depth, cur = 0, ''
        for ch in body:
            cur += ch
            if ch == '{':
                depth += 1
            elif ch == '}':
                depth -= 1
            elif ch == ';' and depth == 0:
                stmts.append(' '.join(cur.split()))
                cur = ''
        for s in stmts:
            self.statement(s, os.path.basename(path))

    def statement(self, s, header):
        s = s.rstrip(';').strip()
        if not s:
            return
        m = re.match(r'^typedef struct (\w+) (\w+)$', s)
        if m:
            if m.group(1) not in self.structs:
                self.opaque.add(m.group(1))
            return
        m = re.match(r'^typedef struct (\w+) \{(.*)\} (\w+)$', s)
        if m:
            name = m.group(1)
            self.opaque.discard(name)
            fields = []
            self.structs[name] = fields  # allow self-reference lookups
            for member in m.group(2).split(';'):
                member = member.strip()
                if not member:
                    continue
                fm = re.match(r'^(.*?)\(\s*\*\s*(\w+)\s*\)\s*\((.*)\)$', member)
                if fm:
                    fields.append((fm.group(2), self.fnptr_expr(fm.group(1), fm.group(3))))
                    continue
                dm = re.match(r'^((?:const\s+)?\w+)\s*(.*)$', member)
                base, decls = dm.group(1), dm.group(2)
                for d in decls.split(','):
                    d = d.strip()
                    stars = d.count('*')
                    fname = d.replace('*', '').replace('const', '').strip()
                    t = self.ctype(base + ' ' + '*' * stars)
                    am = re.match(r'^(\w+)\s*\[\s*(\w+)\s*\]$', fname)
                    if am:  # a fixed array: name[N], N a number or a TKN_ constant
                        n = am.group(2)
                        fname, t = am.group(1), '%s * %d' % (t, int(self.const_env.get(n, n)))
                    fields.append((fname, t))
            self.struct_order.append(name)
            return
        m = re.match(r'^typedef (.*?)\(\s*\*\s*(\w+)\s*\)\s*\((.*)\)$', s)
        if m:
            self.fnptrs[m.group(2)] = self.fnptr_expr(m.group(1), m.group(3))
            self.fnptr_order.append(m.group(2))
            return
        m = re.match(r'^(TKN_API|TKN_REDIS_API) (.*?)\b(tkn_\w+)\s*\((.*)\)$', s)
        if m:
            m = re.match(r'^(?:TKN_API|TKN_REDIS_API) (.*?)\b(tkn_\w+)\s*\((.*)\)$', s)
            ret = m.group(1).strip()
            rt = 'None' if ret == 'void' else self.ctype(ret)
            raw = [p for p in split_params(m.group(3)) if ' '.join(p.split()) != 'void']
            ps = [self.param_type(p) for p in raw]
            self.functions.append((m.group(2), rt, ps, header))
            handles = tuple((i, h) for i, h in enumerate(self.handle_of(p) for p in raw) if h)
            if handles:
                self.handle_params[m.group(2)] = handles
            return
        raise ValueError('%s: cannot parse: %s' % (header, s[:120]))

    def define(self, name, value):
        if '(' in name or re.match(r'^\(\w+\)', value) and name.endswith(')'):
            return
        if value.startswith('{'):
            return  # *_INIT initialisers: use the tkn_*_init functions instead
        if re.match(r'^"[^"]*"$', value):
            self.consts.append((name, value))
            self.const_env[name] = value.strip('"')
            return
        v = value
        v = re.sub(r'\((?:size_t|uint64_t|int64_t|uint32_t|int32_t|unsigned)\)', '', v)
        v = re.sub(r'U?INT64_C\(([^)]*)\)', r'\1', v)
        v = re.sub(r'\b(0x[0-9a-fA-F]+|\d+)[uUlL]+\b', r'\1', v)
        env = dict(self.const_env)
        env.update({'INT64_MAX': 2**63 - 1, 'INT64_MIN': -2**63, 'UINT32_MAX': 2**32 - 1,
                    'UINT64_MAX': 2**64 - 1, 'INT32_MAX': 2**31 - 1})
        try:
            val = eval(v, {'__builtins__': {}}, env)
        except Exception:
            return  # function-like or not a constant
        if not isinstance(val, (int, float)):
            return
        self.consts.append((name, repr(val)))
        self.const_env[name] = val


def generate(include_dir):
    p = Parser()
    common = os.path.join(include_dir, 'tokenomy', 'common.h')
    headers = header_order(include_dir)
    if common not in headers:
        headers.insert(0, common)
    headers = include_order(headers)
    for h in headers:
        p.parse(h)
    n_core = len(p.functions)
    # the Redis store adapter: a library of its own (libtokenomy-redis)
    redis = os.path.join(include_dir, 'tokenomy-redis', 'redis.h')
    if os.path.exists(redis):
        p.parse(redis)
        headers.append(redis)
    out = []
    w = out.append
    w('# Generated by bindings/python/gen_ffi.py from the public headers: do not edit.')
    w('# Regenerate with `python3 bindings/python/gen_ffi.py` after a header changes.')
    w('# flake8: noqa')
    w('from ctypes import (CFUNCTYPE, POINTER, Structure, c_char, c_char_p, c_double, c_int,')
    w('                    c_int8, c_int16, c_int32, c_int64, c_size_t, c_uint, c_uint8,')
    w('                    c_uint16, c_uint32, c_uint64, c_void_p)')
    w('')
    w('HEADERS = %r' % [os.path.basename(h) for h in headers])
    w('')
    w('# ---- constants (#define TKN_...) ----')
    seen = set()
    for name, val in p.consts:
        if name in seen:
            continue
        seen.add(name)
        w('%s = %s' % (name, val))
    w('')
    w('# ---- structs ----')
    for name in p.struct_order:
        w('class %s(Structure):\n    pass' % name)
    w('')
    w('# ---- function-pointer types ----')
    # function-pointer typedefs may name structs (as pointers), which exist now
    for name in p.fnptr_order:
        w('%s = %s' % (name, p.fnptrs[name]))
    w('')
    done = set()
    pending = list(p.struct_order)
    while pending:
        progress = False
        for name in list(pending):
            deps = [t.split(' * ')[0] for _, t in p.structs[name]]
            deps = [t for t in deps if t in p.structs and t != name]
            if all(d in done for d in deps):
                w('%s._fields_ = [' % name)
                for f, t in p.structs[name]:
                    w('    (%r, %s),' % (f, t))
                w(']')
                done.add(name)
                pending.remove(name)
                progress = True
        if not progress:
            raise ValueError('struct dependency cycle: %r' % pending)
    w('')
    w('# ---- functions: name -> (restype, argtypes, header) ----')
    w('FUNCTIONS = {')
    for name, rt, ps, header in p.functions[:n_core]:
        w('    %r: (%s, [%s], %r),' % (name, rt, ', '.join(ps), header))
    w('}')
    w('')
    w('# libtokenomy-redis (tokenomy-redis/redis.h)')
    w('REDIS_FUNCTIONS = {')
    for name, rt, ps, header in p.functions[n_core:]:
        w('    %r: (%s, [%s], %r),' % (name, rt, ', '.join(ps), header))
    w('}')
    w('')
    w('OPAQUE = %r' % sorted(p.opaque))
    w('')
    w('# parameters that take a handle (one pointer to an opaque type):')
    w('# function -> ((index, type), ...); the binding checks what is passed there')
    w('HANDLE_PARAMS = {')
    for name, _rt, _ps, _h in p.functions:
        if name in p.handle_params:
            w('    %r: %r,' % (name, p.handle_params[name]))
    w('}')
    return '\n'.join(out) + '\n'


def main():
    include_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, '..', '..', 'include')
    output = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, 'tokenomy', '_ffi.py')
    text = generate(include_dir)
    if output == '-':
        sys.stdout.write(text)
    else:
        with open(output, 'w') as f:
            f.write(text)


if __name__ == '__main__':
    main()
