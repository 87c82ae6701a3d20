#!/usr/bin/env python3
"""Start a test cluster in DIR: etcd, kube-apiserver, kube-controller-manager
(v1.20.2, built by test/cluster/setup), the node simulator and the fault proxy.
Everything listens on 127.0.0.1 on free ports, so several clusters can run at
once; every PID is recorded in DIR/pids and `test/cluster/stop DIR` ends
exactly those.  See test/cluster/README.md for what DIR holds afterwards.

usage: test/cluster/start.py DIR [--nodes N] [--ready-delay SECONDS] [--no-apf]
                              [--no-proxy] [--no-nodesim] [--leash PID] [--timeout SECONDS]
env:   GS_ETCD_DATA_DIR (etcd data elsewhere than DIR/etcd, e.g. on tmpfs),
       GS_APISERVER_EXTRA (more kube-apiserver flags), GOGC (default 400)
"""
import argparse
import json
import os
import secrets
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))


def die(msg):
    print("start: " + msg, file=sys.stderr)
    sys.exit(1)


def find_bin():
    r = subprocess.run(["bash", "-c", '. "$1/lib.sh" && gs_testenv_bin', "_", HERE],
                       capture_output=True, text=True)
    if r.returncode != 0:
        die("test cluster binaries not found: run test/cluster/setup first")
    return r.stdout.strip()


def free_ports(n):
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def run(*cmd, **kw):
    r = subprocess.run(list(cmd), capture_output=True, **kw)
    if r.returncode != 0:
        die("%s failed: %s" % (" ".join(cmd[:3]), r.stderr.decode(errors="replace")[-500:]))
    return r


