#!/usr/bin/env bash
# Switching 1,001 small targets in one run on a freshly made ext4, with a journal and without, each
# beside its durable-write floor: what such a run costs on a disk that has not just freed thousands
# of inodes (README, Performance: `benches/run.sh` repeats its runs back to back, and on an ext4
# without a journal every file a run frees makes the next runs' new files dearer).
#
# Every timed run gets its own filesystem: an ext4 made in a 2 GiB sparse file and mounted
# through a loop device, so it needs root, `mkfs.ext4` and loop devices. Not run by CI.
#
#   benches/fresh-fs.sh            # RUNS (default 5) runs per row, rows alternated
#   BENCH_DIR=/mnt/x benches/fresh-fs.sh   # the image file under /mnt/x rather than $TMPDIR
set -euo pipefail
# A step that fails inside `$(one …)` stops the script too.
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
root=$PWD
runs=${RUNS:-5}
[[ $(id -u) == 0 ]] || { echo "fresh-fs.sh: needs root (mkfs and a loop mount)" >&2; exit 1; }

cargo build --release --quiet --locked
bin="$root/target/release/switcher"
work=$(mktemp -d -p "${BENCH_DIR:-${TMPDIR:-/tmp}}")
mnt="$work/mnt"
cleanup() {
  if mountpoint -q "$mnt"; then umount "$mnt" || umount -l "$mnt" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$mnt"
rustc -O --edition 2021 -o "$work/floor" benches/floor.rs
python3 benches/inputs.py agents "$work/many.orig" 1000
echo '{ fallbacks: { "zai-coding-plan/glm-4.6": ["deepseek/deepseek-chat"] } }' >"$work/fb.json5"
echo '{ "zai": { "status": "RED" } }' >"$work/red.json"

echo "== machine"
lscpu | sed -n 's/^Model name: *//p; s/^CPU(s): *//p' | paste -sd' ' | sed 's/^/cpu: /'
echo "kernel: $(uname -sr); image on: $(df -T "$work" | awk 'NR==2 {print $2, $1}'); load: $(cut -d' ' -f1-3 /proc/loadavg)"

# one JOURNAL ROW: makes a fresh ext4 (JOURNAL yes|no), copies the inputs onto it, and prints the
# wall time in ms of one run of ROW (floor|switch).
one() {
  local opts=() row=$2
  [[ $1 == no ]] && opts=(-O ^has_journal)
  mkfs.ext4 -q -F "${opts[@]}" "$work/fs.img" 2G >/dev/null
  mount -o loop "$work/fs.img" "$mnt"
  mkdir -p "$mnt/fl" "$mnt/home"
  cp -r "$work/many.orig" "$mnt/many"
  sync
  local cmd
  if [[ $row == floor ]]; then
    cmd=("$work/floor" "$mnt/fl" 2004)
  else
    cmd=("$bin" watch "$mnt/many/opencode.json" --once --config "$work/fb.json5"
      --quota-file "$work/red.json" -q)
  fi
  SWITCHER_STATE_DIR="$mnt/state" HOME="$mnt/home" XDG_CONFIG_HOME="$mnt/home/.config" \
    python3 benches/measure.py 1 -- "${cmd[@]}" | cut -d' ' -f1
  if [[ $row == switch ]] && cmp -s "$mnt/many/opencode.json" "$work/many.orig/opencode.json"; then
    echo "fresh-fs.sh: the run switched nothing" >&2
    exit 1
  fi
  umount "$mnt"
}

declare -A times
for ((i = 0; i < runs; i++)); do
  for journal in yes no; do
    for row in floor switch; do
      times[$journal-$row]+="$(one $journal $row) "
    done
  done
done
summary() { python3 -c 'import statistics, sys
t = [float(x) for x in sys.argv[1:]]
print(f"{statistics.median(t):.0f} ms (min {min(t):.0f}, max {max(t):.0f}, n {len(t)})")' $1; }
for journal in yes no; do
  echo "== a fresh ext4, journal: $journal"
  printf '%-58s %s\n' "floor: 2004 durable writes" "$(summary "${times[$journal-floor]}")"
  printf '%-58s %s\n' "--once, switching 1001 targets" "$(summary "${times[$journal-switch]}")"
done
