#!/usr/bin/env bash
# Prints the path of a real Vault server (v1.21.0) built from the Go module
# proxy by the helper module integration/vault, and builds it first when the
# cache under $HOME/.cache/operable lacks it. The first build downloads
# about 3.5 GB of modules and takes 15-25 minutes on 2 cores. Vault's main
# module is BUSL-licensed: a test tool here, never a dependency of the SDK.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=v1.21.0
cache="${CACHE:-$HOME/.cache/operable}/vault-$VERSION"
bin="$cache/vault"
if [ ! -x "$bin" ]; then
	mkdir -p "$cache"
	(cd integration/vault && go build -trimpath -o "$bin.tmp" github.com/hashicorp/vault) >&2
	mv "$bin.tmp" "$bin"
fi
echo "$bin"
