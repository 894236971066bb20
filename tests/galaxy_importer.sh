#!/usr/bin/env bash
# galaxy-importer on the built tarball: what Galaxy and Automation Hub run on an upload
# (metadata, docs through ansible-doc, changelog, ansible-lint). Fails on its errors.
#
# galaxy.yml names no repository, issues or documentation URL: the collection has no public home
# yet and a placeholder would be a lie. Galaxy refuses an upload without `repository`, so the
# importer is run twice: on the tarball as built, where that must be the only error, then on a copy
# whose MANIFEST.json names a stand-in repository, which must import cleanly.
set -uo pipefail
tarball=$(realpath "${1:?usage: tests/galaxy_importer.sh TARBALL}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The importer writes importer_result.json into the working directory.
cd "$work" || exit 2
export GALAXY_IMPORTER_CONFIG=$work/galaxy-importer.cfg
# The importer's defaults, offline; ansible-test is run by `make sanity` already.
printf '[galaxy-importer]\nRUN_ANSIBLE_TEST = False\nOFFLINE_ANSIBLE_LINT = True\nCHECK_CHANGELOG = True\n' >"$GALAXY_IMPORTER_CONFIG"

python3 -m galaxy_importer.main "$tarball" >"$work/as-built.log" 2>&1
if grep -q "The import failed" "$work/as-built.log"; then
  grep -E "ERROR|failed" "$work/as-built.log"
  if [ "$(grep -c '^ERROR' "$work/as-built.log")" -ne 1 ] || ! grep -q "'repository' is required" "$work/as-built.log"; then
    echo "galaxy-importer: the tarball as built fails for more than its missing repository URL"
    cat "$work/as-built.log"
    exit 1
  fi
fi

mkdir -p "$work/tree" "$work/out"
tar -C "$work/tree" -xzf "$tarball"
python3 - "$work/tree/MANIFEST.json" <<'PY'
import json
import sys

path = sys.argv[1]
with open(path) as handle:
    manifest = json.load(handle)
manifest["collection_info"]["repository"] = "https://repository.invalid/berth/compose"
with open(path, "w") as handle:
    json.dump(manifest, handle, indent=4)
PY
tar -C "$work/tree" -czf "$work/out/$(basename "$tarball")" .
python3 -m galaxy_importer.main "$work/out/$(basename "$tarball")" 2>&1 | tee "$work/stand-in.log"
if grep -qE "^ERROR|The import failed" "$work/stand-in.log" || ! grep -q "Importer processing completed successfully" "$work/stand-in.log"; then
  echo "galaxy-importer: the import failed"
  exit 1
fi
# A lint warning is an error here too (production profile).
if grep -qE "^WARNING: .*(\[|:)" "$work/stand-in.log"; then
  echo "galaxy-importer: ansible-lint found problems in the tarball"
  exit 1
fi
echo "galaxy-importer: imported (the only thing Galaxy would still refuse: galaxy.yml names no repository)"
