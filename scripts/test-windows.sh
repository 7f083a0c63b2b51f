#!/usr/bin/env bash
# The Windows build, run where Windows cannot: under Wine (Debian's wine64, 8.0).
# nestvirt.exe reads Wine's real registry through the Windows API, and the
# Windows test binaries run their registry tests there. What it takes on this
# machine: ../shared/reference/windows-under-wine.md. Wine 8.0 lacks
# bcryptprimitives.dll (ProcessPrng), which Go 1.24+ binaries need at start-up:
# scripts/wine/processprng.c is a shim built with mingw-w64, for this test only.
set -euo pipefail
cd "$(dirname "$0")/.."
export CGO_ENABLED=0 WINEDEBUG=-all
tmp=$(mktemp -d)
# wineserver keeps running after wine returns; stop it with the prefix.
trap 'WINEPREFIX=$tmp/prefix wineserver -k >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
export WINEPREFIX=$tmp/prefix
fail() { echo "FAIL: $*" >&2; exit 1; }

echo "== the Wine prefix, with the ProcessPrng shim"
x86_64-w64-mingw32-gcc -shared -O2 -o "$tmp/bcryptprimitives.dll" scripts/wine/processprng.c scripts/wine/bcryptprimitives.def -ladvapi32
x86_64-w64-mingw32-gcc -O2 -o "$tmp/wsl-status.exe" scripts/wine/wsl-status.c
x86_64-w64-mingw32-gcc -O2 -o "$tmp/wsl-hang.exe" scripts/wine/wsl-hang.c
wineboot -i >/dev/null 2>&1
sys32=$WINEPREFIX/drive_c/windows/system32
cp "$tmp/bcryptprimitives.dll" "$sys32/"
GOOS=windows GOARCH=amd64 go build -o "$tmp/nestvirt.exe" ./cmd/nestvirt

# check writes JSON; json.py pulls a field out of it (python3 comes with rpmlint).
field() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    d = d[int(k)] if isinstance(d, list) else d[k]
print(json.dumps(d) if not isinstance(d, str) else d)' "$@"; }
rules() { python3 -c 'import json,sys; print(" ".join(f["rule"] for f in json.load(open(sys.argv[1]))["findings"] if not f["undetermined"]))' "$1"; }
check() { # check NAME [ARGS]: nestvirt.exe check --format json, kept in $tmp/NAME.json
  local name=$1; shift
  local rc=0
  wine "$tmp/nestvirt.exe" check --format json "$@" > "$tmp/$name.json" 2> "$tmp/$name.err" || rc=$?
  [ "$rc" -le 1 ] || fail "$name: exit $rc: $(cat "$tmp/$name.err")"
  go run ./scripts/validatedoc check "$tmp/$name.json" || fail "$name: not a valid check document"
}

echo "== nestvirt.exe check: Wine's own registry (Windows 7, build 7601)"
start=$(date +%s%N)
check default
echo "   $(( ($(date +%s%N) - start) / 1000000 )) ms"
[ "$(field "$tmp/default.json" host.windows.build)" = 7601 ] || fail "build: $(field "$tmp/default.json" host.windows)"
[ "$(field "$tmp/default.json" host.os.id)" = win7 ] || fail "os: $(field "$tmp/default.json" host.os)"
case " $(rules "$tmp/default.json") " in *" win-wsl2-build "*) ;; *) fail "win-wsl2-build did not fire on build 7601: $(rules "$tmp/default.json")";; esac
# This machine's CPUID is read through the same code as on Linux: a KVM guest
# (PVM) whose CPU shows no VT-x.
[ "$(field "$tmp/default.json" host.windows.virtualization_exposed)" = false ] || fail "this CPU shows no vmx"
grep -q 'WMI (PowerShell Get-CimInstance)' "$tmp/default.json" || fail "no note on WMI, which Wine does not have"

echo "== winecfg /v win10: build 18362, Windows 10"
wine winecfg /v win10 >/dev/null 2>&1
check win10
[ "$(field "$tmp/win10.json" host.windows.build)" = 18362 ] && [ "$(field "$tmp/win10.json" host.os.id)" = win10 ] || fail "win10: $(field "$tmp/win10.json" host.windows.build)"

echo "== Windows Server 2019 (reg add): build 17763 cannot run WSL 2"
cv='HKLM\Software\Microsoft\Windows NT\CurrentVersion'
wine reg add "$cv" /v CurrentBuildNumber /d 17763 /f >/dev/null 2>&1
wine reg add "$cv" /v ProductName /d "Windows Server 2019 Standard" /f >/dev/null 2>&1
wine reg add "$cv" /v InstallationType /d Server /f >/dev/null 2>&1
wine reg add "$cv" /v UBR /t REG_DWORD /d 6893 /f >/dev/null 2>&1
check ws2019 --l0-os rhel10.0
[ "$(field "$tmp/ws2019.json" host.os.id)" = win2k19 ] && [ "$(field "$tmp/ws2019.json" host.windows.ubr)" = 6893 ] || fail "ws2019: $(field "$tmp/ws2019.json" host.windows)"
grep -q 'Red Hat lists Windows Server 2019 as a supported WSL2 L1; it cannot run WSL 2' "$tmp/ws2019.json" || fail "the Windows Server 2019 conflict is not reported"
[ "$(field "$tmp/ws2019.json" verdict)" = does-not-work ] || fail "verdict $(field "$tmp/ws2019.json" verdict)"
wine "$tmp/nestvirt.exe" check --l0-os rhel10.0 > "$tmp/ws2019.txt" 2>&1 || true
grep -q '^Windows$' "$tmp/ws2019.txt" && grep -q '1809\|17763.6893 (Server)' "$tmp/ws2019.txt" || fail "text output: $(head -30 "$tmp/ws2019.txt")"

