#!/usr/bin/env bash
# Generates the Go code of the .proto files under proto/ with Debian's protoc
# (protobuf-compiler, installed with apt-get when missing) and the pinned
# protoc-gen-go and protoc-gen-go-grpc (built through the Go module proxy
# into the cache under $HOME/.cache/operable/bin, which the SDK's own
# scripts/protoc.sh shares):
#   scripts/protoc.sh               regenerates the committed files in place
#   scripts/protoc.sh DIR           writes them under DIR instead, at the same
#                                   paths (grpc_proto_test.go compares the two)
#   scripts/protoc.sh --install     installs the tools only and prints the
#                                   directory of the two plugins
#   scripts/protoc.sh --no-install DIR
#                                   as with DIR, but installs nothing: exits 3,
#                                   naming what is missing, when a tool is not
#                                   there (grpc_proto_test.go then skips)
# Written by `operable new`; the versions are those of the SDK's
# scripts/protoc.sh at the version go.mod requires.
set -euo pipefail
cd "$(dirname "$0")/.."
# protoc-gen-go is the version of google.golang.org/protobuf the SDK
# requires; keep it with the module's (go list -m google.golang.org/protobuf).
PROTOC_GEN_GO_VERSION=v1.36.12
PROTOC_GEN_GO_GRPC_VERSION=v1.6.2
# protoc writes its version into the generated files' headers: the one that
# made the committed code, Debian bookworm's protobuf-compiler. Another
# protoc would rewrite every header, and the drift check would fail.
PROTOC_VERSION=3.21.12
bin="${CACHE:-$HOME/.cache/operable}/bin"
gen_go="$bin/protoc-gen-go-$PROTOC_GEN_GO_VERSION"
gen_grpc="$bin/protoc-gen-go-grpc-$PROTOC_GEN_GO_GRPC_VERSION"

if [ "${1:-}" = --no-install ]; then
	shift
	missing=()
	if ! command -v protoc >/dev/null; then
		missing+=("protoc (Debian's protobuf-compiler)")
	elif [ "$(protoc --version)" != "libprotoc $PROTOC_VERSION" ]; then
		missing+=("libprotoc $PROTOC_VERSION (on PATH: $(protoc --version))")
	fi
	[ -x "$gen_go" ] || missing+=("protoc-gen-go $PROTOC_GEN_GO_VERSION")
	[ -x "$gen_grpc" ] || missing+=("protoc-gen-go-grpc $PROTOC_GEN_GO_GRPC_VERSION")
	if [ ${#missing[@]} -gt 0 ]; then
		list=$(printf '%s, ' "${missing[@]}")
		echo "protoc.sh: not installed: ${list%, }; scripts/protoc.sh --install installs them" >&2
		exit 3
	fi
else
	if ! command -v protoc >/dev/null; then
		if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
		export DEBIAN_FRONTEND=noninteractive
		$SUDO apt-get update -qq >&2
		$SUDO apt-get install -y -qq --no-install-recommends protobuf-compiler >&2
	fi
	if [ "$(protoc --version)" != "libprotoc $PROTOC_VERSION" ]; then
		echo "protoc.sh: $(command -v protoc) is $(protoc --version), the committed code was made with libprotoc $PROTOC_VERSION (Debian bookworm's protobuf-compiler): put that one first on PATH" >&2
		exit 1
	fi
	install() { # install PACKAGE VERSION DEST
		[ -x "$3" ] && return
		mkdir -p "$bin"
		work=$(mktemp -d)
		GOBIN="$work" go install "$1@$2" >&2
		mv "$work/$(basename "$1")" "$3"
		rm -rf "$work"
	}
	install google.golang.org/protobuf/cmd/protoc-gen-go "$PROTOC_GEN_GO_VERSION" "$gen_go"
	install google.golang.org/grpc/cmd/protoc-gen-go-grpc "$PROTOC_GEN_GO_GRPC_VERSION" "$gen_grpc"
	if [ "${1:-}" = --install ]; then
		echo "$bin"
		exit 0
	fi
fi

out="${1:-.}"
module=$(go list -m)
# Each directory of .proto files is one Go package, its import path the
# module's path and the directory, its name the last two elements
# (proto/items/v1: itemsv1). The .proto files carry no go_package option:
# the import path is given here (M flags), so that the serialized
# descriptor in the generated code names no module path.
find proto -name '*.proto' -exec dirname {} \; | sort -u | while read -r dir; do
	mkdir -p "$out/$dir"
	pkg="$(basename "$(dirname "$dir")")$(basename "$dir")"
	m=()
	for f in "$dir"/*.proto; do
		m+=("--go_opt=M$(basename "$f")=$module/$dir;$pkg" "--go-grpc_opt=M$(basename "$f")=$module/$dir;$pkg")
	done
	protoc --proto_path="$dir" \
		--plugin=protoc-gen-go="$gen_go" --go_out="$out/$dir" --go_opt=paths=source_relative \
		--plugin=protoc-gen-go-grpc="$gen_grpc" --go-grpc_out="$out/$dir" --go-grpc_opt=paths=source_relative \
		"${m[@]}" "$dir"/*.proto
done
