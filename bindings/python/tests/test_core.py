import ctypes
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import tokenomy
from tokenomy import _ffi, ffi, lib

from .util import INCLUDE, PYROOT

sys.path.insert(0, PYROOT)
import gen_ffi  # noqa: E402


class LibraryTest(unittest.TestCase):
    def test_loaded_library_reports_its_version(self):
        self.assertEqual(tokenomy.version(), lib.tkn_version_string().decode())
        self.assertEqual(tokenomy.version_number(), ffi.TKN_VERSION_NUMBER)

    def test_a_library_of_another_abi_is_refused_at_import(self):
        from tokenomy import _core
        _core.check_version(ffi.TKN_VERSION_NUMBER)  # the loaded one passes
        _core.check_version(ffi.TKN_VERSION_NUMBER - ffi.TKN_VERSION_PATCH + 9)  # a patch
        for other, word in ((ffi.TKN_VERSION_NUMBER + 10000, "newer"),
                            (ffi.TKN_VERSION_NUMBER - 100, "older"),  # 0.1 before 0.2
                            (ffi.TKN_VERSION_NUMBER + 100, "newer")):
            with self.assertRaises(ImportError) as cm:
                _core.check_version(other, "at /x")
            msg = str(cm.exception)
            self.assertIn("%d.%d.x" % (ffi.TKN_VERSION_MAJOR, ffi.TKN_VERSION_MINOR), msg)
            self.assertIn(word + " library", msg)
            self.assertIn("at /x", msg)

    def test_generated_declarations_match_the_headers(self):
        # a header change without `python3 gen_ffi.py` fails here
        with open(_ffi.__file__) as f:
            self.assertEqual(f.read(), gen_ffi.generate(INCLUDE))

    def test_every_header_function_is_bound_in_the_loaded_library(self):
        self.assertEqual(lib.missing, [])
        for name in _ffi.FUNCTIONS:
            self.assertTrue(callable(getattr(lib, name)), name)

    def test_raw_api_is_reachable(self):
        out = ctypes.c_void_p()
        self.assertEqual(lib.tkn_tokenizer_new_estimator(ctypes.byref(out)), 0)
        n = ctypes.c_int64()
        self.assertEqual(lib.tkn_tokenizer_count(out, b"hello", 5, ctypes.byref(n)), 0)
        self.assertGreater(n.value, 0)
        lib.tkn_tokenizer_free(out)

    @unittest.skipUnless(shutil.which("cc"), "no C compiler to read the C struct layout")
    def test_struct_layouts_match_the_c_compiler(self):
        structs = [n for n in dir(_ffi) if n.startswith("tkn_") and isinstance(getattr(_ffi, n), type)
                   and issubclass(getattr(_ffi, n), ctypes.Structure)]
        src = ['#include <stdio.h>', '#include <stddef.h>', '#include "tokenomy.h"',
               '#include "tokenomy-redis/redis.h"', 'int main(void) {']
        expect = []
        for s in structs:
            t = getattr(_ffi, s)
            src.append('printf("%%zu\\n", sizeof(%s));' % s)
            expect.append(("sizeof " + s, ctypes.sizeof(t)))
            for f, _ in t._fields_:
                src.append('printf("%%zu\\n", offsetof(%s, %s));' % (s, f))
                expect.append(("%s.%s" % (s, f), getattr(t, f).offset))
        src.append("return 0; }")
        with tempfile.TemporaryDirectory() as d:
            c = os.path.join(d, "layout.c")
            with open(c, "w") as fh:
                fh.write("\n".join(src))
            exe = os.path.join(d, "layout")
            subprocess.check_call(["cc", "-std=c11", "-I", INCLUDE, c, "-o", exe])
            got = [int(x) for x in subprocess.check_output([exe]).split()]
        self.assertEqual(len(got), len(expect))
        for (what, want), have in zip(expect, got):
            self.assertEqual(want, have, what)


class ErrorTest(unittest.TestCase):
    def test_each_status_has_its_own_exception_class(self):
        for code in range(1, ffi.TKN_ERR__COUNT):
            err = tokenomy.error_for(code, "detail")
            self.assertIsInstance(err, tokenomy.TokenomyError)
            self.assertEqual(err.status, code)
            self.assertEqual(err.message, "detail")
        classes = {type(tokenomy.error_for(c)) for c in range(1, ffi.TKN_ERR__COUNT)}
        self.assertEqual(len(classes), ffi.TKN_ERR__COUNT - 1)

    def test_errors_also_are_the_matching_builtin(self):
        self.assertTrue(issubclass(tokenomy.InvalidError, ValueError))
        self.assertTrue(issubclass(tokenomy.NotFoundError, LookupError))
        self.assertTrue(issubclass(tokenomy.NoMemoryError, MemoryError))

    def test_message_without_detail_is_the_status_text(self):
        err = tokenomy.error_for(ffi.TKN_ERR_PARSE)
        self.assertEqual(err.message, tokenomy.strerror(ffi.TKN_ERR_PARSE))
        self.assertIn("TKN_ERR_PARSE", str(err))

    def test_a_failed_call_raises_with_the_last_error_message_and_offset(self):
        with self.assertRaises(tokenomy.ParseError) as cm:
            tokenomy.Conversation('[{"role":"user","content":"x"} x]')
        self.assertEqual(cm.exception.status, ffi.TKN_ERR_PARSE)
        self.assertIn("line 1", cm.exception.message)
        self.assertEqual(cm.exception.offset, 31)  # the x

    def test_an_invalid_document_names_its_json_path(self):
        s = tokenomy.Schema('{"properties":{"a":{"type":"string"}}}')
        with self.assertRaises(tokenomy.SchemaError) as cm:
            s.check('{"a": 1}')
        self.assertEqual(cm.exception.path, "$.a")
        self.assertIn("type", cm.exception.message)

    def test_threads_sharing_a_budget_each_get_their_own_message(self):
        import threading
        b = tokenomy.Budget(hard_tokens=10)
        wrong = []

        def fail(negative):
            for _ in range(300):
                try:
                    b.charge(input_tokens=-5 if negative else 1000)
                except tokenomy.TokenomyError as e:
                    want = "negative amount" if negative else "hard token limit"
                    if want not in e.message:
                        wrong.append(e.message)
        ts = [threading.Thread(target=fail, args=(n,)) for n in (True, False)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.assertEqual(wrong, [])


if __name__ == "__main__":
    unittest.main()


class PackagingTest(unittest.TestCase):
    def test_pip_installs_offline_and_the_installed_package_works(self):
        if subprocess.call([sys.executable, "-m", "pip", "--version"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL) != 0:
            self.skipTest("pip is not installed for %s" % sys.executable)
        with tempfile.TemporaryDirectory() as d:
            target = os.path.join(d, "site")
            subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", "--no-index",
                                   "--no-cache-dir", "--disable-pip-version-check",
                                   "--target", target, PYROOT])
            self.assertTrue(os.path.exists(os.path.join(target, "tokenomy", "py.typed")))
            env = dict(os.environ, PYTHONPATH=target, PYTHONDONTWRITEBYTECODE="1")
            out = subprocess.check_output(
                [sys.executable, "-c", "import tokenomy; print(tokenomy.__file__); "
                 "print(tokenomy.Tokenizer.estimator().count('hello world'))"], env=env, cwd=d)
            path, count = out.decode().split()
            self.assertTrue(path.startswith(target))
            self.assertGreater(int(count), 0)