echo "== WSL: a distribution in the registry, wsl --status in UTF-16, .wslconfig"
lxss='HKCU\Software\Microsoft\Windows\CurrentVersion\Lxss'
wine reg add "$cv" /v CurrentBuildNumber /d 22631 /f >/dev/null 2>&1
wine reg add "$cv" /v ProductName /d "Windows 10 Pro" /f >/dev/null 2>&1
wine reg add "$cv" /v InstallationType /d Client /f >/dev/null 2>&1
wine reg add "$lxss\\{0b7ad1e4-6f0a-4d8e-9a4b-1f2c3d4e5f60}" /v DistributionName /d Ubuntu-24.04 /f >/dev/null 2>&1
wine reg add "$lxss\\{0b7ad1e4-6f0a-4d8e-9a4b-1f2c3d4e5f60}" /v Version /t REG_DWORD /d 2 /f >/dev/null 2>&1
wine reg add "$lxss" /v DefaultDistribution /d "{0b7ad1e4-6f0a-4d8e-9a4b-1f2c3d4e5f60}" /f >/dev/null 2>&1
cp "$tmp/wsl-status.exe" "$sys32/wsl.exe"
home=$(ls -d "$WINEPREFIX"/drive_c/users/*/ | grep -v /Public/ | head -1)
printf '[wsl2]\r\nmemory=4GB\r\nnestedVirtualization=false\r\n' > "$home/.wslconfig"
check wsl
[ "$(field "$tmp/wsl.json" host.os.name)" = "Windows 11 Pro" ] || fail "Windows 11 by its build: $(field "$tmp/wsl.json" host.os)"
[ "$(field "$tmp/wsl.json" host.windows.wsl.default_version)" = 2 ] || fail "wsl --status in UTF-16: $(field "$tmp/wsl.json" host.windows.wsl)"
[ "$(field "$tmp/wsl.json" host.windows.wsl.distributions.0.name)" = Ubuntu-24.04 ] && [ "$(field "$tmp/wsl.json" host.windows.wsl.distributions.0.version)" = 2 ] || fail "distributions: $(field "$tmp/wsl.json" host.windows.wsl)"
[ "$(field "$tmp/wsl.json" host.windows.wsl.nested_virtualization)" = false ] && [ "$(field "$tmp/wsl.json" host.windows.wsl.nested_virtualization_from)" = ".wslconfig line 3" ] || fail ".wslconfig: $(field "$tmp/wsl.json" host.windows.wsl)"

echo "== nestvirt.exe snapshot, replayed on Linux: the same facts, no more than check read"
(cd "$tmp" && wine "$tmp/nestvirt.exe" snapshot winsnap > /dev/null 2> "$tmp/snap.err") || fail "snapshot: $(cat "$tmp/snap.err")"
go run ./cmd/nestvirt check --root "$tmp/winsnap" --format json > "$tmp/replay.json" 2>/dev/null || true
for f in host.windows host.os host.virtualization verdict; do
  [ "$(field "$tmp/wsl.json" $f)" = "$(field "$tmp/replay.json" $f)" ] || fail "replayed $f differs: $(field "$tmp/replay.json" $f) vs $(field "$tmp/wsl.json" $f)"
done
if grep -q 'memory=4GB' "$tmp/winsnap/windows/wslconfig"; then fail "the snapshot copied .wslconfig's other settings"; fi

echo "== a wsl.exe that hangs: check ends, WSL facts unknown"
cp "$tmp/wsl-hang.exe" "$sys32/wsl.exe"
start=$(date +%s)
check hang
took=$(( $(date +%s) - start ))
[ "$took" -le 40 ] || fail "a hanging wsl.exe held check for ${took}s"
grep -q 'wsl.exe did not answer within' "$tmp/hang.json" || fail "no note on the hanging wsl.exe: $(field "$tmp/hang.json" host.notes)"
echo "   ended after ${took}s (the limit is 15 s)"

echo "== the Windows test binaries (registry tests against Wine's registry)"
for pkg in probe probe/windows osid; do
  GOOS=windows GOARCH=amd64 go test -c -o "$tmp/${pkg//\//-}.test.exe" "./internal/$pkg"
done
# Tests that plant symlinks or remove trees use APIs Wine 8 lacks (t.TempDir's
# cleanup among them): the Windows source's tests and the CPUID tests run here,
# the rest on Linux; the snapshot round trip ran above with the real binary.
# osid's test of where osinfo-db is read builds a tree in t.TempDir: on Linux.
(cd internal/probe/windows && wine "$tmp/probe-windows.test.exe" -test.skip 'TestWindowsSnapshotRoundTrip' -test.count=1) || fail "the Windows source's tests under Wine"
(cd internal/probe && wine "$tmp/probe.test.exe" -test.run 'CPUID' -test.count=1) || fail "the CPUID tests under Wine"
(cd internal/osid && wine "$tmp/osid.test.exe" -test.skip 'TestOsinfoIsReadOnlyWhereANameCanBe' -test.count=1) || fail "osid tests under Wine"
echo "   all green"
