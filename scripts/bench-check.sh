#!/usr/bin/env bash
# The start-up, check and guard comparisons of docs/PERFORMANCE.md, side by side in
# one hyperfine run each on this machine: nestvirt check against the tools an admin
# would otherwise run (systemd-detect-virt the yardstick), nestvirt version against a
# static Go hello-world, the guard hook for a domain start against check. osinfo-db is
# installed, as on every libvirt host. BASE=<git rev> adds that revision's binary.
# The tables go into docs/PERFORMANCE.md under the machine's kind (KVM or not).
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v hyperfine >/dev/null || need+=(hyperfine)
command -v virt-what >/dev/null || need+=(virt-what)
command -v virt-host-validate >/dev/null || need+=(libvirt-clients)
[ -d /usr/share/osinfo/os ] || need+=(osinfo-db)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"; [ -z "${BASE:-}" ] || git worktree remove --force "$work.base" 2>/dev/null || true' EXIT
CGO_ENABLED=0 go build -o "$work/nestvirt" ./cmd/nestvirt
mkdir -p "$work/hello"
printf 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello") }\n' > "$work/hello/main.go"
printf 'module hello\n\ngo 1.24\n' > "$work/hello/go.mod"
(cd "$work/hello" && CGO_ENABLED=0 go build -o "$work/hello-world" .)
CGO_ENABLED=0 go build -o "$work/startfloor" ./scripts/startfloor
# touch: the hello-world touching 1,000 more pages of memory, to price a page fault here.
mkdir -p "$work/touch"
printf 'package main\n\nimport "fmt"\n\nfunc main() {\n\tb := make([]byte, 1000*4096)\n\tfor i := 0; i < len(b); i += 4096 {\n\t\tb[i] = 1\n\t}\n\tfmt.Println("hello", len(b))\n}\n' > "$work/touch/main.go"
printf 'module touch\n\ngo 1.24\n' > "$work/touch/go.mod"
(cd "$work/touch" && CGO_ENABLED=0 go build -o "$work/hello-touch" .)
base=()
if [ -n "${BASE:-}" ]; then
  git worktree add -q --detach "$work.base" "$BASE"
  (cd "$work.base" && CGO_ENABLED=0 go build -o "$work/nestvirt-$BASE" ./cmd/nestvirt)
  base=("$work/nestvirt-$BASE version" "$work/nestvirt-$BASE check --format json")
fi
kind=no-kvm
[ -e /dev/kvm ] && kind=kvm
echo "== what each says on this machine ($kind)"
says="nestvirt check:       $("$work/nestvirt" check --format json | python3 -c 'import json,sys; d=json.load(sys.stdin); v=d["host"]["virtualization"]; k=d["host"]["kvm"]; print("vm=%s hypervisor=%s container=%s level=%s level_min=%s kvm.available=%s verdict=%s" % (v["vm"], v["hypervisor"], v["container"], v["level"], v["level_min"], k["available"], d["verdict"]))')
virt-what:            $(virt-what 2>/dev/null | tr '\n' ' ')
systemd-detect-virt:  $(systemd-detect-virt 2>/dev/null || true)"
echo "$says"
runs=${RUNS:-50}
echo "== start-up and check (hyperfine -N, $runs runs each, 5 warm-ups)"
hyperfine -N --warmup 5 --runs "$runs" -i --export-json "$work/check.json" \
  "$work/hello-world" \
  "$work/startfloor version" \
  "$work/nestvirt version" \
  "$work/nestvirt check --format json" \
  "$work/nestvirt check" \
  "${base[@]}" \
  "systemd-detect-virt" \
  "virt-what" \
  "virt-host-validate qemu"
# The guard hook reads the domain from stdin: both commands through the shell
# (hyperfine subtracts its start-up), a Windows 11 guest starting.
cp internal/domxml/testdata/win11-wsl2.xml "$work/domain.xml"
echo "== the guard hook for a domain start against check (through the shell)"
hyperfine --warmup 5 --runs "$runs" -i --export-json "$work/guard.json" \
  "$work/nestvirt check --format json >/dev/null" \
  "$work/nestvirt guard hook -- nv-win11 prepare begin - <$work/domain.xml 2>/dev/null"
