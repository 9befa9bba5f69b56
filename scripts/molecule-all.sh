#!/usr/bin/env bash
# Runs every molecule scenario under molecule/ (delegated driver, local connection, no containers)
# against the sandbox cloud (make sandbox). `make molecule` runs it with the environment below set;
# run directly, it sets the same defaults. MOLECULE_SCENARIOS="drain restore" runs only those.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export PATH="$root/.venv/bin:$PATH"
export OS_CLIENT_CONFIG_FILE="${OS_CLIENT_CONFIG_FILE:-$root/.sandbox/clouds.yaml}"
shopt -s nullglob
if [ -n "${MOLECULE_SCENARIOS:-}" ]; then
  read -r -a names <<<"$MOLECULE_SCENARIOS"
else
  names=()
  for file in molecule/*/molecule.yml; do names+=("$(basename "$(dirname "$file")")"); done
fi
if [ "${#names[@]}" -eq 0 ]; then echo "molecule: no scenarios found under molecule/" >&2; exit 1; fi
for name in "${names[@]}"; do
  echo "== molecule scenario $name"
  started=$SECONDS
  .venv/bin/molecule test -s "$name"
  echo "== molecule scenario $name passed in $((SECONDS - started))s"
done
