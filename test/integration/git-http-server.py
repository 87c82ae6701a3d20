#!/usr/bin/env python3
"""Smart HTTP Git server for tests: `git http-backend` behind a small
http.server CGI wrapper on 127.0.0.1, with HTTP basic auth.

usage: git-http-server.py ROOT PORTFILE [--user U --password P] [--log FILE]

--log appends one line per request, "METHOD PATH" (tests count ls-remotes
and fetches from it).

Serves every bare repository under ROOT at http://127.0.0.1:PORT/<name>.git;
writes the chosen port to PORTFILE once listening.  Stop it by its PID.
"""
import argparse
import base64
import http.server
import os
import subprocess
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("root")
    ap.add_argument("portfile")
    ap.add_argument("--user")
    ap.add_argument("--password")
    ap.add_argument("--log")
    args = ap.parse_args()
    want = None
    if args.user is not None:
        want = "Basic " + base64.b64encode(
            ("%s:%s" % (args.user, args.password)).encode()).decode()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):
            pass

        def _run(self):
            length = int(self.headers.get("Content-Length") or 0)
            if args.log:
                with open(args.log, "a") as f:
                    f.write("%s %s\n" % (self.command, self.path))
            if want is not None and self.headers.get("Authorization") != want:
                # No body, and the connection closed: libgit2 1.5 stops
                # parsing a 401 at its headers and would read a body left
                # on a kept-alive connection as the start of the next response
                # ("http parser error: invalid constant string").
                self.wfile.write(b"HTTP/1.1 401 Unauthorized\r\n"
                                 b"WWW-Authenticate: Basic realm=\"git\"\r\n"
                                 b"Content-Length: 0\r\nConnection: close\r\n\r\n")
                self.wfile.flush()
                self.close_connection = True
                if length:
                    self.rfile.read(length)
                return
            path, _, query = self.path.partition("?")
            data = self.rfile.read(length) if length else b""
            env = {
                "GIT_PROJECT_ROOT": args.root,
                "GIT_HTTP_EXPORT_ALL": "1",
                "PATH_INFO": path,
                "QUERY_STRING": query,
                "REQUEST_METHOD": self.command,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(len(data)),
                "REMOTE_USER": args.user or "",
                "REMOTE_ADDR": "127.0.0.1",
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            }
            if self.headers.get("Git-Protocol"):
                env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
            p = subprocess.run(["git", "http-backend"], input=data, env=env,
                               capture_output=True)
            head, _, body = p.stdout.partition(b"\r\n\r\n")
            if not _:
                head, _, body = p.stdout.partition(b"\n\n")
            status = 200
            headers = []
            for line in head.decode("latin-1").splitlines():
                k, _, v = line.partition(":")
                if k.lower() == "status":
                    status = int(v.strip().split()[0])
                elif k:
                    headers.append((k, v.strip()))
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = _run
        do_POST = _run

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(args.portfile + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(args.portfile + ".tmp", args.portfile)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
