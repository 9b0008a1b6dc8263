#!/usr/bin/env python3
"""The package as a user installs it (meson test `python-wheel`).

1. a fresh virtualenv, `pip install SOURCE/bindings/python`;
2. `pip wheel` of the same folder, and that wheel installed into a second
   fresh virtualenv;
3. `python -m build --sdist` of the folder (build from PyPI, pinned), the
   sdist unpacked elsewhere, `pip wheel` of the unpacked sdist alone (it
   carries the C sources) and that wheel installed into a fresh virtualenv;
each then runs the README's Python example, taken from README.md as written,
in an empty folder holding its chat.json, with an environment that names no
library (no TOKENOMY_LIBRARY, LD_LIBRARY_PATH or PYTHONPATH), and checks that
the library loaded is the one inside the installed package, with the
libraries it bundles (not the system's).  pip may reach PyPI for meson and
ninja when the system has none.  usage: wheel_install.py [WORKDIR]
"""
import glob
import os
import subprocess
import sys
import tarfile
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import util  # noqa: E402

PKG = os.path.join(util.SOURCE_ROOT, "bindings", "python")
CLEAN = {k: v for k, v in os.environ.items()
         if k not in ("TOKENOMY_LIBRARY", "TOKENOMY_REDIS_LIBRARY", "LD_LIBRARY_PATH",
                      "PYTHONPATH", "PYTHONHOME", "LD_PRELOAD", "TOKENOMY_WHEEL_PURE")}
CLEAN["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"

# after the example: where the library and its dependencies came from
PROBE = r'''
import os, tokenomy, tokenomy._core as core
pkg = os.path.dirname(tokenomy.__file__)
maps = open("/proc/self/maps").read()
print("PKG", pkg)
print("LIB", tokenomy.library_path)
for name in ("libtokenomy.so.1", "libcjson.so.1", "libutf8proc.so.2", "libpcre2-8.so.0"):
    paths = sorted({l.split()[-1] for l in maps.splitlines() if l.endswith("/" + name)})
    print("MAP", name, " ".join(paths))
'''


def run(cmd, cwd=None):
    r = subprocess.run(cmd, cwd=cwd, env=CLEAN, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, universal_newlines=True)
    if r.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s" % (" ".join(cmd), r.returncode,
                                                      r.stdout[-6000:]))
    return r.stdout


class WheelTest(unittest.TestCase):
    work = None

    def venv(self, name):
        d = os.path.join(self.work, name)
        run([sys.executable, "-m", "venv", d])
        return os.path.join(d, "bin", "python")

    def check_installed(self, py):
        example = util.readme_python_example()
        d = tempfile.mkdtemp(dir=self.work)
        with open(os.path.join(d, "chat.json"), "w") as f:
            f.write(util.README_CHAT)
        with open(os.path.join(d, "example.py"), "w") as f:
            f.write(example)
        util.check_readme_output(self, run([py, "example.py"], cwd=d))
        out = run([py, "-c", PROBE], cwd=d)
        rows = dict(line.split(" ", 1) for line in out.splitlines() if " " in line)
        pkg = rows["PKG"]
        self.assertTrue(pkg.startswith(os.path.dirname(os.path.dirname(py))), pkg)
        self.assertEqual(rows["LIB"], os.path.join(pkg, "_lib", "libtokenomy.so.1"))
        for line in out.splitlines():
            if line.startswith("MAP "):
                _, name, paths = (line.split(" ", 2) + [""])[:3]
                self.assertEqual(paths, os.path.join(pkg, "_lib", name),
                                 "%s loaded from %r, not the package" % (name, paths))

    def test_pip_install_the_folder(self):
        py = self.venv("venv-dir")
        run([py, "-m", "pip", "install", "--quiet", PKG])
        self.check_installed(py)

    def test_pip_install_a_built_wheel(self):
        wheels = os.path.join(self.work, "wheels")
        py = self.venv("venv-wheel")
        run([py, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", wheels, PKG])
        built = glob.glob(os.path.join(wheels, "tokenomy-*.whl"))
        self.assertEqual(len(built), 1, built)
        self.assertNotIn("-none-any", built[0])  # platform-specific: it carries the library
        py2 = self.venv("venv-wheel-2")
        run([py2, "-m", "pip", "install", "--quiet", built[0]])
        self.check_installed(py2)

    def test_sdist_builds_a_wheel(self):
        out = os.path.join(self.work, "sdist")
        py = self.venv("venv-build")
        run([py, "-m", "pip", "install", "--quiet", "build==1.6.1"])
        run([py, "-m", "build", "--sdist", "--outdir", out, PKG])
        sdists = glob.glob(os.path.join(out, "tokenomy-*.tar.gz"))
        self.assertEqual(len(sdists), 1, sdists)
        unpacked = os.path.join(self.work, "unpacked")
        with tarfile.open(sdists[0]) as t:
            names = t.getnames()
            t.extractall(unpacked)
        top = names[0].split("/")[0]
        self.assertIn(top + "/_source/include/tokenomy.h", names)
        self.assertFalse([n for n in names if "__pycache__" in n or n.endswith(".o")])
        wheels = os.path.join(self.work, "sdist-wheels")
        run([py, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", wheels,
             os.path.join(unpacked, top)])
        built = glob.glob(os.path.join(wheels, "tokenomy-*.whl"))
        self.assertEqual(len(built), 1, built)
        self.assertNotIn("-none-any", built[0])
        py2 = self.venv("venv-sdist-wheel")
        run([py2, "-m", "pip", "install", "--quiet", built[0]])
        self.check_installed(py2)


def main():
    with tempfile.TemporaryDirectory(prefix="tokenomy-wheel-test-",
                                     dir=sys.argv[1] if len(sys.argv) > 1 else None) as work:
        WheelTest.work = work
        prog = unittest.main(argv=[sys.argv[0], "-v"], exit=False)
        sys.exit(0 if prog.result.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
