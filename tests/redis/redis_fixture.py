#!/usr/bin/env python3
"""Run a test program against a private redis-server on 127.0.0.1.

usage: redis_fixture.py [--persist] PROGRAM [ARGS...]
       redis_fixture.py ctl stop|kill|start STATE_DIR

Starts Debian's redis-server on 127.0.0.1 on a free port, in a temporary
directory, with no snapshots; --persist turns the append-only file on with
fsync on every write, so committed state survives a restart.  Waits for PING,
runs PROGRAM with TKN_REDIS_PORT set, then stops the server and removes the
directory.  TKN_REDIS_CTL is a command line the program may run with two more
words, stop|kill|start and $TKN_REDIS_DIR, to stop (SIGTERM), kill (SIGKILL)
or start the server again on the same port and directory (start waits for
PING).  Never binds another address.

Exits 77 (skip) saying why when redis-server is not installed.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HOST = "127.0.0.1"


def ping(port, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((HOST, port), timeout=0.5) as s:
                s.sendall(b"*1\r\n$4\r\nPING\r\n")
                if s.recv(64).startswith(b"+PONG"):
                    return True
        except OSError:
            pass
        time.sleep(0.02)
    return False


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def start(state):
    args = [state["server"], "--bind", HOST, "--port", str(state["port"]),
            "--dir", state["dir"], "--save", "", "--daemonize", "no",
            "--logfile", os.path.join(state["dir"], "redis.log")]
    if state["persist"]:
        args += ["--appendonly", "yes", "--appendfsync", "always"]
    else:
        args += ["--appendonly", "no"]
    # same process group as the test: a harness that kills the group on a
    # timeout takes the server with it
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state["pid"] = proc.pid
    save(state)
    return ping(state["port"], 15)


def stop(state, sig):
    pid = state.get("pid")
    if not pid:
        return
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # started by another invocation: poll instead
            done = 0 if alive(pid) else pid
        if done:
            break
        time.sleep(0.01)
    state["pid"] = None
    save(state)


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def save(state):
    with open(os.path.join(state["dir"], "fixture.json"), "w") as f:
        json.dump(state, f)


def load(d):
    with open(os.path.join(d, "fixture.json")) as f:
        return json.load(f)


def ctl(word, d):
    state = load(d)
    if word == "start":
        return 0 if start(state) else 1
    stop(state, signal.SIGKILL if word == "kill" else signal.SIGTERM)
    return 0


def main(argv):
    # a SIGTERM (timeout) still runs the clean-up below
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if len(argv) >= 3 and argv[0] == "ctl":
        return ctl(argv[1], argv[2])
    persist = False
    if argv and argv[0] == "--persist":
        persist, argv = True, argv[1:]
    if not argv:
        print(__doc__)
        return 2
    server = shutil.which("redis-server")
    if not server:
        print("SKIP: redis-server is not installed (Debian package redis-server; .ci/setup installs it)")
        return 77
    d = tempfile.mkdtemp(prefix="tkn-redis-")
    state = {"server": server, "dir": d, "persist": persist, "pid": None}
    try:
        for _ in range(5):  # a port taken between choosing and binding: try another
            state["port"] = free_port()
            if start(state):
                break
            stop(state, signal.SIGKILL)
        else:
            print("redis-server did not answer PING; its log:")
            print(open(os.path.join(d, "redis.log")).read()[-2000:])
            return 1
        env = dict(os.environ)
        env["TKN_REDIS_PORT"] = str(state["port"])
        env["TKN_REDIS_CTL"] = f"{sys.executable} {os.path.abspath(__file__)} ctl"
        env["TKN_REDIS_DIR"] = d
        return subprocess.run(argv, env=env).returncode
    finally:
        stop(load(d), signal.SIGTERM)
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
