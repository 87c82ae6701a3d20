#!/usr/bin/env python3
"""Fault-injecting HTTPS proxy in front of the test cluster's API server.

Clients talk TLS to the proxy (its own certificate); the proxy forwards each
request over TLS to the API server and streams the response back (watches
included).  Requests are counted per Kubernetes verb and resource, and rules
can inject faults.  Control API (plain HTTP on loopback), documented in
test/cluster/README.md:

  GET    /counters   request counters (JSON)
  POST   /reset      zero the counters
  GET    /rules      current rules with their hit counts
  POST   /rules      add a rule or a list of rules (JSON); returns their ids
  DELETE /rules      remove all rules (and release paused requests)
  DELETE /rules/ID   remove one rule
  POST   /resume     release requests held by "pause" rules

Rule (every match field optional; all given ones must match):
  {"verb": "list" | ["get","list"], "resource": "deployments" | "deployments.apps" | "pods/status",
   "namespace": "ns", "name": "obj", "path": "regex on path?query", "method": "GET",
   "action": "delay" | "status" | "drop" | "pause" | "expire" | "cut",
   "delay_ms": 500, "status": 500, "message": "...", "retry_after": 2,
   "drop": "before" | "after", "after_ms": 1000, "count": N}
The first matching rule with hits left applies; "delay" then forwards.  A rule
with "count" applies N times and is then spent.

Python 3 standard library only.
"""
import argparse
import http.client
import http.server
import json
import re
import signal
import socket
import socketserver
import ssl
import sys
import threading
import time
import urllib.parse

HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
       "trailer", "transfer-encoding", "upgrade", "host", "content-length"}
REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
           405: "MethodNotAllowed", 409: "Conflict", 410: "Expired", 422: "Invalid",
           429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable",
           504: "Timeout"}
NS_SUBRESOURCES = {"status", "finalize"}


def request_info(method, path, query):
    """Kubernetes' RequestInfo: (verb, resource key, namespace, name)."""
    parts = [p for p in path.split("/") if p]
    q = urllib.parse.parse_qs(query)
    if len(parts) >= 2 and parts[0] == "api":
        group, rest = "", parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, rest = parts[1], parts[3:]
    else:
        rest = None
    if not rest:
        return method.lower(), path or "/", "", ""
    watch = False
    if rest[0] == "watch":
        watch, rest = True, rest[1:]
    ns = ""
    if rest and rest[0] == "namespaces" and len(rest) > 1:
        ns = rest[1]
        if len(rest) > 2 and rest[2] not in NS_SUBRESOURCES:
            rest = rest[2:]
    res = rest[0] if rest else ""
    name = rest[1] if len(rest) > 1 else ""
    sub = rest[2] if len(rest) > 2 else ""
    if res == "namespaces":
        ns = ""
    m = method.upper()
    if m == "GET" or m == "HEAD":
        if watch or q.get("watch", ["0"])[0] in ("1", "true"):
            verb = "watch"
        else:
            verb = "get" if name else "list"
    elif m == "POST":
        verb = "create"
    elif m == "PUT":
        verb = "update"
    elif m == "PATCH":
        verb = "patch"
    elif m == "DELETE":
        verb = "delete" if name else "deletecollection"
    else:
        verb = m.lower()
    key = res + ("." + group if group else "") + ("/" + sub if sub else "")
    return verb, key, ns, name


class Rule:
    def __init__(self, rid, spec):
        self.id = rid
        self.spec = spec
        v = spec.get("verb")
        self.verbs = None if v is None else ([v] if isinstance(v, str) else list(v))
        self.resource = spec.get("resource")
        self.namespace = spec.get("namespace")
        self.name = spec.get("name")
        self.method = spec.get("method")
        self.path = re.compile(spec["path"]) if spec.get("path") else None
        self.action = spec.get("action") or ("status" if "status" in spec else "delay" if "delay_ms" in spec else "status")
        if self.action not in ("delay", "status", "drop", "pause", "expire", "cut"):
            raise ValueError("unknown action %r" % self.action)
        self.remaining = spec.get("count")
        self.hits = 0

    def matches(self, method, pathq, verb, key, ns, name):
        if self.remaining is not None and self.remaining <= 0:
            return False
        if self.verbs is not None and verb not in self.verbs:
            return False
        if self.method and self.method.upper() != method:
            return False
        if self.resource is not None:
            # "deployments" and "deployments.apps" both match deployments.apps
            head, _, sub = key.partition("/")
            bare = head.split(".", 1)[0] + ("/" + sub if sub else "")
            if self.resource not in (key, bare):
                return False
        if self.namespace is not None and self.namespace != ns:
            return False
        if self.name is not None and self.name != name:
            return False
        if self.path is not None and not self.path.search(pathq):
            return False
        return True

    def to_json(self):
        d = dict(self.spec)
        d.update({"id": self.id, "hits": self.hits, "action": self.action})
        if self.remaining is not None:
            d["remaining"] = self.remaining
        return d


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.rules = []
        self.next_id = 1
        self.counters = {}
        self.total = 0
        self.faults = {}
        self.resume = threading.Event()

    def count(self, verb, key):
        with self.lock:
            k = "%s %s" % (verb, key)
            self.counters[k] = self.counters.get(k, 0) + 1
            self.total += 1

    def pick(self, *a):
        with self.lock:
            for r in self.rules:
                if r.matches(*a):
                    if r.remaining is not None:
                        r.remaining -= 1
                    r.hits += 1
                    self.faults[r.action] = self.faults.get(r.action, 0) + 1
                    return r
        return None

    def snapshot(self):
        with self.lock:
            by_verb, by_res = {}, {}
            for k, n in self.counters.items():
                v, r = k.split(" ", 1)
                by_verb[v] = by_verb.get(v, 0) + n
                by_res[r] = by_res.get(r, 0) + n
            return {"total": self.total, "requests": dict(self.counters), "by_verb": by_verb,
                    "by_resource": by_res, "faults": dict(self.faults)}


