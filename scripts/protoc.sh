#!/usr/bin/env bash
# Generates the Go code of the example's .proto files with Debian's protoc
# (protobuf-compiler, installed when missing) and the pinned protoc-gen-go
# and protoc-gen-go-grpc (built through the Go module proxy into the cache
# under $HOME/.cache/operable/bin):
#   scripts/protoc.sh            regenerates the committed files in place
#   scripts/protoc.sh DIR        writes them under DIR instead, at the same
#                                paths (the drift test compares the two)
#   scripts/protoc.sh --install  installs the tools only and prints the
#                                directory of the two plugins
set -euo pipefail
cd "$(dirname "$0")/.."
# protoc-gen-go is the version of google.golang.org/protobuf in go.mod.
PROTOC_GEN_GO_VERSION=v1.36.12
PROTOC_GEN_GO_GRPC_VERSION=v1.6.2
# protoc writes its version into the generated files' headers: the one that
# made the committed code, Debian bookworm's protobuf-compiler. Another
# protoc would rewrite every header, and the drift test would fail.
PROTOC_VERSION=3.21.12
bin="${CACHE:-$HOME/.cache/operable}/bin"
gen_go="$bin/protoc-gen-go-$PROTOC_GEN_GO_VERSION"
gen_grpc="$bin/protoc-gen-go-grpc-$PROTOC_GEN_GO_GRPC_VERSION"

scripts/debian-package.sh protobuf-compiler protoc
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

out="${1:-.}"
module=$(go list -m)
# Each directory of .proto files is one Go package, its import path the
# module's path and the directory, its name the last two elements
# (proto/items/v1: itemsv1). The .proto files carry no go_package option:
# the import path is given here (M flags), so that the serialized
# descriptor in the generated code names no module path, and a project
# copied by operable new under another path needs no edit of it (a text
# edit would break its length-prefixed bytes).
find examples/service/proto -name '*.proto' -exec dirname {} \; | sort -u | while read -r dir; do
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
