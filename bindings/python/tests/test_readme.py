"""The README's Python example, run as written (with its input file)."""
import os
import tempfile
import unittest

EXAMPLE = '''
import tokenomy

tok = tokenomy.Tokenizer.estimator()        # or an exact encoding, when built in
with tokenomy.Conversation(open("chat.json").read()) as conv:  # one call, whole input
    total = tok.count_conv(conv)
    report = tokenomy.Pruner(tok).run(conv, max_tokens=60, mode="score",
                                      keep_last_turns=1)
    print(total, "->", report.tokens_after, "tokens; dropped", report.dropped)

words = tokenomy.Tokenizer.from_callback(lambda text: len(text.split()))
budget = tokenomy.Budget(hard_tokens=100, on_limit=lambda level, dim: print(level, dim))
try:
    budget.reserve(input_tokens=words.count("a b c " * 50))
except tokenomy.BudgetError as e:
    print(e.status, e.message)
'''

CHAT = ('[{"role":"system","content":"Be brief."},'
        '{"role":"user","content":"Tell me about dragons, at length, with every detail."},'
        '{"role":"assistant","content":"Dragons are large mythical reptiles found in many '
        'cultures, often winged, sometimes wise, usually guarding treasure."},'
        '{"role":"user","content":"Where is my order 1234?"}]')


class ReadmeTest(unittest.TestCase):
    def test_python_example_runs(self):
        import contextlib
        import io
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "chat.json"), "w") as f:
                f.write(CHAT)
            cwd = os.getcwd()
            out = io.StringIO()
            try:
                os.chdir(d)
                with contextlib.redirect_stdout(out):
                    exec(compile(EXAMPLE, "README", "exec"), {})
            finally:
                os.chdir(cwd)
        lines = out.getvalue().splitlines()
        before, _, after = lines[0].split()[:3]
        self.assertLessEqual(int(after), 60)
        self.assertGreater(int(before), 60)
        self.assertIn("dropped [1", lines[0])
        self.assertTrue(lines[1].startswith("7 "), lines)  # TKN_ERR_BUDGET


if __name__ == "__main__":
    unittest.main()
