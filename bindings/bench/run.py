#!/usr/bin/env python3
"""Per-call overhead of the bindings: the same work in C, Python and Go.

    python3 bindings/bench/run.py BUILD_DIR
    (or: meson test -C BUILD_DIR --benchmark --suite bench bindings -v)

Three operations, with the built-in estimator and with the exact cl100k_base
encoding, each timed by its own runner in its own language (process CPU
time, best of 5 interleaved rounds):
  count_short        tkn_tokenizer_count on a short string
  load_count_conv    a whole conversation crosses in one call: load the JSON
                     (which drops cached counts), then count every message
  count_conv_cached  recount the unchanged conversation (per-message cache)
The C runner (bench_c) calls the library directly; Python goes through
ctypes (tokenomy package), Go through cgo (bindings/go/bench).  The table
gives ns per operation, the ratio to C and the difference (the binding's
overhead per operation).  Inputs are generated here, deterministically.
Note: load_count_conv's difference is mostly not the binding: the same two
raw ctypes calls cost as much; the C work itself runs slower inside a Python
or Go process (allocator state, caches) than in the small C runner.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
ROUNDS = 5
TOKENIZERS = ("estimator", "cl100k_base")
SHORT = "Hello, world! How many tokens is this?"


def conversation(n=200):
    msgs = [{"role": "system", "content": "You are a support agent for an online bookshop."}]
    for i in range(n // 2):
        msgs.append({"role": "user", "content": "Order %d: where is my copy of volume %d? "
                     "It was due on the %dth and the tracking page says nothing." % (1000 + i, i, i % 28 + 1)})
        msgs.append({"role": "assistant", "content": "Your order %d left the warehouse yesterday; "
                     "expect it within %d days. Sorry for the wait." % (1000 + i, i % 5 + 1)})
    return json.dumps(msgs)


def parse(out):
    res = {}
    for line in out.splitlines():
        name, ns = line.split()
        res[name] = float(ns)
    return res


def bench_python(short, conv_json, tokenizer):
    import tokenomy
    tok = (tokenomy.Tokenizer.estimator() if tokenizer == "estimator"
           else tokenomy.Tokenizer.encoding(tokenizer))
    conv = tokenomy.Conversation()

    def count_short():
        tok.count(short)

    def load_count_conv():
        conv.load(conv_json)
        tok.count_conv(conv)

    def count_conv_cached():
        tok.count_conv(conv)

    res = {}
    for name, op in (("count_short", count_short), ("load_count_conv", load_count_conv),
                     ("count_conv_cached", count_conv_cached)):
        iters = 1
        while True:
            t0 = time.process_time()
            for _ in range(iters):
                op()
            if time.process_time() - t0 > 0.1:
                break
            iters *= 2
        best = 1e30
        for _ in range(5):
            t0 = time.process_time()
            for _ in range(iters):
                op()
            best = min(best, (time.process_time() - t0) * 1e9 / iters)
        res[name] = best
    return res


def go_runner(build):
    """Build the Go runner once; None and the reason if Go is missing."""
    if not shutil.which("go"):
        return None, "go not found"
    env = dict(os.environ)
    env.update(PKG_CONFIG_PATH=os.path.join(build, "meson-uninstalled"),
               LD_LIBRARY_PATH=build + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else ""),
               GOCACHE=os.path.join(build, "go", "cache"), GOPATH=os.path.join(build, "go", "path"),
               GOPROXY="off", GOFLAGS="-mod=mod", CGO_ENABLED="1")
    exe = os.path.join(build, "go", "tokenomy-bench")
    subprocess.check_call(["go", "build", "-o", exe, "./bench"], cwd=os.path.join(SOURCE, "bindings", "go"),
                          env=env)
    return (lambda args: parse(subprocess.check_output([exe] + args, env=env).decode())), None


def best(a, b):
    return b if a is None else {k: min(a[k], b[k]) for k in a}


def main():
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(SOURCE, "build"))
    lib = os.path.join(build, "libtokenomy.so")
    os.environ.setdefault("TOKENOMY_LIBRARY", lib)
    sys.path.insert(0, os.path.join(SOURCE, "bindings", "python"))
    sys.dont_write_bytecode = True
    conv_json = conversation()
    results = []
    with tempfile.TemporaryDirectory() as d:
        files = [os.path.join(d, "short.txt"), os.path.join(d, "conv.json")]
        for path, data in zip(files, (SHORT, conv_json)):
            with open(path, "w") as f:
                f.write(data)
        run_go, why = go_runner(build)
        for tokenizer in TOKENIZERS:
            c = py = go = None
            # rounds interleave the languages, so a busy machine slows each
            # alike; each figure is the best over the rounds
            for _ in range(ROUNDS):
                c = best(c, parse(subprocess.check_output(
                    [os.path.join(build, "bindings", "bench", "bench_c")] + files + [tokenizer]).decode()))
                py = best(py, bench_python(SHORT, conv_json, tokenizer))
                if run_go:
                    go = best(go, run_go(files + [tokenizer]))
            results.append((tokenizer, c, py, go))
    print("bindings benchmark: the same work in C, Python (ctypes) and Go (cgo), CPU ns per operation")
    print("inputs: short text %r (%d bytes); conversation of %d messages, %d bytes of OpenAI JSON;"
          % (SHORT, len(SHORT.encode()), len(json.loads(conv_json)), len(conv_json.encode())))
    print("        process CPU time (a busy machine's waits do not count), best of %d"
          " interleaved rounds of 5 runs of ~0.1 s;" % ROUNDS)
    print("        load average when done: %.2f on %d CPUs" % (os.getloadavg()[0], os.cpu_count() or 1))
    print("rerun:  meson test -C %s --benchmark --suite bench bindings -v" % os.path.relpath(build, SOURCE))
    print("        (or python3 bindings/bench/run.py BUILD_DIR)")
    print()
    head = "%-30s %11s | %11s %8s %11s | %11s %8s %11s" % (
        "operation [tokenizer]", "C ns/op", "Python", "x C", "+ns/op", "Go", "x C", "+ns/op")
    print(head)
    print("-" * len(head))
    for tokenizer, c, py, go in results:
        for name in ("count_short", "load_count_conv", "count_conv_cached"):
            row = "%-30s %11.1f | %11.1f %7.2fx %+11.1f" % (
                "%s [%s]" % (name, tokenizer), c[name], py[name], py[name] / c[name],
                py[name] - c[name])
            if go:
                row += " | %11.1f %7.2fx %+11.1f" % (go[name], go[name] / c[name], go[name] - c[name])
            else:
                row += " | (Go skipped: %s)" % why
            print(row)

if __name__ == "__main__":
    main()
