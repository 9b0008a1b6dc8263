#!/usr/bin/env python3
"""Check the tiktoken rank files against their pins and write them as blobs.

usage: gen-ranks.py OUT_CL100K.tkr OUT_O200K.tkr CL100K.tiktoken O200K.tiktoken

Each file is checked against the sha256 tiktoken pins (the build stops on a
mismatch), then written as a blob: "TKR1", the token count n (u32,
little-endian), n token lengths (one byte each, tokens are at most 128
bytes), then the token bytes in rank order (ranks are 0..n-1).
gen-ranks-image.c lays the encoder's tables out from the blobs.
"""
import base64
import hashlib
import sys

PINNED = {
    "cl100k": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    "o200k": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
}


def blob_of(path, name):
    data = open(path, "rb").read()
    digest = hashlib.sha256(data).hexdigest()
    if digest != PINNED[name]:
        sys.exit(f"gen-ranks: {path}: sha256 {digest} is not the pinned {PINNED[name]}")
    tokens = {}
    for lineno, line in enumerate(data.split(b"\n"), 1):
        if not line.strip():
            continue
        b64, rank = line.split()
        tokens[int(rank)] = base64.b64decode(b64, validate=True)
    n = len(tokens)
    if sorted(tokens) != list(range(n)):
        sys.exit(f"gen-ranks: {path}: ranks are not 0..{n - 1}")
    lens = bytes(len(tokens[k]) for k in range(n))  # raises if a token is > 255 bytes
    return b"TKR1" + n.to_bytes(4, "little") + lens + b"".join(tokens[k] for k in range(n))


def main():
    out_cl, out_o2, cl_path, o2_path = sys.argv[1:5]
    for name, path, out in (("cl100k", cl_path, out_cl), ("o200k", o2_path, out_o2)):
        with open(out, "wb") as f:
            f.write(blob_of(path, name))


if __name__ == "__main__":
    main()
