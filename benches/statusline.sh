#!/usr/bin/env bash
# Times one `switcher statusline` call as Claude Code makes it after every message: the stdin the
# real Claude Code 2.1.332 wrote (fixtures/claude-logs/statusline-stdin-2.1.332.json), a state
# dir holding a signal already up to date and the records of 20 targets, 3 of them in the
# session's project. Then the same with `--then` chaining a trivial shell status line.
#
#   benches/statusline.sh      # needs hyperfine (apt-get install hyperfine)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { echo "hyperfine is needed: apt-get install hyperfine" >&2; exit 1; }
cargo build --release --quiet
bin="$PWD/target/release/switcher"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed "s|/tmp/cl-e2e/proj|$work/proj|g" fixtures/claude-logs/statusline-stdin-2.1.332.json >"$work/stdin.json"

# 20 Claude Code targets switched by one-shot passes (3 in the session's project).
mkdir -p "$work/state"
for i in $(seq 20); do
  dir="$work/other-$i"; [ "$i" -le 3 ] && dir="$work/proj/sub-$i"
  mkdir -p "$dir/.claude"
  printf '{\n  "model": "opus"\n}\n' >"$dir/.claude/settings.json"
  printf '{"anthropic": {"windows": {"w": {"utilization": 99, "models": ["opus"]}}}}\n' >"$work/quota.json"
  printf '{ sources: [], fallbacks: { opus: ["sonnet-%s"] } }\n' "$i" >"$work/switcher.json5"
  SWITCHER_STATE_DIR="$work/state" "$bin" watch "$dir/.claude/settings.json" --once \
    --config "$work/switcher.json5" --quota-file "$work/quota.json" >/dev/null || true
done
export SWITCHER_STATE_DIR="$work/state" HOME="$work"
"$bin" statusline <"$work/stdin.json"   # writes the signal once; the timed calls find it current
hyperfine --warmup 20 --runs 500 -N --input "$work/stdin.json" \
  "$bin statusline" \
  "$bin statusline --then 'cat >/dev/null; echo theirs'"
