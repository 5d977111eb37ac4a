#!/usr/bin/env bash
# Prints the directory holding a real Prometheus server and promtool, from
# Debian's package, installing it first when missing. The package's own
# service is not used: tests start their own server on loopback.
set -euo pipefail
if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
	if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq >&2
	# policy-rc.d keeps the package from starting its own daemon.
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
	$SUDO chmod +x /usr/sbin/policy-rc.d
	$SUDO apt-get install -y -qq --no-install-recommends prometheus >&2
	$SUDO rm -f /usr/sbin/policy-rc.d
fi
dirname "$(command -v prometheus)"
