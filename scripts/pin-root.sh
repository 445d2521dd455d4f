#!/usr/bin/env bash
# scripts/pin-root.sh COMMIT: make every nested module require the root module
# (github.com/smartdairy/bkash-go) at COMMIT, named as a user's "go get" can
# resolve it: the release tag on COMMIT, else COMMIT's pseudo-version.
#
# COMMIT must be on main (pushed), or the version resolves nowhere but here.
# The "replace github.com/smartdairy/bkash-go => ../" lines stay: they keep
# local development on the working tree, and a user's build ignores them
# (replace directives apply only in the main module). A replaced module has
# no go.sum lines, so no go.sum changes.
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
version=$(root_version "$commit")

pinned=0
while IFS= read -r dir; do
	# Only modules that depend on the root module.
	if ! (cd "$dir" && GOWORK=off go mod edit -json | tr -d " \n\t" | grep -q "\"Require\":\[[^]]*\"Path\":\"$root_module\""); then
		continue
	fi
	(cd "$dir" && GOWORK=off go mod edit -require="$root_module@$version")
	echo "$dir/go.mod: require $root_module $version"
	pinned=$((pinned + 1))
done < <(nested_modules)
echo "pinned $pinned module(s) to ${commit:0:12} ($version)"
