"""The package as documentation: every public class, function, method and
property has a docstring; every public class a repr of its own (not
object's); everything with close() is a context manager."""
import importlib
import inspect
import pkgutil
import unittest

import tokenomy


def public(name):
    return not name.startswith("_")


def modules():
    out = [tokenomy]
    for m in pkgutil.walk_packages(tokenomy.__path__, "tokenomy."):
        if not all(public(p) for p in m.name.split(".")[1:]):
            continue
        try:
            out.append(importlib.import_module(m.name))
        except ImportError as e:  # an integration whose framework is not installed
            if e.name and e.name.split(".")[0] in ("litellm", "langchain_core"):
                continue
            raise
    return out


def objects():
    """(qualified name, object, owning class or None) of the public API:
    what tokenomy exports, and what each public module defines."""
    seen = set()
    for mod in modules():
        for name, obj in vars(mod).items():
            if not public(name) or not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            where = getattr(obj, "__module__", "") or ""
            if not where.startswith("tokenomy") or (mod is not tokenomy and where != mod.__name__):
                continue
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            yield "%s.%s" % (where, obj.__qualname__), obj, None
            if inspect.isclass(obj):
                for mn, m in vars(obj).items():
                    if not public(mn):
                        continue
                    f = m.fget if isinstance(m, property) else getattr(m, "__func__", m)
                    if callable(f):
                        yield "%s.%s.%s" % (where, obj.__qualname__, mn), f, obj


class DocsTest(unittest.TestCase):
    def test_everything_public_is_documented(self):
        missing = []
        n = 0
        for name, obj, _ in objects():
            n += 1
            doc = obj.__dict__.get("__doc__") if inspect.isclass(obj) else obj.__doc__
            if not doc or not doc.strip():
                missing.append(name)
        self.assertGreater(n, 250)  # the walk reached the package
        self.assertEqual(missing, [], "no docstring: " + ", ".join(missing))

    def test_classes_have_reprs(self):
        bare = [name for name, obj, owner in objects()
                if owner is None and inspect.isclass(obj) and obj.__repr__ is object.__repr__]
        self.assertEqual(bare, [], "object's repr: " + ", ".join(bare))

    def test_closable_is_a_context_manager(self):
        bad = [name for name, obj, owner in objects()
               if owner is None and inspect.isclass(obj) and hasattr(obj, "close")
               and not (hasattr(obj, "__enter__") and hasattr(obj, "__exit__"))]
        self.assertEqual(bad, [])

    def test_reprs_say_what_and_state(self):
        tok = tokenomy.Tokenizer.estimator()
        self.assertIn("Tokenizer", repr(tok))
        tok.close()
        self.assertIn("closed", repr(tok))
        with tokenomy.Budget(hard_tokens=10) as b:
            r = b.reserve(1)
            self.assertIn("open", repr(r))
            r.release()
            self.assertIn("ended", repr(r))
        self.assertIn("input_tokens=3", repr(tokenomy.Usage(input_tokens=3)))


if __name__ == "__main__":
    unittest.main()
