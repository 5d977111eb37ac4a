#!/usr/bin/env bash
# Prints the path of grpc-health-probe (the client Kubernetes' gRPC probes
# were modelled on), built from the Go module proxy into the cache under
# $HOME/.cache/operable/bin when it lacks it.
set -euo pipefail
VERSION=v0.4.63
bin="${CACHE:-$HOME/.cache/operable}/bin"
probe="$bin/grpc-health-probe-$VERSION"
if [ ! -x "$probe" ]; then
	mkdir -p "$bin"
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
	GOBIN="$work" go install "github.com/grpc-ecosystem/grpc-health-probe@$VERSION" >&2
	mv "$work/grpc-health-probe" "$probe"
fi
echo "$probe"
