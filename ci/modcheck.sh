#!/usr/bin/env bash
# ci/modcheck.sh: every nested module can be fetched by a user.
#
# A nested module's "replace github.com/smartdairy/bkash-go => ../" serves
# local development only: a user's "go get .../redisstore" ignores it and
# resolves the version of the root module that the nested go.mod requires.
# So, for every tracked */go.mod, and every requirement it has on a module of
# this repository (the root module, or a sibling such as .../otel), this
# checks that the required version
#   1. is the module's tag ("vX.Y.Z" for the root, "DIR/vX.Y.Z" for a nested
#      module) on HEAD's history, or a pseudo-version whose commit is on
#      HEAD's history and whose base tag and timestamp are the ones the go
#      command computes for that commit (v0.0.0 and other made-up versions
#      fail here);
#   2. builds: the nested module, copied outside the repository, passes
#      "go vet ./..." (which compiles tests too) with -mod=readonly against
#      those modules checked out at exactly those commits, so its go.mod and
#      go.sum are complete for what a user gets;
# and, when HEAD is a clean commit (as in CI),
#   3. resolves as a user resolves it: a scratch module outside the repository
#      runs "go get <nested module>@HEAD" with this repository standing in for
#      github.com (git's url.insteadOf) and builds its packages, the go
#      command computing every version itself;
# and .github/dependabot.yml lists every module directory.
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

# commit_of VERSION DIR prints the full commit that VERSION of the module in
# DIR names, or returns 1 with a message.
commit_of() {
	local v=$1 dir=$2 c
	if [[ $v =~ $is_pseudo ]]; then
		local short=${v##*-}
		c=$(git rev-parse --verify -q "$short^{commit}") || { echo "pseudo-version $v: no commit $short in this repository" >&2; return 1; }
		[[ $c == "$short"* ]] || { echo "pseudo-version $v: $short is not a commit hash" >&2; return 1; }
		local want
		want=$(pseudo_version "$c" "$dir")
		if [ "$v" != "$want" ]; then
			echo "pseudo-version $v does not match its commit: the go command names ${c:0:12} $want (base tag or committer time differ)" >&2
			return 1
		fi
	elif [[ $v =~ $semver_tag ]]; then
		local tag
		tag="$(tag_prefix "$dir")$v"
		c=$(git rev-parse --verify -q "refs/tags/$tag^{commit}") || { echo "$v: there is no tag $tag (and it is not a pseudo-version)" >&2; return 1; }
	else
		echo "$v is neither a tag nor a pseudo-version" >&2
		return 1
	fi
	if ! git merge-base --is-ancestor "$c" HEAD; then
		echo "$v: commit ${c:0:12} is not on HEAD's history (push it to main first)" >&2
		return 1
	fi
	if [ "$dir" != . ] && ! git cat-file -e "$c:$dir/go.mod" 2>/dev/null; then
		echo "$v: commit ${c:0:12} has no $dir/go.mod" >&2
		return 1
	fi
	echo "$c"
}

# checkout COMMIT prints the directory of a worktree at COMMIT.
checkout() {
	local w="$tmp/tree-${1:0:12}"
	[ -d "$w" ] || git worktree add -q --detach "$w" "$1" >&2
	echo "$w"
}

checked=0
while IFS= read -r dir; do
	reqs=$(repo_requirements "$dir")
	if [ -z "$reqs" ]; then
		echo "ok   $dir: requires no module of this repository"
		continue
	fi
	# 1. Every requirement on a module of this repository resolves to a
	# commit of HEAD's history; collect the replacements for step 2.
	replaces=()
	ok=1
	while read -r path v; do
		checked=$((checked + 1))
		if ! dep=$(module_dir "$path"); then
			bad "$dir/go.mod requires $path, which is no module of this repository"
			ok=0
			continue
		fi
		if ! c=$(commit_of "$v" "$dep"); then
			bad "$dir/go.mod requires $path $v"
			ok=0
			continue
		fi
		tree=$(checkout "$c")
		if [ "$dep" = . ]; then
			replaces+=("$path=$tree")
		else
			replaces+=("$path=$tree/$dep")
		fi
		echo "ok   $dir: requires $path $v (commit ${c:0:12}, on HEAD's history)"
	done <<<"$reqs"
	[ "$ok" = 1 ] || continue

	# 2. Build against exactly those commits, in a copy.
	copy="$tmp/mod/$dir"
	mkdir -p "$copy"
	cp -R "$dir/." "$copy/"
	(
		cd "$copy"
		export GOWORK=off GOFLAGS=-mod=readonly
		# Other replaces point at sibling modules by relative path: keep
		# them on this checkout's files.
		go mod edit -json | tr -d ' \n\t' | grep -o '"Replace":\[.*' |
			grep -o '{"Old":{"Path":"[^"]*"[^}]*},"New":{"Path":"\.[^"]*"}' |
			sed 's/{"Old":{"Path":"\([^"]*\)"[^}]*},"New":{"Path":"\([^"]*\)"}/\1 \2/' |
			while read -r old new; do
				go mod edit -replace="$old=$(cd "$repo/$dir" && cd "$new" && pwd)"
			done
		for r in "${replaces[@]}"; do
			go mod edit -replace="$r"
		done
		go vet ./...
	) >"$tmp/build.log" 2>&1 || {
		sed 's/^/    /' "$tmp/build.log" >&2
		bad "$dir does not build against the versions it requires (if a sibling it requires, at that commit, still requires v0.0.0 of a module here, which sorts above every v0.0.0 pseudo-version: pin, commit, and pin again to the new commit)"
		continue
	}
	echo "ok   $dir: builds against exactly those versions"
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
	echo "modcheck: nested modules must require versions of this repository's modules a user can resolve; run scripts/pin-root.sh COMMIT (see RELEASING.md)" >&2
	exit 1
fi
echo "modcheck: $checked requirement(s) of nested modules on modules of this repository resolve"
