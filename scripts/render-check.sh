#!/bin/sh
# Render campaign HTML pages in headless Chromium and check what a reader sees (scripts/render_check.py):
# no console error or failed load, a timeline with bars, a row for every host and a table line for every
# server of the JSON the page was made from, and a PNG screenshot.
#   scripts/render-check.sh                      the plan and report samples of the unit tests
#   scripts/render-check.sh page.html[=page.json] ...   given pages (with the JSON they were made from)
# Needs Debian's chromium (apt-get install -y chromium) and the collection on .collections (make venv).
# Screenshots go to $RENDER_CHECK_DIR (default: a new temporary directory).
set -eu
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
CHROMIUM=${CHROMIUM:-chromium}
OUT=${RENDER_CHECK_DIR:-$(mktemp -d)}
mkdir -p "$OUT"
export CHROMIUM

if ! command -v "$CHROMIUM" >/dev/null 2>&1; then
  echo "render-check: $CHROMIUM not found (apt-get install -y chromium)" >&2
  exit 2
fi

if [ $# -eq 0 ]; then
  samples=tests/unit/plugins/filter/files
  PYTHONPATH=.collections "$PYTHON" - "$OUT" "$samples" <<'PY'
import json
import sys

from ansible_collections.cloudmaint.openstack.plugins.filter.campaign_html import campaign_html

out, samples = sys.argv[1], sys.argv[2]
with open(samples + '/sandbox_plan.json') as f:
    plan = json.load(f)
with open(samples + '/sandbox_report.json') as f:
    report = json.load(f)
with open(out + '/plan.html', 'w') as f:
    f.write(campaign_html(plan, estimates={'patch_s': 5, 'reboot_s': 25, 'restore_s': 10}))
with open(out + '/report.html', 'w') as f:
    f.write(campaign_html(report))
PY
  set -- "$OUT/plan.html=$samples/sandbox_plan.json" "$OUT/report.html=$samples/sandbox_report.json"
fi

exec "$PYTHON" scripts/render_check.py "$OUT" "$@"
