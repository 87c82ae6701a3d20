#!/usr/bin/env python3
"""examples/deploy and `gitsync install` apply the same hardened objects
(issue 12).  Both are rendered by gitsync itself to JSON (no cluster): the
kustomization of examples/deploy, and `gitsync install --dry-run` in the
namespace the example uses.  Every object must be in both and equal field by
field (a difference is named by its path), and the hardening is asserted on
its own so that losing it in both places fails too: non-root Pod with
seccomp RuntimeDefault, container without privilege escalation or
capabilities and with a read-only root, writable cache and /tmp volumes,
RBAC without wildcards except the documented managed-objects rule.
"""
import json
import os
import subprocess
import sys
import tempfile

root = os.environ.get("GS_SOURCE_ROOT") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
g = os.environ.get("GITSYNC") or os.path.join(root, "build", "agent", "gitsync")
n = 0
failed = 0


def check(name, ok, diag=None):
    global n, failed
    n += 1
    print("%s %d - %s" % ("ok" if ok else "not ok", n, name))
    if not ok:
        failed += 1
        for line in (diag or "").splitlines()[:40]:
            print("# " + line)


def render(path):
    out = subprocess.run([g, "render", path, "-o", "json"], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit("Bail out! gitsync render %s: %s" % (path, out.stderr.strip()))
    return json.loads(out.stdout)["items"]


def key(o):
    m = o.get("metadata", {})
    return "%s/%s/%s" % (o.get("kind"), m.get("namespace", ""), m.get("name"))


def diff(a, b, path=""):
    """Paths where a and b differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            p = "%s.%s" % (path, k)
            if k not in a:
                out.append("%s: only in install (%s)" % (p, json.dumps(b[k])[:120]))
            elif k not in b:
                out.append("%s: only in examples/deploy (%s)" % (p, json.dumps(a[k])[:120]))
            else:
                out += diff(a[k], b[k], p)
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            out += diff(x, y, "%s[%d]" % (path, i))
        return out
    if a != b:
        return ["%s: examples/deploy %s, install %s" % (path, json.dumps(a)[:120],
                                                         json.dumps(b)[:120])]
    return []


if not os.access(g, os.X_OK):
    print("1..0 # SKIP gitsync binary not built")
    sys.exit(0)

deploy = {key(o): o for o in render(os.path.join(root, "examples", "deploy"))}
with tempfile.TemporaryDirectory() as tmp:
    f = os.path.join(tmp, "install.yaml")
    with open(f, "w") as fh:
        r = subprocess.run([g, "install", "--dry-run", "--namespace", "gitsync"], stdout=fh,
                           stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        print("Bail out! gitsync install --dry-run: " + r.stderr.strip())
        sys.exit(1)
    install = {key(o): o for o in render(f)}

# The default Project: install creates it (unless one exists); with
# examples/deploy the agent creates it at startup (kustomization.yaml says why).
install.pop("Project/gitsync/default", None)

only_d = sorted(set(deploy) - set(install))
only_i = sorted(set(install) - set(deploy))
check("the same objects (%d) in examples/deploy and gitsync install" % len(deploy),
      not only_d and not only_i,
      "only in examples/deploy: %s\nonly in install: %s" % (only_d, only_i))
for k in sorted(set(deploy) & set(install)):
    d = diff(deploy[k], install[k])
    check("%s: equal in examples/deploy and gitsync install" % k, not d, "\n".join(d))

# ---- the hardening itself, in what install applies
dep = install.get("Deployment/gitsync/gitsync-agent", {})
pod = dep.get("spec", {}).get("template", {}).get("spec", {})
psc = pod.get("securityContext", {})
check("Pod: runAsNonRoot, a non-zero runAsUser, seccomp RuntimeDefault",
      psc.get("runAsNonRoot") is True and psc.get("runAsUser", 0) > 0
      and psc.get("seccompProfile", {}).get("type") == "RuntimeDefault", json.dumps(psc))
ctrs = pod.get("containers", [])
check("one container", len(ctrs) == 1, json.dumps([c.get("name") for c in ctrs]))
c = ctrs[0] if ctrs else {}
csc = c.get("securityContext", {})
check("container: readOnlyRootFilesystem, no privilege escalation, capabilities drop ALL",
      csc.get("readOnlyRootFilesystem") is True and csc.get("allowPrivilegeEscalation") is False
      and csc.get("capabilities", {}).get("drop") == ["ALL"] and not csc.get("privileged")
      and not csc.get("capabilities", {}).get("add"), json.dumps(csc))
mounts = {m.get("mountPath"): m.get("name") for m in c.get("volumeMounts", [])}
vols = {v.get("name"): v for v in pod.get("volumes", [])}
env = {e.get("name"): e.get("value") for e in c.get("env", [])}
cache = env.get("GITSYNC_CACHE_DIR")
check("writable emptyDir volumes for the Git cache (GITSYNC_CACHE_DIR) and /tmp (ssh)",
      cache in mounts and "/tmp" in mounts
      and all("emptyDir" in vols.get(mounts[p], {}) for p in (cache, "/tmp")),
      "mounts %s, cache %s" % (json.dumps(mounts), cache))
check("resources: requests and a memory limit",
      bool(c.get("resources", {}).get("requests"))
      and bool(c.get("resources", {}).get("limits", {}).get("memory")), json.dumps(c.get("resources")))
check("no host namespaces, no automount beyond the agent's ServiceAccount",
      not pod.get("hostNetwork") and not pod.get("hostPID") and not pod.get("hostIPC")
      and pod.get("serviceAccountName") == "gitsync-agent", json.dumps(pod.get("serviceAccountName")))

# RBAC: wildcards only in the managed-objects ClusterRole (what apps deploy,
# documented in rbac.yaml); Secrets readable with get only (secretRef), listed
# and watched only in the agent's namespace (credential templates, kept from
# their watch: watch reads nothing list does not).
wild = []
for k, o in install.items():
    if o.get("kind") not in ("ClusterRole", "Role"):
        continue
    for r in o.get("rules", []):
        star = "*" in r.get("verbs", []) or "*" in r.get("resources", []) or \
            "*" in r.get("apiGroups", [])
        if star and o["metadata"]["name"] != "gitsync-agent-managed":
            wild.append("%s: %s" % (k, json.dumps(r)))
        if "*" in r.get("verbs", []) or "escalate" in r.get("verbs", []) or \
                "bind" in r.get("verbs", []):
            wild.append("%s: verbs %s" % (k, r.get("verbs")))
        if "secrets" in r.get("resources", []) and \
                set(r.get("verbs", [])) - {"get", "list", "watch"}:
            wild.append("%s: secrets %s" % (k, r.get("verbs")))
        if "secrets" in r.get("resources", []) and \
                {"list", "watch"} & set(r.get("verbs", [])) and o.get("kind") != "Role":
            wild.append("%s: secrets listed or watched cluster-wide" % k)
check("RBAC: no wildcard outside gitsync-agent-managed, no '*'/escalate/bind verbs, "
      "Secrets get-only cluster-wide, listed and watched only in the agent's namespace",
      not wild, "\n".join(wild))
crole = install.get("ClusterRole//gitsync-agent-managed", {})
check("impersonation limited to serviceaccounts",
      any(r.get("verbs") == ["impersonate"] and r.get("resources") == ["serviceaccounts"]
          for r in crole.get("rules", [])) and
      not any("impersonate" in r.get("verbs", []) and r.get("resources") != ["serviceaccounts"]
              for o in install.values() for r in o.get("rules", [])),
      json.dumps(crole.get("rules")))

print("1..%d" % n)
sys.exit(1 if failed else 0)
