#!/usr/bin/env bash
# Opt-in proof with the real Claude Code (outside the default CI run): a usage limit Claude Code
# meets reaches switcher through its transcript, and Claude Code's status line reaches switcher
# through `switcher statusline`.
#
#   scripts/claude-e2e/logs.sh
#
# 1. The `claude-logs` source: a loopback mock (limit_mock.py) answers Claude Code's request with
#    the 429 a spent 5-hour window gets; Claude Code (logged in with a made-up claude.ai OAuth
#    token, its base URL at the mock) writes the refusal into its transcript; a running
#    `switcher watch` must rewrite the project's settings to the fallback profile. Measured: the
#    line's own timestamp → the settings file's new mtime, over CLAUDE_E2E_RUNS runs (default 5),
#    each ending with `--restore` and a byte comparison.
# 2. The status line: `switcher setup claude` sets the user's statusLine; an interactive Claude
#    Code session (in a pty, via script(1)) against the mock sending the
#    `anthropic-ratelimit-unified-*` headers must hand `rate_limits` to it, and the signal file
#    must hold them; `setup claude --remove` must give the settings back byte for byte.
#
# Needs cargo, npm (first run only), python3, script(1). Knobs: SWITCHER_BIN (skip the build),
# CLAUDE_E2E_VERSION (default 2.1.332), CLAUDE_E2E_NPM_DIR (default /tmp/claude-logs-agents),
# CLAUDE_E2E_RUNS, CLAUDE_E2E_KEEP=1 (keep the temp dir). Every process it starts runs with
# HOME in a temp dir, HTTP(S)_PROXY at the mock (which refuses and logs any attempt to leave the
# machine) and Claude Code's non-essential traffic off.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
version=${CLAUDE_E2E_VERSION:-2.1.332}
npm_dir=${CLAUDE_E2E_NPM_DIR:-/tmp/claude-logs-agents}
runs=${CLAUDE_E2E_RUNS:-5}
fails=0 checks=0
pass() { checks=$((checks + 1)); echo "PASS $*"; }
fail() { checks=$((checks + 1)); fails=$((fails + 1)); echo "FAIL $*"; }

if [ -z "${SWITCHER_BIN:-}" ]; then
  (cd "$repo" && CARGO_TARGET_DIR=/tmp/claude-e2e-target cargo build --release -q)
  SWITCHER_BIN=/tmp/claude-e2e-target/release/switcher
fi
claude="$npm_dir/node_modules/.bin/claude"
if ! [ -x "$claude" ] || ! "$claude" --version 2>/dev/null | grep -q "^$version "; then
  npm install --prefix "$npm_dir" "@anthropic-ai/claude-code@$version" >/dev/null
fi
echo "claude-e2e logs: Claude Code $("$claude" --version), switcher $("$SWITCHER_BIN" --version)"

