#!/usr/bin/env bash
# The test runner behind `make test` (and its parts: lint, unit, sanity, molecule).
# Runs every stage even when one fails, prints a table of counts, and ends with one
# plain line "tests: N passed, N failed" whose exit code matches.
#
#   tests/run.sh all | lint | unit | sanity | build | molecule [scenario ...]
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 2
OUT=$ROOT/tests/output
mkdir -p "$OUT"
: "${ANSIBLE_COLLECTIONS_PATH:=$ROOT/.build/collections}"
export ANSIBLE_COLLECTIONS_PATH PATH="$ROOT/.venv/bin:$PATH" PY_COLORS=0 ANSIBLE_FORCE_COLOR=0

PASSED=0
FAILED=0
ROWS=()

record() {  # record STAGE PASSED FAILED SECONDS
  PASSED=$((PASSED + $2)); FAILED=$((FAILED + $3))
  ROWS+=("$(printf '%-28s %6s passed %4s failed %6ss' "$1" "$2" "$3" "$4")")
}

banner() { printf '\n==== %s ====\n' "$*"; }

run_lint() {
  local start=$SECONDS
  banner "yamllint"
  if yamllint --strict . ; then record yamllint 1 0 $((SECONDS - start)); else record yamllint 0 1 $((SECONDS - start)); fi
  start=$SECONDS
  banner "ansible-lint (production profile)"
  if ansible-lint --profile production --offline; then
    record ansible-lint 1 0 $((SECONDS - start))
  else
    record ansible-lint 0 1 $((SECONDS - start))
  fi
  check "changelog (antsibull-changelog)" tests/changelog.sh
  check "ruff" ruff check .
  # mypy reads the collection the way Ansible imports it (.build/collections, make collection-link).
  check "mypy plugins/module_utils" env MYPYPATH="$ANSIBLE_COLLECTIONS_PATH" mypy --config-file mypy.ini -p ansible_collections.berth.compose.plugins.module_utils
}

check() {  # check STAGE COMMAND...: one row, passed when the command exits 0
  local name=$1 start=$SECONDS
  shift
  banner "$name"
  if "$@"; then record "$name" 1 0 $((SECONDS - start)); else record "$name" 0 1 $((SECONDS - start)); fi
}

run_unit() {
  local start=$SECONDS log=$OUT/pytest-unit.log rc p f
  banner "pytest tests/unit"
  pytest -q -c tests/unit/pytest.ini --rootdir tests/unit --junitxml="$OUT/unit.xml" tests/unit 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  p=$(grep -oE '[0-9]+ passed' "$log" | tail -1 | grep -oE '[0-9]+' || echo 0)
  f=$(grep -oE '[0-9]+ (failed|error)' "$log" | awk '{s+=$1} END {print s+0}')
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi  # collection errors, no tests, ...
  record "pytest unit" "${p:-0}" "$f" $((SECONDS - start))
  # The same tests through ansible-test units, on each Python of tests/config.yml's range found here.
  start=$SECONDS log=$OUT/ansible-test-units.log
  banner "ansible-test units"
  BERTH_ANSIBLE_TEST=units tests/sanity.sh 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  p=$(grep -oE '[0-9]+ passed' "$log" | awk '{s+=$1} END {print s+0}')
  f=$(grep -oE '[0-9]+ (failed|error)' "$log" | awk '{s+=$1} END {print s+0}')
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  record "ansible-test units" "$p" "$f" $((SECONDS - start))
}

run_sanity() {
  local start=$SECONDS log=$OUT/sanity.log rc p f
  banner "ansible-test sanity"
  tests/sanity.sh 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  p=$(grep -cE '^Running sanity test ' "$log")
  f=$(grep -cE '^ERROR: Found [0-9]+ ' "$log")
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  record "ansible-test sanity" $((p - f)) "$f" $((SECONDS - start))
}