STATE = State()
UP = {}


class NoDelayHTTPSConnection(http.client.HTTPSConnection):
    def connect(self):
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class Upstream:
    def __init__(self, url, cafile):
        u = urllib.parse.urlsplit(url)
        self.host, self.port = u.hostname, u.port or 443
        self.ctx = ssl.create_default_context(cafile=cafile)
        self.ctx.set_alpn_protocols(["http/1.1"])
        self.local = threading.local()

    def conn(self, fresh=False):
        c = getattr(self.local, "c", None)
        if fresh or c is None:
            if c is not None:
                c.close()
            c = NoDelayHTTPSConnection(self.host, self.port, context=self.ctx, timeout=600)
            self.local.c = c
        return c

    def drop(self):
        c = getattr(self.local, "c", None)
        if c is not None:
            c.close()
        self.local.c = None


class ProxyHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "gitsync-faultproxy"

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("%s %s\n" % (time.strftime("%H:%M:%S"), fmt % args))

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                ln = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if ln == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(ln)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else None

    def send_status(self, code, message, retry_after=None):
        body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": message, "reason": REASONS.get(code, "InternalError"), "code": code}
        if retry_after is not None:
            body["details"] = {"retryAfterSeconds": int(retry_after)}
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if retry_after is not None:
            self.send_header("Retry-After", str(int(retry_after)))
        self.end_headers()
        self.wfile.write(data)

    def hard_drop(self):
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        except OSError:
            pass
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def handle_any(self):
        body = self.read_body()
        u = urllib.parse.urlsplit(self.path)
        pathq = u.path + ("?" + u.query if u.query else "")
        verb, key, ns, name = request_info(self.command, u.path, u.query)
        STATE.count(verb, key)
        rule = STATE.pick(self.command, pathq, verb, key, ns, name)
        drop_after = False
        cut_ms = None
        if rule is not None:
            s = rule.spec
            if rule.action == "delay":
                time.sleep(float(s.get("delay_ms", 0)) / 1000.0)
            elif rule.action == "pause":
                while not STATE.resume.wait(0.2):
                    with STATE.lock:
                        if rule not in STATE.rules:
                            break
            elif rule.action == "status":
                code = int(s.get("status", 500))
                ra = s.get("retry_after")
                if code == 429 and ra is None:
                    ra = 1
                self.send_status(code, s.get("message") or "injected by gitsync fault proxy (rule %d)" % rule.id, ra)
                return
            elif rule.action == "drop":
                if s.get("drop", "before") == "before":
                    self.hard_drop()
                    return
                drop_after = True
            elif rule.action == "expire":
                self.send_expired(verb, u.query)
                return
            elif rule.action == "cut":
                cut_ms = float(s.get("after_ms", 0))
        self.forward(pathq, body, drop_after, cut_ms)

    def send_expired(self, verb, query):
        """What an API server answers for a resourceVersion it compacted away:
        a watch gets 200 and an ERROR event carrying 410 Expired; a list 410."""
        rv = urllib.parse.parse_qs(query).get("resourceVersion", ["0"])[0]
        cur = int(rv) + 1000 if rv.isdigit() else 1000
        msg = "too old resource version: %s (%d)" % (rv, cur)
        if verb != "watch":
            return self.send_status(410, msg)
        ev = json.dumps({"type": "ERROR", "object": {
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": msg, "reason": "Expired", "code": 410}}, separators=(",", ":")).encode() + b"\n"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(ev), ev))

    def forward(self, pathq, body, drop_after, cut_ms=None):
        up = self.server.upstream
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        if body is not None:
            headers["Content-Length"] = str(len(body))
        resp = None
        for attempt in (0, 1):
            try:
                c = up.conn(fresh=attempt == 1)
                c.request(self.command, pathq, body=body, headers=headers)
                resp = c.getresponse()
                break
            except (OSError, http.client.HTTPException) as e:
                up.drop()
                if attempt == 1:
                    self.send_status(503, "fault proxy: upstream unavailable: %s" % e)
                    return
        if drop_after:
            resp.read()
            self.hard_drop()
            return
        self.send_response_only(resp.status, resp.reason)
        for k, v in resp.getheaders():
            if k.lower() not in HOP:
                self.send_header(k, v)
        length = resp.getheader("Content-Length")
        if resp.status in (204, 304) or resp.status < 200 or self.command == "HEAD":
            # No body, whatever the headers say (a 304 of /openapi/v2 ...).
            if length is not None:
                self.send_header("Content-Length", length)
            self.end_headers()
            resp.read()
            return
        if length is not None and resp.getheader("Transfer-Encoding") is None:
            self.send_header("Content-Length", length)
            self.end_headers()
            data = resp.read()
            self.wfile.write(data)
            return
        # Streamed (watch, or unknown length): re-chunk as it arrives.
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        deadline = None if cut_ms is None else time.monotonic() + cut_ms / 1000.0
        try:
            while True:
                if deadline is not None:
                    # "cut": end the stream cleanly, as a server's watch timeout does.
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    c.sock.settimeout(left)
                try:
                    chunk = resp.read1(65536)
                except socket.timeout:
                    break
                if not chunk:
                    break
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            up.drop()
            self.close_connection = True
            return
        if not resp.isclosed():
            up.drop()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = handle_any


class ControlHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, code, obj):
        data = (json.dumps(obj, indent=1, sort_keys=True) + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/counters":
            return self.reply(200, STATE.snapshot())
        if self.path == "/rules":
            with STATE.lock:
                return self.reply(200, [r.to_json() for r in STATE.rules])
        if self.path == "/healthz":
            return self.reply(200, {"ok": True})
        self.reply(404, {"error": "no such endpoint"})

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        if self.path == "/reset":
            with STATE.lock:
                STATE.counters.clear()
                STATE.faults.clear()
                STATE.total = 0
            return self.reply(200, {"ok": True})
        if self.path == "/resume":
            STATE.resume.set()
            time.sleep(0.3)
            STATE.resume.clear()
            return self.reply(200, {"ok": True})
        if self.path == "/rules":
            try:
                spec = json.loads(raw or b"null")
                specs = spec if isinstance(spec, list) else [spec]
                ids = []
                with STATE.lock:
                    new = []
                    for s in specs:
                        if not isinstance(s, dict):
                            raise ValueError("a rule is a JSON object")
                        new.append(Rule(STATE.next_id, s))
                        ids.append(STATE.next_id)
                        STATE.next_id += 1
                    STATE.rules.extend(new)
            except (ValueError, re.error, TypeError) as e:
                return self.reply(400, {"error": str(e)})
            return self.reply(200, {"ids": ids})
        self.reply(404, {"error": "no such endpoint"})

    def do_DELETE(self):
        if self.path == "/rules":
            with STATE.lock:
                STATE.rules.clear()
            return self.reply(200, {"ok": True})
        m = re.fullmatch(r"/rules/(\d+)", self.path)
        if m:
            rid = int(m.group(1))
            with STATE.lock:
                before = len(STATE.rules)
                STATE.rules[:] = [r for r in STATE.rules if r.id != rid]
                gone = before != len(STATE.rules)
            return self.reply(200 if gone else 404, {"ok": gone})
        self.reply(404, {"error": "no such endpoint"})


class TLSServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, handler, ctx):
        self.ctx = ctx
        super().__init__(addr, handler)

    def get_request(self):
        sock, addr = self.socket.accept()
        return sock, addr

    def finish_request(self, request, client_address):
        # TLS handshake in the per-connection thread, not the accept loop.
        try:
            # Headers and body go out in separate writes: without NODELAY,
            # Nagle + delayed ACK add 40 ms to every response.
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            request.settimeout(30)
            tls = self.ctx.wrap_socket(request, server_side=True)
            tls.settimeout(None)
        except (OSError, ssl.SSLError):
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            tls.close()


    def handle_error(self, request, client_address):
        pass   # dropped connections are what this proxy is for


class PlainServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--upstream", required=True, help="https://127.0.0.1:PORT of the API server")
    p.add_argument("--upstream-ca", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--control-port", type=int, required=True)
    p.add_argument("--verbose", action="store_true")
    a = p.parse_args()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    ctx.set_alpn_protocols(["http/1.1"])
    srv = TLSServer(("127.0.0.1", a.port), ProxyHandler, ctx)
    srv.upstream = Upstream(a.upstream, a.upstream_ca)
    srv.verbose = a.verbose
    ctl = PlainServer(("127.0.0.1", a.control_port), ControlHandler)
    threading.Thread(target=ctl.serve_forever, daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("fault proxy on https://127.0.0.1:%d -> %s, control http://127.0.0.1:%d" % (
        a.port, a.upstream, a.control_port), file=sys.stderr, flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
