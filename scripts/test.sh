#!/usr/bin/env bash
# Runs every nestvirt test on this machine, installing and starting what the tests
# need first. This is the README's test command, and what CI runs. It changes the
# machine (see README, "Development"): Debian packages, the kvm, libvirt-qemu and
# nestvirt-test users, /dev/kvm's group when there is one, a running libvirtd.
#
# Two ways to test, both run here: `go test ./...` alone passes anywhere (an
# ordinary user, no tools, no network, nothing beside the repository), and the
# integration tests (-tags integration) use the real daemon, tools and root. In
# this run no test may skip: a missing tool is installed, a missing service
# started, and what still cannot run fails the run.
#
# The corpora beside the repository (seed/ and conformance/ in $NESTVIRT_CORPORA,
# by default ../shared) are used when they are there; when they are not, one line
# says so and the rest runs. NESTVIRT_CORPORA_REQUIRED=1 (CI sets it) makes their
# absence a failure.
set -euo pipefail
cd "$(dirname "$0")/.."

# Each step's time, and the whole run's, so where the time goes is seen.
start=$SECONDS step_start=$SECONDS step_name=""
step() {
  [ -z "$step_name" ] || echo "   ($step_name: $((SECONDS - step_start)) s)"
  step_start=$SECONDS step_name=$1
  echo "== $1"
}
go_pid=""
trap 'rc=$?; [ -z "$go_pid" ] || kill -- -"$go_pid" 2>/dev/null || true; [ -z "$step_name" ] || echo "   ($step_name: $((SECONDS - step_start)) s)"; echo "== all: $((SECONDS - start)) s, exit $rc"' EXIT

export CGO_ENABLED=0
export DEBIAN_FRONTEND=noninteractive

