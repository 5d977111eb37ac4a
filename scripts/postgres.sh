#!/usr/bin/env bash
# Prints the directory of a real PostgreSQL server's binaries (initdb,
# postgres, createdb), from Debian's postgresql package, installing it first
# when missing. Debian keeps them off PATH, under /usr/lib/postgresql/N/bin;
# the newest version there wins. The database tests start a throwaway
# cluster of their own with them (internal/testserver/postgres.go).
set -euo pipefail

find_bin_dir() {
	local d
	# Binaries on PATH (symbolic links into Debian's directory, or a build
	# of one's own), as long as initdb, postgres and createdb sit together.
	if command -v postgres >/dev/null && command -v initdb >/dev/null; then
		d=$(dirname "$(readlink -f "$(command -v postgres)")")
		if [ -x "$d/initdb" ] && [ -x "$d/createdb" ]; then
			echo "$d"
			return 0
		fi
	fi
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		if [ -x "$d/postgres" ] && [ -x "$d/initdb" ] && [ -x "$d/createdb" ]; then
			echo "$d"
			return 0
		fi
	done
	return 1
}

if ! find_bin_dir; then
	# Debian never puts initdb on PATH, so this installs the package; its
	# own cluster is never started (debian-package.sh's policy-rc.d).
	"$(dirname "$0")/debian-package.sh" postgresql initdb
	find_bin_dir
fi
