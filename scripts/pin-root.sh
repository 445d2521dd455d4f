#!/usr/bin/env bash
# scripts/pin-root.sh COMMIT: make every nested module require the root module
# (github.com/smartdairy/bkash-go), and any other module of this repository
# it requires (e.g. .../otel), at COMMIT, named as a user's "go get" can
# resolve it: the module's release tag on COMMIT, else COMMIT's
# pseudo-version for that module.
#
# COMMIT must be on main (pushed), or the version resolves nowhere but here.
# The "replace ... => ../" lines stay: they keep local development on the
# working tree, and a user's build ignores them (replace directives apply only
# in the main module). A replaced module has no go.sum lines, so no go.sum
# changes.
#
# Check the result with ci/modcheck.sh. See RELEASING.md.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/rootversion.sh

if [ $# -ne 1 ]; then
	echo "usage: scripts/pin-root.sh COMMIT (a commit or tag of main)" >&2
	exit 2
fi
commit=$(git rev-parse --verify -q "$1^{commit}") || { echo "pin-root: no commit $1" >&2; exit 2; }

pinned=0
while IFS= read -r dir; do
	while read -r path old; do
		dep=$(module_dir "$path") || { echo "pin-root: $dir requires $path, which is no module of this repository" >&2; exit 1; }
		if [ "$dep" != . ] && ! git cat-file -e "$commit:$dep/go.mod" 2>/dev/null; then
			echo "pin-root: $dir requires $path, which has no go.mod at ${commit:0:12}; pin to a later commit" >&2
			exit 1
		fi
		version=$(module_version "$commit" "$dep")
		(cd "$dir" && GOWORK=off go mod edit -require="$path@$version")
		echo "$dir/go.mod: require $path $version (was $old)"
		pinned=$((pinned + 1))
	done < <(repo_requirements "$dir")
done < <(nested_modules)
echo "pinned $pinned requirement(s) to ${commit:0:12}"
