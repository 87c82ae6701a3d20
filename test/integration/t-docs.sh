#!/usr/bin/env bash
# Docs cannot rot: run every shell command shown in docs/*.md, one TAP line
# per command, and check what else the docs promise.
#
#  - Every ```sh block of docs/*.md is split into commands (a line; `\`
#    continuations and heredocs kept with their command; comments dropped).
#    A block runs in one bash from the repository root, so its commands share
#    variables; `gitsync` is the binary under test, first on PATH; HOME, the
#    Git cache and KUBECONFIG point into a scratch directory (no real cluster
#    is ever touched).  Each command must exit 0.
#  - Markers, an HTML comment on the line before the block (documented in
#    docs/concepts.md#testing-the-docs):
#      <!-- doc-test: cluster -->   needs a real cluster / forge / pod: SKIP
#      <!-- doc-test: exit=N -->    every command of the block must exit N
#  - docs/cli.md is exactly what scripts/gen-cli-doc.sh prints for this binary.
#  - Relative links (and #anchors) in README.md, docs/*.md and examples/*/README.md resolve.
#  - Every `gitsync` command of examples/ci/ is accepted by the CLI (no usage
#    error), run against an unreachable agent or kubeconfig.
set -uo pipefail
src="${GS_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}"
gitsync="${GITSYNC:-$src/build/agent/gitsync}"
if [ ! -x "$gitsync" ]; then echo "1..0 # SKIP no gitsync binary"; exit 0; fi
command -v python3 >/dev/null || { echo "1..0 # SKIP python3 missing"; exit 0; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin" "$work/home"
ln -s "$(cd "$(dirname "$gitsync")" && pwd)/$(basename "$gitsync")" "$work/bin/gitsync"

GS_SRC="$src" GS_WORK="$work" GS_GITSYNC="$gitsync" python3 - <<'PY'
import json, os, re, subprocess, sys

src, work, gitsync = os.environ["GS_SRC"], os.environ["GS_WORK"], os.environ["GS_GITSYNC"]
n = 0
failed = 0

def tap(ok, desc, skip=None, diag=None):
    global n, failed
    n += 1
    desc = desc.replace("#", "\\#")
    if skip:
        print("ok %d - %s # SKIP %s" % (n, desc, skip))
        return
    print("%s %d - %s" % ("ok" if ok else "not ok", n, desc))
    if not ok:
        failed += 1
        for line in (diag or "").rstrip().splitlines()[-25:]:
            print("#   " + line)
    sys.stdout.flush()

env = dict(os.environ)
env.update({"PATH": work + "/bin:" + os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": work + "/home", "KUBECONFIG": work + "/no-kubeconfig",
            "GITSYNC_CACHE_DIR": work + "/cache", "NO_COLOR": "1", "TERM": "dumb"})
for k in ("GITSYNC_SERVER", "GITSYNC_AUTH_TOKEN", "GITSYNC_APP_NAMESPACE"):
    env.pop(k, None)

# ---- 1. commands of the ```sh blocks ------------------------------------
MARK = re.compile(r"<!--\s*doc-test:\s*(.*?)\s*-->")
HEREDOC = re.compile(r"<<-?\s*(['\"]?)([A-Za-z_]+)\1")

def blocks(path):
    lines = open(path).read().split("\n")
    i, marker = 0, ""
    while i < len(lines):
        m = MARK.search(lines[i])
        if m:
            marker = m.group(1)
        elif lines[i].strip() == "```sh":
            start, body = i + 1, []
            i += 1
            while i < len(lines) and lines[i].strip() != "```":
                body.append((i + 1, lines[i]))
                i += 1
            yield start, marker, body
            marker = ""
        elif lines[i].strip():
            marker = ""
        i += 1

def commands(body):
    cmds, k = [], 0
    while k < len(body):
        lineno, text = body[k]
        k += 1
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        parts = [text]
        while parts[-1].endswith("\\") and k < len(body):
            parts.append(body[k][1])
            k += 1
        h = HEREDOC.search(parts[-1])
        if h:
            while k < len(body):
                parts.append(body[k][1])
                k += 1
                if parts[-1].strip() == h.group(2):
                    break
        cmds.append((lineno, "\n".join(parts)))
    return cmds

docs = sorted(os.path.join(src, "docs", f) for f in os.listdir(os.path.join(src, "docs"))
              if f.endswith(".md"))
for doc in docs:
    rel = os.path.relpath(doc, src)
    for bno, (start, marker, body) in enumerate(blocks(doc)):
        cmds = commands(body)
        want = 0
        m = re.match(r"exit=(\d+)$", marker)
        if m:
            want = int(m.group(1))
        if marker == "cluster":
            for lineno, c in cmds:
                tap(True, "%s:%d: %s" % (rel, lineno, c.splitlines()[0][:100]),
                    skip="needs a real cluster")
            continue
        if marker and not m:
            tap(False, "%s:%d: unknown doc-test marker '%s'" % (rel, start - 1, marker))
            continue
        script = ["cd %s || exit 99" % json.dumps(src)]
        outs = []
        for j, (lineno, c) in enumerate(cmds):
            out = "%s/out.%d.%d" % (work, bno, j)
            outs.append(out)
            script.append("{ %s\n} >%s 2>&1 </dev/null; echo $? >%s.rc" % (c, out, out))
        try:
            subprocess.run(["bash", "-c", "\n".join(script)], env=env, timeout=300)
        except subprocess.TimeoutExpired:
            pass
        for (lineno, c), out in zip(cmds, outs):
            try:
                rc = int(open(out + ".rc").read())
            except (OSError, ValueError):
                rc = None
            text = open(out).read() if os.path.exists(out) else ""
            desc = "%s:%d: %s" % (rel, lineno, c.splitlines()[0][:100])
            if rc != want:
                desc += " (exit %s, want %d)" % (rc, want)
            tap(rc == want, desc, diag=text)

# ---- 2. docs/cli.md matches --help ---------------------------------------
r = subprocess.run(["bash", os.path.join(src, "scripts/gen-cli-doc.sh"), gitsync],
                   capture_output=True, text=True, env=env)
cli = os.path.join(src, "docs/cli.md")
have = open(cli).read() if os.path.exists(cli) else ""
if r.returncode == 0 and r.stdout == have:
    tap(True, "docs/cli.md matches the binary's --help")
else:
    import difflib
    d = "".join(difflib.unified_diff(have.splitlines(True), r.stdout.splitlines(True),
                                     "docs/cli.md", "generated"))
    tap(False, "docs/cli.md matches the binary's --help "
        "(regenerate: scripts/gen-cli-doc.sh build/agent/gitsync > docs/cli.md)",
        diag=(r.stderr + d)[-3000:])

# ---- 3. relative links and anchors ----------------------------------------
def slugs(path):
    out = set()
    for line in open(path):
        m = re.match(r"#+\s+(.*)", line)
        if m:
            s = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower()).replace(" ", "-")
            out.add(s)
    return out

