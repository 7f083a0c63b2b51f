#!/usr/bin/env bash
# `go test ./...` as a contributor runs it: an ordinary user, no network, no
# tools beyond Go, in a copy of the repository with nothing beside it (no
# ../shared). scripts/test.sh runs it; it needs root only to set that up: a user
# of its own (nestvirt-test), and a network namespace with only loopback.
set -euo pipefail
cd "$(dirname "$0")/.."

user=nestvirt-test
getent passwd "$user" >/dev/null ||
  useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$user"
work=$(mktemp -d /tmp/nestvirt-unprivileged.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/repo" "$work/home"
# A checkout (with its .git) of the files as they are now (committed or not),
# nothing else, owned by root: a contributor's test run must not need to write
# into the tree, nor git to answer for a checkout another user owns (go build
# stamps VCS information by default, and git refuses "dubious ownership").
if git rev-parse --git-dir >/dev/null 2>&1; then
  git clone -q --no-hardlinks . "$work/repo/nestvirt"
  git ls-files -z --cached --others --exclude-standard | xargs -0 -r stat --printf '%n\0' 2>/dev/null |
    tar --null -T - -cf - | tar -xf - -C "$work/repo/nestvirt"
else
  mkdir -p "$work/repo/nestvirt"
  tar --exclude=./dist -cf - . | tar -xf - -C "$work/repo/nestvirt"
fi
[ ! -e "$work/repo/shared" ] || { echo "a ../shared beside the copy" >&2; exit 1; }
# The user has no module cache and no network: the modules go with the copy.
go -C "$work/repo/nestvirt" mod vendor
chown -R root:root "$work/repo"
chmod -R a+rX "$work/repo"
chown -R "$user:$user" "$work/home"
chmod 0755 "$work"
# The packages root has compiled (test.sh builds with -trimpath, as this run
# does, so a copy elsewhere compiles to the same entries), hard-linked into
# this user's build cache: the files stay root's, read-only to the user, so
# nothing it does reaches root's cache (a file others could write is never
# linked), and what it compiles itself goes beside them in directories of its
# own. Without it the run compiles everything again, about three minutes here.
seed=$(go env GOCACHE)
if [ -d "$seed" ] && [ -z "$(find "$seed" -type f -perm /022 -print -quit)" ] && cp -al "$seed" "$work/home/cache" 2>/dev/null; then
  find "$work/home/cache" -type d -exec chown "$user:$user" {} +
  echo "   root's compiled packages linked read-only into $user's build cache ($(find "$work/home/cache" -type f | wc -l) files)"
else
  rm -rf "$work/home/cache"
  echo "   root's build cache could not be linked (another file system, or files others may write): everything is compiled again"
fi

gobin=$(dirname "$(command -v go)")
echo "   as $user, offline, in $work/repo/nestvirt (no ../shared): go test ./..."
log=$work/go-test.log
if ! unshare --net sh -c '
  ip link set lo up
  exec setpriv --reuid="$1" --regid="$1" --clear-groups \
    env -i PATH="$2:/usr/bin:/bin" HOME="$3/home" GOCACHE="$3/home/cache" GOPATH="$3/home/gopath" \
      GOFLAGS="-mod=vendor -trimpath" GOPROXY=off GOTOOLCHAIN=local \
      go -C "$3/repo/nestvirt" test -count=1 ./...
' sh "$user" "$gobin" "$work" >"$log" 2>&1; then
  grep -v '^ok\|no test files' "$log"
  echo "go test ./... failed as $user (above)" >&2
  exit 1
fi
echo "   $(grep -c '^ok' "$log") packages passed"
