#!/usr/bin/env python3
"""The libcurl example host against a local mock of the Chat Completions API.

usage: test_openai_host.py PATH/TO/openai-host

The mock listens on 127.0.0.1 (an ephemeral port), checks the bearer token,
answers every POST /v1/chat/completions with a deterministic message and a
usage object whose cached_tokens count the prompt prefix it has seen before
(in 128-token steps from 1024 tokens, as OpenAI does, with 4 bytes a token),
and fails the first request whose last user message says RATE_LIMIT_ONCE with
HTTP 429.  Nothing leaves the machine.
"""
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

EXE = sys.argv[1]
KEY = "test-key-123"
seen_prefixes = []
requests = []
rate_limited = set()


def prompt_text(body):
    return json.dumps(body.get("tools", [])) + json.dumps(body["messages"])


class Mock(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, code, obj):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        if self.path != "/v1/chat/completions":
            return self.reply(404, {"error": {"message": "no such path"}})
        if self.headers.get("Authorization") != "Bearer " + KEY:
            return self.reply(401, {"error": {"message": "bad key"}})
        try:
            body = json.loads(raw)
        except ValueError:
            return self.reply(400, {"error": {"message": "body is not JSON"}})
        requests.append(body)
        last = body["messages"][-1]["content"]
        if isinstance(last, list):
            last = " ".join(p.get("text", "") for p in last)
        if "RATE_LIMIT_ONCE" in last and last not in rate_limited:
            rate_limited.add(last)
            return self.reply(429, {"error": {"message": "slow down", "type": "rate_limit"}})
        text = prompt_text(body)
        best = 0
        for p in seen_prefixes:
            n = 0
            while n < min(len(p), len(text)) and p[n] == text[n]:
                n += 1
            best = max(best, n)
        seen_prefixes.append(text)
        prompt_tokens = len(text) // 4
        cached = best // 4
        cached = 0 if cached < 1024 else (cached // 128) * 128
        answer = "mock answer to: " + last[:40]
        self.reply(200, {
            "id": "chatcmpl-mock", "object": "chat.completion", "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": answer}}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(answer) // 4,
                      "total_tokens": prompt_tokens + len(answer) // 4,
                      "prompt_tokens_details": {"cached_tokens": cached}}})


server = ThreadingHTTPServer(("127.0.0.1", 0), Mock)
threading.Thread(target=server.serve_forever, daemon=True).start()
port = server.server_address[1]
env = dict(os.environ, OPENAI_BASE_URL=f"http://127.0.0.1:{port}/v1", OPENAI_API_KEY=KEY,
           TOKENOMY_MODEL="gpt-4o-mini")
failures = []


def check(name, cond, detail=""):
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else " " + detail))
    if not cond:
        failures.append(name)


p = subprocess.run([EXE, "Where is my order?", "RATE_LIMIT_ONCE and when will it ship?"],
                   env=env, capture_output=True, text=True, timeout=60)
out = p.stdout
check("two turns answered", p.returncode == 0 and "turn 1: mock answer to: Where is my order?" in out
      and "turn 2: mock answer to: RATE_LIMIT_ONCE" in out, out + p.stderr)
lines = [l for l in out.splitlines() if l.strip().startswith("finish=")]
stats = [dict(kv.split("=") for kv in l.split() if "=" in kv) for l in lines]
check("usage read from the provider", len(stats) == 2 and int(stats[0]["input"]) > 1024, out)
check("the second turn reads the cached prefix", int(stats[1]["cached"]) >= 1024, out)
check("the rate limit is retried", stats[1]["calls"] == "2" and stats[1]["failed"] == "1", out)
check("costed from the price table", stats[0]["cost"] != "0.000000000000", out)
check("the request is the rendered OpenAI body", requests[0]["model"] == "gpt-4o-mini"
      and requests[0]["messages"][0]["role"] == "system"
      and requests[0]["max_completion_tokens"] == 300, json.dumps(requests[0])[:200])
check("the conversation carries the first answer",
      any(m["role"] == "assistant" for m in requests[-1]["messages"]))

bad = dict(env, OPENAI_API_KEY="wrong")
p = subprocess.run([EXE, "hello"], env=bad, capture_output=True, text=True, timeout=60)
check("a bad key is an auth failure, not retried", p.returncode == 1 and "finish=error" in p.stdout
      and "calls=1" in p.stdout, p.stdout + p.stderr)
nokey = dict(env)
del nokey["OPENAI_API_KEY"]
p = subprocess.run([EXE, "hello"], env=nokey, capture_output=True, text=True, timeout=60)
check("no key: one-line error", p.returncode == 1 and "OPENAI_API_KEY" in p.stderr)
server.shutdown()
sys.exit(1 if failures else 0)