work=$(mktemp -d /tmp/claude-e2e-logs.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [ "${CLAUDE_E2E_KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

home=$work/home proj=$work/proj state=$work/state
mkdir -p "$home/.claude/projects" "$proj/.claude" "$state"
python3 "$here/limit_mock.py" serve --log "$work/mock.log" --port-file "$work/port" \
  --mode-file "$work/mode" &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
port=$(cat "$work/port")
base="http://127.0.0.1:$port"

# A claude.ai login, made up: Claude Code treats the refusal as a subscription's usage limit only
# for one. It never leaves the machine (the base URL and the proxies are the mock).
expires=$((($(date +%s) + 30 * 86400) * 1000))
printf '{"claudeAiOauth":{"accessToken":"sk-ant-oat01-e2e-made-up","refreshToken":"sk-ant-ort01-e2e-made-up","expiresAt":%s,"scopes":["user:inference","user:profile","user:sessions:claude_code"],"subscriptionType":"max"}}\n' \
  "$expires" >"$home/.claude/.credentials.json"
printf '{"hasCompletedOnboarding":true,"projects":{"%s":{"hasTrustDialogAccepted":true,"hasCompletedProjectOnboarding":true}}}\n' \
  "$proj" >"$home/.claude.json"

# The target: the project's settings, on the mock as its endpoint (provider "127.0.0.1"), with a
# profile on another host name of the mock as the fallback.
settings="$proj/.claude/settings.json"
printf '{\n  "model": "opus",\n  "env": {\n    "ANTHROPIC_BASE_URL": "%s"\n  }\n}\n' "$base" >"$settings"
cp "$settings" "$work/settings.orig"
cat >"$work/switcher.json5" <<EOF
{
  // Only the transcripts: the made-up login must not make the claude source poll Anthropic.
  sources: [{ kind: "claude-logs" }],
  profiles: { alt: { provider: "localhost", model: "sonnet",
                     env: { ANTHROPIC_BASE_URL: "http://localhost:$port/alt" } } },
  fallbacks: { opus: ["profile:alt"] },
}
EOF

run_env=(env -i PATH="$PATH" HOME="$home" TERM=xterm-256color
  XDG_CONFIG_HOME="$home/.config" XDG_STATE_HOME="$home/.local/state"
  SWITCHER_STATE_DIR="$state" SWITCHER_CONFIG="$work/switcher.json5"
  HTTP_PROXY="$base" HTTPS_PROXY="$base" NO_PROXY=127.0.0.1,localhost
  DISABLE_AUTOUPDATER=1 CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 DISABLE_TELEMETRY=1)

# -- 1. the transcript -------------------------------------------------------------------------
echo limit >"$work/mode"
figures=()
for run in $(seq "$runs"); do
  rm -rf "$home/.claude/projects"/*
  "${run_env[@]}" "$SWITCHER_BIN" watch "$settings" -v 2>"$work/daemon-$run.log" &
  daemon=$!
  pids+=("$daemon")
  for _ in $(seq 200); do grep -qs watching "$work/daemon-$run.log" && break; sleep 0.05; done
  (cd "$proj" && "${run_env[@]}" "$claude" -p "hi" --model opus >"$work/claude-$run.out" 2>&1) || true
  transcript=$(find "$home/.claude/projects" -name '*.jsonl' | head -1)
  line=$(grep '"usage_limit_reached"' "$transcript" 2>/dev/null | head -1 || true)
  for _ in $(seq 100); do grep -q "localhost:$port/alt" "$settings" && break; sleep 0.02; done
  if [ -z "$line" ]; then
    fail "run $run: no usage-limit line in the transcript ($(cat "$work/claude-$run.out"))"
  elif ! grep -q "localhost:$port/alt" "$settings"; then
    fail "run $run: the settings were not switched"; cat "$work/daemon-$run.log"
  else
    figures+=("$(python3 - "$line" "$settings" <<'EOF'
import datetime, json, os, sys
at = datetime.datetime.fromisoformat(json.loads(sys.argv[1])["timestamp"].replace("Z", "+00:00"))
print(round((os.stat(sys.argv[2]).st_mtime - at.timestamp()) * 1000))
EOF
)")
    if [ "$run" = 1 ]; then
      pass "Claude Code said \"$(head -1 "$work/claude-$run.out")\"; its transcript line switched the settings"
    fi
  fi
  kill "$daemon"; wait "$daemon" 2>/dev/null || true
  "${run_env[@]}" "$SWITCHER_BIN" watch "$settings" --restore >/dev/null
  cmp -s "$settings" "$work/settings.orig" || fail "run $run: --restore did not give the bytes back"
done
if [ ${#figures[@]} -gt 0 ]; then
  sorted=$(printf '%s\n' "${figures[@]}" | sort -n | tr '\n' ' ')
  pass "reaction, transcript line -> settings rewritten, ms over ${#figures[@]} runs: $sorted"
fi

# -- 2. the status line ------------------------------------------------------------------------
echo headers >"$work/mode"
user_settings="$home/.claude/settings.json"
printf '{\n  "statusLine": {"type": "command", "command": "cat >/dev/null; echo theirs"}\n}\n' >"$user_settings"
cp "$user_settings" "$work/user-settings.orig"
"${run_env[@]}" "$SWITCHER_BIN" setup claude >/dev/null
grep -q 'statusline --then' "$user_settings" && pass "setup claude kept the old command behind --then" \
  || fail "setup claude: $(cat "$user_settings")"
(cd "$proj" && (sleep 8; printf 'hello\r'; sleep 12; printf '/exit\r'; sleep 3) |
  "${run_env[@]}" timeout 60 script -qfc "$claude --model opus" /dev/null >"$work/tui.out" 2>&1) || true
signal="$state/signals/claude-statusline.json"
if [ -f "$signal" ] && grep -q '"utilization": 35' "$signal"; then
  pass "Claude Code handed rate_limits to switcher statusline (five_hour 35%, seven_day 42%)"
else
  fail "no rate_limits signal from the status line ($(cat "$signal" 2>/dev/null))"
fi
"${run_env[@]}" "$SWITCHER_BIN" setup claude --remove >/dev/null
cmp -s "$user_settings" "$work/user-settings.orig" && pass "setup claude --remove gave the bytes back" \
  || fail "setup claude --remove changed the settings"

outbound=$(python3 "$here/../agents-e2e/mock_llm.py" outbound "$work/mock.log" || true)
[ -n "$outbound" ] && echo "note: attempts to leave the machine (refused by the mock):" && echo "$outbound"
if [ "$fails" -eq 0 ]; then echo "claude-e2e logs: PASS ($checks checks)"; else
  echo "claude-e2e logs: FAIL ($fails of $checks checks failed)"; exit 1; fi
