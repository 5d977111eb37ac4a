#!/usr/bin/env bash
# Pins the base images of the service template's Dockerfile to the digest
# the registry holds for their tag, in place:
#   FROM golang:1.26.8-bookworm AS build
# becomes
#   FROM golang:1.26.8-bookworm@sha256:<the digest the registry answered> AS build
#
#   scripts/pin-images.sh [DOCKERFILE...]   (default: examples/service/Dockerfile)
#   scripts/pin-images.sh --check [DOCKERFILE...]
#
# The pipeline runs it where a registry can be reached, before the image
# build, and commits or uses the result; --check exits 1 when a base image
# has no digest. A digest already there is resolved again (the tag is the
# source of truth: a re-pin follows the tag's current image, a review sees
# the change). Each tag must be an exact version (1.26.8, 1.26.8-bookworm);
# latest and other moving tags are refused. The digest comes only from one
# of these clients, the first found: docker buildx imagetools, crane,
# skopeo, regctl; with none, or when the registry does not answer, the
# script fails and leaves the file as it was. It never writes a digest it
# did not read.
#
# This machine reaches no container registry: here the script can only
# fail, and the template's Dockerfile carries tags without digests.
set -euo pipefail
cd "$(dirname "$0")/.."

check=false
if [ "${1:-}" = --check ]; then
	check=true
	shift
fi
files=("$@")
[ ${#files[@]} -gt 0 ] || files=(examples/service/Dockerfile)

exact_tag='^v?[0-9]+\.[0-9]+\.[0-9]+(-[a-z0-9][a-z0-9.-]*)?$'
sha='^sha256:[0-9a-f]{64}$'

# resolve REF prints the digest of REF's manifest (list) as the registry
# answers it.
resolve() {
	local ref=$1 out
	if command -v docker >/dev/null && docker buildx version >/dev/null 2>&1; then
		out=$(docker buildx imagetools inspect --format '{{.Manifest.Digest}}' "$ref")
	elif command -v crane >/dev/null; then
		out=$(crane digest "$ref")
	elif command -v skopeo >/dev/null; then
		out=$(skopeo inspect --raw "docker://$ref" | sha256sum | awk '{print "sha256:" $1}')
	elif command -v regctl >/dev/null; then
		out=$(regctl image digest "$ref")
	else
		echo "pin-images: no registry client (docker buildx, crane, skopeo, regctl) to read $ref's digest with" >&2
		return 1
	fi
	if ! [[ $out =~ $sha ]]; then
		echo "pin-images: the registry client answered ${out@Q} for $ref, not a sha256 digest" >&2
		return 1
	fi
	printf '%s\n' "$out"
}

status=0
for f in "${files[@]}"; do
	tmp=$(mktemp "$f.XXXXXX")
	trap 'rm -f "$tmp"' EXIT
	stages=" "
	while IFS= read -r line || [ -n "$line" ]; do
		# FROM [--platform=...] IMAGE [AS NAME]
		if [[ $line =~ ^([Ff][Rr][Oo][Mm][[:space:]]+(--[^[:space:]]+[[:space:]]+)*)([^[:space:]]+)(.*)$ ]]; then
			head=${BASH_REMATCH[1]} ref=${BASH_REMATCH[3]} rest=${BASH_REMATCH[4]}
			if [[ $rest =~ [Aa][Ss][[:space:]]+([^[:space:]]+) ]]; then
				stage=${BASH_REMATCH[1],,}
			else
				stage=
			fi
			image=${ref%@*}
			if [ "$ref" != scratch ] && [[ $stages != *" ${ref,,} "* ]]; then
				tag=${image##*/}
				if [[ $tag != *:* ]] || ! [[ ${tag##*:} =~ $exact_tag ]]; then
					echo "pin-images: $f: $ref: not an exact version tag (never latest)" >&2
					status=1
				elif $check; then
					if [[ $ref != *@* ]] || ! [[ ${ref#*@} =~ $sha ]]; then
						echo "pin-images: $f: $ref has no digest" >&2
						status=1
					fi
				elif digest=$(resolve "$image"); then
					line="$head$image@$digest$rest"
				else
					status=1
				fi
			fi
			[ -z "$stage" ] || stages+="$stage "
		fi
		printf '%s\n' "$line" >>"$tmp"
	done <"$f"
	if ! $check && [ $status -eq 0 ]; then
		cat "$tmp" >"$f"
	fi
	rm -f "$tmp"
	trap - EXIT
done
exit $status
