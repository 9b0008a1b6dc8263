#!/usr/bin/env python3
"""Regenerate mcp-servers.json: the tool definitions of the MCP servers pinned
in package.json / package-lock.json (npm packages, MIT), as OpenAI function
tools, each name prefixed "mcp__SERVER__" as MCP clients do (two servers may
have tools of the same name).

Each server is installed with `npm ci` (the lock file's integrity hashes
checked) into a temporary folder, started over stdio, and asked for its tools
(MCP initialize, then tools/list); a tool becomes {"type": "function",
"function": {"name", "description", "parameters": its inputSchema}}.  The
credentials the servers want at start are dummies: listing tools calls no API.
The client declares the "roots" capability only (the everything server adds a
tool per capability).  The result must match the sha256 in mcp-servers.sha256.

usage: gen-mcp-tools.py [--check]
  --check   regenerate into a temporary file and compare with the committed
            mcp-servers.json (exit 1 on any difference); nothing is written
"""
import hashlib
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# The catalogue order: servers an agent plausibly adds one after another, so a
# prefix of the file is a realistic smaller catalogue (tokenomy replay
# --extra-tools FILE --catalogue-sizes ...).
SERVERS = ["filesystem", "memory", "github", "slack", "google-maps", "brave-search", "gitlab",
           "everything", "sequential-thinking"]
DUMMY_ENV = {"GITHUB_PERSONAL_ACCESS_TOKEN": "unused", "GITLAB_PERSONAL_ACCESS_TOKEN": "unused",
             "SLACK_BOT_TOKEN": "unused", "SLACK_TEAM_ID": "unused",
             "GOOGLE_MAPS_API_KEY": "unused", "BRAVE_API_KEY": "unused"}


def fail(msg):
    sys.exit("gen-mcp-tools: " + msg)


def rpc_tools(cmd, cwd, env):
    """Start one server, initialise it, and return its tools/list result."""
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, cwd=cwd, env=env)

    def send(msg):
        p.stdin.write((json.dumps(msg) + "\n").encode())
        p.stdin.flush()

    def reply(want, deadline):
        while time.time() < deadline:
            ready, _, _ = select.select([p.stdout], [], [], 1.0)
            if not ready:
                continue
            line = p.stdout.readline()
            if not line:
                break
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            if msg.get("id") == want:
                return msg
        return None

    try:
        deadline = time.time() + 60
        send({"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"protocolVersion": "2024-11-05",
                         "capabilities": {"roots": {"listChanged": True}},
                         "clientInfo": {"name": "tokenomy-gen-mcp-tools", "version": "1"}}})
        if not reply(1, deadline):
            return None
        send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        time.sleep(0.5)  # some servers read the client's capabilities on this notification
        send({"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}})
        msg = reply(2, deadline)
        return msg.get("result") if msg else None
    finally:
        p.kill()
        p.wait()


def generate(work):
    shutil.copy(os.path.join(HERE, "package.json"), work)
    shutil.copy(os.path.join(HERE, "package-lock.json"), work)
    subprocess.run(["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund",
                    "--loglevel=error"], cwd=work, check=True, stdout=sys.stderr)
    lock = json.load(open(os.path.join(HERE, "package-lock.json")))
    out = []
    for server in SERVERS:
        pkg = "@modelcontextprotocol/server-" + server
        meta = json.load(open(os.path.join(work, "node_modules", pkg, "package.json")))
        if meta["version"] != lock["packages"][""]["dependencies"][pkg]:
            fail(f"{pkg}: installed {meta['version']}, not the pinned version")
        if meta.get("license") != "MIT":
            fail(f"{pkg}: licence {meta.get('license')!r}, not MIT")
        binp = meta["bin"] if isinstance(meta["bin"], str) else list(meta["bin"].values())[0]
        scratch = tempfile.mkdtemp(dir=work)
        env = dict(os.environ, **DUMMY_ENV, MEMORY_FILE_PATH=os.path.join(scratch, "memory.json"))
        args = [scratch] if server == "filesystem" else []  # the folder it may serve
        res = rpc_tools(["node", os.path.join(work, "node_modules", pkg, binp)] + args,
                        scratch, env)
        if not res or not isinstance(res.get("tools"), list) or not res["tools"]:
            fail(f"{pkg}@{meta['version']}: no tools/list answer")
        for t in res["tools"]:
            fn = {"name": f"mcp__{server.replace('-', '_')}__{t['name']}"}
            if t.get("description"):
                fn["description"] = t["description"]
            fn["parameters"] = t.get("inputSchema") or {"type": "object", "properties": {}}
            out.append({"type": "function", "function": fn})
        print(f"gen-mcp-tools: {pkg}@{meta['version']}: {len(res['tools'])} tools", file=sys.stderr)
    lines = [json.dumps(t, ensure_ascii=False, separators=(",", ":")) for t in out]
    return ("[\n" + ",\n".join(lines) + "\n]\n").encode()


def main():
    check = sys.argv[1:] == ["--check"]
    if sys.argv[1:] and not check:
        sys.exit(__doc__)
    work = tempfile.mkdtemp(prefix="tokenomy-mcp-tools-")
    try:
        data = generate(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    want = open(os.path.join(HERE, "mcp-servers.sha256")).read().split()[0]
    got = hashlib.sha256(data).hexdigest()
    target = os.path.join(HERE, "mcp-servers.json")
    if check:
        same = os.path.exists(target) and open(target, "rb").read() == data
        print(f"gen-mcp-tools: regenerated sha256 {got}, pinned {want}; "
              f"committed file {'identical' if same else 'DIFFERS'}")
        sys.exit(0 if same and got == want else 1)
    if got != want:
        print(f"gen-mcp-tools: sha256 {got} is not the pinned {want}: the servers' output "
              "changed; check the diff, then update mcp-servers.sha256", file=sys.stderr)
    with open(target, "wb") as f:
        f.write(data)
    sys.exit(0 if got == want else 1)


if __name__ == "__main__":
    main()
