"""A PEP 517 build backend in the standard library alone.

A wheel carries the C library: building one runs the project's own meson
build (`meson setup` + `meson compile` of the shared library only, in a
temporary folder) over the source tree this package sits in, and puts
libtokenomy.so.1 in tokenomy/_lib/, with the shared libraries it needs that
are not part of the C runtime (libcjson, libutf8proc, libpcre2-8), so that
`pip install bindings/python`, or the wheel it builds, imports on a machine
where nothing else is installed.  The binding loads those first
(tokenomy/_core.py).  meson and ninja are taken from the system when present
(offline), else pip installs them from PyPI into its isolated build
environment (get_requires_for_build_wheel).  A C compiler and the three
libraries' development files are needed to build, as for the library itself.
The rank files the library embeds come from .cache/ranks when the source tree
has them, else src/tokenizer/fetch-ranks.sh fetches them into the temporary
folder.  Set TOKENOMY_WHEEL_PURE=1 to build the former pure-Python wheel (the
library then comes from $TOKENOMY_LIBRARY or the system).  Nothing is written
to the source tree; editable installs point at it and load the library as the
pure wheel does.
Metadata comes from [project] in pyproject.toml (name, version, description,
requires-python).

The sdist (`python -m build --sdist bindings/python`) is self-contained: it
carries the C sources the library is built from (the top meson.build and
meson_options.txt, include/, src/, pkgconfig/, examples/, LICENSE) and the
two verified rank files, under _source/, so a wheel builds from the unpacked
sdist alone, offline but for meson and ninja when the system lacks them.
"""
import base64
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# the tokenomy checkout this folder sits in, else the sources an sdist carries
SOURCE = os.path.dirname(os.path.dirname(ROOT))
if not os.path.isfile(os.path.join(SOURCE, "include", "tokenomy.h")):
    SOURCE = os.path.join(ROOT, "_source")
# what of the checkout an sdist carries to build the library
SDIST_SOURCE = ("meson.build", "meson_options.txt", "LICENSE", "include", "src", "pkgconfig",
                "examples", ".cache/ranks/cl100k_base.tiktoken",
                ".cache/ranks/o200k_base.tiktoken")
PACKAGE = "tokenomy"
LIBDIR = PACKAGE + "/_lib"
# what every Linux system has: never bundled
SYSTEM_LIBS = ("linux-vdso", "libc.so", "libm.so", "libpthread.so", "libdl.so", "librt.so",
               "ld-linux", "libgcc_s.so")


def _pure():
    return os.environ.get("TOKENOMY_WHEEL_PURE") == "1"


def _log(msg):
    sys.stderr.write("tokenomy_build: %s\n" % msg)


def _meson_cmd():
    exe = shutil.which("meson")
    return [exe] if exe else [sys.executable, "-m", "mesonbuild.mesonmain"]


def _run(cmd, **kw):
    _log(" ".join(cmd))
    subprocess.run(cmd, check=True, stdout=sys.stderr, **kw)


def _native(tmp):
    """Build libtokenomy in tmp; [(arcname, bytes)] of the files to bundle."""
    if not os.path.isfile(os.path.join(SOURCE, "meson.build")) or not os.path.isfile(
            os.path.join(SOURCE, "include", "tokenomy.h")):
        raise RuntimeError("tokenomy_build: no tokenomy source tree around %s to build the C "
                           "library from (set TOKENOMY_WHEEL_PURE=1 for a wheel without it)"
                           % ROOT)
    ranks = os.path.join(SOURCE, ".cache", "ranks")
    if not all(os.path.isfile(os.path.join(ranks, n))
               for n in ("cl100k_base.tiktoken", "o200k_base.tiktoken")):
        ranks = os.path.join(tmp, "ranks")
        _run(["sh", os.path.join(SOURCE, "src", "tokenizer", "fetch-ranks.sh"), ranks])
    build = os.path.join(tmp, "build")
    _run(_meson_cmd() + ["setup", build, SOURCE, "-Dtests=false", "-Dbuildtype=release",
                         "-Db_ndebug=if-release", "-Ddefault_library=shared",
                         "-Dranks_dir=" + ranks])
    _run(_meson_cmd() + ["compile", "-C", build, "tokenomy:shared_library"])
    lib = os.path.join(build, "libtokenomy.so.1")
    if not os.path.exists(lib):
        raise RuntimeError("tokenomy_build: the build made no libtokenomy.so.1")
    files = [(LIBDIR + "/libtokenomy.so.1", lib)]
    out = subprocess.run(["ldd", lib], check=True, stdout=subprocess.PIPE,
                         universal_newlines=True).stdout
    for line in out.splitlines():
        m = re.match(r"\s*(\S+) => (/\S+)", line)
        if m and not m.group(1).startswith(SYSTEM_LIBS):
            files.append((LIBDIR + "/" + m.group(1), m.group(2)))
    data = []
    for arc, path in files:
        with open(os.path.realpath(path), "rb") as f:
            data.append((arc, f.read()))
    # the order the binding loads them in: dependencies first
    order = "\n".join(a.rsplit("/", 1)[1] for a, _ in reversed(files)) + "\n"
    data.append((LIBDIR + "/ORDER", order.encode()))
    return data


