#!/usr/bin/env python3
"""Run a test program against a private redis-server on 127.0.0.1.

usage: redis_fixture.py [--persist] [--tls] PROGRAM [ARGS...]
       redis_fixture.py ctl stop|kill|start|freeze|thaw STATE_DIR

Starts Debian's redis-server on 127.0.0.1 on a free port, in a temporary
directory, with no snapshots; --persist turns the append-only file on with
fsync on every write, so committed state survives a restart.  Waits for PING,
runs PROGRAM with TKN_REDIS_PORT set, then stops the server and removes the
directory.  TKN_REDIS_CTL is a command line the program may run with two more
words, stop|kill|start|freeze|thaw and $TKN_REDIS_DIR, to stop (SIGTERM),
kill (SIGKILL) or start the server again on the same port and directory
(start waits for PING), or freeze (SIGSTOP) and thaw (SIGCONT) it.  --tls
makes a CA, a server certificate (for 127.0.0.1) and a client certificate
with the openssl tool and serves TLS only, on TKN_REDIS_PORT; the files are
in $TKN_REDIS_DIR (ca.crt, client.crt, client.key).  Never binds another
address.

Exits 77 (skip) saying why when redis-server is not installed.
"""
import json
import os
import ssl
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HOST = "127.0.0.1"


def ping(port, timeout, tls_dir=None):
    deadline = time.monotonic() + timeout
    ctx = None
    if tls_dir:
        ctx = ssl.create_default_context(cafile=os.path.join(tls_dir, "ca.crt"))
        ctx.load_cert_chain(os.path.join(tls_dir, "client.crt"),
                            os.path.join(tls_dir, "client.key"))
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((HOST, port), timeout=0.5) as raw:
                s = ctx.wrap_socket(raw, server_hostname=HOST) if ctx else raw
                s.sendall(b"*1\r\n$4\r\nPING\r\n")
                if s.recv(64).startswith(b"+PONG"):
                    return True
        except OSError:
            pass
        time.sleep(0.02)
    return False


def make_certs(d):
    """A CA, a server certificate for 127.0.0.1 and a client one, in d."""
    def run(*args):
        subprocess.run(["openssl"] + list(args), cwd=d, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=tkn test CA",
        "-keyout", "ca.key", "-out", "ca.crt")
    with open(os.path.join(d, "san.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")
    for who in ("server", "client"):
        run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=tkn test " + who,
            "-keyout", who + ".key", "-out", who + ".csr")
        run("x509", "-req", "-in", who + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", who + ".crt")


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def start(state):
    d = state["dir"]
    if state.get("tls"):
        ports = ["--port", "0", "--tls-port", str(state["port"]),
                 "--tls-cert-file", os.path.join(d, "server.crt"),
                 "--tls-key-file", os.path.join(d, "server.key"),
                 "--tls-ca-cert-file", os.path.join(d, "ca.crt")]
    else:
        ports = ["--port", str(state["port"])]
    args = [state["server"], "--bind", HOST] + ports + [
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
    return ping(state["port"], 15, d if state.get("tls") else None)


def stop(state, sig):
    pid = state.get("pid")
    if not pid:
        return
    try:
        os.kill(pid, signal.SIGCONT)  # a frozen server cannot act on SIGTERM
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
    if word in ("freeze", "thaw"):
        if state.get("pid"):
            os.kill(state["pid"], signal.SIGSTOP if word == "freeze" else signal.SIGCONT)
        return 0
    stop(state, signal.SIGKILL if word == "kill" else signal.SIGTERM)
    return 0


def main(argv):
    # a SIGTERM (timeout) still runs the clean-up below
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if len(argv) >= 3 and argv[0] == "ctl":
        return ctl(argv[1], argv[2])
    persist = tls = False
    while argv and argv[0] in ("--persist", "--tls"):
        persist = persist or argv[0] == "--persist"
        tls = tls or argv[0] == "--tls"
        argv = argv[1:]
    if not argv:
        print(__doc__)
        return 2
    server = shutil.which("redis-server")
    if not server:
        print("SKIP: redis-server is not installed (Debian package redis-server; .ci/setup installs it)")
        return 77
    if tls and not shutil.which("openssl"):
        print("SKIP: the openssl tool is not installed (Debian package openssl)")
        return 77
    d = tempfile.mkdtemp(prefix="tkn-redis-")
    state = {"server": server, "dir": d, "persist": persist, "tls": tls, "pid": None}
    try:
        if tls:
            make_certs(d)
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
