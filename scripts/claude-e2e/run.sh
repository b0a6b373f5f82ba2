#!/usr/bin/env bash
# Opt-in proof with the real Claude Code CLI: a RUNNING session (`claude -p --input-format
# stream-json`, one process taking several turns) follows switcher's switches, restores, and a
# profile entered and left, on its next request; the settings file ends byte-identical.
# See README.md in this directory. Touches only a temp dir under /tmp and 127.0.0.1.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
MOCK="$ROOT/scripts/agents-e2e/mock_llm.py"
NPM_DIR="${CLAUDE_E2E_NPM_DIR:-/tmp/claude-e2e-npm}"
CLAUDE_BIN="$NPM_DIR/node_modules/.bin/claude"

log() { printf '\n== %s\n' "$*"; }
die() { printf 'claude-e2e: %s\n' "$*" >&2; exit 1; }

if [[ -z "${SWITCHER_BIN:-}" ]]; then
    target_dir="${CLAUDE_E2E_TARGET_DIR:-/tmp/e2e-target}"
    log "build switcher (CARGO_TARGET_DIR=$target_dir cargo build --release)"
    (cd "$ROOT" && CARGO_TARGET_DIR="$target_dir" cargo build --release)
    SWITCHER_BIN="$target_dir/release/switcher"
fi
[[ -x "$SWITCHER_BIN" ]] || die "no switcher binary at $SWITCHER_BIN"

# Claude Code from npm, pinned with CLAUDE_E2E_VERSION (default: the latest).
version_of() {
    mkdir -p "$NPM_DIR/.version-home/tmp"
    env -i "HOME=$NPM_DIR/.version-home" "TMPDIR=$NPM_DIR/.version-home/tmp" \
        "PATH=/usr/local/bin:/usr/bin:/bin" DISABLE_AUTOUPDATER=1 \
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 timeout 60 "$CLAUDE_BIN" --version 2>/dev/null
}
want="${CLAUDE_E2E_VERSION:-}"
have="$(version_of || true)"
if [[ -z "$have" || ( -n "$want" && "$have" != "$want"* ) ]]; then
    log "install @anthropic-ai/claude-code${want:+@$want} into $NPM_DIR"
    mkdir -p "$NPM_DIR"
    # npm's cache goes beside the install unless one is set.
    npm_config_cache="${npm_config_cache:-$NPM_DIR/.npm-cache}" \
        npm install --prefix "$NPM_DIR" --no-audit --no-fund --loglevel=error "@anthropic-ai/claude-code${want:+@$want}"
    if ! version_of >/dev/null; then
        (cd "$NPM_DIR/node_modules/@anthropic-ai/claude-code" && node install.cjs)
    fi
    have="$(version_of)" || die "claude does not run after install"
fi
log "$have; $("$SWITCHER_BIN" --version)"