def _tag():
    plat = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    return "py3-none-" + plat


def _project():
    with open(os.path.join(ROOT, "pyproject.toml"), encoding="utf-8") as f:
        text = f.read()
    section = text.split("[project]", 1)[1].split("\n[", 1)[0]
    meta = {}
    for key in ("name", "version", "description", "requires-python"):
        m = re.search(r'^%s\s*=\s*"([^"]*)"' % re.escape(key), section, re.M)
        if m:
            meta[key] = m.group(1)
    return meta


def _files():
    base = os.path.join(ROOT, PACKAGE)
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for fn in sorted(filenames):
            if fn.endswith((".py", ".typed")):
                full = os.path.join(dirpath, fn)
                yield full, os.path.relpath(full, ROOT).replace(os.sep, "/")


def _metadata(meta):
    lines = ["Metadata-Version: 2.1", "Name: %s" % meta["name"], "Version: %s" % meta["version"]]
    if "description" in meta:
        lines.append("Summary: %s" % meta["description"])
    if "requires-python" in meta:
        lines.append("Requires-Python: %s" % meta["requires-python"])
    lines.append("License: MIT")
    return "\n".join(lines) + "\n"


def _record_line(arcname, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "%s,sha256=%s,%d" % (arcname, digest, len(data))


def _wheel(wheel_directory, editable):
    meta = _project()
    dist = "%s-%s" % (meta["name"], meta["version"])
    native = not editable and not _pure()
    tag = _tag() if native else "py3-none-any"
    name = "%s-%s.whl" % (dist, tag)
    info = "%s.dist-info" % dist
    records = []
    path = os.path.join(wheel_directory, name)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        def add(arcname, data):
            z.writestr(zipfile.ZipInfo(arcname, (1980, 1, 1, 0, 0, 0)), data)
            records.append(_record_line(arcname, data))
        if editable:
            add("%s.pth" % PACKAGE, (ROOT + "\n").encode())
        else:
            for full, arc in _files():
                with open(full, "rb") as f:
                    add(arc, f.read())
        if native:
            with tempfile.TemporaryDirectory(prefix="tokenomy-wheel-") as tmp:
                for arc, data in _native(tmp):
                    add(arc, data)
        add(info + "/METADATA", _metadata(meta).encode())
        add(info + "/WHEEL", ("Wheel-Version: 1.0\nGenerator: tokenomy_build\n"
                              "Root-Is-Purelib: %s\nTag: %s\n"
                              % ("false" if native else "true", tag)).encode())
        add(info + "/top_level.txt", (PACKAGE + "\n").encode())
        records.append(info + "/RECORD,,")
        z.writestr(zipfile.ZipInfo(info + "/RECORD", (1980, 1, 1, 0, 0, 0)),
                   "\n".join(records) + "\n")
    return name


def get_requires_for_build_wheel(config_settings=None):
    if _pure():
        return []
    need = []
    if not shutil.which("meson"):
        need.append("meson>=0.63")
    if not shutil.which("ninja"):
        need.append("ninja")
    return need


def get_requires_for_build_sdist(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return _wheel(wheel_directory, editable=False)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    return _wheel(wheel_directory, editable=True)


def _source_filter(ti):
    """No build products or caches in the sdist's sources."""
    base = os.path.basename(ti.name)
    if base in ("__pycache__", ".git") or base.endswith((".pyc", ".o")):
        return None
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = ""
    return ti


def build_sdist(sdist_directory, config_settings=None):
    meta = _project()
    dist = "%s-%s" % (meta["name"], meta["version"])
    name = dist + ".tar.gz"
    with tarfile.open(os.path.join(sdist_directory, name), "w:gz") as t:
        extra = ["pyproject.toml", "README.md", "_backend/tokenomy_build.py"]
        for rel in extra:
            t.add(os.path.join(ROOT, rel), arcname="%s/%s" % (dist, rel))
        for full, arc in _files():
            t.add(full, arcname="%s/%s" % (dist, arc))
        if not _pure():
            for rel in SDIST_SOURCE:
                full = os.path.join(SOURCE, rel)
                if not os.path.exists(full):
                    if rel.startswith(".cache/ranks/"):
                        continue  # a wheel built from the sdist fetches them then
                    raise RuntimeError("tokenomy_build: %s missing for the sdist" % full)
                t.add(full, arcname="%s/_source/%s" % (dist, rel), filter=_source_filter)
        data = _metadata(meta).encode()
        ti = tarfile.TarInfo("%s/PKG-INFO" % dist)
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
    return name
