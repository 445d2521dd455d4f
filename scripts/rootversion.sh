# scripts/rootversion.sh: the version of the root module
# (github.com/smartdairy/bkash-go) at a commit, as the go command names it.
# Sourced by scripts/pin-root.sh and ci/modcheck.sh; needs bash and git.
#
#   root_version COMMIT   prints the release tag when COMMIT carries one, else
#                         the pseudo-version the go command gives COMMIT.
#
# Go's pseudo-versions (https://go.dev/ref/mod#pseudo-versions) take their base
# from the highest semantic-version tag of the module among COMMIT's ancestors
# (for the root module: tags "vX.Y.Z" without a directory prefix; nested
# modules' tags "redisstore/vX.Y.Z" do not count), and their time from the
# commit's committer time in UTC:
#
#   no tag               v0.0.0-20261205235000-0123456789ab
#   base vX.Y.Z          vX.Y.(Z+1)-0.20261205235000-0123456789ab
#   base vX.Y.Z-pre      vX.Y.Z-pre.0.20261205235000-0123456789ab

# semver_tag matches a version the go command accepts as a module tag (no
# build metadata, which the go command ignores for module versions).
semver_tag='^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$'

# is_pseudo matches the three pseudo-version shapes above.
is_pseudo='^v[0-9]+\.[0-9]+\.[0-9]+-(([0-9A-Za-z.-]+\.)?0\.)?[0-9]{14}-[0-9a-f]{12}$'

# highest_root_tag COMMIT prints the highest root-module tag among COMMIT's
# ancestors (COMMIT included), or nothing.
highest_root_tag() {
	local tag
	git tag --merged "$1" --list 'v*' | while IFS= read -r tag; do
		[[ $tag =~ $semver_tag ]] || continue
		local major=${BASH_REMATCH[1]} minor=${BASH_REMATCH[2]} patch=${BASH_REMATCH[3]} pre=${BASH_REMATCH[4]#-}
		[[ $tag =~ $is_pseudo ]] && continue # the go command ignores such tags
		# A release sorts above its pre-releases: flag 1 for a release.
		printf '%s %s %s %d %s %s\n' "$major" "$minor" "$patch" \
			"$([ -z "$pre" ] && echo 1 || echo 0)" "${pre:--}" "$tag"
	done | sort -k1,1n -k2,2n -k3,3n -k4,4n -k5,5V | tail -n 1 | cut -d' ' -f6
}

# commit_tag COMMIT prints the highest root-module release tag pointing at
# COMMIT itself, or nothing.
commit_tag() {
	local tag
	git tag --points-at "$1" --list 'v*' | while IFS= read -r tag; do
		[[ $tag =~ $semver_tag ]] && ! [[ $tag =~ $is_pseudo ]] && echo "$tag"
	done | sort -V | tail -n 1
}

# pseudo_version COMMIT prints COMMIT's pseudo-version (even when tagged).
pseudo_version() {
	local full time hash base
	full=$(git rev-parse --verify -q "$1^{commit}") || { echo "no commit $1" >&2; return 1; }
	time=$(TZ=UTC git show -s --format=%cd --date=format-local:%Y%m%d%H%M%S "$full")
	hash=${full:0:12}
	base=$(highest_root_tag "$full")
	if [ -z "$base" ]; then
		echo "v0.0.0-$time-$hash"
	elif [[ $base == *-* ]]; then
		echo "$base.0.$time-$hash"
	else
		local core=${base#v} major minor patch
		IFS=. read -r major minor patch <<<"$core"
		echo "v$major.$minor.$((patch + 1))-0.$time-$hash"
	fi
}

# root_version COMMIT: the tag when there is one, else the pseudo-version.
root_version() {
	local tag
	tag=$(commit_tag "$1")
	if [ -n "$tag" ]; then
		echo "$tag"
	else
		pseudo_version "$1"
	fi
}

# nested_modules prints the directories of the nested modules (tracked
# */go.mod files), one a line.
nested_modules() {
	git ls-files '*/go.mod' | while IFS= read -r f; do dirname "$f"; done
}

root_module=github.com/smartdairy/bkash-go
