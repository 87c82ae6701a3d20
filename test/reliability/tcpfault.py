#!/usr/bin/env python3
"""A TCP fault proxy for the Git server in the reliability suite.

usage: tcpfault.py UPSTREAM_PORT PORTFILE MODEFILE

Listens on 127.0.0.1 (port written to PORTFILE once listening) and forwards
each connection to 127.0.0.1:UPSTREAM_PORT.  MODEFILE is read at every new
connection and holds one word:
  pass        forward (also when the file is missing or empty)
  down        accept and close at once (a server that is gone)
  delay:MS    wait MS milliseconds before forwarding each connection (slow)
Stop it by its PID.  Counts connections per mode in PORTFILE.stats.
"""
import os
import socket
import sys
import threading
import time


def pump(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
    except OSError:
        pass
    finally:
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def main():
    up, portfile, modefile = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    stats = {}
    lock = threading.Lock()
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(64)
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(ls.getsockname()[1]))
    os.rename(tmp, portfile)

    def handle(c):
        try:
            with open(modefile) as f:
                mode = f.read().strip() or "pass"
        except OSError:
            mode = "pass"
        with lock:
            key = mode.split(":")[0]
            stats[key] = stats.get(key, 0) + 1
            with open(portfile + ".stats", "w") as f:
                f.write(" ".join("%s=%d" % kv for kv in sorted(stats.items())) + "\n")
        if mode == "down":
            c.close()
            return
        if mode.startswith("delay:"):
            time.sleep(int(mode[6:]) / 1000.0)
        try:
            u = socket.create_connection(("127.0.0.1", up), timeout=10)
            u.settimeout(None)
        except OSError:
            c.close()
            return
        threading.Thread(target=pump, args=(c, u), daemon=True).start()
        pump(u, c)

    while True:
        c, _ = ls.accept()
        threading.Thread(target=handle, args=(c,), daemon=True).start()


if __name__ == "__main__":
    main()