WORK="$(mktemp -d /tmp/claude-e2e.XXXXXX)"
MOCK_PID=""
cleanup() {
    if [[ -n "$MOCK_PID" ]]; then
        kill "$MOCK_PID" 2>/dev/null || true
        wait "$MOCK_PID" 2>/dev/null || true
    fi
    if [[ "${CLAUDE_E2E_KEEP:-0}" == 1 ]]; then echo "claude-e2e: kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

python3 "$MOCK" serve --log "$WORK/mock.jsonl" --port-file "$WORK/mock.port" 2>"$WORK/mock.stderr" &
MOCK_PID=$!
for _ in $(seq 100); do [[ -s "$WORK/mock.port" ]] && break; sleep 0.1; done
[[ -s "$WORK/mock.port" ]] || die "mock server did not start"
MOCK_URL="http://127.0.0.1:$(cat "$WORK/mock.port")"
log "mock LLM on $MOCK_URL; work dir $WORK"

export CLAUDE_BIN SWITCHER_BIN MOCK_URL WORK CLAUDE_VERSION="$have"
python3 - "$@" <<'PY'
import json, os, shutil, subprocess, sys, threading, time

CLAUDE, SWITCHER = os.environ["CLAUDE_BIN"], os.environ["SWITCHER_BIN"]
URL, WORK = os.environ["MOCK_URL"], os.environ["WORK"]
MOCK_LOG = os.path.join(WORK, "mock.jsonl")
RESULTS, FIGURES = [], []


def check(name, ok, detail=""):
    RESULTS.append((ok, name))
    print(("   PASS  " if ok else "   FAIL  ") + name + ("" if ok or not detail else "  (%s)" % detail), flush=True)
    return ok


def mock_lines():
    try:
        with open(MOCK_LOG) as f:
            return [json.loads(l) for l in f if l.strip()]
    except FileNotFoundError:
        return []


def requests_from(n):
    return [l for l in mock_lines()[n:] if l.get("kind") == "anthropic"]


class Case:
    """One temp HOME, one CLAUDE_CONFIG_DIR/settings.json, one switcher state dir."""

    def __init__(self, name, settings, shell_env):
        self.dir = os.path.join(WORK, name)
        self.home, self.cfg = os.path.join(self.dir, "home"), os.path.join(self.dir, "config")
        # Claude Code makes dirs in TMPDIR (`claude-<uid>/`, `cc-socks/`): a scratch one.
        tmp = os.path.join(self.dir, "tmp")
        os.makedirs(self.home), os.makedirs(self.cfg), os.makedirs(tmp)
        self.settings = os.path.join(self.cfg, "settings.json")
        with open(self.settings, "w") as f:
            f.write(settings)
        shutil.copyfile(self.settings, self.settings + ".orig")
        self.env = {
            "HOME": self.home, "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "TERM": "dumb",
            "CLAUDE_CONFIG_DIR": self.cfg, "TMPDIR": tmp, "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "DISABLE_AUTOUPDATER": "1", "DISABLE_TELEMETRY": "1", "DISABLE_ERROR_REPORTING": "1",
            # Proxy trap: anything but the mock is logged by it and refused.
            "HTTP_PROXY": URL, "HTTPS_PROXY": URL, "NO_PROXY": "127.0.0.1,localhost",
        }
        self.env.update(shell_env)
        self.state = os.path.join(self.dir, "state")

    def text(self):
        with open(self.settings) as f:
            return f.read()

    def identical(self):
        with open(self.settings, "rb") as a, open(self.settings + ".orig", "rb") as b:
            return a.read() == b.read()

    def switcher(self, *args, env=None):
        e = {"PATH": "/usr/bin:/bin", "HOME": self.home, "SWITCHER_STATE_DIR": self.state}
        e.update(env or {})
        return subprocess.run([SWITCHER, *args], cwd=self.dir, env=e, capture_output=True, text=True, timeout=120)

    def quota(self, obj):
        tmp = os.path.join(self.dir, "quota.json.tmp")
        with open(tmp, "w") as f:
            json.dump(obj, f)
        os.replace(tmp, os.path.join(self.dir, "quota.json"))

    def config(self, text):
        with open(os.path.join(self.dir, "switcher.json5"), "w") as f:
            f.write(text)

    def new_session(self):
        n = len(mock_lines())
        subprocess.run([CLAUDE, "-p", "hi"], cwd=self.home, env=self.env, capture_output=True, text=True, timeout=120)
        return requests_from(n)


class Session:
    """A running `claude -p --input-format stream-json` process taking turns on stdin."""

    def __init__(self, case):
        self.p = subprocess.Popen(
            [CLAUDE, "-p", "--input-format", "stream-json", "--output-format", "stream-json", "--verbose"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=open(os.path.join(case.dir, "session.err"), "w"),
            env=case.env, cwd=case.home, text=True)
        self.results = []
        threading.Thread(target=self._read, daemon=True).start()
        self.turns = 0

    def _read(self):
        for line in self.p.stdout:
            try:
                o = json.loads(line)
            except ValueError:
                continue
            if o.get("type") == "result":
                self.results.append(o)

    def turn(self):
        """One user turn; returns the model requests it made (mock log entries)."""
        self.turns += 1
        n, m, t0 = len(self.results), len(mock_lines()), time.time()
        msg = {"type": "user", "message": {"role": "user", "content": "turn %d" % self.turns}}
        self.p.stdin.write(json.dumps(msg) + "\n")
        self.p.stdin.flush()
        while len(self.results) == n and time.time() - t0 < 90:
            time.sleep(0.02)
        return requests_from(m)

    def until(self, pred, since, timeout=20.0):
        """Turns until a request satisfies pred; returns (request, seconds from `since`) or None."""
        end = time.time() + timeout
        while time.time() < end:
            for r in self.turn():
                if pred(r):
                    return r, r["ts"] - since
            time.sleep(0.1)
        return None

    def close(self):
        self.p.stdin.close()
        try:
            self.p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.p.kill()


def wait_write(case, before, timeout=20.0):
    """Waits until settings.json differs from `before`; returns the time it changed."""
    end = time.time() + timeout
    while time.time() < end:
        if case.text() != before:
            return os.stat(case.settings).st_mtime
        time.sleep(0.01)
    return None


def at(path, model=None, bearer=None):
    def pred(r):
        ok = r["path"].startswith(path) and (model is None or r.get("model") == model)
        if bearer is not None:
            ok = ok and (("authorization" in r.get("headers", {})) == bearer)
        return ok
    return pred


def describe(reqs):
    return ", ".join("%s %s" % (r.get("model"), r["path"].split("?")[0]) for r in reqs) or "no request"


# --- 1. top-level `model: opus`: switch with --once, restore with --restore -----------------------
print("\n== 1. model: opus, running session; switcher watch --once, then --restore", flush=True)
c = Case("once", '{\n  "model": "opus",\n  "env": {\n    "ANTHROPIC_BASE_URL": "%s/a",\n    "DISABLE_TELEMETRY": "1"\n  }\n}\n' % URL,
         {"ANTHROPIC_API_KEY": "e2e-key-a"})
c.config('{ fallbacks: { opus: ["e2e-fallback"] } }')
s = Session(c)
first = s.turn()
opus = first[0]["model"] if first else None
check("the running session calls opus's model at /a (%s)" % describe(first), bool(opus) and first[0]["path"].startswith("/a/"))
c.quota({"127.0.0.1": {"windows": {"opus_week": {"utilization": 99, "models": ["opus"]}}}})
before = c.text()
out = c.switcher("watch", c.settings, "--kind", "claude", "--once", "--quota-file", "quota.json", "--config", "switcher.json5")
wrote = os.stat(c.settings).st_mtime
check("switcher --once switches model: opus -> e2e-fallback", out.returncode == 0 and "opus -> e2e-fallback" in out.stdout, out.stdout + out.stderr)
print("   settings.json now: " + c.text().replace("\n", " "))
hit = s.until(at("/a/", "e2e-fallback"), wrote)
if check("the same process's next turns call e2e-fallback", hit is not None):
    FIGURES.append(("switch (--once) -> running session's first request on the fallback", hit[1]))
out = c.switcher("watch", "--restore")
check("switcher --restore exits 0", out.returncode == 0, out.stdout + out.stderr)
check("settings.json is byte-identical after --restore", c.identical(), c.text())
reqs = s.turn()
check("the running session is back on opus's model (%s)" % describe(reqs), bool(reqs) and reqs[-1]["model"] == opus)
reqs = c.new_session()
check("a new session calls opus's model (%s)" % describe(reqs), bool(reqs) and reqs[-1]["model"] == opus)
s.close()

# --- 2. a profile entered and left by the daemon -------------------------------------------------
print("\n== 2. profile entered and left by `switcher watch` (daemon), running session", flush=True)
c = Case("daemon", '{\n  "model": "opus",\n  "env": {\n    "ANTHROPIC_BASE_URL": "%s/a"\n  }\n}\n' % URL,
         {"ANTHROPIC_API_KEY": "e2e-key-a"})
c.config('{ recovery_hold: 1, fallbacks: { opus: ["profile:b"] },\n'
         '  profiles: { b: { provider: "prov-b", model: "model-b",\n'
         '    env: { ANTHROPIC_BASE_URL: "%s/b", ANTHROPIC_AUTH_TOKEN: "${E2E_PROFILE_TOKEN}" } } } }' % URL)
c.quota({"127.0.0.1": {"status": "GREEN"}, "prov-b": {"status": "GREEN"}})
daemon = subprocess.Popen([SWITCHER, "watch", "-v", c.settings, "--kind", "claude", "--quota-file", "quota.json", "--config", "switcher.json5"],
                          cwd=c.dir, env={"PATH": "/usr/bin:/bin", "HOME": c.home, "SWITCHER_STATE_DIR": c.state,
                                          "E2E_PROFILE_TOKEN": "e2e-profile-token-b"},
                          stdout=subprocess.DEVNULL, stderr=open(os.path.join(c.dir, "daemon.log"), "w"))
try:
    time.sleep(1.5)
    s = Session(c)
    first = s.turn()
    opus = first[0]["model"] if first else None
    check("the running session calls opus's model at /a with the shell's API key (%s)" % describe(first),
          bool(first) and first[0]["path"].startswith("/a/") and "authorization" not in first[0]["headers"])
    before = c.text()
    c.quota({"127.0.0.1": {"status": "RED"}, "prov-b": {"status": "GREEN"}})
    wrote = wait_write(c, before)
    check("the daemon enters profile:b", wrote is not None and "/b" in c.text())
    print("   settings.json now: " + c.text().replace("e2e-profile-token-b", "***").replace("\n", " "))
    hit = s.until(at("/b/", "model-b", bearer=True), wrote or time.time())
    if check("the same process's next turns call model-b at /b with the profile's token", hit is not None):
        FIGURES.append(("enter profile (daemon) -> running session's first request at the profile", hit[1]))
    before = c.text()
    c.quota({"127.0.0.1": {"status": "GREEN"}, "prov-b": {"status": "GREEN"}})
    wrote = wait_write(c, before)
    check("the daemon leaves the profile (first write: its added keys set to \"\")", wrote is not None and '""' in c.text(), c.text())
    hit = s.until(at("/a/", opus, bearer=False), wrote or time.time())
    if check("the running session is back on opus's model at /a, without the profile's token", hit is not None):
        FIGURES.append(("leave profile (daemon) -> running session's first request at the original", hit[1]))
    end = time.time() + 20
    while time.time() < end and not c.identical():
        time.sleep(0.02)
    if check("the daemon's second write gives settings.json back byte for byte", c.identical(), c.text()):
        FIGURES.append(("leave profile: first write -> second write (keys removed)", os.stat(c.settings).st_mtime - wrote))
    reqs = s.turn()
    check("after the keys are removed the running session stays on /a without the token (%s)" % describe(reqs),
          bool(reqs) and all(r["path"].startswith("/a/") and "authorization" not in r["headers"] for r in reqs))
    reqs = c.new_session()
    check("a new session calls opus's model at /a (%s)" % describe(reqs), bool(reqs) and reqs[-1]["model"] == opus and reqs[-1]["path"].startswith("/a/"))
    s.close()
finally:
    daemon.terminate()
    daemon.wait(timeout=30)
state_text = "".join(open(os.path.join(r, f)).read() for r, _, fs in os.walk(c.state) for f in fs)
check("the profile's token never reached switcher's state dir", "e2e-profile-token-b" not in state_text)

# --- 3. a full model id: the running session follows only at restart -----------------------------
print("\n== 3. model: a full id (model-a): running sessions follow at restart", flush=True)
c = Case("fullid", '{\n  "model": "model-a",\n  "env": {\n    "ANTHROPIC_BASE_URL": "%s/a"\n  }\n}\n' % URL,
         {"ANTHROPIC_API_KEY": "e2e-key-a"})
c.config('{ fallbacks: { "model-a": ["model-b"] } }')
c.quota({"127.0.0.1": {"windows": {"w": {"utilization": 99, "models": ["model-a"]}}}})
s = Session(c)
s.turn()
out = c.switcher("watch", c.settings, "--kind", "claude", "--once", "--quota-file", "quota.json", "--config", "switcher.json5")
check("switcher --once switches model: model-a -> model-b", "model-a -> model-b" in out.stdout, out.stdout + out.stderr)
st = c.switcher("status", c.settings, "--kind", "claude", "--quota-file", "quota.json", "--config", "switcher.json5", "--json")
try:
    slots = json.loads(st.stdout)["slots"]
except ValueError:
    slots = []
check("status --json says running sessions follow `model` at restart",
      any(x["slot"] == "model" and x.get("running_sessions") == "at_restart" for x in slots), st.stdout + st.stderr)
time.sleep(3)
reqs = s.turn()
check("the running session keeps model-a (%s)" % describe(reqs), bool(reqs) and reqs[-1]["model"] == "model-a")
reqs = c.new_session()
check("a new session calls model-b (%s)" % describe(reqs), bool(reqs) and reqs[-1]["model"] == "model-b")
s.close()
c.switcher("watch", "--restore")
check("settings.json is byte-identical after --restore", c.identical(), c.text())

outbound = [l for l in mock_lines() if l.get("kind") == "outbound"]
check("nothing tried to reach another host (proxy trap)", not outbound, str(outbound[:3]))

print("\n== figures (Claude Code %s)" % os.environ.get("CLAUDE_VERSION", "?"))
for name, secs in FIGURES:
    print("   %-80s %.2f s" % (name, secs))
failed = [n for ok, n in RESULTS if not ok]
print("\n== %d passed, %d failed" % (len(RESULTS) - len(failed), len(failed)))
sys.exit(1 if failed else 0)
PY
