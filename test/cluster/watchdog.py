#!/usr/bin/env python3
"""Leash of a test cluster: when the process that owns the cluster (a test
script) is gone without calling test/cluster/stop — killed by a timeout, say —
or the cluster directory was deleted, stop the cluster's recorded processes,
so nothing keeps running on a shared machine.  Started by
`test/cluster/start.py DIR --leash PID`; `stop` ends it first.

usage: watchdog.py DIR PID
"""
import os
import signal
import sys
import time


def starttime(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            rest = f.read().rsplit(")", 1)[1].split()
        return None if rest[0] == "Z" else rest[19]
    except (OSError, IndexError):
        return None


def read_pids(path):
    try:
        with open(path) as f:
            return [ln.split() for ln in f if len(ln.split()) >= 3]
    except OSError:
        return None


def main():
    d, owner = sys.argv[1], int(sys.argv[2])
    owner_st = starttime(owner)
    pidfile = os.path.join(d, "pids")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    known = read_pids(pidfile) or []
    while True:
        time.sleep(1.0)
        cur = read_pids(pidfile)
        if cur is not None:
            known = cur
        elif os.path.isdir(d):
            return            # stopped normally (stop removes DIR/pids)
        if owner_st is not None and starttime(owner) == owner_st and os.path.isdir(d):
            continue
        break
    print("watchdog: owner %d gone or %s deleted; stopping the cluster" % (owner, d), file=sys.stderr, flush=True)
    live = []
    for name, pid, st in reversed([k[:3] for k in known]):
        pid = int(pid)
        if starttime(pid) == st:
            os.kill(pid, signal.SIGTERM)
            live.append((pid, st))
    deadline = time.monotonic() + 10
    for pid, st in live:
        while starttime(pid) == st:
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
            time.sleep(0.05)
    try:
        os.unlink(pidfile)
    except OSError:
        pass


if __name__ == "__main__":
    main()
