# scripts/rootversion.sh: the version of one of this repository's modules at a
# commit, as the go command names it. Sourced by scripts/pin-root.sh and
# ci/modcheck.sh; needs bash and git.
#
#   module_version COMMIT [DIR]   the module's release tag on COMMIT, else the
#                                 pseudo-version the go command gives COMMIT
#   pseudo_version COMMIT [DIR]   the pseudo-version, even when tagged
#
# DIR is the module's directory ("" or absent for the root module
# github.com/smartdairy/bkash-go, "redisstore" for .../redisstore); its tags
# are "vX.Y.Z" for the root and "DIR/vX.Y.Z" for a nested module.
#
# Go's pseudo-versions (https://go.dev/ref/mod#pseudo-versions) take their base
# from the highest semantic-version tag of the module among COMMIT's ancestors
# and their time from the commit's committer time in UTC:
#
#   no tag               v0.0.0-20261205235000-0123456789ab
#   base vX.Y.Z          vX.Y.(Z+1)-0.20261205235000-0123456789ab
#   base vX.Y.Z-pre      vX.Y.Z-pre.0.20261205235000-0123456789ab

root_module=github.com/smartdairy/bkash-go

# semver_tag matches a version the go command accepts as a module tag (no
# build metadata, which the go command ignores for module versions).
semver_tag='^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$'

# is_pseudo matches the three pseudo-version shapes above.
is_pseudo='^v[0-9]+\.[0-9]+\.[0-9]+-(([0-9A-Za-z.-]+\.)?0\.)?[0-9]{14}-[0-9a-f]{12}$'

# tag_prefix DIR: "" for the root module, "DIR/" for a nested one.
tag_prefix() {
	if [ -n "${1:-}" ] && [ "$1" != . ]; then echo "$1/"; fi
}

# module_path DIR: the module path of the module in DIR.
module_path() {
	if [ -n "${1:-}" ] && [ "$1" != . ]; then echo "$root_module/$1"; else echo "$root_module"; fi
}

# highest_tag COMMIT [DIR] prints the version of the module's highest tag among
# COMMIT's ancestors (COMMIT included), without the directory prefix, or
# nothing.
highest_tag() {
	local prefix tag v
	prefix=$(tag_prefix "${2:-}")
	git tag --merged "$1" --list "${prefix}v*" | while IFS= read -r tag; do
		v=${tag#"$prefix"}
		[[ $v =~ $semver_tag ]] || continue
		local major=${BASH_REMATCH[1]} minor=${BASH_REMATCH[2]} patch=${BASH_REMATCH[3]} pre=${BASH_REMATCH[4]#-}
		[[ $v =~ $is_pseudo ]] && continue # the go command ignores such tags
		# A release sorts above its pre-releases: flag 1 for a release.
		printf '%s %s %s %d %s %s\n' "$major" "$minor" "$patch" \
			"$([ -z "$pre" ] && echo 1 || echo 0)" "${pre:--}" "$v"
	done | sort -k1,1n -k2,2n -k3,3n -k4,4n -k5,5V | tail -n 1 | cut -d' ' -f6
}

# commit_tag COMMIT [DIR] prints the version of the module's highest tag
# pointing at COMMIT itself, or nothing.
commit_tag() {
	local prefix tag v
	prefix=$(tag_prefix "${2:-}")
	git tag --points-at "$1" --list "${prefix}v*" | while IFS= read -r tag; do
		v=${tag#"$prefix"}
		[[ $v =~ $semver_tag ]] && ! [[ $v =~ $is_pseudo ]] && echo "$v"
	done | sort -V | tail -n 1
}

# pseudo_version COMMIT [DIR] prints COMMIT's pseudo-version for the module.
pseudo_version() {
	local full time hash base
	full=$(git rev-parse --verify -q "$1^{commit}") || { echo "no commit $1" >&2; return 1; }
	time=$(TZ=UTC git show -s --format=%cd --date=format-local:%Y%m%d%H%M%S "$full")
	hash=${full:0:12}
	base=$(highest_tag "$full" "${2:-}")
	if [ -z "$base" ]; then
		echo "v0.0.0-$time-$hash"
	elif [[ $base == *-* ]]; then
		echo "$base.0.$time-$hash"
	else
		local major minor patch
		IFS=. read -r major minor patch <<<"${base#v}"
		echo "v$major.$minor.$((patch + 1))-0.$time-$hash"
	fi
}

# module_version COMMIT [DIR]: the tag when there is one, else the
# pseudo-version.
module_version() {
	local tag
	tag=$(commit_tag "$1" "${2:-}")
	if [ -n "$tag" ]; then
		echo "$tag"
	else
		pseudo_version "$1" "${2:-}"
	fi
}

# root_version COMMIT: module_version of the root module.
root_version() { module_version "$1"; }

# nested_modules prints the directories of the nested modules (tracked
# */go.mod files), one a line.
nested_modules() {
	git ls-files '*/go.mod' | while IFS= read -r f; do dirname "$f"; done
}

# repo_requirements DIR prints "PATH VERSION" for each requirement of the
# module in DIR on a module of this repository (the root or a nested one).
repo_requirements() {
	(cd "$1" && GOWORK=off go mod edit -json) | tr -d ' \n\t' |
		grep -o '"Require":\[[^]]*' | grep -o '{"Path":"[^"]*","Version":"[^"]*"' |
		sed 's/{"Path":"\([^"]*\)","Version":"\([^"]*\)"/\1 \2/' |
		while read -r path version; do
			case $path in
			"$root_module" | "$root_module"/*) echo "$path $version" ;;
			esac
		done
}

# module_dir PATH prints the directory of this repository's module PATH
# ("." for the root), or fails when no tracked go.mod is there.
module_dir() {
	local dir=${1#"$root_module"}
	dir=${dir#/}
	[ -z "$dir" ] && { echo .; return 0; }
	git ls-files --error-unmatch "$dir/go.mod" >/dev/null 2>&1 || return 1
	echo "$dir"
}
