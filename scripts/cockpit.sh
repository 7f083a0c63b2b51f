#!/bin/bash
# Builds nestvirt's Cockpit page into DIR: the files of cockpit/nestvirt and
# PatternFly 4's CSS (the PatternFly of the console in RHEL 9 and Debian 12),
# pinned by version and by the sha512 of its npm tarball. Its @font-face rules
# are removed: the page uses the console's own Red Hat fonts (nestvirt.css), so
# it fetches nothing at run time. The built files are part of the package
# build (scripts/package.sh), never of the repository.
#
#   bash scripts/cockpit.sh DIR
#
# The tarball is kept in ~/.cache/nestvirt (XDG_CACHE_HOME); npm fetches it
# once.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: scripts/cockpit.sh DIR}
pf_version=4.224.2
pf_sha512=1c6355dbabb21d22040ae8633e0fd61a7d265db028b5cb3a3837e100e91f6232201b295d7608b0125c547b5ae9107579990249dab327e0e75e248229cd15fad6
cache=${XDG_CACHE_HOME:-$HOME/.cache}/nestvirt
tgz=$cache/patternfly-patternfly-$pf_version.tgz
if ! echo "$pf_sha512  $tgz" | sha512sum -c --status 2>/dev/null; then
  command -v npm >/dev/null || { echo "cockpit.sh: npm is needed once, to fetch PatternFly $pf_version (apt-get install npm)" >&2; exit 2; }
  mkdir -p "$cache"
  (cd "$cache" && npm pack --silent "@patternfly/patternfly@$pf_version" >/dev/null)
  if ! echo "$pf_sha512  $tgz" | sha512sum -c --status; then
    echo "cockpit.sh: $tgz is not the PatternFly $pf_version this build pins (sha512 differs); removed" >&2
    rm -f "$tgz"; exit 1
  fi
fi
rm -rf "$out"
mkdir -p "$out"
for f in manifest.json index.html nestvirt.js nestvirt.css; do
  install -m 0644 "cockpit/nestvirt/$f" "$out/$f"
done
tar -xzOf "$tgz" package/patternfly.min.css | perl -0pe 's/\@font-face\s*\{[^}]*\}//g' > "$out/patternfly.css"
chmod 0644 "$out/patternfly.css"
if grep -q '@font-face' "$out/patternfly.css"; then
  echo "cockpit.sh: an @font-face rule is left in patternfly.css" >&2; exit 1
fi
