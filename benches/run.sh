#!/usr/bin/env bash
# Every performance figure the README reports, each paired with its floor, so that a regression
# shows as a ratio rather than as a number that moves with the machine:
#
#   - a one-shot pass (`watch --once`) with nothing to change, beside `/bin/true`;
#   - a switching pass, beside the durable-write floor: `benches/floor.rs`, a minimal program doing
#     the same number of write + fsync + rename + directory-fsync steps;
#   - 1,000 small targets in one run, nothing to change and switching all; a project's 200 agent
#     files with real-sized bodies;
#   - a 5 MiB config switched and not, beside Python's `json.load` of the same file, with the
#     peak memory of each;
#   - the daemon: its reaction to a status file and its idle CPU time and context switches while
#     another process keeps opening and reading files in the watched directory.
#
# Whole-process medians of RUNS runs (benches/measure.py), release build.
#
#   benches/run.sh             # the figures (a few minutes)
#   benches/run.sh --smoke     # every row once, untimed, tiny inputs, debug build: CI runs this
#                              # after `cargo test` so the script never rots
#   BENCH_DIR=/mnt/x benches/run.sh   # its files in a temp dir under /mnt/x rather than $TMPDIR:
#                              # the many-targets rows depend on the filesystem (README)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

smoke=false
[[ ${1:-} == --smoke ]] && smoke=true
if $smoke; then
  cargo build --quiet --locked
  bin="$root/target/debug/switcher"
  runs=0 small_runs=0 big_runs=0
  agents=20 agents_200=10 big_mib=0.05 changes=4 idle=1 settle=0
else
  cargo build --release --quiet --locked
  bin="$root/target/release/switcher"
  runs=${RUNS:-40} small_runs=${SMALL_RUNS:-15} big_runs=${BIG_RUNS:-15}
  agents=1000 agents_200=200 big_mib=5 changes=200 idle=10 settle=12
fi
work=$(mktemp -d -p "${BENCH_DIR:-${TMPDIR:-/tmp}}")
trap 'rm -rf "$work"' EXIT
measure() { python3 "$root/benches/measure.py" "$@"; }
row() { printf '%-58s %s\n' "$1" "$2"; }

rustc -O --edition 2021 -o "$work/floor" benches/floor.rs
export SWITCHER_STATE_DIR="$work/state" HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config"
mkdir -p "$work/home" "$work/fl"

echo "== machine"
if ! $smoke; then
  lscpu | sed -n 's/^Model name: *//p; s/^CPU(s): *//p' | paste -sd' ' | sed 's/^/cpu: /'
  read -r dev fs_type < <(df -T "$work" | awk 'NR==2 {print $1, $2}')
  # An ext4 without a journal checks every recently freed inode before it takes a new one.
  journal=""
  [[ $fs_type == ext4 ]] && journal="; journal: $(ls /proc/fs/jbd2 2>/dev/null |
    grep -q "^${dev##*/}-" && echo yes || echo no)"
  echo "kernel: $(uname -sr); disk: $fs_type on $dev$journal; mounted: $(findmnt -no OPTIONS -T "$work")"
  echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
fi