step "packages the tests use"
# osinfo-db: every libosinfo short id must parse; patch: diffs must apply;
# util-linux (setpriv, unshare) and iproute2 run tests as another user without a
# network; coreutils' timeout bounds the hook;
# prometheus gives promtool, ansible-core runs the fact playbooks, systemd gives
# systemd-analyze for the units; sosreport (with cpuid and kmod, whose outputs it
# keeps) makes the real report check --sos is tested on; chromium opens the
# fleet report. The packages are checked the way their distributions check them:
# rpm, rpmlint (with python3-magic) and cpio read the RPMs, lintian the DEBs,
# man-db renders the pages, bash-completion loads the completion, and
# qemu-user-static runs the probe's tests on s390x and aarch64. wine (wine64) runs
# the Windows build, with a shim DLL gcc-mingw-w64-x86-64 builds. buildah and
# busybox-static build the Kubernetes image (offline: FROM scratch). cockpit-ws,
# cockpit-bridge and cockpit-system (the shell) serve the installed page to
# curl; the browser test runs the consoles scripts/cockpit-trees.sh unpacks
# (cockpit 287 and 337), with a system and a session D-Bus (dbus-daemon) as a
# login has them; gettext's xgettext writes the page's POT. The machine's own
# npm (Node.js's, not a Debian package) installs the page's pinned packages
# (scripts/cockpit.sh).
# The steps that need only Go (gofmt, vet, tidy, the static build) and then
# the plain tests (which need a user of their own and a network namespace:
# util-linux, iproute2) run as scripts/test-go.sh as soon as those are there,
# beside the rest of the installs and the services; the integration tests
# wait for them. -trimpath: a package compiles to the same cache entry in any
# copy of the tree, so the plain run, in a copy as another user, reuses what
# vet compiled (scripts/test-unprivileged.sh).
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-trimpath"
first=() need=()
for p in util-linux iproute2; do dpkg -s "$p" >/dev/null 2>&1 || first+=("$p"); done
for p in osinfo-db patch coreutils prometheus ansible-core systemd sosreport cpuid kmod chromium \
  rpm rpmlint python3-magic cpio lintian man-db bash-completion qemu-user-static \
  wine wine64 gcc-mingw-w64-x86-64 buildah busybox-static cockpit-ws cockpit-bridge cockpit-system curl dbus-daemon dbus-bin gettext; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ $((${#first[@]} + ${#need[@]})) -gt 0 ]; then
  apt-get update -qq
fi
if [ ${#first[@]} -gt 0 ]; then
  apt-get install -y -qq --no-install-recommends "${first[@]}" >/dev/null
fi
go mod download
go -C tools mod download
go_log=$(mktemp /tmp/nestvirt-go.XXXXXX) go_start=$SECONDS
setsid bash scripts/test-go.sh >"$go_log" 2>&1 &
go_pid=$!
echo "   gofmt, vet, tidy, the static build and the plain tests started (scripts/test-go.sh, beside the next steps)"
if [ ${#need[@]} -gt 0 ]; then
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
command -v npm >/dev/null || { echo "test.sh: npm is needed to build the web console's page (Node.js's npm)" >&2; exit 1; }

step "the corpora beside the repository"
corpora=${NESTVIRT_CORPORA:-$(cd .. && pwd)/shared}
tags=integration
if [ -d "$corpora/seed" ] && [ -d "$corpora/conformance/virt-what" ] && [ -d "$corpora/conformance/libvirt-xml" ]; then
  export NESTVIRT_CORPORA=$corpora NESTVIRT_CORPORA_TAGS=corpora
  tags=integration,corpora
  echo "   $corpora: the RHEL page, virt-what's machines and libvirt's domains are tested"
elif [ -n "${NESTVIRT_CORPORA_REQUIRED:-}" ]; then
  echo "the corpora are required here (NESTVIRT_CORPORA_REQUIRED) but $corpora holds no seed/ and conformance/{virt-what,libvirt-xml}" >&2
  exit 1
else
  echo "   corpora absent ($corpora has no seed/ and conformance/): the tests over the RHEL page's text, virt-what's machines and libvirt's domains are not run"
fi

step "libvirtd (the integration tests use a real daemon)"
bash scripts/libvirtd.sh

step "the system D-Bus (the web console's bridge asks it) and the consoles the page is tested in"
if [ ! -S /run/dbus/system_bus_socket ] || ! dbus-send --system --print-reply --dest=org.freedesktop.DBus / org.freedesktop.DBus.GetId >/dev/null 2>&1; then
  mkdir -p /run/dbus
  rm -f /run/dbus/pid
  dbus-daemon --system --fork
fi
bash scripts/cockpit-trees.sh

step "gofmt, go vet, go mod tidy, the static build, go test plain as an ordinary user (scripts/test-go.sh)"
# Started with the installs; what is left of it is waited for here.
if ! wait "$go_pid"; then
  go_pid=""
  cat "$go_log"
  exit 1
fi
go_pid=""
cat "$go_log"
echo "   (scripts/test-go.sh took $((SECONDS - go_start)) s, $((step_start - go_start)) s of them beside the steps above)"

step "go test -tags $tags (a real libvirtd, root, the tools; no test may skip)"
# The plain tests passed above; here the tests that need the tags, those of the
# files built only with them (//go:build integration or corpora), so no test
# runs twice. One package at a time: the guard test restarts libvirtd, which
# other packages use.
tagged=$(grep -rlE "^//go:build .*(${tags/,/|})" --include='*_test.go' --exclude-dir=tools --exclude-dir=node_modules .)
names=$(grep -hoE '^func (Test|Fuzz|Example)[A-Za-z0-9_]+' $tagged | sed 's/^func //' | sort -u | paste -sd'|')
echo "   $(echo "$names" | tr '|' '\n' | wc -l) tests in $(echo "$tagged" | wc -l) files of $(dirname $tagged | sort -u | wc -l) packages"
go test -json -tags "$tags" -count=1 -p 1 -run "^($names)\$" $(dirname $tagged | sort -u) | go run ./scripts/gotest -noskip
go -C tools test -json -tags integration -count=1 ./... | go run ./scripts/gotest -noskip

step "packages (scripts/test-packages.sh: RPM and DEB for four arches, man pages, completion)"
bash scripts/test-packages.sh

step "the Windows build under Wine (scripts/test-windows.sh)"
bash scripts/test-windows.sh

step "the real nested chain (scripts/e2e.sh: L0 -> L1 -> L2 under QEMU TCG)"
bash scripts/e2e.sh
