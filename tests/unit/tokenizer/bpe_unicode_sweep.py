"""Every code point in every context that reveals its class: the built-in
pre-tokeniser against tiktoken's native (Rust) core, cl100k_base and o200k_base.

Each Unicode scalar value X (U+0000..U+10FFFF, surrogates excepted) is put in
one probe text that shows whether X is a letter (and upper or lower case for
o200k), a number, white space or punctuation to the pattern: between letters,
digits and punctuation, in runs, after a space, a newline and a tab, at the
start and the end of the text, and before contractions (X's, X'S, X'll, X're)
that only match after a letter.  Both sides encode every probe; any
difference in the ids fails the test, and the differing code points are
listed as ranges.  The probes and our ids are kept in WORK_DIR for the WASM
peer (bpe_unicode_sweep.mjs), which compares the same ids.

usage: python bpe_unicode_sweep.py BPE_DUMP RANKS_DIR WORK_DIR
"""
import array
import os
import struct
import subprocess
import sys

import tiktoken
import tiktoken_ext.openai_public as openai_public
from tiktoken.load import load_tiktoken_bpe

PROBE = ("{X}x a{X}a 1{X}1 !{X}! A{X}a a{X}A {X}{X}x {X} 'S{X} {X}'s {X}'S {X}'ll A{X}'re "
         "{X}123 {X}{X}{X}{X} \n{X}\n{X}\t{X}  {X}\r\n{X}/{X}.{X}{X} a{X}")
ENCODINGS = ("cl100k_base", "o200k_base")
CHUNK = 1 << 15


def code_points():
    return [cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF]


def probe(cp):
    return PROBE.replace("{X}", chr(cp))


def native(name, ranks_dir):
    """tiktoken's own constructor for the encoding, reading the pinned local
    rank file (the package would download it)."""
    real = openai_public.load_tiktoken_bpe
    openai_public.load_tiktoken_bpe = lambda _url, expected_hash=None: load_tiktoken_bpe(
        os.path.join(ranks_dir, name + ".tiktoken"), expected_hash=expected_hash)
    try:
        spec = getattr(openai_public, name)()
    finally:
        openai_public.load_tiktoken_bpe = real
    return tiktoken.Encoding(spec["name"], pat_str=spec["pat_str"],
                             mergeable_ranks=spec["mergeable_ranks"],
                             special_tokens=spec["special_tokens"])


def ranges(cps):
    out = []
    for cp in cps:
        if out and out[-1][1] == cp - 1:
            out[-1][1] = cp
        else:
            out.append([cp, cp])
    return ", ".join(f"U+{a:04X}" if a == b else f"U+{a:04X}..U+{b:04X}" for a, b in out)


def main():
    dump, ranks_dir, work = sys.argv[1:4]
    os.makedirs(work, exist_ok=True)
    cps = code_points()
    docs = os.path.join(work, "sweep.bin")
    with open(docs, "wb") as f:
        for cp in cps:
            b = probe(cp).encode("utf-8")
            f.write(struct.pack("<I", len(b)) + b)
    failed = False
    for name in ENCODINGS:
        ids_file = os.path.join(work, f"sweep-{name}.bin")
        subprocess.run([dump, name, docs, ids_file], check=True)
        enc = native(name, ranks_dir)
        diff = []
        with open(ids_file, "rb") as f:
            for c in range(0, len(cps), CHUNK):
                part = cps[c:c + CHUNK]
                theirs = enc.encode_ordinary_batch([probe(cp) for cp in part], num_threads=2)
                for cp, t in zip(part, theirs):
                    n = struct.unpack("<I", f.read(4))[0]
                    mine = array.array("I")
                    mine.frombytes(f.read(4 * n))
                    if mine.tolist() != t:
                        diff.append(cp)
        print(f"{name}: {len(cps)} code points in {PROBE.count('{X}')} contexts each, "
              f"{len(diff)} differ from tiktoken {tiktoken.__version__} (native)"
              + (": " + ranges(diff) if diff else ""))
        failed |= bool(diff)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
