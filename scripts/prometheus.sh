#!/usr/bin/env bash
# Prints the directory holding a real Prometheus server and promtool, from
# Debian's package, installing it first when missing.
set -euo pipefail
"$(dirname "$0")/debian-package.sh" prometheus prometheus promtool
dirname "$(command -v prometheus)"
