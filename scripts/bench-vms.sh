#!/usr/bin/env bash
# The vms benchmark of docs/PERFORMANCE.md: 1,000 defined domains audited by one
# `nestvirt vms --format json`, libvirtd already warm. Runs with or without KVM.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/libvirtd.sh >/dev/null
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine; }
work=$(mktemp -d)
N=${N:-1000}
cleanup() {
  for i in $(seq -w 1 "$N"); do echo "undefine nvbench-$i"; done | virsh -c qemu:///system >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
CGO_ENABLED=0 go build -o "$work/nestvirt" ./cmd/nestvirt
# KVM domains where the daemon offers KVM, QEMU's emulation where it does not
# (no /dev/kvm): vms reads and judges both; the table says which ran.
type=qemu
virsh -c qemu:///system domcapabilities --virttype kvm >/dev/null 2>&1 && type=kvm
echo "domain type: $type"
for i in $(seq -w 1 "$N"); do
  case $((10#$i % 4)) in
    0) cpu="<cpu mode='host-passthrough'/>"; os="http://redhat.com/rhel/10.0" ;;
    1) cpu="<cpu mode='host-model'/>"; os="http://microsoft.com/win/11" ;;
    2) cpu="<cpu mode='custom'><model>qemu64</model><feature policy='require' name='svm'/></cpu>"; os="http://microsoft.com/win/2k22" ;;
    *) cpu=""; os="http://ubuntu.com/ubuntu/24.04" ;;
  esac
  cat > "$work/d$i.xml" <<XML
<domain type='$type'><name>nvbench-$i</name>
<metadata><libosinfo:libosinfo xmlns:libosinfo="http://libosinfo.org/xmlns/libvirt/domain/1.0"><libosinfo:os id="$os"/></libosinfo:libosinfo></metadata>
<memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os>$cpu<devices/></domain>
XML
  echo "define $work/d$i.xml"
done | virsh -c qemu:///system >/dev/null
echo "defined: $(virsh -c qemu:///system list --all --name | grep -c nvbench-)"
"$work/nestvirt" vms --format json --fail-on does-not-work > "$work/out.json" || true
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print('audited', len(d['vms']), 'domains;', sum(1 for v in d['vms'] if v.get('error')), 'errors')" "$work/out.json"
hyperfine --warmup 2 --runs "${RUNS:-10}" -i "$work/nestvirt vms --format json"
