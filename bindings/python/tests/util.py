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