# Start-up here is mostly page faults: what each command touches of its binary
# and heap the first time. Counted (minor faults, median of 5 runs) and priced:
# the hello-world against itself touching 1,000 more pages, side by side.
echo "== page faults"
faults() { for _ in 1 2 3 4 5; do { /usr/bin/time -f %R "$@" 2>&1 >/dev/null || true; } | tail -1; done | sort -n | sed -n 3p; }
hyperfine -N --warmup 5 --runs "$runs" --export-json "$work/touch.json" "$work/hello-world" "$work/hello-touch" >/dev/null
hf=$(faults "$work/hello-world")
per=$(python3 -c 'import json,sys; r={x["command"].rsplit("/",1)[1]: sorted(x["times"])[len(x["times"])//2] for x in json.load(open(sys.argv[1]))["results"]}; f=int(sys.argv[3])-int(sys.argv[2]); print("%.1f" % ((r["hello-touch"]-r["hello-world"])*1e6/f))' "$work/touch.json" "$hf" "$(faults "$work/hello-touch")")
{
  echo "| command | minor page faults (median of 5) | × hello-world | at $per µs each [ms] |"
  echo "|:---|---:|---:|---:|"
  for c in "hello-world" "startfloor version" "nestvirt version" "nestvirt check --format json" "systemd-detect-virt"; do
    b=${c%% *}; [ "$b" = systemd-detect-virt ] && p=systemd-detect-virt || p="$work/$b"
    n=$hf
    [ "$c" = hello-world ] || n=$(faults $p ${c#"$b"})
    echo "| \`$c\` | $n | $(python3 -c "print('%.2f' % ($n/$hf))") | $(python3 -c "print('%.1f' % ($n*$per/1000))") |"
  done
} > "$work/faults.md"
cat "$work/faults.md"
# Against BASE, interleaved: hyperfine runs each command's runs in a row, and on
# this noisy machine the one run later can come out slower for nothing it did;
# here each round runs both binaries, in alternating order.
: > "$work/ab.md"
if [ -n "${BASE:-}" ]; then
  echo "== $BASE and this tree, interleaved ($runs rounds)"
  python3 - "$work/nestvirt" "$work/nestvirt-$BASE" "$BASE" "$runs" > "$work/ab.md" <<'PY'
import statistics, subprocess, sys, time
now, base, rev, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
cmds = {}
for args in (["version"], ["check", "--format", "json"]):
    cmds["nestvirt " + " ".join(args)] = [now] + args
    cmds["nestvirt@%s %s" % (rev, " ".join(args))] = [base] + args
def run(argv):
    t = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t
for argv in cmds.values():
    for _ in range(5):
        run(argv)
times = {k: [] for k in cmds}
for i in range(rounds):
    for k in (list(cmds) if i % 2 == 0 else list(reversed(list(cmds)))):
        times[k].append(run(cmds[k]))
print("Against `%s`, interleaved (%d rounds, each running every command, in alternating order; times include Python's process start):" % (rev, rounds))
print()
print("| command | median [ms] |")
print("|:---|---:|")
for k, v in times.items():
    print("| `%s` | %.1f |" % (k, statistics.median(v) * 1000))
PY
  cat "$work/ab.md"
fi
# Reads of osinfo-db: none for a known OS.
reads=$(strace -f -e trace=openat -o "$work/strace" "$work/nestvirt" check --format json >/dev/null 2>&1; grep -c '/usr/share/osinfo' "$work/strace" || true)
{
  echo "osinfo-db files opened by \`nestvirt check\` (strace): $reads. \`startfloor\` is cobra and cel-go linked and nothing run (scripts/startfloor): the start-up of their package initialisation alone. What each says of this machine:"
  echo
  echo '```'
  echo "$says"
  echo '```'
  echo
  echo "A page fault costs $per µs on this machine: a hello-world that touches 1,000 more pages of memory runs that much longer per page (median of $runs runs). What each command touches the first time:"
  echo
  cat "$work/faults.md"
  if [ -s "$work/ab.md" ]; then echo; cat "$work/ab.md"; fi
} > "$work/notes.md"
cmd="RUNS=$runs${BASE:+ BASE=$BASE} bash scripts/bench-check.sh"
go run ./scripts/benchdoc -name "check-$kind" -json "$work/check.json" -base systemd-detect-virt,hello-world -cmd "$cmd" -notes "$work/notes.md" -doc docs/PERFORMANCE.md \
  -label "$work/=;nestvirt-${BASE:-none}=nestvirt@${BASE:-none}"
go run ./scripts/benchdoc -name "guard-$kind" -json "$work/guard.json" -base "check --format json" -cmd "$cmd" -doc docs/PERFORMANCE.md \
  -label "$work/=;$work/domain.xml=domain.xml"
sed -n '/<!-- bench:check-'$kind' -->/,/<!-- \/bench:guard-'$kind' -->/p' docs/PERFORMANCE.md