run_build() {
  # The collection as operators get it: build the tarball, install it in a scratch path,
  # render every module's documentation and syntax-check every playbook from that copy.
  local start=$SECONDS dest=$OUT/collection ok=1 module
  banner "ansible-galaxy collection build + install"
  rm -rf "$dest" && mkdir -p "$dest"
  ansible-galaxy collection build --force --output-path "$dest" . || ok=0
  [ "$ok" = 1 ] && ansible-galaxy collection install --no-deps --force -p "$dest/installed" "$dest/berth-compose-$(awk '/^version:/ {print $2}' galaxy.yml).tar.gz" || ok=0
  for module in plugins/modules/*.py; do
    module=$(basename "$module" .py)
    [ "$ok" = 1 ] || break
    ANSIBLE_COLLECTIONS_PATH=$dest/installed ansible-doc "berth.compose.$module" >/dev/null || { echo "ansible-doc berth.compose.$module failed"; ok=0; }
  done
  for role in roles/*/; do
    role=$(basename "$role")
    [ "$ok" = 1 ] || break
    ANSIBLE_COLLECTIONS_PATH=$dest/installed ansible-doc -t role "berth.compose.$role" >/dev/null \
      || { echo "ansible-doc -t role berth.compose.$role failed"; ok=0; }
  done
  for playbook in playbooks/*.yml; do
    playbook=$(basename "$playbook" .yml)
    [ "$ok" = 1 ] || break
    ANSIBLE_COLLECTIONS_PATH=$dest/installed ansible-playbook --syntax-check -i localhost, "berth.compose.$playbook" >/dev/null \
      || { echo "ansible-playbook --syntax-check berth.compose.$playbook failed"; ok=0; }
  done
  record "collection build/install" "$ok" $((1 - ok)) $((SECONDS - start))
  check "execution environment" tests/ee.sh "$dest/installed"
  check "galaxy-importer" tests/galaxy_importer.sh "$dest/berth-compose-$(awk '/^version:/ {print $2}' galaxy.yml).tar.gz"
}

# default first: it proves the platform the others stand on; then the rest by name.
scenarios() {
  [ -f molecule/default/molecule.yml ] && echo default
  find molecule -mindepth 2 -maxdepth 2 -name molecule.yml | cut -d/ -f2 | grep -vx default | sort
}

# A scenario's .env.yml (for example the bare VM image) is read when Molecule renders its config.
molecule_in() {  # molecule_in SCENARIO ARGS...
  local name=$1 env_file=molecule/$1/.env.yml
  shift
  if [ -f "$env_file" ]; then molecule --env-file "$env_file" "$@" -s "$name"; else molecule "$@" -s "$name"; fi
}

# Scenarios run in parallel lanes (BERTH_MOLECULE_JOBS, default 3): each boots its own VM
# container and spends most of its time waiting on health gates, soaks and apt, so three lanes
# on two cores take well under the sum (two lanes left the cores idle: 31 min of molecule for
# 61 min of scenario time; the sum of the scenarios alone is over 30 min, so two lanes cannot
# stay under it). default runs alone first (it proves the platform);
# then the longest go first, so the lanes end close together. Output goes to
# tests/output/molecule-<name>.log; a failed scenario's tail is printed.
COST_ORDER=(deploy provision operator reconcile cutover data health_gate docker_layout_secrets caddy_systemd)

by_cost() {  # the given scenario names, longest first (unknown ones last, by name)
  local name known=" ${COST_ORDER[*]} " given=" $* "
  for name in "${COST_ORDER[@]}"; do case "$given" in *" $name "*) echo "$name" ;; esac; done
  for name in "$@"; do case "$known" in *" $name "*) ;; *) echo "$name" ;; esac; done
}

molecule_job() {  # molecule_job NAME [tee]: one scenario, its log, its result file
  local name=$1 start=$SECONDS rc
  if [ "${2:-}" = tee ]; then
    molecule_in "$name" test 2>&1 | tee "$OUT/molecule-$name.log"
    rc=${PIPESTATUS[0]}
  else
    molecule_in "$name" test >"$OUT/molecule-$name.log" 2>&1
    rc=$?
  fi
  [ "$rc" -eq 0 ] || molecule_in "$name" destroy >/dev/null 2>&1
  echo "$rc $((SECONDS - start))" >"$OUT/molecule-$name.result"
  echo "[molecule] $name: $([ "$rc" -eq 0 ] && echo passed || echo FAILED) in $((SECONDS - start))s"
}

run_molecule() {
  local names=() rest=() ordered=() name jobs=${BERTH_MOLECULE_JOBS:-3} rc secs
  if [ $# -gt 0 ]; then names=("$@"); else mapfile -t names < <(scenarios); fi
  tests/images/platform.sh || { record "molecule platform" 0 1 0; return; }
  for name in "${names[@]}"; do
    rm -f "$OUT/molecule-$name.result"
    if [ "$name" = default ]; then ordered=(default); else rest+=("$name"); fi
  done
  [ ${#rest[@]} -eq 0 ] || mapfile -t -O "${#ordered[@]}" ordered < <(by_cost "${rest[@]}")
  banner "molecule test: ${ordered[*]} (${jobs} at a time)"
  for name in "${ordered[@]}"; do
    if [ "$name" = default ] || [ "${#ordered[@]}" -eq 1 ] || [ "$jobs" -le 1 ]; then
      banner "molecule test -s $name"
      molecule_job "$name" tee
      continue
    fi
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
    echo "[molecule] $name: started (log: $OUT/molecule-$name.log)"
    molecule_job "$name" &
  done
  wait
  for name in "${ordered[@]}"; do
    read -r rc secs <"$OUT/molecule-$name.result" 2>/dev/null || { rc=1; secs=0; }
    if [ "$rc" -eq 0 ]; then
      record "molecule $name" 1 0 "$secs"
    else
      record "molecule $name" 0 1 "$secs"
      if [ "${#ordered[@]}" -gt 1 ] && [ "$name" != default ]; then
        banner "molecule $name FAILED: last lines of $OUT/molecule-$name.log"
        tail -n 150 "$OUT/molecule-$name.log"
      fi
    fi
  done
}

stage=${1:-all}
shift || true
case "$stage" in
  all) run_lint; run_unit; run_sanity; run_build; run_molecule ;;
  lint) run_lint ;;
  unit) run_unit ;;
  sanity) run_sanity ;;
  build) run_build ;;
  molecule) run_molecule "$@" ;;
  *) echo "usage: $0 all|lint|unit|sanity|build|molecule [scenario ...]" >&2; exit 2 ;;
esac

banner "summary"
printf '%s\n' "${ROWS[@]}"
echo "tests: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ] && [ "$PASSED" -gt 0 ]
