#!/usr/bin/env python3
"""Node simulator for the gitsync test cluster (a tiny kwok).

There is no kubelet, scheduler, cloud provider or storage provisioner in the
test cluster; this process plays all four through the real API, so the real
controllers (Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, PV binder,
garbage collector, namespace) compute everything else:

  * registers N fake Nodes (Ready, capacity, no taints);
  * binds pending Pods to a node (POST .../binding; DaemonSet node affinity
    and nodeSelector honoured), then after --ready-delay sets them Running and
    Ready (containerStatuses, podIP, conditions); pods whose restartPolicy is
    not Always (Jobs, hooks) run to completion (Succeeded), or Failed when an
    image ends in ":fail" (CrashLoopBackOff under restartPolicy Always);
    annotation gitsync.io/test-phase: Succeeded|Failed|Pending forces the end;
    an image ending in ":broken" stays Waiting/ImagePullBackOff forever;
  * finishes graceful pod deletion (the kubelet's job) so namespaces and
    rollouts terminate;
  * provisions a PV pre-bound to each pending PVC (the real PV controller then
    binds them: phase Bound) and deletes released PVs it provisioned;
  * gives `type: LoadBalancer` Services an ingress IP unless annotated
    gitsync.io/test-lb: pending;
  * plays an ingress controller: every Ingress gets the controller's address
    in status.loadBalancer.ingress (as ingress-nginx publishes its Service's
    IP), unless annotated gitsync.io/test-lb: pending.

Python 3 standard library only.  Uses LIST+WATCH with relist on errors, so it
survives API server restarts.  Per-pod overrides: annotation
gitsync.io/test-ready-delay: "<seconds>".
"""
import argparse
import heapq
import http.client
import ipaddress
import json
import signal
import ssl
import sys
import threading
import time
import urllib.parse
from datetime import datetime, timezone

PROVISIONER = "gitsync.io/fake-provisioner"
ANN_LB = "gitsync.io/test-lb"
ANN_PHASE = "gitsync.io/test-phase"
ANN_DELAY = "gitsync.io/test-ready-delay"


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


def now_rfc3339():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class ApiError(Exception):
    def __init__(self, status, body):
        super().__init__("HTTP %d: %s" % (status, body[:300]))
        self.status = status


class Client:
    """One keep-alive HTTPS connection per thread to the API server."""

    def __init__(self, server, token, cafile):
        u = urllib.parse.urlsplit(server)
        self.host, self.port = u.hostname, u.port or 443
        self.token = token
        self.ctx = ssl.create_default_context(cafile=cafile)
        self.local = threading.local()

    def _conn(self, timeout):
        c = getattr(self.local, "conn", None)
        if c is None:
            c = http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=timeout)
            self.local.conn = c
        c.timeout = timeout
        if c.sock is not None:
            c.sock.settimeout(timeout)
        return c

    def _drop(self):
        c = getattr(self.local, "conn", None)
        if c is not None:
            c.close()
        self.local.conn = None

    def request(self, method, path, body=None, ctype="application/json", ok=(200, 201), timeout=30):
        data = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": "Bearer " + self.token, "Accept": "application/json",
                   "User-Agent": "gitsync-nodesim"}
        if data is not None:
            headers["Content-Type"] = ctype
        for attempt in (0, 1):
            c = self._conn(timeout)
            try:
                c.request(method, path, body=data, headers=headers)
                r = c.getresponse()
                raw = r.read()
                break
            except (OSError, http.client.HTTPException):
                self._drop()
                if attempt == 1:
                    raise
        if r.status not in ok:
            raise ApiError(r.status, raw.decode(errors="replace"))
        return json.loads(raw) if raw else None

    def watch(self, path):
        """Open a dedicated streaming connection; yields decoded events."""
        c = http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=400)
        try:
            c.request("GET", path, headers={"Authorization": "Bearer " + self.token,
                                            "Accept": "application/json",
                                            "User-Agent": "gitsync-nodesim"})
            r = c.getresponse()
            if r.status != 200:
                raise ApiError(r.status, r.read().decode(errors="replace"))
            while True:
                line = r.readline()
                if not line:
                    return
                line = line.strip()
                if line:
                    yield json.loads(line)
        finally:
            c.close()


