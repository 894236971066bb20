#!/usr/bin/env bash
# ansible-test sanity needs the collection under a path ending in
# ansible_collections/<namespace>/<name>, so it runs on a copy of this checkout's
# files (tracked and new, never ignored ones) in .build/sanity.
# BERTH_ANSIBLE_TEST=units runs `ansible-test units` there instead, once per Python version of
# tests/config.yml's range that this machine has (UNITS_PYTHONS, default: every python3.N found).
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
  pythons=${UNITS_PYTHONS:-$(for v in 3.11 3.12 3.13 3.14; do command -v "python$v" >/dev/null && echo "$v"; done)}
  rc=0
  for v in $pythons; do
    echo "ansible-test units --python $v"
    ansible-test units --python "$v" --venv --requirements --color no "$@" || rc=1
  done
  exit "$rc"
fi
ansible-test sanity --python "$PY" --requirements --color no "$@"
