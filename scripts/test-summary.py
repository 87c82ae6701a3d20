#!/usr/bin/env python3
"""Count every test case meson ran, from its testlog.json files.

A TAP test counts its "ok"/"not ok" lines (skips: "# SKIP"); a test with no
TAP lines counts once by its result.  Prints "N passed, M failed, K skipped"
and exits non-zero when anything failed.
"""
import json, re, sys

passed = failed = skipped = 0
failures = []  # printed just above the summary: a CI log's tail names what failed
tap = re.compile(r'^(not ok|ok)\b(.*)$')
for path in sys.argv[1:]:
    try:
        lines = open(path, encoding='utf-8').read().splitlines()
    except OSError:
        continue
    for line in lines:
        if not line.strip():
            continue
        t = json.loads(line)
        p = f = s = 0
        for out in (t.get('stdout') or '').splitlines():
            m = tap.match(out.strip())
            if not m:
                continue
            rest = m.group(2)
            if '# SKIP' in rest.upper():
                s += 1
            elif m.group(1) == 'ok':
                p += 1
            else:
                f += 1
                failures.append('%s: not ok%s' % (t.get('name'), rest))
        if p + f + s == 0:
            r = t.get('result')
            if r in ('OK', 'EXPECTEDFAIL'):
                p = 1
            elif r == 'SKIP':
                s = 1
            else:
                f = 1
                failures.append('%s: %s' % (t.get('name'), r))
        elif t.get('result') not in ('OK', 'EXPECTEDFAIL', 'SKIP') and f == 0:
            f = 1  # crashed or timed out after its last TAP line
            failures.append('%s: %s after its last TAP line' % (t.get('name'), t.get('result')))
        passed += p; failed += f; skipped += s
for line in failures:
    print('FAILED ' + line)
print('%d passed, %d failed, %d skipped' % (passed, failed, skipped))
sys.exit(1 if failed else 0)
