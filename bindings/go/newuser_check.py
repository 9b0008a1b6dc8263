#!/usr/bin/env python3
"""A new Go user's first program, as the README tells it (meson test 'go-newuser').

    newuser_check.py BUILD_ROOT

Installs the library into a staging folder (as `make install` does; pkg-config
reads the staged tokenomy.pc through PKG_CONFIG_SYSROOT_DIR), then, in a fresh
folder outside the checkout with an empty GOPATH and build cache and no network
(GOPROXY=off), writes the README's Go example (`<!-- example: budget.go -->`)
as main.go and runs the README's module commands (`<!-- example: go-module.sh
-->`) as written with $TOKENOMY the checkout.  (An empty build cache also
because Go reuses a cached cgo package built against an earlier staging
folder's -L path.)  What they print must be the README's output for
the example (`<!-- example: budget.out -->`).  Skips (exit 77) without Go."""
import glob
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(SRC, "tests", "readme"))
from run_example import block  # noqa: E402  (the README's marked blocks)


def run(cmd, **kw):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    if p.returncode != 0:
        sys.exit("%s failed (%d):\n%s%s" % (" ".join(cmd), p.returncode, p.stdout, p.stderr))
    return p


def main():
    build = os.path.abspath(sys.argv[1])
    go = shutil.which("go")
    if not go:
        print("SKIP: no Go toolchain (apt-get install golang-go; .ci/setup does)")
        sys.exit(77)
    with open(os.path.join(SRC, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    program, commands = block(readme, "budget.go"), block(readme, "go-module.sh")
    want = block(readme, "budget.out")
    with tempfile.TemporaryDirectory() as tmp:
        stage, home, d = (os.path.join(tmp, n) for n in ("stage", "home", "myagent"))
        for p in (home, d):
            os.makedirs(p)
        if os.path.commonpath([d, SRC]) == SRC:
            sys.exit("the temporary folder %s is inside the checkout" % d)
        run(["meson", "install", "-C", build, "--no-rebuild", "--quiet", "--destdir", stage])
        pcs = glob.glob(os.path.join(stage, "**", "tokenomy.pc"), recursive=True)
        if not pcs:
            sys.exit("tokenomy.pc was not installed")
        pcdir = os.path.dirname(pcs[0])
        libdir = os.path.dirname(pcdir)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("GO") and k not in ("PKG_CONFIG_PATH", "LD_LIBRARY_PATH",
                                                        "CGO_CFLAGS", "CGO_LDFLAGS")}
        env.update(HOME=home, TOKENOMY=SRC, GOPATH=os.path.join(tmp, "gopath"),
                   GOCACHE=os.path.join(tmp, "gocache"), GOPROXY="off",
                   GOTOOLCHAIN="local", CGO_ENABLED="1",
                   PKG_CONFIG_SYSROOT_DIR=stage, PKG_CONFIG_PATH=pcdir,
                   LD_LIBRARY_PATH=libdir)  # what ldconfig does after `make install`
        with open(os.path.join(d, "main.go"), "w") as f:
            f.write(program)
        p = run(["sh", "-eu", "-c", commands], cwd=d, env=env)
        with open(os.path.join(d, "go.mod")) as f:
            mod = f.read()
    if p.stdout != want:
        sys.exit("the README's Go module commands printed:\n%s\nstderr:\n%s\nthe README says:\n%s"
                 % (p.stdout, p.stderr, want))
    print("go.mod the commands made:\n" + mod)
    print("a new module outside the checkout built the README's Go example against the "
          "installed library and printed what the README says:\n" + p.stdout)


if __name__ == "__main__":
    main()
