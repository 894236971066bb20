#!/usr/bin/env bash
# The example execution-environment.yml, as ansible-builder reads it: `ansible-builder create`
# must accept it and write a build context that installs berth.compose and a 2.19 core; then
# ansible-builder's own introspection, run on the installed collection (argument: the path that
# holds ansible_collections/), must find what meta/execution-environment.yml declares.
# (`ansible-builder build` needs the base image's registry, which these machines cannot reach.)
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
installed=${1:?usage: tests/ee.sh COLLECTIONS_PATH}
ctx=$ROOT/tests/output/ee-context
rm -rf "$ctx"
cd "$ROOT" || exit 2
ansible-builder create -f execution-environment.yml -c "$ctx" --output-filename Containerfile || exit 1
fail=0
expect() {  # expect FILE PATTERN
  grep -qE -- "$2" "$1" || { echo "execution environment: $1 lacks /$2/"; fail=1; }
}
expect "$ctx/Containerfile" 'ansible-core>=2\.19\.0,<2\.20'
expect "$ctx/Containerfile" 'ansible-galaxy collection install'
expect "$ctx/_build/requirements.yml" 'name: berth\.compose'
introspected=$(python3 "$ctx/_build/scripts/introspect.py" introspect "$installed") || { echo "$introspected"; exit 1; }
echo "$introspected"
grep -q 'jmespath.*from collection berth.compose' <<<"$introspected" || { echo "introspection: no jmespath from berth.compose"; fail=1; }
grep -q 'tar .*from collection berth.compose' <<<"$introspected" || { echo "introspection: no tar from berth.compose"; fail=1; }
[ "$fail" -eq 0 ] && echo "execution environment: the context and the introspection are as declared"
exit "$fail"
