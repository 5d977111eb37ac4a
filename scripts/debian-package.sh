#!/usr/bin/env bash
# Installs a Debian package when one of the commands it provides is missing:
#   scripts/debian-package.sh PACKAGE COMMAND...
# The package's own service is never started (policy-rc.d): tests start
# their own server on loopback.
set -euo pipefail
pkg=$1
shift
for cmd in "$@"; do
	command -v "$cmd" >/dev/null && continue
	if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq >&2
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
	$SUDO chmod +x /usr/sbin/policy-rc.d
	$SUDO apt-get install -y -qq --no-install-recommends "$pkg" >&2
	$SUDO rm -f /usr/sbin/policy-rc.d
	break
done
