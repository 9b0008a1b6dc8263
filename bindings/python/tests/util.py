import os

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.environ.get("TKN_SOURCE_ROOT") or os.path.normpath(os.path.join(HERE, "..", "..", ".."))
INCLUDE = os.path.join(SOURCE_ROOT, "include")
PYROOT = os.path.join(SOURCE_ROOT, "bindings", "python")

CONV = ('[{"role":"system","content":"You are terse."},'
        '{"role":"user","content":"What is the weather in Paris?","name":"ann"},'
        '{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function",'
        '"function":{"name":"weather","arguments":"{\\"city\\":\\"Paris\\"}"}}]},'
        '{"role":"tool","tool_call_id":"call_1","content":"18C, cloudy"},'
        '{"role":"assistant","content":"18C and cloudy."}]')


def readme_python_example():
    """The first Python block of the README's Python section, as written."""
    import re
    with open(os.path.join(SOURCE_ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    section = text[text.index("### Python ("):]
    m = re.search(r"```python\n(.*?)```", section, re.S)
    if not m:
        raise AssertionError("README.md: no ```python block in the Python section")
    return m.group(1)


# the input file the README's example opens
README_CHAT = (
    '[{"role":"system","content":"Be brief."},'
    '{"role":"user","content":"Tell me about dragons, at length, with every detail."},'
    '{"role":"assistant","content":"Dragons are large mythical reptiles found in many '
    'cultures, often winged, sometimes wise, usually guarding treasure."},'
    '{"role":"user","content":"Where is my order 1234?"}]')


def check_readme_output(test, out):
    """What the README's example prints: the count and the pruning, then the
    budget's refusal (status 7, TKN_ERR_BUDGET)."""
    import re
    lines = out.splitlines()
    test.assertEqual(len(lines), 2, out)
    m = re.match(r"^(\d+) tokens, (\d+) after pruning; dropped \[(\d+(, \d+)*)\]$", lines[0])
    test.assertIsNotNone(m, lines[0])
    test.assertGreater(int(m.group(1)), 60)
    test.assertLessEqual(int(m.group(2)), 60)
    test.assertTrue(lines[1].startswith("7 "), lines[1])
