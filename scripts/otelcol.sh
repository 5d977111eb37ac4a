#!/usr/bin/env bash
# Prints the path of a real OpenTelemetry Collector (OTLP receiver, debug
# exporter) built with the official builder from the Go module proxy, and
# builds it first when the cache under $HOME/.cache/operable lacks it.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILDER_VERSION=v0.140.0
cache="${CACHE:-$HOME/.cache/operable}/otelcol-$BUILDER_VERSION"
bin="$cache/otelcol-test"
if [ ! -x "$bin" ]; then
	mkdir -p "$cache"
	GOBIN="$cache" go install "go.opentelemetry.io/collector/cmd/builder@$BUILDER_VERSION" >&2
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
	sed "s#output_path: ./dist#output_path: $work/dist#" integration/otelcol/manifest.yaml > "$work/manifest.yaml"
	"$cache/builder" --config "$work/manifest.yaml" >&2
	mv "$work/dist/otelcol-test" "$bin"
fi
echo "$bin"
