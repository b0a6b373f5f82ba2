#!/usr/bin/env bash
# Opt-in check of `switcher status --watch` in a real terminal (tmux, 80x24): it shows what a
# `--once` run left in the state dir, follows a later run's restore without a key press, and
# quits on `q`. Not part of CI (it needs tmux). Leaves the last screen in docs/live-view.txt
# when run with --save.
#   scripts/tui-check.sh [--save]
set -euo pipefail
cd "$(dirname "$0")/.."
command -v tmux >/dev/null || { echo "tmux is needed (apt-get install tmux)"; exit 1; }
cargo build --quiet
bin="$PWD/target/debug/switcher"
dir=$(mktemp -d)
session="switcher-tui-check-$$"
trap 'tmux kill-session -t "$session" 2>/dev/null || true; rm -rf "$dir"' EXIT
mkdir -p "$dir/home" "$dir/state"
cd "$dir"
cat > opencode.json <<'JSON'
{
  "model": "zai-coding-plan/glm-4.6",
  "agent": { "build": { "model": "zai-coding-plan/glm-4.6" } }
}
JSON
cat > switcher.json5 <<'JSON5'
{ recovery_hold: 1, notify: false,
  fallbacks: { "zai-coding-plan/glm-4.6": ["deepseek/deepseek-chat"] } }
JSON5
reset=$(date -u -d '+2 hours 30 minutes' +%Y-%m-%dT%H:%M:%SZ)
week=$(date -u -d '+3 days' +%Y-%m-%dT%H:%M:%SZ)
quota() {
  cat > quota.json <<JSON
{ "zai": { "windows": { "five_hour": { "utilization": $1, "resets_at": "$reset" },
                        "weekly": { "utilization": 41, "resets_at": "$week" } } },
  "anthropic": { "windows": { "five_hour": { "utilization": 35, "resets_at": "$reset" },
                              "seven_day_opus": { "utilization": 99, "models": ["opus"] } } },
  "deepseek": { "status": "GREEN" } }
JSON
}
run() { env -i PATH="$PATH" HOME="$dir/home" TERM=xterm-256color SWITCHER_STATE_DIR="$dir/state" \
  "$bin" "$@" --config switcher.json5 --quota-file quota.json; }
quota 93.5
run watch opencode.json --once >/dev/null

tmux new-session -d -s "$session" -x 80 -y 24 \
  "env -i PATH='$PATH' HOME='$dir/home' TERM=xterm-256color SWITCHER_STATE_DIR='$dir/state' \
   '$bin' status --watch opencode.json --config switcher.json5 --quota-file quota.json"
screen() { tmux capture-pane -p -t "$session"; }
wait_for() {
  for _ in $(seq 100); do
    if screen | grep -qF -- "$1"; then return 0; fi
    sleep 0.1
  done
  echo "FAIL: the view never showed: $1"; screen; exit 1
}
wait_for "zai        RED"
wait_for "opencode.json: model: zai-coding-plan/glm-4.6 → deepseek/deepseek-chat"
wait_for "93.5% resets in 2h"
wait_for "(opus only)"
echo "ok: the view shows the switch the --once run made"
first=$(screen)

# The provider recovers: a pass restores, and the view follows without a key press.
quota 12
run watch opencode.json --once >/dev/null
wait_for "none: every slot holds its original"
wait_for "opencode.json: model → zai-coding-plan/glm-4.6 (zai G"
echo "ok: the view followed the restore"
[ "$(screen | wc -l)" -le 24 ] || { echo "FAIL: more than 24 lines"; exit 1; }

tmux send-keys -t "$session" q
for _ in $(seq 50); do tmux has-session -t "$session" 2>/dev/null || break; sleep 0.1; done
if tmux has-session -t "$session" 2>/dev/null; then echo "FAIL: q did not quit"; exit 1; fi
echo "ok: q quits"
[ -z "$(ls "$dir/state/targets" 2>/dev/null)" ] || { echo "FAIL: records left"; exit 1; }
if [ "${1:-}" = --save ]; then
  printf '%s\n' "$first" > "$OLDPWD/docs/live-view.txt"
  echo "saved docs/live-view.txt"
fi
echo "tui-check: all ok"
