"""The OpenCode plugin check, driven against a real `opencode serve` (see README.md here).

Env: SWITCHER_BIN, OPENCODE_BIN, E2E_WORK (a fresh temp dir). Prints PASS/FAIL per check and the
measured figures; exits non-zero when a check failed.
"""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SWITCHER = os.environ["SWITCHER_BIN"]
OPENCODE = os.environ["OPENCODE_BIN"]
WORK = os.environ["E2E_WORK"]
HOME = os.path.join(WORK, "home")
PROJECT = os.path.join(WORK, "project")
STATE = os.path.join(WORK, "state")
MOCK_LOG = os.path.join(WORK, "mock.jsonl")
FAIL_FILE = os.path.join(WORK, "failing.json")
TIMEOUT = float(os.environ.get("OPENCODE_E2E_TIMEOUT", "240"))

RESULTS = []
PROCS = []


def log(text):
    print("\n== " + text, flush=True)


def info(text):
    print("   " + text, flush=True)


def check(name, ok, detail=""):
    RESULTS.append((name, bool(ok)))
    print("   %s  %s%s" % ("PASS" if ok else "FAIL", name, "" if ok or not detail else "  (%s)" % detail), flush=True)
    return ok


def env(extra=None):
    e = {
        "HOME": HOME,
        "XDG_CONFIG_HOME": os.path.join(HOME, ".config"),
        "XDG_DATA_HOME": os.path.join(HOME, ".local/share"),
        "XDG_CACHE_HOME": os.path.join(HOME, ".cache"),
        "XDG_STATE_HOME": os.path.join(HOME, ".local/state"),
        "TMPDIR": os.path.join(WORK, "tmp"),
        "PATH": os.path.dirname(OPENCODE) + ":/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "TERM": "dumb",
        "NO_COLOR": "1",
        "SWITCHER_STATE_DIR": STATE,
        "OPENCODE_DISABLE_AUTOUPDATE": "1",
        "OPENCODE_DISABLE_MODELS_FETCH": "1",
        "OPENCODE_DISABLE_LSP_DOWNLOAD": "1",
        "OPENCODE_DISABLE_DEFAULT_PLUGINS": "1",
        "OPENCODE_DISABLE_SHARE": "1",
        "OPENCODE_DISABLE_CLAUDE_CODE": "1",
    }
    e.update(extra or {})
    return e


def switcher(*args):
    cfg = os.path.join(WORK, "switcher.json5")
    p = subprocess.run([SWITCHER, *args, "--config", cfg], cwd=PROJECT, env=env(), capture_output=True, text=True, timeout=60)
    info("$ switcher %s -> %d %s%s" % (" ".join(args), p.returncode, p.stdout.strip(), (" | " + p.stderr.strip()) if p.stderr.strip() else ""))
    return p


def mock_entries(start=0):
    with open(MOCK_LOG, encoding="utf-8") as f:
        lines = f.readlines()[start:]
    return [json.loads(l) for l in lines if l.strip()]


def mark():
    with open(MOCK_LOG, encoding="utf-8") as f:
        return len(f.readlines())


def prompt_models(start):
    """The models the prompts since `start` were sent to (titles go to model-c: left out)."""
    return [e.get("model") for e in mock_entries(start) if e.get("kind") == "openai" and e.get("model") != "model-c"]


def http(method, url, body=None, timeout=TIMEOUT):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        text = r.read().decode()
        return json.loads(text) if text.strip() else None


def wait_for(what, done, timeout=30.0, step=0.02):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = done()
        if v:
            return v
        time.sleep(step)
    info("timed out waiting for " + what)
    return None


