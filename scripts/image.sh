#!/bin/bash
# Builds the container image of deploy/kubernetes (nestvirt-nfd.yaml) from the
# static nestvirt and Debian's static busybox, tagged with VERSION; pushes it
# with "push".
#
#   bash scripts/image.sh                 # podman build -t ghcr.io/nestvirt/nestvirt:VERSION
#   IMAGE=registry.example.com/infra/nestvirt bash scripts/image.sh push
#   BUILDER=buildah bash scripts/image.sh  # or docker
#
# buildah in a container: STORAGE_DRIVER=vfs BUILDAH_ISOLATION=chroot.
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(tr -d ' \n' < VERSION)
image=${IMAGE:-ghcr.io/nestvirt/nestvirt}
builder=${BUILDER:-podman}
busybox=${BUSYBOX:-/bin/busybox}
if ! file -L "$busybox" 2>/dev/null | grep -q 'statically linked'; then
  echo "image.sh: $busybox is not a static busybox (apt-get install busybox-static, or set BUSYBOX)" >&2
  exit 2
fi
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/nestvirt/nestvirt/internal/buildinfo.Version=$version" -o "$ctx/nestvirt" ./cmd/nestvirt
cp "$busybox" "$ctx/busybox"
cp deploy/kubernetes/Containerfile "$ctx/Containerfile"
"$builder" build --build-arg "VERSION=$version" -t "$image:$version" -f "$ctx/Containerfile" "$ctx"
echo "built $image:$version"
if [ "${1:-}" = push ]; then
  "$builder" push "$image:$version"
  echo "pushed $image:$version"
fi
