#!/usr/bin/env bash
# Installs and starts a real libvirtd (Debian, no systemd, as root), as the tests
# that need libvirt expect. Recipe: ../shared/reference/libvirt-ci.md. Idempotent.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
if ! command -v libvirtd >/dev/null || ! command -v virsh >/dev/null || ! command -v qemu-system-x86_64 >/dev/null; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends libvirt-daemon libvirt-clients qemu-system-x86 >/dev/null
fi
# A libvirt0 whose file list lost the CPU map (a downgrade from a release that
# moved it to another package does that) defines domains but cannot start one:
# "failed to parse xml document '/usr/share/libvirt/cpu_map/index.xml'".
if [ ! -e /usr/share/libvirt/cpu_map/index.xml ]; then
  echo "libvirt0 has lost its CPU map (/usr/share/libvirt/cpu_map/index.xml): reinstalling it"
  apt-get update -qq
  apt-get install -y -qq --reinstall libvirt0 >/dev/null
  pkill -x libvirtd && sleep 1 || true   # a running daemon read the map it did not find
fi
getent group kvm >/dev/null || addgroup --quiet --system kvm
getent passwd libvirt-qemu >/dev/null || adduser --quiet --system --ingroup kvm --disabled-login \
  --disabled-password --home /var/lib/libvirt --no-create-home --gecos "Libvirt Qemu" libvirt-qemu
getent group libvirt-qemu >/dev/null || { addgroup --quiet --system libvirt-qemu; adduser --quiet libvirt-qemu libvirt-qemu; }
[ -c /dev/kvm ] && chgrp kvm /dev/kvm && chmod 0660 /dev/kvm   # else each define re-probes QEMU
mkdir -p /var/log/libvirt/qemu /etc/libvirt/hooks
if [ -S /run/libvirt/libvirt-sock ] && virsh -c qemu:///system version >/dev/null 2>&1; then
  echo "libvirtd already running"; exit 0
fi
[ -f /run/virtlogd.pid ] && kill -0 "$(cat /run/virtlogd.pid)" 2>/dev/null || virtlogd -d
libvirtd -d
for _ in $(seq 300); do [ -S /run/libvirt/libvirt-sock ] && break; sleep 0.1; done
if ! virsh -c qemu:///system version; then
  echo "libvirtd did not start:" >&2
  tail -50 /var/log/libvirt/libvirtd.log >&2 || true
  exit 1
fi
