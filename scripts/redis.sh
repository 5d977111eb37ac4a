#!/usr/bin/env bash
# Prints the path of a real Redis server, from Debian's package, installing
# it first when missing. The Vault tests use it behind Vault's database
# secrets engine, for dynamic credentials with renewable leases.
set -euo pipefail
"$(dirname "$0")/debian-package.sh" redis-server redis-server
command -v redis-server
