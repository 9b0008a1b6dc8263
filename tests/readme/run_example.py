#!/usr/bin/env python3
"""Run one of the README's examples exactly as written and compare what it
prints with the output the README shows beside it.

    run_example.py NAME LANG BUILD_ROOT [CC...]

The README marks an example with an HTML comment on the line before its fenced
block, `<!-- example: NAME.LANG -->` (LANG: c, py, go), and the output it
prints with `<!-- example: NAME.out -->` before a ```text block.  The C
example is compiled with CC against the library built in BUILD_ROOT, the
Python one runs with the binding in the source tree, the Go one as a program
of its own module that uses bindings/go (skipped, exit 77, without Go)."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.normpath(os.path.join(HERE, "..", ".."))


def block(readme: str, tag: str) -> str:
    m = re.search(r"<!-- example: %s -->\n```[a-z]*\n(.*?)^```" % re.escape(tag), readme,
                  re.S | re.M)
    if not m:
        sys.exit("README.md has no block marked <!-- example: %s -->" % tag)
    return m.group(1)


def run(cmd, **kw) -> str:
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    if p.returncode != 0:
        sys.exit("%s failed (%d):\n%s%s" % (" ".join(cmd), p.returncode, p.stdout, p.stderr))
    return p.stdout


def main() -> None:
    name, lang, build = sys.argv[1], sys.argv[2], os.path.abspath(sys.argv[3])
    cc = sys.argv[4:] or ["cc"]
    with open(os.path.join(SRC, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    code, want = block(readme, "%s.%s" % (name, lang)), block(readme, name + ".out")
    env = dict(os.environ, LD_LIBRARY_PATH=build)
    with tempfile.TemporaryDirectory() as d:
        if lang == "c":
            path, exe = os.path.join(d, name + ".c"), os.path.join(d, name)
            with open(path, "w") as f:
                f.write(code)
            run(cc + ["-std=c11", "-Wall", "-Werror", "-I", os.path.join(SRC, "include"), path,
                      "-L", build, "-ltokenomy", "-Wl,-rpath," + build, "-o", exe])
            got = run([exe], env=env)
        elif lang == "py":
            path = os.path.join(d, name + ".py")
            with open(path, "w") as f:
                f.write(code)
            env.update(PYTHONPATH=os.path.join(SRC, "bindings", "python"),
                       TOKENOMY_LIBRARY=os.path.join(build, "libtokenomy.so"),
                       PYTHONDONTWRITEBYTECODE="1")
            got = run([sys.executable, path], env=env, cwd=d)
        elif lang == "go":
            if not shutil.which("go"):
                print("SKIP: no Go toolchain (apt-get install golang-go; .ci/setup does)")
                sys.exit(77)
            with open(os.path.join(d, "main.go"), "w") as f:
                f.write(code)
            with open(os.path.join(d, "go.mod"), "w") as f:
                mod = "github.com/tokenomy/tokenomy/bindings/go"
                f.write("module readme\n\ngo 1.19\n\nrequire %s v0.0.0\n\nreplace %s => %s\n"
                        % (mod, mod, os.path.join(SRC, "bindings", "go")))
            # the Go binding test's caches (bindings/go/run-tests.sh): built once
            env.update(PKG_CONFIG_PATH=os.path.join(build, "meson-uninstalled"),
                       GOCACHE=os.path.join(build, "go", "cache"),
                       GOPATH=os.path.join(build, "go", "path"),
                       GOFLAGS="-mod=mod", GO111MODULE="on", GOPROXY="off", CGO_ENABLED="1")
            got = run(["go", "run", "."], env=env, cwd=d)
        else:
            sys.exit("unknown language " + lang)
    if got != want:
        sys.exit("README example %s.%s printed:\n%s\nthe README says:\n%s" % (name, lang, got,
                                                                            want))
    print("README example %s.%s printed what the README says:\n%s" % (name, lang, got))


if __name__ == "__main__":
    main()
