#!/usr/bin/env bash
# Prints the path of wrk, the HTTP load generator, from Debian's package,
# installing it first when missing. bench/cmd/e2e loads the example service
# and a bare net/http one with it (closed loop, for throughput).
set -euo pipefail
"$(dirname "$0")/debian-package.sh" wrk wrk
command -v wrk
