"""A PEP 517 build backend in the standard library alone.

The package is pure Python over ctypes, so building it is zipping files: this
backend does that, with nothing to download (pip's isolated build needs no
setuptools or wheel from an index) and nothing written to the source tree.
`pip install bindings/python` therefore works offline on any Python >= 3.8.
Metadata comes from [project] in pyproject.toml (name, version, description,
requires-python).
"""
import base64
import hashlib
import io
import os
import re
import tarfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "tokenomy"


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
    name = "%s-py3-none-any.whl" % dist
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
        add(info + "/METADATA", _metadata(meta).encode())
        add(info + "/WHEEL", b"Wheel-Version: 1.0\nGenerator: tokenomy_build\n"
            b"Root-Is-Purelib: true\nTag: py3-none-any\n")
        add(info + "/top_level.txt", (PACKAGE + "\n").encode())
        records.append(info + "/RECORD,,")
        z.writestr(zipfile.ZipInfo(info + "/RECORD", (1980, 1, 1, 0, 0, 0)),
                   "\n".join(records) + "\n")
    return name


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return _wheel(wheel_directory, editable=False)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    return _wheel(wheel_directory, editable=True)


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
        data = _metadata(meta).encode()
        ti = tarfile.TarInfo("%s/PKG-INFO" % dist)
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
    return name
