#!/bin/bash
# Unpacks the two web consoles the page is tested in, from Debian's packages,
# each into a tree of its own (nothing installed): cockpit 287 (Debian 12) and
# cockpit 337 (bookworm-backports; PatternFly 6, the console of later RHEL 10
# and 9 updates), each with cockpit-ws, cockpit-bridge, cockpit-system (the
# shell's menu) and cockpit-machines (the Virtual Machines page). The browser
# test runs each tree's cockpit-ws with XDG_DATA_DIRS pointing into it.
# Installing 337 instead would pull systemd and libvirt from backports too.
#
#   bash scripts/cockpit-trees.sh [DIR]    (default /var/cache/nestvirt-test)
#
# Needs root (apt-get) the first time; a tree already unpacked is kept.
set -euo pipefail
base=${1:-/var/cache/nestvirt-test}
export DEBIAN_FRONTEND=noninteractive
src=/etc/apt/sources.list.d/nestvirt-backports.sources
if [ ! -f "$src" ]; then
  # Backports are never installed from by default (priority 100): this only
  # lets apt-get download name them.
  printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' > "$src"
  apt-get update -qq
fi
unpack() { # VERSION SUITE [PACKAGE...]
  local version=$1 suite=$2
  shift 2
  local dir=$base/cockpit-$version
  if [ -x "$dir/tree/usr/lib/cockpit/cockpit-ws" ] && [ -f "$dir/tree/usr/share/cockpit/machines/manifest.json" ] && [ -f "$dir/tree/.complete" ]; then
    return
  fi
  rm -rf "$dir"
  mkdir -p "$dir/debs"
  chmod 0755 "$base" "$dir"
  local p pkgs=()
  for p in cockpit-ws cockpit-bridge cockpit-system cockpit-machines "$@"; do pkgs+=("$p/$suite"); done
  (cd "$dir/debs" && apt-get download -qq "${pkgs[@]}" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
  for d in "$dir"/debs/*.deb; do
    dpkg -x "$d" "$dir/tree"
  done
  local v
  v=$(dpkg-deb -f "$dir"/debs/cockpit-ws_*.deb Version)
  case $v in "$version"*) ;; *) echo "cockpit-trees.sh: $suite has cockpit-ws $v, not $version" >&2; exit 1 ;; esac
  touch "$dir/tree/.complete"
  echo "   cockpit $v in $dir/tree"
}
unpack 287 bookworm
# 337's bridge (Python) drives libsystemd through ctypes and needs the
# backports' libsystemd0: with bookworm's 252, opening the console's internal
# D-Bus fails (sd_bus_attach_event: EINVAL) and the session ends. The test runs
# it with LD_LIBRARY_PATH into the tree.
unpack 337 bookworm-backports libsystemd0
