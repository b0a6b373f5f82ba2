#!/usr/bin/env bash
# Opt-in check of switcher's OpenCode plugin with the real OpenCode (see README.md here).
# Touches only a temp dir under /tmp and 127.0.0.1.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
NPM_DIR="${OPENCODE_E2E_NPM_DIR:-/tmp/opencode-e2e-npm}"
VERSION="${OPENCODE_E2E_VERSION:-1.18.33}"

if [[ -z "${SWITCHER_BIN:-}" ]]; then
    echo "== build switcher (CARGO_TARGET_DIR=/tmp/e2e-target cargo build --release)"
    (cd "$ROOT" && CARGO_TARGET_DIR=/tmp/e2e-target cargo build --release)
    SWITCHER_BIN=/tmp/e2e-target/release/switcher
fi
OPENCODE_BIN="$NPM_DIR/node_modules/.bin/opencode"
# OpenCode makes its dirs in HOME and TMPDIR as it starts, even for --version: scratch ones.
opencode_version() {
    local home="$NPM_DIR/.version-home"
    mkdir -p "$home/tmp"
    env -i "HOME=$home" "TMPDIR=$home/tmp" "PATH=$PATH" OPENCODE_DISABLE_AUTOUPDATE=1 \
        "$OPENCODE_BIN" --version 2>/dev/null
}
if ! [[ -x "$OPENCODE_BIN" ]] || [[ "$(opencode_version)" != "$VERSION" ]]; then
    echo "== npm install opencode-ai@$VERSION into $NPM_DIR"
    mkdir -p "$NPM_DIR"
    # Its install script runs `opencode --version` too: scratch XDG dirs and TMPDIR for it (HOME
    # stays, for npm's own config); npm's cache goes beside the install unless one is set.
    home="$NPM_DIR/.version-home"
    mkdir -p "$home/tmp"
    env "XDG_CONFIG_HOME=$home/.config" "XDG_DATA_HOME=$home/.local/share" \
        "XDG_CACHE_HOME=$home/.cache" "XDG_STATE_HOME=$home/.local/state" "TMPDIR=$home/tmp" \
        "npm_config_cache=${npm_config_cache:-$NPM_DIR/.npm-cache}" \
        npm install --prefix "$NPM_DIR" --no-audit --no-fund --loglevel=error "opencode-ai@$VERSION"
fi
echo "== opencode $(opencode_version), switcher $("$SWITCHER_BIN" --version)"

E2E_WORK="$(mktemp -d /tmp/opencode-e2e.XXXXXX)"
if [[ "${OPENCODE_E2E_KEEP:-0}" == 1 ]]; then
    trap 'echo "opencode-e2e: kept $E2E_WORK"' EXIT
else
    trap 'rm -rf "$E2E_WORK"' EXIT
fi
export SWITCHER_BIN OPENCODE_BIN E2E_WORK
rc=0
python3 "$HERE/drive.py" || rc=$?
echo "== the plugin's own cost per prompt (node $(node --version))"
node "$HERE/bench.mjs" || rc=$?
exit "$rc"
