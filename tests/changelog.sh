#!/usr/bin/env bash
# The changelog checks of `make test` (lint stage):
#  1. antsibull-changelog lint: every fragment and changelogs/changelog.yaml are valid;
#  2. a change to plugins/, roles/ or playbooks/ since the changelog was last released
#     (the last commit that changed changelogs/changelog.yaml) comes with a fragment;
#  3. CHANGELOG.md is what antsibull-changelog generates from changelogs/changelog.yaml.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 2
rc=0

antsibull-changelog lint || { echo "changelog: antsibull-changelog lint failed"; rc=1; }

base=$(git log -1 --format=%H -- changelogs/changelog.yaml 2>/dev/null)
if [ -n "$base" ]; then
  # Committed and uncommitted changes since that commit (new files too).
  changed=$( { git diff --name-only "$base" -- plugins roles playbooks; \
               git ls-files --others --exclude-standard -- plugins roles playbooks; } | sort -u)
  fragments=$(find changelogs/fragments -type f \( -name '*.yml' -o -name '*.yaml' \) | sort)
  if [ -n "$changed" ] && [ -z "$fragments" ]; then
    echo "changelog: plugins/, roles/ or playbooks/ changed since ${base:0:12} (the last release of the changelog)"
    echo "but changelogs/fragments/ holds no fragment; add one (README.md, "Release notes"). Changed:"
    while read -r path; do echo "  $path"; done <<<"$changed"
    rc=1
  fi
fi

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cp -r galaxy.yml changelogs CHANGELOG.md "$scratch"/
mkdir -p "$scratch/plugins"
if ! (cd "$scratch" && antsibull-changelog generate >/dev/null) || ! cmp -s "$scratch/CHANGELOG.md" CHANGELOG.md; then
  echo "changelog: CHANGELOG.md differs from what antsibull-changelog generate writes; run it and commit the result"
  diff -u CHANGELOG.md "$scratch/CHANGELOG.md" | head -40
  rc=1
fi
[ "$rc" -eq 0 ] && echo "changelog: lint, fragments and CHANGELOG.md in order"
exit "$rc"
