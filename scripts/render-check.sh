#!/bin/sh
# Render campaign HTML pages in headless Chromium; fail unless every page gives a non-empty PNG screenshot.
#   scripts/render-check.sh                 the sandbox plan and report samples of the unit tests
#   scripts/render-check.sh page.html ...   given pages
# Needs Debian's chromium (apt-get install -y chromium) and the collection on .collections (make venv).
# Screenshots go to $RENDER_CHECK_DIR (default: a new temporary directory), printed at the end.
set -eu
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
CHROMIUM=${CHROMIUM:-chromium}
OUT=${RENDER_CHECK_DIR:-$(mktemp -d)}
mkdir -p "$OUT"

if ! command -v "$CHROMIUM" >/dev/null 2>&1; then
  echo "render-check: $CHROMIUM not found (apt-get install -y chromium)" >&2
  exit 2
fi

if [ $# -eq 0 ]; then
  PYTHONPATH=.collections "$PYTHON" - "$OUT" <<'PY'
import json
import sys

from ansible_collections.cloudmaint.openstack.plugins.filter.campaign_html import campaign_html

samples = 'tests/unit/plugins/filter/files/'
with open(samples + 'sandbox_plan.json') as f:
    plan = json.load(f)
with open(samples + 'sandbox_report.json') as f:
    report = json.load(f)
with open(sys.argv[1] + '/plan.html', 'w') as f:
    f.write(campaign_html(plan, estimates={'patch_s': 5, 'reboot_s': 25, 'restore_s': 10}))
with open(sys.argv[1] + '/report.html', 'w') as f:
    f.write(campaign_html(report))
PY
  set -- "$OUT/plan.html" "$OUT/report.html"
fi

status=0
for page in "$@"; do
  if [ ! -f "$page" ]; then
    echo "render-check: $page: no such file" >&2
    status=1
    continue
  fi
  png="$OUT/$(basename "$page" .html).png"
  rm -f "$png"
  # chromium's exit status is not reliable in headless mode: the screenshot is the verdict.
  timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1400,900 \
    --screenshot="$png" "file://$(realpath "$page")" >"$OUT/chromium.log" 2>&1 || true
  if [ -s "$png" ] && [ "$(head -c 4 "$png" | tail -c 3)" = "PNG" ]; then
    echo "ok: $page -> $png ($(wc -c <"$png") bytes)"
  else
    echo "render-check: no screenshot of $page; chromium said:" >&2
    grep -v dbus "$OUT/chromium.log" | tail -n 20 >&2
    status=1
  fi
done
exit $status
