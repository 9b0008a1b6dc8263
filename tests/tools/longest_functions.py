#!/usr/bin/env python3
"""The longest C functions of a tree: lines from the signature to the closing brace.

usage: longest_functions.py [--top N] [--over L] [PATH...]   (default: src)

Prints the N longest functions (lines, file:line, name), then a summary: how
many functions, their mean length, and how many are longer than L lines.
A function is a top-level brace block whose header holds a '(' and no '='
(so initialisers, structs and enums are not counted); comments, strings and
character literals are skipped when matching braces.  Standard library only.
"""
import os
import re
import sys


def strip(text):
    """The text with comments, strings and char literals blanked (newlines kept)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            out.append(c + re.sub(r"[^\n]", " ", text[i + 1:j]) + c)
            i = j + 1
        elif c == "#" and (i == 0 or text[i - 1] == "\n"):
            j = i  # a preprocessor line, with its continuations
            while True:
                k = text.find("\n", j)
                if k < 0:
                    k = n
                    break
                if text[k - 1] != "\\":
                    break
                j = k + 1
            out.append(re.sub(r"[^\n]", " ", text[i:k]))
            i = k
        else:
            out.append(c)
            i += 1
    return "".join(out)


def functions(path):
    """(name, first line, lines) of each function defined in a C file."""
    with open(path, encoding="utf-8", errors="replace") as f:
        text = strip(f.read())
    found, depth, start, header, first = [], 0, None, "", 0
    line = 1
    for c in text:
        if c == "\n":
            line += 1
        if depth == 0:
            if c == "{":
                h = header.strip()
                m = re.search(r"([A-Za-z_]\w*)\s*\(", h)
                if m and "=" not in h.split("(")[0] and not h.startswith(
                        ("struct", "enum", "union", "typedef")):
                    start = (m.group(1), first)
                depth, header = 1, ""
            elif c in ";}":
                header = ""
            else:
                if not header.strip() and not c.isspace():
                    first = line  # the header's first line
                header += c
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0 and start:
                found.append((start[0], start[1], line - start[1] + 1))
                start = None
    return found


def main(argv):
    top, over, paths = 20, 80, []
    i = 0
    while i < len(argv):
        if argv[i] in ("--top", "--over") and i + 1 < len(argv):
            if argv[i] == "--top":
                top = int(argv[i + 1])
            else:
                over = int(argv[i + 1])
            i += 2
        elif argv[i] in ("-h", "--help"):
            print(__doc__.strip())
            return 0
        else:
            paths.append(argv[i])
            i += 1
    files = []
    for p in paths or ["src"]:
        if os.path.isfile(p):
            files.append(p)
        for root, _, names in sorted(os.walk(p)):
            files += [os.path.join(root, n) for n in sorted(names) if n.endswith(".c")]
    rows = []
    for path in files:
        for name, first, n in functions(path):
            rows.append((n, f"{os.path.relpath(path)}:{first}", name))
    rows.sort(key=lambda r: (-r[0], r[1]))
    for n, where, name in rows[:top]:
        print(f"{n:5d}  {where:<40} {name}")
    total = len(rows)
    mean = sum(r[0] for r in rows) / total if total else 0.0
    print(f"{total} functions, mean {mean:.1f} lines, {sum(r[0] > over for r in rows)} over {over}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
