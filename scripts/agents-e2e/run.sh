#!/usr/bin/env bash
# Opt-in end-to-end check: what switcher writes is what the real agent CLIs read and use.
# See README.md in this directory. Touches only temp dirs under /tmp and 127.0.0.1.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
MOCK="$HERE/mock_llm.py"
E2E_TARGET_DIR="${AGENTS_E2E_TARGET_DIR:-/tmp/e2e-target}"
NPM_DIR="${AGENTS_E2E_NPM_DIR:-/tmp/agents-e2e-npm}"
NPM_BIN="$NPM_DIR/node_modules/.bin"
AGENT_TIMEOUT="${AGENTS_E2E_TIMEOUT:-180}"

log() { printf '\n== %s\n' "$*"; }
info() { printf '   %s\n' "$*"; }
die() { printf 'agents-e2e: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------
# Outer phase: build, install, then run the checks (in a network namespace when possible).
# ---------------------------------------------------------------------------------------------

build_switcher() {
    if [[ -n "${SWITCHER_BIN:-}" ]]; then
        info "using SWITCHER_BIN=$SWITCHER_BIN (no build)"
        return
    fi
    log "build switcher (CARGO_TARGET_DIR=$E2E_TARGET_DIR cargo build --release)"
    (cd "$ROOT" && CARGO_TARGET_DIR="$E2E_TARGET_DIR" cargo build --release)
    SWITCHER_BIN="$E2E_TARGET_DIR/release/switcher"
    [[ -x "$SWITCHER_BIN" ]] || die "no binary at $SWITCHER_BIN"
}

# version_of BIN: the agent's --version, run with a scratch HOME and TMPDIR (OpenCode makes its
# dirs in both as it starts, even for --version) and updates/telemetry off.
version_of() {
    mkdir -p "$NPM_DIR/.version-home/tmp"
    env -i "HOME=$NPM_DIR/.version-home" "TMPDIR=$NPM_DIR/.version-home/tmp" \
        "PATH=$NPM_BIN:/usr/local/bin:/usr/bin:/bin" \
        OPENCODE_DISABLE_AUTOUPDATE=1 CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 DISABLE_AUTOUPDATER=1 \
        timeout 60 "$NPM_BIN/$1" --version 2>/dev/null
}

# Package specs; pin with AGENTS_E2E_OPENCODE_VERSION / AGENTS_E2E_CLAUDE_VERSION.
agent_installed() {
    local bin="$1" want="$2"
    [[ -x "$NPM_BIN/$bin" ]] || return 1
    local have
    have="$(version_of "$bin")" || return 1
    [[ -z "$want" || "$have" == "$want"* ]]
}

install_agents() {
    local oc_ver="${AGENTS_E2E_OPENCODE_VERSION:-}" cc_ver="${AGENTS_E2E_CLAUDE_VERSION:-}"
    if agent_installed opencode "$oc_ver" && agent_installed claude "$cc_ver"; then
        log "agent CLIs already installed in $NPM_DIR (skipping npm install)"
    else
        log "install agent CLIs into $NPM_DIR"
        mkdir -p "$NPM_DIR"
        # opencode-ai's install script runs `opencode --version`, which makes OpenCode's dirs:
        # scratch XDG dirs and TMPDIR for it (HOME stays, for npm's own config); npm's cache goes
        # beside the install unless one is set.
        local h="$NPM_DIR/.version-home"
        local install_env=(env "XDG_CONFIG_HOME=$h/.config" "XDG_DATA_HOME=$h/.local/share"
            "XDG_CACHE_HOME=$h/.cache" "XDG_STATE_HOME=$h/.local/state" "TMPDIR=$h/tmp"
            "npm_config_cache=${npm_config_cache:-$NPM_DIR/.npm-cache}")
        mkdir -p "$h/tmp"
        "${install_env[@]}" npm install --prefix "$NPM_DIR" --no-audit --no-fund --loglevel=error \
            "opencode-ai${oc_ver:+@$oc_ver}" "@anthropic-ai/claude-code${cc_ver:+@$cc_ver}"
        # Both packages ship a placeholder bin that their postinstall script replaces with the
        # platform's native binary. If this npm did not run install scripts, run them now.
        if ! agent_installed opencode ""; then
            (cd "$NPM_DIR/node_modules/opencode-ai" && "${install_env[@]}" node ./postinstall.mjs)
        fi
        if ! agent_installed claude ""; then
            (cd "$NPM_DIR/node_modules/@anthropic-ai/claude-code" && "${install_env[@]}" node install.cjs)
        fi
        agent_installed opencode "" || die "opencode does not run after install"
        agent_installed claude "" || die "claude does not run after install"
    fi
    info "opencode $(version_of opencode)"
    info "claude   $(version_of claude)"
}

# Prints the unshare arguments that give a private network namespace with only loopback
# (root: plain --net; otherwise a user namespace too), or nothing when that is not possible.
netns_args() {
    [[ "${AGENTS_E2E_NETNS:-1}" == 0 ]] && return 0
    command -v unshare >/dev/null && command -v ip >/dev/null || return 0
    local try
    for try in "--net" "--user --map-root-user --net"; do
        # shellcheck disable=SC2086
        if unshare $try -- ip link set lo up >/dev/null 2>&1; then
            echo "$try"
            return 0
        fi
    done
}

outer() {
    build_switcher
    install_agents
    E2E_WORK="$(mktemp -d /tmp/agents-e2e.XXXXXX)"
    if [[ "${AGENTS_E2E_KEEP:-0}" == 1 ]]; then
        trap 'echo "agents-e2e: kept $E2E_WORK"' EXIT
    else
        trap 'rm -rf "$E2E_WORK"' EXIT
    fi
    trap 'exit 130' INT TERM
    local ns rc=0
    ns="$(netns_args)"
    export AGENTS_E2E_INNER=1 AGENTS_E2E_WORK="$E2E_WORK" SWITCHER_BIN
    if [[ -n "$ns" ]]; then
        log "run the checks in a private network namespace (unshare $ns): only loopback exists"
        export AGENTS_E2E_NETNS_USED=1
        # shellcheck disable=SC2086
        unshare $ns -- bash "$HERE/run.sh" || rc=$?
    else
        log "no network namespace available (or AGENTS_E2E_NETNS=0): relying on the agents' env vars, the proxy trap and strace"
        export AGENTS_E2E_NETNS_USED=0
        bash "$HERE/run.sh" || rc=$?
    fi
    return "$rc"
}

# ---------------------------------------------------------------------------------------------
# Inner phase: mock server, agents, switcher. Everything below lives in $WORK.
# ---------------------------------------------------------------------------------------------

RESULTS=()
FAILED=0
pass() { RESULTS+=("PASS  $1"); printf '   PASS  %s\n' "$1"; }
fail() { RESULTS+=("FAIL  $1"); FAILED=$((FAILED + 1)); printf '   FAIL  %s\n' "$1"; }
# check NAME CMD...: run CMD, record PASS/FAIL under NAME; never aborts the script.
check() {
    local name="$1"
    shift
    if "$@"; then pass "$name"; else fail "$name"; fi
}

MOCK_PID=""
cleanup_inner() {
    if [[ -n "$MOCK_PID" ]]; then
        kill "$MOCK_PID" 2>/dev/null || true
        wait "$MOCK_PID" 2>/dev/null || true
    fi
}

start_mock() {
    python3 "$MOCK" serve --log "$MOCK_LOG" --port-file "$WORK/mock.port" 2>"$WORK/mock.stderr" &
    MOCK_PID=$!
    local _
    for _ in $(seq 100); do
        [[ -s "$WORK/mock.port" ]] && break
        kill -0 "$MOCK_PID" 2>/dev/null || { cat "$WORK/mock.stderr" >&2; die "mock server died"; }
        sleep 0.1
    done
    [[ -s "$WORK/mock.port" ]] || die "mock server did not start"
    PORT="$(cat "$WORK/mock.port")"
    MOCK_URL="http://127.0.0.1:$PORT"
    info "mock LLM server pid $MOCK_PID on $MOCK_URL, log $MOCK_LOG"
}

mark() { wc -l <"$MOCK_LOG" | tr -d ' '; }

# The agents run under `env -i` with exactly these variables: nothing of the caller's
# environment (API keys, OPENCODE_*, ANTHROPIC_*, proxies) leaks in.
setup_env() {
    local h="$WORK/home"
    mkdir -p "$h/.config" "$h/.local/share" "$h/.cache" "$h/.local/state" "$h/tmp"
    BASE_ENV=(
        "HOME=$h"
        "TMPDIR=$h/tmp"
        "XDG_CONFIG_HOME=$h/.config"
        "XDG_DATA_HOME=$h/.local/share"
        "XDG_CACHE_HOME=$h/.cache"
        "XDG_STATE_HOME=$h/.local/state"
        "PATH=$NPM_BIN:/usr/local/bin:/usr/bin:/bin"
        "LANG=C.UTF-8"
        "TERM=dumb"
        "NO_COLOR=1"
        # Proxy trap: a client that honours these and tries to reach any host other than the
        # mock sends CONNECT to the mock, which logs the host and refuses.
        "HTTP_PROXY=$MOCK_URL" "HTTPS_PROXY=$MOCK_URL" "http_proxy=$MOCK_URL" "https_proxy=$MOCK_URL"
        "NO_PROXY=127.0.0.1,localhost" "no_proxy=127.0.0.1,localhost"
        # Package installs an agent starts on its own go to the mock (logged, 404).
        "npm_config_registry=$MOCK_URL/npm-registry/"
    )
    OPENCODE_ENV=(
        "OPENCODE_DISABLE_AUTOUPDATE=1"    # no update check
        "OPENCODE_DISABLE_MODELS_FETCH=1"  # no models.dev catalogue fetch (models.opencode.ai)
        "OPENCODE_DISABLE_LSP_DOWNLOAD=1"  # no language-server downloads
        "OPENCODE_DISABLE_DEFAULT_PLUGINS=1"
        "OPENCODE_DISABLE_SHARE=1"
        "OPENCODE_DISABLE_CLAUDE_CODE=1"   # do not read Claude Code's files
    )
    CLAUDE_ENV=(
        "CLAUDE_CONFIG_DIR=$WORK/claude-config"
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1" # autoupdater, telemetry, error reports, flags
        "DISABLE_AUTOUPDATER=1"
        "DISABLE_TELEMETRY=1"
        "DISABLE_ERROR_REPORTING=1"
        "CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL=1" # interactive mode: plugin marketplace
    )
}

# With strace (default when installed; AGENTS_E2E_STRACE=0 turns it off) every connect() and
# sendto() of the agents is recorded, so an attempt to reach the network that ignores the proxy
# variables (and that the network namespace would fail silently) is caught too.
STRACE_DIR=""
setup_strace() {
    if [[ "${AGENTS_E2E_STRACE:-1}" != 0 ]] && command -v strace >/dev/null &&
        strace -f -qq -e trace=connect -o /dev/null true 2>/dev/null; then
        STRACE_DIR="$WORK/strace"
        mkdir -p "$STRACE_DIR"
        info "strace records every connect()/sendto() of the agents in $STRACE_DIR"
    else
        info "strace not used: only the network namespace and the proxy trap guard the network"
    fi
}
traced() {
    if [[ -n "$STRACE_DIR" ]]; then
        local f
        f="$(mktemp "$STRACE_DIR/trace.XXXXXX")"
        strace -f -qq -e trace=connect,sendto -o "$f" "$@"
    else
        "$@"
    fi
}
# Every inet address the traced agents connected or sent to; fails if one is not loopback.
only_loopback_connects() {
    python3 - "$STRACE_DIR" <<'EOF'
import glob, os, re, sys
addrs = {}
for f in sorted(glob.glob(os.path.join(sys.argv[1], "trace.*"))):
    for line in open(f, errors="replace"):
        if "AF_INET" not in line:
            continue
        m = re.search(r'htons\((\d+)\).*?inet_(?:addr\("([^"]+)"\)|pton\(AF_INET6, "([^"]+)")', line)
        a = (m.group(2) or m.group(3)) + ":" + m.group(1) if m else "unparsed: " + line.strip()[:100]
        addrs[a] = addrs.get(a, 0) + 1
bad = {a: n for a, n in addrs.items()
       if not re.match(r"(127\.|::1:|::ffff:127\.)", a)}
for a, n in sorted(addrs.items()):
    print("      %-28s %3d call(s)%s" % (a, n, "  <-- NOT LOOPBACK" if a in bad else ""))
if not addrs:
    print("      no inet call recorded at all: the trace is not working")
sys.exit(1 if bad or not addrs else 0)
EOF
}
opencode_cmd() { traced env -i "${BASE_ENV[@]}" "${OPENCODE_ENV[@]}" timeout "$AGENT_TIMEOUT" "$NPM_BIN/opencode" "$@"; }
claude_cmd() { traced env -i "${BASE_ENV[@]}" "${CLAUDE_ENV[@]}" timeout "$AGENT_TIMEOUT" "$NPM_BIN/claude" "$@"; }
switcher_cmd() {
    env -i "HOME=$WORK/home" "XDG_CONFIG_HOME=$WORK/home/.config" "XDG_STATE_HOME=$WORK/home/.local/state" \
        "PATH=/usr/local/bin:/usr/bin:/bin" "NO_COLOR=1" "E2E_PROFILE_TOKEN=profile-token-b" \
        "$SWITCHER_BIN" "$@"
}

# show_tail FILE: the last lines of an agent's output, indented.
show_tail() { tail -n "${2:-15}" "$1" | sed 's/^/      | /'; }

# run_agent NAME OUT ERR CMD...: run an agent command, print its stdout (the first $SHOW_LINES
# lines), and its stderr when it fails.
SHOW_LINES=20
run_agent() {
    local name="$1" out="$2" err="$3"
    shift 3
    local rc=0
    "$@" >"$out" 2>"$err" || rc=$?
    info "$name: exit $rc${SHOW_LINES:+; stdout:}"
    if [[ -n "$SHOW_LINES" ]]; then
        sed 's/\x1b\[[0-9;]*m//g; /^\s*$/d; s/^/      | /' "$out" | sed -n "1,${SHOW_LINES}p"
    fi
    if [[ $rc -ne 0 ]]; then
        info "$name: stderr (tail):"
        show_tail "$err" 25
    fi
    return "$rc"
}

# saw FROM PREFIX MODEL: every model request in the mock log since line FROM went to a path
# under PREFIX with body model MODEL (and there was at least one).
saw() { python3 "$MOCK" check "$MOCK_LOG" --from "$1" --path-prefix "$2" --model "$3" --only; }
contains() { grep -qF -- "$2" "$1"; }
# json_get FILE EXPR: evaluate a Python expression on the JSON in FILE (bound to d).
json_get() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
is_eq() { [[ "$1" == "$2" ]]; }

# --- OpenCode -------------------------------------------------------------------------------

opencode_part() {
    log "OpenCode: two OpenAI-compatible providers on the mock, model provA/model-a"
    local proj="$WORK/oc-project" state="$WORK/switcher-state" n
    mkdir -p "$proj" "$state"
    local target="$proj/opencode.json"
    # JSONC on purpose (a comment, a trailing comma): OpenCode accepts it and switcher must keep it.
    cat >"$target" <<EOF
{
  "\$schema": "https://opencode.ai/config.json",
  // Two OpenAI-compatible providers, both served by the loopback mock on distinct paths.
  "provider": {
    "provA": {
      "npm": "@ai-sdk/openai-compatible",
      "name": "Provider A",
      "options": { "baseURL": "$MOCK_URL/provA/v1", "apiKey": "test-key-a" },
      "models": { "model-a": { "name": "Model A" } }
    },
    "provB": {
      "npm": "@ai-sdk/openai-compatible",
      "name": "Provider B",
      "options": { "baseURL": "$MOCK_URL/provB/v1", "apiKey": "test-key-b" },
      "models": { "model-b": { "name": "Model B" } }
    }
  },
  "model": "provA/model-a",
}
EOF
    cp -p "$target" "$WORK/opencode.json.orig"

    # 1. What OpenCode resolves from the file.
    if (cd "$proj" && SHOW_LINES="" run_agent "opencode debug config" "$WORK/oc-config1.json" "$WORK/oc-config1.err" opencode_cmd debug config); then
        check "opencode debug config resolves model provA/model-a" \
            is_eq "$(json_get "$WORK/oc-config1.json" 'd.get("model")')" "provA/model-a"
        check "opencode debug config resolves provA baseURL to the mock" \
            is_eq "$(json_get "$WORK/oc-config1.json" 'd["provider"]["provA"]["options"]["baseURL"]')" "$MOCK_URL/provA/v1"
    else
        fail "opencode debug config runs"
    fi

    # 2. What OpenCode sends before any switch.
    n="$(mark)"
    if (cd "$proj" && run_agent 'opencode run "hi"' "$WORK/oc-run1.out" "$WORK/oc-run1.err" opencode_cmd run "hi"); then
        check "opencode run (before switch) prints the mock's model-a reply" \
            contains "$WORK/oc-run1.out" "MOCK-REPLY model=model-a path=/provA/v1/chat/completions"
    else
        fail "opencode run (before switch) exits 0"
    fi
    check "mock saw model-a at /provA/v1 only (before switch)" saw "$n" /provA/v1/ model-a
    check "opencode left opencode.json untouched" cmp -s "$target" "$WORK/opencode.json.orig"

    # 3. Provider A goes RED; switcher rewrites the model.
    log "switcher: provA is RED, fallback provA/model-a -> provB/model-b"
    printf '{"provA": {"status": "RED"}}\n' >"$WORK/status.json"
    cat >"$WORK/switcher.json5" <<'EOF'
{
  // provider A's model falls back to provider B's
  fallbacks: { "provA/model-a": ["provB/model-b"] },
}
EOF
    local rc=0
    (cd "$proj" && switcher_cmd watch opencode.json --once --config "$WORK/switcher.json5" \
        --quota-file "$WORK/status.json" --state-dir "$state") >"$WORK/sw-once.out" 2>"$WORK/sw-once.err" || rc=$?
    info "switcher watch --once: exit $rc"
    sed 's/^/      | /' "$WORK/sw-once.out" "$WORK/sw-once.err"
    check "switcher --once exits 0" is_eq "$rc" 0
    check "switcher --once reports model: provA/model-a -> provB/model-b" \
        contains "$WORK/sw-once.out" "model: provA/model-a -> provB/model-b"
    check "opencode.json differs from the original only in the model value" python3 - "$WORK/opencode.json.orig" "$target" <<'EOF'
import sys
orig, new = (open(p, "rb").read() for p in sys.argv[1:3])
want = orig.replace(b'"provA/model-a"', b'"provB/model-b"', 1)
sys.exit(0 if new == want and orig.count(b'"provA/model-a"') == 1 else 1)
EOF

    # 4. What OpenCode resolves and sends after the switch.
    if (cd "$proj" && SHOW_LINES="" run_agent "opencode debug config" "$WORK/oc-config2.json" "$WORK/oc-config2.err" opencode_cmd debug config); then
        check "opencode debug config resolves model provB/model-b after the switch" \
            is_eq "$(json_get "$WORK/oc-config2.json" 'd.get("model")')" "provB/model-b"
    else
        fail "opencode debug config runs after the switch"
    fi
    cp -p "$target" "$WORK/opencode.json.switched"
    n="$(mark)"
    if (cd "$proj" && run_agent 'opencode run "hi"' "$WORK/oc-run2.out" "$WORK/oc-run2.err" opencode_cmd run "hi"); then
        check "opencode run (after switch) prints the mock's model-b reply" \
            contains "$WORK/oc-run2.out" "MOCK-REPLY model=model-b path=/provB/v1/chat/completions"
    else
        fail "opencode run (after switch) exits 0"
    fi
    check "mock saw model-b at /provB/v1 only (after switch)" saw "$n" /provB/v1/ model-b
    check "opencode left the switched opencode.json untouched" cmp -s "$target" "$WORK/opencode.json.switched"

    # 5. Restore: byte-identical original.
    log "switcher: restore"
    rc=0
    (cd "$proj" && switcher_cmd watch --restore --state-dir "$state") >"$WORK/sw-restore.out" 2>"$WORK/sw-restore.err" || rc=$?
    info "switcher watch --restore: exit $rc"
    sed 's/^/      | /' "$WORK/sw-restore.out" "$WORK/sw-restore.err"
    check "switcher --restore exits 0" is_eq "$rc" 0
    check "restored opencode.json is byte-identical to the original (cmp)" cmp "$WORK/opencode.json.orig" "$target"
    if (cd "$proj" && SHOW_LINES="" run_agent "opencode debug config" "$WORK/oc-config3.json" "$WORK/oc-config3.err" opencode_cmd debug config); then
        check "opencode debug config resolves model provA/model-a after restore" \
            is_eq "$(json_get "$WORK/oc-config3.json" 'd.get("model")')" "provA/model-a"
    else
        fail "opencode debug config runs after restore"
    fi
}

# --- Claude Code ----------------------------------------------------------------------------
# First the agent side alone (settings.json edited by a byte splice of one value), then switcher
# itself moving the target to an endpoint profile and back.

claude_set() { # claude_set FILE OLD NEW: replace the one JSON string "OLD" with "NEW", bytes otherwise kept
    python3 - "$@" <<'EOF'
import sys
path, old, new = sys.argv[1:4]
data = open(path, "rb").read()
o, n = ('"%s"' % old).encode(), ('"%s"' % new).encode()
if data.count(o) != 1:
    sys.exit("claude_set: %r occurs %d times in %s" % (old, data.count(o), path))
open(path + ".tmp", "wb").write(data.replace(o, n))
import os; os.replace(path + ".tmp", path)
EOF
}

claude_run_and_check() { # LABEL MODEL PREFIX
    local label="$1" model="$2" prefix="$3" n
    cp -p "$CC_SETTINGS" "$WORK/claude-settings.before"
    n="$(mark)"
    if (cd "$WORK/cc-project" && run_agent "claude -p \"hi\" ($label)" "$WORK/cc-$label.out" "$WORK/cc-$label.err" claude_cmd -p "hi"); then
        check "claude -p ($label) prints the mock's $model reply" \
            contains "$WORK/cc-$label.out" "MOCK-REPLY model=$model path=${prefix}v1/messages"
    else
        fail "claude -p ($label) exits 0"
    fi
    check "mock saw $model at ${prefix} only ($label)" saw "$n" "$prefix" "$model"
    check "claude left settings.json untouched ($label)" cmp -s "$CC_SETTINGS" "$WORK/claude-settings.before"
}

claude_part() {
    log "Claude Code: \$CLAUDE_CONFIG_DIR/settings.json with model model-a and ANTHROPIC_BASE_URL on the mock"
    mkdir -p "$WORK/claude-config" "$WORK/cc-project"
    CC_SETTINGS="$WORK/claude-config/settings.json"
    cat >"$CC_SETTINGS" <<EOF
{
  "model": "model-a",
  "env": {
    "ANTHROPIC_BASE_URL": "$MOCK_URL/claude-a",
    "ANTHROPIC_AUTH_TOKEN": "test-token"
  }
}
EOF
    claude_run_and_check model-a model-a /claude-a/

    log "Claude Code: settings.json model -> model-b (as switcher would edit it)"
    claude_set "$CC_SETTINGS" model-a model-b
    claude_run_and_check model-b model-b /claude-a/

    log "Claude Code: env.ANTHROPIC_BASE_URL -> /claude-b (an endpoint switch, as a profile would)"
    claude_set "$CC_SETTINGS" "$MOCK_URL/claude-a" "$MOCK_URL/claude-b"
    claude_run_and_check base-url-b model-b /claude-b/
    info "verified: claude -p reads settings.json's top-level model and env.ANTHROPIC_BASE_URL at"
    info "each start, sends that model to that path, and does not rewrite settings.json"
    claude_profile_part
}

claude_profile_part() {
    log "Claude Code: switcher moves settings.json to an endpoint profile, then restores it"
    local state="$WORK/switcher-state-cc" rc
    # Endpoint A's token comes from the process environment: a profile is never applied over a
    # credential held in the file. The profile brings its own, expanded from ${E2E_PROFILE_TOKEN}.
    cat >"$CC_SETTINGS" <<EOF
{
  "model": "model-a",
  "permissions": { "allow": ["Read(~/.zshrc)"], "deny": [] },
  "env": {
    "ANTHROPIC_BASE_URL": "$MOCK_URL/claude-a",
    "DISABLE_TELEMETRY": "1"
  }
}
EOF
    cp -p "$CC_SETTINGS" "$WORK/cc-settings.orig"
    CLAUDE_ENV+=("ANTHROPIC_AUTH_TOKEN=test-token")
    claude_run_and_check profile-before model-a /claude-a/
    # The endpoint's host is its provider (127.0.0.1, unmonitored until a source names it).
    printf '{"127.0.0.1": {"status": "RED"}}\n' >"$WORK/cc-quota.json"
    cat >"$WORK/cc-switcher.json5" <<EOF
{
  fallbacks: { "model-a": ["profile:b"] },
  profiles: { b: { provider: "prov-b", model: "model-b",
                   env: { ANTHROPIC_BASE_URL: "$MOCK_URL/claude-b",
                          ANTHROPIC_AUTH_TOKEN: "\${E2E_PROFILE_TOKEN}" } } },
}
EOF
    rc=0
    switcher_cmd watch "$CC_SETTINGS" --kind claude --once --config "$WORK/cc-switcher.json5" \
        --quota-file "$WORK/cc-quota.json" --state-dir "$state" >"$WORK/cc-sw-once.out" 2>"$WORK/cc-sw-once.err" || rc=$?
    info "switcher watch --once: exit $rc"
    show_tail "$WORK/cc-sw-once.out"
    check "switcher --once (profile) exits 0" is_eq "$rc" 0
    check "switcher reports model: model-a -> profile:b" contains "$WORK/cc-sw-once.out" "model: model-a -> profile:b"
    check "settings.json is strict JSON after the switch" json_get "$CC_SETTINGS" 'd["env"]["ANTHROPIC_BASE_URL"]'
    check "the profile's token is in settings.json, where Claude Code reads it" contains "$CC_SETTINGS" "profile-token-b"
    check "the profile's token is not in switcher's state dir" bash -c "! grep -rqF profile-token-b '$state'"
    check "the profile's token is not in switcher's output" bash -c "! grep -qF profile-token-b '$WORK/cc-sw-once.out' '$WORK/cc-sw-once.err'"
    claude_run_and_check profile-b model-b /claude-b/
    rc=0
    switcher_cmd watch --restore --state-dir "$state" >"$WORK/cc-sw-restore.out" 2>"$WORK/cc-sw-restore.err" || rc=$?
    info "switcher watch --restore: exit $rc"
    show_tail "$WORK/cc-sw-restore.out"
    check "switcher --restore (profile) exits 0" is_eq "$rc" 0
    check "settings.json is byte-identical after --restore" cmp -s "$CC_SETTINGS" "$WORK/cc-settings.orig"
    claude_run_and_check profile-restored model-a /claude-a/
}

# --- Optional probes: how a RUNNING agent reacts to an edit (AGENTS_E2E_PROBE_LIVE=1) --------
# These print what the installed versions do; they record no PASS/FAIL.

probe_claude_live() {
    log "probe: a running Claude Code session (claude -p --input-format stream-json), settings.json edited mid-session"
    local dir="$WORK/claude-live" n
    mkdir -p "$dir/config" "$dir/project"
    cat >"$dir/config/settings.json" <<EOF
{
  "model": "model-a",
  "env": {
    "ANTHROPIC_BASE_URL": "$MOCK_URL/claude-a",
    "ANTHROPIC_AUTH_TOKEN": "test-token"
  }
}
EOF
    local s="$dir/config/settings.json"
    msg() { printf '{"type":"user","message":{"role":"user","content":"%s"}}\n' "$1"; }
    n="$(mark)"
    {
        msg "turn 1"; sleep 4
        claude_set "$s" model-a model-b; sleep 4
        msg "turn 2 (after model edit)"; sleep 4
        claude_set "$s" "$MOCK_URL/claude-a" "$MOCK_URL/claude-b"; sleep 4
        msg "turn 3 (after base URL edit)"; sleep 4
        python3 -c 'import json,sys; p=sys.argv[1]; d=json.load(open(p)); del d["env"]["ANTHROPIC_BASE_URL"]; json.dump(d, open(p, "w"), indent=2)' "$s"; sleep 4
        msg "turn 4 (after removing ANTHROPIC_BASE_URL)"; sleep 4
    } | env -i "${BASE_ENV[@]}" "${CLAUDE_ENV[@]}" "CLAUDE_CONFIG_DIR=$dir/config" timeout "$AGENT_TIMEOUT" \
        "$NPM_BIN/claude" -p --input-format stream-json --output-format stream-json --verbose \
        >"$dir/out.jsonl" 2>"$dir/err" || info "(claude exited $?)"
    info "requests per turn (1: start; 2: after model-a->model-b; 3: after base URL claude-a->claude-b; 4: after removing the base URL):"
    python3 "$MOCK" show "$MOCK_LOG" --from "$n"
}

probe_opencode_live() {
    log "probe: a running OpenCode server (opencode serve + run --attach), opencode.json edited while it runs"
    local dir="$WORK/oc-live" n sp port=""
    mkdir -p "$dir"
    cp "$WORK/opencode.json.orig" "$dir/opencode.json"
    (cd "$dir" && exec env -i "${BASE_ENV[@]}" "${OPENCODE_ENV[@]}" "$NPM_BIN/opencode" serve --hostname 127.0.0.1 --port 0) >"$dir/serve.log" 2>&1 &
    sp=$!
    local _
    for _ in $(seq 300); do
        port="$(sed -n 's#.*listening on http://127\.0\.0\.1:\([0-9]*\).*#\1#p' "$dir/serve.log" | head -n1)"
        [[ -n "$port" ]] && break
        sleep 0.1
    done
    if [[ -z "$port" ]]; then
        info "opencode serve did not start:"
        show_tail "$dir/serve.log"
        kill "$sp" 2>/dev/null || true
        wait "$sp" 2>/dev/null || true
        return 0
    fi
    n="$(mark)"
    (cd "$dir" && opencode_cmd run --attach "http://127.0.0.1:$port" "turn 1") >/dev/null 2>&1 || true
    sed -i 's#"provA/model-a"#"provB/model-b"#' "$dir/opencode.json"
    sleep 3
    (cd "$dir" && opencode_cmd run --attach "http://127.0.0.1:$port" "turn 2, new session") >/dev/null 2>&1 || true
    (cd "$dir" && opencode_cmd run --attach "http://127.0.0.1:$port" -c "turn 3, same session") >/dev/null 2>&1 || true
    kill "$sp" 2>/dev/null || true
    wait "$sp" 2>/dev/null || true
    info "requests (turn 1 before the edit; turns 2-3 after provA/model-a -> provB/model-b, same server):"
    python3 "$MOCK" show "$MOCK_LOG" --from "$n"
}

inner() {
    WORK="${AGENTS_E2E_WORK:?}"
    MOCK_LOG="$WORK/mock.jsonl"
    trap cleanup_inner EXIT
    trap 'exit 130' INT TERM
    if [[ "${AGENTS_E2E_NETNS_USED:-0}" == 1 ]]; then
        ip link set lo up
    fi
    log "mock LLM server"
    start_mock
    setup_env
    setup_strace

    opencode_part
    if [[ "${AGENTS_E2E_CLAUDE:-0}" == 1 ]]; then
        claude_part
    else
        log "Claude Code part skipped (set AGENTS_E2E_CLAUDE=1 to run it)"
    fi
    if [[ "${AGENTS_E2E_PROBE_LIVE:-0}" == 1 ]]; then
        probe_opencode_live
        [[ "${AGENTS_E2E_CLAUDE:-0}" == 1 ]] && probe_claude_live
    fi

    log "outbound attempts (hosts other than the mock)"
    if python3 "$MOCK" outbound "$MOCK_LOG"; then
        pass "no agent tried to reach any host but the mock"
    else
        fail "no agent tried to reach any host but the mock (see the lines above)"
    fi
    if [[ -n "$STRACE_DIR" ]]; then
        info "inet addresses the agents connected or sent to (strace):"
        if only_loopback_connects; then
            pass "every connect()/sendto() of the agents went to loopback (strace)"
        else
            fail "every connect()/sendto() of the agents went to loopback (strace)"
        fi
    fi
    if grep -q '"kind": "npm-registry"' "$MOCK_LOG"; then
        info "note: OpenCode tried to install @opencode-ai/plugin into its config dir; npm_config_registry sent it to the mock (404)"
    fi

    log "summary"
    local r
    for r in "${RESULTS[@]}"; do printf '   %s\n' "$r"; done
    local total=${#RESULTS[@]}
    if [[ $FAILED -eq 0 ]]; then
        printf '\nagents-e2e: PASS (%d checks%s)\n' "$total" \
            "$([[ "${AGENTS_E2E_NETNS_USED:-0}" == 1 ]] && echo ', network namespace: loopback only')"
        return 0
    fi
    printf '\nagents-e2e: FAIL (%d of %d checks failed)\n' "$FAILED" "$total"
    return 1
}

if [[ "${AGENTS_E2E_INNER:-0}" == 1 ]]; then
    inner
else
    outer
fi
