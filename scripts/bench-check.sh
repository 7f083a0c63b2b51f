#!/usr/bin/env bash
# The check comparison of docs/PERFORMANCE.md: nestvirt check against the tools an
# admin would otherwise run, side by side in one hyperfine run on this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v hyperfine >/dev/null || need+=(hyperfine)
command -v virt-what >/dev/null || need+=(virt-what)
command -v virt-host-validate >/dev/null || need+=(libvirt-clients)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
CGO_ENABLED=0 go build -o "$work/nestvirt" ./cmd/nestvirt
echo "== what each says on this machine"
echo "nestvirt check:       $("$work/nestvirt" check --format json | python3 -c 'import json,sys; v=json.load(sys.stdin)["host"]["virtualization"]; print("vm=%s hypervisor=%s container=%s level=%s level_min=%s" % (v["vm"], v["hypervisor"], v["container"], v["level"], v["level_min"]))')"
echo "virt-what:            $(virt-what 2>/dev/null | tr '\n' ' ')"
echo "systemd-detect-virt:  $(systemd-detect-virt 2>/dev/null || true)"
echo "== timing (hyperfine, ${RUNS:-50} runs each, interleaved warm-up)"
hyperfine -N --warmup 5 --runs "${RUNS:-50}" -i --export-markdown "$work/check.md" \
  "$work/nestvirt check" \
  "$work/nestvirt check --format json" \
  "$work/nestvirt check -q" \
  "virt-what" \
  "systemd-detect-virt" \
  "virt-host-validate qemu"
cat "$work/check.md"
