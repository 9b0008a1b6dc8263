"""The BPE benchmark against native peers, side by side in one run: ours
(bench_bpe's native mode), tiktoken's native core and Hugging Face tokenizers
(PyPI, from Python, as their users call them), GitHub's bpe-openai and
tiktoken-rs (crates.io, from a Rust harness), each encoding and counting
every kind of text of one corpus (bench_native_corpus.mjs), one and two
threads.  Ours runs with its piece cache off (the ratios) and on (warm after
the warm-up, beside it).  Each side loads its tables, warms up on the kind, then is timed;
the figure is megabytes of text per second of process CPU time (robust on a
busy machine), two threads' wall-clock scaling beside it, and the ratio of
ours over each peer.  Token counts are compared too: a peer that disagrees
with ours on a kind is marked.

usage: python bench_native.py WORK_DIR BENCH_BPE RANKS_DIR PEERS_PY PEERS_RS VERSIONS_JSON
"""
import json
import os
import subprocess
import sys

ENCODINGS = ("cl100k_base", "o200k_base")
TARGET_BYTES = 2e6  # text per timed run (each kind is repeated up to this)


def run(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    res = {}
    for line in out.splitlines():
        kind, mode, threads, cpu, wall, tokens = line.split()
        res[(kind, mode, int(threads))] = (float(cpu), float(wall), int(tokens))
    return res


def main():
    work, bench_bpe, ranks, peers_py, peers_rs, versions = sys.argv[1:7]
    corpus = os.path.join(work, "corpus.bin")
    kinds = json.load(open(os.path.join(work, "kinds.json")))
    reps = {k["name"]: max(1, round(TARGET_BYTES / k["bytes"])) for k in kinds}
    spec = " ".join(f"{k['name']}:{k['first']}:{k['end']}:{reps[k['name']]}" for k in kinds)
    nbytes = {k["name"]: k["bytes"] for k in kinds}
    versions = json.loads(versions)
    print("input: " + ", ".join(f"{k['name']} {k['bytes'] / 1e6:.2f} MB ({k['end'] - k['first']} docs)"
                                for k in kinds))
    print("peers: " + ", ".join(f"{p} {v}" for p, v in versions.items()))
    print("figures: MB of text per CPU-second (process CPU time), each kind repeated to about "
          f"{TARGET_BYTES / 1e6:.0f} MB per run after a warm-up; 'x' columns: ours over the peer\n")
    for enc in ENCODINGS:
        # ours twice: with the piece cache off (the ratios: what merging costs,
        # as for the peers that keep no cache) and on (warm: the kind is
        # repeated after a warm-up, as tokenizers' own word cache is warm)
        sides = {"ours": run([bench_bpe, corpus, "native", enc, spec, "off"])}
        cached = run([bench_bpe, corpus, "native", enc, spec, "on"])
        for p in ("tiktoken", "tokenizers"):
            if peers_py:
                sides[p] = run([peers_py, os.path.join(os.path.dirname(__file__), "bench_native_peers.py"),
                                p, enc, corpus, spec, ranks])
        for p in ("bpe-openai", "tiktoken-rs"):
            if peers_rs:
                sides[p] = run([peers_rs, p, enc, corpus, spec])
        peers = [p for p in sides if p != "ours"]
        for mode in ("encode", "count"):
            print(f"{enc}, {mode}, one thread: MB/CPU-s (ours over peer)")
            print("| kind | ours, cache off | ours, cache warm | " + " | ".join(peers) + " |")
            print("|---|---|---|" + "---|" * len(peers))
            for k in kinds:
                name = k["name"]
                mbs = {}
                for s, res in sides.items():
                    cpu, wall, tokens = res[(name, mode, 1)]
                    mbs[s] = nbytes[name] * reps[name] / max(cpu, 1e-9) / 1e6
                ours_tokens = sides["ours"][(name, mode, 1)][2]
                cells = []
                for p in peers:
                    mark = "" if sides[p][(name, mode, 1)][2] == ours_tokens else " (counts differ)"
                    cells.append(f"{mbs[p]:.1f} ({mbs['ours'] / mbs[p]:.1f}x){mark}")
                warm = nbytes[name] * reps[name] / max(cached[(name, mode, 1)][0], 1e-9) / 1e6
                warm = f"{warm:.1f}" + ("" if cached[(name, mode, 1)][2] == ours_tokens
                                        else " (counts differ)")
                print(f"| {name} | {mbs['ours']:.1f} | {warm} | " + " | ".join(cells) + " |")
            print()
        print(f"{enc}, two threads each doing the one-thread work: wall-clock speed-up over one "
              "thread (2.0 = perfect; needs two idle cores), and CPU-time cost per byte over one "
              "thread's (1.0 = no contention)")
        print("| kind, encode | " + " | ".join(sides) + " |")
        print("|---|" + "---|" * len(sides))
        for k in kinds:
            name = k["name"]
            cells = []
            for s, res in sides.items():
                c1, w1, _ = res[(name, "encode", 1)]
                c2, w2, _ = res[(name, "encode", 2)]
                cells.append(f"{2 * w1 / w2:.2f} / {c2 / (2 * c1):.2f}")
            print(f"| {name} | " + " | ".join(cells) + " |")
        print()


if __name__ == "__main__":
    main()
