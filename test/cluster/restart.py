#!/usr/bin/env python3
"""Restart one process of a test cluster started by test/cluster/start.py, the
same way it was started (DIR/cmd/NAME.json), to test clients against an API
server (or etcd, the simulator, the proxy) that goes away and comes back.

usage: test/cluster/restart.py DIR NAME [--down SECONDS]
  NAME: etcd | kube-apiserver | kube-controller-manager | nodesim | faultproxy
  --down: stay stopped that long before starting again (default 0)
Waits until the restarted API server is ready (/readyz) again.
"""
import argparse
import json
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.request


def starttime(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            rest = f.read().rsplit(")", 1)[1].split()
        return None if rest[0] == "Z" else rest[19]
    except OSError:
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir")
    ap.add_argument("name")
    ap.add_argument("--down", type=float, default=0.0)
    ap.add_argument("--timeout", type=float, default=60.0)
    a = ap.parse_args()
    d = os.path.abspath(a.dir)
    try:
        with open(os.path.join(d, "cmd", a.name + ".json")) as f:
            spec = json.load(f)
        with open(os.path.join(d, "pids")) as f:
            lines = [ln.split() for ln in f if ln.strip()]
    except OSError as e:
        sys.exit("restart: %s (is a cluster running in %s?)" % (e, d))
    for ln in lines:
        if ln[0] == a.name and starttime(int(ln[1])) == ln[2]:
            pid = int(ln[1])
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while starttime(pid) == ln[2]:
                if time.monotonic() > deadline:
                    os.kill(pid, signal.SIGKILL)
                time.sleep(0.05)
    if a.down > 0:
        time.sleep(a.down)
    logf = open(os.path.join(d, "logs", a.name + ".log"), "ab")
    p = subprocess.Popen(spec["argv"], stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                         start_new_session=True, close_fds=True, env=dict(os.environ, **spec["env"]))
    logf.close()
    st = None
    for _ in range(100):
        st = starttime(p.pid)
        if st:
            break
        time.sleep(0.01)
    # Same place in the list: stop ends processes newest-first, etcd last.
    new = [a.name, str(p.pid), st or "-"]
    out = [new if ln[0] == a.name else ln for ln in lines]
    if new not in out:
        out.append(new)
    tmp = os.path.join(d, "pids.tmp")
    with open(tmp, "w") as f:
        for ln in out:
            f.write(" ".join(ln) + "\n")
    os.replace(tmp, os.path.join(d, "pids"))

    # Ready again: the API server answers /readyz (through whatever restarted).
    env = {}
    with open(os.path.join(d, "env")) as f:
        for ln in f:
            k, _, v = ln.strip().partition("=")
            env[k] = v.strip("'")
    with open(env["GS_ADMIN_TOKEN_FILE"]) as f:
        token = f.read().strip()
    ctx = ssl.create_default_context(cafile=env["GS_CA"])
    t0 = time.monotonic()
    while True:
        if p.poll() is not None:
            sys.exit("restart: %s exited with status %s (see %s/logs/%s.log)" % (a.name, p.returncode, d, a.name))
        try:
            req = urllib.request.Request(env["GS_APISERVER"] + "/readyz", headers={"Authorization": "Bearer " + token})
            with urllib.request.urlopen(req, context=ctx, timeout=5) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if time.monotonic() - t0 > a.timeout:
            sys.exit("restart: the API server is not ready %.0fs after restarting %s" % (a.timeout, a.name))
        time.sleep(0.1)
    while a.name == "faultproxy":
        try:
            with urllib.request.urlopen(env["GS_PROXY_CONTROL"] + "/healthz", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if p.poll() is not None or time.monotonic() - t0 > a.timeout:
            sys.exit("restart: the fault proxy did not come back (see %s/logs/faultproxy.log)" % d)
        time.sleep(0.05)
    print("restarted %s (pid %d) in %.1fs" % (a.name, p.pid, time.monotonic() - t0))


if __name__ == "__main__":
    main()
