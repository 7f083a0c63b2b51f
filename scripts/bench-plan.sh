#!/usr/bin/env bash
# The plan benchmark of docs/PERFORMANCE.md: 20,000 topology files of 5 two-level
# chains (100,000 chains) judged by one `nestvirt plan --format json DIR`: wall
# time (hyperfine), peak memory (/usr/bin/time, median of 5), and where the CPU
# goes (--cpuprofile). BASE=<git rev> builds that revision too, checks that both
# write the same bytes, and times them side by side.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine; }
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time; }
work=$(mktemp -d)
trap 'rm -rf "$work"; [ -z "${BASE:-}" ] || git worktree remove --force "$work.base" 2>/dev/null || true' EXIT
CGO_ENABLED=0 go build -o "$work/nestvirt" ./cmd/nestvirt
go run ./scripts/gentopo -n 20000 -dir "$work/topos" >/dev/null
bins=("$work/nestvirt")
if [ -n "${BASE:-}" ]; then
  git worktree add -q --detach "$work.base" "$BASE"
  (cd "$work.base" && CGO_ENABLED=0 go build -o "$work/nestvirt-$BASE" ./cmd/nestvirt)
  bins+=("$work/nestvirt-$BASE")
fi
"$work/nestvirt" plan --format json "$work/topos" > "$work/out.json" || true
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print('files', len(d['topologies']), '; judged', sum(len(t['chains']) for t in d['topologies']), 'chains; output', $(stat -c %s "$work/out.json"), 'bytes')" "$work/out.json"
if [ -n "${BASE:-}" ]; then
  "$work/nestvirt-$BASE" plan --format json "$work/topos" > "$work/base.json" || true
  if cmp "$work/out.json" "$work/base.json"; then
    echo "the output is byte for byte that of $BASE"
  else
    echo "the output differs from that of $BASE" >&2; exit 1
  fi
fi
echo "== peak memory (/usr/bin/time, 5 runs each, the median)"
: > "$work/notes.md"
for b in "${bins[@]}"; do
  rss=$(for i in 1 2 3 4 5; do { /usr/bin/time -f %M "$b" plan --format json "$work/topos" 2>&1 >/dev/null || true; } | tail -1; done | sort -n | sed -n 3p)
  echo "$(basename "$b"): $((rss / 1024)) MiB"
  echo "Peak memory of \`$(basename "$b" | sed "s/nestvirt-/nestvirt@/") plan --format json\` (maximum resident set, median of 5 runs): $((rss / 1024)) MiB." >> "$work/notes.md"
done
echo "== wall time (hyperfine, ${RUNS:-10} runs each, interleaved by hyperfine's order)"
cmds=()
for b in "${bins[@]}"; do cmds+=("$b plan --format json $work/topos"); done
hyperfine -N --warmup 1 --runs "${RUNS:-10}" -i --export-json "$work/plan.json" "${cmds[@]}"
echo "== where the CPU goes (--cpuprofile, cumulative, the parts)"
"$work/nestvirt" plan --format json --cpuprofile "$work/cpu.prof" "$work/topos" >/dev/null || true
{
  echo
  echo "Where the CPU goes (\`plan --cpuprofile\`, cumulative share of samples):"
  echo
  echo '```'
  go tool pprof -top -cum "$work/nestvirt" "$work/cpu.prof" 2>/dev/null |
    grep -E 'Total samples|plan\.judgeFile$|topology\.Parse$|parser\.ParseBytes$|lexer\.Tokenize$|strictyaml\.parseBlock$|fsroot\.ReadNamed$|strictyaml\.shapeOf$|topology\.readHost$|plan\.Judge$|policy\.\(\*Policy\)\.JudgeChains$|report\.AppendTopologyJSON$|topology\.ReadFile$|runtime\.gcBgMarkWorker$|runtime\.mallocgc$' || true
  echo '```'
} >> "$work/notes.md"
cat "$work/notes.md"
go run ./scripts/benchdoc -name plan -json "$work/plan.json" -base "nestvirt-${BASE:-none} " -cmd "RUNS=${RUNS:-10}${BASE:+ BASE=$BASE} bash scripts/bench-plan.sh" -notes "$work/notes.md" -doc docs/PERFORMANCE.md \
  -label "$work/topos=DIR;$work/=;nestvirt-${BASE:-none}=nestvirt@${BASE:-none}"
go test -run XXX -bench JudgeFiles -benchtime 20x ./internal/plan/