# The demo: three slots switched by the bundled status file. The first run switches; run again,
# it has nothing to change (the slots stay switched, the quota is still low).
cp fixtures/demo/* "$work/"
cp "$work/opencode.json" "$work/demo.orig.json"
demo=("$bin" watch "$work/opencode.json" --once --config "$work/switcher.json5"
  --quota-file "$work/quota.json" -q)
echo "== one-shot pass: the bundled demo (3 slots)"
row "floor: /bin/true" "$(measure "$runs" -- /bin/true)"
"${demo[@]}" >/dev/null || true
# Even with nothing to change, a pass records the status file's reading in the quota book: one
# durable write, which replaces the book. The demo's floors replace as many files as the pass
# does, and make as many new ones: replacing a file frees the one it replaces, which costs more
# than making a name (on a `discard` mount, a discard of its blocks).
row "floor: 1 durable write" "$(measure "$runs" -- "$work/floor" "$work/fl" 1)"
row "--once, nothing to change" "$(measure "$runs" -- "${demo[@]}")"
# A switching pass writes the quota book, the target's records, the target, and the OpenCode
# routes (<state dir>/routes.json): four durable writes (`strace -e fsync,rename,renameat2`).
# Before each run the target is put back and its records and the routes removed, so the run
# switches anew in a state dir as earlier runs left it (its folders, lock files, journal and
# quota book there): it replaces two files (the book, the target) and makes two, as the floor
# beside it does. The second row removes the whole state dir, as for the very first run (one
# file replaced, three made). The last run of each switching row must have switched.
switched() { cmp -s "$work/opencode.json" "$work/demo.orig.json" && { echo "no switch" >&2; exit 1; }; true; }
row "floor: 4 durable writes (2 replacing a file)" "$(measure "$runs" \
  --prepare "rm -f $work/fl/f2.json $work/fl/f3.json" -- "$work/floor" "$work/fl" 4)"
row "--once, switching 3 slots" "$(measure "$runs" --prepare "cp $work/demo.orig.json \
  $work/opencode.json; rm -f $work/state/routes.json $work/state/targets/*" -- "${demo[@]}")"
switched
row "--once, switching 3 slots, first run (no state dir)" "$(measure "$runs" \
  --prepare "cp $work/demo.orig.json $work/opencode.json; rm -rf $work/state" -- "${demo[@]}")"
switched

# Many small targets: a project's Markdown agents in ten folders, brought by its opencode.json.
python3 benches/inputs.py agents "$work/many.orig" "$agents"
echo '{ fallbacks: { "zai-coding-plan/glm-4.6": ["deepseek/deepseek-chat"] } }' >"$work/fb.json5"
echo '{ "zai": { "status": "GREEN" } }' >"$work/green.json"
echo '{ "zai": { "status": "RED" } }' >"$work/red.json"
targets=$((agents + 1))
many() { echo "$bin" watch "$work/$1/opencode.json" --once --config "$work/fb.json5" --quota-file "$work/$2" -q; }
echo "== many targets: $agents agent files and their opencode.json ($targets targets)"
row "--once, nothing to change" "$(measure "$small_runs" -- $(many many.orig green.json))"
# Per target: the file and its state file; once: the quota book and the routes.
row "floor: $((2 * targets + 2)) durable writes" "$(measure "$small_runs" \
  --prepare "rm -f $work/fl/*" -- "$work/floor" "$work/fl" $((2 * targets + 2)))"
row "--once, switching every target" "$(measure "$small_runs" \
  --prepare "rm -rf $work/many $work/state; cp -r $work/many.orig $work/many" \
  -- $(many many red.json))"

# A project with 200 Markdown agents in ten folders, each with real-sized front matter (a block
# scalar, a quoted or bare `model:` with a comment) and a ~3 KB body.
python3 benches/inputs.py project "$work/agents.orig" "$agents_200"
echo "== a project: $agents_200 agent files with 3 KB bodies and their opencode.json"
row "--once, nothing to switch" "$(measure "$small_runs" -- $(many agents.orig green.json))"
row "--once, switching every agent" "$(measure "$small_runs" \
  --prepare "rm -rf $work/agents $work/state; cp -r $work/agents.orig $work/agents" \
  -- $(many agents red.json))"

# A big config: thousands of agents with long prompts, plain JSON so that Python reads it too.
python3 benches/inputs.py big "$work/big.orig.json" "$big_mib"
big=("$bin" watch "$work/big.json" --kind opencode --once --config "$work/fb.json5" -q)
echo "== big config: $(cat "$work/big.orig.json.about")"
row "floor: python3 json.load" "$(measure "$big_runs" --peak -- \
  python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$work/big.orig.json")"
row "floor: 3 durable writes of its size" "$(measure "$big_runs" --prepare "rm -f $work/fl/*" \
  -- "$work/floor" "$work/fl" 3 "$(stat -c %s "$work/big.orig.json")")"
cp "$work/big.orig.json" "$work/big.json"
row "--once, nothing to switch" "$(measure "$big_runs" --peak -- \
  "${big[@]}" --quota-file "$work/green.json")"
row "--once, switching every agent" "$(measure "$big_runs" --peak \
  --prepare "cp $work/big.orig.json $work/big.json; rm -rf $work/state" -- \
  "${big[@]}" --quota-file "$work/red.json")"

# The status line: Claude Code runs `switcher statusline` after every message, with the JSON the
# real Claude Code 2.1.332 wrote on stdin. The first call records its rate limits; the timed
# calls find that signal current and only print (benches/statusline.sh adds 20 targets' records
# and `--then`).
echo "== status line (Claude Code runs it after every message)"
sed "s|/tmp/cl-e2e/proj|$work/proj|g" fixtures/claude-logs/statusline-stdin-2.1.332.json \
  >"$work/statusline.json"
# It reads every target's records: a state dir of its own, as a user's holds a few targets, not
# the big config's thousands of switches above (with those it takes 15-17 ms, see the README).
export SWITCHER_STATE_DIR="$work/state-statusline"
"$bin" statusline <"$work/statusline.json" >/dev/null
row "floor: /bin/true" "$(measure "$runs" -- /bin/true)"
row "statusline" "$(measure "$runs" --stdin "$work/statusline.json" -- "$bin" statusline)"

echo "== daemon"
python3 benches/reaction.py --bin "$bin" --changes "$changes" --idle "$idle" --settle "$settle" \
  --busy-reader
