#!/usr/bin/env bash
# Run ansible-test on this collection: scripts/ansible-test.sh sanity --python 3.11 ...
#
# ansible-test insists on running from .../ansible_collections/<ns>/<name>/ and
# uses getcwd(), which resolves symlinks, so the .collections symlink does not
# help.  The collection's files (tracked plus untracked-but-not-ignored, as git
# sees them) are therefore mirrored into
#   .build/ansible_collections/cloudmaint/openstack/
# and ansible-test runs there with .venv/bin first on PATH.  Results end up in
# .build/ansible_collections/cloudmaint/openstack/tests/output/.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
venv="${VENV:-$repo/.venv}"
dest="$repo/.build/ansible_collections/cloudmaint/openstack"

if [[ ! -x "$venv/bin/ansible-test" ]]; then
    echo "ansible-test.sh: $venv/bin/ansible-test not found; run 'make venv' first" >&2
    exit 2
fi
export PATH="$venv/bin:$PATH"

# ansible-test bootstraps pip into each sanity venv with a get-pip script it
# downloads from a host outside this network, unless a cached copy exists.
# Seed that cache with scripts/get_pip_offline.py (ensurepip based).  The pip
# version in the file name is read from the installed ansible-test, so an
# ansible-core upgrade picks the right name; a real cached script is kept.
seed_get_pip() {
    local pip_version cache
    pip_version="$(python - <<'PY'
import pathlib, re, ansible_test
src = pathlib.Path(ansible_test.__file__).parent / '_internal' / 'python_requirements.py'
match = re.search(r"default_packages\s*=\s*dict\(\s*pip='([0-9.]+)'", src.read_text())
print(match.group(1) if match else '')
PY
)"
    if [[ -z "$pip_version" ]]; then
        echo "ansible-test.sh: cannot find the pip bootstrap version in ansible_test; update seed_get_pip" >&2
        exit 2
    fi
    cache="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
    if [[ -f "$cache" ]] && ! grep -q 'get_pip_offline' "$cache"; then
        return  # a genuine get-pip script is already cached
    fi
    if ! cmp -s "$repo/scripts/get_pip_offline.py" "$cache"; then
        mkdir -p "$(dirname "$cache")"
        cp "$repo/scripts/get_pip_offline.py" "$cache"
    fi
}

sync_tree() {
    local src_list dest_list
    src_list="$(mktemp)"
    dest_list="$(mktemp)"
    trap 'rm -f "$src_list" "$dest_list"' RETURN

    mkdir -p "$dest"
    # Tracked and untracked-but-not-ignored files that exist (deleted tracked
    # files are still listed by --cached).
    git -C "$repo" ls-files -z --cached --others --exclude-standard \
        | (cd "$repo" && while IFS= read -r -d '' f; do [[ -e "$f" || -L "$f" ]] && printf '%s\0' "$f"; done) \
        | sort -z -u > "$src_list"

    if command -v rsync >/dev/null; then
        rsync -a --from0 --files-from="$src_list" "$repo/" "$dest/"
    else
        tar -C "$repo" --null -T "$src_list" -cf - | tar -C "$dest" -xf -
    fi

    # Remove files that are gone from the source tree (keep ansible-test's output and our .git).
    (cd "$dest" && find . \( -path ./tests/output -o -path ./.git \) -prune -o \( -type f -o -type l \) -print0) \
        | sed -z 's#^\./##' | sort -z > "$dest_list"
    comm -z -13 "$src_list" "$dest_list" | (cd "$dest" && xargs -0 -r rm -f --)
    find "$dest" -mindepth 1 -type d -empty -not -path "$dest/.git*" -delete

    # ansible-test lists content files with git when it finds a .git directory,
    # searching upwards; without one here it would find this repository's, in
    # which .build/ is ignored, and see no files at all.
    if [[ ! -d "$dest/.git" ]]; then
        git -C "$dest" init -q
    fi
}

seed_get_pip
sync_tree
cd "$dest"
exec ansible-test "$@"
