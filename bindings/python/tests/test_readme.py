"""The README's Python example, taken from README.md and run as written (with
its input file), against the library of this build.  tests/wheel_install.py
runs it again from a fresh virtualenv with the package pip installed."""
import contextlib
import io
import os
import tempfile
import unittest

from .util import README_CHAT, check_readme_output, readme_python_example


class ReadmeTest(unittest.TestCase):
    def test_python_example_runs(self):
        example = readme_python_example()
        self.assertIn("import tokenomy", example)
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "chat.json"), "w") as f:
                f.write(README_CHAT)
            cwd = os.getcwd()
            out = io.StringIO()
            try:
                os.chdir(d)
                with contextlib.redirect_stdout(out):
                    exec(compile(example, "README.md", "exec"), {})
            finally:
                os.chdir(cwd)
        check_readme_output(self, out.getvalue())


if __name__ == "__main__":
    unittest.main()
