#!/usr/bin/env bash
# Runs every nestvirt test on this machine, installing and starting what the tests
# need first. This is the README's test command, and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."

export CGO_ENABLED=0
go mod download

echo "== libvirtd (the libvirt tests use a real daemon)"
bash scripts/libvirtd.sh

echo "== gofmt"
bad=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$bad" ]; then
  echo "not gofmt-formatted:"; echo "$bad"; exit 1
fi

echo "== go vet"
go vet ./...

echo "== static build"
go build -o /dev/null ./cmd/nestvirt

echo "== go test"
# One package at a time: the guard test restarts libvirtd, which other packages use.
go test -count=1 -p 1 ./...
