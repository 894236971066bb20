#!/usr/bin/env bash
# ansible-test sanity needs the collection under a path ending in
# ansible_collections/<namespace>/<name>, so it runs on a copy of this checkout's
# files (tracked and new, never ignored ones) in .build/sanity.
# BERTH_ANSIBLE_TEST=units runs `ansible-test units` there instead, on Python versions of
# tests/config.yml's range that this machine has (UNITS_PYTHONS).
#
# ansible-test bootstraps pip in each test venv by downloading get-pip.py from a host
# these machines cannot reach; it accepts a cached script instead, and ours installs
# with ensurepip + PyPI.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEST=$ROOT/.build/${BERTH_ANSIBLE_TEST:-sanity}/ansible_collections/berth/compose
PY=${SANITY_PYTHON:-3.11}

# The shellcheck sanity test is skipped when the program is missing; install it.
if ! command -v shellcheck >/dev/null && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null; }
fi

CACHE=$HOME/.ansible/test/cache
mkdir -p "$CACHE"
cat >"$CACHE/get_pip_24_2.py" <<'PYEOF'
"""Offline stand-in for get-pip.py: ensurepip, then pip from the package index."""
import subprocess
import sys

subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
if args:
    subprocess.check_call([sys.executable, "-m", "pip", "install"] + args)
PYEOF

rm -rf "$ROOT/.build/${BERTH_ANSIBLE_TEST:-sanity}"
mkdir -p "$DEST"
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard | xargs -0 -I{} sh -c 'test -e "{}" && printf "%s\0" "{}"' | tar --null -T - -cf -) \
  | tar -C "$DEST" -xf -
cd "$DEST"
# ansible-test reads the file list from git when it is in a repository.
git init -q . && git add -A && git -c user.name=sanity -c user.email=sanity@berth.invalid commit -qm sanity

if [ "${BERTH_ANSIBLE_TEST:-sanity}" = units ]; then
  # tests/config.yml: modules python_requires >=3.11.
  # An interpreter per version that runs (on PATH, or one pyenv holds without having it active).
  interpreter() {
    local v=$1 candidate
    for candidate in "$(command -v "python$v")" "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$v".*/bin/"python$v"; do
      [ -n "$candidate" ] && [ -x "$candidate" ] && "$candidate" -c '' 2>/dev/null && { echo "$candidate"; return 0; }
    done
    return 1
  }
  rc=0 ran=0
  # Default: the newest of the range found here. The lower end, 3.11, is the venv's Python, on which
  # `make unit` runs every test already; each version costs about three minutes (measured: 3.11 + 3.13
  # took 340 s on a loaded machine), so the whole range only on request: UNITS_PYTHONS="3.11 3.12 3.13".
  for v in ${UNITS_PYTHONS:-3.13}; do
    exe=$(interpreter "$v") || { echo "ansible-test units: no Python $v here, skipped"; continue; }
    echo "ansible-test units --python $v ($exe)"
    # tests/unit/plugins: the modules and module_utils (the other tests there read the controller's collections).
    # ansible-test looks the version up on PATH, where a pyenv shim of an inactive version fails.
    mkdir -p "$ROOT/.build/pythons" && ln -sfn "$exe" "$ROOT/.build/pythons/python$v"
    PATH=$ROOT/.build/pythons:$PATH ansible-test units --python "$v" --python-interpreter "$exe" --venv --requirements --color no "${@:-tests/unit/plugins/}" || rc=1
    ran=$((ran + 1))
  done
  [ "$ran" -gt 0 ] || rc=1
  exit "$rc"
fi
ansible-test sanity --python "$PY" --requirements --color no "$@"
