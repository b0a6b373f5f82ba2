#!/usr/bin/env bash
# Times one `switcher statusline` call as Claude Code makes it after every message: the stdin the
# real Claude Code 2.1.332 wrote (fixtures/claude-logs/statusline-stdin-2.1.332.json), a state
# dir holding a signal already up to date and the records of 20 targets, 3 of them in the
# session's project. Then the same with `--then` chaining a trivial shell status line.
#
#   benches/statusline.sh      # SWITCHER_BIN=path skips the build
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${SWITCHER_BIN:-}" ] || cargo build --release --quiet
bin="${SWITCHER_BIN:-$PWD/target/release/switcher}"
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
# Each call as Claude Code makes it: a new process, the document on stdin, the line read back.
# Wall time per call (median, p90, min) and CPU time per call (user + system), no shell between.
python3 - "$bin" "$work/stdin.json" <<'PY'
import resource, statistics, subprocess, sys, time
bin, stdin = sys.argv[1], open(sys.argv[2], "rb").read()
for label, args in [("statusline", [bin, "statusline"]),
                    ("statusline --then <sh>", [bin, "statusline", "--then", "cat >/dev/null; echo theirs"])]:
    for _ in range(20):
        subprocess.run(args, input=stdin, capture_output=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    times = []
    for _ in range(500):
        t = time.perf_counter()
        subprocess.run(args, input=stdin, capture_output=True, check=True)
        times.append((time.perf_counter() - t) * 1000)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / 500 * 1000
    times.sort()
    print("%-24s median %.2f ms, p90 %.2f ms, min %.2f ms; CPU %.2f ms/call" % (
        label, statistics.median(times), times[449], times[0], cpu))
PY
