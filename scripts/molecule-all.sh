#!/usr/bin/env bash
# Runs every molecule scenario under molecule/ (delegated driver, local connection, no containers).
set -euo pipefail
cd "$(dirname "$0")/.."
shopt -s nullglob
scenarios=(molecule/*/molecule.yml)
if [ "${#scenarios[@]}" -eq 0 ]; then echo "molecule: no scenarios"; exit 0; fi
for file in "${scenarios[@]}"; do
  name=$(basename "$(dirname "$file")")
  echo "== molecule scenario $name"
  .venv/bin/molecule test -s "$name"
done
