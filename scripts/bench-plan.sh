#!/usr/bin/env bash
# The plan benchmark of docs/PERFORMANCE.md: 20,000 topology files of 5 two-level
# chains (100,000 chains) judged by one `nestvirt plan --format json DIR`.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
CGO_ENABLED=0 go build -o "$work/nestvirt" ./cmd/nestvirt
go run ./scripts/gentopo -n 20000 -dir "$work/topos"
echo "files: $(ls "$work/topos" | wc -l); chains: $(( $(ls "$work/topos" | wc -l) * 5 ))"
"$work/nestvirt" plan --format json "$work/topos" > "$work/out.json" || true
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print('judged', sum(len(t['chains']) for t in d['topologies']), 'chains; output', $(stat -c %s "$work/out.json"), 'bytes')" "$work/out.json"
hyperfine --warmup 1 --runs "${RUNS:-10}" -i "$work/nestvirt plan --format json $work/topos > /dev/null"
go test -run XXX -bench JudgeFiles -benchtime 20x ./internal/plan/
