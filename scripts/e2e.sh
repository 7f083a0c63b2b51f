#!/usr/bin/env bash
# The end-to-end test on a real nested chain (README, "Tested on a real nested
# chain"): L0 is this machine running QEMU's TCG emulator with -cpu max (AMD SVM
# with nested paging, no hardware virtualization needed); L1 is a Debian kernel
# with busybox, the KVM modules, QEMU and a static nestvirt in its initramfs; L2 is a
# KVM guest L1 starts. nestvirt runs at every level; the results leave the guests
# on the serial console between marker lines, and scripts/e2echeck asserts them.
# What it takes is written down in ../shared/reference/nested-chain-under-tcg.md.
#
# Needs root (apt-get, device nodes in the initramfs). Writes only under a
# temporary directory, removed at the end (E2E_KEEP=1 keeps it); the kernel
# package is downloaded, unpacked there, never installed. No network in the guests.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
export DEBIAN_FRONTEND=noninteractive
start=$(date +%s)
say() { printf '== %s (%ss)\n' "$*" "$(( $(date +%s) - start ))"; }

boot_timeout=${E2E_BOOT_TIMEOUT:-300} # seconds per L1 boot, the L2 inside included

work=$(mktemp -d /tmp/nestvirt-e2e.XXXXXX)
cleanup() {
  if [ "${E2E_KEEP:-}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

say "packages: qemu-system-x86, busybox-static, cpio"
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
[ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -qx modprobe || need+=(busybox-static)
command -v cpio >/dev/null || need+=(cpio)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if ldd /bin/busybox >/dev/null 2>&1; then
  echo "e2e: /bin/busybox is not static (the busybox package?); install busybox-static" >&2; exit 1
fi

say "kernel: the package linux-image-amd64 depends on, unpacked (not installed)"
kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
if [ -z "$kpkg" ]; then
  apt-get update -qq
  kpkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
fi
(cd "$work" && apt-get download -qq "$kpkg" 2>/dev/null)
dpkg-deb -x "$work"/"$kpkg"_*.deb "$work/kernel"
kver=$(ls "$work/kernel/lib/modules")
vmlinuz="$work/kernel/boot/vmlinuz-$kver"
echo "kernel $kver"

say "nestvirt: a static binary"
# The flags of scripts/test.sh's build, so the build cache serves both.
CGO_ENABLED=0 go build -o "$work/nestvirt" ./cmd/nestvirt

# rootfs DIR: busybox with its applets, nestvirt, the directories an init needs.
rootfs() {
  local d=$1
  mkdir -p "$d"/{bin,dev,proc,sys,run,tmp,etc/modprobe.d,var/log,usr/bin}
  cp /bin/busybox "$d/bin/busybox"
  for a in $(/bin/busybox --list); do
    [ -e "$d/bin/$a" ] || ln -s busybox "$d/bin/$a"
  done
  cp "$work/nestvirt" "$d/usr/bin/nestvirt"
  # The kernel opens /dev/console for init before /init can mount devtmpfs.
  mknod -m 600 "$d/dev/console" c 5 1 2>/dev/null || true
  mknod -m 666 "$d/dev/null" c 1 3 2>/dev/null || true
}

cpio_of() { (cd "$1" && find . -print0 | cpio --null -o -H newc --quiet) > "$2"; }

say "L2: busybox and nestvirt"
l2="$work/l2"
rootfs "$l2"
cp scripts/e2e/l2-init "$l2/init"
chmod 755 "$l2/init"
cpio_of "$l2" "$work/l2.cpio"

say "L1: busybox, the KVM modules, QEMU, nestvirt, the L2"
l1="$work/l1"
rootfs "$l1"
cp scripts/e2e/l1-init "$l1/init"
chmod 755 "$l1/init"
for m in virt/lib/irqbypass.ko arch/x86/kvm/kvm.ko drivers/crypto/ccp/ccp.ko arch/x86/kvm/kvm-amd.ko arch/x86/kvm/kvm-intel.ko; do
  src=$(ls "$work/kernel/lib/modules/$kver/kernel/$m"* | head -1)
  mkdir -p "$l1/lib/modules/$kver/kernel/$(dirname "$m")"
  cp "$src" "$l1/lib/modules/$kver/kernel/$(dirname "$m")/"
done
# QEMU with the libraries it links and the firmware it loads.
qemu=$(command -v qemu-system-x86_64)
cp "$qemu" "$l1/usr/bin/qemu-system-x86_64"
for lib in $(ldd "$qemu" | awk '/=> \// {print $3} /^\t\/lib/ {print $1}'); do
  mkdir -p "$l1$(dirname "$lib")"
  cp -L "$lib" "$l1$lib"
done
mkdir -p "$l1/usr/share"
cp -a /usr/share/qemu /usr/share/seabios "$l1/usr/share/"
mkdir -p "$l1/l2"
cp "$vmlinuz" "$l1/l2/vmlinuz"
cp "$work/l2.cpio" "$l1/l2/initrd"
# An RHEL 10 L1: what the rules say of one whose L0 is QEMU's emulation.
cat > "$l1/etc/os-release" <<'EOF'
NAME="Red Hat Enterprise Linux"
VERSION="10.0 (Coughlan)"
ID="rhel"
ID_LIKE="centos fedora"
VERSION_ID="10.0"
PLATFORM_ID="platform:el10"
PRETTY_NAME="Red Hat Enterprise Linux 10.0 (Coughlan)"
EOF
echo e2e-l1 > "$l1/etc/hostname"
cp scripts/e2e/incoming-domain.xml "$l1/etc/incoming-domain.xml"
cpio_of "$l1" "$work/l1.cpio"
echo "L1 initramfs: $(( $(stat -c %s "$work/l1.cpio") / 1048576 )) MiB"

# boot NAME CPU MODE: one L1 boot under TCG; its console goes to $work/NAME.log.
boot() {
  local name=$1 cpu=$2 mode=$3 t0 rc=0
  t0=$(date +%s)
  timeout --foreground -k 5 "$boot_timeout" qemu-system-x86_64 \
    -accel tcg -cpu "$cpu" -smp 2 -m 2048 -nographic -no-reboot -nic none \
    -kernel "$vmlinuz" -initrd "$work/l1.cpio" \
    -append "console=ttyS0 quiet loglevel=1 panic=-1 e2e=$mode" \
    </dev/null >"$work/$name.log" 2>&1 || rc=$?
  echo "$name: QEMU exited $rc after $(( $(date +%s) - t0 ))s"
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    echo "e2e: L1 (boot $name, and the L2 inside it) did not finish within ${boot_timeout}s; its last console lines:" >&2
    tail -n 30 "$work/$name.log" >&2
    exit 1
  fi
}

say "boot 1: L0 (TCG, -cpu max) -> L1 (kvm_amd nested=1) -> L2 (KVM)"
boot chain max main
say "boot 2: L0 (TCG, -cpu max,-svm,-la57) -> L1 that sees no SVM"
# Without SVM, QEMU 7.2's TCG with 5-level paging (la57) corrupts what the guest
# kernel copies to user space (readlink /proc/self/exe returns garbage and every
# static glibc program aborts), so la57 goes too; it has nothing to do with nesting.
boot nosvm max,-svm,-la57 nosvm

say "assertions"
go run ./scripts/e2echeck -nestvirt "$work/nestvirt" -work "$work" "$work/chain.log" "$work/nosvm.log"
say "done"
