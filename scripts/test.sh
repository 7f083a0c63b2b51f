#!/usr/bin/env bash
# Runs every nestvirt test on this machine, installing and starting what the tests
# need first. This is the README's test command, and what CI runs. It changes the
# machine (see README, "Development"): Debian packages, the kvm and libvirt-qemu
# users, /dev/kvm's group, a running libvirtd.
set -euo pipefail
cd "$(dirname "$0")/.."

export CGO_ENABLED=0
export DEBIAN_FRONTEND=noninteractive

echo "== packages the tests use"
# osinfo-db: every libosinfo short id must parse; patch: diffs must apply;
# util-linux (setpriv) runs check as nobody; coreutils' timeout bounds the hook;
# prometheus gives promtool, ansible-core runs the fact playbooks, systemd gives
# systemd-analyze for the units; sosreport (with cpuid and kmod, whose outputs it
# keeps) makes the real report check --sos is tested on; chromium opens the
# fleet report. The packages are checked the way their distributions check them:
# rpm, rpmlint (with python3-magic) and cpio read the RPMs, lintian the DEBs,
# man-db renders the pages, bash-completion loads the completion, and
# qemu-user-static runs the probe's tests on s390x and aarch64. wine (wine64) runs
# the Windows build, with a shim DLL gcc-mingw-w64-x86-64 builds.
need=()
for p in osinfo-db patch util-linux coreutils prometheus ansible-core systemd sosreport cpuid kmod chromium \
  rpm rpmlint python3-magic cpio lintian man-db bash-completion qemu-user-static \
  wine wine64 gcc-mingw-w64-x86-64; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
go mod download

echo "== libvirtd (the integration tests use a real daemon)"
bash scripts/libvirtd.sh

echo "== gofmt"
bad=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$bad" ]; then
  echo "not gofmt-formatted:"; echo "$bad"; exit 1
fi

echo "== go vet"
go vet ./...
go vet -tags integration ./...

echo "== go mod tidy"
go mod tidy -diff

echo "== static build"
go build -o /dev/null ./cmd/nestvirt

echo "== go test (with the integration tests: a real libvirtd, root)"
# One package at a time: the guard test restarts libvirtd, which other packages use.
go test -tags integration -count=1 -p 1 ./...

echo "== packages (scripts/test-packages.sh: RPM and DEB for four arches, man pages, completion)"
bash scripts/test-packages.sh

echo "== the Windows build under Wine (scripts/test-windows.sh)"
bash scripts/test-windows.sh

echo "== the real nested chain (scripts/e2e.sh: L0 -> L1 -> L2 under QEMU TCG)"
bash scripts/e2e.sh
