#!/usr/bin/env bash
# The vms benchmark of docs/PERFORMANCE.md: 1,000 defined domains audited by one
# `nestvirt vms --format json`, libvirtd already warm, beside `virsh list --all`
# (which only lists them). Runs with or without KVM. BASE=<git rev> builds that
# revision too, checks both write the same bytes, and times them side by side.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/libvirtd.sh >/dev/null
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine; }
work=$(mktemp -d)
N=${N:-1000}
cleanup() {
  for i in $(seq -w 1 "$N"); do echo "undefine nvbench-$i"; done | virsh -c qemu:///system >/dev/null 2>&1 || true
  [ -z "${BASE:-}" ] || git worktree remove --force "$work.base" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
CGO_ENABLED=0 go build -o "$work/nestvirt" ./cmd/nestvirt
bins=("$work/nestvirt")
if [ -n "${BASE:-}" ]; then
  git worktree add -q --detach "$work.base" "$BASE"
  (cd "$work.base" && CGO_ENABLED=0 go build -o "$work/nestvirt-$BASE" ./cmd/nestvirt)
  bins+=("$work/nestvirt-$BASE")
fi
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
if [ -n "${BASE:-}" ]; then
  "$work/nestvirt-$BASE" vms --format json > "$work/base.json" || true
  # Byte for byte but for the line saying when (two runs rarely share a second).
  if cmp <(grep -v '^  "checked_at": ' "$work/out.json") <(grep -v '^  "checked_at": ' "$work/base.json"); then
    echo "the output is byte for byte that of $BASE (but for checked_at)"
  else
    echo "the output differs from that of $BASE" >&2; exit 1
  fi
fi
cmds=()
for b in "${bins[@]}"; do cmds+=("$b vms --format json"); done
hyperfine -N --warmup 2 --runs "${RUNS:-10}" -i --export-json "$work/vms.json" "${cmds[@]}" "virsh -r -c qemu:///system list --all"
kind=no-kvm
[ -e /dev/kvm ] && kind=kvm
echo "Domains of type $type, $N defined ($(virsh -c qemu:///system version 2>/dev/null | sed -n 's/^Using library: //p; s/^Running hypervisor: /under /p' | paste -sd' '))." > "$work/notes.md"
go run ./scripts/benchdoc -name "vms-$kind" -json "$work/vms.json" -base "virsh" -cmd "RUNS=${RUNS:-10}${BASE:+ BASE=$BASE} bash scripts/bench-vms.sh" -notes "$work/notes.md" -doc docs/PERFORMANCE.md \
  -label "$work/=;nestvirt-${BASE:-none}=nestvirt@${BASE:-none}"
