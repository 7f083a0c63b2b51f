#!/usr/bin/env bash
# The steps of scripts/test.sh that need only Go (the last also a user of its
# own and a network namespace): gofmt, go vet, go mod tidy, the static build,
# then `go test ./...` as an ordinary user (scripts/test-unprivileged.sh),
# which reuses the packages vet compiled. test.sh runs it beside the Debian
# installs and the services, and waits for it before the integration tests.
# GOFLAGS carries -trimpath (test.sh sets it) so that compiled packages are
# the same in any copy of the tree.
set -euo pipefail
cd "$(dirname "$0")/.."
t=$SECONDS
took() { echo "   ($1: $((SECONDS - t)) s)"; t=$SECONDS; }

echo "== gofmt"
bad=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './tools/node_modules/*'))
if [ -n "$bad" ]; then
  echo "not gofmt-formatted:"; echo "$bad"; exit 1
fi
took gofmt

echo "== go vet (nestvirt and the tools module)"
go vet ./...
go vet -tags integration,corpora ./...
go -C tools vet -tags integration ./...
took "go vet"

echo "== go mod tidy (both modules)"
go mod tidy -diff
go -C tools mod tidy -diff
took "go mod tidy"

echo "== static build"
go build -o /dev/null ./cmd/nestvirt
took "static build"

echo "== go test, plain, as an ordinary user with no network and nothing beside the repository"
bash scripts/test-unprivileged.sh
took "go test, plain"
