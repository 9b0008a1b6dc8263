"""The Python peers' side of bench_native.py, in the protocol of every side:
for each kind of SPEC ("KIND:FIRST:END:REPS ..."), encode then count, one
then two threads (Python threads; both peers release the GIL while they
encode), each thread going REPS times over documents [FIRST, END) after a
warm-up pass; one line "KIND MODE THREADS CPU WALL TOKENS" per run (CPU: the
whole process's).

  tiktoken:   OpenAI's tiktoken (its native Rust core), the encoding built by
              tiktoken's own constructor from the pinned local rank file;
  tokenizers: Hugging Face tokenizers, a byte-level BPE made from the same
              ranks the way transformers converts a tiktoken encoding (every
              token's splits into two tokens as merges, in rank order; whole
              pieces that are tokens taken as such), split by the encoding's
              pattern (cl100k: its older, equivalent form without possessive
              quantifiers, which Oniguruma reads differently).
Neither has a count call: count is the length of the ordinary encoding.

usage: python bench_native_peers.py PEER ENCODING CORPUS SPEC RANKS_DIR
"""
import os
import struct
import sys
import threading
import time

CL100K_PAT = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"""
              r"""|\s*[\r\n]+|\s+(?!\S)|\s+""")


def read_docs(path):
    b = open(path, "rb").read()
    out, o = [], 0
    while o < len(b):
        n = struct.unpack_from("<I", b, o)[0]
        out.append(b[o + 4:o + 4 + n].decode("utf-8"))
        o += 4 + n
    return out


def tiktoken_encoding(name, ranks_dir):
    import tiktoken
    import tiktoken_ext.openai_public as openai_public
    from tiktoken.load import load_tiktoken_bpe
    real = openai_public.load_tiktoken_bpe
    openai_public.load_tiktoken_bpe = lambda _url, expected_hash=None: load_tiktoken_bpe(
        os.path.join(ranks_dir, name + ".tiktoken"), expected_hash=expected_hash)
    try:
        spec = getattr(openai_public, name)()
    finally:
        openai_public.load_tiktoken_bpe = real
    return tiktoken.Encoding(spec["name"], pat_str=spec["pat_str"],
                             mergeable_ranks=spec["mergeable_ranks"],
                             special_tokens=spec["special_tokens"]), spec


def byte_chars():
    """GPT-2's printable stand-in for each byte (byte-level BPE)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def hf_tokenizer(name, ranks_dir):
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    _, spec = tiktoken_encoding(name, ranks_dir)
    ranks = spec["mergeable_ranks"]
    bc = byte_chars()
    uni = lambda t: "".join(bc[b] for b in t)
    vocab = {uni(t): r for t, r in ranks.items()}
    merges = []
    for t, r in ranks.items():
        local = [(t[:i], t[i:], r) for i in range(1, len(t)) if t[:i] in ranks and t[i:] in ranks]
        local.sort(key=lambda m: (ranks[m[0]], ranks[m[1]]))
        merges.extend(local)
    merges.sort(key=lambda m: m[2])
    model = models.BPE(vocab, [(uni(a), uni(b)) for a, b, _ in merges], ignore_merges=True)
    tok = Tokenizer(model)
    pat = CL100K_PAT if name == "cl100k_base" else spec["pat_str"]
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(pat), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    return tok


def timed(run, docs, threads, reps):
    totals = [0] * threads

    def work(k):
        totals[k] = sum(run(d) for _ in range(reps) for d in docs)

    c0, w0 = time.process_time(), time.perf_counter()
    ths = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    return time.process_time() - c0, time.perf_counter() - w0, sum(totals)


def main():
    peer, enc, corpus, spec, ranks_dir = sys.argv[1:6]
    all_docs = read_docs(corpus)
    if peer == "tiktoken":
        e, _ = tiktoken_encoding(enc, ranks_dir)
        run = lambda s: len(e.encode_ordinary(s))
    elif peer == "tokenizers":
        t = hf_tokenizer(enc, ranks_dir)
        run = lambda s: len(t.encode(s, add_special_tokens=False).ids)
    else:
        sys.exit(f"unknown peer {peer}")
    for item in spec.split():
        kind, first, end, reps = item.split(":")
        docs = all_docs[int(first):int(end)]
        for d in docs:  # warm-up
            run(d)
        for mode in ("encode", "count"):
            for threads in (1, 2):
                cpu, wall, tokens = timed(run, docs, threads, int(reps))
                print(f"{kind} {mode} {threads} {cpu:.6f} {wall:.6f} {tokens}", flush=True)


if __name__ == "__main__":
    main()
