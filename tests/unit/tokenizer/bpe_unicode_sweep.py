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
peer (bpe_unicode_sweep.mjs), which compares the same ids on a subset of the
code points (wasm-subset.bin, chosen here from the pinned Unicode data: see
wasm_subset); the native core, here, takes every one.

usage: python bpe_unicode_sweep.py BPE_DUMP RANKS_DIR WORK_DIR UCD_LOCK UCD_DIR
"""
import array
import importlib.util
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


def wasm_subset(lock, ucd_dir):
    """The code points the WASM peer checks: both sides of every boundary
    between runs of one general category (and White_Space) of the pinned
    Unicode data, where a peer whose tables differ (another Unicode version,
    another class mapping) differs first; every 16th code point of assigned
    runs and every 256th of unassigned, private-use ones, as a uniform sample;
    and the code points where UTF-8 and UTF-16 change length (the JS side
    converts)."""
    spec = importlib.util.spec_from_file_location("gen_unicode", os.path.join(
        os.path.dirname(lock), "gen-unicode.py"))
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    _version, files = gen.load(lock, ucd_dir)
    cat = ["Cn"] * gen.NCP
    for a, b, g in gen.ranges(files["DerivedGeneralCategory.json"]["DerivedGeneralCategory"],
                              "category", None):
        cat[a:b + 1] = [g] * (b - a + 1)
    for a, b, _ in gen.ranges(files["PropList.json"]["PropList"], "property", "White_Space"):
        for cp in range(a, b + 1):
            cat[cp] += "+WS"
    keep = {0x7F, 0x80, 0x7FF, 0x800, 0xD7FF, 0xE000, 0xFFFF, 0x10000, 0x10FFFF}
    for cp in range(gen.NCP):
        if cp and cat[cp] != cat[cp - 1]:
            keep.update((cp - 1, cp))
        if cp % (256 if cat[cp] in ("Cn", "Co", "Cs") else 16) == 0:
            keep.add(cp)
    return sorted(cp for cp in keep if not 0xD800 <= cp <= 0xDFFF)


def ranges(cps):
    out = []
    for cp in cps:
        if out and out[-1][1] == cp - 1:
            out[-1][1] = cp
        else:
            out.append([cp, cp])
    return ", ".join(f"U+{a:04X}" if a == b else f"U+{a:04X}..U+{b:04X}" for a, b in out)


def main():
    dump, ranks_dir, work, lock, ucd_dir = sys.argv[1:6]
    os.makedirs(work, exist_ok=True)
    cps = code_points()
    subset = wasm_subset(lock, ucd_dir)
    with open(os.path.join(work, "wasm-subset.bin"), "wb") as f:
        f.write(array.array("I", subset).tobytes())
    docs = os.path.join(work, "sweep.bin")
    with open(docs, "wb") as f:
        for cp in cps:
            b = probe(cp).encode("utf-8")
            f.write(struct.pack("<I", len(b)) + b)
    # our ids for both encodings at once (two processes), then each chunk of
    # probes made once and encoded by both of tiktoken's encodings; ids are
    # compared as bytes (little-endian u32, as bpe_dump writes them)
    ids_files = {name: os.path.join(work, f"sweep-{name}.bin") for name in ENCODINGS}
    procs = [subprocess.Popen([dump, name, docs, ids_files[name]]) for name in ENCODINGS]
    if any(p.wait() != 0 for p in procs):
        sys.exit("bpe_unicode_sweep: bpe_dump failed")
    encs = {name: native(name, ranks_dir) for name in ENCODINGS}
    files = {name: open(ids_files[name], "rb") for name in ENCODINGS}
    diff = {name: [] for name in ENCODINGS}
    little = sys.byteorder == "little"
    code = "I" if array.array("I").itemsize == 4 else "L"
    for c in range(0, len(cps), CHUNK):
        part = cps[c:c + CHUNK]
        texts = [probe(cp) for cp in part]
        for name in ENCODINGS:
            f = files[name]
            for cp, t in zip(part, encs[name].encode_ordinary_batch(texts, num_threads=2)):
                n = struct.unpack("<I", f.read(4))[0]
                theirs = array.array(code, t)
                if not little:
                    theirs.byteswap()
                if theirs.tobytes() != f.read(4 * n):
                    diff[name].append(cp)
    failed = False
    for name in ENCODINGS:
        files[name].close()
        print(f"{name}: {len(cps)} code points in {PROBE.count('{X}')} contexts each, "
              f"{len(diff[name])} differ from tiktoken {tiktoken.__version__} (native)"
              + (": " + ranges(diff[name]) if diff[name] else ""))
        failed |= bool(diff[name])
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