class Sim:
    def __init__(self, args):
        self.args = args
        self.api = Client(args.server, args.token, args.cacert)
        self.lock = threading.Lock()
        self.cv = threading.Condition(self.lock)
        self.queue = []          # heap of (due, seq, kind, key)
        self.queued = {}         # (kind, key) -> earliest due
        self.seq = 0
        self.cache = {"pods": {}, "pvcs": {}, "pvs": {}, "services": {}, "ingresses": {}}
        self.bound_at = {}       # pod uid -> monotonic time we saw it on a node
        self.done = {}           # pod uid -> final state we set ("running", ...)
        self.nodes = ["%s-%d" % (args.node_prefix, i + 1) for i in range(args.nodes)]
        self.node_labels = {}
        self.rr = 0
        self.ip_next = int(ipaddress.ip_address("10.244.0.10"))
        self.lb_next = int(ipaddress.ip_address("172.18.255.1"))
        self.ingress_ip = None   # the simulated ingress controller's address
        self.sc_cache = {}
        self.stop = threading.Event()

    # ---- queue ------------------------------------------------------------
    def enqueue(self, kind, key, delay=0.0):
        due = time.monotonic() + delay
        with self.cv:
            prev = self.queued.get((kind, key))
            if prev is not None and prev <= due:
                return
            self.queued[(kind, key)] = due
            self.seq += 1
            heapq.heappush(self.queue, (due, self.seq, kind, key))
            self.cv.notify()

    def next_item(self):
        with self.cv:
            while not self.stop.is_set():
                if self.queue:
                    due, _, kind, key = self.queue[0]
                    wait = due - time.monotonic()
                    if wait <= 0:
                        heapq.heappop(self.queue)
                        if self.queued.get((kind, key)) == due:
                            del self.queued[(kind, key)]
                            return kind, key
                        continue
                    self.cv.wait(min(wait, 1.0))
                else:
                    self.cv.wait(1.0)
        return None

    def worker(self):
        while not self.stop.is_set():
            item = self.next_item()
            if item is None:
                return
            kind, key = item
            with self.lock:
                obj = self.cache[kind].get(key)
            if obj is None:
                continue
            try:
                getattr(self, "sync_" + kind)(obj)
            except ApiError as e:
                if e.status in (404, 409):
                    continue   # gone or changed: the watch brings the new state
                log("sync %s %s: %s" % (kind, key, e))
                self.enqueue(kind, key, 1.0)
            except (OSError, http.client.HTTPException, ValueError) as e:
                log("sync %s %s: %s" % (kind, key, e))
                self.enqueue(kind, key, 1.0)

    # ---- list + watch -----------------------------------------------------
    def informer(self, kind, path, on_relist=None):
        backoff = 0.2
        while not self.stop.is_set():
            try:
                lst = self.api.request("GET", path)
                rv = lst["metadata"]["resourceVersion"]
                fresh = {}
                for o in lst.get("items") or []:
                    fresh[self.key(o)] = o
                with self.lock:
                    self.cache[kind] = fresh
                if on_relist:
                    on_relist()
                for k in fresh:
                    self.enqueue(kind, k)
                backoff = 0.2
                sep = "&" if "?" in path else "?"
                while not self.stop.is_set():
                    wpath = "%s%swatch=1&allowWatchBookmarks=true&timeoutSeconds=300&resourceVersion=%s" % (path, sep, rv)
                    for ev in self.api.watch(wpath):
                        t, o = ev.get("type"), ev.get("object") or {}
                        if t == "ERROR":
                            raise ApiError(o.get("code", 500), o.get("message", ""))
                        rv = o.get("metadata", {}).get("resourceVersion", rv)
                        if t == "BOOKMARK":
                            continue
                        k = self.key(o)
                        with self.lock:
                            if t == "DELETED":
                                self.cache[kind].pop(k, None)
                                if kind == "pods":
                                    uid = o["metadata"].get("uid")
                                    self.bound_at.pop(uid, None)
                                    self.done.pop(uid, None)
                            else:
                                self.cache[kind][k] = o
                        if t != "DELETED":
                            self.enqueue(kind, k)
            except ApiError as e:
                if e.status != 410:
                    log("%s watch: %s" % (kind, e))
                    # 404/403 (API not served, RBAC) would otherwise relist in a tight loop
                    time.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
            except (OSError, http.client.HTTPException, ValueError, KeyError) as e:
                log("%s watch: %s (API server down? retrying)" % (kind, e))
                time.sleep(backoff)
                backoff = min(backoff * 2, 1.0)

    @staticmethod
    def key(o):
        m = o.get("metadata", {})
        return "%s/%s" % (m.get("namespace", ""), m.get("name", ""))

    def resync(self):
        while not self.stop.wait(self.args.resync):
            with self.lock:
                keys = [(k, key) for k, objs in self.cache.items() for key in objs]
            for kind, key in keys:
                self.enqueue(kind, key)

    # ---- nodes ------------------------------------------------------------
    def ensure_nodes(self):
        for i, name in enumerate(self.nodes):
            labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                      "kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
                      "beta.kubernetes.io/arch": "amd64", "type": "gitsync-fake"}
            self.node_labels[name] = labels
            try:
                node = self.api.request("GET", "/api/v1/nodes/" + name)
            except ApiError as e:
                if e.status != 404:
                    raise
                node = self.api.request("POST", "/api/v1/nodes", {
                    "apiVersion": "v1", "kind": "Node",
                    "metadata": {"name": name, "labels": labels},
                    "spec": {}}, ok=(201, 409))
                log("registered node", name)
            if (node.get("spec") or {}).get("taints"):
                # TaintNodesByCondition adds not-ready on create; the node
                # lifecycle controller (disabled here) would lift it.
                self.api.request("PATCH", "/api/v1/nodes/" + name, {"spec": {"taints": None}},
                                 ctype="application/merge-patch+json")
            conds = {c.get("type"): c.get("status") for c in (node.get("status") or {}).get("conditions") or []}
            if conds.get("Ready") != "True":
                ts = now_rfc3339()
                cap = {"cpu": str(self.args.node_cpu), "memory": self.args.node_memory,
                       "pods": "110", "ephemeral-storage": "100Gi"}

                def cond(t, s, reason, msg):
                    return {"type": t, "status": s, "reason": reason, "message": msg,
                            "lastHeartbeatTime": ts, "lastTransitionTime": ts}
                status = {
                    "capacity": cap, "allocatable": cap, "phase": "Running",
                    "conditions": [
                        cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                        cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                        cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                        cond("Ready", "True", "KubeletReady", "kubelet is posting ready status (simulated)"),
                    ],
                    "addresses": [{"type": "InternalIP", "address": "10.89.0.%d" % (i + 2)},
                                  {"type": "Hostname", "address": name}],
                    "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                    "nodeInfo": {"machineID": "gitsync-%d" % i, "systemUUID": "gitsync-%d" % i,
                                 "bootID": "gitsync-%d" % i, "kernelVersion": "5.10.0",
                                 "osImage": "gitsync node simulator", "containerRuntimeVersion": "fake://1.0",
                                 "kubeletVersion": "v1.20.2", "kubeProxyVersion": "v1.20.2",
                                 "operatingSystem": "linux", "architecture": "amd64"},
                }
                self.api.request("PATCH", "/api/v1/nodes/%s/status" % name, {"status": status},
                                 ctype="application/merge-patch+json")

    def node_loop(self):
        backoff = 0.2
        while not self.stop.is_set():
            try:
                self.ensure_nodes()
                backoff = 0.2
                if self.stop.wait(self.args.resync):
                    return
            except (ApiError, OSError, http.client.HTTPException, ValueError) as e:
                log("nodes: %s" % e)
                time.sleep(backoff)
                backoff = min(backoff * 2, 1.0)

    # ---- pods -------------------------------------------------------------
    def pick_node(self, pod):
        spec = pod.get("spec") or {}
        cands = list(self.nodes)
        sel = spec.get("nodeSelector") or {}
        cands = [n for n in cands if all(self.node_labels.get(n, {}).get(k) == v for k, v in sel.items())]
        req = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
               .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
        terms = req.get("nodeSelectorTerms") or []
        if terms:
            def term_ok(n, term):
                for f in term.get("matchFields") or []:
                    if f.get("key") == "metadata.name":
                        vals = f.get("values") or []
                        if f.get("operator") == "In" and n not in vals:
                            return False
                        if f.get("operator") == "NotIn" and n in vals:
                            return False
                for e in term.get("matchExpressions") or []:
                    v = self.node_labels.get(n, {}).get(e.get("key"))
                    op, vals = e.get("operator"), e.get("values") or []
                    if op == "In" and v not in vals:
                        return False
                    if op == "NotIn" and v in vals:
                        return False
                    if op == "Exists" and v is None:
                        return False
                    if op == "DoesNotExist" and v is not None:
                        return False
                return True
            cands = [n for n in cands if any(term_ok(n, t) for t in terms)]
        if not cands:
            return None
        self.rr += 1
        return cands[self.rr % len(cands)]

    def next_ip(self, attr):
        with self.lock:
            v = getattr(self, attr)
            setattr(self, attr, v + 1)
        return str(ipaddress.ip_address(v))

    def pod_path(self, pod, sub=""):
        m = pod["metadata"]
        return "/api/v1/namespaces/%s/pods/%s%s" % (m["namespace"], m["name"], sub)

    def patch_pod_status(self, pod, status):
        self.api.request("PATCH", self.pod_path(pod, "/status"), {"status": status},
                         ctype="application/merge-patch+json")

    def sync_pods(self, pod):
        m, spec = pod["metadata"], pod.get("spec") or {}
        status = pod.get("status") or {}
        uid = m.get("uid")
        if m.get("deletionTimestamp"):
            # The kubelet's half of graceful deletion: the containers are
            # "stopped", so remove the object for good.
            if spec.get("nodeName"):
                self.api.request("DELETE", self.pod_path(pod), {
                    "apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0,
                    "preconditions": {"uid": uid}}, ok=(200, 202))
            return
        if spec.get("schedulerName", "default-scheduler") != "default-scheduler":
            return
        if status.get("phase") in ("Succeeded", "Failed"):
            return
        node = spec.get("nodeName")
        if not node:
            node = self.pick_node(pod)
            if node is None:
                if not any(c.get("reason") == "Unschedulable" for c in status.get("conditions") or []):
                    self.patch_pod_status(pod, {"conditions": [{
                        "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                        "message": "0/%d nodes are available: node(s) didn't match node selector." % len(self.nodes),
                        "lastTransitionTime": now_rfc3339()}]})
                return
            self.api.request("POST", self.pod_path(pod, "/binding"), {
                "apiVersion": "v1", "kind": "Binding",
                "metadata": {"name": m["name"], "namespace": m["namespace"], "uid": uid},
                "target": {"apiVersion": "v1", "kind": "Node", "name": node}})
            # The watch delivers the bound pod; carry on from there.
            with self.lock:
                self.bound_at.setdefault(uid, time.monotonic())
            return
        with self.lock:
            t0 = self.bound_at.setdefault(uid, time.monotonic())
            state = self.done.get(uid)
        ann = m.get("annotations") or {}
        containers = spec.get("containers") or []
        inits = spec.get("initContainers") or []
        broken = [c for c in inits + containers if str(c.get("image", "")).endswith(":broken")]
        ts = now_rfc3339()
        start = status.get("startTime") or ts
        ip = status.get("podIP") or self.next_ip("ip_next")
        host_ip = "10.89.0.%d" % (self.nodes.index(node) + 2 if node in self.nodes else 254)

        def cond(t, s, reason=None, msg=None):
            c = {"type": t, "status": s, "lastProbeTime": None, "lastTransitionTime": ts}
            if reason:
                c["reason"] = reason
            if msg:
                c["message"] = msg
            return c

        base = {"hostIP": host_ip, "podIP": ip, "podIPs": [{"ip": ip}], "startTime": start,
                "qosClass": status.get("qosClass", "BestEffort")}
        if broken:
            if state == "broken":
                return
            names = [c["name"] for c in containers]
            waiting = {"waiting": {"reason": "ImagePullBackOff",
                                   "message": 'Back-off pulling image "%s"' % broken[0]["image"]}}
            base.update({
                "phase": "Pending",
                "conditions": [cond("Initialized", "True"),
                               cond("Ready", "False", "ContainersNotReady", "containers with unready status: [%s]" % " ".join(names)),
                               cond("ContainersReady", "False", "ContainersNotReady", "containers with unready status: [%s]" % " ".join(names)),
                               cond("PodScheduled", "True")],
                "containerStatuses": [{"name": c["name"], "image": c.get("image", ""), "imageID": "",
                                       "ready": False, "started": False, "restartCount": 0,
                                       "state": waiting if c in broken else {"waiting": {"reason": "PodInitializing"}},
                                       "lastState": {}} for c in containers],
            })
            self.patch_pod_status(pod, base)
            with self.lock:
                self.done[uid] = "broken"
            return
        delay = self.args.ready_delay
        if ANN_DELAY in ann:
            try:
                delay = float(ann[ANN_DELAY].rstrip("s"))
            except ValueError:
                pass
        remaining = t0 + delay - time.monotonic()
        if remaining > 0:
            if state is None and delay > 0:
                base.update({
                    "phase": "Pending",
                    "conditions": [cond("Initialized", "True"),
                                   cond("Ready", "False", "ContainersNotReady", "containers with unready status"),
                                   cond("ContainersReady", "False", "ContainersNotReady", "containers with unready status"),
                                   cond("PodScheduled", "True")],
                    "containerStatuses": [{"name": c["name"], "image": c.get("image", ""), "imageID": "",
                                           "ready": False, "started": False, "restartCount": 0,
                                           "state": {"waiting": {"reason": "ContainerCreating"}},
                                           "lastState": {}} for c in containers],
                })
                self.patch_pod_status(pod, base)
                with self.lock:
                    self.done[uid] = "creating"
            self.enqueue("pods", self.key(pod), remaining)
            return
        if state in ("running", "succeeded", "failed", "crashloop"):
            return
        # A container "exits" unless restartPolicy is Always: pods of Jobs and
        # hook pods run to completion; an image ending in ":fail" exits 1.
        restart = spec.get("restartPolicy", "Always")
        failing = [c for c in containers if str(c.get("image", "")).endswith(":fail")]
        final = ann.get(ANN_PHASE)
        if final is None:
            if failing:
                final = "CrashLoop" if restart == "Always" else "Failed"
            elif restart != "Always":
                final = "Succeeded"
        init_st = [{"name": c["name"], "image": c.get("image", ""), "imageID": "fake://" + c.get("image", ""),
                    "containerID": "fake://%s-%s" % (uid, c["name"]), "ready": True, "restartCount": 0,
                    "state": {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": ts, "finishedAt": ts}},
                    "lastState": {}} for c in inits]
        if final in ("Succeeded", "Failed"):
            if state in ("succeeded", "failed"):
                return
            code = 0 if final == "Succeeded" else 1
            reason = "Completed" if code == 0 else "Error"
            base.update({
                "phase": final,
                "conditions": [cond("Initialized", "True"),
                               cond("Ready", "False", "PodCompleted" if code == 0 else "ContainersNotReady"),
                               cond("ContainersReady", "False", "PodCompleted" if code == 0 else "ContainersNotReady"),
                               cond("PodScheduled", "True")],
                "containerStatuses": [{"name": c["name"], "image": c.get("image", ""),
                                       "imageID": "fake://" + c.get("image", ""),
                                       "containerID": "fake://%s-%s" % (uid, c["name"]),
                                       "ready": False, "started": False, "restartCount": 0,
                                       "state": {"terminated": {"exitCode": code, "reason": reason,
                                                                "startedAt": start, "finishedAt": ts}},
                                       "lastState": {}} for c in containers],
            })
            if init_st:
                base["initContainerStatuses"] = init_st
            self.patch_pod_status(pod, base)
            with self.lock:
                self.done[uid] = final.lower()
            return
        if final == "Pending":
            return
        if final == "CrashLoop":
            if state == "crashloop":
                return
            term = {"terminated": {"exitCode": 1, "reason": "Error", "startedAt": ts, "finishedAt": ts}}
            names = [c["name"] for c in failing]
            base.update({
                "phase": "Running",
                "conditions": [cond("Initialized", "True"),
                               cond("Ready", "False", "ContainersNotReady", "containers with unready status: [%s]" % " ".join(names)),
                               cond("ContainersReady", "False", "ContainersNotReady", "containers with unready status: [%s]" % " ".join(names)),
                               cond("PodScheduled", "True")],
                "containerStatuses": [{"name": c["name"], "image": c.get("image", ""),
                                       "imageID": "fake://" + c.get("image", ""),
                                       "containerID": "fake://%s-%s" % (uid, c["name"]),
                                       "ready": c not in failing, "started": c not in failing,
                                       "restartCount": 5 if c in failing else 0,
                                       "state": ({"waiting": {"reason": "CrashLoopBackOff",
                                                              "message": "back-off 5m0s restarting failed container=%s pod=%s" % (c["name"], m["name"])}}
                                                 if c in failing else {"running": {"startedAt": ts}}),
                                       "lastState": term if c in failing else {}}
                                      for c in containers],
            })
            if init_st:
                base["initContainerStatuses"] = init_st
            self.patch_pod_status(pod, base)
            with self.lock:
                self.done[uid] = "crashloop"
            return
        base.update({
            "phase": "Running",
            "conditions": [cond("Initialized", "True"), cond("Ready", "True"),
                           cond("ContainersReady", "True"), cond("PodScheduled", "True")],
            "containerStatuses": [{"name": c["name"], "image": c.get("image", ""),
                                   "imageID": "fake://" + c.get("image", ""),
                                   "containerID": "fake://%s-%s" % (uid, c["name"]),
                                   "ready": True, "started": True, "restartCount": 0,
                                   "state": {"running": {"startedAt": ts}}, "lastState": {}}
                                  for c in containers],
        })
        if init_st:
            base["initContainerStatuses"] = init_st
        self.patch_pod_status(pod, base)
        with self.lock:
            self.done[uid] = "running"

    # ---- storage ----------------------------------------------------------
    def storage_class(self, name):
        if name in self.sc_cache:
            return self.sc_cache[name]
        try:
            sc = self.api.request("GET", "/apis/storage.k8s.io/v1/storageclasses/" + name)
        except ApiError as e:
            if e.status != 404:
                raise
            sc = None
        if sc is not None:
            self.sc_cache[name] = sc
        return sc

    def sync_pvcs(self, pvc):
        m, spec = pvc["metadata"], pvc.get("spec") or {}
        if m.get("deletionTimestamp") or spec.get("volumeName"):
            return
        if (pvc.get("status") or {}).get("phase") not in (None, "Pending"):
            return
        cls = spec.get("storageClassName")
        if cls:
            sc = self.storage_class(cls)
            if sc is None or sc.get("provisioner") != PROVISIONER:
                return   # not ours to provision (static binding or unknown class)
        elif cls == "":
            return       # explicitly no class: static binding only
        size = ((spec.get("resources") or {}).get("requests") or {}).get("storage", "1Gi")
        name = "pvc-" + m["uid"]
        pv = {
            "apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": {"name": name, "annotations": {"pv.kubernetes.io/provisioned-by": PROVISIONER},
                         "labels": {"type": "gitsync-fake"}},
            "spec": {
                "capacity": {"storage": size},
                "accessModes": spec.get("accessModes") or ["ReadWriteOnce"],
                "persistentVolumeReclaimPolicy": "Delete",
                "volumeMode": spec.get("volumeMode") or "Filesystem",
                "hostPath": {"path": "/nonexistent/gitsync-fake-pv/" + name},
                "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                             "namespace": m["namespace"], "name": m["name"], "uid": m["uid"]},
            },
        }
        if cls:
            pv["spec"]["storageClassName"] = cls
        self.api.request("POST", "/api/v1/persistentvolumes", pv, ok=(201, 409))

    def sync_pvs(self, pv):
        m, spec = pv["metadata"], pv.get("spec") or {}
        if ((m.get("annotations") or {}).get("pv.kubernetes.io/provisioned-by") == PROVISIONER
                and (pv.get("status") or {}).get("phase") == "Released"
                and spec.get("persistentVolumeReclaimPolicy") == "Delete"
                and not m.get("deletionTimestamp")):
            self.api.request("DELETE", "/api/v1/persistentvolumes/" + m["name"], ok=(200, 202))

    # ---- services ---------------------------------------------------------
    def sync_services(self, svc):
        m, spec = svc["metadata"], svc.get("spec") or {}
        if spec.get("type") != "LoadBalancer" or m.get("deletionTimestamp"):
            return
        if (m.get("annotations") or {}).get(ANN_LB) == "pending":
            return
        if ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress"):
            return
        ip = self.next_ip("lb_next")
        self.api.request("PATCH", "/api/v1/namespaces/%s/services/%s/status" % (m["namespace"], m["name"]),
                         {"status": {"loadBalancer": {"ingress": [{"ip": ip}]}}},
                         ctype="application/merge-patch+json")

    # ---- ingresses --------------------------------------------------------
    def sync_ingresses(self, ing):
        m = ing["metadata"]
        if m.get("deletionTimestamp") or (m.get("annotations") or {}).get(ANN_LB) == "pending":
            return
        if ((ing.get("status") or {}).get("loadBalancer") or {}).get("ingress"):
            return
        if self.ingress_ip is None:
            self.ingress_ip = self.next_ip("lb_next")
        self.api.request("PATCH", "/apis/networking.k8s.io/v1/namespaces/%s/ingresses/%s/status"
                         % (m["namespace"], m["name"]),
                         {"status": {"loadBalancer": {"ingress": [{"ip": self.ingress_ip}]}}},
                         ctype="application/merge-patch+json")

    # ---- main -------------------------------------------------------------
    def run(self):
        threads = [threading.Thread(target=self.node_loop, daemon=True),
                   threading.Thread(target=self.resync, daemon=True)]
        for kind, path in (("pods", "/api/v1/pods"),
                           ("pvcs", "/api/v1/persistentvolumeclaims"),
                           ("pvs", "/api/v1/persistentvolumes"),
                           ("services", "/api/v1/services"),
                           ("ingresses", "/apis/networking.k8s.io/v1/ingresses")):
            threads.append(threading.Thread(target=self.informer, args=(kind, path), daemon=True))
        for _ in range(self.args.workers):
            threads.append(threading.Thread(target=self.worker, daemon=True))
        for t in threads:
            t.start()
        log("node simulator: %d nodes, ready delay %.1fs, server %s" % (
            len(self.nodes), self.args.ready_delay, self.args.server))
        while not self.stop.wait(1.0):
            pass


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--server", required=True, help="https://127.0.0.1:PORT")
    p.add_argument("--token-file", required=True)
    p.add_argument("--cacert", required=True)
    p.add_argument("--nodes", type=int, default=3)
    p.add_argument("--node-prefix", default="gs-node")
    p.add_argument("--node-cpu", default="8")
    p.add_argument("--node-memory", default="32Gi")
    p.add_argument("--ready-delay", type=float, default=1.0, help="seconds from binding to Running/Ready")
    p.add_argument("--resync", type=float, default=30.0)
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args()
    with open(args.token_file) as f:
        args.token = f.read().strip()
    sim = Sim(args)

    def term(*_):
        sim.stop.set()
        sys.exit(0)
    signal.signal(signal.SIGTERM, term)
    signal.signal(signal.SIGINT, term)
    sim.run()


if __name__ == "__main__":
    main()
