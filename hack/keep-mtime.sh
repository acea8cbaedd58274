#!/usr/bin/env bash
# Usage: hack/keep-mtime.sh PATH... -- COMMAND [ARG...]
#
# Runs COMMAND, which rewrites generated files, and gives back their old
# modification time to the files under PATH whose content did not change.
# controller-gen rewrites every file it generates; tests that read them
# (the CRDs envtest installs) would otherwise never be answered from the go
# command's test cache, which goes by modification time.
set -euo pipefail

paths=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
	paths+=("$1")
	shift
done
[ "${1:-}" = "--" ] || { echo "usage: $0 PATH... -- COMMAND [ARG...]" >&2; exit 2; }
shift

backup=$(mktemp -d)
trap 'rm -rf "$backup"' EXIT

files=()
if [ ${#paths[@]} -gt 0 ]; then
	while IFS= read -r -d '' f; do
		files+=("$f")
	done < <(find "${paths[@]}" -type f -print0 2>/dev/null || true)
fi
for i in "${!files[@]}"; do
	cp -p "${files[$i]}" "$backup/$i"
done

"$@"

for i in "${!files[@]}"; do
	f=${files[$i]}
	if [ -f "$f" ] && cmp -s "$backup/$i" "$f"; then
		touch -r "$backup/$i" "$f"
	fi
done
