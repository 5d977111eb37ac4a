#!/usr/bin/env bash
# Prints the path of shellcheck, from Debian's package, installing it first
# when missing. templatecheck's workflow check (actionlint) runs it on
# every run: step, and on the project's scripts.
set -euo pipefail
"$(dirname "$0")/debian-package.sh" shellcheck shellcheck
command -v shellcheck
