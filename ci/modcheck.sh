#!/usr/bin/env bash
# ci/modcheck.sh: every nested module can be fetched by a user.
#
# A nested module's "replace github.com/smartdairy/bkash-go => ../" serves
# local development only: a user's "go get .../redisstore" ignores it and
# resolves the version of the root module that the nested go.mod requires.
# So, for every tracked */go.mod that requires the root module, this checks
# that the required version
#   1. is a tag of this repository on HEAD's history, or a pseudo-version
#      whose commit is on HEAD's history and whose base tag and timestamp are
#      the ones the go command computes for that commit (v0.0.0 and other
#      made-up versions fail here);
#   2. builds: the nested module, copied outside the repository, passes
#      "go vet ./..." (which compiles tests too) with -mod=readonly against
#      the root module checked out at exactly that commit, so its go.mod and
#      go.sum are complete for what a user gets;
# and, when HEAD is a clean commit (as in CI),
#   3. resolves as a user resolves it: a scratch module outside the repository
#      runs "go get <nested module>@HEAD" with this repository standing in for
#      github.com (git's url.insteadOf) and builds its packages, the go
#      command computing every version itself.
# Nothing in the repository changes.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/rootversion.sh
repo=$(pwd)

tmp=$(mktemp -d)
cleanup() {
	git worktree list --porcelain | sed -n 's/^worktree //p' | while IFS= read -r w; do
		case $w in "$tmp"/*) git worktree remove --force "$w" ;; esac
	done
	chmod -R u+w "$tmp" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

fail=0
bad() {
	echo "FAIL $*" >&2
	fail=1
}

# commit_of VERSION prints the full commit a root-module VERSION names, or
# returns 1 with a message.
commit_of() {
	local v=$1 c
	if [[ $v =~ $is_pseudo ]]; then
		local short=${v##*-}
		c=$(git rev-parse --verify -q "$short^{commit}") || { echo "pseudo-version $v: no commit $short in this repository" >&2; return 1; }
		[[ $c == "$short"* ]] || { echo "pseudo-version $v: $short is not a commit hash" >&2; return 1; }
		local want
		want=$(pseudo_version "$c")
		if [ "$v" != "$want" ]; then
			echo "pseudo-version $v does not match its commit: the go command names ${c:0:12} $want (base tag or committer time differ)" >&2
			return 1
		fi
	elif [[ $v =~ $semver_tag ]]; then
		c=$(git rev-parse --verify -q "refs/tags/$v^{commit}") || { echo "$v is not a tag of this repository (and not a pseudo-version)" >&2; return 1; }
	else
		echo "$v is neither a tag nor a pseudo-version" >&2
		return 1
	fi
	if ! git merge-base --is-ancestor "$c" HEAD; then
		echo "$v: commit ${c:0:12} is not on HEAD's history (push it to main first)" >&2
		return 1
	fi
	echo "$c"
}

checked=0
while IFS= read -r dir; do
	# The root module's version as this module requires it, if it does.
	v=$(cd "$dir" && GOWORK=off go mod edit -json | tr -d ' \n\t' |
		grep -o "\"Require\":\[[^]]*" | grep -o "{\"Path\":\"$root_module\",\"Version\":\"[^\"]*\"" |
		sed 's/.*"Version":"\([^"]*\)"/\1/' || true)
	if [ -z "$v" ]; then
		echo "ok   $dir: does not require $root_module"
		continue
	fi
	checked=$((checked + 1))
	if ! c=$(commit_of "$v"); then
		bad "$dir/go.mod requires $root_module $v"
		continue
	fi

	# 2. Build against the root at exactly that commit, in copies.
	root="$tmp/root-${c:0:12}"
	[ -d "$root" ] || git worktree add -q --detach "$root" "$c"
	copy="$tmp/mod/$dir"
	mkdir -p "$copy"
	cp -R "$dir/." "$copy/"
	(
		cd "$copy"
		export GOWORK=off GOFLAGS=-mod=readonly
		go mod edit -replace="$root_module=$root"
		# Other replaces point at sibling modules by relative path: keep
		# them on this checkout's files.
		go mod edit -json | tr -d ' \n\t' | grep -o '"Replace":\[.*' |
			grep -o '{"Old":{"Path":"[^"]*"[^}]*},"New":{"Path":"\.[^"]*"}' |
			sed 's/{"Old":{"Path":"\([^"]*\)"[^}]*},"New":{"Path":"\([^"]*\)"}/\1 \2/' |
			while read -r old new; do
				go mod edit -replace="$old=$(cd "$repo/$dir" && cd "$new" && pwd)"
			done
		go vet ./...
	) >"$tmp/build.log" 2>&1 || {
		sed 's/^/    /' "$tmp/build.log" >&2
		bad "$dir does not build against $root_module at ${c:0:12} ($v)"
		continue
	}
	echo "ok   $dir: requires $root_module $v (commit ${c:0:12}, on HEAD's history, builds against it)"
done < <(nested_modules)

# 3. A user's view, when HEAD is what a user would fetch.
if [ "$fail" -eq 0 ] && [ "${MODCHECK_USER:-1}" = 1 ] && [ -z "$(git status --porcelain -- $(nested_modules | sed 's|$|/go.mod|') go.mod)" ]; then
	head=$(git rev-parse HEAD)
	mods=$(nested_modules)
	git clone -q --bare "$repo" "$tmp/origin.git"
	mkdir -p "$tmp/user" && cd "$tmp/user"
	export GOWORK=off GOFLAGS=-mod=mod GOPRIVATE="$root_module" GOMODCACHE="$tmp/modcache" GOPROXY="file://$(go env GOMODCACHE)/cache/download,$(go env GOPROXY)"
	export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0="url.file://$tmp/origin.git.insteadOf" GIT_CONFIG_VALUE_0="https://$root_module"
	go mod init example.com/user >/dev/null 2>&1
	while IFS= read -r dir; do
		mod="$root_module/$dir"
		if go get "$mod@$head" >"$tmp/get.log" 2>&1 && go build "$mod/..." >>"$tmp/get.log" 2>&1; then
			echo "ok   go get $mod@${head:0:12} and go build $mod/... in a module outside the repository ($(go list -m "$root_module" | cut -d' ' -f2))"
		else
			sed 's/^/    /' "$tmp/get.log" >&2
			bad "a user cannot go get and build $mod@${head:0:12}"
		fi
	done <<<"$mods"
	cd "$repo"
	chmod -R u+w "$tmp/modcache" 2>/dev/null || true
elif [ "$fail" -eq 0 ]; then
	echo "skip the user's-view check (MODCHECK_USER=0, or go.mod files differ from HEAD: commit first)"
fi

# Dependabot keeps every module's dependencies current only where it is told.
while IFS= read -r dir; do
	grep -q "^ *- \"/$dir\"" .github/dependabot.yml || bad ".github/dependabot.yml does not list the module directory /$dir"
done < <(nested_modules)

if [ "$fail" -ne 0 ]; then
	echo "modcheck: nested modules must require a version of $root_module a user can resolve; run scripts/pin-root.sh COMMIT (see RELEASING.md)" >&2
	exit 1
fi
echo "modcheck: $checked nested module(s) require a resolvable $root_module"
