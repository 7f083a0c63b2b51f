#!/bin/bash
# Builds nestvirt's web console page into DIR, as Cockpit's own pages are built:
# TypeScript, React and PatternFly 6 bundled by esbuild (cockpit/build.js), the
# packages pinned by cockpit/package-lock.json and installed with npm ci (its
# integrity hashes checked, no install scripts run). With POT, also writes the
# page's translatable strings (every cockpit.gettext, _() and ngettext call) as
# a gettext template, with xgettext as Cockpit's starter-kit does. The built
# files are part of the package build (scripts/package.sh), never of the
# repository.
#
#   bash scripts/cockpit.sh DIR [POT]
#
# node_modules is kept in cockpit/ and reinstalled only when the lock file
# changes.
set -euo pipefail
cd "$(dirname "$0")/../cockpit"
out=${1:?usage: scripts/cockpit.sh DIR [POT]}
pot=${2:-}
case $out in /*) ;; *) out=$OLDPWD/$out ;; esac
case $pot in ""|/*) ;; *) pot=$OLDPWD/$pot ;; esac
command -v npm >/dev/null || { echo "cockpit.sh: npm is needed (Node.js 18 or later) to fetch the page's packages" >&2; exit 2; }
lock=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat node_modules/.nestvirt-lock 2>/dev/null)" != "$lock" ]; then
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null
  echo "$lock" > node_modules/.nestvirt-lock
fi
node_modules/.bin/tsc --noEmit -p .
node build.js "$out"
if [ -n "$pot" ]; then
  command -v xgettext >/dev/null || { echo "cockpit.sh: xgettext (gettext) is needed for the POT" >&2; exit 2; }
  # TypeScript read as C, as the starter-kit does: the keywords are cockpit's.
  xgettext --default-domain=nestvirt --output="$pot" --language=C --from-code=UTF-8 \
    --keyword= --keyword=_:1,1t --keyword=_:1c,2,2t --keyword=gettext:1,1t --keyword=gettext:1c,2,2t \
    --keyword=ngettext:1,2,3t --keyword=N_ --add-comments=Translators: \
    --package-name=nestvirt --msgid-bugs-address=https://github.com/nestvirt/nestvirt/issues \
    $(find src -name '*.ts' -o -name '*.tsx' | sort)
fi