def routes():
    try:
        with open(os.path.join(STATE, "routes.json"), encoding="utf-8") as f:
            return json.load(f).get("routes", [])
    except (OSError, ValueError):
        return []


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def main():
    for d in (PROJECT, STATE, os.path.join(HOME, ".config"), os.path.join(WORK, "tmp")):
        os.makedirs(d, exist_ok=True)
    with open(FAIL_FILE, "w") as f:
        f.write("{}")
    log("mock LLM")
    port_file = os.path.join(WORK, "mock.port")
    mock = subprocess.Popen([sys.executable, os.path.join(HERE, "mock.py"), "--log", MOCK_LOG, "--port-file", port_file, "--fail-file", FAIL_FILE])
    PROCS.append(mock)
    wait_for("the mock", lambda: os.path.exists(port_file), 10)
    url = "http://127.0.0.1:%s" % open(port_file).read().strip()
    info("mock on " + url)

    providers = {
        p: {
            "npm": "@ai-sdk/openai-compatible",
            "name": p,
            "options": {"baseURL": "%s/%s/v1" % (url, p), "apiKey": "test-key"},
            "models": {m: {"name": m}},
        }
        for p, m in (("provA", "model-a"), ("provB", "model-b"), ("provC", "model-c"), ("provD", "model-d"))
    }
    config = {"$schema": "https://opencode.ai/config.json", "provider": providers, "model": "provA/model-a", "small_model": "provC/model-c"}
    target = os.path.join(PROJECT, "opencode.json")
    with open(target, "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    # An agent in a nested folder: OpenCode names it by its path below agent/, `team/review`.
    nested = os.path.join(PROJECT, ".opencode/agent/team/review.md")
    os.makedirs(os.path.dirname(nested))
    with open(nested, "w") as f:
        f.write("---\ndescription: Reviews a change\nmode: primary\nmodel: provD/model-d\n---\nReview the change.\n")
    with open(os.path.join(WORK, "switcher.json5"), "w") as f:
        f.write('{ sources: [], fallbacks: { "provA/model-a": ["provB/model-b"], "provD/model-d": ["provB/model-b"] } }\n')

    log("switcher setup opencode")
    p = switcher("setup", "opencode")
    plugin = os.path.join(HOME, ".config/opencode/plugin/switcher.js")
    check("setup installs the plugin into OpenCode's user plugin dir", p.returncode == 0 and os.path.isfile(plugin))

    log("opencode serve (loopback)")
    serve_log = open(os.path.join(WORK, "serve.log"), "w")
    t0 = time.monotonic()
    serve = subprocess.Popen([OPENCODE, "serve", "--hostname", "127.0.0.1", "--port", "0", "--print-logs", "--log-level", "INFO"],
                             cwd=PROJECT, env=env({"npm_config_registry": url + "/npm-registry/"}), stdout=serve_log, stderr=subprocess.STDOUT)
    PROCS.append(serve)

    def listening():
        m = re.search(r"listening on (http://127\.0\.0\.1:\d+)", open(os.path.join(WORK, "serve.log")).read())
        return m and m.group(1)

    base = wait_for("opencode serve", listening, 180, 0.1)
    if not check("opencode serve listens", base):
        return
    session = http("POST", base + "/session", {})["id"]
    t_first = time.monotonic()

    def prompt(text):
        start = mark()
        t = time.monotonic()
        http("POST", "%s/session/%s/message" % (base, session), {"parts": [{"type": "text", "text": text}]})
        return prompt_models(start), time.monotonic() - t

    models, _ = prompt("turn 1")
    info("serve start to first answer: %.1f s" % (time.monotonic() - t0))
    check("turn 1 (no switch) calls model-a", models == ["model-a"], models)

    log("provA RED in a status file: switcher switches A -> B (one-shot)")
    status = os.path.join(WORK, "status.json")
    with open(status, "w") as f:
        f.write('{"provA": {"status": "RED"}}\n')
    switcher("watch", "opencode.json", "--once", "--quota-file", status)
    check("routes.json routes provA/model-a to provB/model-b",
          [(r["from"], r["to"]) for r in routes()] == [("provA/model-a", "provB/model-b")], routes())
    models, _ = prompt("turn 2, same session")
    check("turn 2 in the same running session calls model-b", models == ["model-b"], models)

    log("a second opencode serve, started while the config says model-b")
    serve2_log_path = os.path.join(WORK, "serve2.log")
    serve2 = subprocess.Popen([OPENCODE, "serve", "--hostname", "127.0.0.1", "--port", "0", "--print-logs", "--log-level", "INFO"],
                              cwd=PROJECT, env=env({"npm_config_registry": url + "/npm-registry/"}), stdout=open(serve2_log_path, "w"), stderr=subprocess.STDOUT)
    PROCS.append(serve2)
    base2 = wait_for("the second opencode serve", lambda: (re.search(r"listening on (http://127\.0\.0\.1:\d+)", open(serve2_log_path).read()) or [None, None])[1], 180, 0.1)
    session2 = base2 and http("POST", base2 + "/session", {})["id"]

    def prompt2(text):
        start = mark()
        http("POST", "%s/session/%s/message" % (base2, session2), {"parts": [{"type": "text", "text": text}]})
        return prompt_models(start)

    if check("the second serve listens", base2):
        models = prompt2("serve 2, turn 1")
        check("serve 2 (started on the fallback) calls model-b", models == ["model-b"], models)

    log("restore")
    switcher("watch", "--restore")
    check("routes.json is empty after the restore", routes() == [], routes())
    models, _ = prompt("turn 3, same session")
    check("turn 3 in the same session calls model-a again", models == ["model-a"], models)
    if base2:
        models = prompt2("serve 2, turn 2")
        check("serve 2, started before the restore on model-b, goes back to model-a (restored route)", models == ["model-a"], models)
        serve2.terminate()
    os.remove(status)

    log("an agent in a nested folder (.opencode/agent/team/review.md, provD/model-d) in the running session")

    # A session of its own: the main one stays with the default agent.
    agent_session = http("POST", base + "/session", {})["id"]

    def prompt_agent(text):
        start = mark()
        http("POST", "%s/session/%s/message" % (base, agent_session), {"agent": "team/review", "parts": [{"type": "text", "text": text}]})
        return prompt_models(start)

    models = prompt_agent("agent turn 1")
    check("the nested agent team/review calls model-d", models == ["model-d"], models)
    with open(status, "w") as f:
        f.write('{"provD": {"status": "RED"}}\n')
    switcher("watch", "opencode.json", "--once", "--quota-file", status)
    check("the agent file now names provB/model-b", "model: provB/model-b" in open(nested).read())
    check("routes.json routes the agent team/review from provD/model-d to provB/model-b",
          [(r.get("agent"), r["from"], r["to"]) for r in routes()] == [("team/review", "provD/model-d", "provB/model-b")], routes())
    models = prompt_agent("agent turn 2, same session")
    check("the nested agent's next turn in the same running session calls model-b", models == ["model-b"], models)
    switcher("watch", "--restore")
    check("the agent file names provD/model-d again", "model: provD/model-d" in open(nested).read())
    os.remove(status)

    log("timing: prompts with no switch in force, then with one (plugin included)")
    quiet = [prompt("timing %d" % i)[1] for i in range(10)]
    info("median prompt round trip, no route in force: %.1f ms" % (median(quiet) * 1000))

    log("the daemon, no status file, no usage API: model-a now answers z.ai's 'Limit Exhausted' 429")
    daemon_log = open(os.path.join(WORK, "daemon.log"), "w")
    daemon = subprocess.Popen([SWITCHER, "watch", "opencode.json", "--config", os.path.join(WORK, "switcher.json5")],
                              cwd=PROJECT, env=env(), stdout=daemon_log, stderr=subprocess.STDOUT)
    PROCS.append(daemon)
    wait_for("the daemon to watch the signals dir", lambda: os.path.isdir(os.path.join(STATE, "signals")), 15)
    time.sleep(1.0)
    with open(FAIL_FILE, "w") as f:
        f.write('{"model-a": "zai-1310"}')
    start = mark()
    answer = {}

    def turn4():
        try:
            http("POST", "%s/session/%s/message" % (base, session), {"parts": [{"type": "text", "text": "turn 4"}]})
        except Exception as e:  # the abort below ends it
            answer["error"] = str(e)

    th = threading.Thread(target=turn4, daemon=True)
    th.start()
    first_429 = wait_for("model-a's first 429", lambda: next((e for e in mock_entries(start) if e.get("reply") == "429"), None), 60)
    switched = wait_for("the daemon's switch", lambda: routes() and time.time(), 30)
    signal_file = os.path.join(STATE, "signals", "opencode-provA.json")
    check("the plugin wrote signals/opencode-provA.json", os.path.isfile(signal_file))
    if os.path.isfile(signal_file):
        info("signal: " + open(signal_file).read().replace("\n", " "))
    check("the daemon switched opencode.json to provB/model-b", '"provB/model-b"' in open(target).read())
    n429 = sum(1 for e in mock_entries(start) if e.get("reply") == "429")
    if first_429 and switched:
        info("limit error (first 429 sent) -> routes.json rewritten: %.2f s; 429s answered by then: %d" % (switched - first_429["ts"], n429))
    http("POST", "%s/session/%s/abort" % (base, session), {})
    th.join(30)
    models, _ = prompt("turn 5, same session")
    check("turn 5 in the same session calls model-b, with no status file", models == ["model-b"] and not os.path.exists(status), models)
    routed = [prompt("timing routed %d" % i)[1] for i in range(10)]
    info("median prompt round trip, a route in force: %.1f ms" % (median(routed) * 1000))
    log("probe: asking opencode serve to reload its config (POST /instance/dispose)")
    t = time.monotonic()
    http("POST", base + "/instance/dispose", {})
    models, took = prompt("turn 6, after the reload")
    info("dispose + next prompt: %.0f ms (vs %.0f ms median with the plugin alone); called %s" % ((time.monotonic() - t) * 1000, median(routed) * 1000, models))
    said = [l.strip() for l in open(os.path.join(WORK, "serve.log")) if "told switcher" in l or "routes.json" in l]
    check("the plugin's log lines reach OpenCode's log", said)
    for l in said[:4]:
        info("opencode log: " + l[:240])


def finish():
    for p in reversed(PROCS):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
    failed = [n for n, ok in RESULTS if not ok]
    print("\nopencode-e2e: %s (%d checks%s)" % ("FAIL" if failed else "PASS", len(RESULTS), ", %d failed" % len(failed) if failed else ""))
    sys.exit(1 if failed or not RESULTS else 0)


if __name__ == "__main__":
    try:
        main()
    finally:
        finish()
