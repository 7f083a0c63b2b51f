#!/usr/bin/env bash
# Tests nestvirt as admins get it: builds the packages (scripts/package.sh), checks
# they are reproducible and survive an interrupted build, inspects every RPM
# (rpm -qpi/-qpl, rpmlint) and DEB (lintian), renders every man page, installs the
# amd64 .deb with dpkg, uses it (version, check, man, bash completion), removes it
# and checks nothing is left. Then cross-compiles every target and runs the
# probe's tests on s390x and arm64 under qemu-user. scripts/test.sh runs it; it
# needs root and the Debian packages test.sh installs.
set -euo pipefail
cd "$(dirname "$0")/.."
export CGO_ENABLED=0 LC_ALL=C.UTF-8

fail() { echo "test-packages: FAIL: $*" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "== package.sh, twice: the same packages"
bash scripts/package.sh >/dev/null
cp dist/SHA256SUMS "$tmp/sums1"
[ "$(grep -c ' nestvirt-[0-9].*\.rpm$' "$tmp/sums1")" = 4 ] && [ "$(grep -c ' nestvirt_.*\.deb$' "$tmp/sums1")" = 4 ] || fail "not 4 RPMs and 4 DEBs of nestvirt: $(cat "$tmp/sums1")"
grep -q ' nestvirt-cockpit-.*\.noarch\.rpm$' "$tmp/sums1" && grep -q ' nestvirt-cockpit_.*_all\.deb$' "$tmp/sums1" || fail "no nestvirt-cockpit RPM and DEB: $(cat "$tmp/sums1")"
for a in x86_64 aarch64 s390x ppc64le; do grep -q "\.$a\.rpm$" "$tmp/sums1" || fail "no $a RPM"; done
for a in amd64 arm64 s390x ppc64el; do grep -q "_$a\.deb$" "$tmp/sums1" || fail "no $a DEB"; done

echo "== an interrupted package.sh leaves the previous packages, and the next run the same"
setsid bash scripts/package.sh >/dev/null 2>&1 &
pid=$!
for _ in $(seq 600); do [ -e dist/.stage/nestvirt-arm64 ] && break; sleep 0.1; done
kill -TERM -- -"$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
(cd dist && sha256sum --quiet -c SHA256SUMS) || fail "an interrupted run damaged dist/"
bash scripts/package.sh >/dev/null
cmp -s "$tmp/sums1" dist/SHA256SUMS || { diff "$tmp/sums1" dist/SHA256SUMS; fail "a rebuild of the same tree gave different packages"; }
[ ! -e dist/.stage ] || fail "dist/.stage left behind"

version=$(dpkg-deb -f dist/nestvirt_*_amd64.deb Version)
upstream=${version%-1}
echo "   version $version"

echo "== RPM metadata and paths (rpm -qpi, rpm -qpl)"
for rpm in dist/nestvirt-[0-9]*.rpm; do
  info=$(rpm -qp --qf '%{NAME}|%{VERSION}|%{RELEASE}|%{LICENSE}|%{URL}|%{SUMMARY}|%{ARCH}\n' "$rpm")
  IFS='|' read -r name ver rel lic url summary arch <<<"$info"
  [ "$name" = nestvirt ] && [ "$ver" = "$upstream" ] && [ "$rel" = 1 ] || fail "$rpm: name/version/release $info"
  [ "$lic" = Apache-2.0 ] || fail "$rpm: License $lic"
  [ "$url" = https://github.com/nestvirt/nestvirt ] || fail "$rpm: URL $url"
  [ -n "$summary" ] || fail "$rpm: no Summary"
  [[ $rpm == *".$arch.rpm" ]] || fail "$rpm: arch $arch"
  # Outputs go through files: with pipefail, 'cmd | grep -q' fails when grep
  # stops reading early.
  rpm -qpi "$rpm" > "$tmp/info"; rpm -qp --changelog "$rpm" > "$tmp/changelog"
  grep -q 'makes Red Hat' "$tmp/info" || fail "$rpm: no %description"
  grep -q 'Built from' "$tmp/changelog" || fail "$rpm: no %changelog"
  rpm -qpl "$rpm" > "$tmp/files"
  for p in /usr/bin/nestvirt /usr/share/man/man1/nestvirt.1.gz /usr/share/man/man1/nestvirt-check.1.gz \
    /usr/share/man/man5/nestvirt-topology.5.gz /usr/share/man/man5/nestvirt-policy.5.gz \
    /usr/share/bash-completion/completions/nestvirt /usr/share/zsh/site-functions/_nestvirt \
    /usr/share/fish/vendor_completions.d/nestvirt.fish /usr/lib/systemd/system/nestvirt-check.timer \
    /usr/lib/systemd/system/nestvirt-check.service /usr/share/doc/nestvirt/README.md \
    /usr/share/licenses/nestvirt/LICENSE /usr/share/doc/nestvirt/examples/wsl2-supported.yaml; do
    grep -qx "$p" "$tmp/files" || fail "$rpm: no $p"
  done
  ! grep -q '^/etc/libvirt' "$tmp/files" || fail "$rpm installs into /etc/libvirt: the guard is never installed by the package"
  rpm -qp --docfiles "$rpm" > "$tmp/docs"; rpm -qp --licensefiles "$rpm" > "$tmp/licenses"
  grep -qx /usr/share/man/man1/nestvirt.1.gz "$tmp/docs" || fail "$rpm: man pages not %doc"
  grep -qx /usr/share/licenses/nestvirt/LICENSE "$tmp/licenses" || fail "$rpm: LICENSE not %license"
  # Payload names relative, as rpmbuild writes them: 'rpm2cpio | cpio -id' must
  # not write into / (nfpm before 2.46 wrote absolute names).
  rpm2cpio "$rpm" | cpio -t --quiet > "$tmp/payload"
  if grep -v '^\./' "$tmp/payload"; then fail "$rpm: absolute payload names"; fi
  rpm -qp --scripts "$rpm" > "$tmp/scripts"
  [ ! -s "$tmp/scripts" ] || fail "$rpm has scriptlets: it must enable nothing"
done
echo "   $(ls dist/nestvirt-[0-9]*.rpm | wc -l) RPMs: metadata, paths, %doc, %license, relative payload, no scriptlets"
rpm=$(ls dist/nestvirt-cockpit-*.noarch.rpm)
rpm -qpl "$rpm" > "$tmp/files"; rpm -qp --requires "$rpm" > "$tmp/requires"; rpm -qp --scripts "$rpm" > "$tmp/scripts"
for p in /usr/share/cockpit/nestvirt/manifest.json /usr/share/cockpit/nestvirt/index.html /usr/share/cockpit/nestvirt/index.js \
  /usr/share/cockpit/nestvirt/index.css /usr/share/licenses/nestvirt-cockpit/THIRD-PARTY-LICENSES; do
  grep -qx "$p" "$tmp/files" || fail "$rpm: no $p"
done
for r in nestvirt cockpit-bridge cockpit-system; do
  grep -qx "$r" "$tmp/requires" || fail "$rpm requires: $(cat "$tmp/requires"), not $r"
done
[ ! -s "$tmp/scripts" ] || fail "$rpm has scriptlets"
# The Debian copyright file names every package the page bundles (the build
# lists them in THIRD-PARTY-LICENSES): a new dependency cannot go unnamed.
rpm2cpio "$rpm" | (cd "$tmp" && cpio -idm --quiet ./usr/share/licenses/nestvirt-cockpit/THIRD-PARTY-LICENSES)
sed -n '3,/^$/p' "$tmp/usr/share/licenses/nestvirt-cockpit/THIRD-PARTY-LICENSES" | awk 'NF {print $1}' > "$tmp/bundled"
[ -s "$tmp/bundled" ] || fail "THIRD-PARTY-LICENSES lists no package"
while read -r p; do
  grep -q -- "$p" deploy/packages/copyright-cockpit || fail "deploy/packages/copyright-cockpit does not name $p, which the page bundles"
done < "$tmp/bundled"
echo "   nestvirt-cockpit RPM: the page, requires nestvirt, cockpit-bridge and cockpit-system, no scriptlets, $(wc -l < "$tmp/bundled") bundled packages named in the copyright file"

echo "== rpmlint (Fedora's settings, deploy/packages/rpmlint.toml)"
cp deploy/packages/rpmlint.toml "$tmp/rpmlint.toml"
if [[ $upstream == *~* ]]; then
  # nfpm's changelog template writes a pre-release as 0.2.0-git.SHA; its version
  # is 0.2.0~git.SHA. A release's changelog names its version-release exactly.
  sed -i "s/^Filters = \[/&'incoherent-version-in-changelog',/" "$tmp/rpmlint.toml"
fi
out=$(rpmlint -c "$tmp/rpmlint.toml" dist/*.rpm 2>&1) || true
echo "$out" | tail -1
echo "$out" | grep -q ' 0 errors, 0 warnings' || { echo "$out"; fail "rpmlint"; }

echo "== lintian (Debian's checks)"
out=$(lintian --tag-display-limit 0 dist/*.deb 2>&1 | grep -v 'running with root privileges' || true)
[ -z "$out" ] || { echo "$out"; fail "lintian"; }
for deb in dist/*.deb; do
  dpkg-deb -c "$deb" > "$tmp/debfiles"; dpkg-deb -I "$deb" > "$tmp/debinfo"
  if grep -q ' \./etc/libvirt' "$tmp/debfiles"; then fail "$deb installs into /etc/libvirt"; fi
  if grep -qE ' (pre|post)(inst|rm) ' "$tmp/debinfo"; then fail "$deb has maintainer scripts: it must enable nothing"; fi
done
echo "   lintian: nothing to report on $(ls dist/*.deb | wc -l) DEBs"

echo "== every man page renders without warnings"
deb=$(ls dist/nestvirt_*_amd64.deb)
mkdir "$tmp/deb" && dpkg-deb -x "$deb" "$tmp/deb"
n=0
for page in "$tmp"/deb/usr/share/man/man*/*.gz; do
  warn=$(MANWIDTH=80 man -l "$page" 2>&1 >/dev/null || true)
  [ -z "$warn" ] || fail "man -l $(basename "$page"): $warn"
  warn=$(zcat "$page" | groff -man -ww -z 2>&1 || true)
  [ -z "$warn" ] || fail "groff $(basename "$page"): $warn"
  n=$((n + 1))
done
[ "$n" -ge 20 ] || fail "only $n man pages"
# Help texts are plain text; the pages must show them as written.
MANWIDTH=200 man -l "$tmp"/deb/usr/share/man/man1/nestvirt-expose.1.gz > "$tmp/page" 2>/dev/null
grep -q "<cpu>" "$tmp/page" || fail "nestvirt-expose(1) lost <cpu>"
MANWIDTH=200 man -l "$tmp"/deb/usr/share/man/man1/nestvirt-check.1.gz > "$tmp/page" 2>/dev/null
grep -q '^ *migration: false' "$tmp/page" || fail "nestvirt-check(1) reflowed its example"
echo "   $n pages"

echo "== install the .deb, use it, remove it"
if dpkg -s nestvirt >/dev/null 2>&1; then dpkg -P nestvirt >/dev/null; fi
hooks_before=$(ls -la /etc/libvirt/hooks 2>/dev/null || true)
dpkg -i "$deb" >/dev/null
[ "$(command -v nestvirt)" = /usr/bin/nestvirt ] || fail "nestvirt is $(command -v nestvirt)"
/usr/bin/nestvirt version > "$tmp/version"
[[ $(head -1 "$tmp/version") == "nestvirt $upstream ("* ]] || fail "version: $(cat "$tmp/version")"
[ "$(/usr/bin/nestvirt --version)" = "$(head -1 "$tmp/version")" ] || fail "--version differs from version"
code=0; /usr/bin/nestvirt check > "$tmp/check" 2>&1 || code=$?
[ "$code" = 0 ] || [ "$code" = 1 ] || { cat "$tmp/check"; fail "nestvirt check exited $code"; }
grep -q '^This machine: ' "$tmp/check" || { cat "$tmp/check"; fail "nestvirt check printed no verdict"; }
# Every relative link of the installed README leads to a file the package
# installed (the README linked docs and images the package did not ship).
doc=/usr/share/doc/nestvirt
# Relative links only: ](path) with no scheme (a ':') or fragment.
links=$(grep -o '](\([^)#:]*\))' "$doc/README.md" | sed 's/^](//; s/)$//' | sort -u)
[ -n "$links" ] || fail "no relative links found in $doc/README.md"
for l in $links; do
  [ -e "$doc/$l" ] || fail "the installed README links to $l, which the package does not install ($doc/$l)"
done
# Every man page carries one date and version.
[ "$(for p in /usr/share/man/man1/nestvirt*.1.gz /usr/share/man/man5/nestvirt*.5.gz; do zcat "$p" | grep -m1 '^\.TH' | cut -d' ' -f4-; done | sort -u | wc -l)" = 1 ] ||
  fail "the man pages carry more than one date or version"
# man-db keeps formatted pages it trusts while their source's time is unchanged;
# a rebuilt dirty tree keeps the commit's time, so drop any it kept.
find /var/cache/man -name 'nestvirt*' -delete 2>/dev/null || true
MANWIDTH=80 man nestvirt-check > "$tmp/page" 2>&1 || fail "man nestvirt-check: $(cat "$tmp/page")"
grep -q '^NESTVIRT-CHECK(1)' "$tmp/page" && grep -q 'nestvirt-check *- *Judge' "$tmp/page" || fail "man nestvirt-check: $(head "$tmp/page")"
MANWIDTH=80 man 5 nestvirt-topology > "$tmp/page" 2>&1 || fail "man 5 nestvirt-topology: $(cat "$tmp/page")"
grep -q 'NESTVIRT-TOPOLOGY' "$tmp/page" || fail "man 5 nestvirt-topology: $(head "$tmp/page")"
# Tab, as bash-completion loads it on first use from the installed file.
comp=$(bash --norc --noprofile -c '
  source /usr/share/bash-completion/bash_completion
  _completion_loader nestvirt
  complete -p nestvirt >/dev/null || exit 3
  fn=$(complete -p nestvirt | sed -n "s/.*-F \([^ ]*\) .*/\1/p")
  COMP_WORDS=(nestvirt check --fail-on ""); COMP_CWORD=3; COMP_LINE="nestvirt check --fail-on "; COMP_POINT=${#COMP_LINE}
  # compopt complains outside a real completion; the reply is what matters.
  "$fn" nestvirt "" --fail-on 2>/dev/null
  printf "%s\n" "${COMPREPLY[@]}"')
echo "$comp" | grep -qx does-not-work || fail "bash completion of --fail-on: $comp"
comp=$(bash --norc --noprofile -c '
  source /usr/share/bash-completion/bash_completion
  _completion_loader nestvirt
  fn=$(complete -p nestvirt | sed -n "s/.*-F \([^ ]*\) .*/\1/p")
  COMP_WORDS=(nestvirt ch); COMP_CWORD=1; COMP_LINE="nestvirt ch"; COMP_POINT=${#COMP_LINE}
  "$fn" nestvirt ch nestvirt 2>/dev/null
  printf "%s\n" "${COMPREPLY[@]}"')
echo "$comp" | grep -q '^check' || fail "bash completion of commands: $comp"
[ "$(systemctl --root=/ is-enabled nestvirt-check.timer 2>&1)" = disabled ] || fail "the timer is enabled by the package"
# The sos drop-in: a configuration file of the package, root's, and the real
# sos report (Debian's sos) then carries nestvirt's record, which check --sos
# shows beside its own judgement of the report, in agreement with a live check.
dpkg-query -W -f='${Conffiles}\n' nestvirt | grep -q '^ */etc/sos/extras.d/nestvirt ' || fail "/etc/sos/extras.d/nestvirt is not a conffile: $(dpkg-query -W -f='${Conffiles}' nestvirt)"
[ "$(stat -c '%U %a' /etc/sos/extras.d/nestvirt)" = "root 644" ] || fail "/etc/sos/extras.d/nestvirt: $(stat -c '%U %a' /etc/sos/extras.d/nestvirt)"
mkdir -p "$tmp/sos"
timeout 600 sos report --batch --only-plugins sos_extras,kernel,processor,hardware,host,release,libvirt --tmp-dir "$tmp/sos" -z xz > "$tmp/sos.log" 2>&1 || fail "sos report: $(tail -5 "$tmp/sos.log")"
report=$(ls "$tmp"/sos/sosreport-*.tar.xz)
tar -tJf "$report" > "$tmp/sos.list"
for f in nestvirt_version nestvirt_check_ nestvirt_vms_ nestvirt_guard_status; do
  grep -q "/sos_commands/sos_extras/nestvirt/$f" "$tmp/sos.list" || fail "the sosreport holds no $f: $(grep sos_extras "$tmp/sos.list")"
done
nestvirt check --sos "$report" --format json --fail-on never > "$tmp/sos.json" || fail "check --sos on the report"
nestvirt check --format json --fail-on never > "$tmp/live.json"
python3 - "$tmp/sos.json" "$tmp/live.json" <<'PY' || fail "check --sos of the sos report: $(head -c 600 "$tmp/sos.json")"
import json, sys
sos, live = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
rec = sos["recorded"] or {}
assert rec.get("verdict") == live["verdict"], ("recorded", rec.get("verdict"), "live", live["verdict"])
assert sos["verdict"] == live["verdict"], ("judged from the report", sos["verdict"], "live", live["verdict"])
assert rec.get("version", "").startswith("nestvirt ") and not rec.get("problems"), rec
PY
nestvirt check --sos "$report" --fail-on never > "$tmp/sos.txt"
grep -q '^Recorded on the host' "$tmp/sos.txt" && grep -q "^Judged now from the report's files" "$tmp/sos.txt" || fail "check --sos text: $(head -12 "$tmp/sos.txt")"
echo "   sos report carries nestvirt's record (conffile /etc/sos/extras.d/nestvirt); check --sos shows it, and it agrees with a live check"
# A snapshot-backed report: sos collects the files of a snapshot of another
# machine (--sysroot: an Intel L0 with nesting on) while the drop-in's commands
# run here (--chroot never), so nestvirt records this host. check --sos shows
# the record, judges the snapshot's files, and says that the two differ.
cp -a internal/probe/testdata/snapshots/intel-l0-ready/root "$tmp/snaproot"
mkdir -p "$tmp/sos2"
timeout 600 sos report --batch --sysroot "$tmp/snaproot" --chroot never --only-plugins sos_extras,kernel,processor --tmp-dir "$tmp/sos2" -z xz > "$tmp/sos2.log" 2>&1 || fail "sos report --sysroot: $(tail -5 "$tmp/sos2.log")"
nestvirt check --sos "$(ls "$tmp"/sos2/sosreport-*.tar.xz)" --format json --fail-on never > "$tmp/sos2.json" || fail "check --sos on the snapshot-backed report"
python3 - "$tmp/sos2.json" "$tmp/live.json" <<'PY' || fail "check --sos of the snapshot-backed report: $(head -c 600 "$tmp/sos2.json")"
import json, sys
sos, live = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
rec = sos["recorded"] or {}
assert rec.get("verdict") == live["verdict"], ("recorded", rec.get("verdict"), "this host, live", live["verdict"])
assert sos["host"]["cpu_vendor"] == "intel", ("the report's files are the snapshot's", sos["host"]["cpu_vendor"])
assert sos["verdict"] != rec["verdict"], ("the snapshot's files judged", sos["verdict"], "the same as the record", rec["verdict"])
differs = [f for f in sos["findings"] if f["rule"] == "sos-recorded-differs"]
assert len(differs) == 1 and differs[0]["informational"], differs
assert rec["verdict"] in differs[0]["message"] and sos["verdict"] in differs[0]["message"], differs[0]["message"]
PY
echo "   a snapshot-backed sos report (--sysroot): check --sos shows this host's record, judges the snapshot's files, and says they differ"
[ "$(ls -la /etc/libvirt/hooks 2>/dev/null || true)" = "$hooks_before" ] || fail "installing changed /etc/libvirt/hooks"
dpkg-deb -c "$deb" | awk '{print substr($6, 2)}' > "$tmp/paths"
dpkg -r nestvirt >/dev/null
if dpkg -s nestvirt 2>/dev/null | grep -q '^Status: install'; then fail "still installed after dpkg -r"; fi
# Removed, a conffile stays (Debian policy: the admin's edits survive until a
# purge); everything else is gone. Purged, nothing is left.
left=$(while read -r p; do
  case "$p" in /etc/sos/extras.d/nestvirt) ;; */nestvirt*|*/_nestvirt) if [ -e "$p" ]; then echo "$p"; fi;; esac
done < "$tmp/paths")
[ -z "$left" ] || fail "left after dpkg -r: $left"
[ -f /etc/sos/extras.d/nestvirt ] || fail "dpkg -r removed the conffile /etc/sos/extras.d/nestvirt (only a purge may)"
dpkg -P nestvirt >/dev/null
[ ! -e /etc/sos/extras.d/nestvirt ] || fail "left after dpkg -P: /etc/sos/extras.d/nestvirt"
echo "   installed, ran version/check/man/completion and sos report, removed (the conffile kept), purged: nothing left"

echo "== install nestvirt-cockpit with nestvirt, cockpit-ws serves its page, remove both"
cdeb=$(ls dist/nestvirt-cockpit_*_all.deb)
dpkg -i "$deb" "$cdeb" >/dev/null
[ -f /usr/share/cockpit/nestvirt/manifest.json ] || fail "nestvirt-cockpit: no /usr/share/cockpit/nestvirt/manifest.json"
port=$((20000 + RANDOM % 20000))
/usr/lib/cockpit/cockpit-ws --no-tls --address 127.0.0.1 --port "$port" --local-session=cockpit-bridge >/dev/null 2>&1 &
ws=$!
code=000
for _ in $(seq 50); do
  code=$(curl -s -o "$tmp/page.html" -w '%{http_code}' "http://127.0.0.1:$port/cockpit/@localhost/nestvirt/index.html" || true)
  [ "$code" = 200 ] && break
  sleep 0.1
done
# The shell's menu lists it: the console's own list of its pages.
mcode=$(curl -s -o "$tmp/manifests.json" -w '%{http_code}' "http://127.0.0.1:$port/cockpit/@localhost/manifests.json" || true)
kill "$ws" 2>/dev/null || true
[ "$code" = 200 ] && grep -q 'Nested virtualization' "$tmp/page.html" || fail "cockpit-ws does not serve the installed page (HTTP $code)"
python3 -c 'import json, sys; m = json.load(open(sys.argv[1])); sys.exit(0 if "nestvirt" in m and "shell" in m and m["nestvirt"]["menu"]["index"]["label"] == "Nested virtualization" else 1)' "$tmp/manifests.json" \
  || fail "the console's menu does not list the page (HTTP $mcode): $(head -c 300 "$tmp/manifests.json")"
dpkg-deb -c "$cdeb" | awk '{print substr($6, 2)}' > "$tmp/cpaths"
dpkg -P nestvirt-cockpit nestvirt >/dev/null
left=$(while read -r p; do case "$p" in */nestvirt*) if [ -e "$p" ]; then echo "$p"; fi;; esac; done < "$tmp/cpaths")
[ -z "$left" ] || fail "left after dpkg -P nestvirt-cockpit: $left"
echo "   installed, served by cockpit-ws and in its menu, removed: nothing left"

echo "== cross-compile every target"
for t in linux/amd64 linux/arm64 linux/s390x linux/ppc64le windows/amd64; do
  GOOS=${t%/*} GOARCH=${t#*/} go build -o /dev/null ./cmd/nestvirt
  GOOS=${t%/*} GOARCH=${t#*/} go vet ./...
  echo "   $t: builds, vets"
done

echo "== the probe's tests on their own arch (qemu-user)"
# The pure-Go packages that read a machine or judge it. fsroot is left out: its
# tests re-execute themselves natively, which qemu -exec cannot pass on.
pkgs=(./internal/probe/... ./internal/arch/ ./internal/modprobe/ ./internal/osid/ ./internal/domxml/ ./internal/judge/ ./internal/strictyaml/)
# With the corpora (scripts/test.sh sets NESTVIRT_CORPORA_TAGS when they are
# there), the real machines of virt-what's suite are read on each arch too.
for a in s390x:s390x arm64:aarch64; do
  GOARCH=${a%:*} go test -count=1 -tags "${NESTVIRT_CORPORA_TAGS:-}" -exec "qemu-${a#*:}-static" "${pkgs[@]}"
done
