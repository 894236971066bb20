#!/usr/bin/env bash
# A git repository of a compose project that uses include:, extends: (with an inherited
# env_file) and a profile, with one commit per kind of change changed_services must see.
#
#   usage: make_include_repo.sh SRC DEST   (SRC: the project; DEST must not exist)
set -euo pipefail

SRC=${1:?usage: make_include_repo.sh SRC DEST}
DEST=${2:?usage: make_include_repo.sh SRC DEST}
export GIT_AUTHOR_NAME="berth fixture" GIT_AUTHOR_EMAIL="fixture@berth.invalid"
export GIT_COMMITTER_NAME="$GIT_AUTHOR_NAME" GIT_COMMITTER_EMAIL="$GIT_AUTHOR_EMAIL"
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1

commit() {  # commit TAG
  git -C "$DEST" add -A
  git -C "$DEST" commit -q -m "$1"
  git -C "$DEST" tag "$1"
}

mkdir -p "$DEST"
git -C "$DEST" init -q -b main
cp -a "$SRC"/. "$DEST"/
commit base

echo "A=2" >"$DEST/common.env"           # the env_file web inherits through extends
commit env-inherited

echo "# rebuilt" >>"$DEST/api/Dockerfile"  # the build context of the included service
commit included-context

echo "debug" >"$DEST/README.md"           # claimed by nothing
commit unclaimed