def make_pki(pki):
    os.makedirs(pki, exist_ok=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run("openssl", "req", "-x509", *ec, "-keyout", pki + "/ca.key", "-out", pki + "/ca.crt",
        "-days", "3650", "-subj", "/CN=gitsync-test-ca",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature")

    def leaf(name, subj, ext):
        with open("%s/%s.ext" % (pki, name), "w") as f:
            f.write(ext)
        run("openssl", "req", "-new", *ec, "-keyout", "%s/%s.key" % (pki, name),
            "-out", "%s/%s.csr" % (pki, name), "-subj", subj)
        run("openssl", "x509", "-req", "-in", "%s/%s.csr" % (pki, name), "-CA", pki + "/ca.crt",
            "-CAkey", pki + "/ca.key", "-CAcreateserial", "-days", "3650",
            "-out", "%s/%s.crt" % (pki, name), "-extfile", "%s/%s.ext" % (pki, name))
        os.unlink("%s/%s.csr" % (pki, name))
        os.unlink("%s/%s.ext" % (pki, name))

    san = ("subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,"
           "DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:10.96.0.1\n"
           "extendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n")
    leaf("apiserver", "/CN=kube-apiserver", san)
    leaf("proxy", "/CN=gitsync-fault-proxy", san)
    # A client certificate for admin, so kubeconfigs with client-certificate
    # authentication can be tested too.
    leaf("admin", "/O=system:masters/CN=gitsync-admin-cert",
         "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n")
    run("openssl", "ecparam", "-genkey", "-name", "prime256v1", "-noout", "-out", pki + "/sa.key")
    run("openssl", "ec", "-in", pki + "/sa.key", "-pubout", "-out", pki + "/sa.pub")


def kubeconfig(path, server, ca, user, token=None, cert=None, key=None):
    # Block-style YAML like kubectl writes (every value quoted as JSON, which
    # is valid YAML), so any kubeconfig reader can take it.
    q = json.dumps
    lines = ["apiVersion: v1", "kind: Config",
             "clusters:", "- name: gitsync-test", "  cluster:",
             "    server: " + q(server), "    certificate-authority: " + q(ca),
             "users:", "- name: " + q(user), "  user:"]
    if token:
        lines.append("    token: " + q(token))
    if cert:
        lines += ["    client-certificate: " + q(cert), "    client-key: " + q(key)]
    lines += ["contexts:", "- name: gitsync-test", "  context:", "    cluster: gitsync-test",
              "    user: " + q(user), "current-context: gitsync-test", ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))
    os.chmod(path, 0o600)


def proc_starttime(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except OSError:
        return None


class Cluster:
    def __init__(self, d):
        self.dir = d
        self.procs = []

    def spawn(self, name, cmd, env=None):
        logf = open(os.path.join(self.dir, "logs", name + ".log"), "ab")
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                             start_new_session=True, close_fds=True,
                             env=None if env is None else dict(os.environ, **env))
        logf.close()
        self.procs.append((name, p))
        # What test/cluster/restart.py needs to start it again the same way.
        os.makedirs(os.path.join(self.dir, "cmd"), exist_ok=True)
        with open(os.path.join(self.dir, "cmd", name + ".json"), "w") as f:
            json.dump({"argv": cmd, "env": env or {}}, f, indent=1)
        with open(os.path.join(self.dir, "pids"), "a") as f:
            f.write("%s %d %s\n" % (name, p.pid, proc_starttime(p.pid) or "-"))
        return p

    def check_alive(self):
        for name, p in self.procs:
            if p.poll() is not None:
                self.fail("%s exited with status %s" % (name, p.returncode), name)

    def fail(self, msg, name=None):
        print("start: " + msg, file=sys.stderr)
        if name:
            try:
                with open(os.path.join(self.dir, "logs", name + ".log"), errors="replace") as f:
                    tail = f.read().splitlines()[-15:]
                print("start: last lines of %s/logs/%s.log:" % (self.dir, name), file=sys.stderr)
                for ln in tail:
                    print("  | " + ln, file=sys.stderr)
            except OSError:
                pass
        subprocess.run([os.path.join(HERE, "stop"), self.dir])
        sys.exit(1)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir")
    ap.add_argument("--nodes", type=int, default=3)
    ap.add_argument("--ready-delay", type=float, default=1.0,
                    help="seconds from a pod's binding to Running/Ready (node simulator)")
    ap.add_argument("--no-proxy", action="store_true", help="do not start the fault proxy")
    ap.add_argument("--no-nodesim", action="store_true", help="do not start the node simulator")
    ap.add_argument("--no-apf", action="store_true",
                    help="disable API Priority and Fairness (max-requests-inflight limits instead)")
    ap.add_argument("--leash", type=int, metavar="PID",
                    help="stop the cluster by itself when process PID (the test) is gone")
    ap.add_argument("--timeout", type=float, default=90.0, help="give up when not ready after this")
    a = ap.parse_args()

    t0 = time.monotonic()
    d = os.path.abspath(a.dir)
    os.makedirs(d, exist_ok=True)
    pidfile = os.path.join(d, "pids")
    if os.path.exists(pidfile):
        with open(pidfile) as f:
            for ln in f:
                parts = ln.split()
                if len(parts) >= 3 and proc_starttime(int(parts[1])) == parts[2]:
                    die("a cluster is already running in %s (test/cluster/stop %s)" % (d, d))
        os.unlink(pidfile)
    binDir = find_bin()
    os.makedirs(os.path.join(d, "logs"), exist_ok=True)
    pki = os.path.join(d, "pki")
    make_pki(pki)

    admin_token = secrets.token_hex(24)
    nobody_token = secrets.token_hex(24)
    with open(os.path.join(d, "tokens.csv"), "w") as f:
        f.write('%s,admin,uid-admin,"system:masters"\n' % admin_token)
        f.write("%s,nobody,uid-nobody\n" % nobody_token)
    for name, tok in (("admin-token", admin_token), ("nobody-token", nobody_token)):
        with open(os.path.join(d, name), "w") as f:
            f.write(tok + "\n")
        os.chmod(os.path.join(d, name), 0o600)

    etcd_port, peer_port, api_port, proxy_port, ctl_port = free_ports(5)
    server = "https://127.0.0.1:%d" % api_port
    proxy = "https://127.0.0.1:%d" % proxy_port
    ca = pki + "/ca.crt"
    kubeconfig(os.path.join(d, "kubeconfig"), server, ca, "admin", token=admin_token)
    kubeconfig(os.path.join(d, "kubeconfig-nobody"), server, ca, "nobody", token=nobody_token)
    kubeconfig(os.path.join(d, "kubeconfig-cert"), server, ca, "admin-cert",
               cert=pki + "/admin.crt", key=pki + "/admin.key")
    if not a.no_proxy:
        kubeconfig(os.path.join(d, "kubeconfig-proxy"), proxy, ca, "admin", token=admin_token)

    c = Cluster(d)
    # Less garbage collection: start-up is CPU-bound on a shared 2-core box,
    # and memory is plentiful.
    goenv = {"GOGC": os.environ.get("GOGC", "400")}
    etcd_url = "http://127.0.0.1:%d" % etcd_port
    peer_url = "http://127.0.0.1:%d" % peer_port
    c.spawn("etcd", [os.path.join(binDir, "etcd"), "--name", "gitsync",
                     "--data-dir", os.environ.get("GS_ETCD_DATA_DIR") or os.path.join(d, "etcd"),
                     "--listen-client-urls", etcd_url, "--advertise-client-urls", etcd_url,
                     "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url,
                     "--initial-cluster", "gitsync=" + peer_url, "--initial-cluster-state", "new",
                     "--logger", "zap", "--log-level", "warn", "--quota-backend-bytes", "4294967296"])
    c.spawn("kube-apiserver", [
        os.path.join(binDir, "kube-apiserver"),
        "--etcd-servers=" + etcd_url,
        "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
        "--secure-port=%d" % api_port, "--insecure-port=0",
        "--cert-dir=" + pki,
        "--tls-cert-file=%s/apiserver.crt" % pki, "--tls-private-key-file=%s/apiserver.key" % pki,
        "--client-ca-file=" + ca,
        "--token-auth-file=" + os.path.join(d, "tokens.csv"),
        "--authorization-mode=RBAC",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        "--service-account-key-file=%s/sa.pub" % pki,
        "--service-account-signing-key-file=%s/sa.key" % pki,
        "--service-cluster-ip-range=10.96.0.0/16",
        "--allow-privileged=true",
        "--endpoint-reconciler-type=none",
        # API Priority and Fairness: beta and on by default in 1.20, as here.
        "--enable-priority-and-fairness=%s" % ("false" if a.no_apf else "true"),
        "--profiling=%s" % ("true" if os.environ.get("GS_APISERVER_PROFILING") else "false"),
        "--v=1",
    ] + os.environ.get("GS_APISERVER_EXTRA", "").split(), env=goenv)

    # Both retry until the API server answers: start them in parallel with it.
    if not a.no_nodesim:
        c.spawn("nodesim", [sys.executable, os.path.join(HERE, "nodesim.py"), "--server", server,
                            "--token-file", os.path.join(d, "admin-token"), "--cacert", ca,
                            "--nodes", str(a.nodes), "--ready-delay", str(a.ready_delay)])
    if not a.no_proxy:
        c.spawn("faultproxy", [sys.executable, os.path.join(HERE, "faultproxy.py"),
                               "--upstream", server, "--upstream-ca", ca,
                               "--cert", pki + "/proxy.crt", "--key", pki + "/proxy.key",
                               "--port", str(proxy_port), "--control-port", str(ctl_port)])

    ctx = ssl.create_default_context(cafile=ca)

    def api(path, method="GET", body=None):
        req = urllib.request.Request(server + path, method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": "Bearer " + admin_token,
                                              "Content-Type": "application/json"})
        with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
            return r.status, r.read()

    def wait(what, fn, name):
        while True:
            c.check_alive()
            try:
                if fn():
                    return
            except (urllib.error.URLError, OSError, ValueError, KeyError):
                pass
            if time.monotonic() - t0 > a.timeout:
                c.fail("timed out after %.0fs waiting for %s" % (a.timeout, what), name)
            time.sleep(0.1)

    wait("kube-apiserver /readyz", lambda: api("/readyz")[0] == 200, "kube-apiserver")
    phases = ["apiserver ready %.1fs" % (time.monotonic() - t0)]

    # Only now: the controller manager gives up (exit 255) when /healthz is
    # not ok within 10 s, which a loaded machine can exceed.
    c.spawn("kube-controller-manager", [
        os.path.join(binDir, "kube-controller-manager"),
        "--kubeconfig=" + os.path.join(d, "kubeconfig"),
        "--port=0", "--secure-port=0",
        "--leader-elect=false",
        "--use-service-account-credentials=false",
        "--service-account-private-key-file=%s/sa.key" % pki,
        "--root-ca-file=" + ca,
        "--cluster-signing-cert-file=" + ca, "--cluster-signing-key-file=%s/ca.key" % pki,
        # No kubelets heartbeat here: the node lifecycle controller would
        # mark the simulated nodes NotReady and evict their pods.
        "--controllers=*,-nodelifecycle,-cloud-node-lifecycle,-nodeipam,-route,-service",
        "--pvclaimbinder-sync-period=5s",
        "--kube-api-qps=200", "--kube-api-burst=400",
        "--profiling=%s" % ("true" if os.environ.get("GS_APISERVER_PROFILING") else "false"),
        "--v=1",
    ], env=goenv)

    # A default StorageClass served by the node simulator's provisioner.
    sc = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
          "metadata": {"name": "standard",
                       "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
          "provisioner": "gitsync.io/fake-provisioner", "reclaimPolicy": "Delete",
          "volumeBindingMode": "Immediate"}
    try:
        api("/apis/storage.k8s.io/v1/storageclasses", "POST", sc)
    except urllib.error.HTTPError as e:
        if e.code != 409:
            c.fail("cannot create the default StorageClass: HTTP %d" % e.code)

    def default_sa():
        sa = json.loads(api("/api/v1/namespaces/default/serviceaccounts/default")[1])
        return bool(sa.get("secrets"))   # 1.20: pods need the token secret
    wait("the default service account and its token", default_sa, "kube-controller-manager")
    phases.append("service account %.1fs" % (time.monotonic() - t0))
    if not a.no_nodesim:
        def nodes_ready():
            items = json.loads(api("/api/v1/nodes")[1]).get("items") or []
            ready = [n for n in items if any(x.get("type") == "Ready" and x.get("status") == "True"
                                             for x in (n.get("status") or {}).get("conditions") or [])
                     and not (n.get("spec") or {}).get("taints")]
            return len(ready) >= a.nodes
        wait("%d simulated nodes" % a.nodes, nodes_ready, "nodesim")
    if not a.no_proxy:
        def proxy_up():
            with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % ctl_port, timeout=2) as r:
                return r.status == 200
        wait("the fault proxy", proxy_up, "faultproxy")

    phases.append("all ready %.1fs" % (time.monotonic() - t0))
    if a.leash:
        logf = open(os.path.join(d, "logs", "watchdog.log"), "ab")
        w = subprocess.Popen([sys.executable, os.path.join(HERE, "watchdog.py"), d, str(a.leash)],
                             stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                             start_new_session=True, close_fds=True)
        logf.close()
        with open(os.path.join(d, "watchdog.pid"), "w") as f:
            f.write("watchdog %d %s\n" % (w.pid, proc_starttime(w.pid) or "-"))
    env = {
        "GS_CLUSTER_DIR": d,
        "KUBECONFIG": os.path.join(d, "kubeconfig"),
        "GS_APISERVER": server,
        "GS_CA": ca,
        "GS_ADMIN_TOKEN_FILE": os.path.join(d, "admin-token"),
        "GS_ETCD": etcd_url,
    }
    if not a.no_proxy:
        env.update({"GS_PROXY": proxy, "GS_PROXY_KUBECONFIG": os.path.join(d, "kubeconfig-proxy"),
                    "GS_PROXY_CONTROL": "http://127.0.0.1:%d" % ctl_port})
    with open(os.path.join(d, "env"), "w") as f:
        for k, v in env.items():
            f.write("%s='%s'\n" % (k, v))
    print("test cluster ready in %.1fs: %s (kubeconfig %s/kubeconfig%s) [%s]" % (
        time.monotonic() - t0, server, d, "" if a.no_proxy else ", proxy " + proxy, ", ".join(phases)))


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    main()