md = [os.path.join(src, "README.md")] + docs
exdir = os.path.join(src, "examples")
for d in sorted(os.listdir(exdir)):
    p = os.path.join(exdir, d, "README.md")
    if os.path.exists(p):
        md.append(p)
for path in md:
    text = re.sub(r"```.*?```", "", open(path).read(), flags=re.S)
    bad = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue
        f, _, anchor = target.partition("#")
        tpath = os.path.normpath(os.path.join(os.path.dirname(path), f)) if f else path
        if not os.path.exists(tpath):
            bad.append(target + " (no such file)")
        elif anchor and tpath.endswith(".md") and anchor not in slugs(tpath):
            bad.append(target + " (no such heading)")
    tap(not bad, "links in %s resolve" % os.path.relpath(path, src), diag="\n".join(bad))

# ---- 4. examples/ci: every gitsync command is accepted --------------------
try:
    import yaml
except ImportError:
    yaml = None
ci = [("examples/ci/.gitlab-ci.yml", "gitlab"), ("examples/ci/.github/workflows/deploy.yml", "github"),
      ("examples/ci/.github/workflows/preview.yml", "github")]
for rel, kind in ci:
    path = os.path.join(src, rel)
    if not os.path.exists(path):
        tap(False, "%s exists" % rel)
        continue
    if yaml is None:
        tap(True, rel, skip="python3-yaml missing")
        continue
    doc = yaml.safe_load(open(path))
    found = []  # (job, command)
    if kind == "gitlab":
        for job, spec in doc.items():
            if isinstance(spec, dict):
                for line in spec.get("script") or []:
                    found.append((job, line))
    else:
        for job, spec in (doc.get("jobs") or {}).items():
            for st in spec.get("steps") or []:
                if st.get("run"):
                    found.append((job, st["run"]))
    cmds = [(j, c) for j, c in found if c.strip().startswith("gitsync ")]
    if not cmds:
        tap(False, "%s calls gitsync" % rel)
    for job, c in cmds:
        e = dict(env)
        e.update({"APP": "monsterstack-prod", "CI_COMMIT_SHA": "0" * 40, "GITHUB_SHA": "0" * 40})
        if "--kubeconfig" not in c and "KUBECONFIG" not in c:
            # through the agent's API: nothing listens on port 1
            e.update({"GITSYNC_SERVER": "http://127.0.0.1:1", "GITSYNC_AUTH_TOKEN": "x"})
        r = subprocess.run(["bash", "-c", c], env=e, capture_output=True, text=True, timeout=60)
        ok = r.returncode not in (0, 129) and "unknown option" not in r.stderr \
            and "usage" not in r.stderr
        tap(ok, "%s: job %s: '%s' is accepted (exit %d: %s)"
            % (rel, job, c, r.returncode, r.stderr.strip().splitlines()[-1].replace(work, "$SCRATCH")[:80] if r.stderr.strip() else ""),
            diag=r.stdout + r.stderr)

print("1..%d" % n)
PY
