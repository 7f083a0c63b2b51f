#!/usr/bin/env bash
# Builds nestvirt's packages into dist/: an RPM and a DEB for each of x86_64,
# aarch64, s390x and ppc64le, with the binary, man pages, shell completions, the
# systemd timer (not enabled), the examples and the docs; and nestvirt-cockpit
# (RPM noarch, DEB all), the web console's page (scripts/cockpit.sh, which needs
# npm to install the page's pinned packages). With nfpm (pinned in
# tools/go.mod; tools/nfpm). See deploy/packages/.
#
#   bash scripts/package.sh
#
# The version is VERSION; a tree that is not at the tag vVERSION is a
# pre-release of it, VERSION~git.SHA (".dirty" when it has uncommitted changes),
# which both dpkg and rpm sort before VERSION. Builds are reproducible: the same
# commit gives byte-identical packages (-trimpath, no build id, file times and
# the build date from SOURCE_DATE_EPOCH, which defaults to the commit's time).
# Everything is built in dist/.stage and moved into dist/ only when all of it
# is built, so an interrupted run leaves the previous packages, and a second run
# the same ones.
set -euo pipefail
cd "$(dirname "$0")/.."

export CGO_ENABLED=0 GOFLAGS=-buildvcs=false
arches=(amd64 arm64 s390x ppc64le)

version=$(tr -d ' \n' < VERSION)
if ! [[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
  echo "package.sh: VERSION: \"$version\" is not MAJOR.MINOR.PATCH" >&2; exit 2
fi
if git rev-parse --git-dir >/dev/null 2>&1; then
  commit=$(git rev-parse HEAD)
  dirty=""
  # dist/ is ignored; anything else uncommitted makes the build unreproducible.
  [ -z "$(git status --porcelain --untracked-files=normal)" ] || dirty=.dirty
  prerelease="git.${commit:0:12}$dirty"
  if [ -z "$dirty" ] && [ "$(git rev-parse -q --verify "refs/tags/v$version^{commit}" 2>/dev/null)" = "$commit" ]; then
    prerelease=""
  fi
  : "${SOURCE_DATE_EPOCH:=$(git log -1 --format=%ct)}"
else
  # A source tarball: no commit to name. Its date must be given.
  commit="" prerelease=""
  if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
    echo "package.sh: not a git checkout: set SOURCE_DATE_EPOCH (the release's time, in seconds)" >&2; exit 2
  fi
fi
export SOURCE_DATE_EPOCH
full="$version${prerelease:+~$prerelease}"
date=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
echo "nestvirt $full (commit ${commit:-none}, date $date)"

stage=dist/.stage
rm -rf "$stage"
mkdir -p "$stage"

pkg=github.com/nestvirt/nestvirt/internal/buildinfo
ldflags="-s -w -buildid= -X $pkg.Version=$full -X $pkg.Commit=$commit -X $pkg.Date=$date"
for a in "${arches[@]}"; do
  echo "== build linux/$a"
  GOOS=linux GOARCH=$a go build -trimpath -ldflags "$ldflags" -o "$stage/nestvirt-$a" ./cmd/nestvirt
done

echo "== man pages and completions"
go -C tools run ./gendocs -out "$PWD/$stage" -version "$full" -pages "$PWD/docs/man"
gzip -9 -n "$stage"/man/*
# RPM and Debian want a changelog in the package (nfpm writes each format's
# from this); the project's history is its git log, so it names the commit.
built="a source release"
[ -z "$commit" ] || built="commit ${commit:0:12}"
cat > "$stage/changelog.yml" <<EOF
- semver: $version-${prerelease:-1}
  date: $date
  packager: nestvirt developers <nestvirt@nestvirt.dev>
  deb:
    urgency: medium
    distributions: [unstable]
  changes:
    - note: Built from $built; the history is in git.
EOF

echo "== the web console's page (scripts/cockpit.sh)"
bash scripts/cockpit.sh "$stage/cockpit"

go -C tools build -o "$PWD/$stage/nfpm" ./nfpm
mkdir -p "$stage/out"
for a in "${arches[@]}"; do
  for format in rpm deb; do
    echo "== $format $a"
    NV_ARCH=$a NV_VERSION=$version NV_PRERELEASE=$prerelease NV_STAGE=$stage \
      "$stage/nfpm" -config deploy/packages/nfpm.yaml -packager "$format" -changelog "$stage/changelog.yml" -target "$stage/out" >/dev/null
  done
done
for format in rpm deb; do
  echo "== $format nestvirt-cockpit (all architectures)"
  NV_VERSION=$version NV_PRERELEASE=$prerelease NV_STAGE=$stage \
    "$stage/nfpm" -config deploy/packages/nfpm-cockpit.yaml -packager "$format" -changelog "$stage/changelog.yml" -target "$stage/out" >/dev/null
done
(cd "$stage/out" && sha256sum -- *.rpm *.deb > SHA256SUMS)

# Replace the previous packages only now that every one is built.
mkdir -p dist
rm -f dist/nestvirt*.rpm dist/nestvirt*.deb dist/SHA256SUMS
mv "$stage"/out/* dist/
rm -rf "$stage"
ls -l dist/
